"""Finance export: a closed period's bonus rows as CSV, Parquet and XLSX that reconcile to
the bonus mart to the cent; an open period is refused."""

from __future__ import annotations

import csv
import hashlib
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from orchestration.finance_export import ExportError, export_bonus

JAN, FEB = date(2026, 1, 1), date(2026, 2, 1)
# Cents that a float sum would get wrong (0.1 + 0.2, many thirds of a cent rounded).
PAYOUTS = [Decimal("0.10"), Decimal("0.20"), Decimal("1234567.89"), Decimal("0.01"), Decimal("3333.33")] * 7


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "spm.duckdb"
    con = duckdb.connect(str(path))
    con.execute(
        """
        create schema marts;
        create table marts.bonus_rep_period (
            rep_id varchar, period_grain varchar, period_start date, composite_score decimal(18,4),
            tier varchar, coefficient decimal(9,4), base_bonus decimal(18,2), bonus_amount decimal(18,2),
            penalty_amount decimal(18,2), clawback_amount decimal(18,2), payout_amount decimal(18,2),
            currency varchar, plan_version varchar, run_id varchar, is_closed boolean);
        create table marts._publish_info (run_id varchar, published_at timestamp, tables integer);
        insert into marts._publish_info values ('run-publish', '2026-02-03 02:10:00', 12);
        """
    )
    rows = []
    for i, payout in enumerate(PAYOUTS):
        rep = "张伟" if i == 0 else f"R{i:02d}"
        currency = "USD" if i % 5 == 3 else "CNY"
        rows.append(
            [
                rep,
                "month",
                JAN,
                101.5,
                "achieved",
                1.5,
                payout,
                payout,
                0,
                0,
                payout,
                currency,
                "2026.1",
                "run-1",
                True,
            ]
        )
        rows.append(
            [rep, "month", FEB, 99, "on_track", 1.2, 100, 120, 0, 0, 120, currency, "2026.1", "run-2", False]
        )
    con.executemany("insert into marts.bonus_rep_period values (" + ", ".join("?" * 15) + ")", rows)
    con.close()
    return path


def _mart_totals(warehouse: Path, start: date) -> dict[str, Decimal]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return dict(
            con.execute(
                "select currency, sum(payout_amount) from marts.bonus_rep_period "
                "where period_grain = 'month' and period_start = ? group by currency",
                [start],
            ).fetchall()
        )
    finally:
        con.close()


def test_closed_period_reconciles_to_the_cent(warehouse: Path, tmp_path: Path) -> None:
    out = tmp_path / "finance"
    result = export_bonus(warehouse, "month", JAN, out)
    expected = _mart_totals(warehouse, JAN)
    assert expected == {"CNY": Decimal("8665310.64"), "USD": Decimal("0.07")}
    assert result.payout_by_currency == expected
    assert result.rows == len(PAYOUTS)

    manifest = json.loads(result.manifest.read_text(encoding="utf-8"))
    assert manifest["row_count"] == len(PAYOUTS)
    assert manifest["total_payout_by_currency"] == {k: str(v) for k, v in expected.items()}
    assert (manifest["plan_version"], manifest["run_id"], manifest["published_run_id"]) == (
        "2026.1",
        "run-1",
        "run-publish",
    )
    for kind in ("csv", "parquet", "xlsx"):
        path = result.files[kind]
        entry = manifest["files"][path.name]
        assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert entry["bytes"] == path.stat().st_size > 0

    def totals(rows) -> dict[str, Decimal]:
        out: dict[str, Decimal] = {}
        for currency, payout in rows:
            out[currency] = out.get(currency, Decimal(0)) + Decimal(str(payout)).quantize(Decimal("0.01"))
        return out

    with result.files["csv"].open(encoding="utf-8", newline="") as fh:
        csv_rows = list(csv.DictReader(fh))
    assert csv_rows[0]["rep_id"] in {"张伟", "R01"}  # sorted by rep id, any script intact
    assert {r["rep_id"] for r in csv_rows} >= {"张伟"}
    assert totals((r["currency"], r["payout_amount"]) for r in csv_rows) == expected

    import pyarrow.parquet as pq

    table = pq.read_table(result.files["parquet"])
    assert str(table.schema.field("payout_amount").type) == "decimal128(18, 2)"
    assert str(table.schema.field("period_start").type) == "date32[day]"
    assert (
        totals(zip(table["currency"].to_pylist(), table["payout_amount"].to_pylist(), strict=True))
        == expected
    )

    from openpyxl import load_workbook

    ws = load_workbook(result.files["xlsx"], read_only=True)["bonus"]
    header, *body = list(ws.iter_rows(values_only=True))
    cur_i, pay_i = header.index("currency"), header.index("payout_amount")
    assert len(body) == len(PAYOUTS)
    assert totals((r[cur_i], r[pay_i]) for r in body) == expected


def test_open_period_is_refused(warehouse: Path, tmp_path: Path) -> None:
    with pytest.raises(
        ExportError, match=r"month 2026-02-01 is not closed.*spm close-period month 2026-02-01"
    ):
        export_bonus(warehouse, "month", FEB, tmp_path / "finance")
    assert not (tmp_path / "finance").exists()


def test_missing_period_and_warehouse(warehouse: Path, tmp_path: Path) -> None:
    with pytest.raises(
        ExportError, match=r"no bonus rows for month 2026-03-01.*closed month periods: 2026-01-01"
    ):
        export_bonus(warehouse, "month", date(2026, 3, 1), tmp_path)
    with pytest.raises(ExportError, match="does not exist"):
        export_bonus(tmp_path / "nope.duckdb", "month", JAN, tmp_path)


def test_export_reads_while_the_warehouse_is_held_open(warehouse: Path, tmp_path: Path) -> None:
    reader = duckdb.connect(str(warehouse), read_only=True)  # a BI tool holding the file
    try:
        assert export_bonus(warehouse, "month", JAN, tmp_path / "f").rows == len(PAYOUTS)
    finally:
        reader.close()


def test_cli(warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from orchestration.cli import main

    monkeypatch.setenv("SPM_WAREHOUSE", str(warehouse))
    runner = CliRunner()
    ok = runner.invoke(main, ["export", "bonus", "month", "2026-01-01", "--out", str(tmp_path / "out")])
    assert ok.exit_code == 0, ok.output
    assert "35 rows" in ok.output and "8,665,310.64 CNY" in ok.output
    assert (tmp_path / "out" / "bonus_month_2026-01-01.manifest.json").exists()
    refused = runner.invoke(main, ["export", "bonus", "month", "2026-02-01", "--out", str(tmp_path / "x")])
    assert refused.exit_code == 1
    assert "is not closed" in refused.output
