"""The HTML scorecard report: pages, escaping, languages, chart data, assets, read-only use."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest
from markupsafe import escape

from report import build
from report.build import safe_file_stem, write_report
from report.i18n import KPI_NAMES, PERSPECTIVE_NAMES, translator

APR = date(2024, 4, 1)
MAY = date(2024, 5, 1)
HAN_NAME = "王小明"
EVIL_NAME = 'O\'Brien <script>alert("x")</script>'
ODD_REP_ID = "../R 4/é"
STAMP = datetime(2024, 6, 1, 9, 30)

KPI_CODES = [
    "revenue",
    "gross_profit",
    "gross_margin_pct",
    "avg_order_value",
    "new_market_revenue",
    "channel_revenue_growth_pct",
    "new_customers",
    "repeat_purchase_rate_pct",
    "csat_pct",
    "nps",
    "complaint_rate_pct",
    "visits",
    "prospects",
    "market_feedback",
    "win_rate_pct",
    "leads",
    "event_participants",
    "brand_exposure",
    "training_hours",
    "review_360",
]

SCHEMA = """
create schema marts;
create table marts.dim_reps (
    rep_id varchar, rep_name varchar, role varchar, team_id varchar, team_name varchar,
    region varchar, valid_from date, valid_to date, is_current boolean);
create table marts.kpi_rep_period (
    rep_id varchar, kpi_code varchar, perspective varchar, period_grain varchar,
    period_start date, actual_value double, target_value double, attainment_pct double,
    weight_pct double, weighted_score double);
create table marts.scorecard_rep_period (
    rep_id varchar, period_grain varchar, period_start date, financial_score double,
    customer_score double, process_score double, learning_score double,
    composite_score double, rank_in_team integer, rank_in_company integer,
    coaching_flag boolean, coaching_kpis varchar);
create table marts.scorecard_team_period (
    team_id varchar, period_grain varchar, period_start date, financial_score double,
    customer_score double, process_score double, learning_score double,
    composite_score double);
create table marts.bonus_rep_period (
    rep_id varchar, period_grain varchar, period_start date, composite_score double,
    tier varchar, coefficient decimal(6, 2), base_bonus decimal(18, 2),
    bonus_amount decimal(18, 2), penalty_amount decimal(18, 2),
    clawback_amount decimal(18, 2), payout_amount decimal(18, 2), currency varchar,
    plan_version varchar, run_id varchar, is_closed boolean);
"""

# rep_id, name, role, team, team name, region
REPS = [
    ("R1", HAN_NAME, "sales", "T1", "华东一组", "East"),
    ("R2", EVIL_NAME, "sales", "T1", "华东一组", "East"),
    ("R3", "Alice Chen", "manager", "T2", "North & Co <b>", "North"),
    (ODD_REP_ID, "Zhang San", "marketing", "T2", "North & Co <b>", "North"),
]
# rep_id -> (composite of APR, composite of MAY)
TEAM_OF = {r[0]: r[3] for r in REPS}
COMPOSITES = {"R1": (101.0, 112.0), "R2": (90.0, 72.5), "R3": (95.0, 104.0), ODD_REP_ID: (70, 60)}


def _make_warehouse(path: Path) -> Path:
    con = duckdb.connect(str(path))
    con.execute(SCHEMA)
    # An old version of R1 in another team: only the current one may show.
    con.execute(
        "insert into marts.dim_reps values "
        "('R1', 'Old Name', 'sales', 'T2', 'North & Co <b>', 'North', '2023-01-01', "
        "'2024-01-01', false)"
    )
    con.executemany(
        "insert into marts.dim_reps values (?, ?, ?, ?, ?, ?, '2024-01-01', null, true)",
        REPS,
    )
    for idx, period in enumerate((APR, MAY)):
        ranked = sorted(COMPOSITES, key=lambda r, i=idx: -COMPOSITES[r][i])
        for rep_id, _name, _role, team, _tn, _region in REPS:
            comp = COMPOSITES[rep_id][idx]
            team_members = [r for r in ranked if TEAM_OF[r] == team]
            flag = comp < 80
            con.execute(
                "insert into marts.scorecard_rep_period values (?, 'month', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    rep_id,
                    period,
                    comp * 0.6,
                    comp * 0.2,
                    comp * 0.2,
                    None,
                    comp,
                    team_members.index(rep_id) + 1,
                    ranked.index(rep_id) + 1,
                    flag,
                    "csat_pct,market_feedback" if flag and rep_id == "R2" else None,
                ],
            )
            kpis = [("revenue", "financial", 60), ("csat_pct", "customer", 20)]
            kpis += [("market_feedback", "process", 20), ("training_hours", "learning", None)]
            for code, persp, weight in kpis:
                att = comp if code != "csat_pct" else comp - 30
                con.execute(
                    "insert into marts.kpi_rep_period values (?, ?, ?, 'month', ?, ?, ?, ?, ?, ?)",
                    [
                        rep_id,
                        code,
                        persp,
                        period,
                        att * 10,
                        None if weight is None else 1000,
                        None if weight is None else att,
                        weight,
                        None if weight is None else att * weight / 100,
                    ],
                )
            tier = "achieved" if comp >= 100 else ("on_track" if comp >= 80 else "below_threshold")
            coef = {"achieved": 1.5, "on_track": 1.2, "below_threshold": 0}[tier]
            con.execute(
                "insert into marts.bonus_rep_period values "
                "(?, 'month', ?, ?, ?, ?, 10000, ?, 0, 0, ?, 'CNY', '2026.1', 'run-42', ?)",
                [rep_id, period, comp, tier, coef, 10000 * coef, 10000 * coef, idx == 0],
            )
        for team in ("T1", "T2"):
            members = [r for r in REPS if r[3] == team]
            avg = sum(COMPOSITES[r[0]][idx] for r in members) / len(members)
            con.execute(
                "insert into marts.scorecard_team_period values (?, 'month', ?, ?, ?, ?, ?, ?)",
                [team, period, avg * 0.6, avg * 0.2, avg * 0.2, None, avg],
            )
    con.close()
    return path


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _make_warehouse(tmp_path_factory.mktemp("wh") / "spm.duckdb")


@pytest.fixture(scope="module")
def reports(warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Both languages built while another read-only connection holds the warehouse open."""
    before = hashlib.sha256(warehouse.read_bytes()).hexdigest()
    other = duckdb.connect(str(warehouse), read_only=True)
    try:
        out = {
            lang: write_report(warehouse, tmp_path_factory.mktemp(lang), lang=lang, generated_at=STAMP)
            for lang in ("en", "zh-CN")
        }
        assert other.execute("select count(*) from marts.dim_reps").fetchone() == (5,)
    finally:
        other.close()
    assert hashlib.sha256(warehouse.read_bytes()).hexdigest() == before
    return out


def _chart_data(page: Path) -> dict:
    text = page.read_text(encoding="utf-8")
    match = re.search(r'<script type="application/json" id="report-data"[^>]*>(.*?)</script>', text, re.S)
    assert match, f"no chart data in {page}"
    return json.loads(match.group(1))


def _text(page: Path) -> str:
    return page.read_text(encoding="utf-8")


def test_pages_exist_with_lang_and_charset(reports: dict[str, Path]) -> None:
    for lang, index in reports.items():
        out = index.parent
        assert index.name == "index.html"
        pages = [index, out / "teams" / "T1.html", out / "teams" / "T2.html"]
        pages += [out / "reps" / f"{safe_file_stem(r[0])}.html" for r in REPS]
        for page in pages:
            assert page.is_file(), page
            text = _text(page)
            assert f'<html lang="{lang}">' in text
            assert '<meta charset="utf-8">' in text
        assert len(list((out / "reps").iterdir())) == 4
        assert len(list((out / "teams").iterdir())) == 2


def test_odd_ids_make_safe_file_names(reports: dict[str, Path]) -> None:
    stem = safe_file_stem(ODD_REP_ID)
    assert re.fullmatch(r"[A-Za-z0-9_-]+", stem)
    assert safe_file_stem("R1") == "R1"
    assert safe_file_stem("a/b") != safe_file_stem("a_b")
    out = reports["en"].parent
    assert (out / "reps" / f"{stem}.html").is_file()
    assert f'href="reps/{stem}.html"' in _text(reports["en"])
    # Nothing was written outside the output folder.
    assert not (out.parent / "R 4").exists()


def test_names_escaped_and_present(reports: dict[str, Path]) -> None:
    for index in reports.values():
        out = index.parent
        pages = [index, out / "teams" / "T1.html", out / "reps" / "R2.html"]
        for page in pages:
            text = _text(page)
            assert "<script>alert" not in text
            assert str(escape(EVIL_NAME)) in text
        index_text = _text(index)
        assert HAN_NAME in index_text
        assert "North &amp; Co &lt;b&gt;" in index_text
        assert "Old Name" not in index_text
        assert HAN_NAME in _text(out / "reps" / "R1.html")
        assert HAN_NAME in _text(out / "teams" / "T1.html")


def test_index_content(reports: dict[str, Path]) -> None:
    text = _text(reports["en"])
    assert "May 2024" in text
    assert "2026.1" in text
    assert "2024-06-01 09:30" in text
    # Coaching list: R2 (its own KPI list) and the odd rep (KPIs derived from attainment).
    coaching = text.split("Coaching list", 1)[1]
    assert str(escape(EVIL_NAME)) in coaching
    assert "Zhang San" in coaching
    assert "Market feedback reports" in coaching
    assert HAN_NAME not in coaching
    # Top-10 ranking in rank_in_company order.
    top = text.split("Top 10 reps", 1)[1].split("Coaching list", 1)[0]
    positions = [top.index(name) for name in (HAN_NAME, "Alice Chen", "O&#39;Brien")]
    assert positions == sorted(positions)


def test_zh_cn_translates_kpis_and_keeps_codes(reports: dict[str, Path]) -> None:
    rep_page = _text(reports["zh-CN"].parent / "reps" / "R1.html")
    for code in ("revenue", "csat_pct", "market_feedback", "training_hours"):
        assert KPI_NAMES["zh-CN"][code] in rep_page
        assert f"<code>{code}</code>" in rep_page
    assert "销售额" in rep_page and "客户满意度" in rep_page and "市场信息反馈" in rep_page
    assert PERSPECTIVE_NAMES["zh-CN"]["financial"] in rep_page
    index = _text(reports["zh-CN"])
    assert "2024年5月" in index
    assert "辅导名单" in index
    assert "Revenue" not in rep_page


def test_i18n_catalog_complete_and_unknown_lang() -> None:
    for lang in ("en", "zh-CN"):
        assert set(KPI_NAMES[lang]) == set(KPI_CODES)
        assert set(PERSPECTIVE_NAMES[lang]) == {"financial", "customer", "process", "learning"}
    assert translator("zh_cn").lang == "zh-CN"
    with pytest.raises(ValueError, match="unsupported report language 'fr'"):
        translator("fr")


def test_unknown_lang_and_grain_raise(warehouse: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="en, zh-CN"):
        write_report(warehouse, tmp_path, lang="de")
    with pytest.raises(ValueError, match="grain"):
        write_report(warehouse, tmp_path, grain="day")
    with pytest.raises(ValueError, match="period_start"):
        write_report(warehouse, tmp_path, period_start=date(2020, 1, 1))
    assert not (tmp_path / "index.html").exists()


def test_chart_json_parses(reports: dict[str, Path]) -> None:
    out = reports["en"].parent
    index = _chart_data(reports["en"])
    charts = {c["canvas"]: c for c in index["charts"]}
    trend = charts["chart-company-trend"]
    assert trend["type"] == "line"
    assert trend["labels"] == ["2024-04", "2024-05"]
    assert trend["datasets"][0]["data"] == [89.0, 87.125]
    teams = charts["chart-team-composites"]
    assert teams["type"] == "bar"
    assert teams["labels"] == ["华东一组", "North & Co <b>"]
    assert 'id="chart-company-trend"' in _text(reports["en"])

    team = _chart_data(out / "teams" / "T1.html")
    bars = {c["canvas"]: c for c in team["charts"]}["chart-rep-composites"]
    assert bars["labels"] == [HAN_NAME, EVIL_NAME]
    assert bars["highlight"] == [False, True]
    # The raw name must not end the JSON script block early.
    assert "</script>alert" not in _text(out / "teams" / "T1.html")

    rep = {c["canvas"]: c for c in _chart_data(out / "reps" / "R3.html")["charts"]}
    assert rep["chart-rep-trend"]["datasets"][0]["data"] == [95.0, 104.0]
    assert len(rep["chart-kpi-attainment"]["labels"]) == 4

    zh = {c["canvas"]: c for c in _chart_data(reports["zh-CN"].parent / "reps" / "R1.html")["charts"]}
    assert "销售额" in zh["chart-kpi-attainment"]["labels"]


def test_assets_copied(reports: dict[str, Path]) -> None:
    for index in reports.values():
        assets = index.parent / "assets"
        for name in build.ASSET_FILES:
            copied = assets / name
            assert copied.is_file()
            assert copied.read_bytes() == (build.ASSETS_DIR / name).read_bytes()
        assert "Chart.js" in (assets / "chart.umd.min.js").read_text(encoding="utf-8")[:200]
        assert "MIT License" in (assets / "chart.js.LICENSE.md").read_text(encoding="utf-8")
        text = _text(index)
        assert 'src="assets/chart.umd.min.js"' in text
        assert 'src="../assets/report.js"' in _text(index.parent / "reps" / "R1.html")
        assert "://" not in re.sub(r"<a [^>]*>", "", text.split("<body>", 1)[1])


def test_earlier_period_and_rep_page(warehouse: Path, tmp_path: Path) -> None:
    index = write_report(warehouse, tmp_path, period_start=APR, generated_at=STAMP)
    text = _text(index)
    assert "April 2024" in text
    rep = _text(tmp_path / "reps" / "R1.html")
    assert "101.0%" in rep
    assert "Closed" in rep
    assert "15,000.00" in rep
    assert "reported, not scored" in rep
    trend = {c["canvas"]: c for c in _chart_data(tmp_path / "reps" / "R1.html")["charts"]}
    assert trend["chart-rep-trend"]["labels"] == ["2024-04"]


def test_opened_read_only(warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict] = []
    real_connect = duckdb.connect

    def spy(database: str, *args, **kwargs):
        calls.append({"database": database, **kwargs})
        return real_connect(database, *args, **kwargs)

    monkeypatch.setattr(build.duckdb, "connect", spy)
    write_report(warehouse, tmp_path, generated_at=STAMP)
    assert calls == [{"database": str(warehouse), "read_only": True}]


def test_empty_grain_writes_no_data_page(warehouse: Path, tmp_path: Path) -> None:
    index = write_report(warehouse, tmp_path, grain="year", lang="zh-CN", generated_at=STAMP)
    text = _text(index)
    assert "该周期粒度暂无记分卡数据" in text
    assert (tmp_path / "assets" / "chart.umd.min.js").is_file()


def test_rep_pages_rendered_in_two_processes_are_the_same(
    warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large company's rep pages are split between this process and a second one, which
    gets settings only (no data) and runs the queries itself: the pages must be the ones
    one process writes."""
    one = tmp_path / "one"
    write_report(warehouse, one, generated_at=STAMP)
    monkeypatch.setattr(build, "PARALLEL_REP_PAGES", 1)
    monkeypatch.setattr(build.os, "cpu_count", lambda: 2)
    started = _spy_popen(monkeypatch)
    two = tmp_path / "two"
    write_report(warehouse, two, generated_at=STAMP)
    assert [cmd[1:3] for cmd in started] == [["-m", "report.build"]]
    args = json.loads(started[0][3])
    assert args["share"] == "second half" and args["period"] == MAY.isoformat()
    assert len(started[0][3]) < 1000
    pages = sorted(p.relative_to(one) for p in one.rglob("*.html"))
    assert len(list((one / "reps").glob("*.html"))) >= 2
    assert pages == sorted(p.relative_to(two) for p in two.rglob("*.html"))
    for page in pages:
        assert (one / page).read_bytes() == (two / page).read_bytes(), page


def test_second_process_failure_raises(
    warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second process refuses a warehouse file other than the one this process read."""
    monkeypatch.setattr(build, "PARALLEL_REP_PAGES", 1)
    monkeypatch.setattr(build.os, "cpu_count", lambda: 2)

    def replaced(args: dict) -> dict:
        return {**args, "file": [0, 0]}

    _spy_popen(monkeypatch, replaced)
    with pytest.raises(RuntimeError, match="second process"):
        write_report(warehouse, tmp_path, generated_at=STAMP)


def _spy_popen(monkeypatch: pytest.MonkeyPatch, change=None) -> list[list[str]]:
    """Record the commands of the second processes (their JSON settings changed by `change`)."""
    started: list[list[str]] = []
    real_popen = build.subprocess.Popen

    def spy(cmd: list[str], *args, **kwargs):
        if change is not None:
            cmd = [*cmd[:-1], json.dumps(change(json.loads(cmd[-1])))]
        started.append(cmd)
        return real_popen(cmd, *args, **kwargs)

    monkeypatch.setattr(build.subprocess, "Popen", spy)
    return started
