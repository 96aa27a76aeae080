"""Great Expectations suites derived from the rule registry, run in DuckDB.

One suite per landing entity: every registry rule becomes one expectation on its subject
column (the same SQL subject the reject predicates use), plus batch-level expectations:
the contract columns exist, the key is unique within the batch, and the newest event is
recent (freshness). GX is imported in a process of its own (it takes seconds; see below)
and its analytics are off. A validation whose metrics raised is reported as not
computed, never as a pass or a plain failure.

Where it runs: the rows to validate and their subjects are computed in the warehouse
(a temporary table); GX's SQL execution engine validates them in a process of its own
(`start_gx_worker`), on an in-memory DuckDB holding that table (handed over as a Parquet
file), through a SQLAlchemy engine over duckdb-engine whose every connection is that
DuckDB connection. No row is loaded into pandas. The process is started when a run
starts, so importing GX (~5 s) happens on the other core while the run starts up and
loads, not on the run's path.

What it sees: every new row when the run's batches hold at most `SAMPLE_ROWS` rows
(`SPM_GX_SAMPLE_ROWS`, default 100,000; 0 means no limit). Above that, a deterministic
sample: every row the SQL rules rejected at load (all of them up to `SAMPLE_ROWS`, else an
equally drawn share), the rows holding the newest event (so freshness is exact), and the
rows whose key hashes into the sampled fraction (so all copies of a key are in or out
together and the key-uniqueness expectation stays meaningful). The SQL reject rules have
judged every row at load; GX re-judges the rows it sees, and the check compares the two
on exactly those rows.
"""

from __future__ import annotations

import atexit
import contextlib
import multiprocessing
import os
import sys
import tempfile
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

import duckdb

from expectations.rules import EXACT_DUPLICATE, REGISTRY, ROW, Rule, rules_for
from expectations.sql import (
    REJECTS,
    EvalContext,
    duplicates_of,
    event_time_sql,
    lit,
    record_key,
    set_timezone,
    subjects_sql,
)

ROWS, KEYS, COLUMNS, FRESHNESS = "rows", "keys", "columns", "freshness"
SAMPLE_ROWS = int(os.environ.get("SPM_GX_SAMPLE_ROWS", "").strip() or 100_000)  # 0: no limit
FRAME = "_spm_gx_frame"  # temporary table: one validation's rows and subjects
_HASH_BUCKETS = 1_000_000
_GX: dict[str, Any] = {}
_SHARED: dict[str, duckdb.DuckDBPyConnection] = {}  # the connection GX's engine hands out
_WORKER: dict[str, ProcessPoolExecutor] = {}  # the process GX runs in


def start_gx_worker() -> Future | None:
    """Start the process that runs the GX suites, if it is not running: it imports GX at
    once, beside the caller, instead of when the first new batch is checked. Returns a
    future done when that import is (None: the process was running)."""
    if "pool" in _WORKER:
        return None
    pool = ProcessPoolExecutor(
        max_workers=1, mp_context=multiprocessing.get_context("spawn"), initializer=_warm_up
    )
    warmed = pool.submit(int)  # the pool starts its process on the first task
    _WORKER["pool"] = pool
    # registered after multiprocessing's own exit handler, so it runs before it: that
    # one waits for the process, which waits for a stop that would never come
    atexit.unregister(stop_gx_worker)
    atexit.register(stop_gx_worker, now=True)
    return warmed


def stop_gx_worker(*, now: bool = False) -> None:
    """Let the GX process go (its ~300 MB are not held through the dbt build); the next
    validation starts it again. `now` (at exit): end it at once, its import unfinished."""
    pool = _WORKER.pop("pool", None)
    if pool is None:
        return
    if now:
        for process in list((pool._processes or {}).values()):  # no public way (3.14 has one)
            process.terminate()
    pool.shutdown(wait=now, cancel_futures=True)


def _in_worker(fn, *args):
    """fn(*args) in the GX process, its result back here."""
    start_gx_worker()
    try:
        return _WORKER["pool"].submit(fn, *args).result()
    except BrokenProcessPool:
        _WORKER.pop("pool", None)  # the next call starts a new one; this validation fails
        raise


def _warm_up() -> None:
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    # GX's Spark support is not used here, and pyspark's Spark Connect module exits a
    # process whose __main__ has no file: this one, when the parent ran `python -m ...`
    sys.modules.setdefault("pyspark", None)
    con = duckdb.connect()
    _SHARED["con"] = con  # GX tests the connection when the data source is added
    try:
        _gx()
    finally:
        _SHARED.pop("con", None)
        con.close()


def _exit_with_parent(parent: int) -> None:
    """A run killed outright leaves no GX process behind (nothing else would end it)."""
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(1)


def _gx():
    """The GX module and one ephemeral context per process (import costs ~5 s)."""
    if not _GX:
        os.environ["GX_ANALYTICS_ENABLED"] = "false"
        import great_expectations as gx
        import great_expectations.expectations as gxe
        from great_expectations.data_context.types.base import ProgressBarsConfig
        from sqlalchemy.pool import NullPool

        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = ProgressBarsConfig(globally=False)
        source = context.data_sources.add_sql(
            "spm_duckdb",
            connection_string="duckdb:///:memory:",  # names the dialect; connections come from creator
            kwargs={"creator": _shared_connection, "poolclass": NullPool},
        )
        _GX.update(gx=gx, gxe=gxe, context=context, source=source)
    return _GX


def _shared_connection():
    """A DB-API connection for GX's SQLAlchemy engine: the caller's DuckDB connection.

    duckdb-engine runs every statement on the connection itself and a result lives until
    the next statement. GX closes a connection (which rolls back) before it fetches a
    query's rows, so here begin, commit, rollback and close do nothing: GX only reads the
    frame, and the caller's connection (and any transaction it has open) stays as it was."""
    from duckdb_engine import ConnectionWrapper

    class _Shared(ConnectionWrapper):
        def begin(self) -> None:
            pass

        def commit(self) -> None:
            pass

        def rollback(self) -> None:
            pass

        def close(self) -> None:
            pass

    return _Shared(_SHARED["con"])


@dataclass
class ExpectationOutcome:
    name: str  # rule code, or the batch-level expectation's name
    group: str  # rows | keys | columns | freshness
    success: bool
    computed: bool
    reject: bool = False
    unexpected: set[tuple[str, int]] = field(default_factory=set)  # (batch_id, row_number)
    unexpected_count: int = 0
    observed: Any = None
    error: str = ""


@dataclass
class EntityValidation:
    entity: str
    rows: int  # rows GX validated
    outcomes: list[ExpectationOutcome]
    batch_rows: int = 0  # rows of the batches (duplicates excluded); rows < batch_rows: a sample
    limit: int = 0  # the sample size asked for (0: every row)
    # the rejects recorded at load for the rows GX validated, by rule: (batch_id, row_number)
    recorded: dict[str, set[tuple[str, int]]] = field(default_factory=dict)

    @property
    def sampled(self) -> bool:
        return self.rows < self.batch_rows

    @property
    def coverage(self) -> str:
        """How many rows GX saw, in words (check metadata, logs)."""
        if not self.sampled:
            return f"every new row ({self.rows:,})"
        return (
            f"{self.rows:,} of {self.batch_rows:,} new rows: every row rejected at load (up to "
            f"{self.limit:,}), the newest event, and a deterministic sample of about {self.limit:,} "
            f"rows by key hash; the SQL reject rules judged all {self.batch_rows:,} rows at load"
        )

    @property
    def computed(self) -> bool:
        return all(o.computed for o in self.outcomes)

    def failed(self, *groups: str) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.success and (not groups or o.group in groups)]

    def unexpected_by_rule(self) -> dict[str, set[tuple[str, int]]]:
        out: dict[str, set[tuple[str, int]]] = {}
        for o in self.outcomes:
            if o.group == ROWS and o.reject:
                out.setdefault(o.name, set()).update(o.unexpected)
        return out


def frame_sql(entity: str, batch_ids: list[str], ctx: EvalContext, sample: str = "true") -> str:
    er = REGISTRY[entity]
    where = f"{ROW}._batch_id in ({', '.join(lit(b) for b in batch_ids)}) and ({sample})"
    # the contract columns as sent, beside the subjects: the column expectations read them
    raw_cols = tuple(f"{ROW}.{c} as {c}" for c in er.entity.all_columns)
    return subjects_sql(
        entity,
        rules_for(entity),
        where,
        ctx,
        extra=raw_cols,
        skip_duplicates_of=batch_ids,
        with_values=False,
    )


def sample_sql(
    con: duckdb.DuckDBPyConnection, entity: str, batch_ids: list[str], ctx: EvalContext, max_rows: int
) -> tuple[str, int]:
    """A predicate on the raw row `t` choosing the rows GX validates, and the number of
    rows in the batches (duplicates excluded). "true" when they are at most `max_rows`."""
    er = REGISTRY[entity]
    table = f"raw.{er.entity.raw_table}"
    batches = ", ".join(lit(b) for b in batch_ids)
    dups = duplicates_of(entity, batch_ids)
    in_batches = (
        f"from {table} as {ROW} anti join ({dups}) as dup on dup.batch_id = {ROW}._batch_id "
        f"and dup.row_number = {ROW}._row_number where {ROW}._batch_id in ({batches})"
    )
    (rows,) = con.execute(f"select count(*) {in_batches}").fetchone()
    if not max_rows or rows <= max_rows:
        return "true", rows
    rejected = (
        f"select batch_id, row_number from {REJECTS} where entity = {lit(entity)} "
        f"and rule <> {lit(EXACT_DUPLICATE)} and batch_id in ({batches})"
    )
    (n_rejected,) = con.execute(f"select count(distinct (batch_id, row_number)) from ({rejected})").fetchone()

    def share(value: str, wanted: int, of: int) -> str:
        # hash(value) falls in the first wanted/of of the buckets: deterministic, uniform
        buckets = max(1, _HASH_BUCKETS * wanted // max(of, 1))
        return f"hash({value}) % {_HASH_BUCKETS} < {buckets}"

    parts = [share(record_key(entity), max_rows, rows)]
    # a 64-bit hash of the row id against the rejected rows' (uncorrelated: one small hash
    # table); a collision only adds a row to the sample
    row_id = f"hash({ROW}._batch_id, {ROW}._row_number)"
    reject_rows = f"{row_id} in (select hash(batch_id, row_number) from ({rejected}))"
    if n_rejected <= max_rows:
        parts.append(reject_rows)
    elif n_rejected:
        parts.append(f"({reject_rows} and {share(row_id, max_rows, n_rejected)})")
    if er.event_time and er.max_age:  # one row holding the newest event: its max is exact
        newest = con.execute(
            f"select arg_max(struct_pack(b := {ROW}._batch_id, r := {ROW}._row_number), "
            f"{event_time_sql(entity, ctx)}) {in_batches}"
        ).fetchone()[0]
        if newest is not None:
            parts.append(f"{ROW}._batch_id = {lit(newest['b'])} and {ROW}._row_number = {int(newest['r'])}")
    return " or ".join(f"({p})" for p in parts), rows


def build_suite(entity: str, ctx: EvalContext, frame_columns: list[str]):
    g = _gx()
    gx, gxe = g["gx"], g["gxe"]
    er = REGISTRY[entity]
    suite = gx.ExpectationSuite(name=f"raw.{entity}")
    for col in er.entity.all_columns:
        suite.add_expectation(
            gxe.ExpectColumnToExist(column=col, meta={"name": f"column:{col}", "group": COLUMNS})
        )
    for i, rule in enumerate(rules_for(entity)):
        suite.add_expectation(_expectation(gxe, rule, f"s_{i}", ctx))
    keys = [f"k_{i}" for i in range(len(er.entity.key))]
    meta = {"name": "unique_key", "group": KEYS}
    if len(keys) == 1:
        suite.add_expectation(gxe.ExpectColumnValuesToBeUnique(column=keys[0], meta=meta))
    else:
        suite.add_expectation(gxe.ExpectCompoundColumnsToBeUnique(column_list=keys, meta=meta))
    if er.event_time and er.max_age and "event_time" in frame_columns:
        suite.add_expectation(
            gxe.ExpectColumnMaxToBeBetween(
                column="event_time",
                min_value=ctx.now_local - er.max_age,
                meta={"name": f"newest {er.event_time} within {_age(er.max_age)}", "group": FRESHNESS},
            )
        )
    return suite


def _age(age) -> str:
    hours = int(age.total_seconds() // 3600)
    return f"{hours // 24}d" if hours % 24 == 0 else f"{hours}h"


def _expectation(gxe, rule: Rule, column: str, ctx: EvalContext):
    meta = {"name": rule.code, "group": ROWS, "reject": rule.reject}
    if rule.check == "not_null":
        return gxe.ExpectColumnValuesToNotBeNull(column=column, meta=meta)
    if rule.check == "in_set":
        return gxe.ExpectColumnValuesToBeInSet(column=column, value_set=list(ctx.values(rule)), meta=meta)
    if rule.check == "is_true":
        return gxe.ExpectColumnValuesToBeInSet(column=column, value_set=[True], meta=meta)
    if rule.check == "between":
        lo, hi = ctx.bound(rule.min_value), ctx.bound(rule.max_value)
        return gxe.ExpectColumnValuesToBeBetween(
            column=column,
            min_value=lo,
            max_value=hi,
            strict_min=rule.strict_min,
            strict_max=rule.strict_max,
            meta=meta,
        )
    raise ValueError(f"{rule.entity} {rule.code}: unknown check {rule.check!r}")


def _exception(info: dict | None) -> str:
    """The first error message in a result's exception_info ('' when it computed)."""
    if not info:
        return ""
    if "raised_exception" in info:
        return (info.get("exception_message") or "raised") if info["raised_exception"] else ""
    for nested in info.values():
        if isinstance(nested, dict) and (msg := _exception(nested)):
            return msg
    return ""


def validate_batches(
    con: duckdb.DuckDBPyConnection,
    entity: str,
    batch_ids: list[str],
    ctx: EvalContext,
    max_rows: int | None = None,
) -> EntityValidation:
    """Validate the given batches of one entity (duplicates excluded: they are dropped), in
    DuckDB, on every row or on the sample described above (`max_rows`, default SAMPLE_ROWS)."""
    set_timezone(con, ctx.timezone)
    max_rows = SAMPLE_ROWS if max_rows is None else max_rows
    sample, batch_rows = sample_sql(con, entity, batch_ids, ctx, max_rows)
    con.execute(f"create or replace temp table {FRAME} as {frame_sql(entity, batch_ids, ctx, sample)}")
    try:
        rows = con.execute(f"select count(*) from {FRAME}").fetchone()[0]
        columns = con.execute(f"select name from pragma_table_info('{FRAME}')").fetchall()
        frame_columns = [name for (name,) in columns]
        recorded: dict[str, set[tuple[str, int]]] = {}
        for rule, batch_id, row_number in con.execute(
            f"select r.rule, r.batch_id, r.row_number from {REJECTS} as r semi join {FRAME} as f "
            "on f.batch_id = r.batch_id and f.row_number = r.row_number "
            f"where r.entity = ? and r.rule <> ? and r.batch_id in ({', '.join('?' for _ in batch_ids)})",
            [entity, EXACT_DUPLICATE, *batch_ids],
        ).fetchall():
            recorded.setdefault(rule, set()).add((batch_id, row_number))
        # handed over as a file DuckDB writes and reads: no copy of the rows in Python
        with tempfile.TemporaryDirectory(prefix="spm-gx-") as folder:
            path = os.path.join(folder, "frame.parquet")
            con.execute(f"copy {FRAME} to {lit(path)} (format parquet)")
            outcomes = _in_worker(_validate_frame, path, entity, ctx, frame_columns, rows)
    finally:
        with contextlib.suppress(duckdb.Error):  # never hide the error that got us here
            con.execute(f"drop table if exists {FRAME}")
    return EntityValidation(entity, rows, outcomes, batch_rows, max_rows, recorded)


def _validate_frame(path: str, entity: str, ctx: EvalContext, frame_columns: list[str], rows: int):
    """In the GX process: the frame (a Parquet file) as the temporary table GX validates."""
    con = duckdb.connect()
    try:
        set_timezone(con, ctx.timezone)
        con.execute(f"create temp table {FRAME} as select * from read_parquet({lit(path)})")
        return _validate(con, entity, ctx, frame_columns, rows)
    finally:
        con.close()


def _validate(
    con: duckdb.DuckDBPyConnection, entity: str, ctx: EvalContext, frame_columns: list[str], rows: int
) -> list[ExpectationOutcome]:
    _SHARED["con"] = con  # GX's engine hands this connection out while the suite runs
    try:
        g = _gx()
        source = g["source"]
        name = entity.replace("/", "__")
        try:
            asset = source.get_asset(name)
        except LookupError:
            asset = source.add_query_asset(name, query=f"select * from {FRAME}")
        try:
            definition = asset.get_batch_definition("new_batches")
        except (KeyError, LookupError):
            definition = asset.add_batch_definition_whole_table("new_batches")
        result = definition.get_batch().validate(
            build_suite(entity, ctx, frame_columns),
            result_format={
                "result_format": "COMPLETE",
                "unexpected_index_column_names": ["batch_id", "row_number"],
                "partial_unexpected_count": rows + 1,  # the SQL engine returns at most this many
                "exclude_unexpected_values": True,
            },
        )
    finally:
        _SHARED.pop("con", None)
    outcomes = []
    for r in result.results:
        meta = r.expectation_config.meta or {}
        error = _exception(r.exception_info)
        res = r.result or {}
        outcomes.append(
            ExpectationOutcome(
                name=meta.get("name", r.expectation_config.type),
                group=meta.get("group", ROWS),
                success=bool(r.success),
                computed=not error,
                reject=bool(meta.get("reject", False)),
                unexpected=_unexpected_rows(res.get("unexpected_index_list")),
                unexpected_count=int(res.get("unexpected_count") or 0),
                observed=res.get("observed_value"),
                error=error,
            )
        )
    return outcomes


def _unexpected_rows(index_list) -> set[tuple[str, int]]:
    """(batch_id, row_number) of GX's unexpected rows, from either shape of index list:
    one dict per row, or (exclude_unexpected_values) one dict of columns."""
    out: set[tuple[str, int]] = set()
    for item in index_list or []:
        if not isinstance(item, dict):
            continue
        batch, row = item.get("batch_id"), item.get("row_number")
        if isinstance(batch, list):
            out.update((str(b), int(n)) for b, n in zip(batch, row or [], strict=True))
        elif batch is not None:
            out.add((str(batch), int(row)))
    return out
