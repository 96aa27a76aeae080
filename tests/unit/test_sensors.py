"""Alerts: the posting function against a local HTTP server, and the two sensors on small
runs of an ephemeral Dagster instance."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import dagster as dg
import pytest

from orchestration.sensors import (
    WEBHOOK_ENV,
    alert_on_check_failure,
    alert_on_run_failure,
    post_alert,
    run_alert,
)


@pytest.fixture
def webhook():
    """A local HTTP server on 127.0.0.1 and a random port; yields (url, received bodies)."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append({"content_type": self.headers["Content-Type"], **json.loads(body)})
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()
    server.server_close()


def test_post_alert_sends_json(webhook):
    url, received = webhook
    assert post_alert(url, {"text": "run 1: 3 row(s) rejected", "name": "张伟"}) == 200
    assert received == [
        {
            "content_type": "application/json; charset=utf-8",
            "text": "run 1: 3 row(s) rejected",
            "name": "张伟",
        }
    ]


def test_post_alert_refuses_other_schemes():
    with pytest.raises(ValueError, match="http"):
        post_alert("file:///etc/passwd", {})


@dg.asset
def orders_raw():
    return 1


@dg.asset_check(asset=orders_raw)
def rows_reconcile():
    return dg.AssetCheckResult(
        passed=True, metadata={"rows_rejected": 3, "duplicates_dropped": 1, "rows_read": 10}
    )


@dg.asset_check(asset=orders_raw)
def expectations():
    return dg.AssetCheckResult(
        passed=False, severity=dg.AssetCheckSeverity.WARN, metadata={"rows_failing": 3}
    )


@dg.asset
def broken():
    raise RuntimeError("disk full")


def _run(*assets, checks=()):
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize([*assets, *checks], instance=instance, raise_on_error=False)
    return instance, result


def test_run_alert_names_the_run_the_checks_and_the_rejected_rows():
    instance, result = _run(orders_raw, checks=[rows_reconcile, expectations])
    payload = run_alert(instance, result.run_id, "nightly", failed=False)
    assert payload["run_id"] == result.run_id and payload["status"] == "SUCCESS"
    assert payload["failed_checks"] == [
        {"asset": "orders_raw", "check": "expectations", "severity": "WARN", "rows": 3}
    ]
    assert (payload["rows_rejected"], payload["duplicates_dropped"]) == (3, 1)
    assert "3 row(s) rejected" in payload["text"] and result.run_id in payload["text"]


def test_check_failure_sensor_posts(webhook, monkeypatch):
    url, received = webhook
    monkeypatch.setenv(WEBHOOK_ENV, url)
    instance, result = _run(orders_raw, checks=[rows_reconcile, expectations])
    run = instance.get_run_by_id(result.run_id)
    event = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.RUN_SUCCESS)
    context = dg.build_run_status_sensor_context(
        sensor_name="alert_on_check_failure", dagster_event=event, dagster_instance=instance, dagster_run=run
    )
    alert_on_check_failure(context)
    assert len(received) == 1
    assert received[0]["run_id"] == result.run_id
    assert received[0]["failed_checks"][0]["check"] == "expectations"
    assert received[0]["rows_rejected"] == 3


def test_run_failure_sensor_posts(webhook, monkeypatch):
    url, received = webhook
    monkeypatch.setenv(WEBHOOK_ENV, url)
    instance, result = _run(broken)
    assert not result.success
    run = instance.get_run_by_id(result.run_id)
    event = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.RUN_FAILURE)
    context = dg.build_run_status_sensor_context(
        sensor_name="alert_on_run_failure", dagster_event=event, dagster_instance=instance, dagster_run=run
    ).for_run_failure()
    alert_on_run_failure(context)
    assert len(received) == 1
    assert received[0]["status"] == "FAILURE" and received[0]["run_id"] == result.run_id
    assert any("disk full" in e for e in received[0]["errors"])


def test_no_webhook_no_post(webhook, monkeypatch):
    _, received = webhook
    monkeypatch.delenv(WEBHOOK_ENV, raising=False)
    instance, result = _run(broken)
    run = instance.get_run_by_id(result.run_id)
    event = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.RUN_FAILURE)
    context = dg.build_run_status_sensor_context(
        sensor_name="alert_on_run_failure", dagster_event=event, dagster_instance=instance, dagster_run=run
    ).for_run_failure()
    assert isinstance(alert_on_run_failure(context), dg.SkipReason)
    assert received == []
