"""Tableau "Sample - Superstore" order export -> landing entities.

One CSV row per order line (UTF-8 with BOM, US dates `M/D/YYYY`, quoted commas in
product names). Mapping (docs/sources.md):

- each of the four regions is one sales rep, its regional manager. The CSV has no
  manager column: the names are those of the People sheet of Tableau's original
  workbook (not part of this export), with ids `SS-<REGION>`; pass `region_reps` to
  name them otherwise. One team per region (`SS-T-<REGION>`).
- customers -> `crm/accounts` (segment -> industry; region, owner and created_at from
  the customer's first order); products -> `orders/products` (first name seen per id;
  ids that carry two names in the file are reported).
- orders -> `orders/orders` (ship mode -> channel, `standard_class` etc.; status
  completed; currency USD); rows -> `orders/order_lines` (order_line_id = Row ID).
- the file has Sales and Profit but no price or cost. Per line the pipeline computes
  net = round(qty x unit_price x (1 - discount), 2) and cost = round(qty x unit_cost, 2)
  on prices cast to 6 decimals. unit_price = round(Sales, 2) / (qty x (1 - discount)),
  unit_cost = round(Sales - Profit, 2) / qty, written with 6 decimals: the error is at
  most qty x 5e-7 (< $0.00001), so the pipeline gives back Sales and Sales - Profit to
  the cent on every line. The importer checks this with the pipeline's own decimal
  arithmetic (DuckDB) before writing, and fails if one line is off.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from ingestion.importers.common import ImportSummary, write_entities, write_report

SOURCE = "superstore"
CURRENCY = "USD"
# People sheet of the original Sample - Superstore workbook (not in the CSV export).
REGION_REPS = {
    "Central": "Kelly Williams",
    "East": "Chuck Magee",
    "South": "Cassandra Brandow",
    "West": "Anna Andreadi",
}
PRICE_DECIMALS = 6  # staging yields numeric(28, 6) (macros/casts.sql): more decimals would be cut
REQUIRED = (
    "Row ID",
    "Order ID",
    "Order Date",
    "Ship Date",
    "Ship Mode",
    "Customer ID",
    "Customer Name",
    "Segment",
    "Region",
    "Product ID",
    "Category",
    "Sub-Category",
    "Product Name",
    "Sales",
    "Quantity",
    "Discount",
    "Profit",
)


def _cents(text: pd.Series) -> pd.Series:
    """Decimal text -> integer cents, half away from zero (as SQL round does)."""
    ten_thousandths = np.rint(pd.to_numeric(text).to_numpy() * 10_000).astype("int64")
    return pd.Series(np.sign(ten_thousandths) * ((np.abs(ten_thousandths) + 50) // 100), index=text.index)


def _us_date(text: pd.Series) -> pd.Series:
    return pd.to_datetime(text, format="%m/%d/%Y").dt.strftime("%Y-%m-%d")


def _slug(text: pd.Series) -> pd.Series:
    return text.str.strip().str.lower().str.replace(r"[^0-9a-z]+", "_", regex=True).str.strip("_")


def import_superstore(
    src_file: Path, landing: Path, region_reps: dict[str, str] | None = None
) -> ImportSummary:
    src_file, landing = Path(src_file), Path(landing)
    raw = pd.read_csv(src_file, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    raw.columns = [c.strip() for c in raw.columns]
    missing = [c for c in REQUIRED if c not in raw.columns]
    if missing:
        raise ValueError(f"{src_file}: missing column(s) {', '.join(missing)}")
    raw = raw.apply(lambda s: s.str.strip())
    names = dict(REGION_REPS, **(region_reps or {}))
    regions = sorted(raw["Region"].unique())
    unnamed = [r for r in regions if r not in names]
    names.update({r: f"{r} Regional Manager" for r in unnamed})

    summary = ImportSummary(SOURCE, landing)
    region_key = raw["Region"].str.upper().str.replace(r"[^0-9A-Z]+", "-", regex=True)
    rep_of_region = dict(zip(raw["Region"], "SS-" + region_key, strict=False))
    team_of_region = dict(zip(raw["Region"], "SS-T-" + region_key, strict=False))
    order_date = _us_date(raw["Order Date"])
    ship_date = _us_date(raw["Ship Date"])

    reps = pd.DataFrame(
        {
            "rep_id": [rep_of_region[r] for r in regions],
            "rep_name": [names[r] for r in regions],
            "role": "sales",
            "team_id": [team_of_region[r] for r in regions],
            "region": regions,
            "is_active": True,
            "updated_at": f"{order_date.min()}T00:00:00",
        }
    )
    teams = pd.DataFrame(
        {
            "team_id": [team_of_region[r] for r in regions],
            "team_name": [f"{r} region" for r in regions],
            "region": regions,
        }
    )

    first = raw.assign(_date=order_date).sort_values(["_date", "Row ID"], kind="stable")
    first = first.drop_duplicates("Customer ID")
    accounts = pd.DataFrame(
        {
            "account_id": first["Customer ID"],
            "account_name": first["Customer Name"],
            "industry": first["Segment"],
            "region": first["Region"],
            "owner_rep_id": first["Region"].map(rep_of_region),
            "created_at": first["_date"] + "T00:00:00",
            "updated_at": first["_date"] + "T00:00:00",
        }
    )

    names_per_product = raw.groupby("Product ID")["Product Name"].nunique()
    product_rows = raw.drop_duplicates("Product ID")
    products = pd.DataFrame(
        {
            "product_id": product_rows["Product ID"],
            "product_name": product_rows["Product Name"],
            "category": product_rows["Category"] + " / " + product_rows["Sub-Category"],
        }
    )

    order_rows = raw.assign(_date=order_date, _ship=ship_date).drop_duplicates("Order ID")
    orders = pd.DataFrame(
        {
            "order_id": order_rows["Order ID"],
            "account_id": order_rows["Customer ID"],
            "rep_id": order_rows["Region"].map(rep_of_region),
            "channel": _slug(order_rows["Ship Mode"]),
            "order_date": order_rows["_date"],
            "currency": CURRENCY,
            "status": "completed",
            "updated_at": order_rows["_ship"] + "T00:00:00",
        }
    )
    conflicts = raw.groupby("Order ID")[["Customer ID", "Region", "Order Date", "Ship Mode"]].nunique()
    if (conflicts > 1).any().any():
        raise ValueError("an order carries two customers, regions, dates or ship modes")

    lines = _lines(raw)
    _check_reproduces(lines)

    write_entities(
        summary,
        {
            "crm/teams": teams,
            "crm/reps": reps,
            "crm/accounts": accounts,
            "orders/products": products,
            "orders/orders": orders,
            "orders/order_lines": lines.drop(columns=["_sales_cents", "_cost_cents"]),
        },
        SOURCE,
    )
    report = {
        "source": str(src_file),
        "input_rows": len(raw),
        "region_reps": {r: {"rep_id": rep_of_region[r], "name": names[r]} for r in regions},
        "product_ids_with_two_names": int((names_per_product > 1).sum()),
        "lines_with_negative_profit": int((pd.to_numeric(raw["Profit"]) < 0).sum()),
        "sales_total": f"{pd.to_numeric(raw['Sales']).sum():.4f}",
        "sales_total_line_cents": f"{lines['_sales_cents'].sum() / 100:.2f}",
        "profit_total": f"{pd.to_numeric(raw['Profit']).sum():.4f}",
        "profit_total_line_cents": (
            f"{(lines['_sales_cents'].sum() - lines['_cost_cents'].sum()) / 100:.2f}"
        ),
        "rows_written": summary.row_counts,
    }
    summary.report_path = write_report(landing / "_import_reports" / f"{SOURCE}.json", report)
    summary.notes.append(
        "region reps: " + ", ".join(f"{r} = {names[r]} ({rep_of_region[r]})" for r in regions)
    )
    if report["product_ids_with_two_names"]:
        summary.notes.append(
            f"{report['product_ids_with_two_names']} product ids carry two names; the first name seen is kept"
        )
    return summary


def _lines(raw: pd.DataFrame) -> pd.DataFrame:
    quantity = pd.to_numeric(raw["Quantity"])
    discount = pd.to_numeric(raw["Discount"])
    if (quantity <= 0).any() or ((discount < 0) | (discount >= 1)).any():
        raise ValueError("quantity must be positive and discount in [0, 1)")
    sales_cents = _cents(raw["Sales"])
    # Cost = Sales - Profit, in exact ten-thousandths first, then to the cent.
    cost_ten_thousandths = np.rint(pd.to_numeric(raw["Sales"]).to_numpy() * 10_000).astype("int64") - np.rint(
        pd.to_numeric(raw["Profit"]).to_numpy() * 10_000
    ).astype("int64")
    cost_cents = pd.Series(
        np.sign(cost_ten_thousandths) * ((np.abs(cost_ten_thousandths) + 50) // 100),
        index=raw.index,
    )
    if (cost_cents < 0).any():
        raise ValueError("a line has profit above its sales: negative cost")
    unit_price = (sales_cents / 100) / (quantity * (1 - discount))
    unit_cost = (cost_cents / 100) / quantity
    fmt = f"{{:.{PRICE_DECIMALS}f}}".format
    return pd.DataFrame(
        {
            "order_line_id": raw["Row ID"],
            "order_id": raw["Order ID"],
            "product_id": raw["Product ID"],
            "quantity": raw["Quantity"],
            "unit_price": unit_price.map(fmt),
            "unit_cost": unit_cost.map(fmt),
            "discount": raw["Discount"],
            "_sales_cents": sales_cents,
            "_cost_cents": cost_cents,
        }
    )


def _check_reproduces(lines: pd.DataFrame) -> None:
    """Recompute each line as the pipeline does (numeric(28, 6), round to 2) and compare."""
    con = duckdb.connect()
    try:
        con.register("lines", lines)
        bad = con.execute(
            """
            with typed as (
                select
                    order_line_id,
                    cast(quantity as decimal(28, 6)) as q,
                    cast(unit_price as decimal(28, 6)) as p,
                    cast(unit_cost as decimal(28, 6)) as c,
                    cast(discount as decimal(28, 6)) as d,
                    _sales_cents,
                    _cost_cents
                from lines
            )
            select order_line_id from typed
            where round(q * p * (1 - d), 2) * 100 <> _sales_cents
               or round(q * c, 2) * 100 <> _cost_cents
            """
        ).fetchall()
    finally:
        con.close()
    if bad:
        raise AssertionError(
            f"{len(bad)} line(s) would not reproduce Sales / Sales - Profit to the cent: "
            + ", ".join(str(b[0]) for b in bad[:5])
        )
