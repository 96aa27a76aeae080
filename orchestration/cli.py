"""`spm`: the command line. Thin: every command calls into the packages."""

from __future__ import annotations

import os
import sys
import time
import unicodedata
from pathlib import Path

import click

from orchestration.settings import Settings
from orchestration.shutdown import exit_without_teardown


def _quiet_telemetry() -> None:
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")


def _fit(text: object, width: int) -> str:
    """Cut and pad to `width` terminal columns; Han characters take two."""
    out, used = "", 0
    for ch in str(text):
        w = 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        if used + w > width:
            break
        out, used = out + ch, used + w
    return out + " " * (width - used)


def _exit(code: int) -> None:
    """End `spm run` without tearing the interpreter down (1.3-1.6 s of freeing modules).
    Only for the console script: inside another program (tests, CliRunner) it is a plain
    sys.exit."""
    if Path(sys.argv[0]).name != "spm":
        sys.exit(code)
    exit_without_teardown(code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Sales performance pipeline: score the sales force, publish scores and bonuses."""
    _quiet_telemetry()


@main.command("demo-data")
@click.option("--scale", default=10_000, show_default=True, help="Order lines to generate.")
@click.option("--seed", default=42, show_default=True, help="Random seed (same seed, same data).")
@click.option(
    "--as-of",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Last day of history (default: yesterday in the company time zone).",
)
@click.option(
    "--landing",
    type=click.Path(path_type=Path),
    default=None,
    help="Landing folder (default: SPM_LANDING_DIR or data/landing).",
)
def demo_data(scale: int, seed: int, as_of, landing: Path | None) -> None:
    """Write a generated demo company into the landing zone."""
    from ingestion.demo.generator import generate_company

    landing = landing or Settings.from_env().landing_dir
    started = time.perf_counter()
    summary = generate_company(
        landing,
        scale=scale,
        seed=seed,
        as_of=as_of.date() if as_of else None,
        progress=sys.stderr.isatty(),
    )
    click.echo(
        f"demo company written to {landing} in {time.perf_counter() - started:.1f} s: "
        + ", ".join(f"{k} {v:,}" for k, v in summary.row_counts.items())
    )
    click.echo(f"injected defects: {summary.defects} (listed in {landing / '_defects'})")


@main.command("validate-plan")
@click.argument("plan_file", required=False, type=click.Path(path_type=Path))
def validate_plan(plan_file: Path | None) -> None:
    """Check a plan file (default: SPM_PLAN or config/plan.yml)."""
    from ingestion.plan import PlanError, load_plan

    settings = Settings.from_env()
    try:
        plan = load_plan(plan_file or settings.plan_path)
    except PlanError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"plan {plan.version} ({plan.source}) is valid: roles {', '.join(plan.role_weights)}")


@main.command("run")
@click.option("--top", default=10, show_default=True, help="Scorecard rows to print.")
@click.option(
    "--partition",
    type=click.DateTime(["%Y-%m-%d"]),
    help="Day the run is for (company time zone; default today). Its days are always recomputed.",
)
@click.option(
    "--backfill",
    nargs=2,
    type=click.DateTime(["%Y-%m-%d"]),
    metavar="FIRST LAST",
    help="Recompute the days FIRST..LAST (inclusive) in one run.",
)
@click.option(
    "--full-refresh",
    is_flag=True,
    help="Rebuild every incremental table from raw (closed periods stay frozen).",
)
def run(top: int, partition, backfill, full_refresh: bool) -> None:
    """One run: ingest, check, transform, score, publish, report.

    Incremental: dbt recomputes the run's partition days and whatever changed since the
    last successful build; the first run, a plan or model change, or --full-refresh
    rebuild everything.
    """
    from orchestration.runner import run_pipeline, scorecard_top

    settings = Settings.from_env()
    log_path = settings.warehouse.parent / "logs" / f"run-{time.strftime('%Y%m%dT%H%M%S')}.log"
    started = time.perf_counter()
    if backfill and backfill[1] < backfill[0]:
        raise click.BadParameter("LAST is before FIRST", param_hint="--backfill")
    result = run_pipeline(
        log_path=log_path,
        partition=partition.date().isoformat() if partition else None,
        backfill=(backfill[0].date().isoformat(), backfill[1].date().isoformat()) if backfill else None,
        full_refresh=full_refresh,
    )
    elapsed = time.perf_counter() - started
    if not result.success:
        click.echo(f"run {result.run_id} FAILED after {elapsed:.1f} s", err=True)
        for line in result.errors:
            click.echo(f"  - {line}", err=True)
        click.echo(f"full log: {log_path}", err=True)
        _exit(1)
    click.echo(f"run {result.run_id} succeeded in {elapsed:.1f} s")
    for warning in result.warnings:
        click.echo(f"  warning: {warning}")
    period, rows = scorecard_top(settings.warehouse, limit=top)
    if rows:
        click.echo(f"\nTop {len(rows)} of the month's scorecard, month starting {period}:")
        click.echo(f"{'rank':>4}  {'rep':<8} {'name':<18} {'team':<6} {'composite':>9}  coaching")
        for rank, rep_id, name, team, composite, coaching in rows:
            click.echo(
                f"{rank:>4}  {_fit(rep_id, 8)} {_fit(name, 18)} {_fit(team, 6)} {composite:>9.2f}  "
                f"{'yes' if coaching else ''}"
            )
    click.echo(f"\nwarehouse (BI reads this): {settings.warehouse}")
    click.echo(f"report:                    {settings.report_dir / 'index.html'}")
    click.echo(f"run log:                   {log_path}")
    _exit(0)


@main.command("close-period")
@click.argument("grain", type=click.Choice(["week", "month", "quarter", "year"]))
@click.argument("start", type=click.DateTime(["%Y-%m-%d"]))
@click.option("--force", is_flag=True, help="Close a period that has not ended yet.")
def close_period_cmd(grain: str, start, force: bool) -> None:
    """Lock a period: its KPI, scorecard and bonus rows never change again."""
    from ingestion.plan import load_plan
    from orchestration.periods import CloseError, close_period

    settings = Settings.from_env()
    plan = load_plan(settings.plan_path, settings.base_currency, settings.timezone)
    try:
        result = close_period(settings, plan.timezone, grain, start.date(), force=force)
    except CloseError as exc:
        raise click.ClickException(str(exc)) from exc
    payout = ", ".join(f"{v:,.2f} {k}" for k, v in result.payout_by_currency.items())
    click.echo(
        f"closed {grain} {result.period_start}: "
        + ", ".join(f"{n} {t}" for t, n in result.rows.items())
        + f" rows frozen; payout {payout}; published to {settings.warehouse}"
    )


@main.group("export")
def export_group() -> None:
    """Files for finance and other consumers, from the published warehouse."""
    _quiet_telemetry()


@export_group.command("bonus")
@click.argument("grain", type=click.Choice(["week", "month", "quarter", "year"]))
@click.argument("start", type=click.DateTime(["%Y-%m-%d"]))
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Output folder.")
def export_bonus_cmd(grain: str, start, out: Path) -> None:
    """A closed period's bonus table as CSV, Parquet and XLSX plus a manifest (SHA-256)."""
    from orchestration.finance_export import ExportError, export_bonus

    try:
        result = export_bonus(Settings.from_env().warehouse, grain, start.date(), out)
    except ExportError as exc:
        raise click.ClickException(str(exc)) from exc
    totals = ", ".join(f"{v:,.2f} {k}" for k, v in result.payout_by_currency.items())
    click.echo(f"bonus {grain} {result.period_start}: {result.rows} rows, payout {totals}")
    for path in [*result.files.values(), result.manifest]:
        click.echo(f"  {path}")


@main.command("bench")
@click.option("--scale", default=1_000_000, show_default=True, help="Order lines to generate.")
@click.option("--seed", default=42, show_default=True)
@click.option("--workdir", type=click.Path(path_type=Path), default=Path("data/bench"), show_default=True)
@click.option("--nights", default=3, show_default=True, type=click.IntRange(min=1),
              help="Next-day runs, one per day up to today; the median is the +1 day figure.")  # fmt: skip
@click.option("--json", "json_out", type=click.Path(path_type=Path), default=None,
              help="Where to write the figures (default WORKDIR/bench-SCALE.json).")  # fmt: skip
def bench_cmd(scale: int, seed: int, workdir: Path, nights: int, json_out: Path | None) -> None:
    """Time and memory per phase of a full run and of next-day runs, against the floor."""
    import shutil

    from orchestration.bench import bench, format_table

    workdir = workdir / f"scale-{scale}"
    shutil.rmtree(workdir, ignore_errors=True)
    result = bench(scale, seed, workdir, json_out or workdir / f"bench-{scale}.json", nights=nights)
    click.echo(format_table(result))
    click.echo(f"figures: {json_out or workdir / f'bench-{scale}.json'}")


@main.command("docs")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Report folder (gets docs/).")
@click.option("--no-catalog", is_flag=True, help="Skip column types (does not open the warehouse).")
def docs(out: Path | None, no_catalog: bool) -> None:
    """dbt docs (models, columns, lineage, exposures, metrics) beside the HTML report."""
    from ingestion.plan import load_plan
    from report.docs import write_dbt_docs

    settings = Settings.from_env()
    plan = load_plan(settings.plan_path, settings.base_currency, settings.timezone)
    try:
        page, seconds = write_dbt_docs(settings, plan.timezone, out or settings.report_dir, not no_catalog)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"dbt docs: {page} ({seconds:.1f} s)")


@main.command("report")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Output folder.")
@click.option("--lang", type=click.Choice(["en", "zh-CN"]), default=None)
@click.option("--grain", type=click.Choice(["week", "month", "quarter", "year"]), default="month")
@click.option("--period", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Period start.")
def report(out: Path | None, lang: str | None, grain: str, period) -> None:
    """Write the HTML scorecard report from the published warehouse."""
    from report.build import write_report

    settings = Settings.from_env()
    index = write_report(
        settings.warehouse,
        out or settings.report_dir,
        lang=lang or settings.lang,
        grain=grain,
        period_start=period.date() if period else None,
    )
    click.echo(f"report: {index}")


# -- spm import: sources into the landing zone (docs/sources.md) ----------------------

_landing_option = click.option(
    "--landing",
    type=click.Path(path_type=Path),
    default=None,
    help="Landing folder (default: SPM_LANDING_DIR or data/landing).",
)
_sources_option = click.option(
    "--config",
    "sources_file",
    type=click.Path(path_type=Path),
    default=None,
    help="Sources file (default: SPM_SOURCES or config/sources.yml).",
)


def _import_run(action) -> None:
    """Run an importer or connector, print its summary; known errors become messages."""
    from ingestion.connectors.config import SourcesConfigError

    try:
        summary = action()
    except (SourcesConfigError, ValueError, RuntimeError, FileNotFoundError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(summary.line())
    for note in summary.notes:
        click.echo(f"  {note}")
    if summary.report_path:
        click.echo(f"  report: {summary.report_path}")


def _import_landing(landing: Path | None) -> Path:
    return landing or Settings.from_env().landing_dir


@main.group("import")
def import_group() -> None:
    """Map a source (export file, CRM API, orders database, survey) into the landing zone."""
    _quiet_telemetry()


@import_group.command("maven-crm")
@click.argument("src_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@_landing_option
def import_maven_crm_cmd(src_dir: Path, landing: Path | None) -> None:
    """Maven CRM export folder (sales_pipeline, sales_teams, accounts, products)."""
    from ingestion.importers.maven_crm import import_maven_crm

    _import_run(lambda: import_maven_crm(src_dir, _import_landing(landing)))


@import_group.command("superstore")
@click.argument("src_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_landing_option
def import_superstore_cmd(src_file: Path, landing: Path | None) -> None:
    """Superstore order-line export (CSV)."""
    from ingestion.importers.superstore import import_superstore

    _import_run(lambda: import_superstore(src_file, _import_landing(landing)))


@import_group.command("crm-api")
@_sources_option
@_landing_option
@click.option("--full-refresh", is_flag=True, help="Ignore the watermarks: fetch everything.")
def import_crm_api_cmd(sources_file: Path | None, landing: Path | None, full_refresh: bool) -> None:
    """CRM REST API (sources.crm_api), incremental by SystemModstamp."""

    def action():
        from ingestion.connectors.config import section
        from ingestion.connectors.crm_api import CrmApiConfig, extract_crm_api

        cfg = CrmApiConfig.from_mapping(section(sources_file, "crm_api"))
        return extract_crm_api(cfg, _import_landing(landing), full_refresh=full_refresh)

    _import_run(action)


@import_group.command("orders-db")
@_sources_option
@_landing_option
@click.option("--full-refresh", is_flag=True, help="Ignore the cursors: extract everything.")
def import_orders_db_cmd(sources_file: Path | None, landing: Path | None, full_refresh: bool) -> None:
    """Orders database (sources.orders_db), incremental by an updated-at cursor."""

    def action():
        from ingestion.connectors.config import section
        from ingestion.connectors.orders_db import OrdersDbConfig, extract_orders_db

        cfg = OrdersDbConfig.from_mapping(section(sources_file, "orders_db"))
        return extract_orders_db(cfg, _import_landing(landing), full_refresh=full_refresh)

    _import_run(action)


@import_group.command("survey-export")
@click.argument("export_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--survey-config",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The survey's YAML mapping (questions, columns, date format).",
)
@_landing_option
def import_survey_cmd(export_file: Path, survey_config: Path, landing: Path | None) -> None:
    """A survey tool's response export (one row per response) -> surveys/responses."""
    from ingestion.connectors.surveys import import_survey_export

    _import_run(lambda: import_survey_export(export_file, survey_config, _import_landing(landing)))


if __name__ == "__main__":
    main()
