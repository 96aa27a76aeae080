"""Maven Analytics "CRM Sales Opportunities" export -> landing entities.

Input folder: `sales_pipeline.csv`, `sales_teams.csv`, `accounts.csv`, `products.csv`
as published (read-only). Mapping (docs/sources.md):

- agents -> `crm/reps` role `sales`; managers -> `crm/reps` role `manager`. Rep ids are
  derived from the name (`MV-` + 8 hex of SHA-1 of the case-folded name): stable across runs.
- regional offices -> top `crm/teams` (`MV-R-<OFFICE>`); each manager's people -> a team
  under its office (`MV-T-...`). Agents report to their manager (`manager_rep_id`).
- accounts -> `crm/accounts` (sector -> industry, known typo `technolgy` fixed and
  reported; office location -> region); products -> `orders/products` (series ->
  category, sales price -> list price).
- every opportunity -> `crm/opportunities` (none dropped). Won -> `closed_won`, Lost ->
  `closed_lost`, Engaging / Prospecting kept as open stages. Amount = close value when
  the export has one (won; lost deals carry 0 in the export), else the product's list
  price (open deals: the value at stake). created_at = engage date; deals without one
  (the 500 prospecting deals) fall back to the export's as-of date (its latest date),
  the first day they are known to exist. Currency USD.
- every won deal -> one completed `orders/orders` row on its close date with one
  `orders/order_lines` row (quantity 1, unit price = close value, no discount; the
  export has no cost, so unit_cost is empty and gross profit equals revenue).
- product names are matched after normalising (case, spaces, punctuation): `GTXPro`
  in the pipeline is `GTX Pro` in the catalogue. The match is reported in
  `<landing>/_import_reports/maven_crm.json` and in the summary notes.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from ingestion.importers.common import ImportSummary, stable_id, write_entities, write_report

SOURCE = "maven_crm"
CURRENCY = "USD"
STAGES = {
    "won": "closed_won",
    "lost": "closed_lost",
    "engaging": "engaging",
    "prospecting": "prospecting",
}
SECTOR_FIXES = {"technolgy": "technology"}
FILES = ("sales_pipeline.csv", "sales_teams.csv", "accounts.csv", "products.csv")


def normalise_name(name: str) -> str:
    """Key for matching names spelled differently between files: `GTXPro` == `GTX Pro`."""
    return re.sub(r"[^0-9a-z]+", "", str(name).casefold())


def rep_id(name: str) -> str:
    return stable_id("MV-", name)


def _read(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    frame.columns = [c.strip() for c in frame.columns]
    return frame.apply(lambda s: s.str.strip()).replace("", None)


def import_maven_crm(src_dir: Path, landing: Path) -> ImportSummary:
    src_dir, landing = Path(src_dir), Path(landing)
    missing = [f for f in FILES if not (src_dir / f).is_file()]
    if missing:
        raise FileNotFoundError(f"{src_dir}: missing {', '.join(missing)}")
    pipeline = _read(src_dir / "sales_pipeline.csv")
    teams = _read(src_dir / "sales_teams.csv")
    accounts = _read(src_dir / "accounts.csv")
    products = _read(src_dir / "products.csv")
    summary = ImportSummary(SOURCE, landing)
    report: dict = {"source": str(src_dir), "input_rows": {}}
    for name, frame in (
        ("sales_pipeline", pipeline),
        ("sales_teams", teams),
        ("accounts", accounts),
        ("products", products),
    ):
        report["input_rows"][name] = len(frame)

    dates = pd.concat([pd.to_datetime(pipeline[c], format="%Y-%m-%d") for c in ("engage_date", "close_date")])
    as_of = dates.max().strftime("%Y-%m-%d")
    report["as_of"] = as_of
    stamp = f"{as_of}T00:00:00"

    reps, team_rows, rep_notes = _reps_and_teams(pipeline, teams, stamp)
    account_rows, account_ids, account_notes = _accounts(accounts, pipeline, stamp)
    product_rows, product_ids, match = _products(products, pipeline)
    report["product_match"] = match
    report["reps"] = rep_notes
    report["accounts"] = account_notes

    opps = _opportunities(pipeline, account_ids, product_ids, product_rows, as_of)
    orders, lines = _orders(opps, pipeline, product_ids)
    report["opportunities"] = {
        "rows": len(opps),
        "by_stage": opps["stage"].value_counts().sort_index().to_dict(),
        "created_at_from_as_of_date": int(pipeline["engage_date"].isna().sum()),
        "amount_from_list_price": int(pipeline["close_value"].isna().sum()),
        "without_account": int(opps["account_id"].isna().sum()),
        "won_orders": len(orders),
    }
    if len(opps) != len(pipeline):
        raise AssertionError(f"{len(pipeline)} opportunities in, {len(opps)} out")

    write_entities(
        summary,
        {
            "crm/teams": team_rows,
            "crm/reps": reps,
            "crm/accounts": account_rows,
            "orders/products": product_rows,
            "crm/opportunities": opps,
            "orders/orders": orders,
            "orders/order_lines": lines,
        },
        SOURCE,
    )
    report["rows_written"] = summary.row_counts
    summary.report_path = write_report(landing / "_import_reports" / f"{SOURCE}.json", report)
    for entry in match:
        if entry["match"] != "exact":
            summary.notes.append(
                f"product {entry['pipeline_name']!r} ({entry['opportunities']} opportunities) "
                f"-> {entry['catalogue_name']!r} [{entry['match']}]"
            )
    summary.notes.extend(account_notes.get("fixes", []))
    summary.notes.append(
        f"{report['opportunities']['created_at_from_as_of_date']} opportunities without an "
        f"engage date: created_at = export as-of date {as_of}"
    )
    return summary


def _reps_and_teams(
    pipeline: pd.DataFrame, teams: pd.DataFrame, stamp: str
) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    teams = teams.drop_duplicates("sales_agent")
    offices = teams[["regional_office"]].drop_duplicates().dropna()
    office_teams = pd.DataFrame(
        {
            "team_id": "MV-R-"
            + offices["regional_office"].str.upper().str.replace(r"[^0-9A-Z]+", "-", regex=True),
            "team_name": offices["regional_office"] + " office",
            "region": offices["regional_office"],
            "parent_team_id": None,
        }
    )
    office_team = dict(zip(offices["regional_office"], office_teams["team_id"], strict=True))
    managers = teams[["manager", "regional_office"]].drop_duplicates("manager").dropna()
    manager_team_ids = managers["manager"].map(lambda m: stable_id("MV-T-", m))
    manager_teams = pd.DataFrame(
        {
            "team_id": manager_team_ids,
            "team_name": managers["manager"] + "'s team",
            "region": managers["regional_office"],
            "parent_team_id": managers["regional_office"].map(office_team),
        }
    )
    manager_reps = pd.DataFrame(
        {
            "rep_id": managers["manager"].map(rep_id),
            "rep_name": managers["manager"],
            "role": "manager",
            "team_id": manager_team_ids,
            "manager_rep_id": None,
            "region": managers["regional_office"],
        }
    )
    agents = pd.DataFrame({"sales_agent": pipeline["sales_agent"].dropna().unique()})
    agents = pd.concat([agents, teams[["sales_agent"]]], ignore_index=True).drop_duplicates("sales_agent")
    agents = agents.merge(teams, on="sales_agent", how="left")
    agent_reps = pd.DataFrame(
        {
            "rep_id": agents["sales_agent"].map(rep_id),
            "rep_name": agents["sales_agent"],
            "role": "sales",
            "team_id": agents["manager"].map(lambda m: None if m is None else stable_id("MV-T-", m)),
            "manager_rep_id": agents["manager"].map(lambda m: None if m is None else rep_id(m)),
            "region": agents["regional_office"],
        }
    )
    reps = pd.concat([manager_reps, agent_reps], ignore_index=True)
    reps["is_active"] = True
    reps["updated_at"] = stamp
    if reps["rep_id"].duplicated().any():
        dup = reps.loc[reps["rep_id"].duplicated(keep=False), "rep_name"].tolist()
        raise ValueError(f"rep id collision (or a name that is both agent and manager): {dup}")
    without_team = agent_reps.loc[agent_reps["team_id"].isna(), "rep_name"].tolist()
    notes = {
        "agents": len(agent_reps),
        "managers": len(manager_reps),
        "regional_offices": len(office_teams),
        "agents_without_team": without_team,
        "ids": dict(zip(reps["rep_name"], reps["rep_id"], strict=True)),
    }
    return reps, pd.concat([office_teams, manager_teams], ignore_index=True), notes


def _accounts(
    accounts: pd.DataFrame, pipeline: pd.DataFrame, stamp: str
) -> tuple[pd.DataFrame, dict[str, str], dict]:
    accounts = accounts.drop_duplicates("account")
    extra = sorted(set(pipeline["account"].dropna()) - set(accounts["account"]))
    if extra:
        accounts = pd.concat([accounts, pd.DataFrame({"account": extra})], ignore_index=True)
    sector = accounts["sector"].str.casefold()
    fixed = sector.map(SECTOR_FIXES)
    fixes = [
        f"sector {bad!r} -> {good!r} ({int((sector == bad).sum())} accounts)"
        for bad, good in SECTOR_FIXES.items()
        if (sector == bad).any()
    ]
    ids = accounts["account"].map(lambda a: stable_id("MV-A-", a))
    if ids.duplicated().any():
        raise ValueError("account id collision")
    rows = pd.DataFrame(
        {
            "account_id": ids,
            "account_name": accounts["account"],
            "industry": fixed.fillna(sector),
            "region": accounts.get("office_location"),
            "updated_at": stamp,
        }
    )
    notes = {"accounts": len(rows), "not_in_accounts_file": extra, "fixes": fixes}
    return rows, dict(zip(accounts["account"], ids, strict=True)), notes


def _products(
    products: pd.DataFrame, pipeline: pd.DataFrame
) -> tuple[pd.DataFrame, dict[str, str], list[dict]]:
    catalogue = products.drop_duplicates("product").copy()
    catalogue["key"] = catalogue["product"].map(normalise_name)
    if catalogue["key"].duplicated().any():
        raise ValueError("two catalogue products normalise to the same name")
    catalogue["product_id"] = "MV-P-" + catalogue["key"].str.upper()
    by_key = catalogue.set_index("key")
    used = pipeline["product"].value_counts()
    match, ids, extra = [], {}, []
    for name, count in sorted(used.items()):
        key = normalise_name(name)
        if key in by_key.index:
            found = by_key.loc[key]
            kind = "exact" if found["product"] == name else "normalised"
            ids[name] = found["product_id"]
            match.append(
                {
                    "pipeline_name": name,
                    "catalogue_name": found["product"],
                    "match": kind,
                    "product_id": found["product_id"],
                    "opportunities": int(count),
                }
            )
        else:
            pid = "MV-P-" + key.upper()
            ids[name] = pid
            extra.append({"product_id": pid, "product_name": name})
            match.append(
                {
                    "pipeline_name": name,
                    "catalogue_name": None,
                    "match": "unmatched (added without price)",
                    "product_id": pid,
                    "opportunities": int(count),
                }
            )
    for name, pid in zip(catalogue["product"], catalogue["product_id"], strict=True):
        ids.setdefault(name, pid)
    rows = pd.DataFrame(
        {
            "product_id": catalogue["product_id"],
            "product_name": catalogue["product"],
            "category": catalogue["series"],
            "list_price": catalogue["sales_price"],
        }
    )
    if extra:
        rows = pd.concat([rows, pd.DataFrame(extra)], ignore_index=True)
    return rows, ids, match


def _opportunities(
    pipeline: pd.DataFrame,
    account_ids: dict[str, str],
    product_ids: dict[str, str],
    products: pd.DataFrame,
    as_of: str,
) -> pd.DataFrame:
    stage_key = pipeline["deal_stage"].str.casefold()
    unknown = sorted(set(stage_key.dropna()) - set(STAGES))
    stage = stage_key.map(STAGES).fillna(stage_key)  # an unknown stage passes through as is
    list_price = (
        pipeline["product"]
        .map(product_ids)
        .map(dict(zip(products["product_id"], products["list_price"], strict=True)))
    )
    created = pipeline["engage_date"].fillna(pipeline["close_date"]).fillna(as_of)
    is_closed = stage.isin(["closed_won", "closed_lost"])
    frame = pd.DataFrame(
        {
            "opportunity_id": pipeline["opportunity_id"],
            "account_id": pipeline["account"].map(account_ids),
            "owner_rep_id": pipeline["sales_agent"].map(rep_id),
            "stage": stage,
            "amount": pipeline["close_value"].fillna(list_price),
            "currency": CURRENCY,
            "created_at": created + "T00:00:00",
            "close_date": pipeline["close_date"],
            "is_closed": is_closed,
            "is_won": stage.eq("closed_won"),
            "updated_at": pipeline["close_date"].fillna(created) + "T00:00:00",
        }
    )
    if unknown:
        frame.attrs["unknown_stages"] = unknown
    return frame


def _orders(
    opps: pd.DataFrame, pipeline: pd.DataFrame, product_ids: dict[str, str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    won = opps["is_won"] & opps["close_date"].notna()
    opp = opps[won]
    orders = pd.DataFrame(
        {
            "order_id": "MV-O-" + opp["opportunity_id"],
            "account_id": opp["account_id"],
            "rep_id": opp["owner_rep_id"],
            "channel": "direct",
            "order_date": opp["close_date"],
            "currency": CURRENCY,
            "status": "completed",
            "updated_at": opp["updated_at"],
        }
    )
    lines = pd.DataFrame(
        {
            "order_line_id": "MV-L-" + opp["opportunity_id"],
            "order_id": orders["order_id"],
            "product_id": pipeline.loc[won, "product"].map(product_ids),
            "quantity": "1",
            "unit_price": opp["amount"],
            "unit_cost": None,
            "discount": "0",
        }
    )
    return orders, lines
