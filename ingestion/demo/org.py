"""Master data of the demo company: teams, reps, markets, products, FX, accounts, contacts."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingestion.demo import names
from ingestion.demo.model import (
    DAY_S,
    REGIONS,
    ROLES,
    Ctx,
    office_seconds,
    stream_rng,
    uniform_days,
)
from ingestion.demo.writers import make_table

REGION_EN = {"east": "East", "north": "North", "south": "South", "west": "West"}
REGION_ZH = {"east": "华东", "north": "华北", "south": "华南", "west": "西部"}
# (market_id, name, is_new_market, region)
MARKETS = [
    ("M01", "Shanghai Metro 上海", False, "east"),
    ("M02", "Jiangsu & Zhejiang 江浙", False, "east"),
    ("M03", "Beijing-Tianjin 京津", False, "north"),
    ("M04", "Northeast China 东北", True, "north"),
    ("M05", "Guangdong 广东", False, "south"),
    ("M06", "Guangxi & Hainan 广西海南", True, "south"),
    ("M07", "Sichuan-Chongqing 川渝", False, "west"),
    ("M08", "Xi'an & Northwest 西北", True, "west"),
]
INDUSTRIES = [
    "manufacturing",
    "retail",
    "healthcare",
    "energy",
    "logistics",
    "education",
    "finance",
    "government",
]
# category, (Chinese stem, English stem), list price range CNY, typical quantity scale
PRODUCT_CATEGORIES = [
    ("sensors", ("温度传感器", "Pressure Sensor"), (800, 3000)),
    ("controllers", ("PLC 控制器", "Motion Controller"), (3000, 15000)),
    ("software", ("MES 软件许可", "Analytics License"), (5000, 30000)),
    ("services", ("现场服务包", "Maintenance Plan"), (2000, 10000)),
    ("consumables", ("滤芯", "Calibration Kit"), (50, 500)),
]


def _int_width(n: int, minimum: int) -> int:
    return max(minimum, len(str(int(n))))


def build_org(ctx: Ctx) -> None:
    """Teams and reps (with their hidden performance profile)."""
    rng = stream_rng(ctx.seed, "org")
    n_reps = max(24, round(40 * (ctx.scale / 10_000) ** 0.566))
    tpr = max(2, round(n_reps / 32))  # teams per region; team 0 of a region is its lead team
    n_teams = 4 * tpr
    n_mkt = max(4, round(0.10 * n_reps))
    n_sales = n_reps - n_teams - n_mkt

    team = np.concatenate(
        [
            np.arange(n_teams),
            rng.permutation(np.arange(n_sales) % n_teams),
            (np.arange(n_mkt) % 4) * tpr,
        ]
    )
    role = np.concatenate(
        [np.full(n_teams, 2), np.zeros(n_sales, int), np.ones(n_mkt, int)]
    )  # ROLES index: 0 sales, 1 marketing, 2 manager
    rank = np.select([role == 2, role == 0], [0, 1], 2)
    order = np.lexsort((np.arange(n_reps), rank, team))
    team, role = team[order], role[order]
    region = team // tpr
    is_lead_team = team % tpr == 0
    mgr_of_team = np.full(n_teams, -1)
    mgr_idx = np.nonzero(role == 2)[0]
    mgr_of_team[team[mgr_idx]] = mgr_idx
    lead_mgr = mgr_of_team[region * tpr]
    manager = np.where(role == 2, np.where(is_lead_team, -1, lead_mgr), mgr_of_team[team])

    start, as_of = ctx.start_day, ctx.as_of_day
    skill = np.clip(rng.lognormal(0.0, 0.25, n_reps), 0.55, 1.8)
    growth = np.clip(rng.normal(0.006, 0.012, n_reps), -0.025, 0.035)
    tenure_y = np.where(role == 2, rng.uniform(3, 12, n_reps), rng.uniform(0.4, 8, n_reps))
    hire = start - np.round(tenure_y * 365).astype(np.int64)
    end = np.full(n_reps, as_of, dtype=np.int64)  # last employed day
    under = np.ones(n_reps)

    sales_idx = rng.permutation(np.nonzero(role == 0)[0])
    n_new = max(1, round(0.10 * n_sales))
    n_leave = max(1, round(0.06 * n_sales))
    n_coach = max(2, round(0.08 * n_sales))
    new_hires = sales_idx[:n_new]
    leavers = sales_idx[n_new : n_new + n_leave]
    coach = list(sales_idx[n_new + n_leave : n_new + n_leave + n_coach])
    mkt_idx = rng.permutation(np.nonzero(role == 1)[0])
    coach += list(mkt_idx[: max(1, round(0.08 * n_mkt))])
    coach += list(rng.permutation(mgr_idx)[: round(0.05 * len(mgr_idx))])
    coach = np.array(sorted(coach), dtype=np.int64)

    hire[new_hires] = rng.integers(start + 30, max(start + 31, as_of - 150), len(new_hires))
    end[leavers] = rng.integers(as_of - 300, as_of - 20, len(leavers))
    end[leavers] = np.maximum(end[leavers], hire[leavers] + 120)
    under[coach] = rng.uniform(0.55, 0.7, len(coach))
    skill[coach] = np.minimum(skill[coach], 1.0)

    coached = under < 1
    csat_q = np.clip(0.86 + 0.06 * (skill - 1) - 0.2 * coached + rng.normal(0, 0.03, n_reps), 0.45, 0.97)
    p_win = np.clip(0.36 * skill**0.6 * under**0.8 + 0.08 * (role == 2), 0.1, 0.75)
    review_base = 3.7 + 0.6 * (skill - 1) - 0.8 * coached + rng.normal(0, 0.15, n_reps)

    ctx.reps = {
        "role": role,
        "team": team,
        "region": region,
        "manager": manager,
        "skill": skill,
        "growth": growth,
        "hire": hire,
        "end": end,
        "under": under,
        "csat_q": csat_q,
        "p_win": p_win,
        "review_base": review_base,
        "is_lead_team": is_lead_team,
        "tpr": np.array([tpr]),
        "coach": coached,
    }

    # Employment per month: exposure share, first/last employed day, ramp-up of new hires.
    ms, he = ctx.month_start[None, :], ctx.hist_end[None, :]
    days_in_month = (ctx.month_end - ctx.month_start + 1)[None, :]
    lo = np.maximum(ms, hire[:, None])
    hi = np.minimum(he, end[:, None])
    ctx.exposure = np.clip(hi - lo + 1, 0, None) / days_in_month
    ctx.reps["emp_lo"], ctx.reps["emp_hi"] = lo, hi
    months_in = (ms + 15 - hire[:, None]) / 30.4
    ramp = np.clip((months_in + 1) / 4, 0.25, 1.0)
    m_idx = np.arange(ctx.n_months)[None, :]
    ctx.reps["intensity"] = skill[:, None] * (1 + growth[:, None]) ** m_idx * under[:, None] * ramp

    width = _int_width(n_reps, 4)
    rep_no = np.arange(1, n_reps + 1)
    ctx.rep_ids = names.ids("R", rep_no, width)
    ctx.reps["id_width"] = np.array([width])
    team_ids = names.ids("T", np.arange(1, n_teams + 1), _int_width(n_teams, 2))

    # --- teams
    t_region = np.arange(n_teams) // tpr
    t_k = np.arange(n_teams) % tpr
    reg_en = pa.array([REGION_EN[r] for r in REGIONS]).take(pa.array(t_region))
    reg_zh = pa.array([REGION_ZH[r] for r in REGIONS]).take(pa.array(t_region))
    k_txt = pc.cast(pa.array(t_k), pa.string())
    lead_name = names.join(reg_en, " Region ", reg_zh, "大区")
    team_name = names.join(reg_en, " Team ", k_txt, " ", reg_zh, k_txt, "组")
    parent = team_ids.take(pa.array(t_region * tpr))
    w = ctx.writer("crm/teams")
    w.write(
        make_table(
            "crm/teams",
            {
                "team_id": team_ids,
                "team_name": pc.if_else(pa.array(t_k == 0), lead_name, team_name),
                "region": pa.array(REGIONS).take(pa.array(t_region)),
                "parent_team_id": pc.if_else(pa.array(t_k == 0), pa.nulls(n_teams, pa.string()), parent),
            },
        )
    )
    ctx.record(w)

    # --- reps
    display, local = names.person_names(rng, n_reps)
    email = names.join(local, ".", pc.utf8_lower(ctx.rep_ids), "@demo-company.example")
    mgr_id = pc.if_else(
        pa.array(manager >= 0),
        ctx.rep_ids.take(pa.array(np.maximum(manager, 0))),
        pa.nulls(n_reps, pa.string()),
    )
    upd_day = np.where(end < as_of, end + 1, np.maximum(hire, as_of - rng.integers(0, 120, n_reps)))
    w = ctx.writer("crm/reps")
    w.write(
        make_table(
            "crm/reps",
            {
                "rep_id": ctx.rep_ids,
                "rep_name": display,
                "email": email,
                "role": pa.array(ROLES).take(pa.array(role)),
                "team_id": team_ids.take(pa.array(team)),
                "manager_rep_id": mgr_id,
                "region": pa.array(REGIONS).take(pa.array(region)),
                "hire_date": hire,
                "is_active": end >= as_of,
                "updated_at": upd_day * DAY_S + office_seconds(rng, n_reps),
            },
        )
    )
    ctx.record(w)


def build_reference(ctx: Ctx) -> None:
    """Markets, products and the daily USD rate."""
    rng = stream_rng(ctx.seed, "reference")
    w = ctx.writer("crm/markets")
    w.write(
        make_table(
            "crm/markets",
            {
                "market_id": [m[0] for m in MARKETS],
                "market_name": [m[1] for m in MARKETS],
                "is_new_market": [m[2] for m in MARKETS],
            },
        )
    )
    ctx.record(w)

    per_cat = 8
    n_prod = per_cat * len(PRODUCT_CATEGORIES)
    cat = np.repeat(np.arange(len(PRODUCT_CATEGORIES)), per_cat)
    lo = np.array([c[2][0] for c in PRODUCT_CATEGORIES])[cat]
    hi = np.array([c[2][1] for c in PRODUCT_CATEGORIES])[cat]
    list_price = np.round(np.exp(rng.uniform(np.log(lo), np.log(hi))), -1) - 0.01
    cost_share = rng.uniform(0.35, 0.70, n_prod)
    std_cost = np.round(list_price * cost_share, 2)
    stem = rng.random(n_prod) < 0.5
    stems = [c[1][0] for c in PRODUCT_CATEGORIES] + [c[1][1] for c in PRODUCT_CATEGORIES]
    stem_txt = pa.array(stems).take(pa.array(cat + len(PRODUCT_CATEGORIES) * (~stem)))
    model_txt = pc.cast(pa.array(100 + 10 * (np.arange(n_prod) % per_cat)), pa.string())
    series = pa.array([chr(65 + c) for c in range(len(PRODUCT_CATEGORIES))]).take(pa.array(cat))
    prod_names = names.join(stem_txt, names.join(series, model_txt), sep=" ")
    ctx.product_ids = names.ids("P", np.arange(1, n_prod + 1), 3)
    popularity = rng.zipf(1.6, n_prod).clip(1, 30).astype(float) * rng.uniform(0.5, 1.5, n_prod)
    ctx.products = {
        "list_price": list_price,
        "std_cost": std_cost,
        "popularity": popularity / popularity.sum(),
    }
    w = ctx.writer("orders/products")
    w.write(
        make_table(
            "orders/products",
            {
                "product_id": ctx.product_ids,
                "product_name": prod_names,
                "category": pa.array([c[0] for c in PRODUCT_CATEGORIES]).take(pa.array(cat)),
                "list_price": list_price,
                "standard_cost": std_cost,
            },
        )
    )
    ctx.record(w)

    # USD -> CNY: a random walk folded into [7.0, 7.4], one rate for every day of the history.
    n_days = ctx.as_of_day - ctx.start_day + 1
    walk = 0.15 + np.cumsum(rng.normal(0, 0.006, n_days))
    folded = np.mod(walk, 0.8)
    folded = np.where(folded > 0.4, 0.8 - folded, folded)
    ctx.fx = np.round(7.0 + folded, 4)
    w = ctx.writer("orders/fx_rates")
    w.write(
        make_table(
            "orders/fx_rates",
            {
                "rate_date": np.arange(ctx.start_day, ctx.as_of_day + 1),
                "currency": pa.array(["USD"] * n_days),
                "rate_to_base": ctx.fx,
            },
        )
    )
    ctx.record(w)


def build_accounts(ctx: Ctx) -> None:
    """Accounts owned by sales reps and managers, and their contacts."""
    rng = stream_rng(ctx.seed, "accounts")
    reps = ctx.reps
    role, hire, end = reps["role"], reps["hire"], reps["end"]
    sellers = np.nonzero(role != 1)[0]
    n_sellers = len(sellers)
    n_acc = max(5 * n_sellers, round(0.06 * ctx.scale))
    start, as_of = ctx.start_day, ctx.as_of_day

    # three pre-existing accounts per seller, the rest by seller weight
    weight = reps["skill"][sellers] * np.where(role[sellers] == 2, 0.5, 1.0)
    rest = n_acc - 3 * n_sellers
    owner = np.concatenate(
        [np.repeat(sellers, 3), sellers[rng.choice(n_sellers, rest, p=weight / weight.sum())]]
    )
    pre = np.concatenate([np.ones(3 * n_sellers, bool), rng.random(rest) < 0.35])
    lo = np.maximum(start, hire[owner])
    hi = np.minimum(as_of, end[owner])
    in_hist = uniform_days(rng, lo, hi)
    before = start - rng.integers(1, 730, n_acc)
    created_day = np.where(pre | (hi < lo), before, in_hist)

    region = reps["region"][owner]
    year2 = created_day >= start + 365
    p_new = np.where(year2, 0.40, 0.03)
    new_market = rng.random(n_acc) < p_new
    mk_region = np.array([REGIONS.index(m[3]) for m in MARKETS])
    mk_new = np.array([m[2] for m in MARKETS])
    established = [np.nonzero((mk_region == r) & ~mk_new)[0] for r in range(4)]
    new_mk = [np.nonzero((mk_region == r) & mk_new)[0] for r in range(4)]
    market = np.empty(n_acc, dtype=np.int64)
    u = rng.random(n_acc)
    for r in range(4):  # loop over the four regions
        sel = region == r
        est = established[r]
        market[sel] = est[np.floor(u[sel] * len(est)).astype(int)]
        if len(new_mk[r]):
            market[sel & new_market] = new_mk[r][0]
    is_new_market = mk_new[market]

    is_mgr = role[owner] == 2
    p_sales = np.array([0.45, 0.30, 0.20, 0.05])
    p_mgr = np.array([0.20, 0.10, 0.0, 0.70])
    u = rng.random(n_acc)
    channel = np.where(  # index into model.CHANNELS
        is_mgr,
        np.searchsorted(np.cumsum(p_mgr), u * 0.999999, side="right"),
        np.searchsorted(np.cumsum(p_sales), u * 0.999999, side="right"),
    )
    usd = rng.random(n_acc) < 0.15
    size = np.exp(rng.normal(0, 0.45, n_acc)) * np.where(is_mgr, 2.0, 1.0)

    created_s = created_day * DAY_S + office_seconds(rng, n_acc, 9, 18)
    # account ids in creation order
    order = np.lexsort((np.arange(n_acc), created_s))
    owner, created_day, created_s = owner[order], created_day[order], created_s[order]
    market, is_new_market, channel = market[order], is_new_market[order], channel[order]
    usd, size, region = usd[order], size[order], region[order]

    width = _int_width(n_acc, 7)
    ctx.account_ids = names.ids("A", np.arange(1, n_acc + 1), width)
    # orders pick among the accounts an owner had at the order date: sort by (owner, created)
    by_owner = np.lexsort((created_s, owner))
    key = owner[by_owner].astype(np.int64) * 100_000 + created_day[by_owner]
    seg_start = np.searchsorted(key, np.arange(len(role)) * 100_000, side="left")
    ctx.accounts = {
        "owner": owner,
        "created_day": created_day,
        "market": market,
        "is_new_market": is_new_market,
        "channel": channel,
        "usd": usd,
        "size": size,
        "region": region,
        "by_owner": by_owner,
        "owner_key": key,
        "seg_start": seg_start,
    }

    # leavers' accounts went to their team manager when they left
    left = end[owner] < as_of
    final_owner = np.where(left, np.maximum(reps["manager"][owner], 0), owner)
    upd_lo = np.maximum(created_day, as_of - 400)
    upd_day = upd_lo + np.floor(rng.random(n_acc) * (as_of - upd_lo + 1)).astype(np.int64)
    upd_day = np.clip(np.where(left, end[owner] + 1, upd_day), created_day, as_of)
    w = ctx.writer("crm/accounts")
    w.write(
        make_table(
            "crm/accounts",
            {
                "account_id": ctx.account_ids,
                "account_name": names.company_names(rng, n_acc),
                "industry": pa.array(INDUSTRIES).take(pa.array(rng.integers(0, 8, n_acc))),
                "region": pa.array(REGIONS).take(pa.array(region)),
                "market_id": pa.array([m[0] for m in MARKETS]).take(pa.array(market)),
                "owner_rep_id": ctx.rep_ids.take(pa.array(final_owner)),
                "created_at": created_s,
                "updated_at": np.maximum(upd_day * DAY_S + office_seconds(rng, n_acc), created_s),
            },
        )
    )
    ctx.record(w)

    # contacts, written in blocks of accounts
    w = ctx.writer("crm/contacts")
    block = 200_000
    next_id = 1
    c_width = _int_width(n_acc * 3, 8)
    for b0 in range(0, n_acc, block):  # loop per block of accounts
        brng = stream_rng(ctx.seed, "contacts", b0 // block)
        acc = np.arange(b0, min(n_acc, b0 + block))
        n_c = 1 + brng.poisson(0.5, len(acc))
        ca = np.repeat(acc, n_c)
        k = len(ca)
        disp, local = names.person_names(brng, k, chinese_share=0.75)
        acc_txt = pc.utf8_lower(ctx.account_ids.take(pa.array(ca)))
        email = names.join(local, "@", acc_txt, ".example.cn")
        c_created = np.minimum(created_s[ca] + brng.integers(0, 60 * DAY_S, k), ctx.as_of_end_s)
        w.write(
            make_table(
                "crm/contacts",
                {
                    "contact_id": names.ids("C", np.arange(next_id, next_id + k), c_width),
                    "account_id": ctx.account_ids.take(pa.array(ca)),
                    "contact_name": disp,
                    "email": email,
                    "phone": names.phones(brng, k),
                    "created_at": c_created,
                },
            )
        )
        next_id += k
    ctx.record(w)
