"""Run the nightly job in-process (what `spm run` does) and read back the result."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

if TYPE_CHECKING:
    import dagster as dg


@dataclass
class RunOutcome:
    run_id: str
    success: bool
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    log_path: Path | None = None
    step_windows: dict[str, tuple[float, float]] = field(default_factory=dict)  # step -> (start, end)


def run_pipeline(
    log_path: Path | None = None,
    log_level: str = "WARNING",
    *,
    partition: str | None = None,
    backfill: tuple[str, str] | None = None,
    full_refresh: bool = False,
) -> RunOutcome:
    """Run the nightly job in this process. dbt's console output goes to `log_path`.

    `partition`: the day (YYYY-MM-DD, company time zone) whose data the run is for, by
    default today; `backfill`: a first and last day recomputed in one run instead;
    `full_refresh`: rebuild the incremental models from raw.
    """
    from expectations.suites import start_gx_worker, stop_gx_worker
    from orchestration.dbt_worker import start_dbt_worker, stop_dbt_worker
    from orchestration.settings import Settings

    settings = Settings.from_env()
    # Before Dagster is imported (~1 s), so GX's import (~5 s) starts that much sooner (the
    # first check of a 10M night still waited ~0.5 s for it: the two imports share 2 cores).
    gx_imported = start_gx_worker()  # imports GX on the other core while the run starts up
    # Then dbt, for the build, on a warehouse that has history: a first run loads all of it
    # (the run's memory peak, which the worker's ~130 MB would raise) and builds for minutes.
    if settings.build_db.exists() and not full_refresh:
        target = settings.dbt_target
        if gx_imported is None:
            start_dbt_worker(target)
        else:  # the two imports at once would slow the run's start
            gx_imported.add_done_callback(lambda _: start_dbt_worker(target))
    import dagster as dg

    from orchestration.assets.dbt import latest_partition_key
    from orchestration.resources import keep_build_file_open

    job = nightly_job()
    instance = dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()
    run_config = {
        "loggers": {"console": {"config": {"log_level": log_level}}},
        "ops": {"spm_dbt_models": {"config": {"full_refresh": full_refresh}}},
    }
    if backfill:
        tags = {
            "dagster/asset_partition_range_start": backfill[0],
            "dagster/asset_partition_range_end": backfill[1],
        }
    else:
        tags = {"dagster/partition": partition or latest_partition_key()}
    with contextlib.ExitStack() as stack:
        # The helper processes end with the run, also when a failed check stopped it before
        # the build (which ends them otherwise): a process that runs the pipeline in a
        # multiprocessing child (`spm bench`) gets no atexit, and would wait for them forever.
        stack.callback(stop_dbt_worker)
        stack.callback(stop_gx_worker, now=True)
        stack.enter_context(keep_build_file_open())
        if log_path is not None:
            log_path.parent.mkdir(parents=True, exist_ok=True)
            log = stack.enter_context(log_path.open("w", encoding="utf-8"))
            stack.enter_context(contextlib.redirect_stdout(log))
        # execute_job, not execute_in_process: the latter always runs the steps one after
        # another; this runs them in this process with the job's executor
        # (orchestration/executor.py: the raw loads two at a time)
        result = stack.enter_context(
            dg.execute_job(
                dg.reconstructable(nightly_job),
                instance=instance,
                run_config=run_config,
                tags=tags,
                raise_on_error=False,
            )
        )
        all_events = result.all_events
    outcome = RunOutcome(result.run_id, result.success, log_path=log_path)
    for event in all_events:
        if event.event_type == dg.DagsterEventType.STEP_FAILURE:
            error = event.step_failure_data.error
            while error is not None and error.cause is not None:
                error = error.cause  # the user code's own exception, not Dagster's wrapper
            message = error.message.strip() if error else "unknown error"
            outcome.errors.append(f"{event.step_key}: {message[:2000]}")
        elif event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.event_specific_data
            if not evaluation.passed:
                line = f"check {evaluation.asset_key.to_user_string()}:{evaluation.check_name} failed"
                if evaluation.severity == dg.AssetCheckSeverity.ERROR:
                    outcome.errors.append(line)
                else:
                    outcome.warnings.append(line)
    if outcome.errors:
        outcome.success = False
    outcome.step_windows = _step_windows(instance, result.run_id)
    if not os.environ.get("DAGSTER_HOME"):  # with DAGSTER_HOME, the daemon's sensors alert
        from orchestration.sensors import alert_if_needed

        try:
            alert_if_needed(instance, result.run_id, job.name, failed=not outcome.success)
        except Exception as exc:  # an unreachable webhook must not fail the run
            outcome.warnings.append(f"alert not posted: {type(exc).__name__}: {str(exc)[:200]}")
    return outcome


def nightly_job() -> dg.JobDefinition:
    from orchestration.definitions import defs

    return defs.resolve_job_def("nightly")


def _step_windows(instance: dg.DagsterInstance, run_id: str) -> dict[str, tuple[float, float]]:
    import dagster as dg

    starts: dict[str, float] = {}
    windows: dict[str, tuple[float, float]] = {}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None or event.step_key is None:
            continue
        if event.event_type == dg.DagsterEventType.STEP_START:
            starts[event.step_key] = entry.timestamp
        elif event.event_type in (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE):
            windows[event.step_key] = (starts.get(event.step_key, entry.timestamp), entry.timestamp)
    return windows


def scorecard_top(warehouse: Path, limit: int = 10, grain: str = "month"):
    """Top reps of the latest complete period (the latest period if none is complete)."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        period = con.execute(
            """
            select coalesce(
                max(period_start) filter (
                    where period_end <= (select max(order_date) from marts.fct_order_lines)
                ),
                max(period_start)
            )
            from marts.scorecard_rep_period
            where period_grain = ? and composite_score is not null
            """,
            [grain],
        ).fetchone()[0]
        rows = con.execute(
            """
            select rank_in_company, rep_id, rep_name, team_id, composite_score, coaching_flag
            from marts.scorecard_rep_period
            where period_grain = ? and period_start = ? and composite_score is not null
            order by rank_in_company, rep_id
            limit ?
            """,
            [grain, period, limit],
        ).fetchall()
    finally:
        con.close()
    return period, rows
