"""Alerts: a failed run, or a run with failed checks, posts a short JSON message to the
webhook in SPM_ALERT_WEBHOOK (Slack/Teams-style incoming webhook, or any HTTP endpoint).

The message says which run, which checks failed (with severity) and how many input rows
were rejected or dropped as duplicates. Building and posting the message are plain
functions (`run_alert`, `post_alert`); the two sensors and `spm run` call them. No
webhook set: nothing is posted. The URL (it may hold a token) is never logged.
"""

from __future__ import annotations

import json
import os
import urllib.request
from typing import Any

import dagster as dg

WEBHOOK_ENV = "SPM_ALERT_WEBHOOK"
_ROW_COUNTS = ("rows_rejected", "duplicates_dropped")


def post_alert(url: str, payload: dict[str, Any], timeout: float = 10.0) -> int:
    """POST `payload` as JSON; returns the HTTP status (raises on a network error or an
    HTTP error status)."""
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"{WEBHOOK_ENV} must be an http(s) URL")
    request = urllib.request.Request(
        url,
        data=json.dumps(payload, ensure_ascii=False, default=str).encode("utf-8"),
        headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": "spm-alerts"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # scheme checked above
        return response.status


def _metadata_int(metadata: dict, key: str) -> int:
    value = metadata.get(key)
    value = getattr(value, "value", value)
    return int(value) if isinstance(value, int | float) else 0


def run_alert(instance: dg.DagsterInstance, run_id: str, job_name: str, failed: bool) -> dict[str, Any]:
    """The alert of one run, from its event log: failed checks, rejected rows, errors."""
    checks, counts = [], dict.fromkeys(_ROW_COUNTS, 0)
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
        evaluation = entry.dagster_event.event_specific_data
        metadata = dict(evaluation.metadata or {})
        if evaluation.check_name == "rows_reconcile":
            for key in _ROW_COUNTS:
                counts[key] += _metadata_int(metadata, key)
        if not evaluation.passed:
            checks.append(
                {
                    "asset": evaluation.asset_key.to_user_string(),
                    "check": evaluation.check_name,
                    "severity": evaluation.severity.value,
                    "rows": _metadata_int(metadata, "rows_failing")
                    or _metadata_int(metadata, "rows_rejected"),
                }
            )
    errors = []
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_FAILURE):
        error = entry.dagster_event.step_failure_data.error
        while error is not None and error.cause is not None:
            error = error.cause
        errors.append(
            f"{entry.dagster_event.step_key}: {(error.message if error else 'failed').strip()[:300]}"
        )
    blocking = [c for c in checks if c["severity"] == "ERROR"]
    status = "FAILURE" if failed or blocking else "SUCCESS"
    text = (
        f"spm {job_name} run {run_id}: {status}; {len(checks)} check(s) failed"
        + (f" ({len(blocking)} blocking)" if blocking else "")
        + f"; {counts['rows_rejected']} row(s) rejected, {counts['duplicates_dropped']} duplicate(s) dropped"
    )
    return {
        "text": text,
        "run_id": run_id,
        "job": job_name,
        "status": status,
        "failed_checks": checks,
        **counts,
        "errors": errors[:20],
    }


def alert_if_needed(
    instance: dg.DagsterInstance, run_id: str, job_name: str, failed: bool, url: str | None = None
) -> dict[str, Any] | None:
    """Post the run's alert when it failed or a check failed; returns what was posted."""
    url = url if url is not None else os.environ.get(WEBHOOK_ENV)
    if not url:
        return None
    payload = run_alert(instance, run_id, job_name, failed)
    if payload["status"] == "SUCCESS" and not payload["failed_checks"]:
        return None
    post_alert(url, payload)
    return payload


@dg.run_failure_sensor(
    name="alert_on_run_failure",
    description=f"Posts a failed run (which run, which checks, rows rejected) to ${WEBHOOK_ENV}.",
    default_status=dg.DefaultSensorStatus.RUNNING,
    monitor_all_code_locations=False,
)
def alert_on_run_failure(context: dg.RunFailureSensorContext):
    run = context.dagster_run
    if not alert_if_needed(context.instance, run.run_id, run.job_name, failed=True):
        return dg.SkipReason(f"no {WEBHOOK_ENV} set")
    return None


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    name="alert_on_check_failure",
    description=f"Posts a run whose checks failed (warnings included) to ${WEBHOOK_ENV}.",
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def alert_on_check_failure(context: dg.RunStatusSensorContext):
    run = context.dagster_run
    if not alert_if_needed(context.instance, run.run_id, run.job_name, failed=False):
        return dg.SkipReason(f"no {WEBHOOK_ENV} set, or no check failed")
    return None


alert_sensors = [alert_on_run_failure, alert_on_check_failure]
