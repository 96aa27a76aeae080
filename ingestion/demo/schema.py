"""Landing-zone entities written by the demo generator: folder, columns and value kinds.

The column lists follow the landing contract (``docs/contract.md``) exactly, in order.
Value kinds drive both the CSV text format and the Parquet type:

=========  ==============================  =====================
kind       CSV text                        Parquet / Arrow type
=========  ==============================  =====================
``str``    as is, RFC-4180 quoted if needed  string
``int``    ``123`` / ``-4``                  int64
``dec1``   ``3.5`` (1 decimal)               float64
``dec2``   ``1234.50`` (2 decimals, money)   float64
``dec4``   ``7.1234`` (4 decimals, FX)       float64
``bool``   ``true`` / ``false``              bool
``date``   ``YYYY-MM-DD``                    date32
``ts``     ``YYYY-MM-DDTHH:MM:SS`` (local)   timestamp[s] (no tz)
=========  ==============================  =====================

An empty CSV field (or an Arrow null) means null.
"""

from __future__ import annotations

ENTITIES: dict[str, list[tuple[str, str]]] = {
    "crm/reps": [
        ("rep_id", "str"),
        ("rep_name", "str"),
        ("email", "str"),
        ("role", "str"),
        ("team_id", "str"),
        ("manager_rep_id", "str"),
        ("region", "str"),
        ("hire_date", "date"),
        ("is_active", "bool"),
        ("updated_at", "ts"),
    ],
    "crm/teams": [
        ("team_id", "str"),
        ("team_name", "str"),
        ("region", "str"),
        ("parent_team_id", "str"),
    ],
    "crm/accounts": [
        ("account_id", "str"),
        ("account_name", "str"),
        ("industry", "str"),
        ("region", "str"),
        ("market_id", "str"),
        ("owner_rep_id", "str"),
        ("created_at", "ts"),
        ("updated_at", "ts"),
    ],
    "crm/markets": [
        ("market_id", "str"),
        ("market_name", "str"),
        ("is_new_market", "bool"),
    ],
    "crm/contacts": [
        ("contact_id", "str"),
        ("account_id", "str"),
        ("contact_name", "str"),
        ("email", "str"),
        ("phone", "str"),
        ("created_at", "ts"),
    ],
    "crm/leads": [
        ("lead_id", "str"),
        ("owner_rep_id", "str"),
        ("source", "str"),
        ("created_at", "ts"),
        ("status", "str"),
        ("converted_account_id", "str"),
    ],
    "crm/opportunities": [
        ("opportunity_id", "str"),
        ("account_id", "str"),
        ("owner_rep_id", "str"),
        ("stage", "str"),
        ("amount", "dec2"),
        ("currency", "str"),
        ("created_at", "ts"),
        ("close_date", "date"),
        ("is_closed", "bool"),
        ("is_won", "bool"),
        ("updated_at", "ts"),
    ],
    "crm/activities": [
        ("activity_id", "str"),
        ("rep_id", "str"),
        ("account_id", "str"),
        ("activity_type", "str"),
        ("activity_at", "ts"),
        ("participants", "int"),
        ("impressions", "int"),
    ],
    "orders/orders": [
        ("order_id", "str"),
        ("account_id", "str"),
        ("rep_id", "str"),
        ("channel", "str"),
        ("order_date", "date"),
        ("currency", "str"),
        ("status", "str"),
        ("updated_at", "ts"),
    ],
    "orders/order_lines": [
        ("order_line_id", "str"),
        ("order_id", "str"),
        ("product_id", "str"),
        ("quantity", "int"),
        ("unit_price", "dec2"),
        ("unit_cost", "dec2"),
        ("discount", "dec2"),
    ],
    "orders/returns": [
        ("return_id", "str"),
        ("order_line_id", "str"),
        ("return_date", "date"),
        ("quantity", "int"),
        ("amount", "dec2"),
    ],
    "orders/products": [
        ("product_id", "str"),
        ("product_name", "str"),
        ("category", "str"),
        ("list_price", "dec2"),
        ("standard_cost", "dec2"),
    ],
    "orders/fx_rates": [
        ("rate_date", "date"),
        ("currency", "str"),
        ("rate_to_base", "dec4"),
    ],
    "surveys/responses": [
        ("response_id", "str"),
        ("account_id", "str"),
        ("rep_id", "str"),
        ("survey_type", "str"),
        ("score", "int"),
        ("submitted_at", "ts"),
    ],
    "surveys/complaints": [
        ("complaint_id", "str"),
        ("account_id", "str"),
        ("rep_id", "str"),
        ("opened_at", "ts"),
        ("severity", "str"),
        ("resolved_at", "ts"),
    ],
    "surveys/reviews_360": [
        ("review_id", "str"),
        ("reviewee_rep_id", "str"),
        ("reviewer_relation", "str"),
        ("period_start", "date"),
        ("score", "dec1"),
    ],
    "hr/violations": [
        ("violation_id", "str"),
        ("rep_id", "str"),
        ("occurred_at", "ts"),
        ("severity", "str"),
        ("penalty_amount", "dec2"),
        ("description", "str"),
    ],
    "hr/training": [
        ("training_id", "str"),
        ("rep_id", "str"),
        ("completed_at", "ts"),
        ("hours", "dec1"),
    ],
    "plans/targets": [
        ("rep_id", "str"),
        ("kpi_code", "str"),
        ("period_grain", "str"),
        ("period_start", "date"),
        ("target_value", "dec2"),
    ],
    "plans/base_bonus": [
        ("rep_id", "str"),
        ("period_grain", "str"),
        ("period_start", "date"),
        ("base_bonus", "dec2"),
        ("currency", "str"),
    ],
}

# Key column(s) of each entity (contract); composite keys are joined with "|" in the manifest.
KEYS: dict[str, tuple[str, ...]] = {
    "crm/reps": ("rep_id",),
    "crm/teams": ("team_id",),
    "crm/accounts": ("account_id",),
    "crm/markets": ("market_id",),
    "crm/contacts": ("contact_id",),
    "crm/leads": ("lead_id",),
    "crm/opportunities": ("opportunity_id",),
    "crm/activities": ("activity_id",),
    "orders/orders": ("order_id",),
    "orders/order_lines": ("order_line_id",),
    "orders/returns": ("return_id",),
    "orders/products": ("product_id",),
    "orders/fx_rates": ("rate_date", "currency"),
    "surveys/responses": ("response_id",),
    "surveys/complaints": ("complaint_id",),
    "surveys/reviews_360": ("review_id",),
    "hr/violations": ("violation_id",),
    "hr/training": ("training_id",),
    "plans/targets": ("rep_id", "kpi_code", "period_grain", "period_start"),
    "plans/base_bonus": ("rep_id", "period_grain", "period_start"),
}

DEFECTS_COLUMNS = ["entity", "source_file", "row_number", "key", "defect", "detail"]
DEFECT_KINDS = (
    "duplicate_row",
    "unknown_rep",
    "unknown_product",
    "score_out_of_range",
    "negative_quantity",
    "late_file",
)


def columns(entity: str) -> list[str]:
    """Column names of an entity, in contract order."""
    return [name for name, _ in ENTITIES[entity]]
