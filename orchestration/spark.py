"""Spark warehouse target (`SPM_DBT_TARGET=spark`, docs/scaling.md).

One loader, as on PostgreSQL: landing files are loaded into the DuckDB build file, then
`export_for_spark` copies what Spark does not have yet (the new batches' raw rows, the
plan tables, the control tables) to Parquet files under `<spark dir>/source/<schema>.
<table>/`. dbt-spark (method `session`: a local pyspark inside the dbt process) reads
each dbt source straight from its folder (the `source` macro of
macros/cross_db_spark.sql reads `parquet.<folder>`), then builds staging,
intermediate and marts as Parquet tables in `<spark dir>/warehouse`, with the Hive
metastore in `<spark dir>/metastore_db` so the next run finds them (incremental marts).

No JVM runs in the orchestrator: `publish_from_spark` reads the marts' Parquet files
with DuckDB and writes the published DuckDB file (the report and the finance export read
it, as on the other targets), and `spm close-period` writes a closed period's rows into
its partition of the frozen marts (`freeze_spark_period`).

The Spark dir is `SPM_SPARK_DIR`, by default a `spark` folder beside the build file.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

EXPORTED_SCHEMAS = ("raw", "plan")
BATCH_TABLE = "_batches"
SCHEMA_FILE = "schema.parquet"  # zero rows, the table's columns: Spark infers the schema from it
EXPORT_MANIFEST = "_export.json"
_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")
_BATCH = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")


def spark_dir(build_db: Path) -> Path:
    """Where the Spark target keeps its source copy, warehouse and metastore."""
    configured = os.environ.get("SPM_SPARK_DIR")
    if configured:
        return Path(configured).expanduser().resolve()
    return build_db.parent / "spark"


def _ident(name: str) -> str:
    if not _IDENT.match(name):
        raise ValueError(f"unexpected identifier {name!r}")
    return name


def _sql_str(text: str) -> str:
    return text.replace("'", "''")


def _batch_file(batch_id: str) -> str:
    if not _BATCH.match(batch_id):
        raise ValueError(f"unexpected batch id {batch_id!r}")
    return f"batch-{batch_id.replace(':', '_')}.parquet"


# --------------------------------------------------------------------------- export


@dataclass
class ExportResult:
    new_batches: int = 0
    removed_batches: int = 0
    rows_copied: dict[str, int] = field(default_factory=dict)
    tables_replaced: list[str] = field(default_factory=list)

    def summary(self) -> str:
        rows = sum(self.rows_copied.values())
        return (
            f"Spark source copy: {self.new_batches} new batch(es), {rows} raw row(s) copied, "
            f"{self.removed_batches} batch(es) removed, {len(self.tables_replaced)} table(s) replaced"
        )


def _duck_tables(duck) -> dict[tuple[str, str], list[tuple[str, str]]]:
    schemas = ", ".join(f"'{s}'" for s in EXPORTED_SCHEMAS)
    rows = duck.execute(
        "select table_schema, table_name, column_name, data_type from information_schema.columns "
        f"where table_catalog = 'build' and table_schema in ({schemas}) "
        "order by table_schema, table_name, ordinal_position"
    ).fetchall()
    tables: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for schema, table, column, dtype in rows:
        tables.setdefault((schema, table), []).append((column, dtype))
    return tables


def _spark_select(columns: Sequence[tuple[str, str]]) -> str:
    """Columns as Spark reads them back: naive timestamps become instants in the session
    time zone (Spark's `timestamp`), HUGEINT a decimal; the rest map one to one."""
    out = []
    for name, dtype in columns:
        col = f'"{_ident(name)}"'
        if dtype == "TIMESTAMP":
            out.append(f"cast({col} as timestamptz) as {col}")
        elif dtype == "HUGEINT":
            out.append(f"cast({col} as decimal(38, 0)) as {col}")
        else:
            out.append(col)
    return ", ".join(out)


def _copy(duck, query: str, path: Path) -> int:
    tmp = path.with_name(f".{path.name}.tmp")
    duck.execute(f"copy ({query}) to '{_sql_str(str(tmp))}' (format parquet, compression zstd)")
    os.replace(tmp, path)  # a file Spark may list is complete
    return duck.execute(f"select count(*) from read_parquet('{_sql_str(str(path))}')").fetchone()[0]


def export_for_spark(
    build_db: Path,
    target_dir: Path,
    log: Callable[[str], None] | None = None,
    timezone: str | None = None,
) -> ExportResult:
    """Bring the Parquet copy of the build file's raw, plan and control tables up to date.

    Raw entity tables get one file per batch: batches not yet copied are written, files
    of batches the build file no longer has are removed. Plan and control tables are
    small and rewritten whole. A table whose columns changed is rewritten whole. Each
    table folder also holds a zero-row `schema.parquet` so an empty table has a schema.
    `timezone` is the session time zone Spark reads naive timestamps in (the company's).
    """
    result = ExportResult()
    source = target_dir / "source"
    source.mkdir(parents=True, exist_ok=True)
    manifest_path = source / EXPORT_MANIFEST
    previous = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    manifest: dict[str, list[list[str]]] = {}
    duck = duckdb.connect()
    try:
        if timezone:
            duck.execute(f"set TimeZone = '{_sql_str(timezone)}'")
        duck.execute(f"attach '{_sql_str(str(build_db))}' as build (read_only)")
        tables = _duck_tables(duck)
        if ("raw", BATCH_TABLE) not in tables:
            raise RuntimeError(f"{build_db}: no raw.{BATCH_TABLE} table, nothing loaded yet")
        for (schema, table), columns in tables.items():
            key = f"{_ident(schema)}.{_ident(table)}"
            folder = source / key  # `raw._batches`: no folder name Spark would take as hidden
            select = _spark_select(columns)
            names = [c for c, _ in columns]
            changed = previous.get(key) != [list(c) for c in columns]
            if changed and folder.exists():
                shutil.rmtree(folder)
            folder.mkdir(parents=True, exist_ok=True)
            manifest[key] = [list(c) for c in columns]
            if changed or not (folder / SCHEMA_FILE).exists():
                _copy(duck, f"select {select} from build.{key} limit 0", folder / SCHEMA_FILE)
            if schema == "raw" and "_batch_id" in names:
                have = {p.name for p in folder.glob("batch-*.parquet")}
                batches = {
                    _batch_file(b): b
                    for (b,) in duck.execute(f"select distinct _batch_id from build.{key}").fetchall()
                }
                for stale in sorted(have - batches.keys()):
                    (folder / stale).unlink()
                    result.removed_batches += 1
                for name in sorted(batches.keys() - have):
                    copied = _copy(
                        duck,
                        f"select {select} from build.{key} where _batch_id = '{_sql_str(batches[name])}'",
                        folder / name,
                    )
                    result.rows_copied[table] = result.rows_copied.get(table, 0) + copied
                    result.new_batches += 1
            else:  # plan tables, batches, closed periods, rejects: small, replaced whole
                for old in folder.glob("part-*.parquet"):
                    old.unlink()
                _copy(duck, f"select {select} from build.{key}", folder / "part-0.parquet")
                result.tables_replaced.append(key)
        for key in previous.keys() - manifest.keys():  # a table gone from the build file
            shutil.rmtree(source / key, ignore_errors=True)
        tmp = manifest_path.with_name(f".{EXPORT_MANIFEST}.tmp")
        tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True))
        os.replace(tmp, manifest_path)
    finally:
        duck.close()
    if log:
        log(result.summary())
    return result


# --------------------------------------------------------------------------- publish

# The marts' contract types (DuckDB names, as in the model yml files) in the manifest.
_MART_SCHEMA = "marts"


def mart_contracts(manifest_path: Path, schema: str = _MART_SCHEMA) -> dict[str, list[tuple[str, str]]]:
    """Table -> [(column, DuckDB type)] of every table model of `schema`, contract order."""
    manifest = json.loads(manifest_path.read_text())
    marts: dict[str, list[tuple[str, str]]] = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] != "model" or node["schema"] != schema:
            continue
        if node["config"].get("materialized") not in ("table", "incremental"):
            continue
        columns = [(c["name"], c.get("data_type")) for c in node["columns"].values()]
        missing = [name for name, dtype in columns if not dtype]
        if not columns or missing:
            raise RuntimeError(f"model {node['name']}: no contract type for {missing or 'any column'}")
        marts[_ident(node["alias"] or node["name"])] = columns
    if not marts:
        raise RuntimeError(f"{manifest_path}: no table models in schema {schema}")
    return marts


def _data_files(folder: Path) -> list[Path]:
    """Parquet files of a Spark table folder; hidden and `_`-prefixed paths (a job's
    `_temporary`, `_SUCCESS`) are not data, as Spark itself skips them."""
    files = []
    for path in sorted(folder.rglob("*.parquet")):
        parts = path.relative_to(folder).parts
        if not any(p.startswith(("_", ".")) for p in parts):
            files.append(path)
    return files


@dataclass(frozen=True)
class SparkPublishResult:
    path: Path
    tables: dict[str, int]


def publish_from_spark(
    target_dir: Path,
    warehouse: Path,
    run_id: str,
    manifest_path: Path,
    timezone: str,
    schema: str = _MART_SCHEMA,
) -> SparkPublishResult:
    """Copy Spark's marts into the published DuckDB file (atomic swap, as on DuckDB).

    DuckDB reads the Parquet files of each mart in Spark's warehouse (`<db>.db/<table>`,
    partitions as `col=value` folders) and casts every column to its contract type, in
    contract order: the file looks the same whichever engine built it. Spark stores
    timestamps as instants; they come back as wall-clock time in `timezone`, the Spark
    session's time zone.
    """
    contracts = mart_contracts(manifest_path, schema)
    tables_dir = target_dir / "warehouse" / f"{schema}.db"
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    tmp = warehouse.with_name(f".{warehouse.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    counts: dict[str, int] = {}
    duck = duckdb.connect(str(tmp))
    try:
        duck.execute(f"set TimeZone = '{_sql_str(timezone)}'")
        duck.execute(f"create schema {_ident(schema)}")
        for table, columns in sorted(contracts.items()):
            folder = tables_dir / table
            if not folder.is_dir():
                raise RuntimeError(f"Spark table {schema}.{table} not found in {tables_dir}")
            target = f"{_ident(schema)}.{table}"
            duck.execute(f"create table {target} ({', '.join(f'{_ident(c)} {t}' for c, t in columns)})")
            files = _data_files(folder)
            if files:
                file_list = ", ".join(f"'{_sql_str(str(f))}'" for f in files)
                # Partition values come from `col=value` folders, as text; cast below.
                layout = files[0].relative_to(folder).parts[:-1]
                hive = "true, hive_types_autocast = false" if layout else "false"
                duck.execute(
                    f"insert into {target} select "
                    + ", ".join(f"cast({_ident(c)} as {t})" for c, t in columns)
                    + f" from read_parquet([{file_list}], union_by_name = true, hive_partitioning = {hive})"
                )
            counts[table] = duck.execute(f"select count(*) from {target}").fetchone()[0]
        duck.execute(
            f"create table {_ident(schema)}._publish_info as select "
            "? as run_id, ? as published_at, ? as tables, 'spark' as source",
            [run_id, datetime.now(UTC).replace(tzinfo=None), len(counts)],
        )
        duck.execute("checkpoint")
    except BaseException:
        duck.close()
        tmp.unlink(missing_ok=True)
        raise
    duck.close()
    with tmp.open("rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, warehouse)
    return SparkPublishResult(warehouse, counts)


# --------------------------------------------------------------------------- close

PERIOD_PARTITION = ("period_grain", "period_start")


def freeze_spark_period(
    target_dir: Path,
    published: Path,
    manifest_path: Path,
    grain: str,
    start,
    tables: Sequence[str],
    timezone: str,
    schema: str = _MART_SCHEMA,
) -> dict[str, int]:
    """`spm close-period` on Spark: the period's rows as finance saw them (the published
    file) replace the rows of its partition in each frozen Spark mart, flagged closed.

    The frozen marts are partitioned by (period_grain, period_start) on Spark and their
    pre-hook drops only open periods' partitions, so the partition written here is never
    rebuilt. Spark keeps the partition in its metastore; only its data file changes, in
    the layout and types Spark writes (partition columns in the folder names, the
    contract's types, timestamps as instants). Returns rows per table.
    """
    contracts = mart_contracts(manifest_path, schema)
    rows: dict[str, int] = {}
    duck = duckdb.connect()
    try:
        duck.execute(f"set TimeZone = '{_sql_str(timezone)}'")
        duck.execute(f"attach '{_sql_str(str(published))}' as published (read_only)")
        folders = {}
        for table in tables:
            folder = (
                target_dir
                / "warehouse"
                / f"{schema}.db"
                / _ident(table)
                / f"period_grain={_ident(grain)}"
                / f"period_start={start.isoformat()}"
            )
            if not folder.is_dir():
                raise RuntimeError(f"Spark has no {schema}.{table} partition {grain} {start} ({folder})")
            folders[table] = folder
        for table, folder in folders.items():
            columns = [(c, t) for c, t in contracts[table] if c not in PERIOD_PARTITION]
            select = ", ".join(
                "true as is_closed"
                if c == "is_closed"
                else f"cast({_ident(c)} as {'timestamptz' if t.lower() == 'timestamp' else t}) as {_ident(c)}"
                for c, t in columns
            )
            tmp = folder / ".frozen.parquet.tmp"  # hidden from Spark until renamed
            duck.execute(
                f"copy (select {select} from published.{schema}.{_ident(table)} "
                f"where period_grain = '{_ident(grain)}' and period_start = date '{start.isoformat()}') "
                f"to '{_sql_str(str(tmp))}' (format parquet, compression snappy)"
            )
            rows[table] = duck.execute(
                f"select count(*) from read_parquet('{_sql_str(str(tmp))}')"
            ).fetchone()[0]
            for old in _data_files(folder):
                old.unlink()
            os.replace(tmp, folder / "part-00000-frozen.c000.snappy.parquet")
    finally:
        duck.close()
    return rows


# --------------------------------------------------------------------------- Dagster


def is_spark_target() -> bool:
    return (os.environ.get("SPM_DBT_TARGET") or "duckdb") == "spark"


def prepare_spark_build(build_db: Path, timezone: str | None, log: Callable[[str], None] | None = None):
    """Before `dbt build` on the spark target: the source copy, and SPM_SPARK_DIR for dbt."""
    target_dir = spark_dir(build_db)
    os.environ["SPM_SPARK_DIR"] = str(target_dir)
    return export_for_spark(build_db, target_dir, log=log, timezone=timezone)
