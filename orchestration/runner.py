"""Run the nightly job in-process (what `spm run` does) and read back the result."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import duckdb


@dataclass
class RunOutcome:
    run_id: str
    success: bool
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def run_pipeline(log_level: str = "WARNING") -> RunOutcome:
    from orchestration.definitions import defs

    job = defs.resolve_job_def("nightly")
    instance = dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()
    result = job.execute_in_process(
        instance=instance,
        raise_on_error=False,
        run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
    )
    outcome = RunOutcome(result.run_id, result.success)
    for event in result.all_events:
        if event.event_type == dg.DagsterEventType.STEP_FAILURE:
            error = event.step_failure_data.error
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
    return outcome


def scorecard_top(warehouse: Path, limit: int = 10, grain: str = "month"):
    """The latest period's top reps from the published warehouse."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        period = con.execute(
            "select max(period_start) from marts.scorecard_rep_period where period_grain = ?",
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
