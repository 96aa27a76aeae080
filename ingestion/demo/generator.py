"""Deterministic generator of a realistic demo company, written into the landing zone.

``generate_company(landing_dir, scale=10_000, seed=42, as_of=None)`` writes one history
file per landing entity (``<source>/<entity>/<entity>_<as_of:%Y%m%d>.csv``), a late orders
drop (``orders_<as_of>_late.csv`` + ``order_lines_<as_of>_late.csv``) and the manifest of
injected defects (``_defects/defects.csv``). Same (scale, seed, as_of) gives byte-identical
files. Above 1,000,000 order lines, ``orders/orders`` and ``orders/order_lines`` are written
as Parquet parts of at most 2,000,000 rows (``<entity>_<as_of>_partNNNN.parquet``), typed
as documented in :mod:`ingestion.demo.schema`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import yaml

from ingestion.demo.model import Ctx, day_of
from ingestion.demo.org import build_accounts, build_org, build_reference
from ingestion.demo.plans import build_people, build_plans
from ingestion.demo.schema import DEFECTS_COLUMNS, ENTITIES
from ingestion.demo.transactions import build_transactions
from ingestion.demo.writers import csv_bytes, header_bytes

PARQUET_ABOVE_LINES = 1_000_000
HISTORY_MONTHS = 24
DEFAULT_TIMEZONE = "Asia/Shanghai"
REPO_PLAN = Path(__file__).resolve().parents[2] / "config" / "plan.yml"
DEFAULT_PLAN = {
    "roles": {
        "sales": {"weights": {"revenue": 60, "csat_pct": 20, "market_feedback": 20}},
        "marketing": {"weights": {"leads": 40, "event_participants": 30, "brand_exposure": 30}},
        "manager": {"weights": {"revenue": 40, "win_rate_pct": 20, "csat_pct": 20, "review_360": 20}},
    }
}


@dataclass
class GenerationSummary:
    """What one generation wrote."""

    landing_dir: Path
    scale: int
    seed: int
    as_of: date
    start_date: date
    row_counts: dict[str, int] = field(default_factory=dict)  # entity -> rows (all its files)
    paths: list[Path] = field(default_factory=list)  # every file written, manifest included
    defects: int = 0
    defect_counts: dict[str, int] = field(default_factory=dict)  # defect kind -> rows

    @property
    def order_lines(self) -> int:
        return self.row_counts.get("orders/order_lines", 0)


def default_as_of(tz_name: str | None = None) -> date:
    """Yesterday in the company time zone (``SPM_TIMEZONE``, default Asia/Shanghai)."""
    tz_name = tz_name or os.environ.get("SPM_TIMEZONE") or DEFAULT_TIMEZONE
    try:
        from zoneinfo import ZoneInfo

        now = datetime.now(ZoneInfo(tz_name))
    except Exception:  # no tz database: Asia/Shanghai has no DST
        now = datetime.now(timezone(timedelta(hours=8)))
    return now.date() - timedelta(days=1)


def load_plan(plan_path: Path | str | None = None) -> dict:
    """The plan (role KPI weights etc.): argument, ``SPM_PLAN``, the repo's config/plan.yml."""
    path = plan_path or os.environ.get("SPM_PLAN") or REPO_PLAN
    path = Path(path)
    if not path.exists():
        return DEFAULT_PLAN
    with open(path, encoding="utf-8") as fh:
        plan = yaml.safe_load(fh) or {}
    if not isinstance(plan.get("roles"), dict):
        raise ValueError(f"{path}: plan has no 'roles' mapping")
    return plan


def _month_grid(as_of: date) -> tuple[date, list[date]]:
    y, m = as_of.year, as_of.month - HISTORY_MONTHS
    while m < 1:
        y, m = y - 1, m + 12
    months = []
    for _ in range(HISTORY_MONTHS + 1):
        months.append(date(y, m, 1))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return months[0], [*months, date(y, m, 1)]  # plus the month after as_of's month


def _remove_stale(landing_dir: Path, tag: str) -> None:
    """Drop files this generator would write for the same as_of (e.g. CSV vs Parquet parts)."""
    for entity in ENTITIES:
        folder = landing_dir / entity
        if not folder.is_dir():
            continue
        base = f"{entity.split('/')[-1]}_{tag}"
        for pattern in (
            f"{base}.csv",
            f"{base}_late.csv",
            f"{base}_part*.parquet",
            f".{base}*.tmp",
        ):
            for path in folder.glob(pattern):
                path.unlink()


def generate_company(
    landing_dir: Path,
    scale: int = 10_000,
    seed: int = 42,
    as_of: date | None = None,
    progress: bool = False,
    *,
    plan_path: Path | str | None = None,
) -> GenerationSummary:
    """Write a generated demo company into ``landing_dir``; see the module docstring.

    ``scale`` is the number of order lines (within a few percent); reps grow as
    ``round(40 * (scale / 10_000) ** 0.566)`` and everything else proportionally.
    History runs from the first day of the month 24 months before ``as_of``'s month
    through ``as_of`` (default: yesterday in the company time zone).
    """
    if scale < 1:
        raise ValueError("scale must be a positive number of order lines")
    landing_dir = Path(landing_dir)
    as_of = as_of or default_as_of()
    if isinstance(as_of, datetime):
        as_of = as_of.date()
    start, firsts = _month_grid(as_of)
    month_start = np.array([day_of(d) for d in firsts[:-1]], dtype=np.int64)
    month_end = np.array([day_of(d) - 1 for d in firsts[1:]], dtype=np.int64)
    q_firsts = sorted({date(d.year, 3 * ((d.month - 1) // 3) + 1, 1) for d in firsts[:-1]})
    quarter_start = np.array([day_of(d) for d in q_firsts], dtype=np.int64)
    ctx = Ctx(
        landing_dir=landing_dir,
        seed=int(seed),
        scale=int(scale),
        as_of=as_of,
        tag=f"{as_of:%Y%m%d}",
        start=start,
        month_start=month_start,
        month_end=month_end,
        hist_end=np.minimum(month_end, day_of(as_of)),
        cal_month=np.array([d.month for d in firsts[:-1]]),
        quarter_start=quarter_start,
        quarter_of_month=np.searchsorted(quarter_start, month_start, side="right") - 1,
        plan=load_plan(plan_path),
        parquet=scale > PARQUET_ABOVE_LINES,
        progress=progress,
    )
    landing_dir.mkdir(parents=True, exist_ok=True)
    _remove_stale(landing_dir, ctx.tag)

    build_org(ctx)
    build_reference(ctx)
    build_accounts(ctx)
    build_transactions(ctx)
    build_people(ctx)
    build_plans(ctx)

    manifest = ctx.defects.table()
    folder = landing_dir / "_defects"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "defects.csv"
    tmp = folder / ".defects.csv.tmp"
    with open(tmp, "wb") as fh:
        fh.write(header_bytes(DEFECTS_COLUMNS))
        fh.write(csv_bytes(manifest, ["str", "str", "int", "str", "str", "str"]))
    os.replace(tmp, path)
    counted = pc.value_counts(manifest.column("defect").combine_chunks()).to_pylist()
    counts = {c["values"]: c["counts"] for c in sorted(counted, key=lambda c: c["values"])}
    return GenerationSummary(
        landing_dir=landing_dir,
        scale=ctx.scale,
        seed=ctx.seed,
        as_of=as_of,
        start_date=start,
        row_counts=dict(ctx.row_counts),
        paths=[*ctx.paths, path],
        defects=manifest.num_rows,
        defect_counts=counts,
    )
