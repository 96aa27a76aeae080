"""PostgreSQL warehouse target (`SPM_DBT_TARGET=postgres`).

One loader: landing files are loaded into the DuckDB build file as on the default
target, then `mirror_to_postgres` copies what PostgreSQL does not have yet (the new
batches' raw rows, the plan tables, the control tables) into the same schemas there, in
one transaction, before dbt builds. dbt then builds staging, intermediate and marts in
PostgreSQL, where BI reads the `marts` schema live through the read-only roles
(`bi_reader`, `finance_reader`; grants in dbt_project.yml and macros/cross_db_grants.sql).
`publish_from_postgres` also writes the marts to the published DuckDB file, so the HTML
report and the finance export read the same numbers on either target.

Connection settings come from the environment only: SPM_PG_HOST, SPM_PG_PORT,
SPM_PG_USER, SPM_PG_PASSWORD, SPM_PG_DATABASE (the same variables profiles.yml reads).
DuckDB's postgres extension would need a download, so rows travel as CSV through COPY.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from importlib import metadata
from pathlib import Path
from typing import ClassVar

import duckdb
from packaging.version import Version

from orchestration.dagster_dbt_lean import DbtCliResource
from orchestration.dbt_worker import WORKER_ENV, take_dbt_worker
from orchestration.mirror import BATCH_TABLE, SOURCE_SCHEMAS, CopyResult, MirrorSource
from orchestration.mirror import ident as _ident
from orchestration.mirror import sql_str as _sql_str
from orchestration.publish import swapped_in, write_publish_info

# Group roles the marts are granted to (dbt_project.yml `grants`); people log in as
# their own users, members of one of these.
BI_ROLE = "bi_reader"
FINANCE_ROLE = "finance_reader"
READER_ROLES = (BI_ROLE, FINANCE_ROLE)

# Schemas of the build DuckDB file mirrored to PostgreSQL (which tables and batches:
# orchestration/mirror.py).
MIRRORED_SCHEMAS = SOURCE_SCHEMAS
_COPY_CHUNK = 1 << 20


@dataclass(frozen=True)
class PostgresConfig:
    host: str = "localhost"
    port: int = 5432
    user: str = "spm"
    password: str = ""
    dbname: str = "spm"

    @classmethod
    def from_env(cls) -> PostgresConfig:
        return cls(
            host=os.environ.get("SPM_PG_HOST") or "localhost",
            port=int(os.environ.get("SPM_PG_PORT") or 5432),
            user=os.environ.get("SPM_PG_USER") or "spm",
            password=os.environ.get("SPM_PG_PASSWORD") or "",
            dbname=os.environ.get("SPM_PG_DATABASE") or "spm",
        )

    def conninfo(self) -> str:
        from psycopg.conninfo import make_conninfo

        params = {"host": self.host, "port": self.port, "user": self.user, "dbname": self.dbname}
        if self.password:
            params["password"] = self.password
        return make_conninfo("", **params)

    def describe(self) -> str:
        """Where, without the password (for logs and messages)."""
        return f"{self.user}@{self.host}:{self.port}/{self.dbname}"


def connect(config: PostgresConfig | None = None, **kwargs):
    import psycopg

    config = config or PostgresConfig.from_env()
    try:
        return psycopg.connect(config.conninfo(), connect_timeout=10, **kwargs)
    except psycopg.OperationalError as exc:
        raise RuntimeError(f"cannot connect to PostgreSQL {config.describe()}: {exc}") from exc


# --------------------------------------------------------------------------- roles


def ensure_reader_roles(pg) -> list[str]:
    """Create the read-only group roles when missing (needs CREATEROLE); returns those created.

    Without the privilege a missing role is an error that says what the DBA must run.
    """
    created = []
    for role in READER_ROLES:
        exists = pg.execute("select 1 from pg_roles where rolname = %s", [role]).fetchone()
        if exists:
            continue
        allowed = pg.execute(
            "select rolcreaterole or rolsuper from pg_roles where rolname = current_user"
        ).fetchone()[0]
        if not allowed:
            raise RuntimeError(
                f"PostgreSQL role {role} does not exist and {pg.info.user} may not create it: "
                f"run `create role {role} nologin;` as an administrator (docs/bi.md)"
            )
        pg.execute(f"create role {_ident(role)} nologin")
        created.append(role)
    return created


# --------------------------------------------------------------------------- mirror

_DUCK_TO_PG = {
    "VARCHAR": "text",
    "BIGINT": "bigint",
    "INTEGER": "integer",
    "SMALLINT": "smallint",
    "DOUBLE": "double precision",
    "FLOAT": "real",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "HUGEINT": "numeric(38, 0)",
}


def _pg_type(duck_type: str) -> str:
    if duck_type.startswith("DECIMAL"):
        return duck_type.replace("DECIMAL", "numeric")
    return _DUCK_TO_PG.get(duck_type, "text")


@dataclass
class MirrorResult(CopyResult):
    label: ClassVar[str] = "PostgreSQL mirror"
    roles_created: list[str] = field(default_factory=list)


def _ensure_pg_table(pg, schema: str, table: str, columns: list[tuple[str, str]]) -> None:
    cols = ", ".join(f"{_ident(c)} {_pg_type(t)}" for c, t in columns)
    pg.execute(f"create table if not exists {_ident(schema)}.{_ident(table)} ({cols})")
    for column, dtype in columns:  # a column added to the contract later
        pg.execute(
            f"alter table {_ident(schema)}.{_ident(table)} add column if not exists "
            f"{_ident(column)} {_pg_type(dtype)}"
        )


def _copy_query(duck, pg, query: str, schema: str, table: str, columns: Iterable[str]) -> int:
    """Rows of a DuckDB query into a PostgreSQL table, through a CSV file and COPY."""
    cols = ", ".join(_ident(c) for c in columns)
    with tempfile.TemporaryDirectory(prefix="spm-pg-") as tmp:
        path = Path(tmp) / "rows.csv"
        # DuckDB writes null as an empty field and '' as "": PostgreSQL's CSV reading.
        duck.execute(f"copy ({query}) to '{_sql_str(str(path))}' (format csv, header false)")
        with pg.cursor() as cur:
            with (
                cur.copy(f"copy {_ident(schema)}.{_ident(table)} ({cols}) from stdin (format csv)") as copy,
                path.open("rb") as fh,
            ):
                while chunk := fh.read(_COPY_CHUNK):
                    copy.write(chunk)
            return cur.rowcount


def mirror_to_postgres(
    build_db: Path,
    config: PostgresConfig | None = None,
    log: Callable[[str], None] | None = None,
) -> MirrorResult:
    """Bring PostgreSQL's raw, plan and control tables level with the DuckDB build file.

    Raw entity rows travel by batch: batches PostgreSQL lacks are copied, batches it has
    that the build file no longer has are removed. Plan tables and closed periods are
    small and replaced whole. All of it in one PostgreSQL transaction.
    """
    result = MirrorResult()
    with MirrorSource(build_db) as source, connect(config) as pg:
        duck = source.duck
        pg.execute("set local statement_timeout = 0")
        result.roles_created = ensure_reader_roles(pg)
        for schema in MIRRORED_SCHEMAS:
            pg.execute(f"create schema if not exists {_ident(schema)}")
        for table in source.tables:
            _ensure_pg_table(pg, table.schema, table.name, list(table.columns))

        pg_batches = {r[0] for r in pg.execute(f"select batch_id from raw.{BATCH_TABLE}").fetchall()}
        plan = source.plan(pg_batches)
        new, stale = list(plan.batches.new), list(plan.batches.stale)
        result.new_batches, result.removed_batches = plan.new_batches, plan.removed_batches
        duck.execute("create temp table new_batches (batch_id varchar)")
        if new:
            duck.executemany("insert into new_batches values (?)", [[b] for b in new])

        for step in plan.tables:
            table, names, target = step.table, step.table.column_names, step.table.key
            if step.batches is None:  # plan tables, closed periods: small, replaced whole
                pg.execute(f"delete from {target}")
                query = f"select {', '.join(names)} from {table.relation}"
                _copy_query(duck, pg, query, table.schema, table.name, names)
                result.tables_replaced.append(target)
                continue
            column = _ident(step.batch_column)
            if stale:
                pg.execute(f"delete from {target} where {column} = any(%s)", [stale])
            if new:
                copied = _copy_query(
                    duck,
                    pg,
                    f"select {', '.join(names)} from {table.relation} "
                    f"where {column} in (select batch_id from new_batches)",
                    table.schema,
                    table.name,
                    names,
                )
                if table.by_batch:  # rows of raw entity tables, not of raw._batches
                    result.rows_copied[table.name] = copied
        pg.commit()
    if log:
        log(result.summary())
    return result


# --------------------------------------------------------------------------- publish

_PG_TO_DUCK = {
    "text": "VARCHAR",
    "character varying": "VARCHAR",
    "character": "VARCHAR",
    "bigint": "BIGINT",
    "integer": "INTEGER",
    "smallint": "SMALLINT",
    "double precision": "DOUBLE",
    "real": "FLOAT",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp without time zone": "TIMESTAMP",
    "timestamp with time zone": "TIMESTAMPTZ",
}


def _duck_type(data_type: str, precision: int | None, scale: int | None) -> str:
    if data_type == "numeric":
        if precision is not None and precision <= 38:
            return f"DECIMAL({precision}, {scale or 0})"
        return "DOUBLE"
    return _PG_TO_DUCK.get(data_type, "VARCHAR")


@dataclass(frozen=True)
class PostgresPublishResult:
    path: Path
    tables: dict[str, int]


def publish_from_postgres(
    warehouse: Path, run_id: str, config: PostgresConfig | None = None, schema: str = "marts"
) -> PostgresPublishResult:
    """Copy PostgreSQL's marts into the published DuckDB file (atomic swap, as on DuckDB).

    BI tools on PostgreSQL read the marts live; the HTML report, the finance export and
    file-based BI read this copy, so both targets publish the same file.
    """
    counts: dict[str, int] = {}
    with swapped_in(warehouse) as tmp:
        duck = duckdb.connect(str(tmp))
        try:
            with connect(config) as pg, tempfile.TemporaryDirectory(prefix="spm-pg-") as tmpdir:
                rows = pg.execute(
                    "select c.table_name, c.column_name, c.data_type, c.numeric_precision, c.numeric_scale "
                    "from information_schema.columns c join information_schema.tables t "
                    "on t.table_schema = c.table_schema and t.table_name = c.table_name "
                    "where c.table_schema = %s and t.table_type = 'BASE TABLE' "
                    "and c.table_name not like '%%__dbt_%%' and c.table_name not like '\\_%%' "
                    "order by c.table_name, c.ordinal_position",
                    [schema],
                ).fetchall()
                tables: dict[str, list[tuple[str, str]]] = {}
                for table, column, dtype, precision, scale in rows:
                    tables.setdefault(table, []).append((column, _duck_type(dtype, precision, scale)))
                if not tables:
                    raise RuntimeError(f"PostgreSQL {schema}: no tables, nothing to publish")
                duck.execute(f"create schema {_ident(schema)}")
                for table, columns in tables.items():
                    cols = ", ".join(f'"{c}" {t}' for c, t in columns)
                    duck.execute(f"create table {_ident(schema)}.{_ident(table)} ({cols})")
                    path = Path(tmpdir) / f"{table}.csv"
                    with path.open("wb") as fh, pg.cursor() as cur:
                        query = f"copy {_ident(schema)}.{_ident(table)} to stdout (format csv, null '\\N')"
                        with cur.copy(query) as copy:
                            for chunk in copy:
                                fh.write(chunk)
                    if path.stat().st_size:
                        duck.execute(
                            f"copy {_ident(schema)}.{_ident(table)} from '{_sql_str(str(path))}' "
                            "(format csv, header false, delim ',', quote '\"', escape '\"', nullstr '\\N')"
                        )
                    counts[table] = duck.execute(
                        f"select count(*) from {_ident(schema)}.{_ident(table)}"
                    ).fetchone()[0]
                    path.unlink()
            write_publish_info(duck, _ident(schema), run_id, len(counts), source="postgres")
            duck.execute("checkpoint")
        finally:
            duck.close()
    return PostgresPublishResult(warehouse, counts)


# --------------------------------------------------------------------------- Dagster


def is_postgres_target() -> bool:
    return (os.environ.get("SPM_DBT_TARGET") or "duckdb") == "postgres"


class SpmDbtCliResource(DbtCliResource):
    """dbt, plus the PostgreSQL mirror before `dbt build` on the postgres target.

    The mirror runs inside the dbt step, after every raw and plan asset (the dbt
    models' upstreams) and before the first model: one loader, two warehouses.
    """

    def cli(self, args: Sequence[str], *, context=None, **kwargs):
        if args and args[0] == "build" and is_postgres_target():
            from orchestration.settings import Settings

            log = context.log.info if context is not None else None
            mirror_to_postgres(Settings.from_env().build_db, log=log)
        elif args and args[0] == "build" and os.environ.get("SPM_DBT_TARGET") == "spark":
            # The same for Spark: Parquet copies of raw and plan tables (orchestration/spark.py).
            from orchestration.settings import Settings
            from orchestration.spark import prepare_spark_build

            log = context.log.info if context is not None else None
            prepare_spark_build(Settings.from_env().build_db, os.environ.get("SPM_TIMEZONE"), log=log)
        worker = take_dbt_worker() if args and args[0] == "build" else None
        if worker is None:
            return super().cli(args, context=context, **kwargs)
        os.environ[WORKER_ENV] = worker  # dagster-dbt hands this process's environment to dbt
        try:
            return super().cli(args, context=context, **kwargs)
        finally:
            os.environ.pop(WORKER_ENV, None)

    @cached_property
    def _cli_version(self) -> Version:
        # dagster-dbt runs `dbt --version` in a subprocess to learn it (3-4 s at every
        # `spm run`: it imports dbt); the dbt here is the installed dbt-core package.
        return Version(metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]):
        # dagster-dbt opens an in-process dbt adapter before each invocation (2 s at every
        # `spm run`) only to fetch row counts or column metadata, which we do not ask for.
        return None
