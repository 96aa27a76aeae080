"""Orders database connector against a real PostgreSQL server (tests/postgres_fixture.py):
a first full extract, then rows updated and inserted after it, including one at exactly
the previous high-water mark."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest

from tests.postgres_fixture import postgres_server  # noqa: F401  (fixture)

SCHEMA = """
create schema sales;
create table sales.orders (
    order_id text primary key,
    customer_id text not null,
    salesperson_id text not null,
    channel text not null,
    order_date date not null,
    currency char(3) not null,
    status text not null,
    updated_at timestamptz not null default now()
);
create table sales.order_lines (
    order_line_id text primary key,
    order_id text not null references sales.orders,
    product_id text not null,
    quantity numeric(12, 3) not null,
    unit_price numeric(14, 6) not null,
    unit_cost numeric(14, 6),
    discount numeric(5, 4) not null default 0,
    updated_at timestamptz not null default now()
);
create table sales.returns (
    return_id text primary key,
    order_line_id text not null references sales.order_lines,
    return_date date not null,
    quantity numeric(12, 3) not null,
    amount numeric(14, 2) not null,
    updated_at timestamptz not null default now()
);
insert into sales.orders values
    ('SO-1', 'C-1', 'U-1', '线上商城', '2026-01-05', 'CNY', 'completed', '2026-01-05 04:00:00+00'),
    ('SO-2', 'C-2', 'U-1', 'direct', '2026-01-06', 'USD', 'completed', '2026-01-06 04:00:00+00'),
    ('SO-3', 'C-1', 'U-2', 'direct', '2026-01-07', 'CNY', 'completed', '2026-01-07 04:00:00+00');
insert into sales.order_lines values
    ('SL-1', 'SO-1', 'P-1', 10, 99.5, 60.25, 0, '2026-01-05 04:00:00+00'),
    ('SL-2', 'SO-1', 'P-2', 2, 1234.567891, null, 0.15, '2026-01-05 04:00:00+00'),
    ('SL-3', 'SO-2', 'P-1', 1, 99.5, 60.25, 0, '2026-01-06 04:00:00+00'),
    ('SL-4', 'SO-3', 'P-3', 3, 10, 4, 0.1, '2026-01-07 04:00:00+00'),
    ('SL-5', 'SO-3', 'P-1', 1, 99.5, 60.25, 0, '2026-01-07 04:00:00+00');
insert into sales.returns values
    ('SR-1', 'SL-1', '2026-01-09', 1, 99.50, '2026-01-09 02:00:00+00');
"""


@pytest.fixture
def orders_db(postgres_server):  # noqa: F811
    dsn = postgres_server.create_database("spm_orders_src")
    postgres_server.execute(SCHEMA, dbname="spm_orders_src")
    return dsn


def _config(tmp_path: Path):
    from ingestion.connectors.orders_db import OrdersDbConfig

    return OrdersDbConfig.from_mapping(
        {
            "dsn_env": "SPM_TEST_ORDERS_DSN",
            "schema": "sales",
            "batch_size": 2,  # several fetches from the server-side cursor
            "tables": {
                "orders/orders": {
                    "table": "orders",
                    "columns": {"account_id": "customer_id", "rep_id": "salesperson_id"},
                },
                "orders/order_lines": {"table": "order_lines"},
                "orders/returns": {"table": "returns", "cursor": "updated_at"},
            },
        }
    )


def _rows(landing: Path, folder: str, index: int = -1) -> dict[str, dict]:
    path = sorted((landing / folder).glob("*.csv"))[index]
    with path.open(encoding="utf-8", newline="") as fh:
        return {r[next(iter(r))]: r for r in csv.DictReader(fh)}


@pytest.mark.postgres
def test_incremental_extract_by_updated_at(orders_db, postgres_server, tmp_path, monkeypatch):  # noqa: F811
    from ingestion.connectors.orders_db import extract_orders_db
    from ingestion.landing import load_landing

    monkeypatch.setenv("SPM_TEST_ORDERS_DSN", orders_db)
    landing = tmp_path / "landing"
    cfg = _config(tmp_path)

    first = extract_orders_db(cfg, landing)
    assert first.row_counts == {"orders/orders": 3, "orders/order_lines": 5, "orders/returns": 1}
    orders = _rows(landing, "orders/orders")
    assert orders["SO-1"] == {
        "order_id": "SO-1",
        "account_id": "C-1",
        "rep_id": "U-1",
        "channel": "线上商城",
        "order_date": "2026-01-05",
        "currency": "CNY",
        "status": "completed",
        "updated_at": "2026-01-05T04:00:00+00:00",
    }
    lines = _rows(landing, "orders/order_lines")
    assert (lines["SL-2"]["unit_price"], lines["SL-2"]["unit_cost"], lines["SL-2"]["discount"]) == (
        "1234.567891",
        "",
        "0.1500",
    )

    # After the first extract: an order cancelled, a line added, a return added, and an
    # order written with exactly the old high-water mark of orders (a late commit).
    postgres_server.execute(
        """
        update sales.orders set status = 'cancelled', updated_at = '2026-01-08 09:00:00+00'
            where order_id = 'SO-2';
        insert into sales.orders values
            ('SO-4', 'C-3', 'U-2', 'direct', '2026-01-07', 'CNY', 'completed',
             '2026-01-07 04:00:00+00');
        insert into sales.order_lines values
            ('SL-6', 'SO-3', 'P-2', 1, 1000, 600, 0, '2026-01-10 01:00:00+00'),
            ('SL-7', 'SO-4', 'P-1', 4, 99.5, 60.25, 0, '2026-01-10 01:00:00+00');
        insert into sales.returns values
            ('SR-2', 'SL-4', '2026-01-11', 1, 9.00, '2026-01-11 02:00:00+00');
        """,
        dbname="spm_orders_src",
    )
    second = extract_orders_db(cfg, landing)
    assert second.row_counts == {
        "orders/orders": 2,
        "orders/order_lines": 2,
        "orders/returns": 1,
    }
    assert set(_rows(landing, "orders/orders")) == {"SO-2", "SO-4"}
    assert _rows(landing, "orders/orders")["SO-2"]["status"] == "cancelled"
    assert set(_rows(landing, "orders/order_lines")) == {"SL-6", "SL-7"}
    assert set(_rows(landing, "orders/returns")) == {"SR-2"}

    # Nothing changed: no files.
    assert extract_orders_db(cfg, landing).row_counts == {}
    assert len(list((landing / "orders/orders").glob("*.csv"))) == 2

    con = duckdb.connect()
    loaded = [f for r in load_landing(con, landing) for f in r.files]
    assert loaded and all(f.status == "loaded" and not f.extra_columns for f in loaded)
    assert con.execute("select count(*) from raw.orders__order_lines").fetchone() == (7,)

    again = extract_orders_db(cfg, landing, full_refresh=True)
    assert again.row_counts == {"orders/orders": 4, "orders/order_lines": 7, "orders/returns": 2}


def test_missing_dsn_is_a_clear_error(tmp_path, monkeypatch):
    from ingestion.connectors.orders_db import OrdersDbError, extract_orders_db

    monkeypatch.delenv("SPM_TEST_ORDERS_DSN", raising=False)
    with pytest.raises(OrdersDbError, match="SPM_TEST_ORDERS_DSN"):
        extract_orders_db(_config(tmp_path), tmp_path / "landing")
