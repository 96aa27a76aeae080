"""One more night of data for a generated company: the orders of its last day, again, on
the next day, with new ids (what a nightly drop looks like). Used by the benchmark."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb

from ingestion.entities import ENTITY_BY_FOLDER


def _relation(landing: Path, folder: str) -> str:
    """Every landing file of an entity (CSV and Parquet) as one all-text relation."""
    cols = ENTITY_BY_FOLDER[folder].all_columns
    text = ", ".join(f"cast({c} as varchar) as {c}" for c in cols)
    parts = []
    for suffix, reader in ((".parquet", "read_parquet"), (".csv", "read_csv")):
        paths = sorted(p.as_posix() for p in (landing / folder).glob(f"*{suffix}"))
        if paths:
            extra = ", all_varchar = true" if suffix == ".csv" else ""
            parts.append(f"select {text} from {reader}({paths!r}{extra})")
    return "(" + " union all ".join(parts) + ")"


def append_next_day(landing: Path, day: date) -> dict[str, int]:
    """Write orders, lines and an FX rate for `day` copied from the latest day; return counts."""
    tag = f"{day:%Y%m%d}"
    out = {
        "orders": landing / "orders/orders" / f"orders_{tag}.csv",
        "lines": landing / "orders/order_lines" / f"order_lines_{tag}.csv",
        "fx": landing / "orders/fx_rates" / f"fx_rates_{tag}.csv",
    }
    con = duckdb.connect()
    try:
        con.execute(
            f"""
            create temp table last_orders as
            with all_orders as (select * from {_relation(landing, "orders/orders")})
            select * from all_orders
            where cast(order_date as date) = (select max(cast(order_date as date)) from all_orders)
            """
        )
        con.execute(
            f"""
            copy (
                select order_id || '-{tag}' as order_id, account_id, rep_id, channel,
                       '{day.isoformat()}' as order_date, currency, status,
                       '{day.isoformat()}T20:00:00' as updated_at
                from last_orders
            ) to '{out["orders"].as_posix()}' (header, delimiter ',')
            """
        )
        con.execute(
            f"""
            copy (
                select order_line_id || '-{tag}' as order_line_id, order_id || '-{tag}' as order_id,
                       product_id, quantity, unit_price, unit_cost, discount
                from {_relation(landing, "orders/order_lines")}
                where order_id in (select order_id from last_orders)
            ) to '{out["lines"].as_posix()}' (header, delimiter ',')
            """
        )
        con.execute(
            f"""
            copy (
                select '{day.isoformat()}' as rate_date, currency, rate_to_base
                from {_relation(landing, "orders/fx_rates")}
                qualify row_number() over (partition by currency order by rate_date desc) = 1
            ) to '{out["fx"].as_posix()}' (header, delimiter ',')
            """
        )
        orders = con.execute("select count(*) from last_orders").fetchone()[0]
        lines = con.execute(f"select count(*) from read_csv('{out['lines'].as_posix()}')").fetchone()[0]
    finally:
        con.close()
    return {"orders/orders": orders, "orders/order_lines": lines}
