"""Which tables and batches go from the DuckDB build file to another engine
(orchestration/mirror.py), DuckDB only: the writers are tested in test_spark_copy.py
(Parquet) and tests/e2e/test_postgres_warehouse.py (PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from orchestration.mirror import (
    BatchDiff,
    CopyPlan,
    CopyResult,
    MirrorSource,
    SourceTable,
    TableCopy,
    diff_batches,
)


def _build(path: Path) -> Path:
    """Two loaded batches of reps, one of training (b3, not in raw._batches), a plan
    table, an empty control table."""
    con = duckdb.connect(str(path))
    con.execute("create schema raw; create schema plan; create schema staging")
    con.execute("create table raw._batches (batch_id varchar, entity varchar, loaded_at timestamp)")
    con.execute("create table raw.crm__reps (rep_id varchar, _batch_id varchar, _loaded_at timestamp)")
    con.execute("create table raw.hr__training (training_id varchar, hours decimal(10, 2), _batch_id text)")
    con.execute("create table raw._closed_periods (period_grain varchar, period_start date)")
    con.execute("create table plan.kpis (kpi_code varchar, cap_pct double)")
    con.execute("create table staging.stg_x (x int, _batch_id varchar)")  # not copied
    con.execute(
        "insert into raw._batches values ('b1', 'crm/reps', '2026-01-05 08:00:00'), "
        "('b2', 'crm/reps', '2026-01-06 09:30:00')"
    )
    con.execute(
        "insert into raw.crm__reps values ('S1', 'b1', '2026-01-05 08:00:00'), "
        "('S2', 'b1', '2026-01-05 08:00:00'), ('S1', 'b2', '2026-01-06 09:30:00')"
    )
    con.execute("insert into raw.hr__training values ('T1', 2, 'b3')")
    con.execute("insert into plan.kpis values ('revenue', 150)")
    con.close()
    return path


@pytest.fixture
def build(tmp_path) -> Path:
    return _build(tmp_path / "build.duckdb")


def _steps(plan: CopyPlan) -> dict[str, TableCopy]:
    return {step.table.key: step for step in plan.tables}


def test_lists_raw_and_plan_tables_with_columns_in_order(build):
    with MirrorSource(build) as source:
        tables = source.tables
    assert [t.key for t in tables] == [
        "plan.kpis",
        "raw._batches",
        "raw._closed_periods",
        "raw.crm__reps",
        "raw.hr__training",
    ]
    reps = tables[3]
    assert reps == SourceTable(
        "raw", "crm__reps", (("rep_id", "VARCHAR"), ("_batch_id", "VARCHAR"), ("_loaded_at", "TIMESTAMP"))
    )
    assert reps.relation == "build.raw.crm__reps"
    assert reps.column_names == ["rep_id", "_batch_id", "_loaded_at"]
    assert tables[4].columns[1] == ("hours", "DECIMAL(10,2)")
    # Raw entity tables travel by batch; control and plan tables do not.
    assert [t.name for t in tables if t.by_batch] == ["crm__reps", "hr__training"]


def test_needs_a_loaded_build_file_and_releases_it(tmp_path):
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    with pytest.raises(RuntimeError, match=r"no raw\._batches table, nothing loaded yet"):
        MirrorSource(empty).__enter__()
    # Nothing holds the file after the error (nor after a normal exit): a writer may open it.
    duckdb.connect(str(empty)).close()


def test_reads_the_build_file_read_only_in_the_given_time_zone(build):
    with MirrorSource(build, timezone="Asia/Shanghai") as source:
        duck = source.duck
        assert duck.execute("select current_setting('TimeZone')").fetchone() == ("Asia/Shanghai",)
        with pytest.raises(duckdb.Error, match="read-only"):
            duck.execute("delete from build.plan.kpis")
    assert source.duck is None
    duckdb.connect(str(build)).close()  # released


def test_batch_ids_of_the_build_file_or_of_a_table(build):
    with MirrorSource(build) as source:
        reps, training = (t for t in source.tables if t.by_batch)
        assert source.batch_ids() == {"b1", "b2"}
        assert source.batch_ids(reps) == {"b1", "b2"}
        assert source.batch_ids(training) == {"b3"}


def test_diff_batches():
    assert diff_batches(["b2", "b1", "b3"], ["b0", "b2"]) == BatchDiff(new=("b1", "b3"), stale=("b0",))
    assert diff_batches(["b1"], ["b1"]) == BatchDiff()
    # The destination names batches its own way: new batches are ids, in name order;
    # stale ones are the destination's names.
    diff = diff_batches(["b:2", "a:9", "b:1"], {"b_1.f", "old.f"}, name=lambda b: b.replace(":", "_") + ".f")
    assert diff == BatchDiff(new=("a:9", "b:2"), stale=("old.f",))


def test_plan_against_one_batch_list(build):
    """PostgreSQL: raw._batches decides, one diff for raw._batches and every raw entity table."""
    with MirrorSource(build) as source:
        plan = source.plan({"b1", "b0"})
        assert [step.table for step in plan.tables] == list(source.tables)  # every table, in order
    diff = BatchDiff(new=("b2",), stale=("b0",))
    assert plan.batches == diff
    assert (plan.new_batches, plan.removed_batches) == (1, 1)
    steps = _steps(plan)
    assert {key: (s.batches, s.batch_column) for key, s in steps.items()} == {
        "plan.kpis": (None, None),
        "raw._batches": (diff, "batch_id"),
        "raw._closed_periods": (None, None),
        "raw.crm__reps": (diff, "_batch_id"),
        # b3 is not in raw._batches: not a batch of this plan.
        "raw.hr__training": (diff, "_batch_id"),
    }

    with MirrorSource(build) as source:
        level = source.plan(["b1", "b2"])
        fresh = source.plan([])
    assert level.batches == BatchDiff()
    assert (level.new_batches, level.removed_batches) == (0, 0)
    assert fresh.batches == BatchDiff(new=("b1", "b2"))


def test_plan_per_table(build):
    """Spark: each raw entity table's own batches against what the destination holds of
    that table, in the destination's names; everything else, raw._batches too, whole."""
    held = {"raw.crm__reps": {"batch-b1", "batch-b9"}, "raw.hr__training": set()}
    asked = []

    def holds(table: SourceTable) -> set[str]:
        asked.append(table.key)
        return held[table.key]

    with MirrorSource(build) as source:
        plan = source.plan_per_table(holds, name=lambda b: f"batch-{b}")
    assert asked == ["raw.crm__reps", "raw.hr__training"]
    assert plan.batches is None
    steps = _steps(plan)
    assert {key: (s.batches, s.batch_column) for key, s in steps.items()} == {
        "plan.kpis": (None, None),
        "raw._batches": (None, None),
        "raw._closed_periods": (None, None),
        "raw.crm__reps": (BatchDiff(new=("b2",), stale=("batch-b9",)), "_batch_id"),
        "raw.hr__training": (BatchDiff(new=("b3",)), "_batch_id"),
    }
    # Counted over the tables: a batch of two tables counts twice.
    assert (plan.new_batches, plan.removed_batches) == (2, 1)


def test_plan_follows_the_build_file(build):
    con = duckdb.connect(str(build))
    con.execute("drop table plan.kpis")
    con.execute("alter table raw.crm__reps add column region varchar")
    con.execute("delete from raw.crm__reps where _batch_id = 'b1'")
    con.close()
    with MirrorSource(build) as source:
        plan = source.plan_per_table(lambda table: {"b1", "b2"})
    steps = _steps(plan)
    assert "plan.kpis" not in steps
    assert steps["raw.crm__reps"].table.column_names[-1] == "region"
    assert steps["raw.crm__reps"].batches == BatchDiff(stale=("b1",))


def test_result_summary_names_the_engine():
    class Result(CopyResult):
        label = "Test copy"

    result = Result(2, 1, rows_copied={"a": 3, "b": 4}, tables_replaced=["plan.x"])
    assert result.summary() == (
        "Test copy: 2 new batch(es), 7 raw row(s) copied, 1 batch(es) removed, 1 table(s) replaced"
    )


def test_engine_results_keep_their_fields_and_summaries():
    from orchestration.postgres import MirrorResult
    from orchestration.spark import ExportResult

    pg = MirrorResult(1, 0, {"crm__reps": 5}, ["plan.kpis"], ["bi_reader"])
    assert pg.roles_created == ["bi_reader"]
    assert pg.summary() == (
        "PostgreSQL mirror: 1 new batch(es), 5 raw row(s) copied, 0 batch(es) removed, 1 table(s) replaced"
    )
    assert ExportResult().summary() == (
        "Spark source copy: 0 new batch(es), 0 raw row(s) copied, 0 batch(es) removed, 0 table(s) replaced"
    )
