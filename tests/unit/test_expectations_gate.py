"""The publish gate on its own: a failed ERROR check that Dagster does not block on (a
non-blocking check, as for Python assets downstream of dbt, dagster#18472) still stops
the real publish step; a failed warning does not."""

from __future__ import annotations

import dagster as dg
import duckdb
import pytest

from orchestration.assets.publish import published_warehouse
from orchestration.resources import SpmResource


def _mart_with_check(severity: dg.AssetCheckSeverity):
    @dg.asset(key=dg.AssetKey(["marts", "dq_rejected_rows"]))
    def mart():
        return None

    @dg.asset_check(asset=mart, blocking=False)
    def some_test():
        return dg.AssetCheckResult(passed=False, severity=severity)

    return mart, some_test


@pytest.fixture
def warehouse(tmp_path, monkeypatch):
    build, published = tmp_path / "spm.build.duckdb", tmp_path / "spm.duckdb"
    con = duckdb.connect(str(build))
    con.execute("create schema marts; create table marts.bonus_rep_period as select 42 as payout_amount")
    con.close()
    monkeypatch.setenv("SPM_WAREHOUSE", str(published))
    monkeypatch.setenv("SPM_BUILD_DB", str(build))
    return published


def _materialize(severity):
    mart, check = _mart_with_check(severity)
    return dg.materialize(
        [mart, check, published_warehouse],
        resources={"spm": SpmResource()},
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


def test_a_failed_error_check_stops_the_publish(warehouse):
    result = _materialize(dg.AssetCheckSeverity.ERROR)
    assert not result.success
    failures = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    assert [e.step_key for e in failures] == ["published__warehouse"]  # Dagster ran it: the gate stopped it
    error = failures[0].step_failure_data.error
    assert "publish blocked: 1 blocking check(s) failed" in error.message + str(error.cause)
    assert not warehouse.exists()


def test_a_failed_warning_does_not_block(warehouse):
    result = _materialize(dg.AssetCheckSeverity.WARN)
    assert result.success
    con = duckdb.connect(str(warehouse), read_only=True)
    assert con.execute("select payout_amount from marts.bonus_rep_period").fetchall() == [(42,)]
    con.close()
