"""Importers: map public exports (files) into landing-zone entities (contract.md).

Plain functions, no Dagster: `import_maven_crm`, `import_superstore`. Both write
deterministic files, so importing the same export twice writes the same bytes and the
loader skips them by content hash.
"""

from ingestion.importers.common import ImportSummary

__all__ = ["ImportSummary"]
