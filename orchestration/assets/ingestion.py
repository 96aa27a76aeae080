"""One asset per landing entity (grouped by source), plus the plan rules."""

import dagster as dg

from expectations.loading import load_with_rules
from expectations.rules import parents
from ingestion.entities import ENTITIES, ENTITY_BY_FOLDER, Entity
from ingestion.plan import write_plan_tables
from orchestration.executor import PARALLEL_TAGS
from orchestration.resources import WAREHOUSE_POOL, SpmResource

PLAN_TABLES = ("plan_info", "kpis", "role_weights", "bonus_tiers", "review_360_weights")
CONTROL_TABLES = {
    "batches": "_batches",
    "closed_periods": "_closed_periods",
    "current_run": "_current_run",
    "rejected_rows": "_rejected_rows",
    "reject_resolutions": "_reject_resolutions",
}
CONTROL_DESCRIPTIONS = {
    "batches": "one row per landing file seen.",
    "closed_periods": "locked periods.",
    "current_run": "the run dbt is building for.",
    "rejected_rows": "append-only row rejects (expectations/rules.py), written by each raw asset "
    "in the transaction that loads the batch.",
    "reject_resolutions": "rejects released later (their parent, FX rate or KPI arrived).",
}
PLAN_ASSET_KEYS = [dg.AssetKey(["plan", table]) for table in PLAN_TABLES]
CONTROL_ASSET_KEYS = [dg.AssetKey(["raw", "control", table]) for table in CONTROL_TABLES]


def raw_asset_key(entity: Entity) -> dg.AssetKey:
    return dg.AssetKey(["raw", entity.source, entity.name])


def _chain_below(folder: str) -> int:
    """How many entities long the longest chain of entities waiting for this one is."""
    children = [e.folder for e in ENTITIES if folder in parents(e.folder)]
    return max((1 + _chain_below(child) for child in children), default=0)


def ingest_op_tags(entity: Entity) -> dict[str, str]:
    """Of an entity's load and its checks: they may run beside another entity's
    (orchestration/executor.py), and the longest chain goes first (orders, then their lines,
    then returns, while the CRM and survey entities load beside them)."""
    return {**PARALLEL_TAGS, "dagster/priority": str(_chain_below(entity.folder))}


def _raw_asset(entity: Entity) -> dg.AssetsDefinition:
    @dg.asset(
        key=raw_asset_key(entity),
        group_name=entity.source,
        description=f"Landing folder `{entity.folder}` loaded into raw.{entity.raw_table}: "
        "new files only, rows as text with batch id, source file, row number and load time.",
        # rows of an entity are judged against its parents: those load first
        deps=[*CONTROL_ASSET_KEYS, *(raw_asset_key(ENTITY_BY_FOLDER[p]) for p in parents(entity.folder))],
        pool=WAREHOUSE_POOL,
        op_tags=ingest_op_tags(entity),
        kinds={"duckdb", "python"},
    )
    def _load(context: dg.AssetExecutionContext, spm: SpmResource) -> dg.MaterializeResult:
        settings = spm.settings()
        rules_context = spm.rules_context(context)
        with spm.build_connection() as con:
            result, quality = load_with_rules(
                con, settings.landing_dir, entity, rules_context, context.run.run_id
            )
        for rejected in result.rejected:
            context.log.warning(f"file rejected: {rejected.message}")
        for loaded in result.files:
            if loaded.status == "loaded" and loaded.message:
                context.log.info(loaded.message)
        return dg.MaterializeResult(
            metadata={
                "files_loaded": sum(1 for f in result.files if f.status == "loaded"),
                "files_rejected": len(result.rejected),
                "files_skipped_already_loaded": result.skipped,
                "rows_loaded": result.rows_loaded,
                "rows_rejected": quality.rows_rejected,
                "duplicates_dropped": quality.duplicates,
                "earlier_rejects_released": quality.resolved,
                "rejected_files": dg.MetadataValue.md(
                    "\n".join(f"- {f.message}" for f in result.rejected) or "none"
                ),
            }
        )

    return _load


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            dg.AssetKey(["raw", "control", name]),
            group_name="control",
            description=f"raw.{table}: {CONTROL_DESCRIPTIONS[name]}",
            kinds={"duckdb"},
        )
        for name, table in CONTROL_TABLES.items()
    ],
    pool=WAREHOUSE_POOL,
)
def raw_control(spm: SpmResource):
    with spm.build_connection() as con:
        for name, table in CONTROL_TABLES.items():
            rows = con.execute(f"select count(*) from raw.{table}").fetchone()[0]
            yield dg.MaterializeResult(
                asset_key=dg.AssetKey(["raw", "control", name]), metadata={"rows": rows}
            )


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            key,
            group_name="plans",
            description=f"Plan rules table plan.{key.path[-1]} from config/plan.yml (or SPM_PLAN).",
            kinds={"duckdb", "yaml"},
        )
        for key in PLAN_ASSET_KEYS
    ],
    pool=WAREHOUSE_POOL,
)
def plan_rules(spm: SpmResource):
    """Validates the plan (a PlanError lists every problem and stops the run) and writes it."""
    plan = spm.plan()
    with spm.build_connection() as con:
        write_plan_tables(con, plan)
    for key in PLAN_ASSET_KEYS:
        yield dg.MaterializeResult(
            asset_key=key,
            metadata={"plan_version": plan.version, "plan_sha256": plan.sha256},
        )


raw_assets = [_raw_asset(entity) for entity in ENTITIES]
