"""dagster-dbt, imported without dbt-core in the Dagster process.

dbt runs in a process of its own (`spm-dbt`, orchestration/dbt_worker.py); this process
reads the manifest and dbt's event stream only. When dbt-core is importable, dagster-dbt
imports a dozen of its modules (~1.5 s of every `spm run`'s start on 2 cores) for types it
defines stand-ins of itself, for engines without dbt-core (dbt Fusion). dbt-core is hidden
from that one import; it stays importable afterwards (a stale manifest is parsed in this
process: orchestration/dbt_manifest.py). The resource's dbt version is read from the
installed package instead (orchestration/postgres.py, SpmDbtCliResource._cli_version).
"""

import importlib
import sys

if "dagster_dbt" not in sys.modules and "dbt.version" not in sys.modules:
    sys.modules["dbt.version"] = None  # type: ignore[assignment]  # ImportError in dagster_dbt.compat
    try:
        importlib.import_module("dagster_dbt")
    finally:
        del sys.modules["dbt.version"]

from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

__all__ = ["DagsterDbtTranslator", "DbtCliResource", "DbtProject", "dbt_assets"]
