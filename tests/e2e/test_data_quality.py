"""The bad-input corpus (tests/fixtures/bad_inputs) on top of the hand-made company, in one
pipeline run: every bad row is listed in marts.dq_rejected_rows with its rule, every bad
file with its reason; hostile text passes through; and the good rows are paid exactly as
in the same company without the bad inputs. Then a failed blocking check stops the
publish and the published warehouse stays as it was."""

from __future__ import annotations

import csv
import shutil

import duckdb
import pytest

from tests.conftest import FIXTURES, Company, make_company

pytestmark = pytest.mark.slow

BAD = FIXTURES / "bad_inputs"
CLEAN_REPS = ("S1", "S2", "S3", "M1", "K1")
VOLATILE = {"run_id", "source_batches", "published_at", "computed_at"}


def snapshot(company: Company, table: str, where: str = "true") -> list[tuple]:
    """Every row of a published mart, without the columns that name the run or batch."""
    columns = [
        c
        for (c,) in company.query(
            "select column_name from information_schema.columns where table_schema = 'marts' "
            "and table_name = ? order by ordinal_position",
            [table],
        )
        if c not in VOLATILE
    ]
    return sorted(company.query(f"select {', '.join(columns)} from marts.{table} where {where}"), key=repr)


def expected_rejects() -> set[tuple]:
    with (BAD / "expected_rejects.csv").open(encoding="utf-8", newline="") as fh:
        return {
            (r["entity"], r["source_file"], int(r["row_number"]), r["rule"], r["value"] or None)
            for r in csv.DictReader(fh)
        }


@pytest.fixture(scope="module")
def clean(handmade_run):
    """The hand-made company without bad inputs (conftest: one run per session)."""
    return handmade_run


@pytest.fixture(scope="module")
def dirty(tmp_path_factory):
    company = make_company(tmp_path_factory.mktemp("dirty"), FIXTURES / "handmade")
    shutil.copytree(BAD / "landing", company.landing, dirs_exist_ok=True)
    mp = pytest.MonkeyPatch()
    outcome = company.run(mp)
    mp.undo()
    return company, outcome


def test_the_run_succeeds_bad_rows_are_warnings_not_errors(dirty):
    _, outcome = dirty
    assert outcome.success, outcome.errors
    warned = {w.split(" ")[1] for w in outcome.warnings}
    assert "raw/orders/order_lines:expectations" in warned
    assert "raw/surveys/responses:files_readable" in warned
    assert "raw/crm/teams:schema_drift" in warned
    assert not any(c.endswith((":rows_reconcile", ":expectations")) for c in outcome.errors)


def test_every_bad_row_is_listed_with_its_rule_and_value(dirty):
    company, _ = dirty
    got = set(
        company.query(
            "select entity, source_file, row_number, rule, value from marts.dq_rejected_rows "
            "where rule <> 'file_rejected'"
        )
    )
    assert got == expected_rejects()
    assert company.query(
        "select count(*) from marts.dq_rejected_rows where batch_id is null or rejected_at is null"
    ) == [(0,)]
    assert company.query(
        "select record_key from marts.dq_rejected_rows where source_file like '%targets_bad.csv' "
        "and row_number = 1"
    ) == [("S1|happiness|month|2026-01-01",)]


def test_every_bad_file_is_listed_with_its_reason(dirty):
    company, _ = dirty
    files = dict(
        company.query("select source_file, value from marts.dq_rejected_rows where rule = 'file_rejected'")
    )
    assert files["orders/orders/orders_missing_column.csv"].endswith("missing required column(s): status")
    assert files["crm/reps/reps_renamed_column.csv"].endswith("missing required column(s): rep_name")
    assert "not valid UTF-8" in files["surveys/responses/responses_latin1.csv"]
    assert files["hr/training/training_header_only.csv"].endswith("empty file: no data rows")
    assert files["orders/products/products_zero_bytes.csv"].endswith("empty file: no header")
    assert len(files) == 5


@pytest.mark.parametrize(
    ("table", "where"),
    [
        ("bonus_rep_period", f"rep_id in {CLEAN_REPS}"),
        ("kpi_rep_period", f"rep_id in {CLEAN_REPS}"),
        ("scorecard_rep_period", f"rep_id in {CLEAN_REPS}"),
        ("review_360_rep_period", "true"),
        ("fct_order_lines", "true"),
        ("fct_opportunities", f"owner_rep_id in {CLEAN_REPS}"),
    ],
)
def test_good_rows_are_paid_as_without_the_bad_ones(clean, dirty, table, where):
    company, _ = dirty
    assert snapshot(company, table, where) == snapshot(clean, table, where)


def test_hostile_text_passes_through_unharmed(dirty):
    company, _ = dirty
    names = dict(company.query("select rep_id, rep_name from marts.dim_reps where team_id = 'T9'"))
    assert names["H1"] == "Robert'); DROP TABLE raw.crm__reps; --"
    assert names['H"3'] == 'Line one\nline two, "quoted"; -- not SQL'
    assert names["H4"] == "NULL"
    raw_h2 = (BAD / "landing/crm/reps/reps_hostile.csv").read_text(encoding="utf-8").split('"')[3]
    assert names["H2"] == raw_h2 and len(raw_h2) > 150
    assert company.query("select distinct team_name from marts.dim_reps where team_id = 'T9'") == [
        ('Équipe "Ω" <script>alert(1)</script>',)
    ]
    assert company.query("select region from marts.dim_reps where rep_id = 'H4'") == [("NA",)]
    # the injected value is listed verbatim, and every table is still there
    assert company.query(
        "select value from marts.dq_rejected_rows "
        "where source_file = 'crm/reps/reps_bad.csv' and row_number = 6"
    ) == [("'); drop table x; --",)]
    tables = {t for (t,) in company.query("select table_name from information_schema.tables")}
    assert {"dim_reps", "bonus_rep_period", "dq_rejected_rows"} <= tables


def test_a_warning_rule_lets_the_row_through(dirty):
    company, _ = dirty
    assert company.query("select stage from marts.fct_opportunities where opportunity_id = 'OPX4'") == [
        ("mystery_stage",)
    ]


def test_raw_batches_record_the_drift_and_skip_the_copy(dirty):
    company, _ = dirty
    con = duckdb.connect(str(company.build_db), read_only=True)
    try:
        assert con.execute(
            "select extra_columns, status from raw._batches where source_file like '%teams_extra_column.csv'"
        ).fetchall() == [("cost_center", "loaded")]
        assert con.execute(
            "select count(*) from raw._batches where source_file like '%orders_copy_of_loaded_file.csv'"
        ).fetchone() == (0,)
    finally:
        con.close()


def test_a_failed_blocking_check_stops_the_publish(dirty, monkeypatch):
    """A second run whose reconciliation fails: nothing is published, BI keeps the last run."""
    import orchestration.checks.ingestion as checks
    from expectations.sql import Reconciliation

    company, _ = dirty
    before = snapshot(company, "bonus_rep_period")
    stamp = company.warehouse.stat().st_mtime_ns

    def lost_a_row(con, entity, run_id):
        if entity != "orders/orders":
            return []
        return [Reconciliation("b1", "orders/orders/x.csv", 10, 9, 9, 0, 0, 0, 0)]

    monkeypatch.setattr(checks, "reconcile", lost_a_row)
    outcome = company.run(monkeypatch)
    assert not outcome.success
    assert "check raw/orders/orders:rows_reconcile failed" in outcome.errors
    assert company.warehouse.stat().st_mtime_ns == stamp
    assert snapshot(company, "bonus_rep_period") == before
    # no build ended the GX and dbt processes: the run did (a bench child waited for them)
    from expectations import suites
    from orchestration import dbt_worker

    assert "pool" not in suites._WORKER
    assert "process" not in dbt_worker._WORKER
