"""The dbt project as Dagster assets: staging, intermediate and marts groups; dbt tests
become asset checks beside the models they test.

The models are daily-partitioned: a run's partition window (one day for the nightly run,
a date range for a backfill, which runs as one dbt build) is recorded in raw._run_scope
with what changed since the last successful build (ingestion/run_scope.py), and the
incremental models recompute only that (dbt_project/macros/run_scope.sql).
"""

import os
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import dagster as dg

from expectations.suites import stop_gx_worker
from ingestion.entities import ENTITIES
from ingestion.landing import record_current_run
from ingestion.run_scope import record_build_end, record_run_scope, unchanged_entities
from orchestration.dagster_dbt_lean import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets
from orchestration.dbt_manifest import ensure_manifest, project_fingerprint, validated_models
from orchestration.dbt_worker import stop_dbt_worker
from orchestration.resources import WAREHOUSE_POOL, SpmResource, release_build_file
from orchestration.settings import DBT_PROJECT_DIR

# Days from the oldest history a company brings (the time spine starts in 2015), in the
# company time zone; the partition of a day closes at midnight there.
PARTITIONS_START = "2015-01-01"
# dbt's threads for an incremental build on DuckDB (profiles.yml keeps 1 for a full one).
# A night's ~80 nodes are mostly short statements: two at once use the second core. At 10M
# lines, one night's build on copies of one file, four alternating pairs: 11.7 s on average
# against 14.1 s, equal marts (in whole nights on a quiet machine ~0.5 s of ~10 s). A full
# build's statements already use both cores: 196.0 s on two threads against 187.5 s on
# one (docs/scaling.md).
INCREMENTAL_DUCKDB_THREADS = 2
COMPANY_TIMEZONE = os.environ.get("SPM_TIMEZONE") or "Asia/Shanghai"
daily_partitions = dg.DailyPartitionsDefinition(
    start_date=PARTITIONS_START, timezone=COMPANY_TIMEZONE, end_offset=1
)


class DbtBuildConfig(dg.Config):
    """`full_refresh`: rebuild every incremental model from raw (closed periods stay frozen)."""

    full_refresh: bool = False


def latest_partition_key(today: date | None = None) -> str:
    """The partition of today in the company time zone (the nightly run's default)."""
    today = today or datetime.now(ZoneInfo(COMPANY_TIMEZONE)).date()
    return today.isoformat()


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
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def spm_dbt_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, spm: SpmResource, config: DbtBuildConfig
):
    settings = spm.settings()
    plan = spm.plan()
    with dbt_environment(settings.dbt_env(plan.timezone)):
        yield from _build(context, dbt, spm, config, settings, plan)


@contextmanager
def dbt_environment(values: Mapping[str, str]) -> Iterator[None]:
    """dbt's settings in this process's environment (dagster-dbt hands it to dbt) for the
    build only: a later run in the same process (a test, `spm run` after `spm bench`'s)
    reads its own settings, not this run's warehouse path."""
    touched = [*values, "SPM_SPARK_DIR"]  # prepare_spark_build sets the latter
    saved = {key: os.environ.get(key) for key in touched}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _build(context, dbt, spm, config, settings, plan):
    window = context.partition_time_window
    with spm.build_connection() as con:
        record_current_run(con, context.run.run_id)
        scope = record_run_scope(
            con,
            context.run.run_id,
            window.start.date(),
            window.end.date(),
            full_refresh=config.full_refresh,
            plan_sha256=plan.sha256,
            base_currency=plan.base_currency,
            timezone=plan.timezone,
            dbt_target=settings.dbt_target,
            project_fingerprint=project_fingerprint(dbt_project.manifest_path),
        )
        models = validated_models(dbt_project.manifest_path)
        idle = unchanged_entities(con, scope.changed_since, models) if scope.incremental else []
    # dbt's process takes the file; on a nightly build it also checkpoints the night's loads
    release_build_file(checkpoint=not scope.incremental)
    stop_gx_worker()  # the checks are done: its memory is not held through the build
    context.log.info(
        f"dbt scope: days {scope.window_start} .. {scope.window_end} (end excluded); "
        f"{'incremental' if scope.incremental else 'full refresh'}: {scope.reason}"
    )
    # Unit tests check the SQL, not the night's data: they run in `make test`, not here.
    # No --vars: a value that changes every run would make dbt re-parse the project; the
    # window reaches the models through raw._run_scope instead.
    # No manifest.json or run_results.json (~0.7 s a run): the run's target folder is
    # dropped after the build; Dagster has the results from dbt's event stream.
    args = ["build", "--exclude-resource-type", "unit_test", "--no-write-json"]
    if scope.full_refresh:
        args.append("--full-refresh")  # marts with full_refresh: false keep closed periods
    elif settings.dbt_target != "spark":  # Spark rebuilds its source tables every run
        # The project is the one the last build ran (fingerprint), so its views stand as
        # they are: 26 statements fewer per night.
        # Nothing loaded, rejected or released for the `idle` entities since the last
        # build: their validated models would only find that out (~0.15 s each).
        # (one --exclude value, space-separated: the form dagster-dbt folds into its selection)
        args += ["--exclude", " ".join(["config.materialized:view", *(models[e] for e in idle)])]
        if idle:
            context.log.info(f"unchanged since the last build, not rebuilt: {', '.join(idle)}")
        if settings.dbt_target == "duckdb":
            args += ["--threads", str(INCREMENTAL_DUCKDB_THREADS)]
    succeeded = False
    invocation = None
    try:
        invocation = dbt.cli(args, context=context)
        yield from invocation.stream()
        succeeded = invocation.is_successful()
    finally:
        with spm.build_connection() as con:
            record_build_end(con, context.run.run_id, succeeded)
        release_build_file()
        stop_dbt_worker()  # reaps the worker the build ran in, or ends an unused one
        if invocation is not None:  # a failed build's folder too: one per run would pile up
            keep_parse_state(invocation.target_path)


def keep_parse_state(run_target: Path) -> None:
    """Carry this run's parse state to the next run and drop the per-run target folder.

    dagster-dbt starts each run from target/partial_parse.msgpack; the manifest parsed
    with this run's profile (its warehouse path) lets the next run skip a full parse.
    """
    state = run_target / "partial_parse.msgpack"
    if state.exists():
        # moved in whole: another run starting now copies the old state or the new one
        kept = DBT_PROJECT_DIR / "target" / "partial_parse.msgpack"
        staged = kept.with_name(f".{kept.name}.{os.getpid()}")
        shutil.copy2(state, staged)
        os.replace(staged, kept)
    shutil.rmtree(run_target, ignore_errors=True)
