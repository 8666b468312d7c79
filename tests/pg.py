"""A throwaway PostgreSQL cluster for the tests: initdb in a temporary directory, a free loopback
port, trust authentication, stopped and removed at the end of the session.

initdb and postgres refuse to run as root, and CI runs as root: there the server binaries run as
``nobody`` (through ``runuser``), which owns the temporary directory. Nothing is installed here:
``.ci/run`` installs Debian's ``postgresql`` when ``initdb`` is missing, and without it the tests
that need the engine skip and say so.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Postgres", "bindir", "running_postgres"]


def bindir() -> Path | None:
    """Where ``initdb`` is: on PATH, else Debian's versioned directory (newest first)."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True):
        return Path(candidate).parent
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Postgres:
    bin: Path
    root: Path
    port: int
    as_user: list[str]

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def psql(self, sql: str) -> None:
        cmd = [str(self.bin / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", "postgres"]
        subprocess.run([*cmd, "-q", "-v", "ON_ERROR_STOP=1", "-c", sql], check=True, capture_output=True)

    def new_database(self) -> str:
        """A fresh, empty database; its URL."""
        name = f"t_{uuid.uuid4().hex[:16]}"
        self.psql(f"CREATE DATABASE {name}")
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"


@contextlib.contextmanager
def running_postgres() -> Iterator[Postgres | None]:
    """A started cluster, or None when PostgreSQL is not installed."""
    found = bindir()
    if found is None:
        yield None
        return
    root = Path(tempfile.mkdtemp(prefix="gm-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root: run the server as nobody, who owns the directory
        shutil.chown(root, "nobody")
        as_user = ["runuser", "-u", "nobody", "--"]
    server = Postgres(found, root, _free_port(), as_user)
    data = root / "data"
    options = f"-p {server.port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
    try:
        subprocess.run(
            [*as_user, str(found / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "--no-sync"],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [*as_user, str(found / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start"],
            check=True,
            capture_output=True,
        )
        yield server
    finally:
        subprocess.run(
            [*as_user, str(found / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], capture_output=True
        )
        shutil.rmtree(root, ignore_errors=True)
