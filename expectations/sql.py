"""The registry's row rules as set-based SQL on DuckDB, evaluated per batch at load time.

`RowRules.evaluate_batch` runs inside the loader's transaction, right after a file's rows
are inserted: a batch is never visible without its rejects. Rejects are appended to
`raw._rejected_rows` (never updated); a resolvable reject that no longer holds (its
parent arrived late) gets a row in `raw._reject_resolutions`. dbt reads both
(int_quality__row_rejects) and keeps the open rejects out of the facts.

Cost: three statements per batch, each one pass over the new batch: duplicates (the
batch's row hashes against the entity's `_row_hash` column), then every reject rule at
once (each row's subjects computed once, its failing rules unnested into reject rows),
then a count. A reference also reads the key column of the referenced entity. Nothing is
materialised between them and no row passes through Python.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import duckdb

from expectations.rules import (
    BASE_CURRENCY,
    EXACT_DUPLICATE,
    FUTURE_TOLERANCE,
    MAX_EVENT_TIME,
    PLAN_KPIS,
    REGISTRY,
    ROW,
    ROWS,
    Rule,
    raw_table,
    rules_for,
    typed,
)
from ingestion.entities import ENTITY_BY_FOLDER

REJECTS = "raw._rejected_rows"
RESOLUTIONS = "raw._reject_resolutions"
PASSES = "raw._resolve_passes"  # when each entity's open rejects were last judged again
_CURRENCY = re.compile(r"^[A-Z]{3}$")


def ensure_quality_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists raw")
    con.execute(
        f"""
        create table if not exists {REJECTS} (
            entity varchar not null,
            batch_id varchar not null,
            source_file varchar not null,
            row_number bigint not null,
            record_key varchar,
            rule varchar not null,
            value varchar,
            rejected_at timestamp not null,
            run_id varchar
        )"""
    )
    con.execute(
        f"""
        create table if not exists {RESOLUTIONS} (
            entity varchar not null,
            batch_id varchar not null,
            row_number bigint not null,
            rule varchar not null,
            resolved_at timestamp not null,
            run_id varchar
        )"""
    )
    con.execute(
        f"create table if not exists {PASSES} "
        "(entity varchar not null, started_at timestamp not null, run_id varchar)"
    )


@dataclass(frozen=True)
class EvalContext:
    """What the rules need besides the rows: the plan's time zone, base currency and KPI
    codes, and the current time in the company time zone."""

    timezone: str
    base_currency: str
    kpi_codes: tuple[str, ...]
    now_local: datetime

    @classmethod
    def from_plan(cls, plan, now: datetime | None = None) -> EvalContext:
        tz = ZoneInfo(plan.timezone)
        now_local = (now or datetime.now(tz)).astimezone(tz).replace(tzinfo=None)
        return cls(plan.timezone, plan.base_currency, tuple(plan.kpis), now_local)

    @property
    def max_event_time(self) -> datetime:
        return self.now_local + FUTURE_TOLERANCE

    def values(self, rule: Rule) -> tuple[str, ...]:
        return self.kpi_codes if rule.values == (PLAN_KPIS,) else rule.values

    def bound(self, value):
        return self.max_event_time if value == MAX_EVENT_TIME else value

    def subject(self, rule: Rule, rows: str) -> str:
        """The rule's SQL on the judged rows `rows` (`<table> as t where ...`)."""
        if not _CURRENCY.match(self.base_currency):
            raise ValueError(f"base currency {self.base_currency!r} is not a 3-letter code")
        return rule.subject.replace(BASE_CURRENCY, self.base_currency).replace(ROWS, rows)


def lit(value) -> str:
    """A SQL literal; every value pasted into SQL goes through here."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime):
        fraction = f".{value.microsecond:06d}" if value.microsecond else ""
        return f"timestamp '{value:%Y-%m-%d %H:%M:%S}{fraction}'"
    return "'" + str(value).replace("'", "''") + "'"


def fails(rule: Rule, column: str, ctx: EvalContext) -> str:
    """SQL predicate: the subject in `column` breaks the rule. Null subjects pass every
    check but not_null, as in Great Expectations."""
    if rule.check == "not_null":
        return f"{column} is null"
    if rule.check == "in_set":
        return f"({column} is not null and {column} not in ({', '.join(lit(v) for v in ctx.values(rule))}))"
    if rule.check == "is_true":
        return f"({column} is not null and not {column})"
    if rule.check == "between":
        lo, hi = ctx.bound(rule.min_value), ctx.bound(rule.max_value)
        parts = []
        if lo is not None:
            parts.append(f"{column} {'<=' if rule.strict_min else '<'} {lit(lo)}")
        if hi is not None:
            parts.append(f"{column} {'>=' if rule.strict_max else '>'} {lit(hi)}")
        return f"({column} is not null and ({' or '.join(parts)}))"
    raise ValueError(f"{rule.entity} {rule.code}: unknown check {rule.check!r}")


def record_key(entity: str, alias: str = ROW) -> str:
    keys = ENTITY_BY_FOLDER[entity].key
    if len(keys) == 1:
        return f"trim({alias}.{keys[0]})"
    parts = [f"coalesce(trim({alias}.{k}), '')" for k in keys]
    return f"concat_ws('|', {', '.join(parts)})"


def duplicates_of(entity: str, batch_ids: list[str]) -> str:
    """The (batch_id, row_number) of the rows of these batches dropped as exact duplicates."""
    return (
        f"select batch_id, row_number from {REJECTS} where entity = {lit(entity)} "
        f"and rule = {lit(EXACT_DUPLICATE)} and batch_id in ({', '.join(lit(b) for b in batch_ids)})"
    )


def event_time_sql(entity: str, ctx: EvalContext) -> str:
    """The row's event time, for freshness; a future-dated (rejected) event does not count."""
    er = REGISTRY[entity]
    ts = f"cast({typed(ROW + '.' + er.event_time, er.types[er.event_time])} as timestamp)"
    return f"case when {ts} <= {lit(ctx.max_event_time)} then {ts} end"


def subjects_sql(
    entity: str,
    rules: tuple[Rule, ...],
    where: str,
    ctx: EvalContext,
    extra: tuple[str, ...] = (),
    skip_duplicates_of: list[str] | None = None,
    with_values: bool = True,
) -> str:
    """One row per raw row of `where`: load metadata, key, and per rule i its subject
    `s_i` and reported value `v_i`. The same query feeds the reject predicates and the
    Great Expectations frame, so the two judge the same values. With `skip_duplicates_of`
    (batch ids), the rows of those batches dropped as exact duplicates are left out; without
    `with_values`, the reported values are not computed."""
    er = REGISTRY[entity]
    cols = [
        f"{ROW}._batch_id as batch_id",
        f"{ROW}._source_file as source_file",
        f"{ROW}._row_number as row_number",
        f"{ROW}._loaded_at as loaded_at",
        f"{record_key(entity)} as record_key",
    ]
    cols += [f"trim({ROW}.{k}) as k_{i}" for i, k in enumerate(er.entity.key)]
    if er.event_time:
        cols.append(f"{event_time_sql(entity, ctx)} as event_time")
    rows = f"{raw_table(entity)} as {ROW} where {where}"
    for i, rule in enumerate(rules):
        cols.append(f"({ctx.subject(rule, rows)}) as s_{i}")
        if with_values:
            cols.append(f"{rule.value_sql} as v_{i}")
    cols += extra
    source = f"{raw_table(entity)} as {ROW}"
    if skip_duplicates_of:
        source += (
            f" anti join ({duplicates_of(entity, skip_duplicates_of)}) as dup "
            f"on dup.batch_id = {ROW}._batch_id and dup.row_number = {ROW}._row_number"
        )
    return f"select {', '.join(cols)} from {source} where {where}"


def set_timezone(con: duckdb.DuckDBPyConnection, timezone: str) -> None:
    ZoneInfo(timezone)  # raises on an unknown zone: nothing unchecked reaches SQL
    con.execute(f"set TimeZone = {lit(timezone)}")


@dataclass
class BatchRejects:
    batch_id: str
    duplicates: int = 0
    rejects: int = 0  # (row, rule) pairs
    rows_rejected: int = 0  # distinct rows


class RowRules:
    """Evaluates one entity's rules on its new batches, in the caller's transaction."""

    def __init__(self, con: duckdb.DuckDBPyConnection, entity: str, ctx: EvalContext, run_id: str):
        self.con, self.entity, self.ctx, self.run_id = con, entity, ctx, run_id
        self.rules = rules_for(entity, reject_only=True)
        self.judged: list[str] = []  # batches evaluate_batch judged, against what they read now
        ensure_quality_tables(con)
        set_timezone(con, ctx.timezone)

    def evaluate_batch(self, batch_id: str) -> BatchRejects:
        con, e = self.con, self.entity
        out = BatchRejects(batch_id)
        table, batch = raw_table(e), lit(batch_id)
        this = f"select _row_number, _row_hash from {table} where _batch_id = {batch}"
        # A row is an exact duplicate when its hash was loaded earlier in this batch, or in an
        # earlier batch. Only 64-bit hashes are held in memory: within the batch, just the rows
        # whose 64-bit hash repeats are compared; the history is probed with the batch's hashes
        # (built on the batch, one scan of the entity's hash column), and only if it exists.
        within = f"""
            select _row_number from (
                select _row_number,
                    row_number() over (partition by _row_hash order by _row_number) as copy
                from ({this})
                where hash(_row_hash) in (
                    select h from (select hash(_row_hash) as h from ({this})) group by h having count(*) > 1
                )
            ) where copy > 1"""
        earlier = "select null::varchar as _row_hash where false"
        if con.execute(
            f"select count(*) from (select 1 from {table} where _batch_id <> {batch} limit 1)"
        ).fetchone()[0]:
            earlier = (
                f"select p._row_hash from {table} as p where p._batch_id <> {batch} "
                f"and hash(p._row_hash) in (select hash(_row_hash) from ({this}))"
            )
        (out.duplicates,) = con.execute(
            f"""
            insert into {REJECTS}
            select {lit(e)}, {ROW}._batch_id, {ROW}._source_file, {ROW}._row_number, {record_key(e)},
                {lit(EXACT_DUPLICATE)}, {record_key(e)}, {ROW}._loaded_at, {lit(self.run_id)}
            from {table} as {ROW}
            where {ROW}._batch_id = {batch} and (
                {ROW}._row_number in ({within})
                or {ROW}._row_hash in ({earlier})
            )
            """
        ).fetchone()
        if self.rules:
            out.rejects = self._insert_rejects(f"{ROW}._batch_id = {batch}", [batch_id])
        self.judged.append(batch_id)
        out.rows_rejected = con.execute(
            f"select count(distinct row_number) from {REJECTS} where entity = {lit(e)} "
            f"and batch_id = {batch} and rule <> {lit(EXACT_DUPLICATE)}"
        ).fetchone()[0]
        return out

    def _insert_rejects(self, where: str, batch_ids: list[str]) -> int:
        """Every rule on every row of `where` in one pass: a row that breaks any rule gets the
        list of its failing rules (a null where a rule holds), unnested into one reject row
        per failure; a row that breaks none builds no list."""
        subjects = subjects_sql(self.entity, self.rules, where, self.ctx, skip_duplicates_of=batch_ids)
        predicates = [fails(r, f"s_{i}", self.ctx) for i, r in enumerate(self.rules)]
        failures = ", ".join(
            f"case when {p} then {{'rule': {lit(r.code)}, 'value': v_{i}}} end"
            for i, (p, r) in enumerate(zip(predicates, self.rules, strict=True))
        )
        (rows,) = self.con.execute(
            f"""
            insert into {REJECTS}
            select {lit(self.entity)}, batch_id, source_file, row_number, record_key, failure.rule,
                failure.value, loaded_at, {lit(self.run_id)}
            from (
                select batch_id, source_file, row_number, record_key, loaded_at,
                    unnest(case when {" or ".join(predicates)} then [{failures}] end) as failure
                from ({subjects})
            )
            where failure is not null
            """
        ).fetchone()
        return int(rows)

    def resolve_open(self) -> int:
        """Re-evaluate this entity's open resolvable rejects (unknown parent, missing FX
        rate, unknown KPI): a row whose parent has arrived since is released.

        A rule with `changed_keys` (a parent reference) can only change its verdict when a
        version of its parent key was loaded, or a reject of it released, after the last
        pass: only those rejects are judged again, so a night's cost follows the night's
        new parents, not every reject ever kept open. The other rules, and every reject
        on an entity's first pass, are all judged again. The rejects of the batches this
        object has just judged are not: what their rules read (other entities, loaded in
        earlier steps, and the plan) has not changed since."""
        con, e = self.con, self.entity
        resolvable = tuple(r for r in self.rules if r.resolvable)
        if not resolvable:
            return 0
        since = con.execute(f"select max(started_at) from {PASSES} where entity = ?", [e]).fetchone()[0]
        # the pass starts now: what is loaded or released after this is seen by the next one
        con.execute(
            f"insert into {PASSES} values (?, ?, ?)", [e, datetime.now(UTC).replace(tzinfo=None), self.run_id]
        )
        codes = ", ".join(lit(r.code) for r in resolvable)
        open_rejects = (
            f"select r.batch_id, r.row_number, r.rule from {REJECTS} as r where r.entity = {lit(e)} "
            f"and r.rule in ({codes}) and not exists (select 1 from {RESOLUTIONS} as s "
            "where s.entity = r.entity and s.batch_id = r.batch_id and s.row_number = r.row_number "
            "and s.rule = r.rule)"
        )
        if self.judged:
            open_rejects += f" and r.batch_id not in ({', '.join(lit(b) for b in self.judged)})"
        con.execute(f"create or replace temp table _dq_open as {open_rejects}")
        try:
            keyed = [r for r in resolvable if r.changed_keys]
            if since is not None and keyed and _count(con, "_dq_open"):
                self._keep_changed_parents(keyed, since)
            if not _count(con, "_dq_open"):
                return 0
            where = f"({ROW}._batch_id, {ROW}._row_number) in (select batch_id, row_number from _dq_open)"
            con.execute(
                f"create or replace temp table _dq_subjects as {subjects_sql(e, resolvable, where, self.ctx)}"
            )
            before = _count(con, RESOLUTIONS)
            resolved_at = datetime.now(UTC).replace(tzinfo=None)  # UTC, as raw load times
            for i, rule in enumerate(resolvable):
                con.execute(
                    f"""
                    insert into {RESOLUTIONS}
                    select {lit(e)}, s.batch_id, s.row_number, {lit(rule.code)}, ?, ?
                    from _dq_subjects as s
                    join _dq_open as o
                        on o.batch_id = s.batch_id and o.row_number = s.row_number
                        and o.rule = {lit(rule.code)}
                    where not coalesce({fails(rule, f"s.s_{i}", self.ctx)}, false)""",
                    [resolved_at, self.run_id],
                )
            return _count(con, RESOLUTIONS) - before
        finally:
            con.execute("drop table if exists _dq_subjects")
            con.execute("drop table if exists _dq_open")

    def _keep_changed_parents(self, keyed: list[Rule], since: datetime) -> None:
        """Narrow _dq_open: of the `keyed` rules' rejects, keep those whose parent key was
        loaded or released after `since`. The open rows' keys are read first, in one scan
        (a few rows among millions), then matched with the parents changed since."""
        codes = ", ".join(lit(r.code) for r in keyed)
        keys = ", ".join(f"{r.changed_keys[0]} as k_{i}" for i, r in enumerate(keyed))
        changed = " or ".join(
            f"(o.rule = {lit(r.code)} and k.k_{i} in ({r.changed_keys[1].format(since=lit(since))}))"
            for i, r in enumerate(keyed)
        )
        self.con.execute(
            f"""
            create or replace temp table _dq_keep as
            with open_keys as materialized (
                select {ROW}._batch_id, {ROW}._row_number, {keys}
                from {raw_table(self.entity)} as {ROW}
                where ({ROW}._batch_id, {ROW}._row_number) in
                    (select batch_id, row_number from _dq_open where rule in ({codes}))
            )
            select o.* from _dq_open as o where o.rule not in ({codes})
            union all
            select o.* from _dq_open as o
            inner join open_keys as k on k._batch_id = o.batch_id and k._row_number = o.row_number
            where {changed}
            """
        )
        self.con.execute("create or replace temp table _dq_open as select * from _dq_keep")
        self.con.execute("drop table _dq_keep")


def _count(con: duckdb.DuckDBPyConnection, relation: str) -> int:
    return con.execute(f"select count(*) from {relation}").fetchone()[0]


def open_rejects_sql(entity: str | None = None) -> str:
    """Rejects still in force (not resolved since)."""
    where = f"r.entity = {lit(entity)} and " if entity else ""
    return (
        f"select r.* from {REJECTS} as r where {where}not exists (select 1 from {RESOLUTIONS} as s "
        "where s.entity = r.entity and s.batch_id = r.batch_id and s.row_number = r.row_number "
        "and s.rule = r.rule)"
    )


@dataclass(frozen=True)
class Reconciliation:
    batch_id: str
    source_file: str
    rows_read: int
    rows_stored: int
    rows_loaded: int  # accepted: no open reject
    rows_rejected: int  # rejected by a rule (not duplicates)
    duplicates: int
    overlaps: int  # rows counted both as duplicate and as rejected by a rule
    dangling: int  # rejects that point at no raw row

    @property
    def holds(self) -> bool:
        return (
            self.rows_read == self.rows_stored == self.rows_loaded + self.rows_rejected + self.duplicates
            and self.overlaps == 0
            and self.dangling == 0
        )


def reconcile(con: duckdb.DuckDBPyConnection, entity: str, run_id: str) -> list[Reconciliation]:
    """Per loaded batch of this run: rows read = loaded + rejected + duplicates dropped,
    each counted by its own query."""
    table = raw_table(entity)
    open_r = open_rejects_sql(entity)
    rows = con.execute(
        f"""
        with batches as (
            select batch_id, source_file, rows_read from raw._batches
            where entity = ? and run_id = ? and status = 'loaded'
        ),
        stored as (
            select _batch_id as batch_id, _row_number as row_number from {table}
            where _batch_id in (select batch_id from batches)
        ),
        rejects as (select * from ({open_r}) where batch_id in (select batch_id from batches)),
        dups as (select distinct batch_id, row_number from rejects where rule = '{EXACT_DUPLICATE}'),
        ruled as (select distinct batch_id, row_number from rejects where rule <> '{EXACT_DUPLICATE}')
        select
            b.batch_id,
            b.source_file,
            b.rows_read,
            (select count(*) from stored as s where s.batch_id = b.batch_id),
            (select count(*) from stored as s where s.batch_id = b.batch_id and not exists (
                select 1 from rejects as r where r.batch_id = s.batch_id and r.row_number = s.row_number)),
            (select count(*) from ruled as r where r.batch_id = b.batch_id),
            (select count(*) from dups as d where d.batch_id = b.batch_id),
            (select count(*) from dups as d join ruled as r using (batch_id, row_number)
             where d.batch_id = b.batch_id),
            (select count(*) from rejects as r where r.batch_id = b.batch_id and not exists (
                select 1 from stored as s where s.batch_id = r.batch_id and s.row_number = r.row_number))
        from batches as b
        order by b.batch_id
        """,
        [entity, run_id],
    ).fetchall()
    return [Reconciliation(*r) for r in rows]
