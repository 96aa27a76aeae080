"""The rule registry, its SQL rejects and its Great Expectations suites, without dbt:
the bad-input corpus is loaded into an in-memory DuckDB exactly as the raw assets load it."""

from __future__ import annotations

import csv
import re
import shutil
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from expectations.loading import load_with_rules
from expectations.rules import EXACT_DUPLICATE, REGISTRY, all_rules, parents, rules_for
from expectations.sql import REJECTS, RESOLUTIONS, EvalContext, RowRules, lit, open_rejects_sql, reconcile
from ingestion.entities import ENTITIES, ENTITY_BY_FOLDER
from ingestion.landing import load_entity
from ingestion.plan import load_plan

FIXTURES = Path(__file__).parents[1] / "fixtures"
BAD = FIXTURES / "bad_inputs"
STAGING = Path(__file__).parents[2] / "dbt_project" / "models" / "staging"
NOW = datetime(2026, 11, 27, 12, 0)
CTX = EvalContext("Asia/Shanghai", "CNY", tuple(load_plan().kpis), NOW)


def expected_rejects() -> set[tuple]:
    with (BAD / "expected_rejects.csv").open(encoding="utf-8", newline="") as fh:
        return {
            (r["entity"], r["source_file"], int(r["row_number"]), r["rule"], r["value"] or None)
            for r in csv.DictReader(fh)
        }


def load_order() -> list[str]:
    """Entities in an order where every parent loads first (the raw assets' deps)."""
    out: list[str] = []

    def visit(folder: str) -> None:
        if folder not in out:
            for parent in parents(folder):
                visit(parent)
            out.append(folder)

    for e in ENTITIES:
        visit(e.folder)
    return out


def load_all(con, landing: Path, run_id: str = "test") -> None:
    for folder in load_order():
        load_with_rules(con, landing, ENTITY_BY_FOLDER[folder], CTX, run_id)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    landing = tmp_path_factory.mktemp("corpus") / "landing"
    shutil.copytree(FIXTURES / "handmade", landing)
    shutil.copytree(BAD / "landing", landing, dirs_exist_ok=True)
    con = duckdb.connect()
    load_all(con, landing)
    yield con
    con.close()


# --- the registry ----------------------------------------------------------------------
def test_every_rule_names_a_contract_column_and_a_known_check():
    for rule in all_rules():
        entity = ENTITY_BY_FOLDER[rule.entity]
        assert rule.column in entity.all_columns, (rule.entity, rule.code)
        assert rule.check in {"not_null", "in_set", "between", "is_true"}, rule
    codes = [(r.entity, r.code) for r in all_rules()]
    assert len(codes) == len(set(codes)), "a rule code is listed twice for one entity"
    assert all(r.code != EXACT_DUPLICATE for r in all_rules())


def test_types_are_the_staging_casts():
    """A column typed differently here and in staging would be judged on another value."""
    casts = {"to_number": "number", "to_integer": "integer", "to_boolean": "boolean"}
    casts |= {"to_local_timestamp": "timestamp", "to_local_date": "date"}
    for folder, er in REGISTRY.items():
        source, name = folder.split("/")
        sql = (STAGING / source / f"stg_{source}__{name}.sql").read_text()
        staged = {col: casts[fn] for fn, col in re.findall(r"\b(to_\w+)\('(\w+)'\)", sql) if fn in casts}
        assert staged == er.types, folder


def test_parents_have_no_cycle():
    order = load_order()
    for folder in order:
        assert all(order.index(p) < order.index(folder) for p in parents(folder))


def test_literals_cannot_break_out():
    assert lit("'); drop table x; --") == "'''); drop table x; --'"
    con = duckdb.connect()
    assert (
        con.execute(f"select {lit(chr(39) + '); drop table x; --')}").fetchone()[0] == "'); drop table x; --"
    )


# --- the corpus ------------------------------------------------------------------------
def test_clean_company_has_no_reject(tmp_path):
    con = duckdb.connect()
    load_all(con, FIXTURES / "handmade")
    assert con.execute(f"select count(*) from {REJECTS}").fetchone()[0] == 0


def test_corpus_rejects_exactly_the_bad_rows(corpus):
    got = set(
        corpus.execute(f"select entity, source_file, row_number, rule, value from {REJECTS}").fetchall()
    )
    expected = expected_rejects()
    assert got - expected == set(), "rejected a row the corpus does not list"
    assert expected - got == set(), "a listed bad row was not rejected"


def test_corpus_exercises_every_rule():
    covered = {(e, rule) for e, _, _, rule, _ in expected_rejects()}
    rules = {(r.entity, r.code) for r in all_rules() if r.reject}
    assert rules - covered == set()
    assert any(rule == EXACT_DUPLICATE for _, _, _, rule, _ in expected_rejects())


def test_whole_file_rejects_say_why(corpus):
    messages = dict(
        corpus.execute("select source_file, message from raw._batches where status = 'rejected'").fetchall()
    )
    assert messages["orders/orders/orders_missing_column.csv"].endswith("missing required column(s): status")
    assert messages["crm/reps/reps_renamed_column.csv"].endswith("missing required column(s): rep_name")
    assert "not valid UTF-8" in messages["surveys/responses/responses_latin1.csv"]
    assert messages["hr/training/training_header_only.csv"].endswith("empty file: no data rows")
    assert messages["orders/products/products_zero_bytes.csv"].endswith("empty file: no header")
    assert len(messages) == 5
    # a byte-identical copy of a loaded file is skipped, not loaded twice
    files = {r[0] for r in corpus.execute("select source_file from raw._batches").fetchall()}
    assert "orders/orders/orders_copy_of_loaded_file.csv" not in files
    # an extra column is ignored and reported
    assert corpus.execute(
        "select extra_columns from raw._batches where source_file = 'crm/teams/teams_extra_column.csv'"
    ).fetchone() == ("cost_center",)


def test_hostile_text_lands_unharmed(corpus):
    names = dict(
        corpus.execute("select rep_id, rep_name from raw.crm__reps where rep_id like 'H%'").fetchall()
    )
    assert names["H1"] == "Robert'); DROP TABLE raw.crm__reps; --"
    assert names['H"3'] == 'Line one\nline two, "quoted"; -- not SQL'
    assert names["H4"] == "NULL"
    assert len(names["H2"]) > 150 and names["H2"].startswith("欧阳明月·سارة العلي")
    assert corpus.execute("select region from raw.crm__reps where rep_id = 'H4'").fetchone() == ("NA",)


def test_every_batch_reconciles(corpus):
    for folder in REGISTRY:
        for r in reconcile(corpus, folder, "test"):
            assert r.holds, r
    lines = {r.source_file: r for r in reconcile(corpus, "orders/order_lines", "test")}
    bad = lines["orders/order_lines/order_lines_bad.csv"]
    assert (bad.rows_read, bad.duplicates, bad.rows_rejected, bad.rows_loaded) == (14, 1, 13, 0)


def test_reconciliation_sees_a_lost_row(tmp_path):
    con = duckdb.connect()
    load_all(con, FIXTURES / "handmade")
    con.execute("delete from raw.orders__orders where order_id = 'O1'")
    (row,) = reconcile(con, "orders/orders", "test")
    assert not row.holds and row.rows_read == row.rows_stored + 1


# --- late parents, future dates ----------------------------------------------------------
def _write(landing: Path, folder: str, name: str, text: str) -> None:
    path = landing / folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


REPS = "rep_id,rep_name,email,role,team_id,manager_rep_id,region,hire_date,is_active,updated_at"
ORDERS = "order_id,account_id,rep_id,channel,order_date,currency,status,updated_at"
LINES = "order_line_id,order_id,product_id,quantity,unit_price,unit_cost,discount"


def _rep_row(rep_id: str) -> str:
    return (
        f"{rep_id},Late Rep,{rep_id.lower()}@example.com,sales,T1,M1,east,2026-01-01,true,2026-01-01T00:00:00"
    )


def _order_of_an_unknown_rep(tmp_path: Path) -> tuple[Path, duckdb.DuckDBPyConnection]:
    """The hand-made company plus order O70 of rep S9 (not in the CRM yet) and its line
    OL70, loaded as run1: the order is rejected (unknown_rep), so is its line (order_rejected)."""
    landing = tmp_path / "landing"
    shutil.copytree(FIXTURES / "handmade", landing)
    _write(
        landing,
        "orders/orders",
        "late.csv",
        f"{ORDERS}\nO70,A1,S9,direct,2026-01-07,CNY,completed,2026-01-07\n",
    )
    _write(landing, "orders/order_lines", "late.csv", f"{LINES}\nOL70,O70,P1,1,100,60,0\n")
    con = duckdb.connect()
    load_all(con, landing, "run1")
    assert set(con.execute(f"select rule from ({open_rejects_sql()})").fetchall()) == {
        ("unknown_rep",),
        ("order_rejected",),
    }
    return landing, con


def test_a_parent_key_sent_with_spaces_is_the_same_key(tmp_path):
    """Keys are compared trimmed. The parent lookups match keys as sent first (fast, on the
    raw column) and trim only for those not found so: a parent sent as ' O80 ' is found for
    a line of 'O80'; and a key whose exact version is rejected but whose spaced version is
    accepted keeps its lines, while a key with only rejected versions does not."""
    landing = tmp_path / "landing"
    shutil.copytree(FIXTURES / "handmade", landing)
    _write(
        landing,
        "orders/orders",
        "spaced.csv",
        f"{ORDERS}\n"
        " O80 ,A1,S1,direct,2026-01-07,CNY,completed,2026-01-07\n"
        "O81,A1,S9,direct,2026-01-07,CNY,completed,2026-01-07\n"  # unknown rep: rejected
        " O81 ,A1,S1,direct,2026-01-08,CNY,completed,2026-01-08\n"  # accepted version
        "O82,A1,S9,direct,2026-01-07,CNY,completed,2026-01-07\n",  # rejected, no other
    )
    _write(
        landing,
        "orders/order_lines",
        "spaced.csv",
        f"{LINES}\nOL80,O80,P1,1,100,60,0\nOL81,O81,P1,1,100,60,0\nOL82,O82,P1,1,100,60,0\nOL83,O83,P1,1,100,60,0\n",
    )
    con = duckdb.connect()
    load_all(con, landing)
    rejects = con.execute(
        f"select record_key, rule from {REJECTS} where entity = 'orders/order_lines' order by 1"
    ).fetchall()
    assert rejects == [("OL82", "order_rejected"), ("OL83", "unknown_order")]


@pytest.fixture
def judged_again(monkeypatch) -> list[str]:
    """The entities whose open rejects a load's re-check judges again, in order."""
    import expectations.sql as sql

    judged: list[str] = []
    subjects = sql.subjects_sql

    def recording(entity, rules, where, *args, **kwargs):
        if "_dq_open" in where:
            judged.append(entity)
        return subjects(entity, rules, where, *args, **kwargs)

    monkeypatch.setattr(sql, "subjects_sql", recording)
    return judged


def test_a_late_parent_releases_its_children(tmp_path):
    landing, con = _order_of_an_unknown_rep(tmp_path)
    # the rep arrives in the next drop: the order, then its line, are released
    _write(landing, "crm/reps", "late.csv", f"{REPS}\n{_rep_row('S9')}\n")
    load_all(con, landing, "run2")
    assert con.execute(f"select count(*) from ({open_rejects_sql()})").fetchone()[0] == 0
    assert con.execute(f"select count(*) from {RESOLUTIONS} where run_id = 'run2'").fetchone()[0] == 2
    assert con.execute(f"select count(*) from {REJECTS}").fetchone()[0] == 2  # append-only: kept


def test_only_rejects_whose_parent_changed_are_judged_again(tmp_path, judged_again):
    """After an entity's first pass, a reference reject is judged again only when a version
    of its parent key was loaded, or a reject of it released, since the last pass: an
    unrelated new rep judges nothing again, the missing rep releases the order and its line."""
    landing, con = _order_of_an_unknown_rep(tmp_path)
    judged_again.clear()  # only the loads below
    _write(landing, "crm/reps", "other.csv", f"{REPS}\n{_rep_row('S8')}\n")
    load_all(con, landing, "run2")
    assert judged_again == []  # two rejects open, neither judged again
    assert con.execute(f"select count(*) from ({open_rejects_sql()})").fetchone()[0] == 2

    _write(landing, "crm/reps", "late.csv", f"{REPS}\n{_rep_row('S9')}\n")
    load_all(con, landing, "run3")
    assert judged_again == ["orders/orders", "orders/order_lines"]
    assert con.execute(f"select count(*) from ({open_rejects_sql()})").fetchone()[0] == 0
    assert con.execute(f"select count(*) from {RESOLUTIONS} where run_id = 'run3'").fetchone()[0] == 2


def test_a_new_batch_is_not_judged_twice(tmp_path, judged_again):
    """The rejects of a batch the load has just judged are not judged again in the same
    load's pass: what their rules read was loaded in earlier steps. On a first load nothing
    is judged twice; a later new batch leaves only the older rejects to the pass."""
    landing, con = _order_of_an_unknown_rep(tmp_path)  # rejected at load: unknown rep
    assert judged_again == []
    # a second order of the unknown rep in the next drop: rejected at load, not judged twice
    _write(
        landing,
        "orders/orders",
        "late2.csv",
        f"{ORDERS}\nO71,A1,S9,direct,2026-01-08,CNY,completed,2026-01-08\n",
    )
    load_all(con, landing, "run2")
    assert judged_again == []
    assert (
        con.execute(f"select count(*) from ({open_rejects_sql()}) where rule = 'unknown_rep'").fetchone()[0]
        == 2
    )
    # the rep arrives: both orders (and the line of the first) are released
    _write(landing, "crm/reps", "late.csv", f"{REPS}\n{_rep_row('S9')}\n")
    load_all(con, landing, "run3")
    assert con.execute(f"select count(*) from ({open_rejects_sql()})").fetchone()[0] == 0


def test_no_rule_reads_its_own_entity():
    """An entity's batch is judged against what its rules read, all loaded in earlier steps
    (parents): a new batch's rejects need no second judgement in the same load (RowRules)."""
    assert [r.code for r in all_rules() if r.entity in r.reads] == []


def test_future_dates_are_rejected_beyond_one_day(tmp_path):
    landing = tmp_path / "landing"
    shutil.copytree(FIXTURES / "handmade", landing)
    _write(landing, "hr/training", "future.csv", "training_id,rep_id,completed_at,hours\n"
           "TF1,S1,2026-11-28T11:00:00,1\nTF2,S1,2026-11-28T13:00:00,1\n")  # fmt: skip
    con = duckdb.connect()
    load_all(con, landing)
    assert con.execute(f"select record_key, rule from {REJECTS}").fetchall() == [
        ("TF2", "future_date:completed_at")
    ]


def test_rejects_are_written_with_the_batch_or_not_at_all(tmp_path):
    """A failure while judging a batch rolls the batch back with it: no batch without rejects."""
    con = duckdb.connect()
    RowRules(con, "crm/teams", CTX, "test")  # creates the reject tables

    def broken(_con, _res):
        raise RuntimeError("evaluation failed")

    with pytest.raises(RuntimeError):
        load_entity(con, FIXTURES / "handmade", ENTITY_BY_FOLDER["crm/teams"], "test", on_batch=broken)
    con.execute("rollback")
    assert con.execute("select count(*) from raw.crm__teams").fetchone()[0] == 0
    assert con.execute("select count(*) from raw._batches").fetchone()[0] == 0


# --- Great Expectations ------------------------------------------------------------------
@pytest.fixture(scope="module")
def validations(corpus):
    from expectations.suites import validate_batches

    out = {}
    for folder in REGISTRY:
        batches = [b for (b,) in corpus.execute(
            "select batch_id from raw._batches where entity = ? and status = 'loaded'", [folder]
        ).fetchall()]  # fmt: skip
        out[folder] = validate_batches(corpus, folder, batches, CTX)
    return out


def test_suites_compute_and_agree_with_the_sql_rejects_row_for_row(corpus, validations):
    for folder, validation in validations.items():
        assert validation.computed, [o.error for o in validation.outcomes if not o.computed]
        recorded: dict[str, set] = {}
        for rule, batch, row in corpus.execute(
            f"select rule, batch_id, row_number from {REJECTS} where entity = ? and rule <> ?",
            [folder, EXACT_DUPLICATE],
        ).fetchall():
            recorded.setdefault(rule, set()).add((batch, row))
        found = {k: v for k, v in validation.unexpected_by_rule().items() if v}
        assert found == recorded, folder


def test_suite_shape_per_entity(validations):
    from expectations.suites import COLUMNS, FRESHNESS, KEYS, ROWS

    orders = validations["orders/orders"]
    groups = [o.group for o in orders.outcomes]
    assert groups.count(COLUMNS) == len(ENTITY_BY_FOLDER["orders/orders"].all_columns)
    assert groups.count(ROWS) == len(rules_for("orders/orders"))
    assert groups.count(KEYS) == 1 and groups.count(FRESHNESS) == 1
    # the January data is months old: the freshness expectation fails (a warning)
    assert [o.name for o in orders.failed(FRESHNESS)] == ["newest order_date within 36h"]


def test_a_warning_rule_is_reported_not_rejected(corpus, validations):
    stage = [o for o in validations["crm/opportunities"].outcomes if o.name == "accepted_values:stage"]
    assert len(stage) == 1 and not stage[0].success and stage[0].unexpected_count == 1
    assert not stage[0].reject
    assert (
        corpus.execute(f"select count(*) from {REJECTS} where rule = 'accepted_values:stage'").fetchone()[0]
        == 0
    )


def test_a_validation_that_raised_is_not_computed(corpus, monkeypatch):
    import expectations.suites as suites

    real = suites._expectation

    def broken(gxe, rule, column, ctx):
        if rule.code == "unknown_rep":
            return gxe.ExpectColumnValuesToNotBeNull(column="no_such_column", meta={"name": rule.code})
        return real(gxe, rule, column, ctx)

    monkeypatch.setattr(suites, "_expectation", broken)
    monkeypatch.setattr(suites, "_in_worker", lambda fn, *args: fn(*args))  # where the patch holds
    batches = [
        b
        for (b,) in corpus.execute(
            "select batch_id from raw._batches where entity = 'orders/orders'"
        ).fetchall()
    ]
    validation = suites.validate_batches(corpus, "orders/orders", batches, CTX)
    assert not validation.computed
    (outcome,) = [o for o in validation.outcomes if not o.computed]
    assert outcome.name == "unknown_rep" and "no_such_column" in outcome.error


def test_gx_runs_in_a_process_of_its_own_and_a_lost_one_fails_one_validation(corpus):
    import os
    import signal
    from concurrent.futures.process import BrokenProcessPool

    import expectations.suites as suites

    batches = [
        b
        for (b,) in corpus.execute("select batch_id from raw._batches where entity = 'crm/teams'").fetchall()
    ]
    suites.start_gx_worker()
    pid = suites._in_worker(os.getpid)
    assert pid != os.getpid()
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(BrokenProcessPool):  # the check reports it as not run: an error
        suites.validate_batches(corpus, "crm/teams", batches, CTX)
    validation = suites.validate_batches(corpus, "crm/teams", batches, CTX)  # a new process
    assert validation.computed and validation.rows > 0
    assert suites._in_worker(os.getpid) not in (pid, os.getpid())


# --- the Dagster check built on it --------------------------------------------------------
def test_the_check_warns_on_bad_rows_and_errs_when_broken_or_disagreeing(corpus, monkeypatch):
    import dagster as dg

    import expectations.suites as suites
    from orchestration.checks.ingestion import expectations_and_freshness

    orders = ENTITY_BY_FOLDER["orders/orders"]
    check, freshness = expectations_and_freshness(corpus, orders, "test", CTX)
    assert (check.passed, check.severity) == (False, dg.AssetCheckSeverity.WARN)
    assert check.metadata["rows_failing"].value == 8
    assert "disagrees_with_load_rejects" not in check.metadata
    assert not freshness.passed and freshness.severity == dg.AssetCheckSeverity.WARN
    teams, _ = expectations_and_freshness(corpus, ENTITY_BY_FOLDER["crm/teams"], "test", CTX)
    assert not teams.passed  # the teams file without a key

    # a reject lost between load and check: the two evaluations disagree -> error
    corpus.execute("begin transaction")
    corpus.execute(f"delete from {REJECTS} where entity = 'orders/orders' and rule = 'unknown_rep'")
    check, _ = expectations_and_freshness(corpus, orders, "test", CTX)
    corpus.execute("rollback")
    assert (check.passed, check.severity) == (False, dg.AssetCheckSeverity.ERROR)
    assert check.metadata["disagrees_with_load_rejects"].value == "unknown_rep"

    # an expectation that raised: not computed -> error, never a pass
    real = suites._expectation
    monkeypatch.setattr(suites, "_in_worker", lambda fn, *args: fn(*args))  # where the patch holds
    monkeypatch.setattr(
        suites,
        "_expectation",
        lambda gxe, rule, column, ctx: (
            gxe.ExpectColumnValuesToNotBeNull(column="nope", meta={"name": rule.code})
            if rule.code == "unknown_rep"
            else real(gxe, rule, column, ctx)
        ),
    )
    check, _ = expectations_and_freshness(corpus, orders, "test", CTX)
    assert (check.passed, check.severity) == (False, dg.AssetCheckSeverity.ERROR)
    assert "nope" in check.metadata["not_computed"].value


# --- Great Expectations on a sample ---------------------------------------------------------
def test_above_the_limit_gx_sees_a_deterministic_sample_holding_every_reject(tmp_path):
    from expectations.suites import FRESHNESS, validate_batches

    landing = tmp_path / "landing"
    shutil.copytree(FIXTURES / "handmade", landing)
    rows = [f"AX{i},S1,A1,call,2026-01-{1 + i % 28:02d}T10:00:00,{i % 5},{i}" for i in range(3000)]
    rows[7] = "AX7,S404,A1,call,2026-01-02T10:00:00,1,1"  # unknown_rep
    rows[1500] = "AX1500,S1,A1,dance,2026-01-02T10:00:00,-1,1"  # two rules on one row
    rows[2000] = "AX2000,S1,A1,call,not a time,1,1"
    rows[2999] = "AX2999,S1,A1,call,2026-01-31T23:00:00,1,1"  # the newest event
    header = "activity_id,rep_id,account_id,activity_type,activity_at,participants,impressions"
    _write(landing, "crm/activities", "many.csv", "\n".join([header, *rows]) + "\n")
    con = duckdb.connect()
    load_all(con, landing)
    (batch,) = con.execute(
        "select batch_id from raw._batches where source_file = 'crm/activities/many.csv'"
    ).fetchone()
    recorded: dict[str, set] = {}
    for rule, row in con.execute(
        f"select rule, row_number from {REJECTS} where batch_id = ? and rule <> ?", [batch, EXACT_DUPLICATE]
    ).fetchall():
        recorded.setdefault(rule, set()).add((batch, row))
    assert sum(len(v) for v in recorded.values()) == 4

    whole = validate_batches(con, "crm/activities", [batch], CTX, max_rows=0)
    assert (whole.rows, whole.batch_rows, whole.sampled) == (3000, 3000, False)
    assert "every new row (3,000)" in whole.coverage

    sample = validate_batches(con, "crm/activities", [batch], CTX, max_rows=300)
    assert sample.computed and sample.sampled and sample.batch_rows == 3000
    assert 200 < sample.rows < 450, sample.rows  # ~10% of the keys, plus the rejected rows
    assert "of 3,000 new rows" in sample.coverage
    # every rejected row is in the sample, and GX fails exactly those rows, rule by rule
    assert sample.recorded == recorded
    assert {k: v for k, v in sample.unexpected_by_rule().items() if v} == recorded
    # the newest event is in the sample: freshness sees the true maximum
    newest = [o.observed for o in whole.outcomes + sample.outcomes if o.group == FRESHNESS]
    assert len(newest) == 2 and newest[0] == newest[1] and "2026-01-31" in str(newest[0])
    # the same rows on every run
    again = validate_batches(con, "crm/activities", [batch], CTX, max_rows=300)
    assert (again.rows, again.recorded) == (sample.rows, sample.recorded)


def test_the_check_says_how_many_rows_gx_validated(corpus, monkeypatch):
    import expectations.suites as suites
    from orchestration.checks.ingestion import expectations_and_freshness

    orders = ENTITY_BY_FOLDER["orders/orders"]
    check, _ = expectations_and_freshness(corpus, orders, "test", CTX)
    assert check.metadata["rows_validated"].value == check.metadata["rows_in_batches"].value
    assert check.metadata["validated"].value.startswith("every new row")

    monkeypatch.setattr(suites, "SAMPLE_ROWS", 10)
    check, _ = expectations_and_freshness(corpus, orders, "test", CTX)
    seen, batch_rows = check.metadata["rows_validated"].value, check.metadata["rows_in_batches"].value
    assert seen < batch_rows and f"{seen:,} of {batch_rows:,} new rows" in check.metadata["validated"].value
    # the rejected rows are all in the sample: same warning, no disagreement
    assert (check.passed, check.severity.value) == (False, "WARN")
    assert check.metadata["rows_failing"].value == 8
    assert "disagrees_with_load_rejects" not in check.metadata


def test_gx_is_not_imported_when_nothing_is_new(tmp_path):
    """A run without a new batch never pays the Great Expectations import."""
    import subprocess
    import sys

    code = (
        "import sys, duckdb\n"
        "from datetime import datetime\n"
        "from expectations.sql import EvalContext\n"
        "from ingestion.entities import ENTITY_BY_FOLDER\n"
        "from ingestion.landing import ensure_raw_schema\n"
        "from orchestration.checks.ingestion import expectations_and_freshness\n"
        "con = duckdb.connect()\n"
        "ensure_raw_schema(con)\n"
        "ctx = EvalContext('Asia/Shanghai', 'CNY', ('revenue',), datetime(2026, 1, 1))\n"
        "check, _ = expectations_and_freshness(con, ENTITY_BY_FOLDER['crm/reps'], 'run', ctx)\n"
        "assert check.passed and check.metadata['rows_validated'].value == 0\n"
        "assert 'great_expectations' not in sys.modules, 'GX imported'\n"
    )
    root = Path(__file__).parents[2]
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
