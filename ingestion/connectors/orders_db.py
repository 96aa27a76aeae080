"""Orders database (PostgreSQL) -> `orders/orders`, `orders/order_lines`,
`orders/returns` landing files, incrementally by an updated-at cursor.

Plain psycopg 3 (a server-side cursor streams rows straight into the CSV file), not
dlt's sql_database source: that source needs SQLAlchemy reflection and a dlt pipeline
with a destination, and its output (dlt tables with `_dlt_*` columns) is not the
landing contract, so it would add a second state store and a conversion step for no
gain. The incremental logic is the same as dlt's: `cursor >= last mark`, rows at
exactly the mark that were already taken skipped by key, the mark moved only after
every file of the run is written.

Per table: which table feeds the entity, the cursor column, and (optionally) which
source column holds each contract column; identifiers only, quoted by psycopg.
`lag_seconds` keeps rows younger than that out of a run (they come next run), for
databases where a long transaction can commit rows whose updated_at is older than
rows already committed. The DSN comes from the environment variable `dsn_env`.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from ingestion.connectors import default_state_path
from ingestion.connectors.state import ConnectorState, run_stamp
from ingestion.entities import ENTITY_BY_FOLDER
from ingestion.importers.common import ImportSummary

SOURCE = "ordersdb"


class OrdersDbError(RuntimeError):
    pass


@dataclass(frozen=True)
class TableSpec:
    entity: str  # landing entity folder, e.g. orders/orders
    table: str
    cursor: str = "updated_at"
    columns: dict[str, str] = field(default_factory=dict)  # contract column -> source column

    def source_column(self, column: str) -> str:
        return self.columns.get(column, column)


DEFAULT_TABLES: tuple[TableSpec, ...] = (
    TableSpec("orders/orders", "orders"),
    TableSpec("orders/order_lines", "order_lines"),
    TableSpec("orders/returns", "returns"),
)


@dataclass
class OrdersDbConfig:
    dsn_env: str = "SPM_ORDERS_DB_DSN"
    schema: str = "public"
    tables: tuple[TableSpec, ...] = DEFAULT_TABLES
    batch_size: int = 5000
    lag_seconds: int = 0
    state_path: Path | None = None

    @classmethod
    def from_mapping(cls, data: dict) -> OrdersDbConfig:
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known - {"enabled", "feeds"})
        if unknown:
            raise OrdersDbError(f"orders_db: unknown setting(s) {', '.join(unknown)}")
        values = {k: v for k, v in data.items() if k in known}
        if "tables" in values:
            values["tables"] = tuple(
                TableSpec(
                    entity,
                    spec.get("table", entity.split("/")[1]),
                    spec.get("cursor", "updated_at"),
                    dict(spec.get("columns") or {}),
                )
                for entity, spec in values["tables"].items()
            )
        if values.get("state_path"):
            values["state_path"] = Path(values["state_path"])
        return cls(**values)


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        # Aware timestamps in UTC, whatever the session time zone (PGTZ may be set).
        return (value.astimezone(UTC) if value.tzinfo is not None else value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _mark(value) -> str:
    """Cursor value -> fixed-width ISO text (UTC when aware), so text order = time order."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    raise OrdersDbError(f"cursor values must be timestamps or dates, got {type(value).__name__}")


def extract_orders_db(
    cfg: OrdersDbConfig, landing: Path, full_refresh: bool = False, dsn: str | None = None
) -> ImportSummary:
    import psycopg
    from psycopg import sql

    dsn = dsn or os.environ.get(cfg.dsn_env)
    if not dsn:
        raise OrdersDbError(f"set the orders database DSN in the environment: {cfg.dsn_env}")
    landing = Path(landing)
    state = ConnectorState.load(cfg.state_path or default_state_path(landing, "orders_db"))
    if full_refresh:
        state.streams = {}
    summary = ImportSummary(SOURCE, landing)
    stamp = run_stamp()
    pending: list[tuple[Path, Path]] = []
    marks: dict[str, list[tuple[str, str]]] = {}
    try:
        # One read-only snapshot for all tables: lines never point at orders not yet seen.
        with psycopg.connect(dsn, autocommit=False, options="-c TimeZone=UTC") as con:
            con.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            con.read_only = True
            for spec in cfg.tables:
                entity = ENTITY_BY_FOLDER[spec.entity]
                columns = entity.all_columns
                key = entity.key[0]
                mark = state.stream(spec.entity)
                select = sql.SQL(", ").join(
                    sql.SQL("{} as {}").format(sql.Identifier(spec.source_column(c)), sql.Identifier(c))
                    for c in columns
                )
                where, params = [], {}
                if mark.value is not None:
                    where.append(sql.SQL("{} >= %(mark)s").format(sql.Identifier(spec.cursor)))
                    params["mark"] = mark.value
                if cfg.lag_seconds:
                    where.append(
                        sql.SQL("{} < now() - make_interval(secs => %(lag)s)").format(
                            sql.Identifier(spec.cursor)
                        )
                    )
                    params["lag"] = cfg.lag_seconds
                query = sql.SQL(
                    "select {select}, {cursor} as _spm_cursor from {table}{where} order by {cursor}, {key}"
                ).format(
                    select=select,
                    cursor=sql.Identifier(spec.cursor),
                    table=sql.Identifier(cfg.schema, spec.table),
                    where=sql.SQL(" where ") + sql.SQL(" and ").join(where) if where else sql.SQL(""),
                    key=sql.Identifier(spec.source_column(key)),
                )
                name = spec.entity.split("/")[1]
                target = landing / spec.entity / f"{name}_{SOURCE}_{stamp}.csv"
                tmp = target.with_name(target.name + ".tmp")
                tmp.parent.mkdir(parents=True, exist_ok=True)
                rows, taken = 0, []
                with (
                    con.cursor(name=f"spm_{name}") as cur,
                    tmp.open("w", encoding="utf-8", newline="") as fh,
                ):
                    cur.itersize = cfg.batch_size
                    cur.execute(query, params)
                    writer = csv.writer(fh, lineterminator="\n")
                    writer.writerow(columns)
                    key_at = columns.index(key)
                    for record in cur:
                        cursor_text = _mark(record[-1])
                        row_key = str(record[key_at])
                        if cursor_text == mark.value and row_key in mark.keys_at_value:
                            continue
                        writer.writerow([_text(v) for v in record[:-1]])
                        taken.append((row_key, cursor_text))
                        rows += 1
                if rows:
                    pending.append((tmp, target))
                    summary.row_counts[spec.entity] = rows
                    marks[spec.entity] = taken
                else:
                    tmp.unlink()
    except BaseException:
        for tmp, _ in pending:
            tmp.unlink(missing_ok=True)
        raise
    for tmp, target in pending:
        os.replace(tmp, target)
        summary.files.append(target)
    for entity, taken in marks.items():
        state.stream(entity).advance(taken)
    state.save({"written": summary.row_counts})
    summary.notes.append(f"state {state.path}")
    return summary
