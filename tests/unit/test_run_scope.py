"""When a dbt build may be incremental, and from when (ingestion/run_scope.py)."""

from datetime import date

import duckdb
import pytest

from ingestion.run_scope import record_build_end, record_run_scope

DAY, NEXT = date(2026, 3, 1), date(2026, 3, 2)


@pytest.fixture
def con():
    con = duckdb.connect()
    yield con
    con.close()


def _scope(con, run_id, **kwargs):
    kwargs.setdefault("plan_sha256", "plan-a")
    kwargs.setdefault("project_fingerprint", "models-a")
    kwargs.setdefault("base_currency", "CNY")
    kwargs.setdefault("timezone", "Asia/Shanghai")
    kwargs.setdefault("dbt_target", "duckdb")
    return record_run_scope(con, run_id, DAY, NEXT, **kwargs)


def test_first_build_is_full(con):
    scope = _scope(con, "r1")
    assert scope.full_refresh and scope.changed_since is None and scope.reason == "first build"
    assert con.execute("select count(*) from raw._run_scope").fetchone() == (1,)


def test_after_a_successful_build_only_changes_since_its_start(con):
    first = _scope(con, "r1")
    record_build_end(con, "r1", succeeded=True)
    started = con.execute("select started_at from raw._dbt_builds where run_id = 'r1'").fetchone()[0]
    second = _scope(con, "r2")
    assert first.full_refresh and not second.full_refresh
    assert second.changed_since == started
    row = con.execute(
        "select run_id, window_start, window_end, changed_since, full_refresh from raw._run_scope"
    )
    assert row.fetchall() == [("r2", DAY, NEXT, started, False)]  # one row: this run's


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"full_refresh": True}, "full refresh requested"),
        ({"project_fingerprint": "models-b"}, "dbt models changed since the last build"),
        # amounts in another currency, days in another time zone: the whole history moves
        ({"base_currency": "USD"}, "base currency changed (CNY -> USD) since the last build"),
        ({"timezone": "UTC"}, "time zone changed (Asia/Shanghai -> UTC) since the last build"),
        # the other engine's tables are as its last build left them
        ({"dbt_target": "postgres"}, "dbt target changed (duckdb -> postgres) since the last build"),
    ],
)
def test_changed_models_currency_time_zone_or_target_rebuild_everything(con, change, reason):
    _scope(con, "r1")
    record_build_end(con, "r1", succeeded=True)
    scope = _scope(con, "r2", **change)
    assert scope.full_refresh and scope.changed_since is None and scope.reason == reason
    assert not scope.all_periods
    assert con.execute("select full_refresh, all_periods from raw._run_scope").fetchone() == (True, False)


def test_new_plan_rules_rescore_every_period_and_keep_the_rows_incremental(con):
    _scope(con, "r1")
    record_build_end(con, "r1", succeeded=True)
    started = con.execute("select started_at from raw._dbt_builds where run_id = 'r1'").fetchone()[0]
    scope = _scope(con, "r2", plan_sha256="plan-b")
    assert not scope.full_refresh and scope.changed_since == started and scope.all_periods
    assert scope.reason.startswith("plan rules changed since the last build: every open period is rescored")
    assert con.execute("select full_refresh, all_periods from raw._run_scope").fetchone() == (False, True)
    record_build_end(con, "r2", succeeded=True)
    # the next night with the same plan: back to the periods of the changed days
    assert not _scope(con, "r3", plan_sha256="plan-b").all_periods


def test_a_build_that_did_not_record_currency_and_time_zone_is_followed_by_a_full_one(con):
    """A warehouse built by a version before these columns: the next build cannot tell
    whether settings moved them, so it rebuilds (once)."""
    _scope(con, "r1")
    record_build_end(con, "r1", succeeded=True)
    con.execute("update raw._dbt_builds set base_currency = null, timezone = null")
    scope = _scope(con, "r2")
    assert scope.full_refresh and scope.reason.startswith("base currency changed (not recorded -> CNY)")
    record_build_end(con, "r2", succeeded=True)
    assert not _scope(con, "r3").full_refresh


def test_an_older_warehouse_gets_the_new_control_columns(con):
    con.execute("create schema raw")
    con.execute(
        "create table raw._run_scope (run_id varchar not null, window_start date not null, "
        "window_end date not null, changed_since timestamp, full_refresh boolean not null, "
        "recorded_at timestamp not null)"
    )
    con.execute("insert into raw._run_scope values ('r0', '2026-01-01', '2026-01-02', null, true, now())")
    scope = _scope(con, "r1")
    assert scope.full_refresh
    rows = con.execute("select run_id, all_periods from raw._run_scope").fetchall()
    assert rows == [("r1", False)]


def test_a_build_after_a_failed_one_is_full(con):
    _scope(con, "r1")
    record_build_end(con, "r1", succeeded=True)
    _scope(con, "r2")
    record_build_end(con, "r2", succeeded=False)
    scope = _scope(con, "r3")
    assert scope.full_refresh and scope.reason == "the last build did not succeed"
    record_build_end(con, "r3", succeeded=True)
    assert not _scope(con, "r4").full_refresh


def test_an_empty_window_is_refused(con):
    with pytest.raises(ValueError, match="empty partition window"):
        record_run_scope(con, "r1", NEXT, DAY)


def test_unchanged_entities_are_those_with_nothing_loaded_rejected_or_released_since(con):
    from datetime import datetime

    from expectations.sql import ensure_quality_tables
    from ingestion.landing import ensure_raw_schema
    from ingestion.run_scope import unchanged_entities

    entities = ["crm/leads", "crm/reps", "orders/orders", "orders/order_lines", "hr/training"]
    assert unchanged_entities(con, datetime(2026, 3, 1), entities) == []  # no control tables yet
    ensure_raw_schema(con)
    ensure_quality_tables(con)
    since = datetime(2026, 3, 1, 12)
    before, after = datetime(2026, 3, 1, 11), datetime(2026, 3, 1, 13)
    for entity, at in (("crm/leads", before), ("orders/orders", after)):
        con.execute(
            "insert into raw._batches values (?, ?, 'f.csv', 'sha', 1, 1, 'loaded', null, null, ?, 'r')",
            [f"b-{entity}", entity, at],
        )
    reject = "insert into raw._rejected_rows values (?, 'b0', 'f.csv', 1, 'k', 'rule', 'v', ?, 'r')"
    con.execute(reject, ["orders/order_lines", after])
    resolution = "insert into raw._reject_resolutions values (?, 'b1', 1, 'rule', ?, 'r')"
    con.execute(resolution, ["hr/training", after])
    con.execute(resolution, ["crm/reps", before])
    assert unchanged_entities(con, since, entities) == ["crm/leads", "crm/reps"]
