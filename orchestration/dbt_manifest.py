"""The dbt manifest, parsed once and reused until a dbt file changes.

`dagster dev` would prepare it itself, but `spm run`, tests and CI do not go through
`dagster dev`; parsing costs seconds, so it is done only when the project changed.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from orchestration.settings import DBT_PROJECT_DIR

MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"
_WATCHED = ("models", "macros", "tests", "seeds", "snapshots")


def _newest_source_mtime(project_dir: Path) -> float:
    newest = max((project_dir / name).stat().st_mtime for name in ("dbt_project.yml", "profiles.yml"))
    for folder in _WATCHED:
        for path in (project_dir / folder).rglob("*"):
            if path.suffix in (".sql", ".yml", ".yaml", ".csv"):
                newest = max(newest, path.stat().st_mtime)
    return newest


def manifest_is_stale(project_dir: Path = DBT_PROJECT_DIR) -> bool:
    manifest = project_dir / "target" / "manifest.json"
    return not manifest.exists() or manifest.stat().st_mtime < _newest_source_mtime(project_dir)


def ensure_manifest(project_dir: Path = DBT_PROJECT_DIR) -> Path:
    """Parse the dbt project when its manifest is missing or older than its files."""
    manifest = project_dir / "target" / "manifest.json"
    if not manifest_is_stale(project_dir):
        return manifest
    manifest.parent.mkdir(parents=True, exist_ok=True)
    # One parse at a time (two processes starting together, `dagster dev` beside `spm
    # run`, parallel tests): dbt writes the target folder's files in place.
    with (manifest.parent / ".parse.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if manifest_is_stale(project_dir):  # another process may have parsed meanwhile
            _parse(project_dir)
    return manifest


def _parse(project_dir: Path) -> None:
    from dbt.cli.main import dbtRunner

    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    args = ["parse", "--project-dir", str(project_dir), "--profiles-dir", str(project_dir), "--quiet"]
    result = dbtRunner().invoke(args)
    if not result.success:
        raise RuntimeError(f"dbt parse failed: {result.exception}")


def project_fingerprint(manifest_path: Path = MANIFEST) -> str:
    """A hash of every model's and macro's checksum: when it changes, incremental tables
    may no longer match their SQL, so the next build is a full refresh."""
    import hashlib
    import json

    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    parts = sorted(
        f"{uid}:{node.get('checksum', {}).get('checksum', '')}{node.get('macro_sql', '')}"
        for section in ("nodes", "macros")
        for uid, node in manifest.get(section, {}).items()
        if uid.startswith(("model.spm.", "macro.spm.", "snapshot.spm.", "seed.spm."))
    )
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def validated_models(manifest_path: Path = MANIFEST) -> dict[str, str]:
    """Landing entity -> name of its `int_*__validated` model (the `latest_valid_rows`
    call of the model's SQL names the entity)."""
    import json
    import re

    call = re.compile(r"latest_valid_rows\(\s*'[^']+'\s*,\s*'([^']+)'")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    out: dict[str, str] = {}
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") == "model" and node["name"].endswith("__validated"):
            match = call.search(node.get("raw_code", ""))
            if match:
                out[match.group(1)] = node["name"]
    return out
