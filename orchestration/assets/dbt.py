"""The dbt project as Dagster assets: staging, intermediate and marts groups; dbt tests
become asset checks beside the models they test."""

import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from ingestion.entities import ENTITIES
from ingestion.landing import record_current_run
from orchestration.dbt_manifest import ensure_manifest
from orchestration.resources import WAREHOUSE_POOL, SpmResource
from orchestration.settings import DBT_PROJECT_DIR

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
ensure_manifest(DBT_PROJECT_DIR)

_RAW_SOURCES = {(e.source, e.name): dg.AssetKey(["raw", e.source, e.name]) for e in ENTITIES}


class SpmDbtTranslator(DagsterDbtTranslator):
    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            source, table = dbt_resource_props["source_name"], dbt_resource_props["name"]
            if source == "plan_rules":
                return dg.AssetKey(["plan", table])
            if source in ("control", "quality"):  # quality: row rejects (models/intermediate/quality)
                return dg.AssetKey(["raw", "control", table])
            return _RAW_SOURCES[(source, table)]
        layer = dbt_resource_props["fqn"][1]
        return dg.AssetKey([layer, dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return dbt_resource_props["fqn"][1]


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=SpmDbtTranslator(),
    pool=WAREHOUSE_POOL,
)
def spm_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, spm: SpmResource):
    settings = spm.settings()
    plan = spm.plan()
    os.environ.update(settings.dbt_env(plan.timezone))
    with spm.build_connection() as con:
        record_current_run(con, context.run.run_id)
    # Unit tests check the SQL, not the night's data: they run in `make test`, not here.
    # No --vars: a value that changes every run would make dbt re-parse the project.
    args = ["build", "--exclude-resource-type", "unit_test"]
    invocation = dbt.cli(args, context=context)
    yield from invocation.stream()
    keep_parse_state(invocation.target_path)


def keep_parse_state(run_target: Path) -> None:
    """Carry this run's parse state to the next run and drop the per-run target folder.

    dagster-dbt starts each run from target/partial_parse.msgpack; the manifest parsed
    with this run's profile (its warehouse path) lets the next run skip a full parse.
    """
    state = run_target / "partial_parse.msgpack"
    if state.exists():
        shutil.copy2(state, DBT_PROJECT_DIR / "target" / "partial_parse.msgpack")
    shutil.rmtree(run_target, ignore_errors=True)
