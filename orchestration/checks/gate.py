"""The publish gate: a failed blocking check of this run stops the publish.

Dagster skips the assets downstream of a failed blocking check, but Python assets
downstream of dbt are not always blocked (dagster-io/dagster#18472, #19821). The publish
step therefore asks the run's own event log before it swaps the published file: any
ERROR-severity check that failed in this run (an ingestion check or a dbt test) stops it,
and the previously published warehouse stays as it was. Warnings never block.
"""

from __future__ import annotations

import dagster as dg


def failed_blocking_checks(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    failed = []
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
        evaluation = entry.dagster_event.event_specific_data
        if not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR:
            failed.append(f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}")
    return sorted(set(failed))


def assert_publishable(context: dg.AssetExecutionContext) -> None:
    failed = failed_blocking_checks(context.instance, context.run.run_id)
    if failed:
        raise dg.Failure(
            description=f"publish blocked: {len(failed)} blocking check(s) failed in this run: "
            + ", ".join(failed[:20])
            + ("" if len(failed) <= 20 else ", ..."),
            metadata={"failed_checks": "\n".join(failed)},
        )
