"""The PostgreSQL target: the hand-made company (plus a few bad rows) run into a real
PostgreSQL server publishes the same numbers as the DuckDB target; the read-only roles
see what they may and nothing else; personal data never reaches a mart."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from tests.conftest import comparable_rows, handmade_landing_with_bad_rows, make_company
from tests.postgres_fixture import postgres_server  # noqa: F401

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

DATABASE = "spm_e2e_pg"
# Differ between two runs by construction (run ids, load-time batch ids and stamps).
RUN_COLUMNS = {"run_id", "source_batches", "batch_id", "rejected_at"}


@pytest.fixture(scope="module")
def runs(tmp_path_factory, postgres_server):  # noqa: F811
    """(DuckDB-target company, PostgreSQL-target company, PostgreSQL DSN)."""
    dsn = postgres_server.create_database(DATABASE)
    out = {}
    for target in ("duckdb", "postgres"):
        root = tmp_path_factory.mktemp(f"handmade-{target}")
        company = make_company(root, handmade_landing_with_bad_rows(root))
        mp = pytest.MonkeyPatch()
        mp.setenv("SPM_DBT_TARGET", target)
        if target == "postgres":
            mp.setenv("SPM_PG_HOST", postgres_server.host)
            mp.setenv("SPM_PG_PORT", str(postgres_server.port))
            mp.setenv("SPM_PG_USER", postgres_server.user)
            mp.setenv("SPM_PG_PASSWORD", postgres_server.password or "")
            mp.setenv("SPM_PG_DATABASE", DATABASE)
        try:
            outcome = company.run(mp)
        finally:
            mp.undo()
        assert outcome.success, outcome.errors
        out[target] = company
    return out["duckdb"], out["postgres"], dsn


def _pg(dsn: str, sql: str, params=None, user: str | None = None) -> list[tuple]:
    import psycopg

    kwargs = {"user": user} if user else {}
    with psycopg.connect(dsn, autocommit=True, **kwargs) as con:
        cur = con.execute(sql, params)
        return cur.fetchall() if cur.description else []


def test_marts_equal_the_duckdb_target(runs):
    duck, _pg_company, dsn = runs
    tables = [
        r[0]
        for r in duck.query(
            "select table_name from information_schema.tables "
            "where table_schema = 'marts' and not starts_with(table_name, '_') order by 1"
        )
    ]
    assert {"kpi_rep_period", "scorecard_rep_period", "bonus_rep_period", "dq_rejected_rows"} <= set(tables)
    for table in tables:
        columns = [
            r[0]
            for r in duck.query(
                "select column_name from information_schema.columns "
                "where table_schema = 'marts' and table_name = ? order by ordinal_position",
                [table],
            )
            if r[0] not in RUN_COLUMNS
        ]
        select = f"select {', '.join(columns)} from marts.{table}"
        expected = comparable_rows(duck.query(select))
        actual = comparable_rows(_pg(dsn, select))
        assert len(actual) == len(expected), table
        for exp, act in zip(expected, actual, strict=True):
            assert act == exp, f"marts.{table}: {dict(zip(columns, act, strict=True))} != {exp}"


def test_hand_computed_bonus_on_postgres(runs):
    _duck, _pg_company, dsn = runs
    rows = _pg(
        dsn,
        "select rep_id, period_start, tier, coefficient, payout_amount, carried_out_amount, plan_version "
        "from marts.bonus_rep_period order by period_start, rep_id",
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
    _duck, _pg_company, dsn = runs
    rejects = dict(
        _pg(dsn, "select record_key, rule from marts.dq_rejected_rows where entity = 'hr/training'")
    )
    assert "TRX1" in rejects  # 'lots' hours: rejected by a row rule, not a failed build
    assert "TRX2" not in rejects  # 1.5e1 = 15 hours on both databases
    # Safe casts on PostgreSQL (macros/cross_db_casts.sql): null instead of an error.
    assert _pg(
        dsn,
        "select public.spm_try_cast_numeric('lots'), public.spm_try_cast_numeric('1.5e1'), "
        "public.spm_try_cast_timestamptz('2026-02-30'), public.spm_try_cast_boolean('maybe')",
    ) == [(None, Decimal(15), None, None)]


def test_published_duckdb_copy_matches_postgres(runs):
    _duck, pg_company, dsn = runs
    for table in ("kpi_rep_period", "scorecard_rep_period", "bonus_rep_period"):
        (pg_rows,) = _pg(dsn, f"select count(*), sum(length(rep_id)) from marts.{table}")
        assert pg_company.query(f"select count(*), sum(length(rep_id)) from marts.{table}") == [pg_rows]
    assert pg_company.query("select source from marts._publish_info") == [("postgres",)]
    assert (pg_company.report_dir / "index.html").exists()


def test_raw_mirror_is_incremental(runs, monkeypatch, postgres_server):  # noqa: F811
    from orchestration.postgres import PostgresConfig, mirror_to_postgres

    _duck, pg_company, dsn = runs
    config = PostgresConfig(
        postgres_server.host,
        postgres_server.port,
        postgres_server.user,
        postgres_server.password or "",
        DATABASE,
    )
    again = mirror_to_postgres(pg_company.build_db, config)
    assert (again.new_batches, again.removed_batches, sum(again.rows_copied.values())) == (0, 0, 0)
    import duckdb

    con = duckdb.connect(str(pg_company.build_db), read_only=True)
    try:
        for table in ("crm__reps", "orders__order_lines", "hr__training", "_batches"):
            (n,) = con.execute(f"select count(*) from raw.{table}").fetchone()
            assert _pg(dsn, f"select count(*) from raw.{table}") == [(n,)], table
        (plan_rows,) = con.execute("select count(*) from plan.role_weights").fetchone()
    finally:
        con.close()
    assert _pg(dsn, "select count(*) from plan.role_weights") == [(plan_rows,)]


@pytest.fixture(scope="module")
def reader_logins(runs, postgres_server):  # noqa: F811
    """The group roles may log in for the test (trust authentication on the test server)."""
    for role in ("bi_reader", "finance_reader"):
        postgres_server.execute(f"alter role {role} login")
    return runs[2]


@pytest.mark.parametrize("role", ["bi_reader", "finance_reader"])
def test_reader_roles_read_marts_only(reader_logins, role):
    import psycopg

    dsn = reader_logins
    for table in ("kpi_rep_period", "scorecard_rep_period", "scorecard_team_period", "dim_reps"):
        assert _pg(dsn, f"select count(*) > 0 from marts.{table}", user=role) == [(True,)]
    bonus_allowed = role == "finance_reader"
    if bonus_allowed:
        assert _pg(dsn, "select sum(payout_amount) from marts.bonus_rep_period", user=role) == [
            (Decimal("27600.00"),)
        ]
    else:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            _pg(dsn, "select 1 from marts.bonus_rep_period", user=role)
    for relation in ("raw.crm__contacts", "raw._batches", "plan.role_weights", "staging.stg_crm__contacts"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            _pg(dsn, f"select 1 from {relation}", user=role)
    for statement in (
        "delete from marts.kpi_rep_period",
        "update marts.scorecard_rep_period set composite_score = 0",
        "create table marts.mine (x int)",
        "drop table marts.kpi_rep_period",
    ):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            _pg(dsn, statement, user=role)


def test_personal_data_never_reaches_a_postgres_mart(runs):
    _duck, _pg_company, dsn = runs
    tables = [
        r[0]
        for r in _pg(dsn, "select table_name from information_schema.tables where table_schema = 'marts'")
    ]
    text = " ".join(
        str(v) for table in tables for row in _pg(dsn, f"select * from marts.{table}") for v in row
    )
    assert "张伟" in text  # names do reach the marts, in any script
    # Contact names, e-mails and phones and rep e-mails are in raw (landing as sent) and
    # never past staging.
    raw = " ".join(
        str(v)
        for table in ("crm__contacts", "crm__reps")
        for row in _pg(dsn, f"select * from raw.{table}")
        for v in row
    )
    for secret in ("zhang.wei@example.com", "wang.fang@acme.example", "5555 0101", "王芳"):
        assert secret in raw
        assert secret not in text
    columns = {
        r[0]
        for r in _pg(dsn, "select column_name from information_schema.columns where table_schema = 'marts'")
    }
    assert not columns & {"email", "phone", "contact_name"}
