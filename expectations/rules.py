"""The data-quality rule registry: every rule on landing rows, in one place.

Each `Rule` says which value of a row it looks at (its *subject*, a SQL expression over
the raw text columns, typed exactly as staging types them) and what that value must
satisfy (`not_null`, `in_set`, `between` or `is_true`). From this one list:

- `expectations.sql` derives the row-level reject predicates, evaluated in DuckDB on each
  new batch at load time and appended to `raw._rejected_rows` (dbt reads it);
- `expectations.suites` derives the Great Expectations suite of each entity, run as a
  Dagster asset check on the same batch (plus batch-level expectations: key uniqueness,
  freshness), and the check asserts that both agree row for row.

A rule with `reject=False` is reported by its expectation only (a warning), the row
flows on. A `resolvable` rule depends on other data (a reference, a plan KPI, an FX
rate): its open rejects are re-evaluated every run, so a late parent releases the row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from ingestion.entities import ENTITY_BY_FOLDER, Entity

NUMBER, INTEGER, BOOLEAN, DATE, TIMESTAMP = "number", "integer", "boolean", "date", "timestamp"

# Placeholders filled at evaluation (expectations.sql.EvalContext): the plan's KPI codes,
# the base currency, the latest allowed event time (now + 1 day in the company time zone),
# and the rows being judged (`<table> as t where ...`: a parent lookup reads only the keys
# they refer to, not a hash table of every parent key).
PLAN_KPIS = "{plan_kpis}"
BASE_CURRENCY = "{base_currency}"
MAX_EVENT_TIME = "{max_event_time}"
ROWS = "{rows}"
FUTURE_TOLERANCE = timedelta(days=1)

ROLES = ("sales", "marketing", "manager")
ORDER_STATUSES = ("completed", "cancelled")
SURVEY_TYPES = ("csat", "nps")
REVIEWER_RELATIONS = ("manager", "peer", "customer", "self")
ACTIVITY_TYPES = ("visit", "call", "meeting", "market_feedback", "event", "campaign")
VIOLATION_SEVERITIES = ("minor", "red_line")
PERIOD_GRAINS = ("week", "month", "quarter", "year")
# Stages are not scored (is_won / is_closed are): an unknown stage is only reported.
OPPORTUNITY_STAGES = (
    "prospecting",
    "qualification",
    "engaging",
    "proposal",
    "negotiation",
    "closed_won",
    "closed_lost",
)


# --- typed values, exactly as staging casts them (macros/casts.sql, try_cast on DuckDB) ---
def text(col: str) -> str:
    return f"nullif(trim({col}), '')"


def code(col: str) -> str:
    return f"lower(trim({col}))"


def typed(col: str, kind: str) -> str:
    if kind == NUMBER:
        # parsed as decimal(18, 6), then widened: DuckDB parses text into a 64-bit decimal
        # ~50x faster than into numeric(28, 6); values up to 10^12 parse.
        return f"cast(try_cast({col} as decimal(18, 6)) as numeric(28, 6))"
    if kind == INTEGER:
        return f"try_cast({col} as bigint)"
    if kind == BOOLEAN:
        return f"try_cast(lower(trim({col})) as boolean)"
    local_ts = f"cast(try_cast({col} as timestamp with time zone) as timestamp)"
    if kind == TIMESTAMP:
        return local_ts
    if kind == DATE:
        return f"cast({local_ts} as date)"
    raise ValueError(f"unknown type {kind!r}")


def raw_table(entity: str) -> str:
    return f"raw.{ENTITY_BY_FOLDER[entity].raw_table}"


# --- the rule ------------------------------------------------------------------------
@dataclass(frozen=True)
class Rule:
    entity: str  # landing folder, e.g. orders/order_lines
    code: str  # the rule name listed in marts.dq_rejected_rows
    column: str  # the column the rule is about; its raw value is reported
    subject: str  # SQL over the raw row (alias-free column names)
    check: str  # not_null | in_set | between | is_true
    description: str
    values: tuple[str, ...] = ()  # in_set
    min_value: float | str | None = None  # between
    max_value: float | str | None = None
    strict_min: bool = False
    strict_max: bool = False
    value: str | None = None  # SQL of the reported value (default: the raw column)
    reject: bool = True
    resolvable: bool = False
    reads: tuple[str, ...] = ()  # other entities (or plan tables) the subject reads
    kind: str = ""  # key | type | accepted | range | future | reference | custom
    # A resolvable rule whose subject only changes when its parent key does: (the row's
    # parent key, SQL of the parent keys loaded or released after `{since}`). Its open
    # rejects are judged again only when their key is among those (RowRules.resolve_open).
    changed_keys: tuple[str, str] | None = None

    @property
    def value_sql(self) -> str:
        return self.value or f"cast({self.column} as varchar)"


@dataclass(frozen=True)
class EntityRules:
    entity: Entity
    rules: tuple[Rule, ...]
    types: dict[str, str] = field(default_factory=dict)
    event_time: str | None = None  # newest value of it tells how fresh the data is
    max_age: timedelta | None = None  # freshness: a new file at least this often


# --- rule builders --------------------------------------------------------------------
def _key_rules(entity: str) -> list[Rule]:
    keys = ENTITY_BY_FOLDER[entity].key
    if len(keys) == 1:
        return [
            Rule(
                entity,
                "missing_key",
                keys[0],
                text(keys[0]),
                "not_null",
                f"key {keys[0]} is present",
                kind="key",
            )
        ]
    present = " and ".join(f"{text(k)} is not null" for k in keys)
    return [
        Rule(
            entity,
            "missing_key",
            keys[0],
            f"coalesce({present}, false)",
            "is_true",
            f"every key column ({', '.join(keys)}) is present",
            value="concat_ws('|', " + ", ".join(f"coalesce({k}, '')" for k in keys) + ")",
            kind="key",
        )
    ]


def _type_rules(entity: str, types: dict[str, str], required: tuple[str, ...]) -> list[Rule]:
    rules = []
    for col, kind in types.items():
        if col in required:
            subject, check, what = typed(col, kind), "not_null", f"{col} is present and a valid {kind}"
        else:
            subject = f"{text(col)} is null or {typed(col, kind)} is not null"
            check, what = "is_true", f"{col}, when given, is a valid {kind}"
        rules.append(Rule(entity, f"invalid_{kind}:{col}", col, subject, check, what, kind="type"))
    return rules


def accepted(entity: str, col: str, values: tuple[str, ...], required: bool = True, **kw) -> Rule:
    subject = f"coalesce({code(col)}, '')" if required else f"nullif({code(col)}, '')"
    return Rule(
        entity,
        kw.pop("code", f"accepted_values:{col}"),
        col,
        subject,
        "in_set",
        f"{col} is one of {', '.join(values)}" + ("" if required else " (or empty)"),
        values=values,
        kind="accepted",
        **kw,
    )


def between(entity: str, rule_code: str, col: str, kind: str, description: str, **bounds) -> Rule:
    return Rule(entity, rule_code, col, typed(col, kind), "between", description, kind="range", **bounds)


def not_future(entity: str, col: str, kind: str) -> Rule:
    subject = f"cast({typed(col, kind)} as timestamp)"
    return Rule(
        entity,
        f"future_date:{col}",
        col,
        subject,
        "between",
        f"{col} is not more than a day in the future",
        max_value=MAX_EVENT_TIME,
        kind="future",
    )


def _wanted(col: str) -> str:
    """The keys the judged rows refer to (trimmed, as keys are compared)."""
    return f"select distinct trim({ROW}.{col}) as k from {ROWS}"


def reference(entity: str, col: str, target: str, target_col: str, rule_code: str, required: bool) -> Rule:
    table = raw_table(target)
    # The parent keys the judged rows refer to, found without hashing every parent key: a
    # key stored as sent is matched on the raw column, which DuckDB prunes by row-group
    # min/max (a night's returns: 10M order lines in 0.03 s, against ~1 s trimming them
    # all); only keys not found so (unknown, or sent with spaces) are trimmed for, and that
    # scan is skipped when there are none.
    known = (
        f"(with wanted as ({_wanted(col)}), "
        f"exact as (select p.{target_col} as k from {table} as p "
        f"where p.{target_col} in (select k from wanted)), "
        "rest as (select k from wanted where k not in (select k from exact)) "
        "select k from exact union all "
        f"select trim(p.{target_col}) from {table} as p where trim(p.{target_col}) in (select k from rest))"
    )
    empty = "false" if required else "null"
    subject = f"case when {text(col)} is null then {empty} else trim({col}) in {known} end"
    return Rule(
        entity,
        rule_code,
        col,
        subject,
        "is_true",
        f"{col} is a known {target} {target_col}" + ("" if required else " (or empty)"),
        resolvable=True,
        reads=(target,),
        kind="reference",
        changed_keys=(
            f"trim({col})",
            f"select trim({target_col}) from {raw_table(target)} where _loaded_at > {{since}}",
        ),
    )


def accepted_parent(entity: str, col: str, target: str, target_col: str, rule_code: str) -> Rule:
    """The referenced row exists but every version of it was rejected: keep the child out
    too (a line of a rejected order must not be paid)."""
    table = raw_table(target)
    # the parent's rows with a reject still in force (any rule, duplicates included)
    open_rejects = (
        f"select distinct r.batch_id, r.row_number from raw._rejected_rows as r where r.entity = '{target}' "
        "and not exists (select 1 from raw._reject_resolutions as s where s.entity = r.entity "
        "and s.batch_id = r.batch_id and s.row_number = r.row_number and s.rule = r.rule)"
    )
    rejected = "(p._batch_id, p._row_number) in (select batch_id, row_number from open_rejects)"
    # keys whose every version is rejected: the keys with a rejected version that the judged
    # rows refer to (usually none), then all versions of those only (a key that is unknown,
    # or has an accepted version, passes); each child row probes that small set
    rejected_only = (
        f"(with open_rejects as ({open_rejects}), "
        f"candidates as (select distinct trim(p.{target_col}) as k from {table} as p "
        f"where p.{target_col} is not null and {rejected} and trim(p.{target_col}) in ({_wanted(col)})), "
        f"versions as (select trim(p.{target_col}) as k, {rejected} as rejected from {table} as p "
        f"where p.{target_col} is not null and trim(p.{target_col}) in (select k from candidates)) "
        "select k from versions group by k having bool_and(rejected))"
    )
    subject = f"not (trim({col}) in {rejected_only})"
    return Rule(
        entity,
        rule_code,
        col,
        subject,
        "is_true",
        f"the {target} row {col} refers to was itself accepted",
        resolvable=True,
        reads=(target,),
        kind="reference",
        # a parent version loaded since, or a parent reject released since
        changed_keys=(
            f"trim({col})",
            f"select trim(p.{target_col}) from {table} as p where p._loaded_at > {{since}} "
            "or (p._batch_id, p._row_number) in (select batch_id, row_number from "
            f"raw._reject_resolutions where entity = '{target}' and resolved_at > {{since}})",
        ),
    )


def _entity(
    folder: str,
    types: dict[str, str] | None = None,
    required: tuple[str, ...] = (),
    rules: tuple[Rule, ...] = (),
    event_time: str | None = None,
    max_age: timedelta | None = None,
) -> EntityRules:
    types = types or {}
    all_rules = (*_key_rules(folder), *_type_rules(folder, types, required), *rules)
    return EntityRules(ENTITY_BY_FOLDER[folder], all_rules, types, event_time, max_age)


DAILY = timedelta(hours=36)
WEEKLY = timedelta(days=8)
QUARTERLY = timedelta(days=100)


def _rep(entity: str, col: str = "rep_id", required: bool = True) -> Rule:
    return reference(entity, col, "crm/reps", "rep_id", "unknown_rep", required)


def _account(entity: str, col: str = "account_id", required: bool = False) -> Rule:
    return reference(entity, col, "crm/accounts", "account_id", "unknown_account", required)


_SURVEY_SCORE = (
    f"case {code('survey_type')} "
    f"when 'csat' then coalesce({typed('score', NUMBER)} between 1 and 5, false) "
    f"when 'nps' then coalesce({typed('score', NUMBER)} between 0 and 10, false) end"
)
# The row's own columns are qualified with ROW (the alias of the evaluated table) where a
# subquery would otherwise read them from its own table.
ROW = "t"
_FX_KNOWN = (
    f"upper(trim(coalesce({ROW}.currency, ''))) = '{BASE_CURRENCY}' or exists ("
    "select 1 from raw.orders__fx_rates as fx "
    f"where upper(trim(fx.currency)) = upper(trim({ROW}.currency)) "
    f"and {typed('fx.rate_date', DATE)} = {typed(ROW + '.order_date', DATE)})"
)

REGISTRY: dict[str, EntityRules] = {
    r.entity.folder: r
    for r in (
        _entity(
            "crm/reps",
            {"hire_date": DATE, "is_active": BOOLEAN, "updated_at": TIMESTAMP},
            rules=(accepted("crm/reps", "role", ROLES),),
            max_age=DAILY,
        ),
        _entity("crm/teams", max_age=QUARTERLY),
        _entity("crm/accounts", {"created_at": TIMESTAMP, "updated_at": TIMESTAMP}, max_age=DAILY),
        _entity("crm/markets", {"is_new_market": BOOLEAN}, max_age=QUARTERLY),
        _entity("crm/contacts", {"created_at": TIMESTAMP}, max_age=DAILY),
        _entity(
            "crm/leads",
            {"created_at": TIMESTAMP},
            required=("created_at",),
            rules=(
                _rep("crm/leads", "owner_rep_id"),
                not_future("crm/leads", "created_at", TIMESTAMP),
            ),
            event_time="created_at",
            max_age=DAILY,
        ),
        _entity(
            "crm/opportunities",
            {
                "amount": NUMBER,
                "created_at": TIMESTAMP,
                "close_date": DATE,
                "is_closed": BOOLEAN,
                "is_won": BOOLEAN,
                "updated_at": TIMESTAMP,
            },
            rules=(
                _rep("crm/opportunities", "owner_rep_id"),
                _account("crm/opportunities"),
                between(
                    "crm/opportunities",
                    "negative_amount",
                    "amount",
                    NUMBER,
                    "amount is not negative",
                    min_value=0,
                ),
                accepted("crm/opportunities", "stage", OPPORTUNITY_STAGES, required=False, reject=False),
                not_future("crm/opportunities", "created_at", TIMESTAMP),
            ),
            event_time="updated_at",
            max_age=DAILY,
        ),
        _entity(
            "crm/activities",
            {"activity_at": TIMESTAMP, "participants": INTEGER, "impressions": INTEGER},
            required=("activity_at",),
            rules=(
                _rep("crm/activities"),
                _account("crm/activities"),
                accepted("crm/activities", "activity_type", ACTIVITY_TYPES),
                between(
                    "crm/activities",
                    "negative_count:participants",
                    "participants",
                    INTEGER,
                    "participants is not negative",
                    min_value=0,
                ),
                between(
                    "crm/activities",
                    "negative_count:impressions",
                    "impressions",
                    INTEGER,
                    "impressions is not negative",
                    min_value=0,
                ),
                not_future("crm/activities", "activity_at", TIMESTAMP),
            ),
            event_time="activity_at",
            max_age=DAILY,
        ),
        _entity(
            "orders/orders",
            {"order_date": DATE, "updated_at": TIMESTAMP},
            required=("order_date",),
            rules=(
                _rep("orders/orders"),
                _account("orders/orders", required=True),
                accepted("orders/orders", "status", ORDER_STATUSES),
                not_future("orders/orders", "order_date", DATE),
                Rule(
                    "orders/orders",
                    "missing_fx_rate",
                    "currency",
                    _FX_KNOWN,
                    "is_true",
                    "an order not in the base currency has an FX rate on its (local) order date",
                    value="coalesce(currency, '') || ' ' || coalesce(order_date, '')",
                    resolvable=True,
                    reads=("orders/fx_rates",),
                    kind="reference",
                ),
            ),
            event_time="order_date",
            max_age=DAILY,
        ),
        _entity(
            "orders/order_lines",
            {"quantity": NUMBER, "unit_price": NUMBER, "unit_cost": NUMBER, "discount": NUMBER},
            required=("quantity", "unit_price"),
            rules=(
                reference(
                    "orders/order_lines", "order_id", "orders/orders", "order_id", "unknown_order", True
                ),
                accepted_parent(
                    "orders/order_lines", "order_id", "orders/orders", "order_id", "order_rejected"
                ),
                reference(
                    "orders/order_lines",
                    "product_id",
                    "orders/products",
                    "product_id",
                    "unknown_product",
                    True,
                ),
                between(
                    "orders/order_lines",
                    "quantity_not_positive",
                    "quantity",
                    NUMBER,
                    "quantity is above zero",
                    min_value=0,
                    strict_min=True,
                ),
                between(
                    "orders/order_lines",
                    "negative_price",
                    "unit_price",
                    NUMBER,
                    "unit price is not negative",
                    min_value=0,
                ),
                between(
                    "orders/order_lines",
                    "negative_cost",
                    "unit_cost",
                    NUMBER,
                    "unit cost is not negative",
                    min_value=0,
                ),
                between(
                    "orders/order_lines",
                    "discount_out_of_range",
                    "discount",
                    NUMBER,
                    "discount is a fraction from 0 to 1",
                    min_value=0,
                    max_value=1,
                ),
            ),
            max_age=DAILY,
        ),
        _entity(
            "orders/returns",
            {"return_date": DATE, "quantity": NUMBER, "amount": NUMBER},
            required=("return_date", "quantity", "amount"),
            rules=(
                reference(
                    "orders/returns",
                    "order_line_id",
                    "orders/order_lines",
                    "order_line_id",
                    "unknown_order_line",
                    True,
                ),
                accepted_parent(
                    "orders/returns",
                    "order_line_id",
                    "orders/order_lines",
                    "order_line_id",
                    "order_line_rejected",
                ),
                between(
                    "orders/returns",
                    "quantity_not_positive",
                    "quantity",
                    NUMBER,
                    "quantity is above zero",
                    min_value=0,
                    strict_min=True,
                ),
                between(
                    "orders/returns",
                    "negative_amount",
                    "amount",
                    NUMBER,
                    "amount is not negative",
                    min_value=0,
                ),
                not_future("orders/returns", "return_date", DATE),
            ),
            event_time="return_date",
            max_age=WEEKLY,
        ),
        _entity(
            "orders/products",
            {"list_price": NUMBER, "standard_cost": NUMBER},
            rules=(
                between(
                    "orders/products",
                    "negative_price",
                    "list_price",
                    NUMBER,
                    "list price is not negative",
                    min_value=0,
                ),
                between(
                    "orders/products",
                    "negative_cost",
                    "standard_cost",
                    NUMBER,
                    "standard cost is not negative",
                    min_value=0,
                ),
            ),
            max_age=QUARTERLY,
        ),
        _entity(
            "orders/fx_rates",
            {"rate_date": DATE, "rate_to_base": NUMBER},
            required=("rate_date", "rate_to_base"),
            rules=(
                between(
                    "orders/fx_rates",
                    "rate_not_positive",
                    "rate_to_base",
                    NUMBER,
                    "rate is above zero",
                    min_value=0,
                    strict_min=True,
                ),
            ),
            event_time="rate_date",
            max_age=DAILY,
        ),
        _entity(
            "surveys/responses",
            {"score": NUMBER, "submitted_at": TIMESTAMP},
            required=("score", "submitted_at"),
            rules=(
                _rep("surveys/responses"),
                _account("surveys/responses"),
                accepted("surveys/responses", "survey_type", SURVEY_TYPES),
                Rule(
                    "surveys/responses",
                    "score_out_of_range",
                    "score",
                    _SURVEY_SCORE,
                    "is_true",
                    "a CSAT score is 1-5, an NPS score 0-10",
                    kind="range",
                ),
                not_future("surveys/responses", "submitted_at", TIMESTAMP),
            ),
            event_time="submitted_at",
            max_age=WEEKLY,
        ),
        _entity(
            "surveys/complaints",
            {"opened_at": TIMESTAMP, "resolved_at": TIMESTAMP},
            required=("opened_at",),
            rules=(
                _rep("surveys/complaints"),
                _account("surveys/complaints"),
                not_future("surveys/complaints", "opened_at", TIMESTAMP),
            ),
            event_time="opened_at",
            max_age=WEEKLY,
        ),
        _entity(
            "surveys/reviews_360",
            {"period_start": DATE, "score": NUMBER},
            required=("period_start", "score"),
            rules=(
                _rep("surveys/reviews_360", "reviewee_rep_id"),
                accepted("surveys/reviews_360", "reviewer_relation", REVIEWER_RELATIONS),
                between(
                    "surveys/reviews_360",
                    "score_out_of_range",
                    "score",
                    NUMBER,
                    "a 360 score is 1-5",
                    min_value=1,
                    max_value=5,
                ),
            ),
            max_age=QUARTERLY,
        ),
        _entity(
            "hr/violations",
            {"occurred_at": TIMESTAMP, "penalty_amount": NUMBER},
            required=("occurred_at",),
            rules=(
                _rep("hr/violations"),
                accepted("hr/violations", "severity", VIOLATION_SEVERITIES),
                between(
                    "hr/violations",
                    "negative_penalty",
                    "penalty_amount",
                    NUMBER,
                    "penalty is not negative",
                    min_value=0,
                ),
                not_future("hr/violations", "occurred_at", TIMESTAMP),
            ),
            max_age=None,  # violations are rare: no file for months is normal
        ),
        _entity(
            "hr/training",
            {"completed_at": TIMESTAMP, "hours": NUMBER},
            required=("completed_at", "hours"),
            rules=(
                _rep("hr/training"),
                between(
                    "hr/training",
                    "hours_not_positive",
                    "hours",
                    NUMBER,
                    "hours are above zero",
                    min_value=0,
                    strict_min=True,
                ),
                not_future("hr/training", "completed_at", TIMESTAMP),
            ),
            max_age=None,
        ),
        _entity(
            "plans/targets",
            {"period_start": DATE, "target_value": NUMBER},
            required=("period_start", "target_value"),
            rules=(
                _rep("plans/targets"),
                accepted("plans/targets", "kpi_code", (PLAN_KPIS,), code="unknown_kpi_code", resolvable=True),
                accepted("plans/targets", "period_grain", PERIOD_GRAINS),
            ),
            max_age=QUARTERLY,
        ),
        _entity(
            "plans/base_bonus",
            {"period_start": DATE, "base_bonus": NUMBER},
            required=("period_start", "base_bonus"),
            rules=(
                _rep("plans/base_bonus"),
                accepted("plans/base_bonus", "period_grain", PERIOD_GRAINS),
                between(
                    "plans/base_bonus",
                    "negative_base_bonus",
                    "base_bonus",
                    NUMBER,
                    "base bonus is not negative",
                    min_value=0,
                ),
            ),
            max_age=QUARTERLY,
        ),
    )
}

# An exact copy of a row already loaded (same entity, every contract column equal: the
# loader's _row_hash) is dropped once and listed under this rule.
EXACT_DUPLICATE = "exact_duplicate"


def rules_for(entity: str, reject_only: bool = False) -> tuple[Rule, ...]:
    rules = REGISTRY[entity].rules
    return tuple(r for r in rules if r.reject) if reject_only else rules


def parents(entity: str) -> tuple[str, ...]:
    """Entities whose rows this entity's rules read: they must be loaded first."""
    return tuple(dict.fromkeys(t for r in REGISTRY[entity].rules for t in r.reads if t != entity))


def all_rules() -> list[Rule]:
    return [r for er in REGISTRY.values() for r in er.rules]
