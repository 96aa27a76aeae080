"""`spm bench`: where a run's time and memory go, next to the floor.

Generates a company, runs the pipeline in a fresh process (as each nightly `spm run` is)
while sampling the memory of that process and its children (dbt), splits the run by
phase from Dagster's step events,
times the floor (one hand-written DuckDB query: revenue and gross profit per rep and
month straight from the landing order files; and the same query on CSV copies of those
files, the form of the issue's reference floor, to compare machines), then adds one day
of every daily source (ingestion/demo/next_day.py) and runs again, for each of `nights`
consecutive days (the company's history then ends that many days before today, so the
last night is today's). One night's time on a shared machine varies by a few seconds:
the +1 day figure (`next_day`, the table and the target) is the median night, the slower
of the middle two for an even count; every night is in `nights`.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path

import psutil

PHASES = ("generate", "ingest", "checks", "dbt", "publish", "report")
# The scale targets (issue 7), set for 10M order lines on 2 cores: a full run within 10x
# the floor and under 2 GB (2,000 MB here), a +1 day run within 30 s.
TARGET_SCALE = 10_000_000
TARGET_FULL_RUN_TO_FLOOR = 10.0
TARGET_PEAK_MB = 2000.0
TARGET_NEXT_DAY_SECONDS = 30.0
ISSUE_CSV_FLOOR_SECONDS = 6.4  # the floor on CSV files where the targets were set


@dataclass
class Phase:
    name: str
    seconds: float = 0.0
    peak_mb: float = 0.0


@dataclass
class RunFigures:
    label: str
    wall_seconds: float
    peak_mb: float
    phases: list[Phase] = field(default_factory=list)
    steps_seconds: float = 0.0  # while any step ran (phases overlap: ingest and checks)


class MemorySampler:
    """Samples the RSS of this process plus its children every `interval` seconds
    (`include_self=False`: the children only)."""

    def __init__(self, interval: float = 0.1, include_self: bool = True) -> None:
        self.interval = interval
        self.include_self = include_self
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _rss_mb(self) -> float:
        me = psutil.Process()
        total = me.memory_info().rss if self.include_self else 0
        for child in me.children(recursive=True):
            with contextlib.suppress(psutil.Error):  # a child may end between the two calls
                total += child.memory_info().rss
        return total / 2**20

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.time(), self._rss_mb()))
            self._stop.wait(self.interval)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def peak(self, start: float = 0.0, end: float = float("inf")) -> float:
        values = [mb for t, mb in self.samples if start <= t <= end]
        return max(values, default=0.0)


def phase_of(step_key: str) -> str:
    if step_key == "spm_dbt_models":
        return "dbt"
    if step_key.startswith("published__warehouse"):
        return "publish"
    if step_key.startswith("published__scorecard_report"):
        return "report"
    if step_key.startswith(("raw__", "plan_rules", "raw_control")) and not _is_check(step_key):
        return "ingest"
    return "checks"


def _is_check(step_key: str) -> bool:
    return any(word in step_key for word in ("_files_readable", "_rows_reconcile", "_check", "expectations"))


def _run_pipeline_here(
    log_path: str, partition: str | None
) -> tuple[bool, list[str], dict[str, tuple[float, float]]]:
    from orchestration.runner import run_pipeline

    # The child's own output (DuckDB progress bars, warnings) goes beside the run's log,
    # not between the lines of the table the bench prints.
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    with open(Path(log_path).with_suffix(".out"), "ab") as out:
        os.dup2(out.fileno(), 1)
        os.dup2(out.fileno(), 2)
    outcome = run_pipeline(log_path=Path(log_path), partition=partition)
    return outcome.success, outcome.errors, outcome.step_windows


def _timed_run(label: str, day: date) -> RunFigures:
    """One pipeline run for `day` (its partition) in a fresh process: its start-up counts,
    and it does not carry the memory of the runs before it (the generator's, the full
    run's) into its figures."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    log_path = Path(os.environ["SPM_WAREHOUSE"]).parent / f"bench-{label}.log"
    with MemorySampler(include_self=False) as sampler:
        started = time.time()
        spawn = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
            run = pool.submit(_run_pipeline_here, str(log_path), day.isoformat())
            success, errors, step_windows = run.result()
            # not the worker's interpreter teardown: `spm run` skips it (cli._exit)
            wall = time.time() - started
    if not success:
        raise RuntimeError(f"benchmark run {label} failed: {errors}")
    if os.environ.get("SPM_BENCH_STEPS"):  # every step's window, to see where a phase goes
        for key, (start, end) in sorted(step_windows.items(), key=lambda kv: kv[1][0]):
            print(f"  {start - started:7.1f} {end - start:6.1f}  {key}")
    phases = {name: Phase(name) for name in PHASES if name != "generate"}
    windows: dict[str, list[tuple[float, float]]] = {name: [] for name in phases}
    for key, (start, end) in step_windows.items():
        phase = phases[phase_of(key)]
        windows[phase.name].append((start, end))
        phase.peak_mb = max(phase.peak_mb, sampler.peak(start, end))
    for phase in phases.values():
        phase.seconds = covered_seconds(windows[phase.name])
    return RunFigures(
        label, wall, sampler.peak(), list(phases.values()), covered_seconds(list(step_windows.values()))
    )


def covered_seconds(windows: list[tuple[float, float]]) -> float:
    """The time during which at least one of the windows was open: the ingest steps run two
    at a time (orchestration/executor.py), and a phase is wall time, not a sum of steps."""
    total, reach = 0.0, float("-inf")
    for start, end in sorted(windows):
        if end > reach:
            total += end - max(start, reach)
            reach = end
    return total


def floor_query_seconds(landing: Path, base_currency: str = "CNY") -> tuple[float, float, int]:
    """The floor: revenue and gross profit per rep and month from the landing files."""
    import duckdb

    from ingestion.demo.next_day import _relation

    sql = f"""
        with orders as (select * from {_relation(landing, "orders/orders")}),
        lines as (select * from {_relation(landing, "orders/order_lines")}),
        fx as (select * from {_relation(landing, "orders/fx_rates")})
        select o.rep_id, date_trunc('month', cast(o.order_date as date)) as month,
               sum(cast(l.quantity as double) * cast(l.unit_price as double)
                   * (1 - coalesce(cast(l.discount as double), 0))
                   * case when o.currency = '{base_currency}' then 1 else cast(fx.rate_to_base as double) end)
                   as revenue,
               sum((cast(l.quantity as double) * cast(l.unit_price as double)
                    * (1 - coalesce(cast(l.discount as double), 0))
                    - cast(l.quantity as double) * cast(l.unit_cost as double))
                   * case when o.currency = '{base_currency}' then 1 else cast(fx.rate_to_base as double) end)
                   as gross_profit
        from lines l
        join orders o on l.order_id = o.order_id
        left join fx on fx.currency = o.currency and cast(fx.rate_date as date) = cast(o.order_date as date)
        where o.status = 'completed'
        group by all
    """
    with MemorySampler() as sampler:
        started = time.time()
        con = duckdb.connect()
        rows = len(con.execute(sql).fetchall())
        con.close()
        seconds = time.time() - started
    return seconds, sampler.peak(), rows


FLOOR_FOLDERS = ("orders/orders", "orders/order_lines", "orders/fx_rates")


def floor_on_csv(landing: Path, scratch: Path, base_currency: str = "CNY") -> tuple[float, float, int]:
    """The floor on CSV copies of the order files (written before the clock starts, then
    removed): a machine's speed in the unit of a floor measured on CSV files, whatever the
    landing files' format (the bench writes its large files as Parquet)."""
    import shutil

    import duckdb

    con = duckdb.connect()
    try:
        for folder in FLOOR_FOLDERS:
            (scratch / folder).mkdir(parents=True, exist_ok=True)
            for path in sorted((landing / folder).iterdir()):
                target = scratch / folder / f"{path.stem}.csv"
                if path.suffix == ".csv":
                    shutil.copyfile(path, target)
                elif path.suffix == ".parquet":
                    con.execute(
                        f"copy (select * from read_parquet('{path.as_posix()}')) "
                        f"to '{target.as_posix()}' (header, delimiter ',')"
                    )
    finally:
        con.close()
    try:
        return floor_query_seconds(scratch, base_currency)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def bench(scale: int, seed: int, workdir: Path, out_json: Path | None = None, nights: int = 3) -> dict:
    from ingestion.demo.generator import default_as_of, generate_company
    from ingestion.demo.next_day import append_next_day

    if nights < 1:
        raise ValueError("nights must be at least 1")
    workdir.mkdir(parents=True, exist_ok=True)
    landing = workdir / "landing"
    os.environ.update(
        {
            "SPM_LANDING_DIR": str(landing),
            "SPM_WAREHOUSE": str(workdir / "warehouse" / "spm.duckdb"),
            "SPM_REPORT_DIR": str(workdir / "report"),
        }
    )
    # the last night adds today (a later day's rows would be rejected as in the future)
    as_of = default_as_of() - timedelta(days=nights - 1)
    with MemorySampler() as sampler:
        started = time.time()
        summary = generate_company(landing, scale=scale, seed=seed, as_of=as_of, progress=True)
        generate = Phase("generate", time.time() - started, sampler.peak())
    full = _timed_run("full", as_of + timedelta(days=1))
    full.phases.insert(0, generate)
    floor_s, floor_mb, floor_rows = floor_query_seconds(landing)
    csv_s, csv_mb, csv_rows = floor_on_csv(landing, workdir / "floor-csv")
    if csv_rows != floor_rows:
        raise RuntimeError(f"floor rows: {floor_rows} on the landing files, {csv_rows} on CSV copies")
    runs = []
    for night in range(1, nights + 1):
        day = as_of + timedelta(days=night)
        added = append_next_day(landing, day)
        figures = _timed_run("next_day" if night == 1 else f"next_day_{night}", day)
        runs.append({"night": night, "day": day.isoformat(), "added_rows": added, **asdict(figures)})
    median = sorted(runs, key=lambda run: run["wall_seconds"])[nights // 2]
    result = {
        "scale": scale,
        "seed": seed,
        "order_lines": summary.order_lines,
        "reps": summary.row_counts.get("crm/reps", 0),
        "cpu_count": os.cpu_count(),
        "full_run": asdict(full),
        "floor": {"seconds": floor_s, "peak_mb": floor_mb, "result_rows": floor_rows},
        "floor_on_csv": {"seconds": csv_s, "peak_mb": csv_mb, "result_rows": csv_rows},
        "ratio_full_run_to_floor": full.wall_seconds / floor_s if floor_s else None,
        "next_day": median,
        "nights": runs,
        # machines differ by 2x in speed: in floors, runs on two machines compare
        "ratio_next_day_to_floor": median["wall_seconds"] / floor_s if floor_s else None,
    }
    result["targets"] = targets(result)
    if out_json:
        out_json.parent.mkdir(parents=True, exist_ok=True)
        out_json.write_text(json.dumps(result, indent=2))
    return result


def targets(result: dict) -> dict[str, dict]:
    """Each target with its measured figure and whether it is met (at TARGET_SCALE)."""
    ratio = result["ratio_full_run_to_floor"]
    peak, nightly = result["full_run"]["peak_mb"], result["next_day"]["wall_seconds"]
    csv_floor = result["floor_on_csv"]["seconds"]
    # machines differ ~2x: the same night where the CSV floor takes the targets' 6.4 s
    elsewhere = (
        nightly * ISSUE_CSV_FLOOR_SECONDS / csv_floor
        if result["scale"] == TARGET_SCALE and csv_floor
        else None
    )
    return {
        "full_run_to_floor": {
            "target": TARGET_FULL_RUN_TO_FLOOR,
            "measured": ratio,
            "met": ratio is not None and ratio <= TARGET_FULL_RUN_TO_FLOOR,
        },
        "full_run_peak_mb": {"target": TARGET_PEAK_MB, "measured": peak, "met": peak < TARGET_PEAK_MB},
        "next_day_seconds": {
            "target": TARGET_NEXT_DAY_SECONDS,
            "measured": nightly,
            "met": nightly <= TARGET_NEXT_DAY_SECONDS,
            "at_issue_csv_floor": elsewhere,
        },
    }


def format_table(result: dict) -> str:
    lines = [
        f"scale {result['scale']:,} order lines ({result['order_lines']:,} written), "
        f"{result['reps']:,} reps, {result['cpu_count']} cores",
        "+1 day: a day of every daily source, "
        + ", ".join(f"{entity} {rows:,}" for entity, rows in result["next_day"]["added_rows"].items()),
        f"{'phase':<10} {'full run s':>11} {'peak MB':>9} {'+1 day s':>9} {'peak MB':>9}",
    ]
    nightly = {p["name"]: p for p in result["next_day"]["phases"]}
    for phase in result["full_run"]["phases"]:
        n = nightly.get(phase["name"], {"seconds": 0.0, "peak_mb": 0.0})
        lines.append(
            f"{phase['name']:<10} {phase['seconds']:>11.1f} {phase['peak_mb']:>9.0f} "
            f"{n['seconds']:>9.1f} {n['peak_mb']:>9.0f}"
        )
    full, nxt, floor = result["full_run"], result["next_day"], result["floor"]
    lines += [
        "(ingest and checks run two steps at a time: a phase is the wall time any of its steps ran)",
        f"{'run total':<10} {full['wall_seconds']:>11.1f} {full['peak_mb']:>9.0f} "
        f"{nxt['wall_seconds']:>9.1f} {nxt['peak_mb']:>9.0f}",
    ]
    nights = result["nights"]
    if len(nights) > 1:
        lines.append(
            f"+1 day runs, {len(nights)} nights ({nights[0]['day']} .. {nights[-1]['day']}): "
            + ", ".join(f"{n['wall_seconds']:.1f}" for n in nights)
            + f" s; +1 day above: the median night, {nxt['day']}"
        )
    lines += [
        f"floor (one DuckDB query, revenue and gross profit per rep and month): "
        f"{floor['seconds']:.1f} s, {floor['peak_mb']:.0f} MB",
        f"the same query on CSV copies of those files (to compare machines): "
        f"{result['floor_on_csv']['seconds']:.1f} s, {result['floor_on_csv']['peak_mb']:.0f} MB",
        f"full run / floor: {result['ratio_full_run_to_floor']:.1f}x",
        f"+1 day run / floor: {result['ratio_next_day_to_floor']:.1f}x",
    ]
    t = result["targets"]
    verdict = {True: "met", False: "not met"}
    nightly, scaled = t["next_day_seconds"]["measured"], t["next_day_seconds"]["at_issue_csv_floor"]
    elsewhere = (
        "" if scaled is None else f" (~{scaled:.0f} s where the CSV floor takes {ISSUE_CSV_FLOOR_SECONDS} s)"
    )
    lines += [
        f"targets (set for {TARGET_SCALE:,} order lines on 2 cores"
        + ("" if result["scale"] == TARGET_SCALE else f"; this run: {result['scale']:,}")
        + "):",
        f"  full run within {TARGET_FULL_RUN_TO_FLOOR:.0f}x the floor: "
        f"{t['full_run_to_floor']['measured']:.1f}x, {verdict[t['full_run_to_floor']['met']]}",
        f"  full run peak under {TARGET_PEAK_MB:,.0f} MB: "
        f"{t['full_run_peak_mb']['measured']:,.0f} MB, {verdict[t['full_run_peak_mb']['met']]}",
        f"  +1 day run within {TARGET_NEXT_DAY_SECONDS:.0f} s: {nightly:.1f} s, "
        f"{verdict[t['next_day_seconds']['met']]}{elsewhere}",
    ]
    return "\n".join(lines)
