"""The steps of one run judge "in the future" by one clock: the run's start."""

import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import dagster as dg

from orchestration.resources import SpmResource


def test_every_step_of_a_run_judges_by_the_runs_start():
    seen = []

    @dg.asset
    def loaded(context: dg.AssetExecutionContext, spm: SpmResource) -> None:
        seen.append(spm.rules_context(context))

    @dg.asset_check(asset=loaded)
    def checked(context: dg.AssetCheckExecutionContext, spm: SpmResource) -> dg.AssetCheckResult:
        time.sleep(0.05)  # a later step: its own clock would have moved
        seen.append(spm.rules_context(context))
        return dg.AssetCheckResult(passed=True)

    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize([loaded, checked], resources={"spm": SpmResource()}, instance=instance)
    assert result.success
    load_ctx, check_ctx = seen
    assert load_ctx.now_local == check_ctx.now_local
    started = datetime.fromtimestamp(instance.get_run_record_by_id(result.run_id).start_time, UTC)
    expected = started.astimezone(ZoneInfo(load_ctx.timezone)).replace(tzinfo=None)
    assert load_ctx.now_local == expected
