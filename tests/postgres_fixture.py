"""A real PostgreSQL server for tests: `postgres_server` (session-scoped).

Use it from a test module with `from tests.postgres_fixture import postgres_server  #
noqa: F401` (or list `tests.postgres_fixture` in a conftest's `pytest_plugins`), mark
the tests `@pytest.mark.postgres`, and take a fresh database per test or module with
`postgres_server.create_database("name")`, which returns its DSN.

How the server is found, in order:
1. `SPM_TEST_POSTGRES_DSN` (a superuser DSN of a server that is already running);
2. PostgreSQL's binaries (`initdb`, `pg_ctl`, from PATH or /usr/lib/postgresql/*/bin):
   a throw-away cluster in a temporary folder on 127.0.0.1 and a free port, trust
   authentication, superuser `postgres`, fsync off. PostgreSQL refuses to run as
   root, so as root the cluster is created and run as the `postgres` system user
   (`runuser -u postgres`). It is stopped and deleted at the end of the session.
If neither works, the tests skip, or fail under SPM_REQUIRE_SERVICES=1 (need_service).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import need_service


@dataclass
class PostgresServer:
    host: str
    port: int
    user: str
    password: str | None = None
    dbname: str = "postgres"
    data_dir: Path | None = None
    databases: list[str] = field(default_factory=list)

    def dsn_for(self, dbname: str) -> str:
        auth = self.user + (f":{self.password}" if self.password else "")
        return f"postgresql://{auth}@{self.host}:{self.port}/{dbname}"

    @property
    def dsn(self) -> str:
        """Superuser DSN of the maintenance database."""
        return self.dsn_for(self.dbname)

    def execute(self, sql: str, params=None, dbname: str | None = None) -> list[tuple]:
        import psycopg

        with psycopg.connect(self.dsn_for(dbname or self.dbname), autocommit=True) as con:
            cur = con.execute(sql, params)
            return cur.fetchall() if cur.description else []

    def create_database(self, name: str) -> str:
        """A new, empty database (dropped first if it exists); returns its DSN."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.dsn, autocommit=True) as con:
            con.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
            con.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
        self.databases.append(name)
        return self.dsn_for(name)


def _bin_dir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), reverse=True)
    return candidates[0].parent if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_owner(cmd: list[str], owner: str | None) -> list[str]:
    return ["runuser", "-u", owner, "--", *cmd] if owner else cmd


def _reachable(dsn: str) -> bool:
    try:
        import psycopg

        with psycopg.connect(dsn, connect_timeout=3) as con:
            con.execute("select 1")
        return True
    except Exception:
        return False


@contextlib.contextmanager
def _temporary_cluster() -> Iterator[PostgresServer | None]:
    bin_dir = _bin_dir()
    owner = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            bin_dir = None
        owner = "postgres"
        if not shutil.which("runuser"):
            bin_dir = None
    if bin_dir is None:
        yield None
        return
    root = Path(tempfile.mkdtemp(prefix="spm-pg-"))
    data = root / "data"
    log = root / "server.log"
    if owner:
        shutil.chown(root, owner, owner)
    port = _free_port()
    server, started = None, False
    try:
        try:
            subprocess.run(
                _as_owner(
                    [
                        str(bin_dir / "initdb"),
                        "-D",
                        str(data),
                        "-U",
                        "postgres",
                        "-A",
                        "trust",
                        "-E",
                        "UTF8",
                        "--locale=C",
                        "--no-sync",
                    ],
                    owner,
                ),
                check=True,
                capture_output=True,
                timeout=120,
            )
            options = (
                f"-p {port} -c listen_addresses=127.0.0.1 -k {root} -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off"
            )
            start = [str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options]
            subprocess.run(
                _as_owner([*start, "-w", "-t", "60", "start"], owner),
                check=True,
                capture_output=True,
                timeout=90,
            )
            started = True
            server = PostgresServer("127.0.0.1", port, "postgres", data_dir=data)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            detail = getattr(exc, "stderr", b"") or b""
            if log.exists():
                detail += log.read_bytes()[-2000:]
            print(f"PostgreSQL test cluster did not start: {exc}\n{detail.decode(errors='replace')}")
        yield server
    finally:
        if started:
            subprocess.run(
                _as_owner([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"], owner),
                capture_output=True,
                timeout=60,
            )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    dsn = os.environ.get("SPM_TEST_POSTGRES_DSN")
    if dsn:
        need_service(_reachable(dsn), f"PostgreSQL at SPM_TEST_POSTGRES_DSN ({dsn.split('@')[-1]})")
        from psycopg.conninfo import conninfo_to_dict

        info = conninfo_to_dict(dsn)
        server = PostgresServer(
            info.get("host") or "127.0.0.1",
            int(info.get("port") or 5432),
            info.get("user") or "postgres",
            info.get("password"),
            info.get("dbname") or "postgres",
        )
        yield server
        for name in server.databases:
            with contextlib.suppress(Exception):
                server.execute(f'drop database if exists "{name}" with (force)')
        return
    with _temporary_cluster() as server:
        need_service(server is not None, "PostgreSQL (initdb/pg_ctl)")
        yield server
