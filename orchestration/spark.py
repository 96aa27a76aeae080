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
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import duckdb

from orchestration.mirror import SOURCE_SCHEMAS, CopyResult, MirrorSource, SourceTable
from orchestration.mirror import ident as _ident
from orchestration.mirror import sql_str as _sql_str
from orchestration.publish import swapped_in, write_publish_info

# Which tables and batches are copied: orchestration/mirror.py.
EXPORTED_SCHEMAS = SOURCE_SCHEMAS
SCHEMA_FILE = "schema.parquet"  # zero rows, the table's columns: Spark infers the schema from it
EXPORT_MANIFEST = "_export.json"
_BATCH = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")


def spark_dir(build_db: Path) -> Path:
    """Where the Spark target keeps its source copy, warehouse and metastore."""
    configured = os.environ.get("SPM_SPARK_DIR")
    if configured:
        return Path(configured).expanduser().resolve()
    return build_db.parent / "spark"


def _batch_file(batch_id: str) -> str:
    if not _BATCH.match(batch_id):
        raise ValueError(f"unexpected batch id {batch_id!r}")
    return f"batch-{batch_id.replace(':', '_')}.parquet"


# --------------------------------------------------------------------------- export


@dataclass
class ExportResult(CopyResult):
    label: ClassVar[str] = "Spark source copy"


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
    with MirrorSource(build_db, timezone) as build:
        duck = build.duck
        # A table whose columns changed since the last copy is written again whole.
        changed = {t.key for t in build.tables if previous.get(t.key) != _manifest_entry(t)}

        def held(table: SourceTable) -> set[str]:
            if table.key in changed:
                return set()
            return {p.name for p in (source / table.key).glob("batch-*.parquet")}

        plan = build.plan_per_table(held, _batch_file)
        result.new_batches, result.removed_batches = plan.new_batches, plan.removed_batches
        for step in plan.tables:
            table, key = step.table, step.table.key
            folder = source / key  # `raw._batches`: no folder name Spark would take as hidden
            select = _spark_select(table.columns)
            if key in changed and folder.exists():
                shutil.rmtree(folder)
            folder.mkdir(parents=True, exist_ok=True)
            manifest[key] = _manifest_entry(table)
            if key in changed or not (folder / SCHEMA_FILE).exists():
                _copy(duck, f"select {select} from {table.relation} limit 0", folder / SCHEMA_FILE)
            if step.batches is not None:
                for stale in step.batches.stale:
                    (folder / stale).unlink()
                for batch in step.batches.new:
                    copied = _copy(
                        duck,
                        f"select {select} from {table.relation} where _batch_id = '{_sql_str(batch)}'",
                        folder / _batch_file(batch),
                    )
                    result.rows_copied[table.name] = result.rows_copied.get(table.name, 0) + copied
            else:  # plan tables, batches, closed periods, rejects: small, replaced whole
                for old in folder.glob("part-*.parquet"):
                    old.unlink()
                _copy(duck, f"select {select} from {table.relation}", folder / "part-0.parquet")
                result.tables_replaced.append(key)
        for key in previous.keys() - manifest.keys():  # a table gone from the build file
            shutil.rmtree(source / key, ignore_errors=True)
        tmp = manifest_path.with_name(f".{EXPORT_MANIFEST}.tmp")
        tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True))
        os.replace(tmp, manifest_path)
    if log:
        log(result.summary())
    return result


def _manifest_entry(table: SourceTable) -> list[list[str]]:
    """A table's columns as the export manifest records them."""
    return [list(c) for c in table.columns]


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
    counts: dict[str, int] = {}
    with swapped_in(warehouse) as tmp:
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
                        + f" from read_parquet([{file_list}], union_by_name = true,"
                        + f" hive_partitioning = {hive})"
                    )
                counts[table] = duck.execute(f"select count(*) from {target}").fetchone()[0]
            write_publish_info(duck, _ident(schema), run_id, len(counts), source="spark")
            duck.execute("checkpoint")
        finally:
            duck.close()
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
