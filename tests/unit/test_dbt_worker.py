"""spm-dbt: a dbt invocation handed to the worker that imported dbt beforehand behaves as
the dbt process it replaces (output, exit code), and without a worker spm-dbt runs dbt."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from orchestration import dbt_worker

SPM_DBT = str(Path(sys.executable).parent / "spm-dbt")
DBT = str(Path(sys.executable).parent / "dbt")


@pytest.fixture
def worker():
    dbt_worker.stop_dbt_worker()
    dbt_worker.start_dbt_worker("duckdb")
    yield dbt_worker
    dbt_worker.stop_dbt_worker()


def _run(args: list[str], socket_path: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != dbt_worker.WORKER_ENV}
    if socket_path:
        env[dbt_worker.WORKER_ENV] = socket_path
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)


def test_the_worker_runs_the_invocation_with_dbts_output_and_exit_code(worker, tmp_path):
    process = worker._WORKER["process"]
    path = worker.take_dbt_worker()
    assert path and worker.take_dbt_worker() is None  # one invocation per worker
    ran = _run([SPM_DBT, "--help"], path)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == _run([DBT, "--help"]).stdout
    assert process.wait(timeout=30) == 0  # the worker ran it and ended


def test_a_failed_invocation_exits_with_dbts_exit_code(worker):
    path = worker.take_dbt_worker()
    ran = _run([SPM_DBT, "no-such-command"], path)
    direct = _run([DBT, "no-such-command"])
    assert direct.returncode == 2
    assert ran.returncode == direct.returncode
    assert "no-such-command" in ran.stdout + ran.stderr


def test_without_a_worker_spm_dbt_runs_dbt_itself(tmp_path):
    ran = _run([SPM_DBT, "--help"], str(tmp_path / "missing.sock"))
    assert ran.returncode == 0
    assert ran.stdout == _run([DBT, "--help"]).stdout


def test_an_unused_worker_is_ended_and_its_socket_removed(worker):
    process = worker._WORKER["process"]
    folder = Path(worker._WORKER["path"]).parent
    assert (folder / "worker.sock").exists()
    worker.stop_dbt_worker()
    assert process.poll() is not None
    assert not folder.exists()
    assert worker.take_dbt_worker() is None


def test_a_worker_whose_run_ended_without_a_build_ends_and_removes_its_socket():
    # a process that starts a worker and ends without atexit handlers (os._exit)
    code = (
        "import os; from orchestration import dbt_worker as w; w.start_dbt_worker('duckdb'); "
        "print(w._WORKER['path'], flush=True); os._exit(0)"
    )
    started = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    folder = Path(started.stdout.strip()).parent
    assert folder.name.startswith("spm-dbt-")
    deadline = time.time() + 60
    while folder.exists() and time.time() < deadline:
        time.sleep(0.5)
    assert not folder.exists()
