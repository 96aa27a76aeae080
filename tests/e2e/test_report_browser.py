"""The HTML report of the hand-made company in headless Chromium: every page loads without
console errors and its charts are drawn; a screenshot is written. Also the finance export
of a closed period of the same company, reconciled to the bonus mart to the cent.

Chromium is driven over the DevTools protocol (`websockets`); no browser download needed.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import need_service

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
    "--window-size=1280,1600",
    "--remote-debugging-port=0",
)
# Per canvas: a Chart.js instance exists and the canvas has painted (non-transparent) pixels.
CHARTS_JS = """
(() => {
  const out = [];
  for (const canvas of document.querySelectorAll('canvas')) {
    const chart = window.Chart && window.Chart.getChart(canvas);
    const ctx = canvas.getContext('2d');
    const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    let painted = 0;
    for (let i = 3; i < data.length; i += 4) { if (data[i] > 0) painted++; }
    out.push({id: canvas.id, chart: !!chart, points: chart ? chart.data.datasets.reduce(
      (n, d) => n + d.data.filter(v => v !== null).length, 0) : 0,
      painted: painted, width: canvas.width, height: canvas.height});
  }
  return JSON.stringify(out);
})()
"""


READER_PY = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
print("open", flush=True)
sys.stdin.readline()
print(con.execute("select count(*) from marts.bonus_rep_period where is_closed").fetchone()[0], flush=True)
"""


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


class Browser:
    """A headless Chromium and one DevTools session per page visit."""

    def __init__(self, executable: str) -> None:
        self.profile = Path(tempfile.mkdtemp(prefix="spm-chromium-"))
        self.proc = subprocess.Popen(
            [executable, *CHROMIUM_FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().count("\n") >= 1):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RuntimeError("Chromium did not open its DevTools port")
            time.sleep(0.1)
        port, path = port_file.read_text().split("\n")[:2]
        self.browser_ws = f"ws://127.0.0.1:{port}{path}"

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.profile, ignore_errors=True)

    def visit(self, page: Path, screenshot: Path | None = None) -> dict:
        """Open `page`; return console errors, exceptions, failed loads and chart facts."""
        from websockets.sync.client import connect

        with connect(self.browser_ws, max_size=64 << 20) as ws:
            session = _Session(ws)
            target = session.call("Target.createTarget", url="about:blank")["targetId"]
            sid = session.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
            for domain in ("Page", "Runtime", "Log", "Network"):
                session.call(f"{domain}.enable", sid=sid)
            session.call("Page.navigate", sid=sid, url=page.resolve().as_uri())
            session.wait_for("Page.loadEventFired", sid=sid)
            charts = json.loads(
                session.call("Runtime.evaluate", sid=sid, expression=CHARTS_JS, returnByValue=True)["result"][
                    "value"
                ]
            )
            title = session.call("Runtime.evaluate", sid=sid, expression="document.title", returnByValue=True)
            if screenshot is not None:
                import base64

                shot = session.call(
                    "Page.captureScreenshot", sid=sid, format="png", captureBeyondViewport=True
                )
                screenshot.write_bytes(base64.b64decode(shot["data"]))
            session.call("Target.closeTarget", targetId=target)
        return {"errors": session.errors, "charts": charts, "title": title["result"]["value"]}


class _Session:
    def __init__(self, ws) -> None:
        self.ws = ws
        self.next_id = 0
        self.errors: list[str] = []
        self.events: list[dict] = []

    def _note(self, msg: dict) -> None:
        method, params = msg.get("method"), msg.get("params", {})
        if method == "Runtime.exceptionThrown":
            self.errors.append(
                f"exception: {params['exceptionDetails'].get('text')} {params['exceptionDetails']}"
            )
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            self.errors.append(f"console.{params['type']}: {params.get('args')}")
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            self.errors.append(f"log: {params['entry'].get('text')} {params['entry'].get('url', '')}")
        elif method == "Network.loadingFailed":
            self.errors.append(f"load failed: {params.get('errorText')}")
        self.events.append(msg)

    def call(self, method: str, sid: str | None = None, **params) -> dict:
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params}
        if sid:
            msg["sessionId"] = sid
        self.ws.send(json.dumps(msg))
        while True:
            reply = json.loads(self.ws.recv(timeout=30))
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self._note(reply)

    def wait_for(self, event: str, sid: str, timeout: float = 30) -> None:
        if any(e.get("method") == event and e.get("sessionId") == sid for e in self.events):
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = json.loads(self.ws.recv(timeout=timeout))
            self._note(msg)
            if msg.get("method") == event and msg.get("sessionId") == sid:
                return
        raise TimeoutError(event)


@pytest.fixture(scope="module")
def company(tmp_path_factory, handmade_run):
    """The hand-made company, run on DuckDB, with January 2026 closed."""
    from click.testing import CliRunner

    from orchestration.cli import main
    from tests.conftest import copy_company

    mp = pytest.MonkeyPatch()
    # The run is conftest's one run of the hand-made company per session, copied: closing
    # January changes it.
    c = copy_company(handmade_run, tmp_path_factory.mktemp("browser"))
    try:
        c.use_env(mp)
        # A BI reader in another process holds the published file open while closing the
        # period publishes it again: the swap does not wait for it, nor does it fail.
        reader = subprocess.Popen(
            [sys.executable, "-c", READER_PY, str(c.warehouse)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert reader.stdout.readline().strip() == "open"
            closed = CliRunner().invoke(main, ["close-period", "month", "2026-01-01"])
            assert closed.exit_code == 0, closed.output
            reader.stdin.write("read\n")
            reader.stdin.flush()
            assert reader.stdout.readline().strip() == "0"  # its snapshot: nothing closed yet
        finally:
            reader.kill()
            reader.wait()
    finally:
        mp.undo()
    assert c.query("select count(*) from marts.bonus_rep_period where is_closed") == [(5,)]
    return c


@pytest.fixture(scope="module")
def browser():
    executable = _chromium()
    need_service(executable is not None, "Chromium (/usr/bin/chromium)")
    b = Browser(executable)
    yield b
    b.close()


@pytest.fixture(scope="module")
def reports(company, tmp_path_factory):
    """The report the run wrote (latest month) and January 2026 in both languages."""
    from datetime import date

    from report.build import write_report

    jan = date(2026, 1, 1)
    return {
        "run": company.report_dir / "index.html",
        **{
            lang: write_report(company.warehouse, tmp_path_factory.mktemp(lang), lang=lang, period_start=jan)
            for lang in ("en", "zh-CN")
        },
    }


def _pages(index: Path) -> list[Path]:
    root = index.parent
    return [
        index,
        root / "rankings.html",
        *sorted((root / "teams").glob("*.html")),
        *sorted((root / "reps").glob("*.html")),
    ]


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["run", "en", "zh-CN"])
def test_pages_load_without_errors_and_draw_charts(browser, reports, lang):
    pages = _pages(reports[lang])
    # index, rankings, teams and reps (January: two teams, five reps)
    assert len(pages) >= (4 if lang == "run" else 9), pages
    for page in pages:
        result = browser.visit(page)
        assert result["errors"] == [], (page, result["errors"])
        assert result["charts"], f"{page}: no chart"
        for chart in result["charts"]:
            assert chart["chart"], (page, chart)  # a Chart.js instance on the canvas
            assert chart["width"] > 100 and chart["height"] > 100, (page, chart)
            if chart["points"]:
                assert chart["painted"] > 500, (page, chart)  # drawn, not a blank canvas


@pytest.mark.browser
def test_review_sheet_page_charts(browser, reports):
    result = browser.visit(reports["en"].parent / "reps" / "S1.html")
    by_id = {c["id"]: c for c in result["charts"]}
    assert set(by_id) >= {"chart-rep-trend", "chart-kpi-attainment", "chart-kpi-vs-team", "chart-kpi-trend"}
    # S1 has three weighted KPIs: his and the team median's attainment, side by side.
    assert by_id["chart-kpi-vs-team"]["points"] == 6
    html = (reports["en"].parent / "reps" / "S1.html").read_text(encoding="utf-8")
    assert "Strongest KPIs" in html and "Weakest KPIs" in html and "Team median" in html


def _png_facts(path: Path) -> tuple[int, int, int]:
    """(width, height, distinct byte values of the decompressed image data)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    pos, idat = 8, b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        if kind == b"IDAT":
            idat += data[pos + 8 : pos + 8 + length]
        pos += 12 + length
    return width, height, len(set(zlib.decompress(idat)))


@pytest.mark.browser
def test_screenshot(browser, reports, tmp_path):
    out = Path(os.environ.get("SPM_SCREENSHOT_DIR") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    for lang, index in reports.items():
        shot = out / f"report-{lang}.png"
        result = browser.visit(index, screenshot=shot)
        assert result["errors"] == []
        width, height, distinct = _png_facts(shot)
        assert width >= 1000 and height >= 800, (width, height)
        assert shot.stat().st_size > 30_000  # text, tables and charts; a blank page is a few KB
        assert distinct > 100


def test_finance_export_of_closed_period_reconciles(company, tmp_path):
    """`spm export bonus` of the closed January: files reconcile to the mart to the cent."""
    from click.testing import CliRunner

    from orchestration.cli import main

    with pytest.MonkeyPatch.context() as mp:
        for key, value in company.env().items():
            mp.setenv(key, value)
        runner = CliRunner()
        done = runner.invoke(main, ["export", "bonus", "month", "2026-01-01", "--out", str(tmp_path)])
        assert done.exit_code == 0, done.output
        refused = runner.invoke(
            main, ["export", "bonus", "month", "2026-02-01", "--out", str(tmp_path / "x")]
        )
    assert refused.exit_code != 0 and "is not closed" in refused.output

    mart = company.query(
        "select currency, sum(payout_amount), count(*) from marts.bonus_rep_period "
        "where period_grain = 'month' and period_start = '2026-01-01' and is_closed group by currency"
    )
    # 3,600 + 12,000 + 6,000 + 0 + 0, hand-computed
    assert [(c, s) for c, s, _ in mart] == [("CNY", Decimal("21600.00"))]
    manifest = json.loads((tmp_path / "bonus_month_2026-01-01.manifest.json").read_text(encoding="utf-8"))
    assert manifest["row_count"] == mart[0][2] == 5
    assert manifest["total_payout_by_currency"] == {"CNY": "21600.00"}
    assert manifest["plan_version"] == "2026.1"
    with (tmp_path / "bonus_month_2026-01-01.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert sum(Decimal(r["payout_amount"]) for r in rows) == Decimal("21600.00")
    assert {r["rep_id"]: Decimal(r["payout_amount"]) for r in rows} == dict(
        company.query(
            "select rep_id, payout_amount from marts.bonus_rep_period "
            "where period_grain = 'month' and period_start = '2026-01-01'"
        )
    )
    import pyarrow.parquet as pq

    table = pq.read_table(tmp_path / "bonus_month_2026-01-01.parquet")
    assert sum(table["payout_amount"].to_pylist()) == Decimal("21600.00")
