"""Faults, on the hand-made company delivered in two drops:

1. the first drop lacks a February order (and its line) of S2: run A publishes it;
2. the late order arrives with two re-sent files (a byte-identical copy, and the same
   rows with CRLF line ends); run B (`spm run`) is killed with SIGKILL in the middle of
   dbt: the published warehouse is exactly run A's;
3. with a BI connection holding the published file open, run C completes, the reader
   keeps run A's snapshot, and a new reader sees the same numbers as one clean run of the
   whole company: the late rows were picked up, the re-sent rows changed nothing. Run C
   records its events in a Dagster instance on disk (DAGSTER_HOME with the repo's
   dagster.yaml), where two entities load at once as in an ephemeral one.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from tests.conftest import FIXTURES, make_company
from tests.e2e.test_data_quality import CLEAN_REPS, snapshot
from tests.e2e.test_parallel_ingest import INGEST_STEPS, overlapping_pairs

pytestmark = pytest.mark.slow

SPM = str(Path(sys.executable).parent / "spm")
REPO = Path(__file__).resolve().parents[2]
COMPARED = [
    ("bonus_rep_period", "true"),
    ("kpi_rep_period", "true"),
    ("scorecard_rep_period", "true"),
    ("fct_order_lines", "true"),
]
LATE_ORDER, LATE_LINE = "O6,", "OL6,"


def _split(path: Path, prefix: str) -> str:
    """Remove the line starting with `prefix` from a CSV; return header + that line."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    late = [line for line in lines if line.startswith(prefix)]
    path.write_text("".join(line for line in lines if not line.startswith(prefix)), encoding="utf-8")
    assert len(late) == 1
    return lines[0] + late[0]


def _env(company) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPM_", "DAGSTER_HOME"))}
    return {**env, **company.env()}


def _snapshots(company) -> dict[str, list]:
    return {table: snapshot(company, table, where) for table, where in COMPARED}


@pytest.fixture(scope="module")
def story(tmp_path_factory):
    company = make_company(tmp_path_factory.mktemp("faults"), FIXTURES / "handmade")
    landing = company.landing
    late_order = _split(landing / "orders/orders/orders.csv", LATE_ORDER)
    late_line = _split(landing / "orders/order_lines/order_lines.csv", LATE_LINE)

    mp = pytest.MonkeyPatch()
    run_a = company.run(mp)
    mp.undo()
    assert run_a.success, run_a.errors
    after_a = _snapshots(company)
    stamp_a = company.warehouse.stat().st_mtime_ns

    # the second drop: the late order and line, and two re-sent files
    (landing / "orders/orders/orders_late.csv").write_text(late_order, encoding="utf-8")
    (landing / "orders/order_lines/order_lines_late.csv").write_text(late_line, encoding="utf-8")
    reps = landing / "crm/reps/reps.csv"
    (landing / "crm/reps/reps_resent_copy.csv").write_bytes(reps.read_bytes())
    responses = (landing / "surveys/responses/responses.csv").read_text(encoding="utf-8")
    (landing / "surveys/responses/responses_resent_crlf.csv").write_bytes(
        responses.replace("\n", "\r\n").encode("utf-8")
    )

    # run B: killed in the middle of dbt
    logs = company.warehouse.parent / "logs"
    proc = subprocess.Popen(
        [SPM, "run"],
        env=_env(company),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    killed_mid_dbt = False
    deadline = time.monotonic() + 300
    while proc.poll() is None and time.monotonic() < deadline:
        text = "".join(p.read_text(errors="replace") for p in logs.glob("run-*.log")) if logs.exists() else ""
        if "START sql table model intermediate" in text:
            time.sleep(2)
            killed_mid_dbt = proc.poll() is None
            os.killpg(proc.pid, signal.SIGKILL)  # the run and its dbt child, as a machine crash would
            break
        time.sleep(0.2)
    proc.wait(timeout=60)
    after_b = _snapshots(company)
    stamp_b = company.warehouse.stat().st_mtime_ns

    # run C, with a BI reader holding the published file open across the run, and a Dagster
    # instance on disk with the repo's dagster.yaml (as `make dev` and the daemon have it)
    dagster_home = company.root / "dagster_home"
    dagster_home.mkdir()
    shutil.copy(REPO / "dagster.yaml", dagster_home / "dagster.yaml")
    reader = duckdb.connect(str(company.warehouse), read_only=True)
    held = reader.execute("select sum(payout_amount), count(*) from marts.bonus_rep_period").fetchall()
    run_c = subprocess.run(
        [SPM, "run"],
        env={**_env(company), "DAGSTER_HOME": str(dagster_home)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    held_after = reader.execute("select sum(payout_amount), count(*) from marts.bonus_rep_period").fetchall()
    reader.close()
    yield {
        "company": company,
        "after_a": after_a,
        "killed_mid_dbt": killed_mid_dbt,
        "returncode_b": proc.returncode,
        "stamps": (stamp_a, stamp_b),
        "after_b": after_b,
        "run_c": run_c,
        "held": (held, held_after),
        "dagster_home": dagster_home,
    }


def test_the_late_order_mattered(story, handmade_run):
    """Run A, without the late order, scored S2's February differently from a clean run."""
    clean = handmade_run
    assert story["after_a"]["kpi_rep_period"] != snapshot(clean, "kpi_rep_period")
    assert story["after_a"]["bonus_rep_period"] != snapshot(clean, "bonus_rep_period")


def test_a_run_killed_mid_dbt_leaves_the_published_warehouse_as_it_was(story):
    assert story["killed_mid_dbt"], "the run ended before dbt started building: nothing was killed"
    assert story["returncode_b"] == -signal.SIGKILL
    stamp_a, stamp_b = story["stamps"]
    assert stamp_b == stamp_a
    assert story["after_b"] == story["after_a"]


def test_a_bi_reader_does_not_stop_the_next_run_and_keeps_its_snapshot(story):
    run_c = story["run_c"]
    assert run_c.returncode == 0, run_c.stderr[-3000:]
    held, held_after = story["held"]
    assert held_after == held
    assert story["company"].warehouse.stat().st_mtime_ns != story["stamps"][0]


def test_the_next_run_equals_a_clean_run_late_rows_in_resent_rows_ignored(story, handmade_run):
    clean = handmade_run
    company = story["company"]
    for table, where in COMPARED:
        assert snapshot(company, table, where) == snapshot(clean, table, where), table
    assert company.query(
        "select count(distinct order_id) from marts.fct_order_lines where order_id = 'O6'"
    ) == [(1,)]
    # the CRLF copy of the responses: every row dropped once as an exact duplicate
    dropped = company.query("select rule, count(*) from marts.dq_rejected_rows group by rule order by rule")
    assert dropped == [("exact_duplicate", 9)]
    bonus = dict(company.query("select rep_id, sum(payout_amount) from marts.bonus_rep_period group by 1"))
    assert set(bonus) == set(CLEAN_REPS)


def test_a_run_on_an_instance_on_disk_loads_two_entities_at_once(story):
    """Run C's events, in its DAGSTER_HOME (SQLite storage, the warehouse pool's limit of
    dagster.yaml): steps ran side by side there too, and the run succeeded."""
    import dagster as dg
    from dagster._core.instance.ref import InstanceRef

    from orchestration.runner import _step_windows

    instance = dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(story["dagster_home"])))
    try:
        (run,) = instance.get_runs()
        windows = _step_windows(instance, run.run_id)
    finally:
        instance.dispose()
    assert run.status == dg.DagsterRunStatus.SUCCESS
    overlapping = overlapping_pairs(windows)
    assert overlapping
    assert {k for pair in overlapping for k in pair} <= INGEST_STEPS
