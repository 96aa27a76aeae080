"""The whole pipeline on a five-rep company whose every score and payout is computed by
hand below (fixtures/handmade). Default plan: sales revenue 60 / csat_pct 20 /
market_feedback 20; manager revenue 40 / win_rate_pct 20 / csat_pct 20 / review_360 20;
marketing leads 40 / event_participants 30 / brand_exposure 30; cap 150%."""

from __future__ import annotations

from decimal import Decimal

import pytest

pytestmark = pytest.mark.slow

JAN = "2026-01-01"
FEB = "2026-02-01"


@pytest.fixture(scope="module")
def company(handmade_run):
    """The hand-made company after one pipeline run (conftest: one run per session,
    shared read-only with other modules)."""
    return handmade_run


def _d(x) -> Decimal:
    return Decimal(str(x))


def kpi(company, rep, code, start=JAN):
    return company.query(
        "select actual_value, target_value, attainment_pct, weighted_score from marts.kpi_rep_period "
        "where rep_id = ? and kpi_code = ? and period_grain = 'month' and period_start = ?",
        [rep, code, start],
    )[0]


def test_revenue_fx_returns_cancelled_and_time_zone(company):
    # S1: OL1 10 x 100 = 1000 CNY + OL2 2 x 50 USD x 0.9 = 90 USD x 7.0 = 630 -> 1630.
    assert kpi(company, "S1", "revenue")[0] == _d("1630.0000")
    # S2: O3 is cancelled and never counts; O4 4 x 100 = 400.
    assert kpi(company, "S2", "revenue")[0] == _d("400.0000")
    # S3: O5 is 2026-01-31T18:00Z = 2026-02-01 02:00 in Asia/Shanghai: February.
    assert kpi(company, "S3", "revenue")[0] == _d("0.0000")
    assert kpi(company, "S3", "revenue", FEB)[0] == _d("300.0000")
    # The return of 1 x OL1 (100 CNY) is booked in February, when it happened.
    assert kpi(company, "S1", "revenue", FEB)[0] == _d("-100.0000")
    # Gross profit S1 January: 1630 - (10 x 60 + 2 x 30 x 7) = 610; February: -100 + 60.
    assert kpi(company, "S1", "gross_profit")[0] == _d("610.0000")
    assert kpi(company, "S1", "gross_profit", FEB)[0] == _d("-40.0000")
    # New customers: A1 and A2 first bought from S1, A3 from S2 (O3 cancelled), A4 in Feb.
    assert kpi(company, "S1", "new_customers")[0] == 2
    assert kpi(company, "S2", "new_customers")[0] == 1
    assert kpi(company, "S3", "new_customers", FEB)[0] == 1
    # New-market revenue: only A2 (MK_NEW) -> 630.
    assert kpi(company, "S1", "new_market_revenue")[0] == _d("630.0000")


def test_attainment_and_weighted_scores(company):
    # S1: revenue 1630/2000 = 81.5% x 60; csat 2 of 4 responses >= 4 = 50% vs 80 -> 62.5% x 20;
    # market feedback 3 vs 2 = 150% (the cap) x 20.
    assert kpi(company, "S1", "revenue")[2:] == (_d("81.5000"), _d("48.9000"))
    assert kpi(company, "S1", "csat_pct") == (_d(50), _d(80), _d("62.5000"), _d("12.5000"))
    assert kpi(company, "S1", "market_feedback")[2:] == (_d(150), _d(30))
    # S3 csat 100 vs 90 = 111.1111%.
    assert kpi(company, "S3", "csat_pct")[2:] == (_d("111.1111"), _d("22.2222"))
    # M1's 360: manager 5 -> 100, peer 3 -> 50, customer 4 -> 75, self 5 -> 100;
    # 0.4 x 100 + 0.2 x 50 + 0.3 x 75 + 0.1 x 100 = 82.5.
    assert kpi(company, "M1", "review_360")[:3] == (_d("82.5"), _d("82.5"), _d(100))
    assert company.query(
        "select manager_score, peer_score, customer_score, self_score, weighted_score "
        "from marts.review_360_rep_period where rep_id = 'M1'"
    ) == [(_d(100), _d(50), _d(75), _d(100), _d("82.5"))]
    # M1 win rate: 1 won, 1 lost closed in January = 50%.
    assert kpi(company, "M1", "win_rate_pct")[0] == _d(50)


def test_composites_ranks_and_coaching(company):
    rows = company.query(
        "select rep_id, weighted_total, minor_deduction_points, composite_score, rank_in_team, "
        "rank_in_company, coaching_flag, coaching_kpis from marts.scorecard_rep_period "
        "where period_grain = 'month' and period_start = ? order by rank_in_company",
        [JAN],
    )
    assert rows == [
        # M1 exactly 100 on every KPI.
        ("M1", _d(100), _d(0), _d(100), 1, 1, False, None),
        # S2: 60 + 0.2 x 125 + 0.2 x 25 = 90.
        ("S2", _d(90), _d(0), _d(90), 2, 2, False, None),
        # S1: 48.9 + 12.5 + 30 = 91.4, minus 2 points for one minor violation = 89.4.
        ("S1", _d("91.4"), _d(2), _d("89.4"), 3, 3, False, None),
        # K1: 80% on each of its three KPIs: exactly 80, not below the coaching line.
        ("K1", _d(80), _d(0), _d(80), 1, 4, False, None),
        # S3: revenue 0 -> 0 + 22.2222 + 20 = 42.2222; coached, revenue pulled it down.
        ("S3", _d("42.2222"), _d(0), _d("42.2222"), 2, 5, True, "revenue"),
    ]
    team = dict(
        company.query(
            "select team_id, composite_score from marts.scorecard_team_period "
            "where period_grain = 'month' and period_start = ?",
            [JAN],
        )
    )
    assert team == {"T1": _d("93.1333"), "T2": _d("61.1111")}


def test_missing_target_renormalizes(company):
    # S2 in February has no CSAT response: csat is reported, not scored; revenue (60) and
    # market feedback (20) share 100: 75 x 150% (200/100 capped) + 25 x 100% = 137.5.
    assert company.query(
        "select composite_score from marts.scorecard_rep_period "
        "where rep_id = 'S2' and period_grain = 'month' and period_start = ?",
        [FEB],
    ) == [(_d("137.5"),)]


def test_bonus_tiers_penalties_and_carry_over(company):
    rows = company.query(
        "select rep_id, period_start::varchar, tier, coefficient, bonus_amount, penalty_amount, "
        "payout_amount, carried_out_amount from marts.bonus_rep_period order by period_start, rep_id"
    )
    assert rows == [
        ("K1", JAN, "on_track", _d("1.2"), _d(3600), _d(0), _d(3600), _d(0)),
        ("M1", JAN, "achieved", _d("1.5"), _d(12000), _d(0), _d(12000), _d(0)),
        ("S1", JAN, "on_track", _d("1.2"), _d(6000), _d(0), _d(6000), _d(0)),
        # Red-line penalty 6000 > bonus 4800: paid 0, 1200 carried to February.
        ("S2", JAN, "on_track", _d("1.2"), _d(4800), _d(6000), _d(0), _d(1200)),
        ("S3", JAN, "below_threshold", _d(0), _d(0), _d(0), _d(0), _d(0)),
        # February: 4000 x 1.8 = 7200 - 1200 carried in = 6000.
        ("S2", FEB, "outstanding", _d("1.8"), _d(7200), _d(1200), _d(6000), _d(0)),
    ]
    assert company.query("select distinct plan_version from marts.bonus_rep_period") == [("2026.1",)]


def test_invariants(company):
    # composite = sum of weighted scores (- minor points); payout never negative and
    # = max(0, bonus - penalties - clawbacks); role weights add to 100.
    assert company.query(
        """
        select count(*) from marts.scorecard_rep_period s
        join (select rep_id, period_grain, period_start, sum(weighted_score) as total
              from marts.kpi_rep_period group by all) k using (rep_id, period_grain, period_start)
        where s.weighted_total <> k.total
           or s.composite_score <> greatest(0, k.total - s.minor_deduction_points)
        """
    ) == [(0,)]
    assert company.query(
        "select count(*) from marts.bonus_rep_period where payout_amount < 0 or payout_amount <> "
        "greatest(0, bonus_amount - penalty_amount - clawback_amount)"
    ) == [(0,)]
    assert company.query(
        "select count(*) from (select rep_id, period_grain, period_start, sum(effective_weight_pct) w "
        "from marts.kpi_rep_period where is_scored group by all) where abs(w - 100) > 0.001"
    ) == [(0,)]


def test_personal_data_never_reaches_marts(company):
    text = " ".join(
        str(v)
        for (table,) in company.query(
            "select table_name from information_schema.tables where table_schema = 'marts'"
        )
        for row in company.query(f"select * from marts.{table}")
        for v in row
    )
    for secret in ("zhang.wei@example.com", "wang.fang@acme.example", "5555 0101", "王芳"):
        assert secret not in text


def test_names_in_any_script_pass_through(company):
    names = dict(company.query("select rep_id, rep_name from marts.dim_reps"))
    assert names["S1"] == "张伟"
    assert names["S2"] == 'Seán O\'Brien, "the closer"'
    assert (company.report_dir / "index.html").exists()


def test_dbt_unit_tests_of_every_formula_pass(company):
    """The dbt unit tests (hand-computed formula cases) against this company's build warehouse."""
    from tests.conftest import run_dbt

    result = run_dbt(company.build_db, company.root / "dbt_target", "test", "--select", "test_type:unit")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "PASS=" in result.stdout and " FAIL" not in result.stdout


def test_channel_revenue_growth_per_channel(company):
    # S1: January direct 1000 (O1), online 630 (O2); February direct -100 (the return of
    # a direct line): growth (-100 - 1000) / 1000 = -110%.
    rows = company.query(
        "select channel, period_start::varchar, revenue, previous_revenue, revenue_growth_pct "
        "from marts.kpi_rep_channel_period where rep_id = 'S1' and period_grain = 'month' order by all"
    )
    assert rows == [
        ("direct", JAN, _d(1000), None, None),
        ("direct", FEB, _d(-100), _d(1000), _d(-110)),
        ("online", JAN, _d(630), None, None),
    ]
