"""Closing a period freezes its rows; late data for it is settled in the next open period.

Hand-made company (fixtures/handmade), January 2026 closed, then late files arrive:
- a return of 1 x OL4 (S2, 100 CNY, cost 60) booked on 2026-01-25: January stays as it was;
  had it been known, S2's January revenue would have been 300 of 400 = 75% instead of 100%,
  the composite 90 - 60 x 25% = 75 (below 80: coefficient 0), so the 4,800 bonus paid is
  clawed back in February: 7,200 - 1,200 carried in - 4,800 = 1,200 paid.
- a red-line violation of S1 on 2026-01-20, penalty 1,000: settled in February, where S1
  has no bonus: paid 0, 1,000 carried on.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import duckdb
import pytest

from orchestration.periods import CloseError, close_period
from orchestration.publish import publish_duckdb
from orchestration.settings import Settings
from tests.conftest import copy_company, mart_differences

pytestmark = pytest.mark.slow
JAN, FEB = date(2026, 1, 1), date(2026, 2, 1)


def _settings(company) -> Settings:
    return Settings.from_env()


@pytest.fixture(scope="module")
def closed_company(tmp_path_factory, handmade_run):
    from tests.conftest import copy_company

    mp = pytest.MonkeyPatch()
    # The hand-made company after its first run (conftest's one run per session), copied:
    # this module closes January and runs again on late data.
    company = copy_company(handmade_run, tmp_path_factory.mktemp("close"))
    company.use_env(mp)
    query = "select * from marts.{} where period_grain = 'month' and period_start = '2026-01-01' order by all"
    before = {t: company.query(query.format(t)) for t in ("kpi_rep_period", "scorecard_rep_period")}
    before["bonus"] = company.query(
        "select * exclude (is_closed) from marts.bonus_rep_period "
        "where period_grain = 'month' and period_start = '2026-01-01' order by all"
    )
    settings = Settings.from_env()
    with pytest.raises(CloseError, match="periods close in order"):
        close_period(settings, "Asia/Shanghai", "month", FEB)
    result = close_period(settings, "Asia/Shanghai", "month", JAN)
    with pytest.raises(CloseError, match="already closed"):
        close_period(settings, "Asia/Shanghai", "month", JAN)
    (company.landing / "orders/returns/returns_late.csv").write_text(
        "return_id,order_line_id,return_date,quantity,amount\nRT2,OL4,2026-01-25,1,100\n"
    )
    (company.landing / "hr/violations/violations_late.csv").write_text(
        "violation_id,rep_id,occurred_at,severity,penalty_amount,description\n"
        "V3,S1,2026-01-20T10:00:00,red_line,1000,leaked price list\n"
    )
    assert company.run(mp).success
    mp.undo()
    return company, before, result


@pytest.fixture(scope="module")
def night_after_close(closed_company, tmp_path_factory):
    """The late-data run's publish, and a full publish of the same build beside it."""
    company, _, _ = closed_company
    info = company.query("select mode, run_id, build_run_id from marts._publish_info")[0]
    full = tmp_path_factory.mktemp("full-publish") / "spm.duckdb"
    publish_duckdb(company.build_db, full, "full-publish")
    return company, info, full


def test_close_reports_what_it_froze(closed_company):
    _, _, result = closed_company
    assert result.rows["bonus_rep_period"] == 5
    assert result.payout_by_currency == {"CNY": 3600 + 12000 + 6000 + 0 + 0}


def test_closed_rows_do_not_change_with_late_data(closed_company):
    company, before, _ = closed_company
    query = "select * from marts.{} where period_grain = 'month' and period_start = '2026-01-01' order by all"
    assert company.query(query.format("kpi_rep_period")) == before["kpi_rep_period"]
    assert company.query(query.format("scorecard_rep_period")) == before["scorecard_rep_period"]
    assert (
        company.query(
            "select * exclude (is_closed) from marts.bonus_rep_period "
            "where period_grain = 'month' and period_start = '2026-01-01' order by all"
        )
        == before["bonus"]
    )
    assert company.query(
        "select bool_and(is_closed) from marts.bonus_rep_period where period_start = '2026-01-01'"
    ) == [(True,)]


def test_late_return_becomes_clawback_and_late_penalty_moves_on(closed_company):
    company, _, _ = closed_company
    rows = company.query(
        "select rep_id, bonus_amount, new_penalty_amount, carried_in_amount, penalty_amount, "
        "clawback_amount, payout_amount, carried_out_amount, is_closed from marts.bonus_rep_period "
        "where period_grain = 'month' and period_start = '2026-02-01' order by rep_id"
    )
    d = Decimal
    assert rows == [
        ("S1", d(0), d(1000), d(0), d(1000), d(0), d(0), d(1000), False),
        ("S2", d(7200), d(0), d(1200), d(1200), d(4800), d(1200), d(0), False),
    ]
    # February's KPIs are not touched by a return booked in January.
    assert company.query(
        "select actual_value from marts.kpi_rep_period where rep_id = 'S2' and kpi_code = 'revenue' "
        "and period_grain = 'month' and period_start = '2026-02-01'"
    ) == [(d(200),)]


def test_bonus_rows_name_their_source_batches(closed_company):
    company, _, _ = closed_company
    batches = company.query(
        "select source_batches from marts.bonus_rep_period "
        "where rep_id = 'S2' and period_start = '2026-02-01'"
    )[0][0]
    loaded = {b for (b,) in company.query("select distinct batch_id from marts.dq_rejected_rows")}
    assert batches and len(batches.split(",")) >= 3 and not (set(batches.split(",")) & loaded)


def test_a_period_that_has_not_ended_cannot_be_closed(closed_company):
    with pytest.raises(CloseError, match="cannot be closed before it ends"):
        close_period(Settings.from_env(), "Asia/Shanghai", "month", date(2999, 1, 1))
    with pytest.raises(CloseError, match="not the first day"):
        close_period(Settings.from_env(), "Asia/Shanghai", "month", date(2026, 1, 2))


def test_the_night_after_a_close_swaps_in_only_what_it_rebuilt(night_after_close):
    # the close republished the last build's marts: the next night can start from them
    company, (mode, run_id, build_run_id), full = night_after_close
    assert (mode, build_run_id) == ("partial", run_id)
    differences = mart_differences(company.warehouse, full)
    assert differences["bonus_rep_period"][0] > 0 and differences["kpi_rep_period"][0] > 0
    assert {m: d for m, d in differences.items() if d[1] or d[2]} == {}


def test_no_close_after_a_failed_build(handmade_run, tmp_path):
    mp = pytest.MonkeyPatch()
    company = copy_company(handmade_run, tmp_path)
    company.use_env(mp)
    try:
        con = duckdb.connect(str(company.build_db))
        try:  # a build that stopped half way: some incremental marts a step ahead of others
            con.execute(
                "insert into raw._dbt_builds (run_id, started_at, succeeded, full_refresh) "
                "select 'failed-run', max(started_at) + interval 1 minute, false, false from raw._dbt_builds"
            )
        finally:
            con.close()
        published = company.warehouse.stat().st_mtime_ns
        with pytest.raises(CloseError, match="the last dbt build did not succeed"):
            close_period(Settings.from_env(), "Asia/Shanghai", "month", JAN)
        assert company.warehouse.stat().st_mtime_ns == published
        con = duckdb.connect(str(company.build_db), read_only=True)
        try:
            assert con.execute("select count(*) from raw._closed_periods").fetchone() == (0,)
        finally:
            con.close()
    finally:
        mp.undo()
