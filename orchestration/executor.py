"""An in-process executor that runs the ingest steps two at a time.

The raw inserts run on one DuckDB thread (ingestion/landing.py), so two entities loading at
once use both cores: at 10M order lines, activities and order lines load in 24.5 s together
against 40.4 s one after the other, and a full run's ingest and checks take 101-104 s
against 151-173 s (two runs each, alternating). The instance the steps share has a memory
limit of its own (SPM_INGEST_MEMORY_LIMIT, 512MB): that run's peak is 1,565-1,573 MB,
1,942 MB with dbt's 768MB, in the same time.

Steps tagged `spm/parallel` (the raw assets and their checks) may overlap with each other;
any other step (plan rules, dbt, publish, report) runs alone, so dbt and the publish still
get the build file to themselves. A step starts when its upstream steps (an entity's
parents, their blocking checks) are done, in Dagster's order (`dagster/priority` first):
otherwise this is Dagster's `in_process_executor`.

Each step runs in a thread of this process and shares the run's resources; the build
connection hands every step a cursor of its own (orchestration/resources.py). Events are
handled on the calling thread only, in the order they arrive.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field

import dagster as dg
from dagster._core.events import DagsterEvent, EngineEventData
from dagster._core.execution.api import ExecuteRunWithPlanIterable
from dagster._core.execution.compute_logs import create_compute_log_file_key
from dagster._core.execution.context.system import PlanExecutionContext, PlanOrchestrationContext
from dagster._core.execution.context_creation_job import PlanExecutionContextManager
from dagster._core.execution.plan.execute_plan import _trigger_hook, dagster_event_sequence_for_step
from dagster._core.execution.plan.instance_concurrency_context import InstanceConcurrencyContext
from dagster._core.execution.plan.plan import ExecutionPlan
from dagster._core.execution.retries import RetryMode
from dagster._core.execution.step_dependency_config import StepDependencyConfig
from dagster._core.executor.base import Executor

PARALLEL_TAG = "spm/parallel"
PARALLEL_TAGS = {PARALLEL_TAG: "ingest"}
MAX_PARALLEL = 2  # the machines have two cores; a third load would only queue for them

_DONE = object()


@dataclass
class _Crashed:
    exc_info: tuple


@dataclass
class _Running:
    step_context: object
    parallel: bool
    events: list[DagsterEvent] = field(default_factory=list)


def _parallel(step) -> bool:
    return step.tags.get(PARALLEL_TAG) == "ingest"


def _run_step(step_key: str, step_context, out: queue.Queue) -> None:
    try:
        for event in dagster_event_sequence_for_step(step_context):
            out.put((step_key, event))
        out.put((step_key, _DONE))
    except BaseException:  # a framework error: re-raised on the calling thread
        out.put((step_key, _Crashed(sys.exc_info())))


def threaded_execution_iterator(
    job_context: PlanExecutionContext, execution_plan: ExecutionPlan
) -> Iterator[DagsterEvent]:
    compute_log_manager = job_context.instance.compute_log_manager
    step_keys = [step.key for step in execution_plan.get_steps_to_execute_in_topo_order()]
    with (
        InstanceConcurrencyContext(job_context.instance, job_context.dagster_run) as concurrency,
        execution_plan.start(
            retry_mode=job_context.retry_mode,
            instance_concurrency_context=concurrency,
            step_dependency_config=job_context.step_dependency_config,
        ) as active,
        ExitStack() as capture_stack,
    ):
        log_key = compute_log_manager.build_log_key_for_run(job_context.run_id, create_compute_log_file_key())
        log_context = capture_stack.enter_context(compute_log_manager.capture_logs(log_key))
        yield DagsterEvent.capture_logs(job_context, step_keys, log_key, log_context)

        events: queue.Queue = queue.Queue()
        running: dict[str, _Running] = {}
        ready: list = []  # steps Dagster handed over (in flight for it) not started yet
        while not active.is_complete or running or ready:
            if not ready and not active.is_complete and len(running) < MAX_PARALLEL:
                ready.extend(active.get_steps_to_execute(limit=MAX_PARALLEL - len(running)))
                yield from active.concurrency_event_iterator(job_context)
            # a step that is not tagged parallel runs alone: it waits for the others to end,
            # and nothing starts beside it
            while ready and _may_start(ready[0], running):
                step = ready.pop(0)
                step_context = job_context.for_step(step, active.get_known_state())
                running[step.key] = _Running(step_context, _parallel(step))
                threading.Thread(
                    target=_run_step,
                    args=(step.key, step_context, events),
                    name=f"spm-step-{step.key}",
                    daemon=True,
                ).start()
            if not running:
                active.sleep_til_ready()
                continue
            step_key, item = events.get()
            entry = running[step_key]
            if item is _DONE:
                del running[step_key]
                active.verify_complete(job_context, step_key)
                for event in active.plan_events_iterator(job_context):
                    entry.events.append(event)
                    yield event
                yield from _trigger_hook(entry.step_context, entry.events)
            elif isinstance(item, _Crashed):
                raise item.exc_info[1].with_traceback(item.exc_info[2])
            else:
                entry.events.append(item)
                yield item
                active.handle_event(item)


def _may_start(step, running: dict[str, _Running]) -> bool:
    if not running:
        return True
    return _parallel(step) and len(running) < MAX_PARALLEL and all(r.parallel for r in running.values())


class ParallelIngestExecutor(Executor):
    """Dagster's in-process executor with `threaded_execution_iterator` for its step loop."""

    def __init__(self) -> None:
        self._retries = RetryMode.ENABLED
        self._step_dependency_config = StepDependencyConfig.default()

    @property
    def retries(self) -> RetryMode:
        return self._retries

    @property
    def step_dependency_config(self) -> StepDependencyConfig:
        return self._step_dependency_config

    def execute(
        self, plan_context: PlanOrchestrationContext, execution_plan: ExecutionPlan
    ) -> Iterator[DagsterEvent]:
        step_keys = execution_plan.step_keys_to_execute
        yield DagsterEvent.engine_event(
            plan_context,
            f"Executing steps in process (pid: {os.getpid()}), ingest steps {MAX_PARALLEL} at a time",
            event_specific_data=EngineEventData.in_process(os.getpid(), step_keys),
        )
        yield from iter(
            ExecuteRunWithPlanIterable(
                execution_plan=plan_context.execution_plan,
                iterator=threaded_execution_iterator,
                execution_context_manager=PlanExecutionContextManager(
                    job=plan_context.job,
                    retry_mode=plan_context.retry_mode,
                    execution_plan=plan_context.execution_plan,
                    run_config=plan_context.run_config,
                    dagster_run=plan_context.dagster_run,
                    instance=plan_context.instance,
                    raise_on_error=plan_context.raise_on_error,
                    output_capture=plan_context.output_capture,
                    step_dependency_config=self.step_dependency_config,
                ),
            )
        )


@dg.executor(name="parallel_ingest_executor")
def parallel_ingest_executor(_init_context) -> ParallelIngestExecutor:
    """In process; raw loads and their checks two at a time, every other step alone."""
    return ParallelIngestExecutor()
