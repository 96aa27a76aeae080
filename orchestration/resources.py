"""Dagster resources: the settings and the build warehouse connection."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import duckdb

from ingestion.landing import ensure_raw_schema
from ingestion.plan import Plan, load_plan
from orchestration.settings import Settings

# Every asset that writes the build warehouse takes this pool: DuckDB allows one writer.
WAREHOUSE_POOL = "spm_warehouse"


class SpmResource(dg.ConfigurableResource):
    """Read at run time from the SPM_* environment (contract.md settings)."""

    def settings(self) -> Settings:
        return Settings.from_env()

    def plan(self) -> Plan:
        s = self.settings()
        return load_plan(s.plan_path, base_currency=s.base_currency, timezone=s.timezone)

    @contextmanager
    def build_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        s = self.settings()
        s.build_db.parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(s.build_db), config=s.duckdb_config())
        try:
            ensure_raw_schema(con)
            yield con
        finally:
            con.close()
