"""Importers for the Maven CRM and Superstore exports, without the pipeline: row counts,
stable ids, the product-name match, fall-backs, and Superstore prices that give back
Sales and Sales - Profit to the cent."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import duckdb
import pytest

DATASETS = Path(
    os.environ.get("SPM_DATASETS_DIR") or Path(__file__).resolve().parents[3] / "shared" / "datasets"
)
MAVEN = DATASETS / "maven-crm"
SUPERSTORE = DATASETS / "superstore" / "superstore_orders.csv"


@pytest.fixture
def need_maven():
    from tests.conftest import need_service

    need_service((MAVEN / "sales_pipeline.csv").is_file(), f"the Maven export under {DATASETS}")


@pytest.fixture
def need_superstore():
    from tests.conftest import need_service

    need_service(SUPERSTORE.is_file(), f"the Superstore export under {DATASETS}")


def _rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _load(landing: Path) -> duckdb.DuckDBPyConnection:
    from ingestion.landing import load_landing

    con = duckdb.connect()
    files = [f for r in load_landing(con, landing) for f in r.files]
    assert files and all(f.status == "loaded" and not f.extra_columns for f in files), [
        f.message for f in files
    ]
    return con


@pytest.mark.usefixtures("need_maven")
def test_maven_crm_maps_every_opportunity(tmp_path):
    from ingestion.importers.maven_crm import import_maven_crm, normalise_name, rep_id

    landing = tmp_path / "landing"
    summary = import_maven_crm(MAVEN, landing)
    assert summary.row_counts == {
        "crm/teams": 9,  # 3 regional offices + 6 managers' teams
        "crm/reps": 41,  # 35 agents + 6 managers
        "crm/accounts": 85,
        "orders/products": 7,
        "crm/opportunities": 8800,
        "orders/orders": 4238,
        "orders/order_lines": 4238,
    }
    assert normalise_name("GTXPro") == normalise_name("GTX Pro") == "gtxpro"
    report = json.loads(summary.report_path.read_text())
    (gtx,) = [m for m in report["product_match"] if m["pipeline_name"] == "GTXPro"]
    assert gtx == {
        "pipeline_name": "GTXPro",
        "catalogue_name": "GTX Pro",
        "match": "normalised",
        "product_id": "MV-P-GTXPRO",
        "opportunities": 1480,
    }
    assert any("'GTXPro'" in n and "'GTX Pro'" in n for n in summary.notes)
    assert any("technolgy" in n for n in summary.notes)

    reps = {r["rep_name"]: r for r in _rows(landing / "crm/reps/maven_crm_reps.csv")}
    darcel = reps["Darcel Schlecht"]
    assert darcel["rep_id"] == rep_id("Darcel Schlecht") == rep_id("  darcel   SCHLECHT ")
    assert (darcel["role"], darcel["region"]) == ("sales", "Central")
    assert darcel["manager_rep_id"] == reps["Melvin Marxen"]["rep_id"]
    assert reps["Melvin Marxen"]["role"] == "manager"
    teams = {t["team_id"]: t for t in _rows(landing / "crm/teams/maven_crm_teams.csv")}
    assert teams[darcel["team_id"]]["parent_team_id"] == "MV-R-CENTRAL"

    opps = {o["opportunity_id"]: o for o in _rows(landing / "crm/opportunities/maven_crm_opportunities.csv")}
    assert opps["Z063OYW0"] | {"account_id": "", "owner_rep_id": ""} == {
        "opportunity_id": "Z063OYW0",
        "account_id": "",
        "owner_rep_id": "",
        "stage": "closed_won",
        "amount": "4514",
        "currency": "USD",
        "created_at": "2016-10-25T00:00:00",
        "close_date": "2017-03-11",
        "is_closed": "true",
        "is_won": "true",
        "updated_at": "2017-03-11T00:00:00",
    }
    prospecting = [o for o in opps.values() if o["stage"] == "prospecting"]
    assert len(prospecting) == 500
    assert {o["created_at"] for o in prospecting} == {"2017-12-31T00:00:00"}
    assert all(o["close_date"] == "" and o["is_closed"] == "false" for o in prospecting)
    # Open deals without a value carry the product's list price (GTX Pro: 4821).
    engaging = [o for o in opps.values() if o["stage"] == "engaging"]
    assert len(engaging) == 1589 and all(o["amount"] for o in engaging)
    lost = [o for o in opps.values() if o["stage"] == "closed_lost"]
    assert {o["amount"] for o in lost} == {"0"}

    lines = _rows(landing / "orders/order_lines/maven_crm_order_lines.csv")
    line = next(x for x in lines if x["order_line_id"] == "MV-L-Z063OYW0")
    assert (line["product_id"], line["quantity"], line["unit_price"]) == ("MV-P-GTXPRO", "1", "4514")

    # Same export, same bytes: a re-import is skipped by the loader's content hash.
    before = {p: p.read_bytes() for p in summary.files}
    again = import_maven_crm(MAVEN, landing)
    assert {p: p.read_bytes() for p in again.files} == before

    con = _load(landing)
    assert con.execute("select count(*) from raw.crm__opportunities").fetchone() == (8800,)


@pytest.mark.usefixtures("need_superstore")
def test_superstore_lines_reproduce_sales_and_cost(tmp_path):
    from ingestion.importers.superstore import import_superstore

    landing = tmp_path / "landing"
    summary = import_superstore(SUPERSTORE, landing)
    assert summary.row_counts == {
        "crm/teams": 4,
        "crm/reps": 4,
        "crm/accounts": 793,
        "orders/products": 1862,
        "orders/orders": 5009,
        "orders/order_lines": 9994,
    }
    con = _load(landing)
    # The pipeline's arithmetic (numeric(28, 6), round per line) on the landed text vs
    # the raw file's Sales and Sales - Profit, half away from zero, to the cent.
    con.execute(
        f"""
        create table src as select * from read_csv('{SUPERSTORE}', all_varchar = true,
            header = true, quote = '"')
        """
    )
    mismatches = con.execute(
        """
        with landed as (
            select
                order_line_id,
                round(cast(quantity as decimal(28, 6)) * cast(unit_price as decimal(28, 6))
                      * (1 - cast(discount as decimal(28, 6))), 2) as net,
                round(cast(quantity as decimal(28, 6)) * cast(unit_cost as decimal(28, 6)), 2)
                    as cost
            from raw.orders__order_lines
        )
        select count(*) filter (where net <> round(cast("Sales" as decimal(18, 4)), 2)),
               count(*) filter (where cost <> round(cast("Sales" as decimal(18, 4))
                                                   - cast("Profit" as decimal(18, 4)), 2)),
               count(*)
        from landed join src on src."Row ID" = landed.order_line_id
        """
    ).fetchone()
    assert mismatches == (0, 0, 9994)

    orders = {o["order_id"]: o for o in _rows(landing / "orders/orders/superstore_orders.csv")}
    assert orders["CA-2018-152156"] == {
        "order_id": "CA-2018-152156",
        "account_id": "CG-12520",
        "rep_id": "SS-SOUTH",
        "channel": "second_class",
        "order_date": "2018-11-08",
        "currency": "USD",
        "status": "completed",
        "updated_at": "2018-11-11T00:00:00",
    }
    products = {p["product_id"]: p for p in _rows(landing / "orders/products/superstore_products.csv")}
    assert products["FUR-CH-10000454"]["product_name"] == (
        "Hon Deluxe Fabric Upholstered Stacking Chairs, Rounded Back"
    )
    reps = {r["rep_id"]: r["rep_name"] for r in _rows(landing / "crm/reps/superstore_reps.csv")}
    assert reps == {
        "SS-CENTRAL": "Kelly Williams",
        "SS-EAST": "Chuck Magee",
        "SS-SOUTH": "Cassandra Brandow",
        "SS-WEST": "Anna Andreadi",
    }


HEADER = (
    "Row ID,Order ID,Order Date,Ship Date,Ship Mode,Customer ID,Customer Name,Segment,Country,"
    "City,State,Postal Code,Region,Product ID,Category,Sub-Category,Product Name,Sales,Quantity,"
    "Discount,Profit"
)


def _small_superstore(path: Path, lines: list[str]) -> Path:
    path.write_text("\ufeff" + HEADER + "\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_superstore_edge_cases_and_the_check(tmp_path, monkeypatch):
    from ingestion.importers import superstore

    src = _small_superstore(
        tmp_path / "s.csv",
        [
            # Half-cent sales, 80% discount, a loss; a quoted comma; 14 units at 3 decimals.
            '1,US-1,1/2/2017,1/9/2017,Standard Class,AA-1,"Ávila, Ana",Consumer,United States,'
            'X,Y,1,North,P-1,Office,Binders,"Binder, 3 ring",22.365,3,0.8,-33.5475',
            '2,US-1,1/2/2017,1/9/2017,Standard Class,AA-1,"Ávila, Ana",Consumer,United States,'
            "X,Y,1,North,P-2,Tech,Phones,Phone,1699.9,14,0.32,0.0001",
            "3,US-2,12/31/2017,1/2/2018,Same Day,BB-2,Bo,Corporate,United States,"
            "X,Y,1,North,P-1,Office,Binders,Binder,0.444,1,0,0.444",
        ],
    )
    summary = superstore.import_superstore(src, tmp_path / "landing", region_reps={"North": "Nia"})
    lines = {
        r["order_line_id"]: r
        for r in _rows(tmp_path / "landing/orders/order_lines/superstore_order_lines.csv")
    }
    assert lines["1"]["discount"] == "0.8"
    assert lines["3"]["unit_cost"] == "0.000000"  # profit = sales: no cost
    orders = _rows(tmp_path / "landing/orders/orders/superstore_orders.csv")
    assert [o["order_date"] for o in orders] == ["2017-01-02", "2017-12-31"]
    assert _rows(tmp_path / "landing/crm/reps/superstore_reps.csv")[0]["rep_name"] == "Nia"
    assert _rows(tmp_path / "landing/crm/accounts/superstore_accounts.csv")[0]["account_name"] == (
        "Ávila, Ana"
    )
    assert summary.row_counts["orders/order_lines"] == 3

    # With 2-decimal prices the pipeline would not give Sales back: the importer refuses.
    monkeypatch.setattr(superstore, "PRICE_DECIMALS", 2)
    with pytest.raises(AssertionError, match="would not reproduce"):
        superstore.import_superstore(src, tmp_path / "other")
