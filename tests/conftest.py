"""Shared test helpers: run the whole pipeline on a landing folder inside a temp dir."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

FIXTURES = Path(__file__).parent / "fixtures"
REQUIRE_SERVICES = os.environ.get("SPM_REQUIRE_SERVICES") == "1"

# A pytest-xdist worker runs from `python -c`: its __main__ has no __file__, which pyspark
# (imported by Great Expectations when installed) takes for its own doctest run, and exits.
# A real, empty file: a spawned process (the GX worker) loads __main__'s file again.
if os.environ.get("PYTEST_XDIST_WORKER") and not hasattr(sys.modules["__main__"], "__file__"):
    sys.modules["__main__"].__file__ = str(Path(__file__).with_name("xdist_main.py"))

# The slowest modules first (about 180 s down to 20 s each, measured), the rest after in
# their usual order: `make test` runs modules on two workers (pytest-xdist, --dist
# loadscope), and starting the longest first keeps one from running alone at the end.
SLOW_FIRST = (
    "e2e/test_spark.py",
    "e2e/test_incremental.py",
    "e2e/test_faults.py",
    "e2e/test_postgres_warehouse.py",
    "e2e/test_bench.py",
    "e2e/test_demo_company.py",
    "e2e/test_close_period.py",
    "e2e/test_data_quality.py",
    "e2e/test_real_exports.py",
    "unit/test_expectations.py",
    "unit/test_dbt_worker.py",
    "e2e/test_report_browser.py",
    "e2e/test_handmade_company.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        module = item.nodeid.split("::")[0].removeprefix("tests/")
        return SLOW_FIRST.index(module) if module in SLOW_FIRST else len(SLOW_FIRST)

    items.sort(key=rank)  # stable: a module's tests keep their order


def need_service(available: bool, what: str) -> None:
    """Skip when a system service is missing, unless CI requires every service."""
    if available:
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"{what} is required (SPM_REQUIRE_SERVICES=1) but not available")
    pytest.skip(f"{what} not available")


def run_dbt(
    build_db: Path, target_path: Path, *args: str, timeout: int = 300, **env: str
) -> subprocess.CompletedProcess:
    """`dbt <args>` on the project against `build_db`, with its own target folder and no
    telemetry; `env`: more settings (SPM_DBT_TARGET=...). Output in `.stdout`."""
    from orchestration.settings import DBT_PROJECT_DIR

    return subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), *args, "--project-dir", str(DBT_PROJECT_DIR),
         "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(target_path)],
        env={**os.environ, "SPM_BUILD_DB": str(build_db), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", **env},
        capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


@dataclass
class Company:
    root: Path
    landing: Path
    warehouse: Path
    build_db: Path
    report_dir: Path

    def env(self) -> dict[str, str]:
        return {
            "SPM_LANDING_DIR": str(self.landing),
            "SPM_WAREHOUSE": str(self.warehouse),
            "SPM_REPORT_DIR": str(self.report_dir),
        }

    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        con = duckdb.connect(str(self.warehouse), read_only=True)
        try:
            return con.execute(sql, params or []).fetchall()
        finally:
            con.close()

    def use_env(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """The SPM_* environment of this company, every other setting at its default."""
        for key, value in self.env().items():
            monkeypatch.setenv(key, value)
        for key in ("SPM_BUILD_DB", "SPM_PLAN", "SPM_BASE_CURRENCY", "SPM_TIMEZONE", "SPM_LANG"):
            monkeypatch.delenv(key, raising=False)

    def run(self, monkeypatch: pytest.MonkeyPatch):
        from orchestration.runner import run_pipeline

        self.use_env(monkeypatch)
        return run_pipeline()


def make_company(root: Path, landing_source: Path | None = None) -> Company:
    landing = root / "landing"
    if landing_source is not None:
        shutil.copytree(landing_source, landing)
    else:
        landing.mkdir(parents=True)
    warehouse = root / "warehouse" / "spm.duckdb"
    return Company(
        root=root,
        landing=landing,
        warehouse=warehouse,
        build_db=warehouse.with_name("spm.build.duckdb"),
        report_dir=root / "report",
    )


def company_at(root: Path) -> Company:
    """The company laid out under `root` by make_company (built or not)."""
    warehouse = root / "warehouse" / "spm.duckdb"
    return Company(
        root, root / "landing", warehouse, warehouse.with_name("spm.build.duckdb"), root / "report"
    )


def copy_company(source: Company, root: Path) -> Company:
    """A copy of a company that has run (landing, build and published warehouse, report)
    under `root`, for a test that goes on from that state without paying for the same
    pipeline run again. The build warehouse names landing files by relative path, so the
    copy runs on from there as the original would."""
    shutil.copytree(source.root, root, dirs_exist_ok=True, ignore=shutil.ignore_patterns("dbt_target"))
    return company_at(root)


def handmade_reference(tmp_path_factory: pytest.TempPathFactory) -> Company:
    """The hand-made company (fixtures/handmade), default settings, DuckDB target, run
    once per test session. Shared: read it, never change it; a test
    that changes it (closes a period, adds files, runs again) takes a `copy_company`."""
    root = tmp_path_factory.getbasetemp() / "handmade_reference"
    done = root / "run.ok"
    if done.exists():
        return company_at(root)
    if root.exists():
        pytest.fail("the hand-made reference run failed earlier in this session")
    company = make_company(root, FIXTURES / "handmade")
    mp = pytest.MonkeyPatch()
    try:
        outcome = company.run(mp)
    finally:
        mp.undo()
    assert outcome.success, outcome.errors
    # the run's step windows (start, end), for tests of the executor
    done.write_text(json.dumps(outcome.step_windows))
    return company


@pytest.fixture(scope="session")
def handmade_run(tmp_path_factory: pytest.TempPathFactory) -> Company:
    """The hand-made company after one pipeline run; read-only (see handmade_reference)."""
    return handmade_reference(tmp_path_factory)


@pytest.fixture
def handmade_company(tmp_path: Path) -> Company:
    return make_company(tmp_path, FIXTURES / "handmade")


# --- comparing engines (tests/e2e/test_postgres_warehouse.py, test_spark.py) ---------
# Training rows every engine must take without failing the run.
BAD_TRAINING_ROWS = (
    "training_id,rep_id,completed_at,hours\n"
    "TRX1,S1,2026-01-20T10:00:00,lots\n"  # not a number: rejected
    "TRX2,S2,2026-01-21T10:00:00,1.5e1\n"  # exponent: 15 hours on every engine
    "TRX3,S3,not a date,2\n"  # unparseable timestamp: null, not an error
    "TRX4,S1,2026-02-30T10:00:00+08:00, 2\n"  # 30 February: null, not an error
)


def handmade_landing_with_bad_rows(root: Path) -> Path:
    """The hand-made company's landing files plus BAD_TRAINING_ROWS, under root/source."""
    landing = root / "source"
    shutil.copytree(FIXTURES / "handmade", landing)
    (landing / "hr" / "training" / "bad_rows.csv").write_text(BAD_TRAINING_ROWS, encoding="utf-8")
    return landing


def _comparable_value(value):
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, Decimal):
        return value.normalize() if value == value else value
    return value


def comparable_rows(rows) -> list[tuple]:
    """Rows of two engines in one order, floats rounded and decimals without trailing
    zeros, so equal results compare equal."""
    return sorted(
        (tuple(_comparable_value(v) for v in row) for row in rows),
        key=lambda row: tuple((v is None, str(v)) for v in row),
    )


# --- comparing two builds of one engine (tests/e2e/test_incremental.py, test_plan_change.py)
# Columns that say which run wrote a row, not what it says.
RUN_COLUMNS = {"run_id", "built_at", "computed_at", "published_at", "source_batches", "_changed_at"}


def mart_differences(left: Path, right: Path) -> dict[str, tuple[int, int, int]]:
    """Per published mart of two DuckDB warehouse files: (rows left, rows only left, rows
    only right), the columns that name the run left out."""
    from orchestration.assets.publish import MART_KEYS

    con = duckdb.connect()
    try:
        con.execute(f"attach '{left}' as l (read_only)")
        con.execute(f"attach '{right}' as r (read_only)")
        out = {}
        for mart in (key.path[-1] for key in MART_KEYS):
            cols = [
                c
                for (c,) in con.execute(
                    "select column_name from duckdb_columns() where database_name = 'l' "
                    "and schema_name = 'marts' and table_name = ? order by column_index",
                    [mart],
                ).fetchall()
                if c not in RUN_COLUMNS
            ]
            listed = ", ".join(cols)
            total = con.execute(f"select count(*) from l.marts.{mart}").fetchone()[0]
            only_left = con.execute(
                f"select count(*) from (select {listed} from l.marts.{mart} except all "
                f"select {listed} from r.marts.{mart})"
            ).fetchone()[0]
            only_right = con.execute(
                f"select count(*) from (select {listed} from r.marts.{mart} except all "
                f"select {listed} from l.marts.{mart})"
            ).fetchone()[0]
            out[mart] = (total, only_left, only_right)
        return out
    finally:
        con.close()
