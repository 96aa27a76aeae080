"""What to copy from the DuckDB build file to another engine, and which batches.

On the PostgreSQL and Spark targets the one loader still loads landing files into the
DuckDB build file; before dbt builds, the raw, plan and control tables are copied to the
other engine (orchestration/postgres.py: psycopg and COPY; orchestration/spark.py:
Parquet files). Both copies are planned here, engine-independently:

- which tables: every table of the build file's `raw` and `plan` schemas, with its
  columns in order (`MirrorSource.tables`);
- which batches: a raw entity table (one with a `_batch_id` column) travels by batch;
  a batch the destination lacks is copied, one the destination holds that the build
  file no longer has is removed (`MirrorSource.plan`, `MirrorSource.plan_per_table`);
- the rest (plan tables, closed periods, rejects) is small and replaced whole.

Only the writers differ: how a table is created, how rows travel, how a batch is
removed and what the destination calls it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import duckdb

SOURCE_SCHEMAS = ("raw", "plan")
BATCH_TABLE = "_batches"  # raw._batches: one row per loaded batch, key `batch_id`
BATCH_COLUMN = "_batch_id"  # the batch of each row of a raw entity table
CATALOG = "build"  # the build file's name on the planner's DuckDB connection
_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


def ident(name: str) -> str:
    """`name` when it is a plain lower-case SQL identifier; anything else is an error."""
    if not _IDENT.match(name):
        raise ValueError(f"unexpected identifier {name!r}")
    return name


def sql_str(text: str) -> str:
    """`text` for a single-quoted SQL string literal."""
    return text.replace("'", "''")


@dataclass(frozen=True)
class SourceTable:
    """A table of the build file, its columns as (name, DuckDB type) in table order."""

    schema: str
    name: str
    columns: tuple[tuple[str, str], ...]

    @property
    def key(self) -> str:
        """`schema.table`, checked to be plain identifiers."""
        return f"{ident(self.schema)}.{ident(self.name)}"

    @property
    def relation(self) -> str:
        """The table on the planner's connection (`build.schema.table`)."""
        return f"{CATALOG}.{self.key}"

    @property
    def column_names(self) -> list[str]:
        return [c for c, _ in self.columns]

    @property
    def by_batch(self) -> bool:
        """A raw entity table: its rows travel by batch."""
        return self.schema == "raw" and BATCH_COLUMN in self.column_names


@dataclass(frozen=True)
class BatchDiff:
    """Batches to copy (`new`, batch ids, in the order of their names at the destination)
    and batches to remove (`stale`, as the destination names them, sorted)."""

    new: tuple[str, ...] = ()
    stale: tuple[str, ...] = ()


def diff_batches(
    source: Iterable[str], held: Iterable[str], name: Callable[[str], str] | None = None
) -> BatchDiff:
    """The batches of `source` that `held` lacks, and those `held` has that `source` has not.

    `held` names batches as the destination does: `name(batch_id)` (the batch id itself
    when `name` is None).
    """
    by_name = {(name(b) if name else b): b for b in source}
    have = set(held)
    return BatchDiff(
        new=tuple(by_name[n] for n in sorted(by_name.keys() - have)),
        stale=tuple(sorted(have - by_name.keys())),
    )


@dataclass(frozen=True)
class TableCopy:
    """One table of a plan: by batch (`batches`, rows selected on `batch_column`) or,
    when `batches` is None, replaced whole."""

    table: SourceTable
    batches: BatchDiff | None = None
    batch_column: str | None = None


@dataclass(frozen=True)
class CopyPlan:
    tables: tuple[TableCopy, ...]
    # One diff for the whole build file (`MirrorSource.plan`); None when planned per table.
    batches: BatchDiff | None = None

    @property
    def new_batches(self) -> int:
        if self.batches is not None:
            return len(self.batches.new)
        return sum(len(t.batches.new) for t in self.tables if t.batches)

    @property
    def removed_batches(self) -> int:
        if self.batches is not None:
            return len(self.batches.stale)
        return sum(len(t.batches.stale) for t in self.tables if t.batches)


@dataclass
class CopyResult:
    """What a copy did; each engine's result names itself in `label`."""

    label: ClassVar[str] = "Copy"
    new_batches: int = 0
    removed_batches: int = 0
    rows_copied: dict[str, int] = field(default_factory=dict)
    tables_replaced: list[str] = field(default_factory=list)

    def summary(self) -> str:
        rows = sum(self.rows_copied.values())
        return (
            f"{self.label}: {self.new_batches} new batch(es), {rows} raw row(s) copied, "
            f"{self.removed_batches} batch(es) removed, {len(self.tables_replaced)} table(s) replaced"
        )


class MirrorSource:
    """The build file, attached read-only as `build` to an in-memory DuckDB connection.

    Use it as a context manager: on entry it lists the tables to copy and fails when
    nothing was loaded yet (no raw._batches); `duck` is the connection, for the writer's
    own queries on `SourceTable.relation`. `timezone` sets the connection's time zone
    (the zone naive timestamps are read in where they become instants).
    """

    def __init__(self, build_db: Path, timezone: str | None = None):
        self.build_db = build_db
        self.timezone = timezone
        self.duck: duckdb.DuckDBPyConnection | None = None
        self.tables: tuple[SourceTable, ...] = ()

    def __enter__(self) -> MirrorSource:
        duck = duckdb.connect()
        try:
            if self.timezone:
                duck.execute(f"set TimeZone = '{sql_str(self.timezone)}'")
            duck.execute(f"attach '{sql_str(str(self.build_db))}' as {CATALOG} (read_only)")
            self.tables = _list_tables(duck)
            if not any(t.schema == "raw" and t.name == BATCH_TABLE for t in self.tables):
                raise RuntimeError(f"{self.build_db}: no raw.{BATCH_TABLE} table, nothing loaded yet")
        except BaseException:
            duck.close()
            raise
        self.duck = duck
        return self

    def __exit__(self, *exc) -> None:
        if self.duck is not None:
            self.duck.close()
            self.duck = None

    def batch_ids(self, table: SourceTable | None = None) -> set[str]:
        """Batch ids of the build file (raw._batches), or those `table`'s rows carry."""
        if table is None:
            query = f"select batch_id from {CATALOG}.raw.{BATCH_TABLE}"
        else:
            query = f"select distinct {BATCH_COLUMN} from {table.relation}"
        return {r[0] for r in self.duck.execute(query).fetchall()}

    def plan(self, held: Iterable[str]) -> CopyPlan:
        """Against the one list of batches the destination holds (PostgreSQL's raw._batches).

        The build file's raw._batches decides which batches exist. raw._batches and every
        raw entity table travel by those batches (one diff for all); the rest is
        replaced whole.
        """
        diff = diff_batches(self.batch_ids(), held)
        steps = []
        for table in self.tables:
            if table.by_batch:
                steps.append(TableCopy(table, diff, BATCH_COLUMN))
            elif table.name == BATCH_TABLE:
                steps.append(TableCopy(table, diff, "batch_id"))
            else:
                steps.append(TableCopy(table))
        return CopyPlan(tuple(steps), diff)

    def plan_per_table(
        self,
        held: Callable[[SourceTable], Iterable[str]],
        name: Callable[[str], str] | None = None,
    ) -> CopyPlan:
        """Against what the destination holds of each raw entity table (Spark's batch files).

        Each raw entity table's own `_batch_id` values decide: `held(table)` are the
        batches the destination has of it, named `name(batch_id)`. Every other table,
        raw._batches included, is replaced whole.
        """
        steps = []
        for table in self.tables:
            if table.by_batch:
                diff = diff_batches(self.batch_ids(table), held(table), name)
                steps.append(TableCopy(table, diff, BATCH_COLUMN))
            else:
                steps.append(TableCopy(table))
        return CopyPlan(tuple(steps))


def _list_tables(duck) -> tuple[SourceTable, ...]:
    schemas = ", ".join(f"'{s}'" for s in SOURCE_SCHEMAS)
    rows = duck.execute(
        "select table_schema, table_name, column_name, data_type from information_schema.columns "
        f"where table_catalog = '{CATALOG}' and table_schema in ({schemas}) "
        "order by table_schema, table_name, ordinal_position"
    ).fetchall()
    columns: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for schema, table, column, dtype in rows:
        columns.setdefault((schema, table), []).append((column, dtype))
    return tuple(SourceTable(schema, table, tuple(cols)) for (schema, table), cols in columns.items())
