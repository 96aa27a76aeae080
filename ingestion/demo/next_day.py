"""One more night of data for a generated company: what a recent day brought, again, on
the next day, with new ids (what a nightly drop looks like): orders and their lines, an
FX rate per currency, and the day's activities, leads, new opportunities, survey
responses, complaints, returns and training. Used by the benchmark.

Each entity's copied day is the median, by rows, of its last seven days with rows: a
typical working day whichever weekday the history ends on (in a generated company a
Saturday brings a fifth of a weekday's orders, a Friday twice as many)."""

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


# Entities with rows of their own every day: (folder, the column that dates a row, the
# date and time columns moved to the next day with it). A copied row gets a new key.
DAILY_EVENTS = (
    ("crm/activities", "activity_at", ("activity_at",)),
    ("crm/leads", "created_at", ("created_at",)),
    ("crm/opportunities", "created_at", ("created_at", "close_date", "updated_at")),
    ("surveys/responses", "submitted_at", ("submitted_at",)),
    ("surveys/complaints", "opened_at", ("opened_at", "resolved_at")),
    ("orders/returns", "return_date", ("return_date",)),
    ("hr/training", "completed_at", ("completed_at",)),
)


def _copied_day(rows: str, dated_by: str) -> str:
    """SQL: the median day by rows (the lower middle one) of the last seven days with rows
    in relation `rows`, dated by `dated_by`."""
    return f"""(
        select day from (
            select day, row_number() over (order by n, day desc) as position, count(*) over () as days
            from (
                select cast({dated_by} as date) as day, count(*) as n
                from {rows}
                group by 1
                order by day desc
                limit 7
            )
        )
        where position = (days + 1) // 2
    )"""


def _moved(column: str, days: str) -> str:
    """A text date (YYYY-MM-DD) or local timestamp (YYYY-MM-DDTHH:MM:SS) `days` later."""
    return (
        f"case when {column} is null then null "
        f"when length({column}) = 10 then strftime(cast({column} as date) + to_days({days}), '%Y-%m-%d') "
        f"else strftime(cast({column} as timestamp) + to_days({days}), '%Y-%m-%dT%H:%M:%S') end"
    )


def _append_events(con: duckdb.DuckDBPyConnection, landing: Path, day: date, tag: str) -> dict[str, int]:
    counts = {}
    for folder, dated_by, moved in DAILY_EVENTS:
        if not any((landing / folder).glob("*.*")):
            continue
        entity = ENTITY_BY_FOLDER[folder]
        (key,) = entity.key
        days = f"cast(date '{day.isoformat()}' - copied.day as integer)"
        columns = ", ".join(
            f"{key} || '-{tag}' as {key}" if c == key else f"{_moved(c, days)} as {c}" if c in moved else c
            for c in entity.all_columns
        )
        out = landing / folder / f"{entity.name}_{tag}.csv"
        (counts[folder],) = con.execute(  # copy returns the rows it wrote
            f"""
            copy (
                with
                    events as (select * from {_relation(landing, folder)}),
                    copied as (select {_copied_day("events", dated_by)} as day)
                select {columns}
                from events, copied
                where cast({dated_by} as date) = copied.day
                order by {key}  -- the same file on every run (row numbers name rejects)
            ) to '{out.as_posix()}' (header, delimiter ',')
            """
        ).fetchone()
    return counts


def append_next_day(landing: Path, day: date) -> dict[str, int]:
    """Write a day of orders, lines, FX rates and the other daily entities for `day`,
    copied from a typical recent day of each; return the rows written per entity."""
    tag = f"{day:%Y%m%d}"
    out = {
        "orders": landing / "orders/orders" / f"orders_{tag}.csv",
        "lines": landing / "orders/order_lines" / f"order_lines_{tag}.csv",
        "fx": landing / "orders/fx_rates" / f"fx_rates_{tag}.csv",
    }
    con = duckdb.connect()
    try:
        con.execute("set enable_progress_bar = false")  # the bench prints its own output
        con.execute(
            f"""
            create temp table copied_orders as
            with all_orders as (select * from {_relation(landing, "orders/orders")})
            select * from all_orders
            where cast(order_date as date) = {_copied_day("all_orders", "order_date")}
            """
        )
        con.execute(
            f"""
            copy (
                select order_id || '-{tag}' as order_id, account_id, rep_id, channel,
                       '{day.isoformat()}' as order_date, currency, status,
                       '{day.isoformat()}T20:00:00' as updated_at
                from copied_orders
                order by order_id
            ) to '{out["orders"].as_posix()}' (header, delimiter ',')
            """
        )
        (lines,) = con.execute(
            f"""
            copy (
                select order_line_id || '-{tag}' as order_line_id, order_id || '-{tag}' as order_id,
                       product_id, quantity, unit_price, unit_cost, discount
                from {_relation(landing, "orders/order_lines")}
                where order_id in (select order_id from copied_orders)
                order by order_line_id
            ) to '{out["lines"].as_posix()}' (header, delimiter ',')
            """
        ).fetchone()
        con.execute(
            f"""
            copy (
                select '{day.isoformat()}' as rate_date, currency, rate_to_base
                from {_relation(landing, "orders/fx_rates")}
                qualify row_number() over (partition by currency order by rate_date desc) = 1
                order by currency
            ) to '{out["fx"].as_posix()}' (header, delimiter ',')
            """
        )
        orders = con.execute("select count(*) from copied_orders").fetchone()[0]
        events = _append_events(con, landing, day, tag)
    finally:
        con.close()
    return {"orders/orders": orders, "orders/order_lines": lines, **events}
