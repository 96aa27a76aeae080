"""Load an entity folder with its row rules evaluated on each new batch, in the batch's
own transaction, then release the open rejects whose parent has arrived since."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from expectations.sql import BatchRejects, EvalContext, RowRules
from ingestion.entities import Entity
from ingestion.landing import EntityLoadResult, FileResult, load_entity


@dataclass
class QualityResult:
    batches: list[BatchRejects] = field(default_factory=list)
    resolved: int = 0

    @property
    def rows_rejected(self) -> int:
        return sum(b.rows_rejected for b in self.batches)

    @property
    def duplicates(self) -> int:
        return sum(b.duplicates for b in self.batches)


def load_with_rules(
    con: duckdb.DuckDBPyConnection, landing_dir: Path, entity: Entity, ctx: EvalContext, run_id: str
) -> tuple[EntityLoadResult, QualityResult]:
    rules = RowRules(con, entity.folder, ctx, run_id)
    quality = QualityResult()

    def on_batch(_con: duckdb.DuckDBPyConnection, res: FileResult) -> None:
        quality.batches.append(rules.evaluate_batch(res.batch_id))

    result = load_entity(con, landing_dir, entity, run_id, on_batch=on_batch)
    con.execute("begin transaction")
    quality.resolved = rules.resolve_open()
    con.execute("commit")
    return result, quality
