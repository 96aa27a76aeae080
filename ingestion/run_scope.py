"""What a dbt build must recompute: the run's partition window and what changed since the
last build that succeeded.

`raw._run_scope` (one row) is read by the incremental dbt models (macros/run_scope.sql):
- `window_start`/`window_end`: the Dagster partition window (days, end exclusive); its days
  are always recomputed, a backfill of a date range is one window;
- `changed_since`: start of the last dbt build, which succeeded; rows loaded, rejected or
  released after it are "changed" and every day they touch (in any of their versions) is
  recomputed. Null means "recompute everything": the first build, `--full-refresh`, a
  build after a failed one, a model change (a new dbt project fingerprint), a new base
  currency or time zone (every amount and every day of the history moves), or another
  dbt target than the last build's;
- `full_refresh`: the run rebuilds every incremental model from raw;
- `all_periods`: the plan's rules changed (weights, caps, tiers, thresholds: a new plan
  sha, same currency and time zone), so every open period is scored again. Only models at
  the period grain read those rules; the rows below them stay incremental.

It is a table, not `dbt --vars`: a var whose value changes every night makes dbt re-parse
the whole project on every run. `raw._dbt_builds` keeps one row per build (start, end,
success, plan sha, base currency, time zone, dbt target, project fingerprint) so the next
run knows where to start from.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import duckdb

from ingestion.landing import RAW_SCHEMA, ensure_raw_schema


@dataclass(frozen=True)
class RunScope:
    run_id: str
    window_start: date
    window_end: date  # exclusive
    changed_since: datetime | None
    full_refresh: bool
    reason: str  # why the run is incremental or full, for logs and metadata
    all_periods: bool = False  # the plan's rules changed: every open period is rescored

    @property
    def incremental(self) -> bool:
        return self.changed_since is not None


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)  # UTC, as raw load times


def ensure_scope_tables(con: duckdb.DuckDBPyConnection) -> None:
    ensure_raw_schema(con)
    con.execute(
        f"""
        create table if not exists {RAW_SCHEMA}._run_scope (
            run_id varchar not null,
            window_start date not null,
            window_end date not null,
            changed_since timestamp,
            full_refresh boolean not null,
            recorded_at timestamp not null
        )"""
    )
    # a column a later version added: a warehouse built before it gets it here
    con.execute(
        f"alter table {RAW_SCHEMA}._run_scope add column if not exists all_periods boolean default false"
    )
    con.execute(
        f"""
        create table if not exists {RAW_SCHEMA}._dbt_builds (
            run_id varchar not null,
            started_at timestamp not null,
            finished_at timestamp,
            succeeded boolean not null,
            full_refresh boolean not null,
            plan_sha256 varchar,
            project_fingerprint varchar,
            window_start date,
            window_end date
        )"""
    )
    for column in ("base_currency", "timezone", "dbt_target"):
        con.execute(f"alter table {RAW_SCHEMA}._dbt_builds add column if not exists {column} varchar")


def last_build(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    """The latest row of raw._dbt_builds by column name (None before the first build)."""
    cursor = con.execute(f"select * from {RAW_SCHEMA}._dbt_builds order by started_at desc limit 1")
    row = cursor.fetchone()
    return None if row is None else dict(zip([c[0] for c in cursor.description], row, strict=True))


def record_run_scope(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    window_start: date,
    window_end: date,
    *,
    full_refresh: bool = False,
    plan_sha256: str | None = None,
    base_currency: str | None = None,
    timezone: str | None = None,
    dbt_target: str | None = None,
    project_fingerprint: str | None = None,
) -> RunScope:
    """Write the scope of this build and open its row in raw._dbt_builds.

    `base_currency` and `timezone` are the plan's as the run uses them (settings may
    override the plan file's): they are not in the file's sha. `dbt_target`: the engine
    whose tables the build keeps (a switch back finds them as that engine's last build
    left them)."""
    if window_end <= window_start:
        raise ValueError(f"empty partition window: {window_start} .. {window_end} (end is exclusive)")
    ensure_scope_tables(con)
    last = last_build(con)
    all_periods = False
    if full_refresh:
        since, reason = None, "full refresh requested"
    elif last is None:
        since, reason = None, "first build"
    elif not last["succeeded"]:
        # A failed build may have left some incremental tables a step ahead of others:
        # rebuilding is the one recovery that needs no bookkeeping of partial states.
        since, reason = None, "the last build did not succeed"
    elif (
        project_fingerprint
        and last["project_fingerprint"]
        and last["project_fingerprint"] != project_fingerprint
    ):
        since, reason = None, "dbt models changed since the last build"
    elif moved := _moved(
        {
            "base currency": (last["base_currency"], base_currency),
            "time zone": (last["timezone"], timezone),
            "dbt target": (last["dbt_target"], dbt_target),
        }
    ):
        since, reason = None, f"{moved} since the last build"
    else:
        since = last["started_at"]
        reason = f"rows changed since {since:%Y-%m-%d %H:%M:%S} UTC"
        if plan_sha256 and last["plan_sha256"] and last["plan_sha256"] != plan_sha256:
            all_periods = True
            reason = f"plan rules changed since the last build: every open period is rescored; {reason}"
    started = _now()
    full = full_refresh or since is None
    con.execute("begin transaction")
    con.execute(f"delete from {RAW_SCHEMA}._run_scope")
    con.execute(
        f"insert into {RAW_SCHEMA}._run_scope "
        "(run_id, window_start, window_end, changed_since, full_refresh, recorded_at, all_periods) "
        "values (?, ?, ?, ?, ?, ?, ?)",
        [run_id, window_start, window_end, since, full, started, all_periods],
    )
    con.execute(
        f"insert into {RAW_SCHEMA}._dbt_builds (run_id, started_at, finished_at, succeeded, full_refresh, "
        "plan_sha256, project_fingerprint, window_start, window_end, base_currency, timezone, dbt_target) "
        "values (?, ?, null, false, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            run_id,
            started,
            full,
            plan_sha256,
            project_fingerprint,
            window_start,
            window_end,
            base_currency,
            timezone,
            dbt_target,
        ],
    )
    con.execute("commit")
    return RunScope(run_id, window_start, window_end, since, full, reason, all_periods)


def _moved(settings: dict[str, tuple[str | None, str | None]]) -> str:
    """Which of the run's settings (name: (last build's, this run's)) differ from the last
    build's, as "base currency changed (CNY -> USD)"; a build that did not record one (an
    older version) counts as changed. Empty when none moved or the run passes none."""
    moved = [
        f"{name} changed ({before or 'not recorded'} -> {now})"
        for name, (before, now) in settings.items()
        if now and before != now
    ]
    return ", ".join(moved)


def record_build_end(con: duckdb.DuckDBPyConnection, run_id: str, succeeded: bool) -> None:
    """Close this run's build row; only a successful build moves the next run's start."""
    ensure_scope_tables(con)
    con.execute(
        f"update {RAW_SCHEMA}._dbt_builds set finished_at = ?, succeeded = ? "
        "where run_id = ? and finished_at is null",
        [_now(), succeeded, run_id],
    )


def unchanged_entities(con: duckdb.DuckDBPyConnection, since: datetime, entities: Iterable[str]) -> list[str]:
    """The entities (landing folders) with no file loaded and no row rejected or released
    after `since`: their `int_*__validated` models have nothing to do in an incremental
    build (the rows they take are those loaded, rejected or released since then)."""
    entities = list(entities)
    tables = {
        row[0]
        for row in con.execute(
            "select table_name from information_schema.tables where table_schema = ?", [RAW_SCHEMA]
        ).fetchall()
    }
    if not {"_batches", "_rejected_rows", "_reject_resolutions"} <= tables:
        return []
    changed = {
        row[0]
        for row in con.execute(
            f"""
            select entity from {RAW_SCHEMA}._batches where loaded_at > $since
            union
            select entity from {RAW_SCHEMA}._rejected_rows where rejected_at > $since
            union
            select entity from {RAW_SCHEMA}._reject_resolutions where resolved_at > $since""",
            {"since": since},
        ).fetchall()
    }
    return [entity for entity in entities if entity not in changed]
