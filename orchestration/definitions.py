"""The one Dagster entry point: `dagster dev -m orchestration.definitions`."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg

from orchestration.assets.dbt import COMPANY_TIMEZONE, dbt_project, spm_dbt_models
from orchestration.assets.ingestion import plan_rules, raw_assets, raw_control
from orchestration.assets.publish import published_warehouse, scorecard_report
from orchestration.checks.ingestion import raw_checks
from orchestration.executor import parallel_ingest_executor
from orchestration.postgres import SpmDbtCliResource
from orchestration.resources import SpmResource
from orchestration.sensors import alert_sensors

nightly_job = dg.define_asset_job(
    "nightly",
    selection=dg.AssetSelection.all(),
    description="Ingest, check, transform, score, publish and report: the whole pipeline.",
)


@dg.schedule(
    name="nightly_0200",
    job=nightly_job,
    cron_schedule="0 2 * * *",
    execution_timezone=COMPANY_TIMEZONE,
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
def nightly_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """At 02:00 in the company time zone: the partition of the day that just ended."""
    day = context.scheduled_execution_time.astimezone(ZoneInfo(COMPANY_TIMEZONE)).date() - timedelta(days=1)
    return dg.RunRequest(partition_key=day.isoformat())


defs = dg.Definitions(
    assets=[
        raw_control,
        plan_rules,
        *raw_assets,
        spm_dbt_models,
        published_warehouse,
        scorecard_report,
    ],
    asset_checks=raw_checks,
    jobs=[nightly_job],
    schedules=[nightly_schedule],
    sensors=alert_sensors,  # SPM_ALERT_WEBHOOK: failed runs and checks
    resources={
        "spm": SpmResource(),
        # On SPM_DBT_TARGET=postgres it mirrors raw and plan tables to PostgreSQL before `dbt build`.
        "dbt": SpmDbtCliResource(
            project_dir=dbt_project,
            profiles_dir=str(dbt_project.profiles_dir),
            # The dbt of this interpreter's environment, whether or not it is on PATH; its
            # build runs in the worker `spm run` started (orchestration/dbt_worker.py).
            dbt_executable=str(Path(sys.executable).parent / "spm-dbt"),
        ),
    },
    # In process (one writer on the DuckDB build file): the raw loads and their checks two
    # at a time, through cursors of one open instance; every other step alone.
    executor=parallel_ingest_executor,
)
