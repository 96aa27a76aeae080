"""dbt docs for BI users, beside the HTML report: ``<report>/docs/index.html``.

``dbt docs generate --static`` writes one self-contained page (manifest and catalog
inlined: models, columns, tests, lineage, exposures, semantic models) that opens from the
file system. It costs 10-13 s (dbt start-up and parse), so it is its own command,
``spm docs``, rather than a step of every run; the report links it once it exists.

The catalog (column types) is read from the build warehouse: run it when no pipeline run
is writing, or pass ``catalog=False`` for the documentation without types.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from orchestration.settings import DBT_PROJECT_DIR, Settings


def write_dbt_docs(
    settings: Settings, timezone: str, out_dir: Path, catalog: bool = True
) -> tuple[Path, float]:
    """Generate the static dbt docs into ``out_dir/docs/index.html``; returns (path, seconds)."""
    started = time.perf_counter()
    dbt = Path(sys.executable).parent / "dbt"
    env = {**os.environ, **settings.dbt_env(timezone)}
    with tempfile.TemporaryDirectory(prefix="spm-docs-") as tmp:
        target = Path(tmp) / "target"
        target.mkdir()
        parsed = DBT_PROJECT_DIR / "target" / "partial_parse.msgpack"
        if parsed.exists():  # reuse the run's parse where the project did not change
            shutil.copyfile(parsed, target / "partial_parse.msgpack")
        cmd = [
            str(dbt if dbt.exists() else "dbt"),
            "docs",
            "generate",
            "--static",
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(target),
            "--log-path",
            str(Path(tmp) / "logs"),
            "--quiet",
        ]
        if not catalog:
            cmd.append("--empty-catalog")
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
        page = target / "static_index.html"
        if done.returncode != 0 or not page.exists():
            detail = (done.stdout + done.stderr).strip()[-2000:]
            raise RuntimeError(f"dbt docs generate failed (exit {done.returncode}): {detail}")
        docs_dir = Path(out_dir) / "docs"
        docs_dir.mkdir(parents=True, exist_ok=True)
        final = docs_dir / "index.html"
        partial = docs_dir / ".index.html.tmp"
        shutil.copyfile(page, partial)
        os.replace(partial, final)
    return final, time.perf_counter() - started
