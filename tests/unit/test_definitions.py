"""Snapshot of the asset graph: a refactor that drops an asset, a group or a check shows here."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

import dagster as dg

from orchestration.definitions import defs

MARTS = {
    "dim_reps", "fct_order_lines", "fct_opportunities", "kpi_rep_period", "kpi_rep_channel_period",
    "scorecard_rep_period",
    "scorecard_team_period", "scorecard_region_period", "scorecard_company_period",
    "bonus_rep_period", "target_recommendations", "review_360_rep_period", "review_sheet_rep_period",
    "dq_rejected_rows",
}  # fmt: skip


def _graph():
    return defs.resolve_asset_graph()


def test_every_published_mart_is_an_asset():
    keys = {k.to_user_string() for k in _graph().get_all_asset_keys()}
    assert {f"marts/{m}" for m in MARTS} <= keys
    assert {"published/warehouse", "published/scorecard_report"} <= keys
    assert {f"raw/{s}" for s in ("crm/reps", "orders/order_lines", "plans/targets")} <= keys


def test_groups_by_source_and_layer():
    graph = _graph()
    groups = Counter(graph.get(k).group_name for k in graph.get_all_asset_keys())
    assert groups["crm"] == 8 and groups["orders"] == 5 and groups["surveys"] == 3
    assert groups["hr"] == 2 and groups["plans"] == 2 + 5  # landing plans + plan rules
    assert groups["marts"] == len(MARTS)
    assert groups["staging"] >= 20 and groups["intermediate"] >= 10
    assert groups["publish"] == 2


def test_checks_sit_beside_their_assets():
    graph = _graph()
    checks = {(c.asset_key.to_user_string(), c.name) for c in graph.asset_check_keys}
    assert ("raw/orders/order_lines", "rows_reconcile") in checks
    assert ("raw/orders/order_lines", "files_readable") in checks
    # dbt tests become checks on the models they test
    assert any(k == "marts/bonus_rep_period" and "unique_combination" in n for k, n in checks)


def test_nightly_job_and_schedule():
    job = defs.resolve_job_def("nightly")
    assert job is not None
    schedule = defs.resolve_schedule_def("nightly_0200")
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.execution_timezone == "Asia/Shanghai"
    assert isinstance(
        defs.resolve_assets_def(dg.AssetKey(["marts", "bonus_rep_period"])), dg.AssetsDefinition
    )


def test_the_dbt_step_environment_ends_with_the_step(monkeypatch):
    """dbt's settings reach dbt through the environment; after the step a later run in the
    same process must read its own warehouse, not this one's."""
    import os

    from orchestration.assets.dbt import dbt_environment

    monkeypatch.delenv("SPM_BUILD_DB", raising=False)
    monkeypatch.delenv("SPM_SPARK_DIR", raising=False)
    monkeypatch.setenv("SPM_TIMEZONE", "Europe/Berlin")
    with dbt_environment({"SPM_BUILD_DB": "/a/spm.build.duckdb", "SPM_TIMEZONE": "Asia/Shanghai"}):
        assert os.environ["SPM_BUILD_DB"] == "/a/spm.build.duckdb"
        assert os.environ["SPM_TIMEZONE"] == "Asia/Shanghai"
        os.environ["SPM_SPARK_DIR"] = "/a/spark"  # what the spark target's preparation sets
    assert "SPM_BUILD_DB" not in os.environ and "SPM_SPARK_DIR" not in os.environ
    assert os.environ["SPM_TIMEZONE"] == "Europe/Berlin"


def test_the_dagster_process_does_not_import_dbt_core():
    """dbt runs in its own process; loading the definitions leaves dbt-core unimported (its
    import is ~1.5-2.5 s of every run's start) and importable for a parse afterwards."""
    code = (
        "import sys; import orchestration.definitions; "
        "loaded = sorted(m for m in sys.modules if m == 'dbt' or m.startswith('dbt.')); "
        "from dagster_dbt.compat import DBT_PYTHON_VERSION; "
        "import dbt.version; "
        "print(loaded, DBT_PYTHON_VERSION, dbt.version.__version__ != '')"
    )
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split() == ["[]", "None", "True"]


def test_the_publish_depends_on_the_marts_latest_partition():
    """Not on all of them: Dagster would list every daily partition since 2015 for each
    mart at every publish (~60 ms each) to record the inputs' data versions."""
    from orchestration.assets.publish import MART_KEYS, PUBLISHED_KEY

    graph = defs.resolve_asset_graph()
    mappings = {type(graph.get_partition_mapping(PUBLISHED_KEY, key)) for key in MART_KEYS}
    assert mappings == {dg.LastPartitionMapping}
