"""Finance export: a closed period's bonus table as CSV, Parquet and XLSX, plus a manifest.

`export_bonus` reads `marts.bonus_rep_period` from the published warehouse (read-only),
refuses a period that is not closed, and writes into `out_dir`::

    bonus_<grain>_<start>.csv       UTF-8, header, amounts as exact decimals
    bonus_<grain>_<start>.parquet   the mart's own types (decimal(18,2) money, dates)
    bonus_<grain>_<start>.xlsx      one sheet, money as numbers with two decimals
    bonus_<grain>_<start>.manifest.json
        row count, total payout per currency, plan version(s), run id(s), the
        published run, and the SHA-256 and size of each file

Money stays `Decimal` from the warehouse to the files: totals reconcile to the cent.
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb

GRAINS = ("week", "month", "quarter", "year")
MONEY_COLUMNS = (
    "base_bonus",
    "bonus_amount",
    "new_penalty_amount",
    "carried_in_amount",
    "penalty_amount",
    "clawback_amount",
    "payout_amount",
    "carried_out_amount",
)
SHEET = "bonus"


class ExportError(ValueError):
    """The export cannot be made; the message says why and what to do."""


@dataclass
class ExportResult:
    grain: str
    period_start: date
    rows: int
    payout_by_currency: dict[str, Decimal]
    files: dict[str, Path] = field(default_factory=dict)
    manifest: Path | None = None


def _connect_read_only(warehouse: Path) -> duckdb.DuckDBPyConnection:
    if not warehouse.is_file():
        raise ExportError(f"published warehouse {warehouse} does not exist: run `spm run` first")
    return duckdb.connect(str(warehouse), read_only=True)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def export_bonus(warehouse: Path, grain: str, period_start: date, out_dir: Path) -> ExportResult:
    """Write the finance files of one closed period; raise ExportError if it is open or absent."""
    if grain not in GRAINS:
        raise ExportError(f"unknown grain {grain!r}: choose one of {', '.join(GRAINS)}")
    con = _connect_read_only(Path(warehouse))
    try:
        cur = con.execute(
            "select * from marts.bonus_rep_period where period_grain = ? and period_start = ? "
            "order by rep_id",
            [grain, period_start],
        )
        columns = [d[0] for d in cur.description]
        table = cur.to_arrow_table()
        rows = table.to_pylist()  # dicts in column order; Decimal money, date dates
        published_run = None
        if con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = 'marts' and table_name = '_publish_info'"
        ).fetchone()[0]:
            published_run = con.execute("select max(run_id) from marts._publish_info").fetchone()[0]
        if not rows:
            known = con.execute(
                "select string_agg(distinct cast(period_start as varchar), ', ') "
                "from marts.bonus_rep_period where period_grain = ? and is_closed",
                [grain],
            ).fetchone()[0]
            raise ExportError(
                f"no bonus rows for {grain} {period_start} in {warehouse}"
                + (f"; closed {grain} periods: {known}" if known else f"; no {grain} period is closed yet")
            )
    finally:
        con.close()

    open_reps = [r["rep_id"] for r in rows if not r.get("is_closed")]
    if open_reps:
        raise ExportError(
            f"{grain} {period_start} is not closed ({len(open_reps)} of {len(rows)} bonus rows open): "
            f"finance exports closed periods only, whose rows can no longer change. "
            f"Close it first: spm close-period {grain} {period_start}"
        )

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"bonus_{grain}_{period_start.isoformat()}"
    files = {
        "csv": out_dir / f"{stem}.csv",
        "parquet": out_dir / f"{stem}.parquet",
        "xlsx": out_dir / f"{stem}.xlsx",
    }
    _write_csv(files["csv"], columns, rows)
    _write_parquet(files["parquet"], table)
    _write_xlsx(files["xlsx"], columns, rows)

    totals: dict[str, Decimal] = {}
    for r in rows:
        currency = r.get("currency") or ""
        totals[currency] = totals.get(currency, Decimal("0.00")) + (r["payout_amount"] or Decimal("0.00"))
    plan_versions = sorted({str(r["plan_version"]) for r in rows if r.get("plan_version") is not None})
    run_ids = sorted({str(r["run_id"]) for r in rows if r.get("run_id") is not None})
    manifest = {
        "table": "marts.bonus_rep_period",
        "period_grain": grain,
        "period_start": period_start.isoformat(),
        "is_closed": True,
        "row_count": len(rows),
        "total_payout_by_currency": {k: str(v) for k, v in sorted(totals.items())},
        "plan_version": plan_versions[0] if len(plan_versions) == 1 else plan_versions,
        "run_id": run_ids[0] if len(run_ids) == 1 else run_ids,
        "published_run_id": published_run,
        "columns": columns,
        "files": {
            path.name: {"format": kind, "sha256": _sha256(path), "bytes": path.stat().st_size}
            for kind, path in files.items()
        },
        "source": str(warehouse),
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    manifest_path = out_dir / f"{stem}.manifest.json"
    manifest_path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return ExportResult(grain, period_start, len(rows), totals, files, manifest_path)


def _write_csv(path: Path, columns: list[str], rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(columns)
        for r in rows:
            writer.writerow([_text(r[c]) for c in columns])


def _write_parquet(path: Path, table) -> None:
    import pyarrow.parquet as pq

    pq.write_table(table, path, compression="zstd")


def _cell(value):
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.isoformat()  # Excel has no time zones
    if value is None or isinstance(value, int | Decimal | date | bool):
        return value
    return _text(value)


def _write_xlsx(path: Path, columns: list[str], rows: list[dict]) -> None:
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    ws.append(columns)
    ws.freeze_panes = "A2"
    for r in rows:
        # Decimal money is written as the exact number text; dates as dates.
        ws.append([_cell(r[c]) for c in columns])
    formats = {c: "#,##0.00" for c in MONEY_COLUMNS}
    formats.update(period_start="yyyy-mm-dd", period_end="yyyy-mm-dd")
    for index, name in enumerate(columns, start=1):
        letter = get_column_letter(index)
        ws.column_dimensions[letter].width = max(12, min(40, len(name) + 2))
        if name in formats:
            for (cell,) in ws.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.number_format = formats[name]
    wb.save(path)
