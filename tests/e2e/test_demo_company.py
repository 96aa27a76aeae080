"""`spm demo-data` then `spm run` through the console script, on a small generated company
in a temp folder, the way a user (or the outside check) runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.slow

SPM = str(Path(sys.executable).parent / "spm")
MARTS = {
    "dim_reps": ["rep_id", "version_number"],
    "fct_order_lines": ["order_line_id"],
    "fct_opportunities": ["opportunity_id"],
    "kpi_rep_period": ["rep_id", "kpi_code", "period_grain", "period_start"],
    "scorecard_rep_period": ["rep_id", "period_grain", "period_start"],
    "scorecard_team_period": ["team_id", "period_grain", "period_start"],
    "bonus_rep_period": ["rep_id", "period_grain", "period_start"],
    "target_recommendations": ["rep_id", "kpi_code", "period_grain", "period_start"],
    "review_360_rep_period": ["rep_id", "period_start"],
    "dq_rejected_rows": ["entity", "source_file", "row_number", "rule"],
}


def spm(args: list[str], env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        [SPM, *args], env={**os.environ, **env}, capture_output=True, text=True, check=check, timeout=600
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    env = {
        "SPM_LANDING_DIR": str(root / "landing"),
        "SPM_WAREHOUSE": str(root / "wh" / "spm.duckdb"),
        "SPM_REPORT_DIR": str(root / "report"),
    }
    spm(["demo-data", "--scale", "5000", "--seed", "7", "--as-of", "2026-06-30"], env)
    run = spm(["run"], env)
    con = duckdb.connect(env["SPM_WAREHOUSE"], read_only=True)
    yield root, env, run, con
    con.close()


def test_run_prints_top_ten_and_paths(demo):
    root, env, run, _ = demo
    assert "succeeded" in run.stdout
    assert "Top 10 of the month's scorecard, month starting 2026-06-01" in run.stdout
    assert env["SPM_WAREHOUSE"] in run.stdout and "index.html" in run.stdout
    assert (root / "report" / "index.html").exists()


@pytest.mark.parametrize("table", sorted(MARTS))
def test_every_mart_is_published_non_empty_with_unique_keys(demo, table):
    con = demo[3]
    assert con.execute(f"select count(*) from marts.{table}").fetchone()[0] > 0
    keys = ", ".join(MARTS[table])
    dupes = con.execute(
        f"select count(*) from (select {keys} from marts.{table} group by all having count(*) > 1)"
    ).fetchone()[0]
    assert dupes == 0


def test_month_and_quarter_are_scored(demo):
    con = demo[3]
    grains = dict(
        con.execute(
            "select period_grain, count(*) from marts.scorecard_rep_period "
            "where composite_score is not null group by 1"
        ).fetchall()
    )
    assert grains.get("month", 0) > 0 and grains.get("quarter", 0) > 0
    assert dict(
        con.execute("select period_grain, count(*) from marts.bonus_rep_period group by 1").fetchall()
    ).keys() >= {
        "month",
        "quarter",
    }


def test_scoring_invariants(demo):
    con = demo[3]
    # Role weights of every scored rep-period add to 100.
    assert con.execute(
        "select count(*) from (select rep_id, period_grain, period_start, sum(effective_weight_pct) w "
        "from marts.kpi_rep_period where is_scored group by all) where abs(w - 100) > 0.001"
    ).fetchone() == (0,)
    # Composite = sum of weighted attainments (less minor-violation points).
    assert con.execute(
        """
        select count(*) from marts.scorecard_rep_period s
        join (select rep_id, period_grain, period_start, sum(weighted_score) as total
              from marts.kpi_rep_period group by all) k using (rep_id, period_grain, period_start)
        where s.composite_score is not null
          and s.composite_score <> greatest(0, k.total - s.minor_deduction_points)
        """
    ).fetchone() == (0,)
    # Payouts are never negative and equal max(0, bonus - penalties - clawbacks).
    assert con.execute(
        "select count(*) from marts.bonus_rep_period where payout_amount < 0 "
        "or payout_amount <> greatest(0, bonus_amount - penalty_amount - clawback_amount)"
    ).fetchone() == (0,)
    # The generator's red-line penalty is larger than a bonus: something is carried over.
    assert con.execute("select sum(carried_out_amount) from marts.bonus_rep_period").fetchone()[0] > 0
    # Rankings and coaching mean something.
    assert (
        con.execute(
            "select count(distinct rep_id) from marts.scorecard_rep_period where coaching_flag"
        ).fetchone()[0]
        > 0
    )


def test_injected_defects_are_rejected_and_listed(demo):
    root, _, _, con = demo
    defects = duckdb.sql(
        "select entity, source_file, row_number, defect "
        f"from read_csv('{root}/landing/_defects/defects.csv') "
        "where defect <> 'late_file'"
    ).fetchall()
    rejected = {
        (entity, file.split("/")[-1], row)
        for entity, file, row in con.execute(
            "select entity, source_file, row_number from marts.dq_rejected_rows"
        ).fetchall()
    }
    missing = [d for d in defects if (d[0], d[1], d[2]) not in rejected]
    assert defects and not missing
    # Late files are good data: their orders are in the facts.
    late = duckdb.sql(
        f"select key from read_csv('{root}/landing/_defects/defects.csv') "
        "where defect = 'late_file' and entity = 'orders/orders'"
    ).fetchall()
    found = con.execute(
        "select count(distinct order_id) from marts.fct_order_lines where order_id in "
        f"({', '.join(repr(k) for (k,) in late)})"
    ).fetchone()[0]
    assert late and found == len(late)


def test_a_second_run_with_nothing_new_changes_nothing(demo):
    _, env, _, con = demo
    before = con.execute("select sum(payout_amount), count(*) from marts.bonus_rep_period").fetchall()
    again = spm(["run"], env)
    assert "succeeded" in again.stdout
    con2 = duckdb.connect(env["SPM_WAREHOUSE"], read_only=True)
    try:
        assert (
            con2.execute("select sum(payout_amount), count(*) from marts.bonus_rep_period").fetchall()
            == before
        )
    finally:
        con2.close()


def test_an_invalid_plan_fails_the_run_and_keeps_the_published_state(demo, tmp_path):
    _, env, _, _ = demo
    bad = tmp_path / "plan.yml"
    from ingestion.plan import DEFAULT_PLAN

    bad.write_text(DEFAULT_PLAN.read_text().replace("revenue: 60,", "revenue: 70,"))
    stamp = Path(env["SPM_WAREHOUSE"]).stat().st_mtime_ns
    failed = spm(["run"], {**env, "SPM_PLAN": str(bad)}, check=False)
    assert failed.returncode != 0
    assert "roles.sales.weights: add up to 110, must add up to 100" in failed.stderr
    assert Path(env["SPM_WAREHOUSE"]).stat().st_mtime_ns == stamp
