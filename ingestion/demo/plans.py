"""People data and plans: 360 reviews, training, violations, targets and base bonuses."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ingestion.demo import names
from ingestion.demo.model import DAY_S, ROLES, Ctx, office_seconds, stream_rng, uniform_days
from ingestion.demo.writers import make_table

RELATIONS = ["manager", "peer", "customer", "self"]
RELATION_BIAS = np.array([0.0, 0.1, 0.15, 0.35])
DEFAULT_360_WEIGHTS = {"manager": 40, "customer": 30, "peer": 20, "self": 10}
MINOR_TEXT = [
    "Late CRM updates after coaching",
    "态度问题：客户投诉后仍未改进",
    "Missed weekly pipeline review, repeated",
    'Rude to a customer\'s buyer ("attitude problem")',
]
RED_LINE_TEXT = [
    "False expense claim: hotel invoices, taxi receipts",
    "虚假报销（伪造差旅发票）",
    'Leaked "confidential" price list to a competitor',
    "Kickback from a distributor",
]
# Sum-like KPIs: numerator aggregates (summed); ratio KPIs: (numerator, denominator, factor).
SUM_KPIS = {
    "revenue": ("revenue",),
    "gross_profit": ("revenue", "-cost"),
    "new_market_revenue": ("new_market_revenue",),
    "new_customers": ("new_customers",),
    "visits": ("visits",),
    "market_feedback": ("market_feedback",),
    "leads": ("leads",),
    "prospects": ("leads", "opps"),
    "event_participants": ("event_participants",),
    "brand_exposure": ("brand_exposure",),
    "training_hours": ("training_hours",),
}
RATIO_KPIS = {
    "gross_margin_pct": (("revenue", "-cost"), ("revenue",), 100.0),
    "avg_order_value": (("revenue",), ("orders",), 1.0),
    "csat_pct": (("csat_pos",), ("csat_n",), 100.0),
    "nps": (("nps_net",), ("nps_n",), 100.0),
    "complaint_rate_pct": (("complaints",), ("orders",), 100.0),
    "win_rate_pct": (("won",), ("closed",), 100.0),
}
# KPIs the generator has no model for: a plausible constant level.
FALLBACK_LEVEL = {"repeat_purchase_rate_pct": 45.0, "channel_revenue_growth_pct": 5.0}
MONEY_KPIS = {"revenue", "gross_profit", "new_market_revenue", "avg_order_value"}
COUNT_KPIS = {
    "new_customers",
    "visits",
    "market_feedback",
    "leads",
    "prospects",
    "event_participants",
}


def _quarter_sum(ctx: Ctx, mat: np.ndarray) -> np.ndarray:
    n_q = len(ctx.quarter_start)
    ind = np.zeros((ctx.n_months, n_q))
    ind[np.arange(ctx.n_months), ctx.quarter_of_month] = 1.0
    return mat @ ind


def build_people(ctx: Ctx) -> None:
    """360 reviews per rep and quarter, training sessions and a few violations."""
    reps = ctx.reps
    n_reps = len(reps["role"])
    rng = stream_rng(ctx.seed, "reviews")
    eq = _quarter_sum(ctx, ctx.exposure)
    rep_q = np.nonzero(eq.T > 0)  # (quarter, rep) pairs, quarter-major
    q_i, r_i = rep_q
    seller = reps["role"][r_i] != 1
    n = len(r_i)
    counts = np.stack(
        [
            (reps["manager"][r_i] >= 0).astype(int),
            2 + (rng.random(n) < 0.5),
            np.where(seller, 1 + rng.poisson(1.0, n), rng.poisson(0.5, n)),
            np.ones(n, int),
        ],
        axis=1,
    )
    pair = np.repeat(np.arange(n), counts.sum(axis=1))
    # relation of each review, vectorised: position within the pair's block vs cumulative counts
    cum = np.cumsum(counts, axis=1)
    first_of_pair = np.concatenate([[0], np.cumsum(counts.sum(axis=1))[:-1]])
    pos = np.arange(len(pair)) - first_of_pair[pair]
    rel = (pos[:, None] >= cum[pair]).sum(axis=1)
    rr, qq = r_i[pair], q_i[pair]
    trend = reps["growth"][rr] * 3 * qq * 4
    raw = reps["review_base"][rr] + RELATION_BIAS[rel] + trend + rng.normal(0, 0.45, len(rr))
    score = np.clip(np.round(raw * 2) / 2, 1.0, 5.0)
    k = len(rr)
    w = ctx.writer("surveys/reviews_360")
    w.write(
        make_table(
            "surveys/reviews_360",
            {
                "review_id": names.ids("RV", np.arange(1, k + 1), max(6, len(str(k)))),
                "reviewee_rep_id": ctx.rep_ids.take(pa.array(rr)),
                "reviewer_relation": pa.array(RELATIONS).take(pa.array(rel)),
                "period_start": ctx.quarter_start[qq],
                "score": score,
            },
        )
    )
    ctx.record(w)
    # weighted 0-100 score per rep and quarter, as the pipeline computes it
    weights = ctx.plan.get("review_360_weights") or DEFAULT_360_WEIGHTS
    wrel = np.array([float(weights.get(r, 0)) for r in RELATIONS])
    n_q = len(ctx.quarter_start)
    cell = (rr * n_q + qq) * 4 + rel
    tot = np.bincount(cell, weights=score, minlength=n_reps * n_q * 4).reshape(n_reps, n_q, 4)
    cnt = np.bincount(cell, minlength=n_reps * n_q * 4).reshape(n_reps, n_q, 4)
    mean = np.divide(tot, cnt, out=np.zeros_like(tot), where=cnt > 0)
    wsum = ((cnt > 0) * wrel).sum(axis=2)
    val = np.divide((mean * wrel).sum(axis=2), wsum, out=np.full(wsum.shape, np.nan), where=wsum > 0)
    ctx.agg["review_360_q"] = (val - 1) / 4 * 100

    # training
    rng = stream_rng(ctx.seed, "training")
    sessions = rng.poisson(0.9 * ctx.exposure)
    r_t = np.repeat(np.repeat(np.arange(n_reps), ctx.n_months), sessions.ravel())
    m_t = np.repeat(np.tile(np.arange(ctx.n_months), n_reps), sessions.ravel())
    day = uniform_days(rng, reps["emp_lo"][r_t, m_t], reps["emp_hi"][r_t, m_t])
    ts = day * DAY_S + office_seconds(rng, len(day), 9, 18)
    srt = np.argsort(ts, kind="stable")
    r_t, m_t, ts = r_t[srt], m_t[srt], ts[srt]
    hours = np.array([1, 1.5, 2, 3, 4, 8])[rng.choice(6, len(ts), p=[0.2, 0.2, 0.25, 0.15, 0.15, 0.05])]
    k = len(ts)
    w = ctx.writer("hr/training")
    w.write(
        make_table(
            "hr/training",
            {
                "training_id": names.ids("TR", np.arange(1, k + 1), max(6, len(str(k)))),
                "rep_id": ctx.rep_ids.take(pa.array(r_t)),
                "completed_at": ts,
                "hours": hours,
            },
        )
    )
    ctx.record(w)
    ctx.agg_add("training_hours", r_t, m_t, hours)

    # violations: a few minor ones (no money) and red lines with penalties
    rng = stream_rng(ctx.seed, "violations")
    pool = rng.permutation(np.nonzero(reps["role"] != 2)[0])
    n_minor = max(1, round(0.05 * n_reps))
    n_red = max(1, round(0.015 * n_reps))
    who = pool[: n_minor + n_red]
    severity = np.r_[np.zeros(n_minor, int), np.ones(n_red, int)]
    lo = np.maximum(reps["hire"][who], ctx.as_of_day - 270)
    day = uniform_days(rng, lo, reps["end"][who])
    penalty = np.where(severity == 1, np.round(rng.uniform(3000, 20000, len(who)), -2), 0.0)
    penalty[n_minor] = 50_000.0  # larger than any monthly bonus: carry-over gets exercised
    text = np.where(
        severity == 1,
        rng.integers(0, len(RED_LINE_TEXT), len(who)) + len(MINOR_TEXT),
        rng.integers(0, len(MINOR_TEXT), len(who)),
    )
    ts = day * DAY_S + office_seconds(rng, len(who))
    srt = np.argsort(ts, kind="stable")
    k = len(who)
    w = ctx.writer("hr/violations")
    w.write(
        make_table(
            "hr/violations",
            {
                "violation_id": names.ids("V", np.arange(1, k + 1), 4),
                "rep_id": ctx.rep_ids.take(pa.array(who[srt])),
                "occurred_at": ts[srt],
                "severity": pa.array(["minor", "red_line"]).take(pa.array(severity[srt])),
                "penalty_amount": penalty[srt],
                "description": pa.array(MINOR_TEXT + RED_LINE_TEXT).take(pa.array(text[srt])),
            },
        )
    )
    ctx.record(w)


# ------------------------------------------------------------------------------------
def _agg(ctx: Ctx, parts: tuple[str, ...]) -> np.ndarray:
    out = np.zeros_like(ctx.exposure)
    for p in parts:
        sign = -1.0 if p.startswith("-") else 1.0
        out = out + sign * ctx.agg.get(p.lstrip("-"), np.zeros_like(ctx.exposure))
    return out


def _smooth(x: np.ndarray) -> np.ndarray:
    """Centred 3-month window sum along the month axis."""
    out = x.copy()
    out[:, 1:] += x[:, :-1]
    out[:, :-1] += x[:, 1:]
    return out


def _fill(values: np.ndarray, rep_level: np.ndarray, role: np.ndarray) -> np.ndarray:
    """Replace unusable (nan) cells by the rep's level, then by the role's mean level."""
    role_level = np.array(
        [
            np.nanmean(rep_level[role == r]) if np.isfinite(rep_level[role == r]).any() else 0.0
            for r in range(len(ROLES))
        ]
    )
    rep_level = np.where(np.isfinite(rep_level), rep_level, role_level[role])
    return np.where(np.isfinite(values), values, rep_level[:, None])


def _expected(ctx: Ctx, code: str) -> tuple[np.ndarray, np.ndarray, str]:
    """Expected actual per (rep, month) and (rep, quarter), and the KPI's kind."""
    role = ctx.reps["role"]
    e = ctx.exposure
    eq = _quarter_sum(ctx, e)
    if code in SUM_KPIS:
        num = _agg(ctx, SUM_KPIS[code])
        sn, se = _smooth(num), _smooth(e)
        rate = np.divide(sn, se, out=np.full(sn.shape, np.nan), where=se > 0)
        rate = np.where(rate > 0, rate, np.nan)
        tot_e = e.sum(axis=1)
        rep_rate = np.divide(num.sum(axis=1), tot_e, out=np.full(len(role), np.nan), where=tot_e > 0)
        rep_rate = np.where(rep_rate > 0, rep_rate, np.nan)
        month = _fill(rate, rep_rate, role) * e
        return month, _quarter_sum(ctx, month), "sum"
    if code in RATIO_KPIS:
        num_p, den_p, factor = RATIO_KPIS[code]
        num, den = _agg(ctx, num_p), _agg(ctx, den_p)
        rep_den = den.sum(axis=1)
        rep_level = np.divide(num.sum(axis=1), rep_den, out=np.full(len(role), np.nan), where=rep_den >= 3)
        rep_level = np.where(rep_level != 0, rep_level, np.nan)

        def level(n: np.ndarray, d: np.ndarray) -> np.ndarray:
            v = np.divide(n, d, out=np.full(n.shape, np.nan), where=d >= 3)
            v = np.where(v != 0, v, np.nan)  # a zero level makes no target: use the rep's
            return _fill(v, rep_level, role) * factor

        return (
            level(_smooth(num), _smooth(den)),
            level(_quarter_sum(ctx, num), _quarter_sum(ctx, den)),
            "ratio",
        )
    if code == "review_360":
        q = ctx.agg["review_360_q"]
        with np.errstate(all="ignore"):
            rep_level = np.nanmean(np.where(eq > 0, q, np.nan), axis=1)
        qv = _fill(q, rep_level, role)
        return qv[:, ctx.quarter_of_month], qv, "ratio"
    level = FALLBACK_LEVEL.get(code, 100.0)
    return np.full(e.shape, level), np.full(eq.shape, level), "ratio"


def _round_target(code: str, v: np.ndarray) -> np.ndarray:
    if code in MONEY_KPIS:
        return np.maximum(np.round(v, -2), 100.0)
    if code in COUNT_KPIS:
        return np.maximum(np.round(v), 1.0)
    if code == "brand_exposure":
        return np.maximum(np.round(v, -2), 100.0)
    if code == "training_hours":
        return np.maximum(np.round(v * 2) / 2, 0.5)
    return np.round(v, 1)


def build_plans(ctx: Ctx) -> None:
    """Targets per rep, KPI of its role, month and quarter; base bonus per rep and period."""
    reps = ctx.reps
    role = reps["role"]
    e = ctx.exposure
    eq = _quarter_sum(ctx, e)
    boost = 1.0 / reps["under"]  # coaching cases get targets of a normal performer
    # Planners only partly see a rep's skill and set targets from older months, so strong
    # and growing reps beat their volume targets and weak or declining ones miss them.
    role_skill = np.array([reps["skill"][role == r].mean() for r in range(len(ROLES))])
    planner = (role_skill[role] / reps["skill"]) ** 0.35 * (1 + reps["growth"]) ** -4
    kpi_cfg = ctx.plan.get("kpis", {}) or {}
    parts = []
    roles_cfg = ctx.plan.get("roles", {}) or {}
    for ri, role_name in enumerate(ROLES):
        weights = (roles_cfg.get(role_name) or {}).get("weights") or {}
        who = role == ri
        for ki, code in enumerate(weights):
            month_v, quarter_v, kind = _expected(ctx, code)
            rng = stream_rng(ctx.seed, f"targets:{code}")
            u_m = rng.uniform(0.85, 1.2, month_v.shape)
            u_q = rng.uniform(0.85, 1.2, quarter_v.shape)
            lower = (kpi_cfg.get(code) or {}).get("better") == "lower"
            b = (boost * planner if kind == "sum" else np.sqrt(boost))[:, None]
            b = 1 / b if lower else b
            for grain, val, u, expo, starts in (
                ("month", month_v, u_m, e, ctx.month_start),
                ("quarter", quarter_v, u_q, eq, ctx.quarter_start),
            ):
                # NPS can be near or below zero: spread it additively
                nps = code == "nps"
                target = val + 25 * (u - 1) + 10 * (b - 1) if nps else val * u * b
                if kind == "ratio" and code != "avg_order_value":
                    target = np.minimum(target, 100.0)
                target = _round_target(code, target)
                r, p = np.nonzero(who[:, None] & (expo > 0))
                parts.append(
                    (
                        r,
                        np.full(len(r), ri * 100 + ki),
                        np.full(len(r), grain == "quarter"),
                        starts[p],
                        target[r, p],
                        code,
                        grain,
                    )
                )
    if parts:
        r = np.concatenate([p[0] for p in parts])
        korder = np.concatenate([p[1] for p in parts])
        gq = np.concatenate([p[2] for p in parts])
        start = np.concatenate([p[3] for p in parts])
        value = np.concatenate([p[4] for p in parts])
        code = pa.concat_arrays([pa.array([p[5]] * len(p[0]), pa.string()) for p in parts])
        grain = pa.concat_arrays([pa.array([p[6]] * len(p[0]), pa.string()) for p in parts])
        srt = np.lexsort((start, gq, korder, r))
        cols = {
            "rep_id": ctx.rep_ids.take(pa.array(r[srt])),
            "kpi_code": code.take(pa.array(srt)),
            "period_grain": grain.take(pa.array(srt)),
            "period_start": start[srt],
            "target_value": value[srt],
        }
    else:
        cols = {c: [] for c in ("rep_id", "kpi_code", "period_grain", "period_start", "target_value")}
    w = ctx.writer("plans/targets")
    w.write(make_table("plans/targets", cols))
    ctx.record(w)

    # base bonus: monthly by role, a 5% raise after the first year; quarterly = 3 x monthly
    rng = stream_rng(ctx.seed, "base_bonus")
    lo = np.array([3000, 3000, 6000])[role]
    hi = np.array([6000, 5000, 8000])[role]
    monthly = np.round(rng.uniform(lo, hi), -2)
    rows = []
    for gq_flag, expo, starts, mult in ((0, e, ctx.month_start, 1), (1, eq, ctx.quarter_start, 3)):
        r, p = np.nonzero(expo > 0)
        raise_ = np.where(starts[p] >= ctx.start_day + 365, 1.05, 1.0)
        rows.append((r, np.full(len(r), gq_flag), starts[p], np.round(monthly[r] * raise_, -2) * mult))
    r = np.concatenate([x[0] for x in rows])
    gq = np.concatenate([x[1] for x in rows])
    start = np.concatenate([x[2] for x in rows])
    amount = np.concatenate([x[3] for x in rows])
    srt = np.lexsort((start, gq, r))
    w = ctx.writer("plans/base_bonus")
    w.write(
        make_table(
            "plans/base_bonus",
            {
                "rep_id": ctx.rep_ids.take(pa.array(r[srt])),
                "period_grain": pa.array(["month", "quarter"]).take(pa.array(gq[srt])),
                "period_start": start[srt],
                "base_bonus": amount[srt],
                "currency": pa.array(["CNY"] * len(srt), pa.string()),
            },
        )
    )
    ctx.record(w)
