"""Checks beside the raw assets, on the batches this run loaded (raw._batches.run_id), so
their cost grows with the new batch, not with history.

Per landing entity:
- `files_readable` (warning): no file was rejected as a whole;
- `schema_drift` (warning): no file carried columns outside the contract (they are ignored);
- `rows_reconcile` (blocking): rows read = rows loaded + rows rejected + duplicates dropped;
- `expectations` (blocking when broken): the entity's Great Expectations suite, derived
  from the rule registry, run in DuckDB on the new batches: every new row up to
  expectations.suites.SAMPLE_ROWS, above that a deterministic sample that holds every row
  rejected at load (metadata `rows_validated` vs `rows_in_batches` says which). Failing rows
  are a warning (they are kept out of the facts, the good rows flow on); a validation that
  did not compute, or that disagrees with the rejects recorded at load on the rows it
  validated, is an error;
- `freshness` (warning): the entity's newest file and newest event are recent enough.

The five checks of an entity are computed in one step (one connection; one GX context
per process).
"""

from datetime import UTC, datetime

import dagster as dg

from expectations.rules import REGISTRY
from expectations.sql import EvalContext, reconcile
from ingestion.entities import ENTITIES, Entity
from orchestration.assets.ingestion import ingest_op_tags, raw_asset_key
from orchestration.resources import WAREHOUSE_POOL, SpmResource

WARN, ERROR = dg.AssetCheckSeverity.WARN, dg.AssetCheckSeverity.ERROR
CHECKS = {
    "files_readable": (
        False,
        "No landing file of this run was rejected as a whole (warning: the rest of the run "
        "goes on; the file is listed in marts.dq_rejected_rows).",
    ),
    "schema_drift": (
        False,
        "No landing file of this run carried columns outside the contract (warning: extra "
        "columns are ignored; a missing required column rejects the file).",
    ),
    "rows_reconcile": (
        True,
        "Per batch of this run: rows read = rows loaded + rows rejected + duplicates dropped.",
    ),
    "expectations": (
        True,
        "The Great Expectations suite of the entity (expectations/rules.py) on this run's new "
        "batches. Bad rows: warning (kept out, listed). Not computed, or not matching the "
        "rejects recorded at load: error.",
    ),
    "freshness": (
        False,
        "The entity's newest file, and the newest event in this run's batches, are recent.",
    ),
}


def _specs(entity: Entity) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(name, asset=raw_asset_key(entity), blocking=blocking, description=description)
        for name, (blocking, description) in CHECKS.items()
    ]


def _result(entity: Entity, name: str, passed: bool, severity=WARN, **metadata) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key=raw_asset_key(entity),
        check_name=name,
        passed=passed,
        severity=severity,
        metadata=metadata,
    )


def _batches(con, entity: Entity, run_id: str) -> list[tuple]:
    return con.execute(
        "select batch_id, source_file, status, message, extra_columns from raw._batches "
        "where entity = ? and run_id = ? order by batch_id",
        [entity.folder, run_id],
    ).fetchall()


def files_readable(con, entity: Entity, run_id: str) -> dg.AssetCheckResult:
    rejected = [m for _, _, status, m, _ in _batches(con, entity, run_id) if status == "rejected"]
    return _result(
        entity, "files_readable", not rejected, rejected_files=len(rejected), messages="\n".join(rejected)
    )


def schema_drift(con, entity: Entity, run_id: str) -> dg.AssetCheckResult:
    drift = [f"{f}: {extra}" for _, f, status, _, extra in _batches(con, entity, run_id) if extra]
    return _result(
        entity, "schema_drift", not drift, files_with_extra_columns=len(drift), extra="\n".join(drift)
    )


def rows_reconcile(con, entity: Entity, run_id: str) -> dg.AssetCheckResult:
    rows = reconcile(con, entity.folder, run_id)
    bad = [
        f"{r.source_file}: read {r.rows_read}, stored {r.rows_stored}, loaded {r.rows_loaded}, "
        f"rejected {r.rows_rejected}, duplicates {r.duplicates}, both {r.overlaps}, dangling {r.dangling}"
        for r in rows
        if not r.holds
    ]
    return _result(
        entity,
        "rows_reconcile",
        not bad,
        ERROR,
        files=len(rows),
        rows_read=sum(r.rows_read for r in rows),
        rows_loaded=sum(r.rows_loaded for r in rows),
        rows_rejected=sum(r.rows_rejected for r in rows),
        duplicates_dropped=sum(r.duplicates for r in rows),
        mismatches="\n".join(bad) or "none",
    )


def expectations_and_freshness(
    con, entity: Entity, run_id: str, ctx: EvalContext
) -> list[dg.AssetCheckResult]:
    batch_ids = [b for b, _, status, _, _ in _batches(con, entity, run_id) if status == "loaded"]
    arrival = _arrival_freshness(con, entity)
    if not batch_ids:  # nothing new: Great Expectations is not even imported
        return [
            _result(entity, "expectations", True, rows_validated=0, note="no new batch in this run"),
            _result(entity, "freshness", arrival[0], **arrival[1]),
        ]
    from expectations.suites import FRESHNESS, ROWS, validate_batches

    validation = validate_batches(con, entity.folder, batch_ids, ctx)
    recorded = validation.recorded  # the load's rejects on the rows GX validated
    found = {k: v for k, v in validation.unexpected_by_rule().items() if v}
    disagree = sorted(set(found) ^ set(recorded) | {k for k in found if found[k] != recorded.get(k)})
    failed = [o for o in validation.failed() if o.group != FRESHNESS]
    broken = [f"{o.name}: {o.error}" for o in validation.outcomes if not o.computed]
    metadata = {
        "rows_validated": validation.rows,
        "rows_in_batches": validation.batch_rows,
        "validated": validation.coverage,
        "expectations": len(validation.outcomes),
        "failed": dg.MetadataValue.md(
            "\n".join(f"- {o.name} ({o.group}): {o.unexpected_count} row(s)" for o in failed) or "none"
        ),
        "rows_failing": sum(o.unexpected_count for o in failed if o.group == ROWS),
    }
    if broken:
        metadata["not_computed"] = "\n".join(broken)
    if disagree:
        metadata["disagrees_with_load_rejects"] = ", ".join(disagree)
    severity = ERROR if broken or disagree else WARN
    results = [_result(entity, "expectations", not (failed or broken or disagree), severity, **metadata)]
    stale = validation.failed(FRESHNESS)
    ok, meta = arrival
    for o in validation.outcomes:
        if o.group == FRESHNESS:
            meta["newest_event"] = str(o.observed)
    results.append(
        _result(
            entity,
            "freshness",
            ok and not stale,
            **meta,
            stale_data="\n".join(o.name for o in stale) or "none",
        )
    )
    return results


def _arrival_freshness(con, entity: Entity) -> tuple[bool, dict]:
    max_age = REGISTRY[entity.folder].max_age
    newest = con.execute(
        "select max(loaded_at) from raw._batches where entity = ? and status = 'loaded'", [entity.folder]
    ).fetchone()[0]
    if newest is None:
        return True, {"newest_file": "none: no data for this entity"}
    age = datetime.now(UTC).replace(tzinfo=None) - newest
    meta = {"newest_file": str(newest), "max_age": str(max_age) if max_age else "not checked"}
    return (max_age is None or age <= max_age), meta


def _entity_checks(entity: Entity) -> dg.AssetChecksDefinition:
    """One step per entity: its checks run right after it loads. They block its children
    (entities whose rules read it) and the dbt build on an error."""

    @dg.multi_asset_check(
        specs=_specs(entity),
        name=f"{entity.source}_{entity.name}_checks",
        description=f"`{entity.folder}`: files readable, schema drift, reconciliation, "
        "Great Expectations suite and freshness on this run's new batches.",
        can_subset=True,
        pool=WAREHOUSE_POOL,
        op_tags=ingest_op_tags(entity),
    )
    def _checks(context: dg.AssetCheckExecutionContext, spm: SpmResource):
        run_id = context.run.run_id
        wanted = {k.name for k in context.selected_asset_check_keys}
        with spm.build_connection() as con:
            results = [
                files_readable(con, entity, run_id),
                schema_drift(con, entity, run_id),
                rows_reconcile(con, entity, run_id),
            ]
            if wanted & {"expectations", "freshness"}:
                try:
                    ctx = spm.rules_context(context)
                    results += expectations_and_freshness(con, entity, run_id, ctx)
                except Exception as exc:  # a broken suite is an error, never a pass
                    context.log.error(f"{entity.folder}: expectations did not run: {exc!r}")
                    results += [
                        _result(entity, "expectations", False, ERROR, not_computed=repr(exc)[:2000]),
                        _result(entity, "freshness", False, WARN, not_computed=repr(exc)[:2000]),
                    ]
        for result in results:
            if result.check_name in wanted:
                yield result

    return _checks


raw_checks = [_entity_checks(e) for e in ENTITIES]
