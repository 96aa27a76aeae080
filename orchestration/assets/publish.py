"""Publishing: the marts go to the file BI reads, then the HTML report is written."""

from datetime import datetime
from zoneinfo import ZoneInfo

import dagster as dg

from orchestration.checks.gate import assert_publishable
from orchestration.publish import publish_duckdb
from orchestration.resources import WAREHOUSE_POOL, SpmResource, release_build_file
from report.build import write_report

PUBLISHED_KEY = dg.AssetKey(["published", "warehouse"])
REPORT_KEY = dg.AssetKey(["published", "scorecard_report"])

MART_KEYS = [
    dg.AssetKey(["marts", name])
    for name in (
        "dim_reps",
        "fct_order_lines",
        "fct_opportunities",
        "kpi_rep_period",
        "kpi_rep_channel_period",
        "scorecard_rep_period",
        "scorecard_team_period",
        "scorecard_region_period",
        "scorecard_company_period",
        "bonus_rep_period",
        "target_recommendations",
        "review_360_rep_period",
        "review_sheet_rep_period",
        "dq_rejected_rows",
    )
]


@dg.asset(
    key=PUBLISHED_KEY,
    group_name="publish",
    # The marts as of the run's partition: with the default (all partitions), Dagster lists
    # all ~4,350 daily partitions since 2015 for each mart at every publish (~1 s a run).
    deps=[dg.AssetDep(key, partition_mapping=dg.LastPartitionMapping()) for key in MART_KEYS],
    pool=WAREHOUSE_POOL,
    description="The marts schema copied to the published DuckDB file (SPM_WAREHOUSE) and "
    "swapped in atomically: BI readers never block the run nor see a half-written state.",
    kinds={"duckdb"},
)
def published_warehouse(context: dg.AssetExecutionContext, spm: SpmResource) -> dg.MaterializeResult:
    assert_publishable(context)  # a failed blocking check of this run keeps the old file
    release_build_file()  # the publish reads the build file from a connection of its own
    settings = spm.settings()
    if settings.dbt_target == "postgres":
        # BI reads PostgreSQL's marts live; the report and finance export read this copy.
        from orchestration.postgres import publish_from_postgres

        result = publish_from_postgres(settings.warehouse, context.run.run_id)
    elif settings.dbt_target == "spark":
        # DuckDB reads Spark's marts (Parquet) back into the published file.
        from orchestration.dbt_manifest import MANIFEST
        from orchestration.spark import publish_from_spark, spark_dir

        spark = spark_dir(settings.build_db)
        timezone = spm.plan().timezone
        result = publish_from_spark(spark, settings.warehouse, context.run.run_id, MANIFEST, timezone)
    else:
        result = publish_duckdb(settings.build_db, settings.warehouse, context.run.run_id)
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(result.path)),
            **{f"rows.{table}": count for table, count in result.tables.items()},
        }
    )


@dg.asset(
    key=REPORT_KEY,
    group_name="publish",
    deps=[PUBLISHED_KEY],
    description="Static HTML scorecard report (SPM_REPORT_DIR, language SPM_LANG).",
    kinds={"html"},
)
def scorecard_report(spm: SpmResource) -> dg.MaterializeResult:
    settings = spm.settings()
    now = datetime.now(ZoneInfo(spm.plan().timezone))  # the company's clock in the header
    index = write_report(settings.warehouse, settings.report_dir, lang=settings.lang, generated_at=now)
    return dg.MaterializeResult(metadata={"index": dg.MetadataValue.path(str(index))})
