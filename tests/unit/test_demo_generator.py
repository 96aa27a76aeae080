"""Demo company generator: determinism, landing contract, integrity, defects, plans."""

from __future__ import annotations

import hashlib
import re
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
import yaml

from ingestion.demo import generate_company
from ingestion.demo import generator as gen_mod
from ingestion.demo import writers as writers_mod

AS_OF = date(2025, 6, 14)
TAG = "20250614"
REPO = Path(__file__).resolve().parents[2]

# The landing contract (docs/contract.md): entity folder -> key + columns, in order.
CONTRACT = {
    "crm/reps": "rep_id rep_name email role team_id manager_rep_id region hire_date is_active updated_at",
    "crm/teams": "team_id team_name region parent_team_id",
    "crm/accounts": "account_id account_name industry region market_id owner_rep_id created_at updated_at",
    "crm/markets": "market_id market_name is_new_market",
    "crm/contacts": "contact_id account_id contact_name email phone created_at",
    "crm/leads": "lead_id owner_rep_id source created_at status converted_account_id",
    "crm/opportunities": "opportunity_id account_id owner_rep_id stage amount currency created_at "
    "close_date is_closed is_won updated_at",
    "crm/activities": "activity_id rep_id account_id activity_type activity_at participants impressions",
    "orders/orders": "order_id account_id rep_id channel order_date currency status updated_at",
    "orders/order_lines": "order_line_id order_id product_id quantity unit_price unit_cost discount",
    "orders/returns": "return_id order_line_id return_date quantity amount",
    "orders/products": "product_id product_name category list_price standard_cost",
    "orders/fx_rates": "rate_date currency rate_to_base",
    "surveys/responses": "response_id account_id rep_id survey_type score submitted_at",
    "surveys/complaints": "complaint_id account_id rep_id opened_at severity resolved_at",
    "surveys/reviews_360": "review_id reviewee_rep_id reviewer_relation period_start score",
    "hr/violations": "violation_id rep_id occurred_at severity penalty_amount description",
    "hr/training": "training_id rep_id completed_at hours",
    "plans/targets": "rep_id kpi_code period_grain period_start target_value",
    "plans/base_bonus": "rep_id period_grain period_start base_bonus currency",
}
KEYS = {
    "crm/reps": "rep_id",
    "crm/teams": "team_id",
    "crm/accounts": "account_id",
    "crm/markets": "market_id",
    "crm/contacts": "contact_id",
    "crm/leads": "lead_id",
    "crm/opportunities": "opportunity_id",
    "crm/activities": "activity_id",
    "orders/orders": "order_id",
    "orders/order_lines": "order_line_id",
    "orders/returns": "return_id",
    "orders/products": "product_id",
    "surveys/responses": "response_id",
    "surveys/complaints": "complaint_id",
    "surveys/reviews_360": "review_id",
    "hr/violations": "violation_id",
    "hr/training": "training_id",
}


def _read_csv(path: Path) -> pa.Table:
    """A landing CSV with every column as text (empty field = null)."""
    header = path.open(encoding="utf-8").readline().rstrip("\n").split(",")
    return pacsv.read_csv(
        path,
        convert_options=pacsv.ConvertOptions(
            column_types={c: pa.string() for c in header}, strings_can_be_null=True
        ),
    )


def _read_any(path: Path) -> pa.Table:
    if path.suffix == ".parquet":
        t = pq.read_table(path)
        return pa.table({c: t.column(c).cast(pa.string()) for c in t.column_names})
    return _read_csv(path)


def _hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def company(tmp_path_factory):
    root = tmp_path_factory.mktemp("landing")
    summary = generate_company(root, scale=10_000, seed=42, as_of=AS_OF)
    return root, summary


@pytest.fixture(scope="module")
def db(company):
    """DuckDB with one table per entity (all files), plus _file and _row (1-based) columns."""
    root, _ = company
    con = duckdb.connect()
    for entity in CONTRACT:
        parts = []
        for path in sorted((root / entity).glob("*.csv")):
            t = _read_csv(path)
            t = t.append_column("_file", pa.array([path.name] * t.num_rows))
            t = t.append_column("_row", pa.array(range(1, t.num_rows + 1), pa.int64()))
            parts.append(t)
        name = entity.split("/")[1]
        con.register(f"{name}_arrow", pa.concat_tables(parts))
        con.execute(f"create table {name} as select * from {name}_arrow")
    defects = _read_csv(root / "_defects" / "defects.csv")
    con.register("defects_arrow", defects)
    con.execute(
        "create table defects as select * replace (cast(row_number as bigint) as row_number) "
        "from defects_arrow"
    )
    # clean views: rows not listed as defects (late files are valid data, so kept)
    for entity in CONTRACT:
        name = entity.split("/")[1]
        con.execute(
            f"""create view clean_{name} as select * from {name} t where not exists (
                select 1 from defects d where d.entity = '{entity}' and d.defect <> 'late_file'
                and d.source_file = t._file and d.row_number = t._row)"""
        )
    return con


def _one(con, sql: str):
    return con.execute(sql).fetchone()[0]


# ---------------------------------------------------------------------------------------
def test_determinism_same_seed_identical_other_seed_different(company, tmp_path):
    root, _ = company
    again = tmp_path / "again"
    generate_company(again, scale=10_000, seed=42, as_of=AS_OF)
    assert _hashes(root) == _hashes(again)
    other = tmp_path / "other"
    generate_company(other, scale=10_000, seed=7, as_of=AS_OF)
    h1, h2 = _hashes(root), _hashes(other)
    assert h1.keys() == h2.keys()
    assert h1[f"orders/orders/orders_{TAG}.csv"] != h2[f"orders/orders/orders_{TAG}.csv"]
    assert h1[f"crm/reps/reps_{TAG}.csv"] != h2[f"crm/reps/reps_{TAG}.csv"]


def test_folders_files_and_exact_columns(company):
    root, summary = company
    for entity, cols in CONTRACT.items():
        path = root / entity / f"{entity.split('/')[1]}_{TAG}.csv"
        assert path.is_file(), path
        raw = path.read_bytes()
        assert not raw.startswith(b"\xef\xbb\xbf")
        header = raw.split(b"\n", 1)[0].decode("utf-8")
        assert header.split(",") == cols.split(), entity
    assert (root / "orders/orders" / f"orders_{TAG}_late.csv").is_file()
    assert (root / "orders/order_lines" / f"order_lines_{TAG}_late.csv").is_file()
    written = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    assert written == {p.relative_to(root).as_posix() for p in summary.paths}
    assert not [p for p in root.rglob(".*") if p.is_file()]  # no temp files left behind


def test_row_counts_near_scale(company, db):
    _, summary = company
    lines = summary.row_counts["orders/order_lines"]
    assert 9_000 <= lines <= 11_000
    assert _one(db, "select count(*) from order_lines") == lines
    assert 30 <= summary.row_counts["crm/reps"] <= 50
    for entity in CONTRACT:
        assert summary.row_counts[entity] > 0, entity
    assert summary.defects == _one(db, "select count(*) from defects")


def test_csv_text_format(company):
    root, _ = company
    reps = (root / "crm/reps" / f"reps_{TAG}.csv").read_text(encoding="utf-8")
    assert re.search(r"[\u4e00-\u9fff]", reps)  # Han-script names
    assert re.search(r"O'\w+", reps)  # apostrophes
    assert re.search(r",(true|false),\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\n", reps)
    lines = (root / "orders/order_lines" / f"order_lines_{TAG}.csv").read_text().splitlines()
    assert all(re.fullmatch(r"[^,]+,[^,]+,[^,]+,-?\d+,\d+\.\d\d,\d+\.\d\d,0\.\d\d", x) for x in lines[1:])
    viol = _read_csv(root / "hr/violations" / f"violations_{TAG}.csv")
    assert viol.num_rows >= 2  # descriptions with commas/quotes round-trip
    fx = _read_csv(root / "orders/fx_rates" / f"fx_rates_{TAG}.csv")
    assert all(re.fullmatch(r"7\.\d{4}", v) for v in fx.column("rate_to_base").to_pylist())


def test_keys_unique_apart_from_injected_duplicates(db):
    for entity, key in KEYS.items():
        name = entity.split("/")[1]
        dups = _one(db, f"select count(*) - count(distinct {key}) from {name}")
        listed = _one(
            db,
            f"select count(*) from defects where entity='{entity}' and defect='duplicate_row'",
        )
        assert dups == listed, entity
    for table, key in (
        ("fx_rates", "rate_date, currency"),
        ("targets", "rep_id, kpi_code, period_grain, period_start"),
        ("base_bonus", "rep_id, period_grain, period_start"),
    ):
        assert (
            _one(
                db,
                f"select count(*) from (select {key} from {table} group by all having count(*) > 1)",
            )
            == 0
        )


FK_CHECKS = [
    ("reps", "team_id", "teams", "team_id"),
    ("reps", "manager_rep_id", "reps", "rep_id"),
    ("teams", "parent_team_id", "teams", "team_id"),
    ("accounts", "owner_rep_id", "reps", "rep_id"),
    ("accounts", "market_id", "markets", "market_id"),
    ("contacts", "account_id", "accounts", "account_id"),
    ("leads", "owner_rep_id", "reps", "rep_id"),
    ("leads", "converted_account_id", "accounts", "account_id"),
    ("opportunities", "account_id", "accounts", "account_id"),
    ("opportunities", "owner_rep_id", "reps", "rep_id"),
    ("activities", "rep_id", "reps", "rep_id"),
    ("activities", "account_id", "accounts", "account_id"),
    ("orders", "account_id", "accounts", "account_id"),
    ("orders", "rep_id", "reps", "rep_id"),
    ("order_lines", "order_id", "orders", "order_id"),
    ("order_lines", "product_id", "products", "product_id"),
    ("returns", "order_line_id", "order_lines", "order_line_id"),
    ("responses", "account_id", "accounts", "account_id"),
    ("responses", "rep_id", "reps", "rep_id"),
    ("complaints", "account_id", "accounts", "account_id"),
    ("complaints", "rep_id", "reps", "rep_id"),
    ("reviews_360", "reviewee_rep_id", "reps", "rep_id"),
    ("violations", "rep_id", "reps", "rep_id"),
    ("training", "rep_id", "reps", "rep_id"),
    ("targets", "rep_id", "reps", "rep_id"),
    ("base_bonus", "rep_id", "reps", "rep_id"),
]


@pytest.mark.parametrize(("child", "col", "parent", "pk"), FK_CHECKS)
def test_foreign_keys_of_clean_rows_resolve(db, child, col, parent, pk):
    # lines of an unknown-rep order still point at that (listed) order row
    orphans = _one(
        db,
        f"select count(*) from clean_{child} c where c.{col} is not null "
        f"and c.{col} not in (select {pk} from {parent})",
    )
    assert orphans == 0


def test_business_rules(db):
    assert (
        _one(
            db,
            "select count(*) from leads where (status = 'converted') <> (converted_account_id is not null)",
        )
        == 0
    )
    bad_returns = _one(
        db,
        """select count(*) from returns r
           join clean_order_lines l using (order_line_id) join orders o using (order_id)
           where cast(r.quantity as int) > cast(l.quantity as int)
              or cast(r.return_date as date) <= cast(o.order_date as date)
              or o.status <> 'completed'
              or abs(cast(r.amount as double) - round(cast(r.quantity as int)
                 * cast(l.unit_price as double) * (1 - cast(l.discount as double)), 2)) > 0.011""",
    )
    assert bad_returns == 0
    assert (
        _one(
            db,
            "select count(*) from clean_order_lines where cast(unit_cost as double) "
            ">= cast(unit_price as double) or cast(discount as double) not between 0 "
            "and 0.3 or cast(quantity as int) <= 0",
        )
        == 0
    )
    # an FX rate for every day of the history, starting 24 months before as_of's month
    days = db.execute(
        "select min(cast(rate_date as date)), max(cast(rate_date as date)), "
        "count(distinct rate_date) from fx_rates where currency='USD'"
    ).fetchone()
    assert days[0] == date(2023, 6, 1) and days[1] == AS_OF and days[2] == (AS_OF - days[0]).days + 1
    usd = _one(db, "select avg((currency = 'USD')::int) from orders")
    assert 0.08 < usd < 0.25
    assert _one(db, "select avg((status = 'completed')::int) from orders") > 0.93
    assert (
        _one(
            db,
            "select count(*) from activities where (activity_type = 'event') <> "
            "(participants is not null) or (activity_type = 'campaign') <> "
            "(impressions is not null)",
        )
        == 0
    )
    red = _one(db, "select max(cast(penalty_amount as double)) from violations where severity = 'red_line'")
    assert red > 8000 * 1.8  # more than any monthly bonus
    assert (
        _one(
            db,
            "select count(*) from violations where severity = 'minor' and "
            "cast(penalty_amount as double) <> 0",
        )
        == 0
    )
    new_mkt = db.execute(
        """select avg((cast(a.created_at as timestamp) >= date '2024-06-01')::int)
           from accounts a join markets m using (market_id) where m.is_new_market = 'true'"""
    ).fetchone()[0]
    assert new_mkt > 0.5  # new-market accounts mostly created in the second year


def test_defect_manifest_points_at_real_rows(company, db):
    root, _ = company
    cur = db.execute("select * from defects")
    names = [c[0] for c in cur.description]
    defects = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    kinds = {d["defect"] for d in defects}
    assert kinds == {
        "duplicate_row",
        "unknown_rep",
        "unknown_product",
        "score_out_of_range",
        "negative_quantity",
        "late_file",
    }
    reps = {r[0] for r in db.execute("select rep_id from reps").fetchall()}
    products = {r[0] for r in db.execute("select product_id from products").fetchall()}
    cache: dict[Path, list[dict]] = {}
    for d in defects:
        path = root / d["entity"] / d["source_file"]
        rows = cache.setdefault(path, _read_any(path).to_pylist())
        row = rows[d["row_number"] - 1]
        key = KEYS[d["entity"]]
        assert row[key] == d["key"], d
        kind = d["defect"]
        if kind == "duplicate_row":
            assert sum(1 for r in rows if r[key] == d["key"] and r == row) >= 2, d
        elif kind == "unknown_rep":
            assert row["rep_id"] not in reps
        elif kind == "unknown_product":
            assert row["product_id"] not in products
        elif kind == "negative_quantity":
            assert int(row["quantity"]) < 0
        elif kind == "score_out_of_range":
            score = int(row["score"])
            assert (score not in range(1, 6)) if row["survey_type"] == "csat" else score > 10
        elif kind == "late_file":
            assert d["source_file"].endswith("_late.csv")
            if d["entity"] == "orders/orders":
                assert row["order_date"].startswith("2025-05")
    # defects stay a small share of every affected entity
    counts = db.execute(
        "select entity, count(*) from defects where defect <> 'late_file' group by entity"
    ).fetchall()
    for entity, n in counts:
        total = _one(db, f"select count(*) from {entity.split('/')[1]}")
        assert n / total < 0.02, entity


def test_every_rep_has_targets_and_bonus_for_its_role(db):
    plan = yaml.safe_load((REPO / "config" / "plan.yml").read_text(encoding="utf-8"))
    reps = db.execute("select rep_id, role from reps").fetchall()
    have = set(db.execute("select distinct rep_id, kpi_code, period_grain from targets").fetchall())
    bonus = set(db.execute("select distinct rep_id, period_grain from base_bonus").fetchall())
    for rep_id, role in reps:
        for kpi in plan["roles"][role]["weights"]:
            for grain in ("month", "quarter"):
                assert (rep_id, kpi, grain) in have, (rep_id, kpi, grain)
        assert {(rep_id, "month"), (rep_id, "quarter")} <= bonus
    assert _one(db, "select count(*) from targets where cast(target_value as double) <= 0") == 0
    # quarter targets sit on quarter starts; an active full-history rep has every month
    assert (
        _one(
            db,
            "select count(*) from targets where period_grain = 'quarter' and "
            "month(cast(period_start as date)) not in (1, 4, 7, 10)",
        )
        == 0
    )
    assert (
        _one(
            db,
            "select max(n) from (select count(distinct period_start) n from targets "
            "where period_grain = 'month' group by rep_id, kpi_code)",
        )
        == 25
    )


def test_org_roles_regions_and_hierarchy(db):
    roles = dict(db.execute("select role, count(*) from reps group by role").fetchall())
    assert set(roles) == {"sales", "marketing", "manager"}
    assert roles["sales"] / sum(roles.values()) > 0.6
    regions = {r[0] for r in db.execute("select distinct region from reps").fetchall()}
    assert regions == {"east", "north", "south", "west"}
    assert _one(db, "select min(n) from (select count(*) n from teams group by region)") >= 2
    # exactly one manager per team; managers own accounts and get orders
    assert (
        _one(
            db,
            "select count(*) from (select team_id from reps where role = 'manager' "
            "group by team_id having count(*) <> 1)",
        )
        == 0
    )
    assert _one(db, "select count(*) from teams") == roles["manager"]
    assert (
        _one(
            db,
            "select count(distinct o.rep_id) from orders o join reps r using (rep_id) "
            "where r.role = 'manager'",
        )
        == roles["manager"]
    )
    assert (
        _one(
            db,
            "select count(*) from orders o join reps r using (rep_id) where r.role = 'marketing'",
        )
        == 0
    )
    mkt_leads = _one(
        db,
        "select avg((r.role = 'marketing')::int) from leads l join reps r on r.rep_id = l.owner_rep_id",
    )
    assert mkt_leads > 0.5
    assert _one(db, "select count(*) from reps where is_active = 'false'") >= 1
    assert _one(db, "select count(*) from markets where is_new_market = 'true'") in (2, 3)


def test_parquet_parts_above_threshold(tmp_path, monkeypatch):
    monkeypatch.setattr(gen_mod, "PARQUET_ABOVE_LINES", 1_000)
    monkeypatch.setattr(writers_mod, "PARQUET_PART_ROWS", 2_500)
    summary = generate_company(tmp_path, scale=6_000, seed=3, as_of=AS_OF)
    parts = sorted((tmp_path / "orders/order_lines").glob(f"order_lines_{TAG}_part*.parquet"))
    assert len(parts) >= 3
    assert parts[0].name == f"order_lines_{TAG}_part0001.parquet"
    sizes = [pq.ParquetFile(p).metadata.num_rows for p in parts]
    late = _read_csv(tmp_path / "orders/order_lines" / f"order_lines_{TAG}_late.csv").num_rows
    assert max(sizes) <= 2_500 and sum(sizes) + late == summary.row_counts["orders/order_lines"]
    schema = pq.read_schema(parts[0])
    assert schema.names == CONTRACT["orders/order_lines"].split()
    assert schema.field("quantity").type == pa.int64()
    assert schema.field("unit_price").type == pa.float64()
    assert (tmp_path / "orders/orders" / f"orders_{TAG}_part0001.parquet").is_file()
    assert not (tmp_path / "orders/order_lines" / f"order_lines_{TAG}.csv").exists()
    defects = _read_csv(tmp_path / "_defects" / "defects.csv").to_pylist()
    checked = 0
    for d in defects:
        if d["source_file"].endswith(".parquet") and d["defect"] != "duplicate_row":
            path = tmp_path / d["entity"] / d["source_file"]
            row = pq.read_table(path).slice(int(d["row_number"]) - 1, 1).to_pylist()[0]
            key = KEYS[d["entity"]]
            assert row[key] == d["key"]
            if d["defect"] == "negative_quantity":
                assert row["quantity"] < 0
            checked += 1
    assert checked > 0
