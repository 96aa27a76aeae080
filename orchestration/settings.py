"""Settings from the environment (contract.md), each with a working default."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ingestion.plan import DEFAULT_PLAN

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
LANGS = ("en", "zh-CN")


def _path(name: str, default: str) -> Path:
    return Path(os.environ.get(name) or default).expanduser().resolve()


@dataclass(frozen=True)
class Settings:
    landing_dir: Path
    warehouse: Path  # the published DuckDB file BI tools read
    build_db: Path  # the working DuckDB file only the nightly run opens
    report_dir: Path
    plan_path: Path
    base_currency: str | None
    timezone: str | None
    lang: str
    dbt_target: str
    # DuckDB's memory limit for every connection of the run (and dbt's, via profiles.yml);
    # it spills to disk beyond it, so a run stays within 2 GB (docs/scaling.md)
    duckdb_memory_limit: str = "768MB"
    # ... but the run process's own instance of the build file, which the ingest and check
    # steps share (two loads at once, orchestration/executor.py) beside the Great
    # Expectations process: at 10M lines a full run's ingest peaked at 1,942 MB with 768MB
    # and 1,565-1,573 MB with 512MB, in the same time (docs/scaling.md)
    ingest_memory_limit: str = "512MB"

    @classmethod
    def from_env(cls) -> Settings:
        warehouse = _path("SPM_WAREHOUSE", "data/warehouse/spm.duckdb")
        lang = os.environ.get("SPM_LANG") or "en"
        if lang not in LANGS:
            raise ValueError(f"SPM_LANG={lang!r}: choose one of {', '.join(LANGS)}")
        return cls(
            landing_dir=_path("SPM_LANDING_DIR", "data/landing"),
            warehouse=warehouse,
            build_db=_path("SPM_BUILD_DB", str(warehouse.with_name(warehouse.stem + ".build.duckdb"))),
            report_dir=_path("SPM_REPORT_DIR", str(warehouse.parent.parent / "report")),
            plan_path=_path("SPM_PLAN", str(DEFAULT_PLAN)),
            base_currency=os.environ.get("SPM_BASE_CURRENCY") or None,
            timezone=os.environ.get("SPM_TIMEZONE") or None,
            lang=lang,
            dbt_target=os.environ.get("SPM_DBT_TARGET") or "duckdb",
            duckdb_memory_limit=os.environ.get("SPM_DUCKDB_MEMORY_LIMIT") or "768MB",
            ingest_memory_limit=os.environ.get("SPM_INGEST_MEMORY_LIMIT") or "512MB",
        )

    def duckdb_config(self, memory_limit: str | None = None) -> dict[str, str]:
        """`config` for duckdb.connect: without it DuckDB may take 80% of the machine."""
        return {"memory_limit": memory_limit or self.duckdb_memory_limit}

    def dbt_env(self, timezone: str) -> dict[str, str]:
        """Environment for dbt: where the build warehouse is and the session time zone."""
        return {
            "SPM_BUILD_DB": str(self.build_db),
            "SPM_TIMEZONE": timezone,
            "SPM_DBT_TARGET": self.dbt_target,
            "SPM_DUCKDB_MEMORY_LIMIT": self.duckdb_memory_limit,
            # libpq's session time zone: the postgres target's timestamps, like DuckDB's TimeZone.
            "PGTZ": timezone,
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            # dbt's debug log file (every statement, in the run's target folder, removed after a
            # successful run) costs ~2 s a night; DBT_LOG_LEVEL_FILE=debug brings it back.
            "DBT_LOG_LEVEL_FILE": os.environ.get("DBT_LOG_LEVEL_FILE") or "none",
        }
