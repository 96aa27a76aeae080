"""Shared test helpers: run the whole pipeline on a landing folder inside a temp dir."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

FIXTURES = Path(__file__).parent / "fixtures"
REQUIRE_SERVICES = os.environ.get("SPM_REQUIRE_SERVICES") == "1"


def need_service(available: bool, what: str) -> None:
    """Skip when a system service is missing, unless CI requires every service."""
    if available:
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"{what} is required (SPM_REQUIRE_SERVICES=1) but not available")
    pytest.skip(f"{what} not available")


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

    def run(self, monkeypatch: pytest.MonkeyPatch):
        from orchestration.runner import run_pipeline

        for key, value in self.env().items():
            monkeypatch.setenv(key, value)
        for key in ("SPM_BUILD_DB", "SPM_PLAN", "SPM_BASE_CURRENCY", "SPM_TIMEZONE", "SPM_LANG"):
            monkeypatch.delenv(key, raising=False)
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


@pytest.fixture
def handmade_company(tmp_path: Path) -> Company:
    return make_company(tmp_path, FIXTURES / "handmade")
