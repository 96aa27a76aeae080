"""Great Expectations suites derived from the rule registry, run on a batch as pandas.

One suite per landing entity: every registry rule becomes one expectation on its subject
column (the same SQL subject the reject predicates use), plus batch-level expectations:
the contract columns exist, the key is unique within the batch, and the newest event is
recent (freshness). GX is imported lazily (it takes seconds) and its analytics are off.
A validation whose metrics raised is reported as not computed, never as a pass or a
plain failure.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import duckdb

from expectations.rules import MAX_EVENT_TIME, REGISTRY, ROW, Rule, rules_for
from expectations.sql import EvalContext, lit, not_duplicate, set_timezone, subjects_sql

ROWS, KEYS, COLUMNS, FRESHNESS = "rows", "keys", "columns", "freshness"
_GX: dict[str, Any] = {}


def _gx():
    """The GX module and one ephemeral context per process (import costs ~6 s)."""
    if not _GX:
        os.environ["GX_ANALYTICS_ENABLED"] = "false"
        import great_expectations as gx
        import great_expectations.expectations as gxe
        from great_expectations.data_context.types.base import ProgressBarsConfig

        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = ProgressBarsConfig(globally=False)
        _GX.update(gx=gx, gxe=gxe, context=context, source=context.data_sources.add_pandas("spm_raw"))
    return _GX


@dataclass
class ExpectationOutcome:
    name: str  # rule code, or the batch-level expectation's name
    group: str  # rows | keys | columns | freshness
    success: bool
    computed: bool
    reject: bool = False
    unexpected: set[tuple[str, int]] = field(default_factory=set)  # (batch_id, row_number)
    unexpected_count: int = 0
    observed: Any = None
    error: str = ""


@dataclass
class EntityValidation:
    entity: str
    rows: int
    outcomes: list[ExpectationOutcome]

    @property
    def computed(self) -> bool:
        return all(o.computed for o in self.outcomes)

    def failed(self, *groups: str) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.success and (not groups or o.group in groups)]

    def unexpected_by_rule(self) -> dict[str, set[tuple[str, int]]]:
        out: dict[str, set[tuple[str, int]]] = {}
        for o in self.outcomes:
            if o.group == ROWS and o.reject:
                out.setdefault(o.name, set()).update(o.unexpected)
        return out


def frame_sql(entity: str, batch_ids: list[str], ctx: EvalContext) -> str:
    er = REGISTRY[entity]
    where = f"{ROW}._batch_id in ({', '.join(lit(b) for b in batch_ids)}) and {not_duplicate(entity)}"
    # the contract columns as sent, beside the subjects: the column expectations read them
    raw_cols = tuple(f"{ROW}.{c} as {c}" for c in er.entity.all_columns)
    return subjects_sql(entity, rules_for(entity), where, ctx, extra=raw_cols)


def build_suite(entity: str, ctx: EvalContext, frame_columns: list[str]):
    g = _gx()
    gx, gxe = g["gx"], g["gxe"]
    er = REGISTRY[entity]
    suite = gx.ExpectationSuite(name=f"raw.{entity}")
    for col in er.entity.all_columns:
        suite.add_expectation(
            gxe.ExpectColumnToExist(column=col, meta={"name": f"column:{col}", "group": COLUMNS})
        )
    for i, rule in enumerate(rules_for(entity)):
        suite.add_expectation(_expectation(gxe, rule, f"s_{i}", ctx))
    keys = [f"k_{i}" for i in range(len(er.entity.key))]
    meta = {"name": "unique_key", "group": KEYS}
    if len(keys) == 1:
        suite.add_expectation(gxe.ExpectColumnValuesToBeUnique(column=keys[0], meta=meta))
    else:
        suite.add_expectation(gxe.ExpectCompoundColumnsToBeUnique(column_list=keys, meta=meta))
    if er.event_time and er.max_age and "event_time" in frame_columns:
        suite.add_expectation(
            gxe.ExpectColumnMaxToBeBetween(
                column="event_time",
                min_value=_ts(ctx.now_local - er.max_age),
                meta={"name": f"newest {er.event_time} within {_age(er.max_age)}", "group": FRESHNESS},
            )
        )
    return suite


def _age(age) -> str:
    hours = int(age.total_seconds() // 3600)
    return f"{hours // 24}d" if hours % 24 == 0 else f"{hours}h"


def _ts(value):
    import pandas as pd

    return pd.Timestamp(value)


def _expectation(gxe, rule: Rule, column: str, ctx: EvalContext):
    meta = {"name": rule.code, "group": ROWS, "reject": rule.reject}
    if rule.check == "not_null":
        return gxe.ExpectColumnValuesToNotBeNull(column=column, meta=meta)
    if rule.check == "in_set":
        return gxe.ExpectColumnValuesToBeInSet(column=column, value_set=list(ctx.values(rule)), meta=meta)
    if rule.check == "is_true":
        return gxe.ExpectColumnValuesToBeInSet(column=column, value_set=[True], meta=meta)
    if rule.check == "between":
        lo, hi = ctx.bound(rule.min_value), ctx.bound(rule.max_value)
        if rule.max_value == MAX_EVENT_TIME:
            hi = _ts(hi)
        return gxe.ExpectColumnValuesToBeBetween(
            column=column,
            min_value=lo,
            max_value=hi,
            strict_min=rule.strict_min,
            strict_max=rule.strict_max,
            meta=meta,
        )
    raise ValueError(f"{rule.entity} {rule.code}: unknown check {rule.check!r}")


def _exception(info: dict | None) -> str:
    """The first error message in a result's exception_info ('' when it computed)."""
    if not info:
        return ""
    if "raised_exception" in info:
        return (info.get("exception_message") or "raised") if info["raised_exception"] else ""
    for nested in info.values():
        if isinstance(nested, dict) and (msg := _exception(nested)):
            return msg
    return ""


def validate_batches(
    con: duckdb.DuckDBPyConnection, entity: str, batch_ids: list[str], ctx: EvalContext
) -> EntityValidation:
    """Validate the given batches of one entity (duplicates excluded: they are dropped)."""
    set_timezone(con, ctx.timezone)
    frame = con.execute(frame_sql(entity, batch_ids, ctx)).to_arrow_table().to_pandas()
    g = _gx()
    source = g["source"]
    name = entity.replace("/", "__")
    try:
        asset = source.get_asset(name)
    except LookupError:
        asset = source.add_dataframe_asset(name)
    try:
        definition = asset.get_batch_definition("new_batches")
    except (KeyError, LookupError):
        definition = asset.add_batch_definition_whole_dataframe("new_batches")
    suite = build_suite(entity, ctx, list(frame.columns))
    result = definition.get_batch(batch_parameters={"dataframe": frame}).validate(
        suite,
        result_format={
            "result_format": "COMPLETE",
            "unexpected_index_column_names": ["batch_id", "row_number"],
            "partial_unexpected_count": 0,
        },
    )
    outcomes = []
    for r in result.results:
        meta = r.expectation_config.meta or {}
        error = _exception(r.exception_info)
        res = r.result or {}
        unexpected = {
            (str(item["batch_id"]), int(item["row_number"]))
            for item in res.get("unexpected_index_list") or []
            if isinstance(item, dict)
        }
        outcomes.append(
            ExpectationOutcome(
                name=meta.get("name", r.expectation_config.type),
                group=meta.get("group", ROWS),
                success=bool(r.success),
                computed=not error,
                reject=bool(meta.get("reject", False)),
                unexpected=unexpected,
                unexpected_count=int(res.get("unexpected_count") or 0),
                observed=res.get("observed_value"),
                error=error,
            )
        )
    return EntityValidation(entity, len(frame), outcomes)
