"""Incremental runs give the same marts as a full rebuild.

A generated company runs once (a full build), then receives one more day of orders plus
late changes that move rows between days and reps (an old order cancelled, an old order
handed to another rep, a back-dated order, a late return, an account moved to a new
market). The incremental run recomputes only the partition's day and the days those
changes touch; a --full-refresh run afterwards must publish exactly the same rows.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from ingestion.demo.generator import generate_company
from ingestion.demo.next_day import append_next_day
from tests.conftest import Company, make_company, mart_differences, run_dbt

pytestmark = pytest.mark.slow

AS_OF = date(2026, 11, 20)
NEXT_DAY = date(2026, 11, 21)


def _orphan_line(landing: Path) -> None:
    """A line of an order that arrives only the next night: rejected, then released."""
    con = duckdb.connect()
    try:
        lines = f"read_csv('{landing}/orders/order_lines/order_lines_{AS_OF:%Y%m%d}.csv', all_varchar = true)"
        con.execute(
            f"""
            copy (
                select 'OLEARLY0001' as order_line_id, 'SOEARLY0001' as order_id, product_id,
                    '2' as quantity, unit_price, unit_cost, discount
                from {lines} order by order_line_id limit 1
            ) to '{landing}/orders/order_lines/order_lines_{AS_OF:%Y%m%d}_early.csv' (header, delimiter ',')
            """
        )
    finally:
        con.close()


def _late_changes(landing: Path) -> None:
    """Files of the next night that rewrite history (new file names, contract columns)."""
    con = duckdb.connect()
    try:
        orders = f"read_csv('{landing}/orders/orders/orders_{AS_OF:%Y%m%d}.csv', all_varchar = true)"
        lines = f"read_csv('{landing}/orders/order_lines/order_lines_{AS_OF:%Y%m%d}.csv', all_varchar = true)"
        accounts = f"read_csv('{landing}/crm/accounts/*.csv', all_varchar = true, union_by_name = true)"
        markets = f"read_csv('{landing}/crm/markets/*.csv', all_varchar = true, union_by_name = true)"
        late = landing / "orders/orders" / f"orders_{NEXT_DAY:%Y%m%d}_corrections.csv"
        # the 5th completed order cancelled; the 9th handed to the rep of the 1st
        con.execute(
            f"""
            copy (
                with picked as (
                    select *, row_number() over (order by order_id) as n
                    from {orders} where status = 'completed' and order_date < '2026-09-01'
                )
                select order_id, account_id,
                    case when n = 9 then (select rep_id from picked where n = 1) else rep_id end as rep_id,
                    channel, order_date, currency,
                    case when n = 5 then 'cancelled' else status end as status,
                    '{NEXT_DAY}T01:00:00' as updated_at
                from picked where n in (5, 9)
                union all
                -- a back-dated order of an existing account and rep
                select 'SOBACK0001', account_id, rep_id, channel, '2026-03-10', currency, 'completed',
                    '{NEXT_DAY}T01:00:00'
                from picked where n = 20
                union all
                -- the order of the line that came a night early (_orphan_line)
                select 'SOEARLY0001', account_id, rep_id, channel, '2026-06-10', currency, 'completed',
                    '{NEXT_DAY}T01:00:00'
                from picked where n = 21
            ) to '{late}' (header, delimiter ',')
            """
        )
        con.execute(
            f"""
            copy (
                (
                    select 'OLBACK0001' as order_line_id, 'SOBACK0001' as order_id, product_id,
                        '3' as quantity, unit_price, unit_cost, discount
                    from {lines} limit 1
                )
                union all
                (
                    -- a new reject: a product nobody knows
                    select 'OLBACK0002', 'SOBACK0001', 'NO-SUCH-PRODUCT', '1', unit_price, unit_cost, discount
                    from {lines} limit 1
                )
            ) to '{landing}/orders/order_lines/order_lines_{NEXT_DAY:%Y%m%d}_corrections.csv'
            (header, delimiter ',')
            """
        )
        con.execute(
            f"""
            copy (
                select 'RTLATE0001' as return_id, l.order_line_id, '{NEXT_DAY}' as return_date,
                    '1' as quantity, l.unit_price as amount
                from {lines} as l
                inner join {orders} as o on o.order_id = l.order_id
                where o.status = 'completed' and o.order_date between '2026-05-01' and '2026-05-31'
                order by l.order_line_id limit 1
            ) to '{landing}/orders/returns/returns_{NEXT_DAY:%Y%m%d}_late.csv' (header, delimiter ',')
            """
        )
        # an account with orders moves to a market flagged new (if the company has one)
        new_market = con.execute(
            f"select market_id from {markets} where lower(is_new_market) = 'true' limit 1"
        ).fetchone()
        if new_market:
            (landing / "crm/accounts").mkdir(parents=True, exist_ok=True)
            con.execute(
                f"""
                copy (
                    select * replace ('{new_market[0]}' as market_id, '{NEXT_DAY}T02:00:00' as updated_at)
                    from {accounts}
                    where account_id in (select account_id from {orders} where status = 'completed')
                    order by account_id limit 1
                ) to '{landing}/crm/accounts/accounts_{NEXT_DAY:%Y%m%d}.csv' (header, delimiter ',')
                """
            )
    finally:
        con.close()


def _run(company: Company, monkeypatch: pytest.MonkeyPatch, **kwargs):
    from orchestration.runner import run_pipeline

    for key, value in company.env().items():
        monkeypatch.setenv(key, value)
    for key in ("SPM_BUILD_DB", "SPM_PLAN", "SPM_BASE_CURRENCY", "SPM_TIMEZONE", "SPM_LANG"):
        monkeypatch.delenv(key, raising=False)
    outcome = run_pipeline(**kwargs)
    assert outcome.success, outcome.errors
    return outcome


def _builds(company: Company) -> list[tuple]:
    con = duckdb.connect(str(company.build_db), read_only=True)
    try:
        return con.execute(
            "select full_refresh, succeeded, window_start, window_end "
            "from raw._dbt_builds order by started_at"
        ).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def incremental_then_full(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("incremental")
    company = make_company(root)
    generate_company(company.landing, scale=10_000, seed=7, as_of=AS_OF)
    mp = pytest.MonkeyPatch()
    try:
        _orphan_line(company.landing)
        _run(company, mp, partition=AS_OF.isoformat())
        early = company.query("select rule from marts.dq_rejected_rows where record_key = 'OLEARLY0001'")
        added = append_next_day(company.landing, NEXT_DAY)
        _late_changes(company.landing)
        _run(company, mp, partition=NEXT_DAY.isoformat(), log_path=root / "incremental.log")
        publish_modes = [company.query("select mode from marts._publish_info")[0][0]]
        incremental = root / "incremental.duckdb"
        shutil.copy2(company.warehouse, incremental)
        _run(company, mp, partition=NEXT_DAY.isoformat(), full_refresh=True, log_path=root / "full.log")
        publish_modes.append(company.query("select mode from marts._publish_info")[0][0])
        full = root / "full.duckdb"
        shutil.copy2(company.warehouse, full)
        # a backfill of a range is one run, and with nothing new it changes nothing
        _run(company, mp, backfill=("2026-03-01", "2026-03-31"))
        backfilled = root / "backfilled.duckdb"
        shutil.copy2(company.warehouse, backfilled)
    finally:
        mp.undo()
    assert early, "the orphan line was not rejected"
    return company, added, incremental, full, backfilled, publish_modes


def test_runs_are_recorded_full_then_incremental(incremental_then_full):
    company, added, *_ = incremental_then_full
    assert added["orders/orders"] > 0
    builds = _builds(company)
    full_then_incremental = [(True, True), (False, True), (True, True), (False, True)]
    assert [(full, ok) for full, ok, *_ in builds] == full_then_incremental
    assert builds[1][2:] == (NEXT_DAY, date(2026, 11, 22))
    assert builds[3][2:] == (date(2026, 3, 1), date(2026, 4, 1))  # the backfill: one window
    # the backfill recomputed its 31 days and nothing else had changed
    con = duckdb.connect(str(company.build_db), read_only=True)
    try:
        days = con.execute("select min(date_day), max(date_day), count(*) from intermediate.int_scope__days")
        assert days.fetchone() == (date(2026, 3, 1), date(2026, 3, 31), 31)
        assert con.execute("select count(*) from intermediate.int_scope__orders").fetchone() == (0,)
    finally:
        con.close()


def test_incremental_run_equals_full_refresh(incremental_then_full):
    _, _, incremental, full, _, publish_modes = incremental_then_full
    # the incremental build ran two dbt nodes at once, the full one one at a time
    # (orchestration/assets/dbt.py INCREMENTAL_DUCKDB_THREADS)
    assert "Concurrency: 2 threads" in (incremental.parent / "incremental.log").read_text()
    assert "Concurrency: 1 threads" in (full.parent / "full.log").read_text()
    # the incremental run swapped only the replaced rows into the published file
    assert publish_modes == ["partial", "full"]
    differences = mart_differences(incremental, full)
    assert all(total > 0 for total, _, _ in differences.values()), differences
    assert {m: d for m, d in differences.items() if d[1] or d[2]} == {}


def test_backfill_with_nothing_new_changes_nothing(incremental_then_full):
    _, _, _, full, backfilled, _ = incremental_then_full
    differences = mart_differences(full, backfilled)
    assert {m: d for m, d in differences.items() if d[1] or d[2]} == {}


def test_late_changes_reached_the_marts(incremental_then_full):
    company, *_ = incremental_then_full
    rows = company.query(
        "select count(*) filter (where order_id = 'SOBACK0001'), "
        "count(*) filter (where is_returned and returned_quantity >= 1) from marts.fct_order_lines"
    )[0]
    assert rows[0] == 1 and rows[1] >= 1
    # the reject list changed by batch: a new reject in, a released one out
    rejects = company.query(
        "select record_key, rule from marts.dq_rejected_rows "
        "where record_key in ('OLBACK0002', 'OLEARLY0001')"
    )
    assert rejects == [("OLBACK0002", "unknown_product")]
    assert company.query(
        "select count(*) from marts.fct_order_lines where order_line_id = 'OLEARLY0001'"
    ) == [(1,)]


def test_scoped_unique_tests_catch_a_duplicate_the_run_made(incremental_then_full, tmp_path):
    """On an incremental build the big marts' unique tests count only the keys of the rows
    the run rebuilt (over the whole table): a duplicate among them still fails the build."""
    company, *_ = incremental_then_full
    build = tmp_path / "build.duckdb"
    shutil.copy2(company.build_db, build)
    con = duckdb.connect(str(build))
    try:
        # the last run (the March backfill) rebuilt March's periods; put one order in scope
        # and give it a second copy of an order line of another order
        scoped_order, other_line = con.execute(
            "select a.order_id, b.order_line_id from marts.fct_order_lines as a, marts.fct_order_lines as b "
            "where a.order_id <> b.order_id limit 1"
        ).fetchone()
        con.execute("insert into intermediate.int_scope__orders (order_id) values (?)", [scoped_order])
        con.execute(
            "insert into marts.fct_order_lines by name select * replace (? as order_id) "
            "from marts.fct_order_lines where order_line_id = ?",
            [scoped_order, other_line],
        )
        con.execute(
            "insert into marts.kpi_rep_period by name select * from marts.kpi_rep_period "
            "where period_grain = 'month' and period_start = date '2026-03-01' limit 1"
        )
        # an opportunity in scope, sent twice
        (opportunity,) = con.execute("select min(opportunity_id) from marts.fct_opportunities").fetchone()
        con.execute("insert into intermediate.int_scope__opportunities values (?)", [opportunity])
        con.execute(
            "insert into marts.fct_opportunities by name select * from marts.fct_opportunities "
            "where opportunity_id = ?",
            [opportunity],
        )
    finally:
        con.close()
    result = run_dbt(
        build, tmp_path / "target",
        "test", "--select", "fct_order_lines", "kpi_rep_period", "fct_opportunities",
        "--exclude-resource-type", "unit_test",
    )  # fmt: skip
    assert result.returncode != 0, result.stdout[-3000:]
    failed = " ".join(line for line in result.stdout.splitlines() if "FAIL 1 " in line)
    assert "unique_combination_fct_order_lines_order_line_id" in failed, result.stdout[-3000:]
    assert "unique_combination_kpi_rep_period" in failed, result.stdout[-3000:]
    assert "unique_combination_fct_opportunities_opportunity_id" in failed, result.stdout[-3000:]


def test_not_null_columns_fails_once_per_column_holding_a_null(incremental_then_full, tmp_path):
    """A mart's required columns are one test: it fails with one row per column that
    holds a null (here two columns of fct_order_lines), and passes on the others. On an
    incremental build it reads only the rows the build rebuilt (here the orders put in
    scope): a row it did not rebuild passed when it was built."""
    company, *_ = incremental_then_full
    build = tmp_path / "build.duckdb"
    shutil.copy2(company.build_db, build)
    con = duckdb.connect(str(build))
    try:
        first_two = "(select order_line_id from marts.fct_order_lines order by order_line_id limit 2)"
        last = "(select max(order_line_id) from marts.fct_order_lines)"
        con.execute(f"update marts.fct_order_lines set rep_id = null where order_line_id in {first_two}")
        con.execute(f"update marts.fct_order_lines set net_amount_base = null where order_line_id = {last}")
        con.execute(
            "insert into intermediate.int_scope__orders (order_id) select distinct order_id "
            f"from marts.fct_order_lines where order_line_id in {first_two} or order_line_id = {last} "
            "except select order_id from intermediate.int_scope__orders"
        )
        # a null outside the rebuilt orders is not this build's
        con.execute(
            "update marts.fct_order_lines set cost_base = null where order_line_id = "
            "(select min(order_line_id) from marts.fct_order_lines where order_id not in "
            "(select order_id from intermediate.int_scope__orders))"
        )
    finally:
        con.close()
    result = run_dbt(
        build, tmp_path / "target",
        "test", "--select", "test_name:not_null_columns", "--store-failures",
        "--exclude-resource-type", "unit_test",
    )  # fmt: skip
    assert result.returncode != 0, result.stdout[-3000:]
    failed = [line for line in result.stdout.splitlines() if " FAIL " in line]
    assert len(failed) == 1 and "FAIL 2 not_null_columns_fct_order_lines" in failed[0], result.stdout[-3000:]
    con = duckdb.connect(str(build), read_only=True)
    try:
        stored = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_name = 'not_null_columns_fct_order_lines'"
        ).fetchall()
        assert len(stored) == 1, stored
        schema, table = stored[0]
        rows = con.execute(f"select column_name, null_rows from {schema}.{table} order by 1").fetchall()
    finally:
        con.close()
    assert rows == [("net_amount_base", 1), ("rep_id", 2)]
