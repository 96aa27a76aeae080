"""Landing zone -> raw schema.

Each file of an entity folder is one batch. Rows land as text, exactly as sent, with
load metadata (batch id, source file, row number, loaded at, row hash); typing and rules
happen downstream in SQL, so nothing is lost here. A file is loaded once per content hash;
a file that cannot be read as a whole is rejected with a message and the run goes on.

Cost: a CSV file is read by DuckDB itself (`read_csv`, every column as text) in one
statement that also numbers the rows and hashes them: no row passes through Python. A
CSV that DuckDB's strict reader refuses (mixed line endings, bad UTF-8, ragged rows) is
retried with the Arrow reader, which either loads it or says why it cannot. Parquet and
JSONL files are read with Arrow (so typed values become the same text as before) and
handed to DuckDB a record batch at a time.

The insert runs on one DuckDB thread: compressing the row groups is most of its cost,
and in parallel, keeping the file's order, it used more CPU for no shorter wall time on
two cores (and wrote the row groups a second time at the next checkpoint). The second core
loads another entity meanwhile (orchestration/executor.py). Nothing is
held in memory beyond DuckDB's write buffers: a file of any size streams through.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import logging
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

from ingestion.entities import ENTITIES, META_COLUMNS, Entity

log = logging.getLogger(__name__)

RAW_SCHEMA = "raw"
SUFFIXES = (".csv", ".parquet", ".jsonl")
_CSV_BLOCK = 16 << 20
_MAX_LINE = 16 << 20  # a CSV record may be this long (the Arrow reader's block size)


class FileRejected(Exception):
    """The whole file cannot be loaded; the message says why."""


@dataclass
class FileResult:
    entity: str
    source_file: str
    batch_id: str
    status: str  # loaded | rejected
    rows_read: int = 0
    message: str = ""
    extra_columns: list[str] = field(default_factory=list)


@dataclass
class EntityLoadResult:
    entity: str
    files: list[FileResult] = field(default_factory=list)
    skipped: int = 0

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_read for f in self.files if f.status == "loaded")

    @property
    def rejected(self) -> list[FileResult]:
        return [f for f in self.files if f.status == "rejected"]


def ensure_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"create schema if not exists {RAW_SCHEMA}")
    con.execute(
        f"""
        create table if not exists {RAW_SCHEMA}._batches (
            batch_id varchar primary key,
            entity varchar not null,
            source_file varchar not null,
            content_sha256 varchar not null,
            file_bytes bigint,
            rows_read bigint,
            status varchar not null,
            message varchar,
            extra_columns varchar,
            loaded_at timestamp not null,
            run_id varchar
        )"""
    )
    # The run dbt is building for: recorded on bonus rows without passing dbt vars (a var
    # that changes every run would force dbt to re-parse the whole project every run).
    con.execute(
        f"create table if not exists {RAW_SCHEMA}._current_run (run_id varchar, started_at timestamp)"
    )
    # The content hash of each landing file as of its size and modification time, so a
    # nightly run hashes only new or rewritten files, not the whole history (see file_digest).
    con.execute(
        f"""
        create table if not exists {RAW_SCHEMA}._landing_files (
            source_file varchar primary key,
            file_bytes bigint not null,
            modified_ns bigint not null,
            content_sha256 varchar not null
        )"""
    )
    con.execute(
        f"""
        create table if not exists {RAW_SCHEMA}._closed_periods (
            period_grain varchar not null,
            period_start date not null,
            closed_at timestamp not null,
            closed_by_run_id varchar,
            primary key (period_grain, period_start)
        )"""
    )
    for entity in ENTITIES:
        cols = ", ".join(f"{c} varchar" for c in entity.all_columns)
        con.execute(
            f"create table if not exists {RAW_SCHEMA}.{entity.raw_table} ({cols}, "
            "_batch_id varchar not null, _source_file varchar not null, "
            "_row_number bigint not null, _loaded_at timestamp not null, _row_hash varchar not null)"
        )
    from expectations.sql import ensure_quality_tables  # row rejects: raw._rejected_rows

    ensure_quality_tables(con)


def landing_files(landing_dir: Path, entity: Entity) -> list[Path]:
    folder = landing_dir / entity.folder
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def file_digest(con: duckdb.DuckDBPyConnection, landing_dir: Path, path: Path) -> str:
    """The file's SHA-256, hashed again only when its size or modification time changed
    (as rsync and make decide): a file rewritten in place gets a new mtime. SPM_REHASH=1
    hashes every file again."""
    rel = path.relative_to(landing_dir).as_posix()
    stat = path.stat()
    if os.environ.get("SPM_REHASH") != "1":
        known = con.execute(
            f"select content_sha256 from {RAW_SCHEMA}._landing_files "
            "where source_file = ? and file_bytes = ? and modified_ns = ?",
            [rel, stat.st_size, stat.st_mtime_ns],
        ).fetchone()
        if known:
            return known[0]
    sha = file_sha256(path)
    con.execute(
        f"insert or replace into {RAW_SCHEMA}._landing_files values (?, ?, ?, ?)",
        [rel, stat.st_size, stat.st_mtime_ns, sha],
    )
    return sha


# Called with each loaded file's result inside its transaction, before commit (row rules).
OnBatch = Callable[[duckdb.DuckDBPyConnection, FileResult], None]


def load_entity(
    con: duckdb.DuckDBPyConnection,
    landing_dir: Path,
    entity: Entity,
    run_id: str = "manual",
    on_batch: OnBatch | None = None,
) -> EntityLoadResult:
    """Load every new file of one entity folder into raw.<source>__<entity>."""
    ensure_raw_schema(con)
    result = EntityLoadResult(entity.folder)
    known = {
        row[0]
        for row in con.execute(
            f"select content_sha256 from {RAW_SCHEMA}._batches where entity = ?",
            [entity.folder],
        ).fetchall()
    }
    for path in landing_files(landing_dir, entity):
        sha = file_digest(con, landing_dir, path)
        if sha in known:
            result.skipped += 1
            continue
        known.add(sha)
        result.files.append(_load_file(con, landing_dir, entity, path, sha, run_id, on_batch))
    return result


def load_landing(
    con: duckdb.DuckDBPyConnection, landing_dir: Path, run_id: str = "manual"
) -> list[EntityLoadResult]:
    return [load_entity(con, landing_dir, entity, run_id) for entity in ENTITIES]


def _load_file(
    con: duckdb.DuckDBPyConnection,
    landing_dir: Path,
    entity: Entity,
    path: Path,
    sha: str,
    run_id: str,
    on_batch: OnBatch | None = None,
) -> FileResult:
    loaded_at = datetime.now(UTC).replace(tzinfo=None)
    rel = path.relative_to(landing_dir).as_posix()
    batch_id = f"{loaded_at:%Y%m%dT%H%M%S}-{sha[:12]}"
    res = FileResult(entity.folder, rel, batch_id, "loaded")
    con.execute("begin transaction")
    try:
        columns = _read_columns(path)
        missing = [c for c in entity.all_columns if c not in columns]
        if missing:
            raise FileRejected(f"missing required column(s): {', '.join(missing)}")
        res.extra_columns = [c for c in columns if c not in entity.all_columns]
        _insert_file(con, entity, path, columns, res, rel, loaded_at)
        if res.rows_read == 0:
            raise FileRejected("empty file: no data rows")
    except (FileRejected, pa.ArrowInvalid, UnicodeDecodeError, csv.Error, OSError) as exc:
        con.execute("rollback")
        con.execute("begin transaction")
        res.status = "rejected"
        res.message = f"{rel}: {_reason(exc)}"
        res.rows_read = 0
        log.warning("rejected file %s", res.message)
    if res.extra_columns and res.status == "loaded":
        res.message = f"{rel}: extra column(s) ignored: {', '.join(res.extra_columns)}"
    if res.status == "loaded" and on_batch is not None:
        on_batch(con, res)  # same transaction: a batch is never visible without its rejects
    con.execute(
        f"insert into {RAW_SCHEMA}._batches values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            batch_id,
            entity.folder,
            rel,
            sha,
            path.stat().st_size,
            res.rows_read,
            res.status,
            res.message or None,
            ",".join(res.extra_columns) or None,
            loaded_at,
            run_id,
        ],
    )
    con.execute("commit")
    return res


def _reason(exc: Exception) -> str:
    if isinstance(exc, FileRejected):
        return str(exc)
    text = str(exc)
    if "UTF8" in text or "utf-8" in text.lower() or isinstance(exc, UnicodeDecodeError):
        return f"unreadable: not valid UTF-8 text ({text[:160]})"
    return f"unreadable: {text[:200]}"


def _read_columns(path: Path) -> list[str]:
    columns = _header(path)
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        raise FileRejected(f"column(s) named more than once: {', '.join(repeated)}")
    return columns


def _header(path: Path) -> list[str]:
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return [c.strip().lower() for c in pq.ParquetFile(path).schema_arrow.names]
    if path.stat().st_size == 0:
        raise FileRejected("empty file: no header")
    if suffix == ".jsonl":
        with path.open(encoding="utf-8") as fh:
            first = fh.readline()
        return [c.strip().lower() for c in pajson.read_json(io.BytesIO(first.encode())).schema.names]
    with path.open(encoding="utf-8-sig", newline="") as fh:
        header = next(csv.reader(fh), None)
    if not header:
        raise FileRejected("empty file: no header")
    return [c.strip().lower() for c in header]


def _insert_file(
    con: duckdb.DuckDBPyConnection,
    entity: Entity,
    path: Path,
    columns: list[str],
    res: FileResult,
    rel: str,
    loaded_at: datetime,
) -> None:
    """Insert every row of one file (in the caller's transaction); res.rows_read counts them."""
    with _one_thread(con):
        if path.suffix.lower() == ".csv":
            try:
                res.rows_read = _insert_csv(con, entity, path, columns, res.batch_id, rel, loaded_at)
                return
            except duckdb.Error as exc:
                # DuckDB's reader is strict; the Arrow reader loads what it can and names the
                # problem of what it cannot. The failed statement aborted the transaction.
                log.info("%s: DuckDB's CSV reader refused the file (%s); reading it with Arrow", rel, exc)
                con.execute("rollback")
                con.execute("begin transaction")
                res.rows_read = 0
        for batch in _read_batches(path, columns):
            _insert_batch(con, entity, batch, res, rel, loaded_at)
        # Arrow's allocator keeps what the batches used (~250 MB per 5M rows) unless told:
        # the run's peak is this process plus dbt's, which starts after it.
        pa.default_memory_pool().release_unused()


class _one_thread:
    """Run the inserts on one DuckDB thread, then restore the setting. It is a setting of the
    whole database instance: with two loads at once (cursors of one instance, the
    orchestration's parallel ingest), the first one in sets it and the last one out restores
    it."""

    _lock = threading.Lock()
    _held: ClassVar[dict[str, list[int]]] = {}  # database -> [loads inside, threads before]

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.key = ""

    def __enter__(self) -> None:
        (path,) = self.con.execute(
            "select path from duckdb_databases() where database_name = current_database()"
        ).fetchone()
        self.key = path or f"memory:{id(self.con)}"
        with self._lock:
            held = self._held.get(self.key)
            if held:
                held[0] += 1
                return
            threads = int(self.con.execute("select current_setting('threads')").fetchone()[0])
            self.con.execute("set threads = 1")
            self._held[self.key] = [1, threads]

    def __exit__(self, *exc) -> None:
        with self._lock:
            held = self._held[self.key]
            held[0] -= 1
            if held[0]:
                return
            del self._held[self.key]
            with contextlib.suppress(duckdb.Error):  # an aborted transaction refuses it: the caller ends
                self.con.execute(f"set threads = {held[1]}")


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _fingerprint(columns: tuple[str, ...]) -> str:
    """The row hash: md5 over every contract column (null distinct from empty)."""
    return f"md5(concat_ws(chr(31), {', '.join(f'coalesce({c}, chr(0))' for c in columns)}))"


def csv_source(path: Path, columns: list[str]) -> str:
    """DuckDB's reader over one landing CSV, every column as text (named `columns`, the
    header's names), with `ordinality`: the record's place in the file, from 1."""
    spec = ", ".join(f"{_quote(c)}: 'VARCHAR'" for c in columns)
    return (
        f"read_csv({_quote(str(path))}, columns = {{{spec}}}, header = true, auto_detect = false, "
        f"delim = ',', quote = '\"', escape = '\"', allow_quoted_nulls = false, "
        f"encoding = 'utf-8', max_line_size = {_MAX_LINE}, buffer_size = {2 * _MAX_LINE}) "
        "with ordinality as f"
    )


def _insert_csv(
    con: duckdb.DuckDBPyConnection,
    entity: Entity,
    path: Path,
    columns: list[str],
    batch_id: str,
    rel: str,
    loaded_at: datetime,
) -> int:
    """One statement: DuckDB reads the file as text, numbers and hashes the rows, inserts them.

    Same reading as the Arrow reader it replaces: RFC 4180 quoting, a quoted value may hold a
    line break, only an unquoted empty field is null ("", "NA" and "null" are text), a
    leading byte-order mark is ignored, blank lines are skipped."""
    cols = ", ".join(entity.all_columns)
    (rows,) = con.execute(
        f"insert into {RAW_SCHEMA}.{entity.raw_table} ({cols}, {', '.join(META_COLUMNS)}) "
        f"select {', '.join(f'f.{c}' for c in entity.all_columns)}, ?, ?, f.ordinality, ?, "
        f"{_fingerprint(entity.all_columns)} from {csv_source(path, columns)}",
        [batch_id, rel, loaded_at],
    ).fetchone()
    return int(rows)


def _read_batches(path: Path, columns: list[str]) -> Iterator[pa.Table]:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(column_names=columns, skip_rows=1, block_size=_CSV_BLOCK),
            # a quoted value may hold a line break (addresses, descriptions, names)
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={c: pa.string() for c in columns},
                strings_can_be_null=True,
                null_values=[""],  # only an empty field is null: "NA" (a region), "null" are text
                quoted_strings_can_be_null=False,
            ),
        )
        for batch in reader:
            yield pa.Table.from_batches([batch])
    elif suffix == ".parquet":
        pf = pq.ParquetFile(path)
        for batch in pf.iter_batches(batch_size=1 << 18):
            table = pa.Table.from_batches([batch])
            yield table.rename_columns([c.strip().lower() for c in table.column_names])
    else:
        table = pajson.read_json(path)
        yield table.rename_columns([c.strip().lower() for c in table.column_names])


def _as_text(table: pa.Table, columns: tuple[str, ...]) -> pa.Table:
    arrays = []
    for name in columns:
        col = table.column(name)
        if not pa.types.is_string(col.type) and not pa.types.is_large_string(col.type):
            if pa.types.is_nested(col.type):
                raise FileRejected(f"column {name} holds nested values, expected scalars")
            col = pc.cast(col, pa.string())
        arrays.append(col)
    return pa.Table.from_arrays(arrays, names=list(columns))


def _insert_batch(
    con: duckdb.DuckDBPyConnection,
    entity: Entity,
    table: pa.Table,
    res: FileResult,
    rel: str,
    loaded_at: datetime,
) -> None:
    text = _as_text(table, entity.all_columns)
    first = res.rows_read + 1
    numbers = pa.array(np.arange(first, first + text.num_rows, dtype=np.int64))
    text = text.append_column("_row_number", numbers)
    con.register("_landing_batch", text)
    try:
        cols = ", ".join(entity.all_columns)
        con.execute(
            f"insert into {RAW_SCHEMA}.{entity.raw_table} ({cols}, {', '.join(META_COLUMNS)}) "
            f"select {cols}, ?, ?, _row_number, ?, {_fingerprint(entity.all_columns)} "
            "from _landing_batch",
            [res.batch_id, rel, loaded_at],
        )
    finally:
        con.unregister("_landing_batch")
    res.rows_read += text.num_rows


def record_current_run(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
    ensure_raw_schema(con)
    con.execute("begin transaction")
    con.execute(f"delete from {RAW_SCHEMA}._current_run")
    con.execute(
        f"insert into {RAW_SCHEMA}._current_run values (?, ?)",
        [run_id, datetime.now(UTC).replace(tzinfo=None)],
    )
    con.execute("commit")
