"""The dbt project as Dagster assets: staging, intermediate and marts groups; dbt tests
become asset checks beside the models they test."""

import json
import os
import re
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from ingestion.entities import ENTITIES
from orchestration.dbt_manifest import ensure_manifest
from orchestration.resources import WAREHOUSE_POOL, SpmResource
from orchestration.settings import DBT_PROJECT_DIR

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
ensure_manifest(DBT_PROJECT_DIR)

_RAW_SOURCES = {(e.source, e.name): dg.AssetKey(["raw", e.source, e.name]) for e in ENTITIES}
_RUN_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


class SpmDbtTranslator(DagsterDbtTranslator):
    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            source, table = dbt_resource_props["source_name"], dbt_resource_props["name"]
            if source == "plan_rules":
                return dg.AssetKey(["plan", table])
            if source == "control":
                return dg.AssetKey(["raw", "control", table])
            return _RAW_SOURCES[(source, table)]
        layer = dbt_resource_props["fqn"][1]
        return dg.AssetKey([layer, dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return dbt_resource_props["fqn"][1]


def dbt_vars(run_id: str) -> str:
    """--vars for dbt; values are pasted into SQL, so they are checked here."""
    if not _RUN_ID.match(run_id):
        raise ValueError(f"run id {run_id!r} is not a safe identifier")
    return json.dumps({"run_id": run_id})


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
    yield from dbt.cli(["build", "--vars", dbt_vars(context.run.run_id)], context=context).stream()
