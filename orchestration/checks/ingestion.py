"""Checks beside the raw assets: every file of this run was readable, and every row read
was loaded (reconciliation)."""

import dagster as dg

from ingestion.entities import ENTITIES, Entity
from orchestration.assets.ingestion import raw_asset_key
from orchestration.resources import SpmResource


def _files_check(entity: Entity) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=raw_asset_key(entity),
        name="files_readable",
        description="No landing file of this run was rejected as a whole (warning: the rest "
        "of the run goes on; the file is listed in marts.dq_rejected_rows).",
    )
    def _check(context: dg.AssetCheckExecutionContext, spm: SpmResource) -> dg.AssetCheckResult:
        with spm.build_connection() as con:
            rows = con.execute(
                "select source_file, message from raw._batches "
                "where entity = ? and run_id = ? and status = 'rejected'",
                [entity.folder, context.run.run_id],
            ).fetchall()
        return dg.AssetCheckResult(
            passed=not rows,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"rejected_files": len(rows), "messages": "\n".join(m for _, m in rows)},
        )

    return _check


def _reconciliation_check(entity: Entity) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=raw_asset_key(entity),
        name="rows_reconcile",
        blocking=True,
        description="Rows read from each file of this run = rows stored in the raw table.",
    )
    def _check(context: dg.AssetCheckExecutionContext, spm: SpmResource) -> dg.AssetCheckResult:
        with spm.build_connection() as con:
            rows = con.execute(
                f"""
                select b.source_file, b.rows_read, count(r._row_number) as rows_stored
                from raw._batches as b
                left join raw.{entity.raw_table} as r on r._batch_id = b.batch_id
                where b.entity = ? and b.run_id = ? and b.status = 'loaded'
                group by b.source_file, b.rows_read
                """,
                [entity.folder, context.run.run_id],
            ).fetchall()
        bad = [f"{f}: read {read}, stored {stored}" for f, read, stored in rows if read != stored]
        return dg.AssetCheckResult(
            passed=not bad,
            metadata={
                "files": len(rows),
                "rows_read": sum(r[1] for r in rows),
                "mismatches": "\n".join(bad) or "none",
            },
        )

    return _check


raw_checks = [check for e in ENTITIES for check in (_files_check(e), _reconciliation_check(e))]
