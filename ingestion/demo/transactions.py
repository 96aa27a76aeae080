"""Month-by-month transactional data: orders, lines, returns, surveys, activities, leads, deals.

Every month is generated from its own random stream and written (appended) before the
next one starts, so memory stays bounded by one month of data at any scale.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from tqdm import tqdm

from ingestion.demo import names
from ingestion.demo.model import (
    CHANNELS,
    DAY_S,
    SEASON,
    Ctx,
    Quota,
    choose_disjoint,
    date_of,
    insert_duplicates,
    office_seconds,
    steady_counts,
    stream_rng,
    uniform_days,
)
from ingestion.demo.writers import EntityWriter, make_table

LINES_PER_ORDER = 2.9  # 1 + Binomial(4, 0.475)
LINE_VALUE_CNY = 6000.0  # typical net value of one order line
CHANNEL_VALUE = np.array([1.0, 1.6, 0.6, 2.0])  # direct, distributor, online, key_account
ACTIVITY_TYPES = ["visit", "call", "meeting", "market_feedback", "event", "campaign"]
# activities per rep-month at 10k lines, by role (sales, marketing, manager)
ACTIVITY_RATES = np.array(
    [
        [3.0, 0.0, 2.0],  # visit
        [1.5, 0.5, 1.0],  # call
        [1.0, 0.0, 2.0],  # meeting
        [4.0, 0.5, 1.5],  # market_feedback
        [0.0, 1.2, 0.0],  # event
        [0.0, 1.5, 0.0],  # campaign
    ]
)
LEAD_SOURCES = ["website", "event", "campaign", "referral", "cold_call", "trade_show"]
LEAD_SOURCE_P = np.array(
    [
        [0.05, 0.00, 0.00, 0.40, 0.40, 0.15],  # sales
        [0.35, 0.25, 0.30, 0.10, 0.00, 0.00],  # marketing
        [0.00, 0.00, 0.00, 0.70, 0.10, 0.20],  # manager
    ]
)
LEAD_RATE = np.array([0.4, 8.0, 0.1])
OPP_RATE = np.array([1.5, 0.0, 5.0])
OPEN_STAGES = ["prospecting", "qualification", "proposal", "negotiation"]
SEVERITIES = ["low", "medium", "high"]


def _width(expected: float, minimum: int) -> int:
    return max(minimum, len(str(int(expected * 3) + 10)))


def _choice(rng: np.random.Generator, p: np.ndarray, n: int) -> np.ndarray:
    """Vectorised categorical draw; ``p`` is (k,) or (n, k)."""
    cum = np.cumsum(np.atleast_2d(p), axis=1)
    u = rng.random(n)[:, None] * cum[:, -1:]
    return (u >= cum).sum(axis=1)


def pick_accounts(ctx: Ctx, rng: np.random.Generator, rep: np.ndarray, day: np.ndarray):
    """An account the rep owned on that day (older, bigger accounts a little more often)."""
    acc = ctx.accounts
    rep = rep.astype(np.int64)
    seg = acc["seg_start"][rep]
    n_av = np.searchsorted(acc["owner_key"], rep * 100_000 + day, side="right") - seg
    n_av = np.maximum(n_av, 1)
    k = np.minimum(np.floor(rng.random(len(rep)) ** 1.3 * n_av), n_av - 1).astype(np.int64)
    return acc["by_owner"][seg + k]


def _strs(values: list[str], idx: np.ndarray) -> pa.Array:
    return pa.array(values, type=pa.string()).take(pa.array(np.asarray(idx, dtype=np.int64)))


def _nullable_ids(ids: pa.Array, idx: np.ndarray, valid: np.ndarray) -> pa.Array:
    taken = ids.take(pa.array(np.where(valid, idx, 0).astype(np.int64)))
    return pc.if_else(pa.array(valid), taken, pa.nulls(len(idx), pa.string()))


class Transactions:
    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx
        reps = ctx.reps
        self.role = reps["role"]
        self.n_reps = len(self.role)
        season = SEASON[ctx.cal_month - 1]
        order_factor = np.select([self.role == 0, self.role == 2], [1.0, 0.8], 0.0)
        base = reps["intensity"] * ctx.exposure * season[None, :] * order_factor[:, None]
        self.lam_orders = base * (ctx.scale / LINES_PER_ORDER) / base.sum()
        self.f = ctx.scale / (250 * self.n_reps)  # per-rep volume factor, 1.0 at 10k lines
        self.act_int = reps["intensity"] / np.sqrt(reps["skill"])[:, None] * ctx.exposure
        n_orders = ctx.scale / LINES_PER_ORDER
        self.w = {
            "order": _width(n_orders, 8),
            "line": _width(ctx.scale, 9),
            "return": _width(ctx.scale * 0.04, 7),
            "response": _width(n_orders, 8),
            "complaint": _width(n_orders * 0.05, 6),
            "activity": _width(ctx.scale, 8),
            "lead": _width(ctx.scale * 0.2, 7),
            "opp": _width(ctx.scale * 0.1, 7),
        }
        self.next = dict.fromkeys(self.w, 1)
        self.q = {
            "dup_orders": Quota(0.003),
            "unknown_rep": Quota(0.002),
            "dup_lines": Quota(0.003),
            "unknown_product": Quota(0.002),
            "negative_quantity": Quota(0.002),
            "dup_responses": Quota(0.003),
            "csat_range": Quota(0.002),
            "nps_range": Quota(0.003),
            "dup_activities": Quota(0.003),
        }
        self.n_late = max(2, round(0.003 * n_orders))
        self.first_order = np.zeros(len(ctx.accounts["owner"]), dtype=bool)
        self.rep_width = int(reps["id_width"][0])

    # ---------------------------------------------------------------------------------
    def run(self) -> None:
        ctx = self.ctx
        self.wr = {
            "orders": ctx.writer("orders/orders", big=True),
            "lines": ctx.writer("orders/order_lines", big=True),
            "returns": ctx.writer("orders/returns"),
            "responses": ctx.writer("surveys/responses"),
            "complaints": ctx.writer("surveys/complaints"),
            "activities": ctx.writer("crm/activities"),
            "leads": ctx.writer("crm/leads"),
            "opps": ctx.writer("crm/opportunities"),
        }
        self.late = {
            "orders": ctx.writer("orders/orders", suffix="_late"),
            "lines": ctx.writer("orders/order_lines", suffix="_late"),
        }
        months = range(ctx.n_months)
        for m in tqdm(months, disable=not ctx.progress, desc="demo data", unit="month"):
            self.orders_month(m)
            self.activities_month(m)
            self.leads_month(m)
            self.opportunities_month(m)
        for w in [*self.wr.values(), *self.late.values()]:
            ctx.record(w)

    def _ids(self, kind: str, prefix: str, n: int) -> pa.Array:
        start = self.next[kind]
        self.next[kind] += n
        return names.ids(prefix, np.arange(start, start + n), self.w[kind])

    def _log_dups(self, writer: EntityWriter, start: int, dup_pos: np.ndarray, keys: pa.Array):
        if len(dup_pos) == 0:
            return
        g = start + dup_pos
        _, rows = writer.location(g - 1)
        detail = names.join("exact repeat of row ", pc.cast(pa.array(rows), pa.string()))
        self.ctx.defects.add(writer, g, keys, "duplicate_row", detail)

    # ---------------------------------------------------------------------------------
    def orders_month(self, m: int) -> None:
        ctx, acc, prod = self.ctx, self.ctx.accounts, self.ctx.products
        rng = stream_rng(ctx.seed, "orders", m)
        reps = ctx.reps
        rep = np.repeat(np.arange(self.n_reps), steady_counts(rng, self.lam_orders[:, m], 0.08))
        n = len(rep)
        if n == 0:
            return
        day = uniform_days(rng, reps["emp_lo"][rep, m], reps["emp_hi"][rep, m])
        secs = office_seconds(rng, n, 8, 20)
        acct = pick_accounts(ctx, rng, rep, day)
        srt = np.lexsort((secs, day))
        rep, day, secs, acct = rep[srt], day[srt], secs[srt], acct[srt]
        chan = np.where(rng.random(n) < 0.85, acc["channel"][acct], _choice(rng, np.array([4, 3, 2, 1.0]), n))
        usd = acc["usd"][acct]
        completed = rng.random(n) < 0.96
        upd = (
            day * DAY_S
            + secs
            + np.where(completed, rng.integers(3600, 72 * 3600, n), rng.integers(DAY_S, 7 * DAY_S, n))
        )
        upd = np.minimum(upd, ctx.as_of_end_s)
        order_ids = self._ids("order", "SO", n)

        # lines
        nl = 1 + rng.binomial(4, (LINES_PER_ORDER - 1) / 4, n)
        lo = np.repeat(np.arange(n), nl)
        n_l = len(lo)
        p_i = _choice(rng, prod["popularity"], n_l)
        chan_l = chan[lo]
        fxv = np.where(usd[lo], ctx.fx[day[lo] - ctx.start_day], 1.0)
        infl = 1 + 0.0025 * m
        value = LINE_VALUE_CNY * CHANNEL_VALUE[chan_l] * np.sqrt(acc["size"][acct[lo]])
        value = value * rng.lognormal(0, 0.25, n_l)
        qty = np.maximum(1, np.round(value / (prod["list_price"][p_i] * infl))).astype(np.int64)
        unit_price = np.round(prod["list_price"][p_i] * infl * rng.uniform(0.97, 1.03, n_l) / fxv, 2)
        unit_cost = np.round(prod["std_cost"][p_i] * infl * rng.uniform(0.97, 1.03, n_l) / fxv, 2)
        unit_cost = np.minimum(unit_cost, unit_price - 0.01)
        p_zero = np.array([0.5, 0.2, 0.6, 0.15])[chan_l]
        extra = np.array([0.0, 0.05, 0.0, 0.04])[chan_l]
        disc = np.where(
            rng.random(n_l) < p_zero,
            0.0,
            np.clip(np.round(rng.gamma(2.0, 0.035, n_l) + extra, 2), 0.01, 0.30),
        )
        line_ids = self._ids("line", "OL", n_l)

        # --- defects -------------------------------------------------------------------
        late = np.zeros(n, dtype=bool)
        if m == ctx.n_months - 2:  # the month before as_of: some orders come in a late file
            cand = np.nonzero(completed)[0]
            late[rng.choice(cand, min(len(cand), self.n_late), replace=False)] = True
        main_idx = np.nonzero(~late)[0]
        k_unk = self.q["unknown_rep"].take(len(main_idx))
        k_dup = self.q["dup_orders"].take(len(main_idx))
        unk, dup_o = choose_disjoint(rng, main_idx, [k_unk, k_dup])
        bad_order = late.copy()
        bad_order[unk] = True
        line_main = np.nonzero(~late[lo])[0]
        cand_l = np.nonzero(~bad_order[lo])[0]
        k_up = self.q["unknown_product"].take(len(line_main))
        k_neg = self.q["negative_quantity"].take(len(line_main))
        k_dl = self.q["dup_lines"].take(len(line_main))
        up, neg, dup_l = choose_disjoint(rng, cand_l, [k_up, k_neg, k_dl])

        rep_no = rep + 1
        rep_no[unk] = self.n_reps + 9001 + np.arange(len(unk)) % 97
        rep_txt = names.ids("R", rep_no, self.rep_width)
        prod_no = p_i + 1
        prod_no[up] = 900 + np.arange(len(up)) % 99
        prod_txt = names.ids("P", prod_no, 3)
        qty_out = qty.copy()
        qty_out[neg] = -qty[neg]

        def orders_table(idx: np.ndarray) -> pa.Table:
            pidx = pa.array(idx)
            return make_table(
                "orders/orders",
                {
                    "order_id": order_ids.take(pidx),
                    "account_id": ctx.account_ids.take(pa.array(acct[idx])),
                    "rep_id": rep_txt.take(pidx),
                    "channel": _strs(CHANNELS, chan[idx]),
                    "order_date": day[idx],
                    "currency": _strs(["CNY", "USD"], usd[idx].astype(int)),
                    "status": _strs(["cancelled", "completed"], completed[idx].astype(int)),
                    "updated_at": upd[idx],
                },
            )

        def lines_table(idx: np.ndarray) -> pa.Table:
            pidx = pa.array(idx)
            return make_table(
                "orders/order_lines",
                {
                    "order_line_id": line_ids.take(pidx),
                    "order_id": order_ids.take(pa.array(lo[idx])),
                    "product_id": prod_txt.take(pidx),
                    "quantity": qty_out[idx],
                    "unit_price": unit_price[idx],
                    "unit_cost": unit_cost[idx],
                    "discount": disc[idx],
                },
            )

        # main orders file
        take, first_pos, dup_pos = insert_duplicates(len(main_idx), np.searchsorted(main_idx, dup_o))
        w = self.wr["orders"]
        start = w.write(orders_table(main_idx[take]))
        self._log_dups(w, start, dup_pos, order_ids.take(pa.array(dup_o)))
        if len(unk):
            pos = first_pos[np.searchsorted(main_idx, unk)]
            bad_rep = rep_txt.take(pa.array(unk))
            ctx.defects.add(
                w,
                start + pos,
                order_ids.take(pa.array(unk)),
                "unknown_rep",
                names.join("rep_id ", bad_rep, " not in crm/reps"),
            )
        # main lines file
        take, first_pos, dup_pos = insert_duplicates(len(line_main), np.searchsorted(line_main, dup_l))
        w = self.wr["lines"]
        start = w.write(lines_table(line_main[take]))
        self._log_dups(w, start, dup_pos, line_ids.take(pa.array(dup_l)))
        if len(up):
            pos = first_pos[np.searchsorted(line_main, up)]
            ctx.defects.add(
                w,
                start + pos,
                line_ids.take(pa.array(up)),
                "unknown_product",
                names.join("product_id ", prod_txt.take(pa.array(up)), " not in orders/products"),
            )
        if len(neg):
            pos = first_pos[np.searchsorted(line_main, neg)]
            detail = names.join("quantity ", pc.cast(pa.array(qty_out[neg]), pa.string()))
            ctx.defects.add(w, start + pos, line_ids.take(pa.array(neg)), "negative_quantity", detail)
        # late files
        if late.any():
            late_idx = np.nonzero(late)[0]
            late_lines = np.nonzero(late[lo])[0]
            detail = f"order dated {date_of(day[late_idx[0]]):%Y-%m} delivered in a late file"
            w = self.late["orders"]
            start = w.write(orders_table(late_idx))
            ctx.defects.add(
                w,
                start + np.arange(len(late_idx)),
                order_ids.take(pa.array(late_idx)),
                "late_file",
                detail,
            )
            w = self.late["lines"]
            start = w.write(lines_table(late_lines))
            ctx.defects.add(
                w,
                start + np.arange(len(late_lines)),
                line_ids.take(pa.array(late_lines)),
                "late_file",
                detail,
            )

        # --- returns (clean lines of completed orders only) ------------------------------
        clean_line = completed[lo] & ~bad_order[lo]
        clean_line[up] = clean_line[neg] = clean_line[dup_l] = False
        r_idx = np.nonzero(clean_line & (rng.random(n_l) < 0.032))[0]
        r_day = day[lo[r_idx]] + 3 + np.floor(rng.random(len(r_idx)) * 42).astype(np.int64)
        keep = r_day <= ctx.as_of_day
        r_idx, r_day = r_idx[keep], r_day[keep]
        r_qty = 1 + np.floor(rng.random(len(r_idx)) * qty[r_idx]).astype(np.int64)
        r_amount = np.round(r_qty * unit_price[r_idx] * (1 - disc[r_idx]), 2)
        if len(r_idx):
            self.wr["returns"].write(
                make_table(
                    "orders/returns",
                    {
                        "return_id": self._ids("return", "RT", len(r_idx)),
                        "order_line_id": line_ids.take(pa.array(r_idx)),
                        "return_date": r_day,
                        "quantity": r_qty,
                        "amount": r_amount,
                    },
                )
            )

        # --- aggregates behind the targets (what the pipeline will compute) -------------
        ok_line = completed[lo] & ~np.isin(lo, unk)
        ok_line[up] = ok_line[neg] = False
        net = qty * unit_price * (1 - disc) * fxv
        cost = qty * unit_cost * fxv
        lrep = rep[lo]
        nm = acc["is_new_market"][acct[lo]]
        ctx.agg_add("revenue", lrep[ok_line], m, net[ok_line])
        ctx.agg_add("cost", lrep[ok_line], m, cost[ok_line])
        ctx.agg_add("new_market_revenue", lrep[ok_line & nm], m, net[ok_line & nm])
        r_month = ctx.month_of(r_day)
        r_rep = lrep[r_idx]
        ctx.agg_add("revenue", r_rep, r_month, -r_amount * fxv[r_idx])
        ctx.agg_add("cost", r_rep, r_month, -r_qty * unit_cost[r_idx] * fxv[r_idx])
        r_nm = nm[r_idx]
        ctx.agg_add("new_market_revenue", r_rep[r_nm], r_month[r_nm], -(r_amount * fxv[r_idx])[r_nm])
        ok_order = completed.copy()
        ok_order[unk] = False
        ctx.agg_add("orders", rep[ok_order], m)
        ok_idx = np.nonzero(ok_order)[0]
        uniq_acc, first = np.unique(acct[ok_idx], return_index=True)
        fresh = ~self.first_order[uniq_acc]
        ctx.agg_add("new_customers", rep[ok_idx[first[fresh]]], m)
        self.first_order[uniq_acc] = True

        self.surveys(m, rng, rep[completed], acct[completed], day[completed])

    # ---------------------------------------------------------------------------------
    def surveys(self, m: int, rng, rep: np.ndarray, acct: np.ndarray, day: np.ndarray) -> None:
        ctx = self.ctx
        csat_q = ctx.reps["csat_q"]
        is_csat = rng.random(len(rep)) < 0.85
        is_nps = rng.random(len(rep)) < 0.35
        src = np.concatenate([np.nonzero(is_csat)[0], np.nonzero(is_nps)[0]])
        typ = np.concatenate([np.zeros(is_csat.sum(), int), np.ones(is_nps.sum(), int)])
        s_rep, s_acct = rep[src], acct[src]
        k = len(src)
        sub = (day[src] + 2 + np.floor(rng.random(k) * 18).astype(np.int64)) * DAY_S
        sub = sub + office_seconds(rng, k, 8, 22)
        q = csat_q[s_rep]
        u = rng.random(k)
        v = rng.random(k)
        csat = np.where(u < q, np.where(v < 0.55, 5, 4), np.select([v < 0.15, v < 0.45], [1, 2], 3))
        prom = np.clip(q - 0.3, 0.1, 0.8)
        nps = np.where(
            u < prom,
            np.where(v < 0.5, 10, 9),
            np.where(u < prom + 0.3, np.where(v < 0.5, 8, 7), np.floor(v * 7).astype(int)),
        )
        nps = np.where((nps < 7) & (rng.random(k) < 0.6), 6 - (nps % 2), nps)  # mostly 5-6
        score = np.where(typ == 0, csat, nps).astype(np.int64)
        keep = sub <= ctx.as_of_end_s
        order = np.nonzero(keep)[0][np.argsort(sub[keep], kind="stable")]
        s_rep, s_acct, typ, score, sub = (
            s_rep[order],
            s_acct[order],
            typ[order],
            score[order],
            sub[order],
        )
        n = len(order)
        if n == 0:
            return
        ids = self._ids("response", "SR", n)
        csat_rows = np.nonzero(typ == 0)[0]
        nps_rows = np.nonzero(typ == 1)[0]
        k_c = self.q["csat_range"].take(len(csat_rows))
        k_n = self.q["nps_range"].take(len(nps_rows))
        bad_c = choose_disjoint(rng, csat_rows, [k_c])[0]
        bad_n = choose_disjoint(rng, nps_rows, [k_n])[0]
        bad = np.zeros(n, dtype=bool)
        bad[bad_c] = bad[bad_n] = True
        k_d = self.q["dup_responses"].take(n)
        dup = choose_disjoint(rng, np.nonzero(~bad)[0], [k_d])[0]
        valid_score = score.copy()
        score[bad_c] = np.where((np.arange(len(bad_c)) + self.q["csat_range"].done) % 2, 6, 0)
        score[bad_n] = 11
        take, first_pos, dup_pos = insert_duplicates(n, dup)
        w = self.wr["responses"]
        start = w.write(
            make_table(
                "surveys/responses",
                {
                    "response_id": ids.take(pa.array(take)),
                    "account_id": ctx.account_ids.take(pa.array(s_acct[take])),
                    "rep_id": ctx.rep_ids.take(pa.array(s_rep[take])),
                    "survey_type": _strs(["csat", "nps"], typ[take]),
                    "score": score[take],
                    "submitted_at": sub[take],
                },
            )
        )
        self._log_dups(w, start, dup_pos, ids.take(pa.array(dup)))
        for rows, kind, allowed in ((bad_c, "csat", "1-5"), (bad_n, "nps", "0-10")):
            if len(rows):
                shown = pc.cast(pa.array(score[rows]), pa.string())
                detail = names.join(f"{kind} score ", shown, f" outside {allowed}")
                ctx.defects.add(
                    w,
                    start + first_pos[rows],
                    ids.take(pa.array(rows)),
                    "score_out_of_range",
                    detail,
                )
        good = ~bad
        month = ctx.month_of(sub // DAY_S)
        c = good & (typ == 0)
        ctx.agg_add("csat_n", s_rep[c], month[c])
        ctx.agg_add("csat_pos", s_rep[c], month[c], (valid_score[c] >= 4).astype(float))
        p = good & (typ == 1)
        ctx.agg_add("nps_n", s_rep[p], month[p])
        net = (valid_score[p] >= 9).astype(float) - (valid_score[p] <= 6).astype(float)
        ctx.agg_add("nps_net", s_rep[p], month[p], net)

        # complaints
        p_c = np.clip(0.02 * (1 + 4 * (0.88 - csat_q[rep])), 0.005, 0.08)
        ci = np.nonzero(rng.random(len(rep)) < p_c)[0]
        opened = (day[ci] + 1 + np.floor(rng.random(len(ci)) * 30).astype(np.int64)) * DAY_S
        opened = opened + office_seconds(rng, len(ci))
        keep = opened <= ctx.as_of_end_s
        ci, opened = ci[keep], opened[keep]
        k = len(ci)
        if k == 0:
            return
        resolved = opened + rng.integers(4 * 3600, 20 * DAY_S, k)
        solved = (rng.random(k) < 0.88) & (resolved <= ctx.as_of_end_s)
        self.wr["complaints"].write(
            make_table(
                "surveys/complaints",
                {
                    "complaint_id": self._ids("complaint", "CP", k),
                    "account_id": ctx.account_ids.take(pa.array(acct[ci])),
                    "rep_id": ctx.rep_ids.take(pa.array(rep[ci])),
                    "opened_at": opened,
                    "severity": _strs(SEVERITIES, _choice(rng, np.array([0.6, 0.3, 0.1]), k)),
                    "resolved_at": pa.array(resolved, mask=~solved),
                },
            )
        )
        ctx.agg_add("complaints", rep[ci], ctx.month_of(opened // DAY_S))

    # ---------------------------------------------------------------------------------
    def activities_month(self, m: int) -> None:
        ctx, reps = self.ctx, self.ctx.reps
        rng = stream_rng(ctx.seed, "activities", m)
        lam = ACTIVITY_RATES[:, self.role] * self.f * self.act_int[:, m][None, :]
        counts = steady_counts(rng, lam, 0.2)
        must = (ctx.exposure[:, m] > 0.5)[None, :] & (ACTIVITY_RATES[:, self.role] > 0)
        must[:4] = False  # at least one event and one campaign a month for marketing reps
        counts = np.where(must, np.maximum(counts, 1), counts)
        typ = np.repeat(np.repeat(np.arange(6), self.n_reps), counts.ravel())
        rep = np.repeat(np.tile(np.arange(self.n_reps), 6), counts.ravel())
        n = len(rep)
        if n == 0:
            return
        day = uniform_days(rng, reps["emp_lo"][rep, m], reps["emp_hi"][rep, m])
        ts = day * DAY_S + office_seconds(rng, n, 8, 19)
        srt = np.argsort(ts, kind="stable")
        typ, rep, day, ts = typ[srt], rep[srt], day[srt], ts[srt]
        seller = self.role[rep] != 1
        has_acc = seller & ((typ <= 2) | ((typ == 3) & (rng.random(n) < 0.6)))
        acct = np.zeros(n, dtype=np.int64)
        if has_acc.any():
            acct[has_acc] = pick_accounts(ctx, rng, rep[has_acc], day[has_acc])
        perf = reps["skill"][rep] * reps["under"][rep]
        participants = np.maximum(5, np.round(rng.lognormal(np.log(60 * perf), 0.3)))
        impressions = np.round(rng.lognormal(np.log(20_000 * perf), 0.35), -1)
        is_event, is_campaign = typ == 4, typ == 5
        ids = self._ids("activity", "AC", n)
        k_d = self.q["dup_activities"].take(n)
        dup = choose_disjoint(rng, np.arange(n), [k_d])[0]
        take, _, dup_pos = insert_duplicates(n, dup)
        w = self.wr["activities"]
        start = w.write(
            make_table(
                "crm/activities",
                {
                    "activity_id": ids.take(pa.array(take)),
                    "rep_id": ctx.rep_ids.take(pa.array(rep[take])),
                    "account_id": _nullable_ids(ctx.account_ids, acct[take], has_acc[take]),
                    "activity_type": _strs(ACTIVITY_TYPES, typ[take]),
                    "activity_at": ts[take],
                    "participants": pa.array(participants[take].astype(np.int64), mask=~is_event[take]),
                    "impressions": pa.array(impressions[take].astype(np.int64), mask=~is_campaign[take]),
                },
            )
        )
        self._log_dups(w, start, dup_pos, ids.take(pa.array(dup)))
        ctx.agg_add("visits", rep[typ == 0], m)
        ctx.agg_add("market_feedback", rep[typ == 3], m)
        ctx.agg_add("event_participants", rep[is_event], m, participants[is_event])
        ctx.agg_add("brand_exposure", rep[is_campaign], m, impressions[is_campaign])

    # ---------------------------------------------------------------------------------
    def leads_month(self, m: int) -> None:
        ctx, reps = self.ctx, self.ctx.reps
        rng = stream_rng(ctx.seed, "leads", m)
        lam = LEAD_RATE[self.role] * self.f * self.act_int[:, m]
        rep = np.repeat(np.arange(self.n_reps), steady_counts(rng, lam, 0.2))
        n = len(rep)
        if n == 0:
            return
        day = uniform_days(rng, reps["emp_lo"][rep, m], reps["emp_hi"][rep, m])
        ts = day * DAY_S + office_seconds(rng, n, 0, 24)
        srt = np.argsort(ts, kind="stable")
        rep, day, ts = rep[srt], day[srt], ts[srt]
        source = _choice(rng, LEAD_SOURCE_P[self.role[rep]], n)
        age = ctx.as_of_day - day
        p_status = np.select(
            [age[:, None] < 30, age[:, None] < 90],
            [np.array([[0.6, 0.4, 0, 0]]), np.array([[0.05, 0.35, 0.25, 0.35]])],
            np.array([[0.0, 0.05, 0.35, 0.60]]),
        )
        status = _choice(rng, p_status, n)  # new, working, converted, disqualified
        created = ctx.accounts["created_day"]
        first = np.searchsorted(created, day, side="left")
        avail = len(created) - first
        status = np.where((status == 2) & (avail == 0), 1, status)
        conv = status == 2
        acct = first + np.floor(rng.random(n) * np.minimum(np.maximum(avail, 1), 40)).astype(int)
        acct = np.minimum(acct, len(created) - 1)
        self.wr["leads"].write(
            make_table(
                "crm/leads",
                {
                    "lead_id": self._ids("lead", "L", n),
                    "owner_rep_id": ctx.rep_ids.take(pa.array(rep)),
                    "source": _strs(LEAD_SOURCES, source),
                    "created_at": ts,
                    "status": _strs(["new", "working", "converted", "disqualified"], status),
                    "converted_account_id": _nullable_ids(ctx.account_ids, acct, conv),
                },
            )
        )
        ctx.agg_add("leads", rep, m)

    # ---------------------------------------------------------------------------------
    def opportunities_month(self, m: int) -> None:
        ctx, reps, acc = self.ctx, self.ctx.reps, self.ctx.accounts
        rng = stream_rng(ctx.seed, "opportunities", m)
        lam = OPP_RATE[self.role] * self.f * reps["intensity"][:, m] * ctx.exposure[:, m]
        rep = np.repeat(np.arange(self.n_reps), steady_counts(rng, lam, 0.2))
        n = len(rep)
        if n == 0:
            return
        day = uniform_days(rng, reps["emp_lo"][rep, m], reps["emp_hi"][rep, m])
        ts = day * DAY_S + office_seconds(rng, n)
        srt = np.argsort(ts, kind="stable")
        rep, day, ts = rep[srt], day[srt], ts[srt]
        acct = pick_accounts(ctx, rng, rep, day)
        duration = 10 + np.round(rng.gamma(2.0, 25.0, n)).astype(np.int64)
        close = day + duration
        closed = close <= ctx.as_of_day
        won = closed & (rng.random(n) < reps["p_win"][rep])
        progress = np.clip((ctx.as_of_day - day) / duration, 0, 0.999)
        stage_open = np.floor(progress * 4).astype(int)
        stage = np.where(closed, np.where(won, 4, 5), stage_open)
        size = acc["size"][acct] * np.where(self.role[rep] == 2, 2.5, 1.0)
        amount_cny = np.round(rng.lognormal(np.log(80_000 * size), 0.6), -2)
        usd = acc["usd"][acct]
        amount = np.where(usd, np.round(amount_cny / ctx.fx[day - ctx.start_day], 2), amount_cny)
        upd_open = ts + np.floor(rng.random(n) * (ctx.as_of_end_s - ts)).astype(np.int64)
        upd = np.where(closed, close * DAY_S + office_seconds(rng, n), upd_open)
        stages = [*OPEN_STAGES, "closed_won", "closed_lost"]
        self.wr["opps"].write(
            make_table(
                "crm/opportunities",
                {
                    "opportunity_id": self._ids("opp", "OP", n),
                    "account_id": ctx.account_ids.take(pa.array(acct)),
                    "owner_rep_id": ctx.rep_ids.take(pa.array(rep)),
                    "stage": _strs(stages, stage),
                    "amount": amount,
                    "currency": _strs(["CNY", "USD"], usd.astype(int)),
                    "created_at": ts,
                    "close_date": close,
                    "is_closed": closed,
                    "is_won": won,
                    "updated_at": upd,
                },
            )
        )
        ctx.agg_add("opps", rep, m)
        cm = ctx.month_of(close)
        ctx.agg_add("won", rep[won], cm[won])
        ctx.agg_add("closed", rep[closed], cm[closed])


def build_transactions(ctx: Ctx) -> None:
    Transactions(ctx).run()
