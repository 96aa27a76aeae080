"""Shared state and vectorised helpers of the demo company generator."""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingestion.demo.writers import EntityWriter

EPOCH = date(1970, 1, 1)
DAY_S = 86_400
REGIONS = ["east", "north", "south", "west"]
ROLES = ["sales", "marketing", "manager"]
CHANNELS = ["direct", "distributor", "online", "key_account"]
# Sales seasonality by calendar month (Jan..Dec): Spring Festival dip, 618 and 11.11 peaks.
SEASON = np.array([0.80, 0.68, 1.00, 1.00, 1.05, 1.15, 0.95, 0.95, 1.05, 0.90, 1.15, 1.25])


def day_of(d: date) -> int:
    """Days since 1970-01-01."""
    return (d - EPOCH).days


def date_of(day: int) -> date:
    return EPOCH + timedelta(days=int(day))


def stream_rng(seed: int, name: str, *index: int) -> np.random.Generator:
    """An independent random stream per (seed, purpose, index): order-independent output."""
    key = [int(seed) % (2**63), zlib.crc32(name.encode("utf-8")), *(int(i) for i in index)]
    return np.random.default_rng(np.random.SeedSequence(key))


def uniform_days(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """A random day in [lo, hi] (inclusive) per element, nudged off weekends mostly."""
    lo = np.asarray(lo, dtype=np.int64)
    hi = np.maximum(np.asarray(hi, dtype=np.int64), lo)
    day = lo + np.floor(rng.random(lo.shape) * (hi - lo + 1)).astype(np.int64)
    dow = (day + 3) % 7  # Monday = 0; 1970-01-01 was a Thursday
    weekend = (dow >= 5) & (rng.random(lo.shape) < 0.8)
    shifted = day - (dow - 4)  # back to Friday
    return np.where(weekend & (shifted >= lo), shifted, day)


def steady_counts(rng: np.random.Generator, lam: np.ndarray, sigma: float = 0.15) -> np.ndarray:
    """Counts around ``lam`` (mean-preserving) with less spread than Poisson.

    Routine, planned work (orders of a book of accounts, weekly reports) varies less than
    a Poisson process; this keeps monthly attainments in a believable 70-130% band.
    """
    lam = np.asarray(lam, dtype=np.float64)
    x = lam * rng.lognormal(-0.5 * sigma**2, sigma, lam.shape)
    return np.floor(x + rng.random(lam.shape)).astype(np.int64)


def office_seconds(rng: np.random.Generator, n: int, start_h: int = 8, end_h: int = 19) -> np.ndarray:
    return rng.integers(start_h * 3600, end_h * 3600, n).astype(np.int64)


@dataclass
class Quota:
    """Deterministic defect quota: after ``cum`` eligible rows, ``ceil(cum * rate)`` defects."""

    rate: float
    cum: int = 0
    done: int = 0

    def take(self, n_rows: int) -> int:
        self.cum += int(n_rows)
        due = math.ceil(self.cum * self.rate) if self.cum else 0
        k = max(0, min(due - self.done, int(n_rows)))
        self.done += k
        return k


@dataclass
class DefectLog:
    """Collects injected defects; written to ``_defects/defects.csv`` at the end."""

    parts: list[dict[str, object]] = field(default_factory=list)

    def add(
        self,
        writer: EntityWriter,
        global_rows: np.ndarray,
        keys: pa.Array,
        defect: str,
        detail: pa.Array | str,
    ) -> None:
        global_rows = np.asarray(global_rows, dtype=np.int64)
        if len(global_rows) == 0:
            return
        files, rows = writer.location(global_rows)
        n = len(global_rows)
        if isinstance(detail, str):
            detail = pa.array([detail] * n, type=pa.string())
        self.parts.append(
            {
                "entity": pa.array([writer.entity] * n, type=pa.string()),
                "source_file": pa.array(files.tolist(), type=pa.string()),
                "row_number": pa.array(rows, type=pa.int64()),
                "key": pc.cast(keys, pa.string()),
                "defect": pa.array([defect] * n, type=pa.string()),
                "detail": pc.cast(detail, pa.string()),
            }
        )

    def table(self) -> pa.Table:
        names = ["entity", "source_file", "row_number", "key", "defect", "detail"]
        if not self.parts:
            return pa.table(
                {n: pa.array([], pa.int64() if n == "row_number" else pa.string()) for n in names}
            )
        cols = {n: pa.concat_arrays([p[n] for p in self.parts]) for n in names}
        t = pa.table(cols)
        return t.sort_by([("entity", "ascending"), ("source_file", "ascending"), ("row_number", "ascending")])


def insert_duplicates(n: int, dup_base: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row order with some rows repeated right after themselves.

    Returns (take index into the base rows, final position of every base row,
    final position of every duplicate copy, aligned with sorted ``dup_base``).
    """
    dup = np.sort(np.asarray(dup_base, dtype=np.int64))
    take = np.insert(np.arange(n, dtype=np.int64), dup + 1, dup)
    base = np.arange(n, dtype=np.int64)
    first_pos = base + np.searchsorted(dup, base, side="left")
    dup_pos = first_pos[dup] + 1
    return take, first_pos, dup_pos


def choose_disjoint(rng: np.random.Generator, candidates: np.ndarray, counts: list[int]) -> list[np.ndarray]:
    """Disjoint random subsets of ``candidates`` with the given sizes (truncated if short)."""
    perm = rng.permutation(np.asarray(candidates, dtype=np.int64))
    out, pos = [], 0
    for k in counts:
        out.append(np.sort(perm[pos : pos + k]))
        pos += k
    return out


@dataclass
class Ctx:
    """Everything the generation steps share."""

    landing_dir: Path
    seed: int
    scale: int
    as_of: date
    tag: str
    start: date
    month_start: np.ndarray  # day numbers, one per month of history
    month_end: np.ndarray
    hist_end: np.ndarray  # month end clipped to as_of
    cal_month: np.ndarray  # 1..12
    quarter_start: np.ndarray  # day numbers of the quarters overlapping the history
    quarter_of_month: np.ndarray
    plan: dict
    parquet: bool
    progress: bool
    defects: DefectLog = field(default_factory=DefectLog)
    paths: list[Path] = field(default_factory=list)
    row_counts: dict[str, int] = field(default_factory=dict)
    # filled by the steps
    reps: dict[str, np.ndarray] = field(default_factory=dict)
    accounts: dict[str, np.ndarray] = field(default_factory=dict)
    products: dict[str, np.ndarray] = field(default_factory=dict)
    fx: np.ndarray | None = None  # USD rate per day of history (index = day - start day)
    agg: dict[str, np.ndarray] = field(default_factory=dict)
    exposure: np.ndarray | None = None  # (reps, months) employed share of each month
    rep_ids: pa.Array | None = None
    account_ids: pa.Array | None = None
    product_ids: pa.Array | None = None

    @property
    def n_months(self) -> int:
        return len(self.month_start)

    @property
    def as_of_day(self) -> int:
        return day_of(self.as_of)

    @property
    def start_day(self) -> int:
        return day_of(self.start)

    @property
    def as_of_end_s(self) -> int:
        return (self.as_of_day + 1) * DAY_S - 1

    def month_of(self, days: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.month_start, days, side="right") - 1

    def agg_add(self, name: str, rep: np.ndarray, month: np.ndarray, values: object = 1.0) -> None:
        """Add values into the (rep, month) aggregate ``name`` (months outside history dropped)."""
        mat = self.agg.setdefault(name, np.zeros((len(self.reps["role"]), self.n_months)))
        rep = np.asarray(rep, dtype=np.int64)
        month = np.broadcast_to(np.asarray(month, dtype=np.int64), rep.shape)
        vals = np.broadcast_to(np.asarray(values, dtype=np.float64), rep.shape)
        ok = (month >= 0) & (month < self.n_months) & (rep >= 0)
        flat = rep[ok] * self.n_months + month[ok]
        mat += np.bincount(flat, weights=vals[ok], minlength=mat.size).reshape(mat.shape)

    def record(self, writer: EntityWriter) -> None:
        paths = writer.close()
        self.paths.extend(paths)
        self.row_counts[writer.entity] = self.row_counts.get(writer.entity, 0) + writer.rows

    def writer(self, entity: str, *, suffix: str = "", big: bool = False) -> EntityWriter:
        fmt = "parquet" if (big and self.parquet and not suffix) else "csv"
        return EntityWriter(self.landing_dir, entity, self.tag, fmt=fmt, suffix=suffix)
