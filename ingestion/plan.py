"""Plan rules (config/plan.yml): load, validate, and write them where SQL reads them.

The plan is validated before anything runs; a bad plan stops the run with every
problem listed. Its rules land in the `plan` schema of the build warehouse, so the
scoring SQL holds no numbers of its own.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import duckdb
import yaml

PERSPECTIVES = ("financial", "customer", "process", "learning")
RELATIONS = ("manager", "customer", "peer", "self")
ROLES = ("sales", "marketing", "manager")
MISSING_TARGET_MODES = ("renormalize", "drop")
DEFAULT_PLAN = Path(__file__).resolve().parents[1] / "config" / "plan.yml"


class PlanError(ValueError):
    """The plan file breaks a rule; the message lists every problem found."""


@dataclass(frozen=True)
class Plan:
    version: str
    base_currency: str
    timezone: str
    kpis: dict[str, dict[str, Any]]
    role_weights: dict[str, dict[str, float]]
    bonus_tiers: list[dict[str, Any]]
    review_360_weights: dict[str, float]
    missing_target: str
    coaching_threshold_pct: float
    minor_violation_points: float
    recommendation: dict[str, float]
    source: str
    sha256: str


def load_plan(
    path: Path | None = None,
    base_currency: str | None = None,
    timezone: str | None = None,
) -> Plan:
    """Read and validate a plan file; settings may override currency and time zone."""
    path = Path(path or DEFAULT_PLAN)
    try:
        raw_text = path.read_bytes()
    except OSError as exc:
        raise PlanError(f"plan file {path}: cannot be read ({exc})") from exc
    try:
        data = yaml.safe_load(raw_text) or {}
    except yaml.YAMLError as exc:
        raise PlanError(f"plan file {path}: not valid YAML ({exc})") from exc
    if not isinstance(data, dict):
        raise PlanError(f"plan file {path}: expected a mapping at the top level")
    problems = validate_plan_dict(data)
    if problems:
        raise PlanError(f"plan file {path} is invalid:\n  - " + "\n  - ".join(problems))
    roles = {role: {k: float(w) for k, w in spec["weights"].items()} for role, spec in data["roles"].items()}
    return Plan(
        version=str(data["version"]),
        base_currency=(base_currency or data.get("base_currency") or "CNY").upper(),
        timezone=timezone or data.get("timezone") or "Asia/Shanghai",
        kpis=data["kpis"],
        role_weights=roles,
        bonus_tiers=sorted(data["bonus_tiers"], key=lambda t: float(t["min_pct"])),
        review_360_weights={k: float(v) for k, v in data["review_360_weights"].items()},
        missing_target=data.get("missing_target", "renormalize"),
        coaching_threshold_pct=float(data.get("coaching_threshold_pct", 80)),
        minor_violation_points=float(data.get("minor_violation_points", 2)),
        recommendation={k: float(v) for k, v in (data.get("target_recommendation") or {}).items()},
        source=str(path),
        sha256=hashlib.sha256(raw_text).hexdigest(),
    )


def _num(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def validate_plan_dict(data: dict[str, Any]) -> list[str]:
    """Every rule the plan must keep; returns the problems found (empty when valid)."""
    problems: list[str] = []
    if not str(data.get("version") or "").strip():
        problems.append("version: missing (every bonus row records it)")
    kpis = data.get("kpis") or {}
    if not isinstance(kpis, dict) or not kpis:
        problems.append("kpis: missing KPI catalog")
        kpis = {}
    for code, spec in kpis.items():
        spec = spec or {}
        if spec.get("perspective") not in PERSPECTIVES:
            problems.append(f"kpis.{code}.perspective: must be one of {', '.join(PERSPECTIVES)}")
        if spec.get("better") not in ("higher", "lower"):
            problems.append(f"kpis.{code}.better: must be 'higher' or 'lower'")
        cap = _num(spec.get("cap_pct"))
        if cap is None or cap < 0:
            problems.append(f"kpis.{code}.cap_pct: must be a number >= 0, got {spec.get('cap_pct')!r}")
    roles = data.get("roles") or {}
    if not roles:
        problems.append("roles: no role defined")
    for role, spec in roles.items():
        if role not in ROLES:
            problems.append(f"roles.{role}: unknown role (known: {', '.join(ROLES)})")
        weights = (spec or {}).get("weights") or {}
        if not weights:
            problems.append(f"roles.{role}.weights: empty")
            continue
        total = 0.0
        for code, weight in weights.items():
            if code not in kpis:
                problems.append(f"roles.{role}.weights.{code}: unknown KPI code")
            w = _num(weight)
            if w is None or w <= 0:
                problems.append(f"roles.{role}.weights.{code}: weight must be > 0, got {weight!r}")
            else:
                total += w
        if abs(total - 100.0) > 1e-9:
            problems.append(f"roles.{role}.weights: add up to {total:g}, must add up to 100")
    problems += _validate_tiers(data.get("bonus_tiers") or [])
    rel = data.get("review_360_weights") or {}
    unknown = sorted(set(rel) - set(RELATIONS))
    if unknown:
        problems.append(f"review_360_weights: unknown relation(s) {', '.join(unknown)}")
    rel_total = sum(_num(v) or 0.0 for v in rel.values())
    if any((_num(v) is None or _num(v) < 0) for v in rel.values()):
        problems.append("review_360_weights: weights must be numbers >= 0")
    elif abs(rel_total - 100.0) > 1e-9:
        problems.append(f"review_360_weights: add up to {rel_total:g}, must add up to 100")
    if data.get("missing_target", "renormalize") not in MISSING_TARGET_MODES:
        problems.append(f"missing_target: must be one of {', '.join(MISSING_TARGET_MODES)}")
    rec = data.get("target_recommendation") or {}
    history = _num(rec.get("history_periods", 6))
    if history is None or history < 2 or history != int(history):
        problems.append("target_recommendation.history_periods: must be an integer >= 2")
    low, high = _num(rec.get("low_pct", -15)), _num(rec.get("high_pct", 20))
    if low is None or high is None or low > high:
        problems.append("target_recommendation: low_pct and high_pct must be numbers, low <= high")
    for key in ("coaching_threshold_pct", "minor_violation_points"):
        if key in data and (_num(data[key]) is None or _num(data[key]) < 0):
            problems.append(f"{key}: must be a number >= 0")
    return problems


def _validate_tiers(tiers: list[dict[str, Any]]) -> list[str]:
    if not tiers:
        return ["bonus_tiers: no tier defined"]
    problems: list[str] = []
    parsed = []
    for i, tier in enumerate(tiers):
        lo, hi, coef = _num(tier.get("min_pct")), tier.get("max_pct"), _num(tier.get("coefficient"))
        hi_num = None if hi is None else _num(hi)
        name = tier.get("tier") or f"#{i + 1}"
        if lo is None or (hi is not None and hi_num is None) or coef is None:
            problems.append(f"bonus_tiers[{name}]: min_pct, max_pct and coefficient must be numbers")
            continue
        if coef < 0:
            problems.append(f"bonus_tiers[{name}]: coefficient must be >= 0")
        if hi_num is not None and hi_num <= lo:
            problems.append(f"bonus_tiers[{name}]: max_pct {hi_num:g} must be above min_pct {lo:g}")
        parsed.append((lo, hi_num, name))
    parsed.sort(key=lambda t: t[0])
    if parsed and parsed[0][0] != 0:
        problems.append(f"bonus_tiers: lowest tier starts at {parsed[0][0]:g}, must start at 0")
    for (_lo1, hi1, n1), (lo2, _hi2, n2) in pairwise(parsed):
        if hi1 is None:
            problems.append(f"bonus_tiers[{n1}]: open-ended tier must be the last one")
        elif lo2 < hi1:
            problems.append(f"bonus_tiers[{n1}] and [{n2}] overlap ({lo2:g} < {hi1:g})")
        elif lo2 > hi1:
            problems.append(f"bonus_tiers: gap between {hi1:g} and {lo2:g} ({n1} -> {n2})")
    if parsed and parsed[-1][1] is not None:
        problems.append("bonus_tiers: the highest tier must be open-ended (max_pct: null)")
    return problems


def write_plan_tables(con: duckdb.DuckDBPyConnection, plan: Plan) -> None:
    """Replace the `plan` schema tables with this plan, in one transaction."""
    con.execute("begin transaction")
    con.execute("create schema if not exists plan")
    con.execute(
        "create or replace table plan.plan_info (plan_version varchar, base_currency varchar, "
        "timezone varchar, missing_target varchar, coaching_threshold_pct double, "
        "minor_violation_points double, recommendation_history_periods integer, "
        "recommendation_low_pct double, recommendation_high_pct double, "
        "plan_source varchar, plan_sha256 varchar)"
    )
    con.execute(
        "insert into plan.plan_info values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            plan.version,
            plan.base_currency,
            plan.timezone,
            plan.missing_target,
            plan.coaching_threshold_pct,
            plan.minor_violation_points,
            int(plan.recommendation.get("history_periods", 6)),
            plan.recommendation.get("low_pct", -15.0),
            plan.recommendation.get("high_pct", 20.0),
            plan.source,
            plan.sha256,
        ],
    )
    con.execute(
        "create or replace table plan.kpis (kpi_code varchar, perspective varchar, "
        "is_higher_better boolean, cap_pct double)"
    )
    con.executemany(
        "insert into plan.kpis values (?, ?, ?, ?)",
        [
            [code, s["perspective"], s["better"] == "higher", float(s["cap_pct"])]
            for code, s in plan.kpis.items()
        ],
    )
    con.execute(
        "create or replace table plan.role_weights (role varchar, kpi_code varchar, weight_pct double)"
    )
    con.executemany(
        "insert into plan.role_weights values (?, ?, ?)",
        [[role, code, w] for role, ws in plan.role_weights.items() for code, w in ws.items()],
    )
    con.execute(
        "create or replace table plan.bonus_tiers (tier varchar, min_pct double, max_pct double, "
        "coefficient double)"
    )
    con.executemany(
        "insert into plan.bonus_tiers values (?, ?, ?, ?)",
        [
            [
                t.get("tier") or f"tier_{i + 1}",
                float(t["min_pct"]),
                None if t.get("max_pct") is None else float(t["max_pct"]),
                float(t["coefficient"]),
            ]
            for i, t in enumerate(plan.bonus_tiers)
        ],
    )
    con.execute("create or replace table plan.review_360_weights (relation varchar, weight_pct double)")
    con.executemany(
        "insert into plan.review_360_weights values (?, ?)",
        [[rel, w] for rel, w in plan.review_360_weights.items()],
    )
    con.execute("commit")
