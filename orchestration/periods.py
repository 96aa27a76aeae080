"""Closing a period: its KPI, scorecard and bonus rows become immutable.

What finance saw (the published warehouse) is frozen: the period's rows are copied from
the published file into the build warehouse's incremental marts, flagged closed, recorded
in raw._closed_periods, and published again. Later runs rebuild only open periods; late
data for a closed period is settled in the next open one (clawbacks, penalties).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import duckdb

from ingestion.landing import ensure_raw_schema
from ingestion.run_scope import ensure_scope_tables, last_build
from orchestration.publish import publish_duckdb
from orchestration.settings import Settings

GRAINS = ("week", "month", "quarter", "year")
FROZEN_MARTS = ("kpi_rep_period", "scorecard_rep_period", "bonus_rep_period")


class CloseError(ValueError):
    """The period cannot be closed; the message says why."""


@dataclass(frozen=True)
class CloseResult:
    grain: str
    period_start: date
    rows: dict[str, int]
    payout_by_currency: dict[str, float]


def period_bounds(grain: str, start: date) -> tuple[date, date]:
    """Check that `start` begins a period of `grain`; return (start, end)."""
    if grain not in GRAINS:
        raise CloseError(f"unknown grain {grain!r}: choose one of {', '.join(GRAINS)}")
    aligned = {
        "week": start.isoweekday() == 1,
        "month": start.day == 1,
        "quarter": start.day == 1 and start.month in (1, 4, 7, 10),
        "year": (start.month, start.day) == (1, 1),
    }[grain]
    if not aligned:
        raise CloseError(f"{start} is not the first day of a {grain}")
    if grain == "week":
        nxt = start + timedelta(days=7)
    else:
        months = {"month": 1, "quarter": 3, "year": 12}[grain]
        index = start.year * 12 + start.month - 1 + months
        nxt = date(index // 12, index % 12 + 1, 1)
    end = nxt - timedelta(days=1)
    return start, end


def close_period(settings: Settings, timezone: str, grain: str, start: date, force: bool = False):
    start, end = period_bounds(grain, start)
    today = datetime.now(ZoneInfo(timezone)).date()
    if end >= today and not force:
        raise CloseError(f"{grain} {start} runs until {end}: it cannot be closed before it ends")
    if not settings.warehouse.exists():
        raise CloseError(f"{settings.warehouse} does not exist: run `spm run` first")
    try:
        con = duckdb.connect(str(settings.build_db))
    except duckdb.IOException as exc:
        raise CloseError(f"the build warehouse is busy (a run in progress?): {exc}") from exc
    try:
        ensure_raw_schema(con)
        ensure_scope_tables(con)
        last = last_build(con)
        if last is None or not last["succeeded"]:
            # its incremental marts may be half rebuilt: republishing them would show that
            raise CloseError(
                "the last dbt build did not succeed: run `spm run` until it does, then close the period"
            )
        if con.execute(
            "select count(*) from raw._closed_periods where period_grain = ? and period_start = ?",
            [grain, start],
        ).fetchone()[0]:
            raise CloseError(f"{grain} {start} is already closed")
        published = str(settings.warehouse).replace("'", "''")
        con.execute(f"attach '{published}' as published (read_only)")
        where = "period_grain = ? and period_start = ?"
        bonus_rows = con.execute(
            f"select count(*) from published.marts.bonus_rep_period where {where}", [grain, start]
        ).fetchone()[0]
        if not bonus_rows:
            raise CloseError(f"no bonus rows for {grain} {start} in {settings.warehouse}")
        earlier = con.execute(
            "select min(period_start) from published.marts.bonus_rep_period "
            "where period_grain = ? and period_start < ? and not is_closed",
            [grain, start],
        ).fetchone()[0]
        if earlier is not None:
            raise CloseError(
                f"{grain} {earlier} is still open: periods close in order "
                "(penalties carry over from one period to the next)"
            )
        rows: dict[str, int] = {}
        con.execute("begin transaction")
        on_spark = settings.dbt_target == "spark"
        if on_spark:  # the marts live in Spark's period partitions (orchestration/spark.py)
            from orchestration.dbt_manifest import MANIFEST
            from orchestration.spark import freeze_spark_period, spark_dir

            spark = spark_dir(settings.build_db)
            rows = freeze_spark_period(
                spark, settings.warehouse, MANIFEST, grain, start, FROZEN_MARTS, timezone
            )
        else:
            for table in FROZEN_MARTS:
                con.execute(f"delete from marts.{table} where {where}", [grain, start])
                con.execute(
                    f"insert into marts.{table} by name select * from published.marts.{table} where {where}",
                    [grain, start],
                )
                rows[table] = con.execute(
                    f"select count(*) from marts.{table} where {where}", [grain, start]
                ).fetchone()[0]
            con.execute(f"update marts.bonus_rep_period set is_closed = true where {where}", [grain, start])
        run_id = con.execute("select max(run_id) from published.marts._publish_info").fetchone()[0]
        con.execute(
            "insert into raw._closed_periods values (?, ?, ?, ?)",
            [grain, start, datetime.now(UTC).replace(tzinfo=None), run_id],
        )
        payout = dict(
            con.execute(
                f"select currency, sum(payout_amount) from {'published.' if on_spark else ''}"
                f"marts.bonus_rep_period where {where} "
                "group by currency order by currency",
                [grain, start],
            ).fetchall()
        )
        con.execute("commit")
        con.execute("detach published")
    finally:
        con.close()
    if on_spark:
        from orchestration.spark import publish_from_spark

        publish_from_spark(spark, settings.warehouse, f"close-{grain}-{start}", MANIFEST, timezone)
    else:
        # the marts of the last build, so the next night swaps in only what it rebuilt
        publish_duckdb(
            settings.build_db, settings.warehouse, f"close-{grain}-{start}", build_run_id=last["run_id"]
        )
    return CloseResult(grain, start, rows, {k: float(v) for k, v in payout.items()})
