"""Static HTML scorecard report built from the published DuckDB warehouse (schema ``marts``).

``write_report`` opens the warehouse read-only, aggregates in SQL and renders Jinja2
templates (autoescaped) into ``out_dir``::

    out_dir/index.html             company overview
    out_dir/teams/<team>.html      one page per team
    out_dir/reps/<rep>.html        one page per scored rep
    out_dir/assets/                Chart.js (vendored), report.js, report.css

Charts are drawn in the browser by the vendored Chart.js from a JSON block in each page;
no network access is needed to view the report.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from report.i18n import PERSPECTIVES, Translator, period_short, translator

GRAINS: tuple[str, ...] = ("week", "month", "quarter", "year")
TREND_PERIODS = 12
TOP_N = 10
# From this many reps on, two processes render the rep pages (a process starts in ~0.5 s).
PARALLEL_REP_PAGES = 400

PACKAGE_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = PACKAGE_DIR / "templates"
ASSETS_DIR = PACKAGE_DIR / "assets"
ASSET_FILES: tuple[str, ...] = (
    "chart.umd.min.js",
    "chart.js.LICENSE.md",
    "report.js",
    "report.css",
)

REQUIRED_TABLES: tuple[str, ...] = (
    "dim_reps",
    "kpi_rep_period",
    "scorecard_rep_period",
    "scorecard_team_period",
    "bonus_rep_period",
)

_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,79}$")
_PERSPECTIVE_ORDER_SQL = (
    "case perspective when 'financial' then 1 when 'customer' then 2 "
    "when 'process' then 3 when 'learning' then 4 else 5 end"
)


# --------------------------------------------------------------------------- helpers


def safe_file_stem(identifier: Any) -> str:
    """A file name stem for an id: the id itself when it is plain ASCII letters, digits,
    ``_`` and ``-``; otherwise a slug of it plus a hash of the full id (so two odd ids never
    share a file, and ``../x`` or ``a/b`` never leaves the folder)."""
    text = str(identifier)
    if _SAFE_ID.match(text):
        return text
    slug = re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_-")[:40]
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
    return f"{slug}-{digest}" if slug else f"id-{digest}"


def _num(value: Any) -> float | None:
    """Float for JSON/formatting; None for null, NaN and infinities."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, bool):
        return float(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _fmt_pct(value: Any, digits: int = 1) -> str:
    number = _num(value)
    return "—" if number is None else f"{number:,.{digits}f}%"


def _fmt_num(value: Any) -> str:
    number = _num(value)
    if number is None:
        return "—"
    if number.is_integer() and abs(number) < 1e15:
        return f"{int(number):,}"
    return f"{number:,.2f}"


def _fmt_money(value: Any) -> str:
    number = _num(value)
    return "—" if number is None else f"{number:,.2f}"


def _fmt_coef(value: Any) -> str:
    number = _num(value)
    return "—" if number is None else f"{number:.2f}"


def chart_json(charts: Sequence[dict[str, Any]]) -> Markup:
    """Chart specs as JSON that is safe inside ``<script type="application/json">``:
    ``<``, ``>`` and ``&`` are written as ``\\u003c`` etc., so no ``</script>`` can occur."""
    text = json.dumps({"charts": list(charts)}, ensure_ascii=False, allow_nan=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return Markup(text)


_DECIMAL_TYPE = re.compile(r"DECIMAL\(\d+,\s*\d+\)")


def _rows(
    con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | dict[str, Any] = ()
) -> list[dict]:
    """The rows as dicts. Decimals arrive as floats, also inside lists and structs: every
    figure is shown through _num (a float) anyway, and making Python Decimals took a third
    of the report's queries at 2,000 reps. DuckDB's cast gives the double float() makes of the Decimal."""
    params = params if isinstance(params, dict) else list(params)
    described = con.execute(f"select * from ({sql}) limit 0", params).description
    if any("DECIMAL" in str(kind) for _, kind, *_ in described):
        columns = ", ".join(
            f"cast({_quoted(name)} as {_DECIMAL_TYPE.sub('DOUBLE', str(kind))}) as {_quoted(name)}"
            if "DECIMAL" in str(kind)
            else _quoted(name)
            for name, kind, *_ in described
        )
        sql = f"select {columns} from ({sql}) as decimal_rows"  # keeps the query's order
    cur = con.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _one(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> dict:
    rows = _rows(con, sql, params)
    return rows[0] if rows else {}


def _coerce_date(value: date | datetime | str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _now() -> datetime:
    tz_name = os.environ.get("SPM_TIMEZONE", "Asia/Shanghai")
    try:
        return datetime.now(ZoneInfo(tz_name))
    except Exception:  # unknown zone or no tz database: fall back to the machine's zone
        return datetime.now().astimezone()


# --------------------------------------------------------------------------- SQL


class _Marts:
    """The SQL side: every aggregation of the report runs in DuckDB."""

    def __init__(self, con: duckdb.DuckDBPyConnection, grain: str) -> None:
        self.con = con
        self.grain = grain
        tables = {
            r["table_name"]
            for r in _rows(
                con,
                "select table_name from information_schema.tables where table_schema = 'marts'",
            )
        }
        missing = [t for t in REQUIRED_TABLES if t not in tables]
        if missing:
            raise ValueError(
                "warehouse has no published marts table(s) "
                + ", ".join(f"marts.{t}" for t in missing)
                + ": run the pipeline before building the report"
            )
        self.tables = tables
        cols = {
            (r["table_name"], r["column_name"])
            for r in _rows(
                con,
                "select table_name, column_name from information_schema.columns where table_schema = 'marts'",
            )
        }
        self.cols = cols
        team_name = "team_name" if ("dim_reps", "team_name") in cols else "null"
        # Newest version first; two current rows of a rep are told apart by their columns, so
        # that the two processes of a large company pick the same one.
        order_key = ", ".join(
            [
                *(["valid_from desc nulls last"] if ("dim_reps", "valid_from") in cols else []),
                *(["version_number desc"] if ("dim_reps", "version_number") in cols else []),
                "rep_name, role, team_id, region",
            ]
        )
        coaching_kpis = "coaching_kpis" if ("scorecard_rep_period", "coaching_kpis") in cols else "null"
        # Current rep versions (one per rep even if the SCD2 data has two current rows),
        # teams named after them, and bonus rows deduplicated per rep and period.
        self.ctes = f"""
            reps_cur as (
                select cast(rep_id as varchar) as rep_id, rep_name, role,
                       cast(team_id as varchar) as team_id,
                       cast({team_name} as varchar) as team_name, region
                from marts.dim_reps
                where is_current
                qualify row_number() over (partition by rep_id order by {order_key}) = 1
            ),
            teams_cur as (
                select team_id,
                       max(team_name) as team_name,
                       string_agg(distinct region, ', ' order by region) as region
                from reps_cur
                where team_id is not null
                group by team_id
            ),
            bonus as (
                select cast(rep_id as varchar) as rep_id, composite_score, tier,
                       coefficient, base_bonus,
                       bonus_amount, penalty_amount, clawback_amount, payout_amount,
                       currency, plan_version, run_id, is_closed
                from marts.bonus_rep_period
                where period_grain = $grain and period_start = $period
                qualify row_number() over (
                    partition by rep_id order by is_closed desc nulls last, run_id desc
                ) = 1
            ),
            sc as (
                select cast(rep_id as varchar) as rep_id, financial_score, customer_score,
                       process_score, learning_score, composite_score, rank_in_team,
                       rank_in_company, coalesce(coaching_flag, false) as coaching_flag,
                       cast({coaching_kpis} as varchar) as coaching_kpis
                from marts.scorecard_rep_period
                where period_grain = $grain and period_start = $period
            ),
            kpis as (
                select cast(rep_id as varchar) as rep_id,
                       list(struct_pack(
                           kpi_code := kpi_code, perspective := perspective,
                           actual_value := actual_value, target_value := target_value,
                           attainment_pct := attainment_pct, weight_pct := weight_pct,
                           weighted_score := weighted_score
                       ) order by {_PERSPECTIVE_ORDER_SQL}, kpi_code) as kpis,
                       string_agg(kpi_code, ',' order by attainment_pct, kpi_code) filter (
                           where weight_pct > 0 and attainment_pct < 100
                       ) as low_kpis
                from marts.kpi_rep_period
                where period_grain = $grain and period_start = $period
                group by all
            )
        """

    def _q(self, sql: str, period: date | None, **params: Any) -> list[dict]:
        return _rows(self.con, sql, {"grain": self.grain, "period": period, **params})

    def latest_period(self) -> date | None:
        row = _one(
            self.con,
            "select max(period_start) as p from marts.scorecard_rep_period where period_grain = ?",
            [self.grain],
        )
        return row.get("p")

    def scored_reps(self, period: date) -> int:
        row = _one(
            self.con,
            "select count(*) as n from marts.scorecard_rep_period "
            "where period_grain = ? and period_start = ?",
            [self.grain, period],
        )
        return row.get("n") or 0

    def header(self, period: date) -> dict:
        rows = self._q(
            f"""
            with {self.ctes}
            select
                (select string_agg(distinct plan_version, ', ' order by plan_version)
                   from bonus) as plan_versions,
                (select count(*) from sc) as reps_scored,
                (select count(*) from sc where coaching_flag) as reps_flagged,
                (select bool_and(is_closed) from bonus) as all_closed,
                avg(financial_score) as financial_score,
                avg(customer_score) as customer_score,
                avg(process_score) as process_score,
                avg(learning_score) as learning_score,
                avg(composite_score) as composite_score
            from sc
            """,
            period,
        )
        return rows[0]

    def payout_totals(self, period: date) -> list[dict]:
        return self._q(
            f"""
            with {self.ctes}
            select coalesce(currency, '') as currency, sum(payout_amount) as total,
                   count(*) as n_rows
            from bonus group by all order by currency
            """,
            period,
        )

    def teams(self, period: date) -> list[dict]:
        """Teams with a team scorecard row or a scored rep in the period."""
        return self._q(
            f"""
            with {self.ctes},
            t as (
                select cast(team_id as varchar) as team_id, financial_score, customer_score,
                       process_score, learning_score, composite_score
                from marts.scorecard_team_period
                where period_grain = $grain and period_start = $period
            ),
            scored as (
                select r.team_id, count(*) as n_reps,
                       count(*) filter (where sc.coaching_flag) as n_flagged
                from sc join reps_cur r using (rep_id)
                where r.team_id is not null
                group by r.team_id
            )
            select coalesce(t.team_id, scored.team_id) as team_id,
                   coalesce(tc.team_name, t.team_id, scored.team_id) as team_name,
                   tc.region, t.financial_score, t.customer_score, t.process_score,
                   t.learning_score, t.composite_score,
                   coalesce(scored.n_reps, 0) as n_reps,
                   coalesce(scored.n_flagged, 0) as n_flagged
            from t
            full outer join scored on scored.team_id = t.team_id
            left join teams_cur tc on tc.team_id = coalesce(t.team_id, scored.team_id)
            order by t.composite_score desc nulls last, team_name, team_id
            """,
            period,
        )

    def reps(self, period: date) -> list[dict]:
        """Every scored rep of the period with bonus and KPIs, best first."""
        return self._q(
            f"""
            with {self.ctes}
            select s.rep_id, coalesce(r.rep_name, s.rep_id) as rep_name, r.role,
                   r.team_id, coalesce(r.team_name, r.team_id) as team_name, r.region,
                   s.financial_score, s.customer_score, s.process_score, s.learning_score,
                   s.composite_score, s.rank_in_team, s.rank_in_company, s.coaching_flag,
                   coalesce(nullif(trim(s.coaching_kpis), ''), k.low_kpis) as coaching_kpis,
                   b.composite_score as bonus_composite_score, b.tier, b.coefficient,
                   b.base_bonus, b.bonus_amount, b.penalty_amount,
                   b.clawback_amount, b.payout_amount, b.currency, b.plan_version, b.run_id,
                   b.is_closed, b.rep_id is not null as has_bonus,
                   coalesce(k.kpis, []) as kpis
            from sc s
            left join reps_cur r using (rep_id)
            left join bonus b using (rep_id)
            left join kpis k using (rep_id)
            order by s.rank_in_company nulls last, s.composite_score desc nulls last, rep_name, s.rep_id
            """,
            period,
        )

    def trend_periods(self, period: date) -> list[date]:
        rows = self._q(
            """
            select period_start from (
                select distinct period_start from marts.scorecard_rep_period
                where period_grain = $grain and period_start <= $period
                order by period_start desc limit $n
            ) order by period_start
            """,
            period,
            n=TREND_PERIODS,
        )
        return [r["period_start"] for r in rows]

    _PERIODS_CTE = """
        periods as (
            select distinct period_start from marts.scorecard_rep_period
            where period_grain = $grain and period_start <= $period
            order by period_start desc limit $n
        )
    """

    def company_trend(self, period: date) -> list[dict]:
        return self._q(
            f"""
            with {self._PERIODS_CTE}
            select p.period_start, avg(s.composite_score) as composite_score
            from periods p
            left join marts.scorecard_rep_period s
              on s.period_grain = $grain and s.period_start = p.period_start
            group by p.period_start order by p.period_start
            """,
            period,
            n=TREND_PERIODS,
        )

    def rep_trends(self, period: date) -> dict[str, list[float | None]]:
        """Per scored rep: composite of each of the trend periods (null where missing)."""
        rows = self._q(
            f"""
            with {self._PERIODS_CTE},
            cur as (
                select distinct cast(rep_id as varchar) as rep_id
                from marts.scorecard_rep_period
                where period_grain = $grain and period_start = $period
            ),
            hist as (
                select cast(rep_id as varchar) as rep_id, period_start,
                       avg(composite_score) as composite_score
                from marts.scorecard_rep_period
                where period_grain = $grain and period_start <= $period
                group by all
            )
            select c.rep_id,
                   list(h.composite_score order by p.period_start) as values
            from cur c cross join periods p
            left join hist h on h.rep_id = c.rep_id and h.period_start = p.period_start
            group by c.rep_id
            """,
            period,
            n=TREND_PERIODS,
        )
        return {r["rep_id"]: r["values"] for r in rows}

    def team_trends(self, period: date) -> dict[str, list[float | None]]:
        rows = self._q(
            f"""
            with {self._PERIODS_CTE},
            cur as (
                select distinct cast(team_id as varchar) as team_id
                from marts.scorecard_team_period
                where period_grain = $grain and period_start <= $period
            ),
            hist as (
                select cast(team_id as varchar) as team_id, period_start,
                       avg(composite_score) as composite_score
                from marts.scorecard_team_period
                where period_grain = $grain and period_start <= $period
                group by all
            )
            select c.team_id,
                   list(h.composite_score order by p.period_start) as values
            from cur c cross join periods p
            left join hist h on h.team_id = c.team_id and h.period_start = p.period_start
            group by c.team_id
            """,
            period,
            n=TREND_PERIODS,
        )
        return {r["team_id"]: r["values"] for r in rows}

    # -- balanced scorecards above the team: company and regions

    def company(self, period: date) -> dict | None:
        """The company row of scorecard_company_period (None when the mart is absent)."""
        if "scorecard_company_period" not in self.tables:
            return None
        rows = self._q(
            """
            select financial_score, customer_score, process_score, learning_score, composite_score
            from marts.scorecard_company_period
            where period_grain = $grain and period_start = $period
            """,
            period,
        )
        return rows[0] if rows else None

    def regions(self, period: date) -> list[dict]:
        """Region scorecards: the region mart, or the mean of the region's scored reps."""
        if "scorecard_region_period" in self.tables:
            n_reps = "scored_reps" if ("scorecard_region_period", "scored_reps") in self.cols else "null"
            n_flag = "coaching_reps" if ("scorecard_region_period", "coaching_reps") in self.cols else "null"
            return self._q(
                f"""
                select cast(region as varchar) as region, financial_score, customer_score,
                       process_score, learning_score, composite_score,
                       {n_reps} as n_reps, {n_flag} as n_flagged
                from marts.scorecard_region_period
                where period_grain = $grain and period_start = $period
                order by composite_score desc nulls last, region
                """,
                period,
            )
        return self._q(
            f"""
            with {self.ctes}
            select r.region, avg(financial_score) as financial_score,
                   avg(customer_score) as customer_score, avg(process_score) as process_score,
                   avg(learning_score) as learning_score, avg(composite_score) as composite_score,
                   count(*) as n_reps, count(*) filter (where coaching_flag) as n_flagged
            from sc join reps_cur r using (rep_id)
            where r.region is not null
            group by r.region
            order by composite_score desc nulls last, r.region
            """,
            period,
        )

    # -- the review sheet of each rep

    def _review_medians_sql(self) -> str | None:
        """Team medians from marts.review_sheet_rep_period when that mart has them."""
        table = "review_sheet_rep_period"
        if table not in self.tables or (table, "kpi_code") not in self.cols:
            return None
        pick = {
            key: next((c for c in names if (table, c) in self.cols), None)
            for key, names in {
                "actual": ("team_median_actual", "team_median_actual_value", "team_median_value"),
                "attainment": ("team_median_attainment_pct", "team_median_attainment"),
            }.items()
        }
        if not pick["attainment"]:
            return None
        return f"""
            select cast(rep_id as varchar) as rep_id, kpi_code,
                   {pick["actual"] or "null"} as team_median_actual,
                   {pick["attainment"]} as team_median_attainment
            from marts.{table}
            where period_grain = $grain and period_start = $period
        """

    def review(self, period: date) -> dict[str, list[dict]]:
        """Per rep: every KPI with target, attainment, the team's median actual and
        attainment, and its rank from strongest (1) and from weakest (1) among scored KPIs."""
        team = "cast(k.team_id as varchar)" if ("kpi_rep_period", "team_id") in self.cols else "null"
        medians = self._review_medians_sql()
        if medians is None:
            medians = """
                select kk.rep_id, kk.kpi_code, m.team_median_actual, m.team_median_attainment
                from kk join (
                    select team_id, kpi_code, median(actual_value) as team_median_actual,
                           median(attainment_pct) as team_median_attainment
                    from kk where team_id is not null
                    group by team_id, kpi_code
                ) m using (team_id, kpi_code)
            """
        rows = self._q(
            f"""
            with {self.ctes},
            kk as (
                select cast(k.rep_id as varchar) as rep_id, k.kpi_code, k.perspective,
                       k.actual_value, k.target_value, k.attainment_pct, k.weight_pct,
                       k.weighted_score, coalesce({team}, r.team_id) as team_id
                from marts.kpi_rep_period k
                left join reps_cur r on r.rep_id = cast(k.rep_id as varchar)
                where k.period_grain = $grain and k.period_start = $period
            ),
            med as ({medians}),
            scored as (
                select rep_id, kpi_code,
                       row_number() over (
                           partition by rep_id order by attainment_pct desc, kpi_code
                       ) as strongest_rank,
                       row_number() over (
                           partition by rep_id order by attainment_pct asc, kpi_code
                       ) as weakest_rank
                from kk
                where weight_pct > 0 and attainment_pct is not null
            )
            select kk.rep_id, kk.kpi_code, kk.perspective, kk.actual_value, kk.target_value,
                   kk.attainment_pct, kk.weight_pct, kk.weighted_score,
                   med.team_median_actual, med.team_median_attainment,
                   kk.attainment_pct - med.team_median_attainment as vs_team_median,
                   kk.attainment_pct - 100 as vs_target,
                   scored.strongest_rank, scored.weakest_rank
            from kk
            left join med using (rep_id, kpi_code)
            left join scored using (rep_id, kpi_code)
            order by kk.rep_id, {_PERSPECTIVE_ORDER_SQL.replace("perspective", "kk.perspective")}, kk.kpi_code
            """,
            period,
        )
        out: dict[str, list[dict]] = {}
        for row in rows:
            out.setdefault(row["rep_id"], []).append(row)
        return out

    def rep_history(self, period: date) -> dict[str, list[dict]]:
        """Per rep: composite, ranks and coaching flag of each of the trend periods."""
        rows = self._q(
            f"""
            with {self._PERIODS_CTE}
            select cast(s.rep_id as varchar) as rep_id, s.period_start, s.composite_score,
                   s.rank_in_team, s.rank_in_company, s.coaching_flag
            from marts.scorecard_rep_period s
            join periods p using (period_start)
            where s.period_grain = $grain
            order by rep_id, s.period_start
            """,
            period,
            n=TREND_PERIODS,
        )
        out: dict[str, list[dict]] = {}
        for row in rows:
            out.setdefault(row["rep_id"], []).append(row)
        return out

    def kpi_history(self, period: date) -> dict[str, dict[str, dict[date, Any]]]:
        """Per rep and weighted KPI: attainment in each of the trend periods."""
        rows = self._q(
            f"""
            with {self._PERIODS_CTE}
            select cast(k.rep_id as varchar) as rep_id, k.kpi_code, k.period_start,
                   k.attainment_pct
            from marts.kpi_rep_period k
            join periods p using (period_start)
            where k.period_grain = $grain and k.weight_pct > 0
            order by rep_id, k.kpi_code, k.period_start
            """,
            period,
            n=TREND_PERIODS,
        )
        out: dict[str, dict[str, dict[date, Any]]] = {}
        for row in rows:
            out.setdefault(row["rep_id"], {}).setdefault(row["kpi_code"], {})[row["period_start"]] = row[
                "attainment_pct"
            ]
        return out


# --------------------------------------------------------------------------- rendering


def _environment(tr: Translator) -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,  # one report per process: no stat of each template per page
    )
    env.filters.update(pct=_fmt_pct, num=_fmt_num, money=_fmt_money, coef=_fmt_coef, ident=safe_file_stem)
    env.globals.update(
        t=tr,
        perspectives=PERSPECTIVES,
        rep_file=lambda rep_id: f"{safe_file_stem(rep_id)}.html",
        team_file=lambda team_id: f"{safe_file_stem(team_id)}.html",
        split_codes=lambda text: [c.strip() for c in str(text or "").split(",") if c.strip()],
    )
    return env


def _bar_chart(canvas: str, title: str, labels: list[str], values: list[Any], **extra) -> dict:
    return {
        "canvas": canvas,
        "type": "bar",
        "title": title,
        "unit": "%",
        "labels": labels,
        "datasets": [{"label": title, "data": [_num(v) for v in values]}],
        **extra,
    }


def _line_chart(canvas: str, title: str, labels: list[str], values: list[Any]) -> dict:
    return {
        "canvas": canvas,
        "type": "line",
        "title": title,
        "unit": "%",
        "labels": labels,
        "datasets": [{"label": title, "data": [_num(v) for v in values]}],
    }


def _multi_chart(
    canvas: str, kind: str, title: str, labels: list[str], series: list[tuple[str, list]]
) -> dict:
    """A chart of several named series (one colour each): KPI trends, rep vs team median."""
    return {
        "canvas": canvas,
        "type": kind,
        "title": title,
        "unit": "%",
        "labels": labels,
        "datasets": [{"label": name, "data": [_num(v) for v in values]} for name, values in series],
    }


def _copy_assets(out_dir: Path) -> None:
    target = out_dir / "assets"
    target.mkdir(parents=True, exist_ok=True)
    for name in ASSET_FILES:
        shutil.copyfile(ASSETS_DIR / name, target / name)


def _write(path: Path, html: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")


def write_report(
    warehouse: Path,
    out_dir: Path,
    lang: str = "en",
    grain: str = "month",
    period_start: date | None = None,
    *,
    company: str | None = None,
    generated_at: datetime | None = None,
) -> Path:
    """Write the HTML scorecard report of one period and return the path of index.html.

    ``warehouse``: the DuckDB file, opened read-only. ``lang``: ``en`` or ``zh-CN``.
    ``grain``: week, month, quarter or year. ``period_start``: the period to report;
    default the latest period of the grain in ``marts.scorecard_rep_period``.
    ``company``: name in the header (default a translated "Company").
    ``generated_at``: timestamp shown in the header (default now, in ``SPM_TIMEZONE``).

    Raises ValueError for an unknown language or grain, a missing marts table, or a
    ``period_start`` with no scorecard rows; FileNotFoundError for a missing warehouse.
    """
    tr = translator(lang)
    if grain not in GRAINS:
        raise ValueError(f"unsupported grain {grain!r}: choose one of {', '.join(GRAINS)}")
    warehouse = Path(warehouse)
    if not warehouse.is_file():
        raise FileNotFoundError(f"warehouse file not found: {warehouse}")
    out_dir = Path(out_dir)
    stamp = generated_at or _now()
    # dbt docs copied beside the report by the run (orchestration/docs.py)
    has_docs = (out_dir / "docs" / "index.html").is_file()
    # taken before opening: a file replaced meanwhile fails a second process (no mixed data)
    st = warehouse.stat()

    con = duckdb.connect(str(warehouse), read_only=True)
    with contextlib.ExitStack() as second_process:
        try:
            marts = _Marts(con, grain)
            period = marts.latest_period() if period_start is None else _coerce_date(period_start)
            n_reps = marts.scored_reps(period) if period is not None else 0
            if period_start is not None and not n_reps:
                latest = marts.latest_period()
                raise ValueError(
                    f"no scorecard rows for grain {grain!r} and period_start {period}"
                    + (f" (latest is {latest})" if latest else "")
                )
            # ~3 ms of Jinja per rep page: with thousands of reps, a second process renders
            # half of them; it starts now and runs the same queries itself meanwhile.
            parallel = n_reps >= PARALLEL_REP_PAGES and (os.cpu_count() or 1) >= 2
            if parallel:
                args = {
                    "warehouse": str(warehouse),
                    "file": [st.st_ino, st.st_mtime_ns],
                    "out_dir": str(out_dir),
                    "lang": tr.lang,
                    "grain": grain,
                    "period": period.isoformat(),
                    "company": company,
                    "generated_at": stamp.isoformat(),
                    "has_docs": has_docs,
                    "share": "second half",
                }
                second_process.enter_context(_rep_pages_elsewhere(args))
            data = _collect(marts, period) if period is not None else None
        finally:
            con.close()

        env = _environment(tr)
        common = _common(tr, company, grain, period, stamp, has_docs, data)

        out_dir.mkdir(parents=True, exist_ok=True)
        _copy_assets(out_dir)

        if data is None:
            index = out_dir / "index.html"
            _write(index, _render_index(env, tr, common, None))
            html = env.get_template("rankings.html").render(**common, root="", reps=[], charts=chart_json([]))
            _write(out_dir / "rankings.html", html)
            return index

        index = out_dir / "index.html"
        _write(index, _render_index(env, tr, common, data))

        trend_labels = [period_short(grain, p) for p in data["trend_periods"]]
        for team in data["teams"]:
            reps = marts_team_reps(data, team["team_id"])
            charts = [
                _bar_chart(
                    "chart-rep-composites",
                    tr("rep_composites"),
                    [r["rep_name"] for r in reps],
                    [r["composite_score"] for r in reps],
                    highlight=[bool(r["coaching_flag"]) for r in reps],
                ),
                _line_chart(
                    "chart-team-trend",
                    tr("team_trend"),
                    trend_labels,
                    data["team_trends"].get(team["team_id"], []),
                ),
            ]
            html = env.get_template("team.html").render(
                **common, root="../", team=team, reps=reps, charts=chart_json(charts)
            )
            _write(out_dir / "teams" / f"{safe_file_stem(team['team_id'])}.html", html)

        _write_rep_pages(*_rep_pages(data, out_dir, common, "first half" if parallel else "all"))

        ranking_charts = [
            _bar_chart(
                "chart-rankings",
                tr("rankings"),
                [r["rep_name"] for r in data["reps"]],
                [r["composite_score"] for r in data["reps"]],
                highlight=[bool(r["coaching_flag"]) for r in data["reps"]],
            )
        ]
        html = env.get_template("rankings.html").render(
            **common, root="", reps=data["reps"], charts=chart_json(ranking_charts)
        )
        _write(out_dir / "rankings.html", html)
        return index


def _common(
    tr: Translator,
    company: str | None,
    grain: str,
    period: date | None,
    stamp: datetime,
    has_docs: bool,
    data: dict[str, Any] | None,
) -> dict[str, Any]:
    """What every page shows in its header; both processes of a large company build it here."""
    return {
        "lang": tr.lang,
        "company": company or tr("company_default"),
        "grain": grain,
        "period": period,
        "period_label": tr.period(grain, period) if period else "—",
        "generated_at": stamp.isoformat(sep=" ", timespec="minutes"),
        "plan_versions": (data or {}).get("header", {}).get("plan_versions"),
        "has_docs": has_docs,
    }


def _rep_pages(data: dict[str, Any], out_dir: Path, common: dict[str, Any], share: str) -> tuple:
    """The arguments of _write_rep_pages for a share of the reps: "all", or the "first half"
    or "second half" by position in data["reps"] (ordered down to rep_id in SQL, so both
    processes of a large company split it the same way)."""
    reps = data["reps"]
    half = len(reps) // 2
    reps = {"all": reps, "first half": reps[:half], "second half": reps[half:]}[share]
    grain = common["grain"]
    trend_labels = [period_short(grain, p) for p in data["trend_periods"]]
    pages = {key: data[key] for key in ("review", "rep_history", "kpi_history", "rep_trends")}
    return (out_dir, common["lang"], common, grain, data["trend_periods"], trend_labels, reps, pages)


@contextlib.contextmanager
def _rep_pages_elsewhere(args: dict[str, Any]) -> Iterator[None]:
    """Run _child_main(args) in a fresh Python process while the block runs: it gets small
    settings only and runs the queries itself. A plain subprocess, not multiprocessing: that
    would re-import the caller's main module."""
    root = str(Path(__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)}
    child = subprocess.Popen([sys.executable, "-m", "report.build", json.dumps(args)], env=env)
    try:
        yield
    except BaseException:
        child.kill()  # the report failed: no use for the rest of its pages
        raise
    finally:
        status = child.wait()
    if status != 0:
        raise RuntimeError(f"rendering rep pages in a second process failed (exit status {status})")


def _child_main(argv: list[str]) -> None:
    """The second process of a large company (``python -m report.build ARGS``): opens the
    warehouse read-only, runs the parent's queries and writes its share of the rep pages."""
    args = json.loads(argv[0])
    warehouse = Path(args["warehouse"])
    period = date.fromisoformat(args["period"])
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        st = warehouse.stat()  # after opening: the parent's file, or a replaced one
        if [st.st_ino, st.st_mtime_ns] != args["file"]:
            raise RuntimeError(f"{warehouse} was replaced while the report was being built")
        data = _collect(_Marts(con, args["grain"]), period)
    finally:
        con.close()
    stamp = datetime.fromisoformat(args["generated_at"])
    common = _common(
        translator(args["lang"]), args["company"], args["grain"], period, stamp, args["has_docs"], data
    )
    _write_rep_pages(*_rep_pages(data, Path(args["out_dir"]), common, args["share"]))


def _write_rep_pages(
    out_dir: Path,
    lang: str,
    common: dict[str, Any],
    grain: str,
    trend_periods: list[date],
    trend_labels: list[str],
    reps: list[dict],
    pages: dict[str, dict[str, Any]],
) -> None:
    """Write reps/<rep>.html for `reps`; `pages`: per rep id, its review, history, KPI
    history and trend. Runs in a second process for half of a large company."""
    tr = translator(lang)
    env = _environment(tr)
    for rep in reps:
        kpis = rep["kpis"] or []
        review = pages["review"].get(rep["rep_id"]) or []
        history = pages["rep_history"].get(rep["rep_id"]) or []
        kpi_history = pages["kpi_history"].get(rep["rep_id"]) or {}
        strongest = sorted((k for k in review if k["strongest_rank"]), key=lambda k: k["strongest_rank"])
        weakest = sorted((k for k in review if k["weakest_rank"]), key=lambda k: k["weakest_rank"])
        n_side = min(2, len(strongest) // 2) if len(strongest) > 1 else len(strongest)
        trend_kpis = sorted(kpi_history)
        trend_rows = [
            {**h, "kpis": {code: kpi_history[code].get(h["period_start"]) for code in trend_kpis}}
            for h in history
        ]
        charts = [
            _line_chart(
                "chart-rep-trend",
                tr("rep_trend"),
                trend_labels,
                pages["rep_trends"].get(rep["rep_id"]) or [],
            ),
            _bar_chart(
                "chart-kpi-attainment",
                tr("kpi_attainment"),
                [tr.kpi(k["kpi_code"]) for k in kpis],
                [k["attainment_pct"] for k in kpis],
            ),
        ]
        scored_review = [k for k in review if k["weight_pct"] and k["attainment_pct"] is not None]
        charts.append(
            _multi_chart(
                "chart-kpi-vs-team",
                "bar",
                tr("kpi_vs_team"),
                [tr.kpi(k["kpi_code"]) for k in scored_review],
                [
                    (rep["rep_name"], [k["attainment_pct"] for k in scored_review]),
                    (tr("team_median"), [k["team_median_attainment"] for k in scored_review]),
                ],
            )
        )
        charts.append(
            _multi_chart(
                "chart-kpi-trend",
                "line",
                tr("kpi_trend"),
                trend_labels,
                [(tr.kpi(code), [kpi_history[code].get(p) for p in trend_periods]) for code in trend_kpis],
            )
        )
        html = env.get_template("rep.html").render(
            **common,
            root="../",
            rep=rep,
            kpis=kpis,
            review=review,
            strongest=strongest[:n_side],
            weakest=weakest[:n_side],
            trend_kpis=trend_kpis,
            trend_rows=trend_rows,
            period_short=lambda p: period_short(grain, p),
            charts=chart_json(charts),
        )
        _write(out_dir / "reps" / f"{safe_file_stem(rep['rep_id'])}.html", html)


def _collect(marts: _Marts, period: date) -> dict[str, Any]:
    reps = marts.reps(period)
    return {
        "header": marts.header(period),
        "payouts": marts.payout_totals(period),
        "teams": marts.teams(period),
        "reps": reps,
        # the top list and the coaching list are rows of `reps` in another order: no re-query
        "top": reps[:TOP_N],
        "coaching": sorted(
            (r for r in reps if r["coaching_flag"]),
            # weakest first, unscored first
            key=lambda r: (
                r["composite_score"] is not None,
                r["composite_score"],
                r["rep_name"],
                r["rep_id"],
            ),
        ),
        "team_reps": {
            row["team_id"]: row["rep_ids"]
            for row in marts._q(
                f"""
                with {marts.ctes}
                select r.team_id,
                       list(s.rep_id order by s.rank_in_team nulls last,
                            s.composite_score desc nulls last, r.rep_name, s.rep_id) as rep_ids
                from sc s join reps_cur r using (rep_id)
                where r.team_id is not null
                group by r.team_id
                """,
                period,
            )
        },
        "company": marts.company(period),
        "regions": marts.regions(period),
        "review": marts.review(period),
        "rep_history": marts.rep_history(period),
        "kpi_history": marts.kpi_history(period),
        "trend_periods": marts.trend_periods(period),
        "company_trend": marts.company_trend(period),
        "rep_trends": marts.rep_trends(period),
        "team_trends": marts.team_trends(period),
    }


def marts_team_reps(data: dict[str, Any], team_id: str) -> list[dict]:
    """The team's scored reps in rank_in_team order (order computed in SQL)."""
    by_id = {r["rep_id"]: r for r in data["reps"]}
    return [by_id[i] for i in data["team_reps"].get(team_id, []) if i in by_id]


def _render_index(
    env: Environment, tr: Translator, common: dict[str, Any], data: dict[str, Any] | None
) -> str:
    if data is None:
        return env.get_template("index.html").render(
            **common,
            root="",
            data=None,
            charts=chart_json([]),
        )
    grain = common["grain"]
    teams = data["teams"]
    if data["company"]:  # the company mart's own balanced scorecard over the mean of reps
        data["header"].update(data["company"])
    charts = [
        _bar_chart(
            "chart-region-composites",
            tr("region_composites"),
            [str(r["region"]) for r in data["regions"]],
            [r["composite_score"] for r in data["regions"]],
        ),
        _bar_chart(
            "chart-team-composites",
            tr("team_composites"),
            [t["team_name"] for t in teams],
            [t["composite_score"] for t in teams],
        ),
        _line_chart(
            "chart-company-trend",
            tr("company_trend"),
            [period_short(grain, r["period_start"]) for r in data["company_trend"]],
            [r["composite_score"] for r in data["company_trend"]],
        ),
    ]
    return env.get_template("index.html").render(
        **common,
        root="",
        data=data,
        charts=chart_json(charts),
    )


if __name__ == "__main__":
    _child_main(sys.argv[1:])
