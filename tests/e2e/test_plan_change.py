"""New plan rules rescore every open period without rebuilding the rows below them.

The hand-made company has run once with the default plan. Finance then moves weight
between the sales KPIs and raises a bonus tier's coefficient (a new plan version). The
next nightly run stays incremental for orders, activities and every other row, scores
every period again, and must publish exactly what a --full-refresh run with the new plan
publishes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
import yaml

from ingestion.plan import DEFAULT_PLAN
from tests.conftest import Company, copy_company, handmade_reference, mart_differences

pytestmark = pytest.mark.slow

NEW_VERSION = "2026.1-rescored"


def _new_plan(path: Path) -> Path:
    plan = yaml.safe_load(DEFAULT_PLAN.read_text(encoding="utf-8"))
    plan["version"] = NEW_VERSION
    plan["roles"]["sales"]["weights"] = {"revenue": 50, "csat_pct": 30, "market_feedback": 20}
    tier = next(t for t in plan["bonus_tiers"] if t["tier"] == "on_track")
    tier["coefficient"] = 1.3
    path.write_text(yaml.safe_dump(plan, sort_keys=False), encoding="utf-8")
    return path


def _run(company: Company, plan: Path, **kwargs):
    from orchestration.runner import run_pipeline

    mp = pytest.MonkeyPatch()
    try:
        company.use_env(mp)
        mp.setenv("SPM_PLAN", str(plan))
        outcome = run_pipeline(**kwargs)
    finally:
        mp.undo()
    assert outcome.success, outcome.errors
    return outcome


def _build_state(company: Company) -> dict:
    con = duckdb.connect(str(company.build_db), read_only=True)
    try:
        last = con.execute(
            "select full_refresh, succeeded from raw._dbt_builds order by started_at desc limit 1"
        ).fetchone()
        scope = con.execute("select full_refresh, all_periods from raw._run_scope").fetchone()
        periods = con.execute(
            "select (select count(*) from intermediate.int_scope__periods), "
            "(select count(*) from (select distinct period_grain, period_start "
            "from intermediate.int_calendar__date_periods))"
        ).fetchone()
        days = con.execute("select count(*) from intermediate.int_scope__days").fetchone()[0]
        return {"last_build": last, "scope": scope, "periods": periods, "scope_days": days}
    finally:
        con.close()


@pytest.fixture(scope="module")
def rescored_then_full(tmp_path_factory: pytest.TempPathFactory):
    reference = handmade_reference(tmp_path_factory)
    root = tmp_path_factory.mktemp("plan_change")
    company = copy_company(reference, root / "company")
    plan = _new_plan(root / "plan.yml")
    _run(company, plan, log_path=root / "rescored.log")
    state = _build_state(company)
    rescored = root / "rescored.duckdb"
    shutil.copy2(company.warehouse, rescored)
    _run(company, plan, full_refresh=True)
    full = root / "full.duckdb"
    shutil.copy2(company.warehouse, full)
    return reference, rescored, full, state


def test_the_run_after_a_plan_change_is_incremental_and_rescores_every_period(rescored_then_full):
    _, _, _, state = rescored_then_full
    assert state["last_build"] == (False, True)  # incremental, succeeded
    assert state["scope"] == (False, True)  # all_periods
    in_scope, every = state["periods"]
    assert in_scope == every > 0
    # the rows below the periods stayed incremental: only the night's days were recomputed
    assert state["scope_days"] <= 1


def test_rescored_marts_equal_a_full_rebuild_with_the_new_plan(rescored_then_full):
    _, rescored, full, _ = rescored_then_full
    differences = mart_differences(rescored, full)
    # every mart holds rows (the hand-made company has no rejected row)
    empty = [mart for mart, (total, _, _) in differences.items() if not total]
    assert empty == ["dq_rejected_rows"], differences
    assert {m: d for m, d in differences.items() if d[1] or d[2]} == {}


def test_the_new_rules_reached_scores_and_bonuses(rescored_then_full):
    reference, rescored, _, _ = rescored_then_full
    con = duckdb.connect()
    try:
        con.execute(f"attach '{reference.warehouse}' as before (read_only)")
        con.execute(f"attach '{rescored}' as after (read_only)")
        versions = con.execute("select distinct plan_version from after.marts.bonus_rep_period").fetchall()
        # a sales rep's revenue weighs 50 now, not 60
        weights = con.execute(
            "select distinct b.weight_pct, a.weight_pct from before.marts.kpi_rep_period as b "
            "inner join after.marts.kpi_rep_period as a using (rep_id, kpi_code, period_grain, period_start) "
            "where a.role = 'sales' and b.role = 'sales' and a.kpi_code = 'revenue'"
        ).fetchall()
    finally:
        con.close()
    assert versions == [(NEW_VERSION,)]
    assert weights == [(60, 50)]
