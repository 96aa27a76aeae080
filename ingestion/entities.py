"""The landing contract (contract.md) as data: one entry per entity folder.

Everything that needs the list of entities or their columns (loader, checks, tests)
reads it from here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Entity:
    source: str
    name: str
    key: tuple[str, ...]
    columns: tuple[str, ...]

    @property
    def folder(self) -> str:
        return f"{self.source}/{self.name}"

    @property
    def raw_table(self) -> str:
        return f"{self.source}__{self.name}"

    @property
    def all_columns(self) -> tuple[str, ...]:
        return self.key + self.columns


def _e(source: str, name: str, key: str, columns: str) -> Entity:
    return Entity(source, name, tuple(key.split()), tuple(columns.replace(",", " ").split()))


ENTITIES: tuple[Entity, ...] = (
    _e(
        "crm",
        "reps",
        "rep_id",
        "rep_name, email, role, team_id, manager_rep_id, region, hire_date, is_active, updated_at",
    ),
    _e("crm", "teams", "team_id", "team_name, region, parent_team_id"),
    _e(
        "crm",
        "accounts",
        "account_id",
        "account_name, industry, region, market_id, owner_rep_id, created_at, updated_at",
    ),
    _e("crm", "markets", "market_id", "market_name, is_new_market"),
    _e("crm", "contacts", "contact_id", "account_id, contact_name, email, phone, created_at"),
    _e("crm", "leads", "lead_id", "owner_rep_id, source, created_at, status, converted_account_id"),
    _e(
        "crm",
        "opportunities",
        "opportunity_id",
        "account_id, owner_rep_id, stage, amount, currency, created_at, close_date, is_closed, "
        "is_won, updated_at",
    ),
    _e(
        "crm",
        "activities",
        "activity_id",
        "rep_id, account_id, activity_type, activity_at, participants, impressions",
    ),
    _e(
        "orders",
        "orders",
        "order_id",
        "account_id, rep_id, channel, order_date, currency, status, updated_at",
    ),
    _e(
        "orders",
        "order_lines",
        "order_line_id",
        "order_id, product_id, quantity, unit_price, unit_cost, discount",
    ),
    _e("orders", "returns", "return_id", "order_line_id, return_date, quantity, amount"),
    _e("orders", "products", "product_id", "product_name, category, list_price, standard_cost"),
    _e("orders", "fx_rates", "rate_date currency", "rate_to_base"),
    _e(
        "surveys",
        "responses",
        "response_id",
        "account_id, rep_id, survey_type, score, submitted_at",
    ),
    _e(
        "surveys",
        "complaints",
        "complaint_id",
        "account_id, rep_id, opened_at, severity, resolved_at",
    ),
    _e(
        "surveys",
        "reviews_360",
        "review_id",
        "reviewee_rep_id, reviewer_relation, period_start, score",
    ),
    _e(
        "hr",
        "violations",
        "violation_id",
        "rep_id, occurred_at, severity, penalty_amount, description",
    ),
    _e("hr", "training", "training_id", "rep_id, completed_at, hours"),
    _e("plans", "targets", "rep_id kpi_code period_grain period_start", "target_value"),
    _e("plans", "base_bonus", "rep_id period_grain period_start", "base_bonus, currency"),
)

ENTITY_BY_FOLDER: dict[str, Entity] = {e.folder: e for e in ENTITIES}
SOURCES: tuple[str, ...] = tuple(dict.fromkeys(e.source for e in ENTITIES))

# Load metadata carried by every raw row.
# _row_hash fingerprints the contract columns, so exact duplicates are found in SQL.
META_COLUMNS: tuple[str, ...] = (
    "_batch_id",
    "_source_file",
    "_row_number",
    "_loaded_at",
    "_row_hash",
)
