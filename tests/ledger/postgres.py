"""A throw-away PostgreSQL cluster for the tests, on the installed server binaries.

``initdb`` refuses to run as root (CI runs as root), so as root the cluster is
created and run as the ``postgres`` system user (``nobody`` if there is none)
through ``runuser``; otherwise as the current user. It lives in a fresh
directory under the system temp dir (pytest's own temp dirs are private to
root), listens on a free port on 127.0.0.1 only, trusts local connections,
and is stopped and deleted at the end of the session.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import asyncpg
import attrs

SUPERUSER = "paymentd"


def find_bindir() -> Path | None:
    """The newest ``/usr/lib/postgresql/N/bin`` that has ``initdb`` (or $PG_BINDIR)."""
    if override := os.environ.get("PG_BINDIR"):
        return Path(override)
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parent.parent.name),
    )
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@attrs.define
class PostgresCluster:
    bindir: Path
    root: Path
    port: int
    runas: str | None

    @property
    def data(self) -> Path:
        return self.root / "data"

    def _run(self, *args: str) -> None:
        command = [*(["runuser", "-u", self.runas, "--"] if self.runas else []), *args]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            name = Path(args[0]).name
            output = result.stdout + result.stderr
            raise RuntimeError(f"{name} failed ({result.returncode}):\n{output}")

    @classmethod
    def start(cls, bindir: Path) -> PostgresCluster:
        runas = None
        if os.geteuid() == 0:
            try:
                runas = pwd.getpwnam("postgres").pw_name
            except KeyError:
                runas = "nobody"
        root = Path(tempfile.mkdtemp(prefix="paymentd-pg-"))
        if runas:
            account = pwd.getpwnam(runas)
            os.chown(root, account.pw_uid, account.pw_gid)
        cluster = cls(bindir, root, _free_port(), runas)
        cluster._run(
            str(bindir / "initdb"),
            "-D",
            str(cluster.data),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",
        )
        options = f"-p {cluster.port} -k {root} -c listen_addresses=127.0.0.1"
        cluster._run(
            str(bindir / "pg_ctl"),
            "-D",
            str(cluster.data),
            "-o",
            options,
            "-l",
            str(root / "server.log"),
            "-w",
            "start",
        )
        return cluster

    def stop(self) -> None:
        with contextlib.suppress(RuntimeError):
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    async def new_database(self) -> str:
        """A fresh, empty database; returns its DSN."""
        name = f"ledger_{uuid.uuid4().hex[:12]}"
        conn = await asyncpg.connect(self.dsn())
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        return self.dsn(name)
