"""The two real public exports (shared/datasets) through the importers and the whole
pipeline, once for the module, base currency USD; published figures are compared with
a direct computation on the raw files (pandas + Decimal, not the importers' code)."""

from __future__ import annotations

import os
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.slow

DATASETS = Path(
    os.environ.get("SPM_DATASETS_DIR") or Path(__file__).resolve().parents[3] / "shared" / "datasets"
)
MAVEN = DATASETS / "maven-crm"
SUPERSTORE = DATASETS / "superstore" / "superstore_orders.csv"
CENT = Decimal("0.01")
# KPI actuals are decimals: money compares to the cent (relative slack only for ratios).
FLOAT32_EPS = Decimal(10) ** -12


def _close(published: dict, expected: dict) -> list:
    """Keys whose values differ by more than float32 rounding (or are missing)."""
    bad = [k for k in expected if k not in published]
    bad += [
        k
        for k, v in expected.items()
        if k in published and abs(Decimal(published[k]) - v) > abs(v) * FLOAT32_EPS + CENT / 100
    ]
    return bad + [k for k in published if k not in expected]


def _cents(value: str) -> Decimal:
    return Decimal(value).quantize(CENT, ROUND_HALF_UP)


def _quarter(day: pd.Series) -> pd.Series:
    return day.dt.to_period("Q").dt.start_time.dt.date


@pytest.fixture(scope="module")
def company(tmp_path_factory):
    from ingestion.importers.maven_crm import import_maven_crm
    from ingestion.importers.superstore import import_superstore
    from orchestration.runner import run_pipeline
    from tests.conftest import make_company, need_service

    # CI (SPM_REQUIRE_SERVICES=1) fails rather than skips when shared/datasets is missing.
    need_service(
        (MAVEN / "sales_pipeline.csv").is_file() and SUPERSTORE.is_file(),
        f"the real exports under {DATASETS} (set SPM_DATASETS_DIR)",
    )

    c = make_company(tmp_path_factory.mktemp("real_exports"))
    c.maven = import_maven_crm(MAVEN, c.landing)
    c.superstore = import_superstore(SUPERSTORE, c.landing)
    # Company.run clears SPM_BASE_CURRENCY; these exports are in USD, so set it here.
    mp = pytest.MonkeyPatch()
    try:
        for key, value in c.env().items():
            mp.setenv(key, value)
        for key in ("SPM_BUILD_DB", "SPM_PLAN", "SPM_TIMEZONE", "SPM_LANG"):
            mp.delenv(key, raising=False)
        mp.setenv("SPM_BASE_CURRENCY", "USD")
        outcome = run_pipeline()
    finally:
        mp.undo()
    assert outcome.success, outcome.errors
    return c


@pytest.fixture(scope="module")
def pipeline_raw():
    return pd.read_csv(MAVEN / "sales_pipeline.csv", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def superstore_raw():
    frame = pd.read_csv(SUPERSTORE, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    frame["quarter"] = _quarter(pd.to_datetime(frame["Order Date"], format="%m/%d/%Y"))
    return frame


def test_every_row_published_nothing_rejected(company):
    assert company.query("select count(*) from marts.fct_opportunities") == [(8800,)]
    assert company.query(
        "select count(*) from marts.fct_order_lines l join marts.dim_reps r "
        "on r.rep_id = l.rep_id and r.is_current where r.rep_id like 'SS-%'"
    ) == [(9994,)]
    assert company.query("select count(*) from marts.fct_order_lines where rep_id like 'MV-%'") == [(4238,)]
    assert company.query("select count(*) from marts.dq_rejected_rows") == [(0,)]
    stages = dict(company.query("select stage, count(*) from marts.fct_opportunities group by stage"))
    assert stages == {
        "closed_won": 4238,
        "closed_lost": 2473,
        "engaging": 1589,
        "prospecting": 500,
    }
    # Open deals keep their row: no close date, created_at from the engage date or, for
    # prospecting deals without one, the export's as-of date.
    assert company.query(
        "select count(*), min(created_at)::date::varchar, max(created_at)::date::varchar "
        "from marts.fct_opportunities where stage = 'prospecting' and close_date is null"
    ) == [(500, "2017-12-31", "2017-12-31")]


def test_won_amount_and_win_rate_per_agent_and_quarter(company, pipeline_raw):
    raw = pipeline_raw
    closed = raw[raw["deal_stage"].isin(["Won", "Lost"])].copy()
    closed["quarter"] = _quarter(pd.to_datetime(closed["close_date"], format="%Y-%m-%d"))
    won_amount: dict[tuple, Decimal] = defaultdict(Decimal)
    won_count: dict[tuple, int] = defaultdict(int)
    closed_count: dict[tuple, int] = defaultdict(int)
    for agent, quarter, stage, value in closed[
        ["sales_agent", "quarter", "deal_stage", "close_value"]
    ].itertuples(index=False):
        closed_count[agent, quarter] += 1
        if stage == "Won":
            won_count[agent, quarter] += 1
            won_amount[agent, quarter] += Decimal(value)

    published_won = {
        (name, quarter): amount
        for name, quarter, amount in company.query(
            """
            select r.rep_name, date_trunc('quarter', o.close_date)::date, sum(o.amount_base)
            from marts.fct_opportunities o
            join marts.dim_reps r on r.rep_id = o.owner_rep_id and r.is_current
            where o.is_won group by all
            """
        )
    }
    assert published_won == dict(won_amount)
    assert len(published_won) >= 100

    revenue = {
        (name, start): value
        for name, start, value in company.query(
            """
            select r.rep_name, k.period_start, k.actual_value from marts.kpi_rep_period k
            join marts.dim_reps r on r.rep_id = k.rep_id and r.is_current
            where k.kpi_code = 'revenue' and k.period_grain = 'quarter' and k.rep_id like 'MV-%'
              and k.actual_value <> 0
            """
        )
    }
    assert not _close(revenue, dict(won_amount))

    win_rate = {
        (name, start): value
        for name, start, value in company.query(
            """
            select r.rep_name, k.period_start, k.actual_value from marts.kpi_rep_period k
            join marts.dim_reps r on r.rep_id = k.rep_id and r.is_current
            where k.kpi_code = 'win_rate_pct' and k.period_grain = 'quarter'
              and k.rep_id like 'MV-%' and k.actual_value is not null
            """
        )
    }
    expected = {key: Decimal(won_count[key] * 100) / Decimal(n) for key, n in closed_count.items()}
    assert set(win_rate) == set(expected)
    for key, value in expected.items():
        assert abs(Decimal(str(win_rate[key])) - value) < Decimal("0.0001"), key


def test_superstore_revenue_and_profit_per_quarter(company, superstore_raw):
    raw = superstore_raw
    sales: dict = defaultdict(Decimal)
    cost: dict = defaultdict(Decimal)
    profit_raw: dict = defaultdict(Decimal)
    for quarter, s, p in raw[["quarter", "Sales", "Profit"]].itertuples(index=False):
        sales[quarter] += _cents(s)
        cost[quarter] += _cents(str(Decimal(s) - Decimal(p)))
        profit_raw[quarter] += Decimal(p)

    kpis = defaultdict(dict)
    for code, start, value in company.query(
        """
        select kpi_code, period_start, sum(actual_value) from marts.kpi_rep_period
        where kpi_code in ('revenue', 'gross_profit') and period_grain = 'quarter'
          and rep_id like 'SS-%'
        group by all
        """
    ):
        kpis[code][start] = value
    assert len(sales) == 16  # 2016-2019
    assert not _close(kpis["revenue"], dict(sales))
    assert not _close(kpis["gross_profit"], {q: sales[q] - cost[q] for q in sales})
    # Against the file's own Profit: per line the pipeline rounds net and cost to the
    # cent separately, so a quarter can drift by at most a cent per line.
    lines_per_quarter = raw.groupby("quarter").size()
    for quarter, value in kpis["gross_profit"].items():
        drift = Decimal(int(lines_per_quarter[quarter])) * CENT + abs(value) * FLOAT32_EPS
        assert abs(value - profit_raw[quarter]) <= drift

    # Per line, to the cent: net = Sales, cost = Sales - Profit.
    published = {
        line_id: (net, cost_base)
        for line_id, net, cost_base in company.query(
            "select order_line_id, net_amount_base, cost_base from marts.fct_order_lines "
            "where rep_id like 'SS-%'"
        )
    }
    for row_id, s, p in raw[["Row ID", "Sales", "Profit"]].itertuples(index=False):
        assert published[row_id] == (_cents(s), _cents(str(Decimal(s) - Decimal(p)))), row_id


def test_kpi_money_is_exact_to_the_cent(company, superstore_raw):
    sales: dict = defaultdict(Decimal)
    for quarter, s in superstore_raw[["quarter", "Sales"]].itertuples(index=False):
        sales[quarter] += _cents(s)
    published = dict(
        company.query(
            "select period_start, sum(actual_value) from marts.kpi_rep_period "
            "where kpi_code = 'revenue' and period_grain = 'quarter' and rep_id like 'SS-%' "
            "group by all"
        )
    )
    assert published == dict(sales)


def test_region_reps_and_hierarchy(company):
    reps = dict(
        company.query("select region, rep_name from marts.dim_reps where rep_id like 'SS-%' and is_current")
    )
    assert reps == {
        "Central": "Kelly Williams",
        "East": "Chuck Magee",
        "South": "Cassandra Brandow",
        "West": "Anna Andreadi",
    }
    roles = dict(
        company.query(
            "select role, count(*) from marts.dim_reps where rep_id like 'MV-%' and is_current group by role"
        )
    )
    assert roles == {"sales": 35, "manager": 6}
    channels = {
        row[0]
        for row in company.query(
            "select distinct channel from marts.fct_order_lines where rep_id like 'SS-%'"
        )
    }
    assert channels == {"standard_class", "second_class", "first_class", "same_day"}
