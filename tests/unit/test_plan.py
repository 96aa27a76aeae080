from __future__ import annotations

import copy
from pathlib import Path

import duckdb
import pytest
import yaml

from ingestion.plan import DEFAULT_PLAN, PlanError, load_plan, validate_plan_dict, write_plan_tables


@pytest.fixture
def plan_dict() -> dict:
    return yaml.safe_load(DEFAULT_PLAN.read_text())


def test_default_plan_is_valid_and_weights_add_to_100(plan_dict):
    assert validate_plan_dict(plan_dict) == []
    plan = load_plan()
    assert plan.role_weights["sales"] == {"revenue": 60, "csat_pct": 20, "market_feedback": 20}
    for role, weights in plan.role_weights.items():
        assert sum(weights.values()) == pytest.approx(100), role
    assert len(plan.kpis) == 20


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["roles"]["sales"]["weights"].update(revenue=70), "add up to 110"),
        (lambda d: d["roles"]["sales"]["weights"].update(no_such_kpi=0), "unknown KPI code"),
        (lambda d: d["kpis"]["revenue"].update(cap_pct=-1), "cap_pct"),
        (lambda d: d["bonus_tiers"][1].update(min_pct=70), "overlap"),
        (lambda d: d["bonus_tiers"][2].update(min_pct=105), "gap between 100 and 105"),
        (lambda d: d["bonus_tiers"][3].update(max_pct=200), "open-ended"),
        (lambda d: d["review_360_weights"].update(self=20), "add up to 110"),
        (lambda d: d.update(version=""), "version"),
        (lambda d: d.update(missing_target="guess"), "missing_target"),
    ],
)
def test_invalid_plans_are_rejected_with_a_clear_message(plan_dict, mutate, message):
    bad = copy.deepcopy(plan_dict)
    mutate(bad)
    problems = validate_plan_dict(bad)
    assert any(message in p for p in problems), problems


def test_load_plan_lists_every_problem(tmp_path: Path, plan_dict):
    bad = copy.deepcopy(plan_dict)
    bad["roles"]["sales"]["weights"]["revenue"] = 50
    bad["roles"]["marketing"]["weights"]["bogus"] = 10
    path = tmp_path / "plan.yml"
    path.write_text(yaml.safe_dump(bad))
    with pytest.raises(PlanError) as err:
        load_plan(path)
    text = str(err.value)
    assert str(path) in text and "roles.sales.weights" in text and "bogus" in text


def test_settings_override_currency_and_time_zone():
    plan = load_plan(base_currency="usd", timezone="Europe/Berlin")
    assert (plan.base_currency, plan.timezone) == ("USD", "Europe/Berlin")


def test_plan_tables_hold_the_rules():
    con = duckdb.connect()
    write_plan_tables(con, load_plan())
    assert con.execute("select sum(weight_pct) from plan.role_weights where role = 'sales'").fetchone() == (
        100,
    )
    tiers = con.execute(
        "select tier, min_pct, max_pct, coefficient from plan.bonus_tiers order by min_pct"
    ).fetchall()
    assert tiers[0] == ("below_threshold", 0, 80, 0)
    assert tiers[-1] == ("outstanding", 120, None, 1.8)
    assert con.execute("select plan_version from plan.plan_info").fetchone() == ("2026.1",)
