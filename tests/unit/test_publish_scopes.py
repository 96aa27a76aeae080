"""The partial publish replaces exactly the rows the incremental dbt build rebuilt.

Which rows a mart's build replaces is said in dbt (its pre-hook, macros/run_scope.sql);
which rows the publish swaps in is said in orchestration/publish.py. The two are in two
languages; this test holds them together, read from the parsed dbt manifest."""

from __future__ import annotations

import json
import re

from orchestration.dbt_manifest import ensure_manifest
from orchestration.publish import _REPLACED, MARTS_SCHEMA, PARTIAL_MARTS

# pre-hook of a mart -> the rows its incremental build replaces
PRE_HOOK_SCOPES = {
    "delete_scope_orders()": "orders",
    "delete_scope_opportunities()": "opportunities",
    "delete_scope_periods()": "periods",
    "delete_open_period_rows(in_scope=true)": "periods",
    "delete_from_first_scope_period()": "periods from the first",
}
# rebuilt in part by dbt, published whole: small, and their pre-hooks' scopes (reject
# batches, open periods) are no key of the publish's
PUBLISHED_WHOLE = {"dq_rejected_rows", "bonus_rep_period"}
SCOPE_MODELS = {
    "orders": "int_scope__orders",
    "opportunities": "int_scope__opportunities",
    "periods": "int_scope__periods",
    "periods from the first": "int_scope__periods",
}


def _nodes() -> dict:
    return json.loads(ensure_manifest().read_text())["nodes"]


def _pre_hook_scopes() -> dict[str, str]:
    scopes = {}
    for node in _nodes().values():
        if node["resource_type"] != "model" or node["schema"] != MARTS_SCHEMA:
            continue
        hooks = [re.sub(r"\s|\{\{|\}\}", "", h["sql"]) for h in node["config"]["pre-hook"]]
        for hook in hooks:
            assert hook in PRE_HOOK_SCOPES or node["name"] in PUBLISHED_WHOLE, (
                f"{node['name']}: pre-hook {hook} rebuilds rows the publish does not know"
            )
            if node["name"] not in PUBLISHED_WHOLE:
                scopes[node["name"]] = PRE_HOOK_SCOPES[hook]
    return scopes


def test_the_publish_replaces_the_rows_each_mart_rebuilds():
    assert _pre_hook_scopes() == PARTIAL_MARTS


def test_the_scoped_data_tests_check_the_rows_the_publish_replaces():
    nodes = _nodes()
    for node in nodes.values():
        meta = node.get("test_metadata") or {}
        scope = meta.get("kwargs", {}).get("scope")
        if node["resource_type"] != "test" or scope is None:
            continue
        mart = nodes[node["attached_node"]]["name"]
        # the review sheet's key holds its period: its tests' "periods" are among its rebuilt rows
        assert PARTIAL_MARTS[mart] in (scope, f"{scope} from the first"), node["name"]
        assert f"model.spm.{SCOPE_MODELS[scope]}" in node["depends_on"]["nodes"], node["name"]


def test_each_replaced_predicate_reads_its_scope_model():
    assert set(_REPLACED) == set(PARTIAL_MARTS.values())
    for scope, predicate in _REPLACED.items():
        assert f"build.intermediate.{SCOPE_MODELS[scope]}" in predicate, scope
