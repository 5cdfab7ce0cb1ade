"""The embedded SQLite ledger: one file, one daemon, every write synced to disk.

Why a dedicated worker thread rather than aiosqlite: aiosqlite does the same
thing (one thread per connection, calls queued to it) and would be one more
dependency. One thread owning one connection also serialises writes, which
SQLite requires anyway, and keeps every ``fsync`` off the event loop. A write
whose caller is cancelled still runs to completion in the thread, so a
hang-up can never tear a ledger row.

The file is opened in WAL mode with ``synchronous=FULL``: a transaction is on
disk before the call returns, so a row written before a gateway request
survives a SIGKILL or a power cut. An exclusive ``flock`` on ``<path>.lock``
keeps a second daemon off the same file (use PostgreSQL to share a ledger);
the kernel drops it when the process dies, so a crashed daemon never blocks
its successor.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import re
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TypeVar

from paymentd.ledger.database import LedgerError, Row, Step, pending_migrations
from paymentd.ledger.schema import CURRENT_VERSION, SCHEMA_TABLE

__all__ = ["SqliteDatabase", "format_timestamp"]

T = TypeVar("T")

_PLACEHOLDER = re.compile(r"\$(\d+)")


def format_timestamp(value: datetime) -> str:
    """Fixed-width ISO-8601 in UTC, so that text order is time order."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def _adapt(value: object) -> object:
    if isinstance(value, datetime):
        return format_timestamp(value)
    if isinstance(value, bool):
        return int(value)
    return value


class SqliteDatabase:
    """The ledger's SQLite file, driven from one worker thread."""

    kind = "sqlite"

    def __init__(self, path: Path, lock: IO[bytes] | None) -> None:
        self._path = path
        self._lock = lock
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger-sqlite")
        self._conn: sqlite3.Connection | None = None
        self._instance_id: str | None = None
        self._closed = False

    @classmethod
    async def open_read_only(cls, path: str | Path) -> SqliteDatabase:
        """Open an existing ledger for reading, beside the daemon that holds its lock.

        WAL mode lets a reader see every committed write while the daemon writes.
        """
        path = Path(path)
        if not path.is_file():
            raise LedgerError(f"there is no SQLite ledger at {path}")
        db = cls(path, None)
        try:
            await db._call(db._connect_read_only)
        except BaseException:
            await db.close()
            raise
        return db

    def _connect_read_only(self) -> None:
        try:
            conn = sqlite3.connect(f"{self._path.resolve().as_uri()}?mode=ro", uri=True)
            conn.row_factory = sqlite3.Row
        except sqlite3.Error as exc:
            raise LedgerError(f"cannot read the SQLite ledger at {self._path}: {exc}") from None
        self._conn = conn

    @classmethod
    async def open(cls, path: str | Path, busy_timeout: float = 5.0) -> SqliteDatabase:
        """Lock and open (creating if needed) the ledger file at ``path``."""
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            lock = path.with_name(path.name + ".lock").open("ab")
        except OSError as exc:
            raise LedgerError(f"cannot open the SQLite ledger at {path}: {exc.strerror}") from None
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            raise LedgerError(
                f"the SQLite ledger {path} is in use by another paymentd; "
                "several daemons must share a PostgreSQL ledger"
            ) from None
        db = cls(path, lock)
        try:
            await db._call(db._connect, busy_timeout)
        except BaseException:
            await db.close()
            raise
        return db

    def _connect(self, busy_timeout: float) -> None:
        try:
            conn = sqlite3.connect(self._path, timeout=busy_timeout, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            # FULL: WAL commits are fsynced, so a returned write survives power loss too.
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
        except sqlite3.Error as exc:
            raise LedgerError(f"cannot open the SQLite ledger at {self._path}: {exc}") from None
        self._conn = conn

    async def _call(self, fn: Callable[..., T], *args: object) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn, *args)

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise LedgerError("the SQLite ledger is closed")
        return self._conn

    @staticmethod
    def _prepare(sql: str, args: Sequence[object]) -> tuple[str, list[object]]:
        return _PLACEHOLDER.sub(r"?\1", sql), [_adapt(a) for a in args]

    def _run(self, steps: Sequence[Step]) -> list[int]:
        conn = self._connection()
        # IMMEDIATE takes the write lock up front, so a transaction never fails half-way.
        conn.execute("BEGIN IMMEDIATE")
        try:
            counts = [conn.execute(*self._prepare(sql, args)).rowcount for sql, args in steps]
            conn.execute("COMMIT")
        except BaseException:
            conn.rollback()
            raise
        return counts

    def _query(self, sql: str, args: Sequence[object]) -> list[Row]:
        return [dict(row) for row in self._connection().execute(*self._prepare(sql, args))]

    async def execute(self, sql: str, *args: object) -> int:
        (count,) = await self._call(self._run, [(sql, args)])
        return count

    async def fetch(self, sql: str, *args: object) -> list[Row]:
        return await self._call(self._query, sql, args)

    async def transaction(self, steps: Sequence[Step]) -> list[int]:
        return await self._call(self._run, steps)

    def _migrate(self) -> int:
        conn = self._connection()
        conn.execute(SCHEMA_TABLE)
        conn.execute("BEGIN IMMEDIATE")
        try:
            (current,) = conn.execute(CURRENT_VERSION).fetchone()
            for migration in pending_migrations(current, self.kind):
                for statement in migration.statements:
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO ledger_schema (version, name, applied_at) VALUES (?, ?, ?)",
                    (migration.version, migration.name, format_timestamp(datetime.now(UTC))),
                )
                current = migration.version
            conn.execute("COMMIT")
        except BaseException:
            conn.rollback()
            raise
        return int(current)

    async def migrate(self) -> int:
        return await self._call(self._migrate)

    async def register(self, instance_id: str, hostname: str, pid: int) -> None:
        self._instance_id = instance_id

    async def is_alive(self, instance_id: str) -> bool:
        # The file lock makes this process the only one using the file.
        return instance_id == self._instance_id

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._conn is not None:
            await self._call(self._connection().close)
            self._conn = None
        self._executor.shutdown(wait=True)
        if self._lock is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._lock.fileno(), fcntl.LOCK_UN)
            self._lock.close()

    def __repr__(self) -> str:
        return f"SqliteDatabase({os.fspath(self._path)!r})"
