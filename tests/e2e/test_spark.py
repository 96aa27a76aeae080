"""The Spark target: the hand-made company (plus a few bad rows) run through dbt-spark
(method session, a local pyspark) publishes the same numbers as the DuckDB target.

One Spark session for the module: the pipeline's one `dbt build` on SPM_DBT_TARGET=spark.
Everything else reads Spark's Parquet files with DuckDB (orchestration/spark.py)."""

from __future__ import annotations

import datetime as dt
import importlib.util
import shutil
import subprocess
from decimal import Decimal

import pytest

from tests.conftest import (
    comparable_rows,
    handmade_landing_with_bad_rows,
    make_company,
    need_service,
    run_dbt,
)

pytestmark = [pytest.mark.spark, pytest.mark.slow]

# Differ between two runs by construction (run ids, load-time batch ids and stamps).
RUN_COLUMNS = {"run_id", "source_batches", "batch_id", "rejected_at"}
# Small data: Spark's code generation and the JIT's second tier cost more than they save.
SMALL_SPARK = {
    "SPM_SPARK_CODEGEN": "false",
    "SPM_SPARK_JAVA_OPTIONS": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
}


def _java_runs() -> bool:
    java = shutil.which("java")
    if java is None:
        return False
    try:
        return subprocess.run([java, "-version"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


java_available = _java_runs()
pyspark_installed = all(importlib.util.find_spec(m) is not None for m in ("pyspark", "dbt.adapters.spark"))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """(DuckDB reference, Spark-target company).

    The whole pipeline runs on the Spark target; the reference is dbt on the DuckDB target
    over a copy of the same build file (the one loader's raw and plan tables), published
    as the DuckDB target publishes: same batches, same numbers expected, and no second
    pipeline run in a module that must stay under four minutes."""
    need_service(java_available, "Java for Spark")
    need_service(pyspark_installed, "pyspark and dbt-spark (pip install -e '.[spark]')")
    root = tmp_path_factory.mktemp("handmade-spark")
    spark = make_company(root, handmade_landing_with_bad_rows(root))
    mp = pytest.MonkeyPatch()
    mp.setenv("SPM_DBT_TARGET", "spark")
    mp.delenv("SPM_SPARK_DIR", raising=False)  # beside the build file, in tmp
    for key, value in SMALL_SPARK.items():
        mp.setenv(key, value)
    try:
        outcome = spark.run(mp)
    finally:
        mp.undo()
    assert outcome.success, outcome.errors
    return _duckdb_reference(tmp_path_factory.mktemp("handmade-duckdb"), spark), spark


def _duckdb_reference(root, spark):
    from orchestration.publish import publish_duckdb

    duck = make_company(root)
    duck.build_db.parent.mkdir(parents=True)
    shutil.copyfile(spark.build_db, duck.build_db)
    result = run_dbt(
        duck.build_db, root / "dbt_target",
        "build", "--exclude-resource-type", "unit_test", "--vars", '{"run_id": "duckdb-reference"}',
        "--log-path", str(root / "dbt_logs"),
        timeout=600, SPM_DBT_TARGET="duckdb", SPM_TIMEZONE="Asia/Shanghai",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:]
    publish_duckdb(duck.build_db, duck.warehouse, "duckdb-reference")
    return duck


def _columns(company, table):
    return company.query(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = 'marts' and table_name = ? order by ordinal_position",
        [table],
    )


def test_marts_equal_the_duckdb_target(runs):
    duck, spark = runs
    tables = [
        r[0]
        for r in duck.query(
            "select table_name from information_schema.tables "
            "where table_schema = 'marts' and not starts_with(table_name, '_') order by 1"
        )
    ]
    assert {"kpi_rep_period", "scorecard_rep_period", "bonus_rep_period", "dq_rejected_rows"} <= set(tables)
    for table in tables:
        # Same columns, order and contract types in both published files.
        assert _columns(spark, table) == _columns(duck, table), table
        columns = [c for c, _ in _columns(duck, table) if c not in RUN_COLUMNS]
        select = f"select {', '.join(columns)} from marts.{table}"
        expected = comparable_rows(duck.query(select))
        actual = comparable_rows(spark.query(select))
        assert len(actual) == len(expected), table
        for exp, act in zip(expected, actual, strict=True):
            assert act == exp, f"marts.{table}: {dict(zip(columns, act, strict=True))} != {exp}"


def test_hand_computed_bonus_on_spark(runs):
    _duck, spark = runs
    rows = spark.query(
        "select rep_id, period_start, tier, coefficient, payout_amount, carried_out_amount, plan_version "
        "from marts.bonus_rep_period order by period_start, rep_id"
    )
    jan, feb = dt.date(2026, 1, 1), dt.date(2026, 2, 1)
    assert [r[:6] for r in rows] == [
        ("K1", jan, "on_track", Decimal("1.2"), Decimal(3600), Decimal(0)),
        ("M1", jan, "achieved", Decimal("1.5"), Decimal(12000), Decimal(0)),
        ("S1", jan, "on_track", Decimal("1.2"), Decimal(6000), Decimal(0)),
        ("S2", jan, "on_track", Decimal("1.2"), Decimal(0), Decimal(1200)),
        ("S3", jan, "below_threshold", Decimal(0), Decimal(0), Decimal(0)),
        ("S2", feb, "outstanding", Decimal("1.8"), Decimal(6000), Decimal(0)),
    ]
    assert {r[6] for r in rows} == {"2026.1"}


def test_bad_values_become_rejects_not_errors(runs):
    _duck, spark = runs
    rejects = dict(
        spark.query("select record_key, rule from marts.dq_rejected_rows where entity = 'hr/training'")
    )
    assert "TRX1" in rejects  # 'lots' hours: rejected by a row rule, not a failed build
    assert "TRX2" not in rejects  # 1.5e1 = 15 hours on both engines


def test_published_copy_comes_from_spark(runs):
    from orchestration.spark import spark_dir

    _duck, spark = runs
    assert spark.query("select source from marts._publish_info") == [("spark",)]
    assert (spark.report_dir / "index.html").exists()
    tables = spark_dir(spark.build_db) / "warehouse" / "marts.db"
    # Frozen marts are partitioned by period on Spark: closed periods are folders left alone.
    for table in ("kpi_rep_period", "scorecard_rep_period", "bonus_rep_period"):
        (rows,) = spark.query(f"select count(*) from marts.{table} where period_grain = 'month'")[0]
        files = list((tables / table / "period_grain=month").glob("period_start=*/*.parquet"))
        assert rows and files, table
        assert list((tables / table / "period_grain=month").glob("period_start=2026-01-01/*.parquet"))
    assert not (tables / "dim_reps" / "period_grain=month").exists()


def test_source_copy_is_incremental(runs):
    import duckdb

    from orchestration.spark import export_for_spark, spark_dir

    _duck, spark = runs
    target = spark_dir(spark.build_db)
    again = export_for_spark(spark.build_db, target, timezone="Asia/Shanghai")
    assert (again.new_batches, again.removed_batches, sum(again.rows_copied.values())) == (0, 0, 0)
    con = duckdb.connect()
    try:
        con.execute(f"attach '{spark.build_db}' as build (read_only)")
        for table in ("crm__reps", "orders__order_lines", "hr__training", "_batches"):
            (n,) = con.execute(f"select count(*) from build.raw.{table}").fetchone()
            folder = target / "source" / f"raw.{table}"
            assert con.execute(f"select count(*) from read_parquet('{folder}/*.parquet')").fetchone() == (n,)
    finally:
        con.close()


def test_close_period_freezes_the_spark_partition(runs, monkeypatch):
    """Last in the module: it closes January on the Spark company. The next Spark run then
    leaves the partition alone (checked by hand: late return -> February clawback, as in
    tests/e2e/test_close_period.py; a second Spark session would not fit this module)."""
    from orchestration.periods import close_period
    from orchestration.settings import Settings
    from orchestration.spark import spark_dir

    _duck, spark = runs
    for key, value in spark.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("SPM_DBT_TARGET", "spark")
    monkeypatch.delenv("SPM_SPARK_DIR", raising=False)
    monkeypatch.delenv("SPM_BUILD_DB", raising=False)
    query = (
        "select * exclude (is_closed, run_id) from marts.bonus_rep_period "
        "where period_grain = 'month' and period_start = '2026-01-01' order by all"
    )
    before = spark.query(query)
    result = close_period(Settings.from_env(), "Asia/Shanghai", "month", dt.date(2026, 1, 1))
    assert result.rows["bonus_rep_period"] == 5
    assert result.payout_by_currency == {"CNY": 3600 + 12000 + 6000 + 0 + 0}
    assert spark.query(query) == before
    assert spark.query(
        "select bool_and(is_closed) from marts.bonus_rep_period where period_start = '2026-01-01'"
    ) == [(True,)]
    assert spark.query("select source from marts._publish_info") == [("spark",)]
    partition = (
        spark_dir(spark.build_db)
        / "warehouse/marts.db/bonus_rep_period/period_grain=month/period_start=2026-01-01"
    )
    assert [p.name for p in partition.glob("*.parquet")] == ["part-00000-frozen.c000.snappy.parquet"]
