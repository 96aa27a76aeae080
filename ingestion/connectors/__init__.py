"""Connectors: pull live sources (CRM REST API, orders database, survey exports) into
landing-zone files in the contract's entity folders (contract.md, docs/sources.md).

Each connector writes a new file per run (`<entity>_<source>_<UTC timestamp>.csv`) and
keeps its incremental state in a small JSON file beside the landing folder, updated
only after every file of the run is written (a failed run is simply fetched again).
"""

from __future__ import annotations

from pathlib import Path


def default_state_path(landing: Path, connector: str) -> Path:
    """`<landing parent>/_state/<landing name>.<connector>.json`: beside, not inside,
    the landing folder, so the loader never sees it."""
    landing = Path(landing)
    return landing.parent / "_state" / f"{landing.name}.{connector}.json"
