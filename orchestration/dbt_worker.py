"""dbt in a process that imported it before the build needed it.

A `dbt build` subprocess spends ~2.4 s importing dbt and its adapter before its first
line of output. `spm run` on a warehouse with history starts this worker once Great
Expectations' import is done (orchestration/runner.py): it imports dbt on the other core
while the run ingests and checks, then waits. The dbt step runs
`spm-dbt` (the `dbt_executable` of the Dagster resource), which hands its arguments,
working folder, environment, stdout and stderr to the waiting worker and exits with
dbt's exit code: for Dagster it is the dbt process it always was. Without a worker
(another command, the Spark target, a first run, a worker that failed to start)
`spm-dbt` runs dbt itself. One worker serves one invocation.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from orchestration.shutdown import exit_without_teardown

WORKER_ENV = "SPM_DBT_WORKER"  # the socket `spm-dbt` hands the invocation to
_WORKER: dict[str, object] = {}
_LOCK = threading.Lock()  # a run may start the worker from another thread
_HEADER = struct.Struct("!I")  # length of the JSON request that follows the descriptors


def start_dbt_worker(target: str) -> None:
    """Start the worker for a `dbt build` later in this process (DuckDB and PostgreSQL)."""
    with _LOCK:
        if "process" not in _WORKER and target in ("duckdb", "postgres"):
            _start(target)


def _start(target: str) -> None:
    folder = tempfile.mkdtemp(prefix="spm-dbt-")
    path = os.path.join(folder, "worker.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)  # bound before the worker starts: `spm-dbt` may connect while it imports
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", __name__, str(listener.fileno()), str(os.getpid()), target],
            pass_fds=[listener.fileno()],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},  # dbt's lines reach Dagster as written
        )
    finally:
        listener.close()
    _WORKER.update(process=process, path=path)


def take_dbt_worker() -> str | None:
    """The socket of the started, unused worker, which the caller's invocation then uses."""
    with _LOCK:
        process = _WORKER.get("process")
        if not isinstance(process, subprocess.Popen) or process.poll() is not None or _WORKER.get("taken"):
            return None
        _WORKER["taken"] = True
        return str(_WORKER["path"])


def stop_dbt_worker() -> None:
    """End the worker if it is still waiting (an unused one) and remove its socket."""
    with _LOCK:
        _stop()


atexit.register(stop_dbt_worker)


def _stop() -> None:
    process = _WORKER.pop("process", None)
    if isinstance(process, subprocess.Popen):
        if _WORKER.get("taken"):  # it ends with the build it ran, unless that never came
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    path = _WORKER.pop("path", None)
    if path:
        _remove_socket(str(path))
    _WORKER.clear()


def _remove_socket(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)
        os.rmdir(os.path.dirname(path))


# --------------------------------------------------------------------------- worker side


def _serve(listen_fd: int, parent_pid: int, target: str) -> int:
    listener = socket.socket(fileno=listen_fd)
    from dbt.cli.main import cli  # the imports this process exists for

    with contextlib.suppress(ImportError):
        __import__(f"dbt.adapters.{target}.impl")
    listener.settimeout(2.0)
    while True:
        try:
            conn, _ = listener.accept()
            break
        except TimeoutError:
            if os.getppid() != parent_pid:  # the run ended without a build: nothing to serve
                _remove_socket(listener.getsockname())
                return 0
    conn.settimeout(None)
    _remove_socket(listener.getsockname())  # connected: nobody else is to find it
    listener.close()
    header, fds, _, _ = socket.recv_fds(conn, _HEADER.size, 2)
    (length,) = _HEADER.unpack(header)
    payload = b""
    while len(payload) < length:
        chunk = conn.recv(length - len(payload))
        if not chunk:
            return 1
        payload += chunk
    request = json.loads(payload)
    os.dup2(fds[0], 1)
    os.dup2(fds[1], 2)
    for fd in fds:
        os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.argv = request["argv"]
    code = 0
    try:
        cli.main(args=request["argv"][1:], prog_name="dbt")
    except SystemExit as exc:  # how click ends, with dbt's exit code
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    conn.sendall(str(code).encode())
    # The build is committed and dbt closed its connections: freeing dbt's modules would
    # keep the build file (and the run's next step) waiting ~0.6 s more at 10M lines.
    exit_without_teardown(0)


# --------------------------------------------------------------------------- spm-dbt


def launch() -> None:
    """`spm-dbt`: run this dbt invocation in the waiting worker, or run dbt here."""
    path = os.environ.pop(WORKER_ENV, None)
    conn = None
    if path:
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            conn.connect(path)
        except OSError:
            conn.close()
            conn = None
    if conn is None:
        dbt = str(Path(sys.executable).parent / "dbt")
        os.execv(dbt, [dbt, *sys.argv[1:]])
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    worker_pid = struct.unpack("3i", creds)[0]
    for sig in (signal.SIGINT, signal.SIGTERM):  # Dagster stops dbt with SIGINT
        signal.signal(sig, lambda signum, _frame: os.kill(worker_pid, signum))
    request = {"argv": ["dbt", *sys.argv[1:]], "cwd": os.getcwd(), "env": dict(os.environ)}
    payload = json.dumps(request).encode()
    socket.send_fds(conn, [_HEADER.pack(len(payload))], [1, 2])
    conn.sendall(payload)
    reply = b""
    while chunk := conn.recv(64):  # the exit code, then end of file when the worker is gone
        reply += chunk
    if not reply:
        sys.stderr.write("spm-dbt: the dbt worker ended without an exit code\n")
        sys.exit(2)
    sys.exit(int(reply))


if __name__ == "__main__":
    sys.exit(_serve(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]))
