"""The shared PostgreSQL ledger (asyncpg): several daemons, one ledger.

Liveness of a daemon is a PostgreSQL session-level advisory lock: each
instance holds its own lock on a dedicated connection for as long as it runs,
and the server releases it when that connection dies with the process. A
recovering daemon that can take a peer's lock knows the peer is gone and may
take over its pending attempts; while the peer lives, its in-flight attempts
are left alone. Migrations run under a transaction-level advisory lock so two
daemons starting together do not both apply them.
"""

from __future__ import annotations

import contextlib
import re
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg

from paymentd.ledger.database import LedgerError, Row, Step, pending_migrations
from paymentd.ledger.schema import CURRENT_VERSION, SCHEMA_TABLE

__all__ = ["PostgresDatabase"]

# Arbitrary constant naming "the paymentd ledger schema" among advisory locks.
_MIGRATION_LOCK = 0x7061796D656E7464  # "paymentd"

_COUNT = re.compile(r"(\d+)$")


def _changed(status: str) -> int:
    """Rows changed, from asyncpg's command status (``UPDATE 3``, ``INSERT 0 1``)."""
    match = _COUNT.search(status)
    return int(match.group(1)) if match else 0


class PostgresDatabase:
    """A pool of connections to the ledger's PostgreSQL database."""

    kind = "postgresql"

    def __init__(self, pool: Any, dsn: str, connect_timeout: float) -> None:
        self._pool = pool
        self._dsn = dsn
        self._connect_timeout = connect_timeout
        self._liveness: Any = None
        self._instance_id: str | None = None

    @classmethod
    async def open(
        cls, dsn: str, pool_size: int = 4, connect_timeout: float = 10.0
    ) -> PostgresDatabase:
        """Connect to ``dsn``; errors name the server, never the password."""
        try:
            pool = await asyncpg.create_pool(
                dsn, min_size=1, max_size=pool_size, timeout=connect_timeout
            )
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            raise LedgerError(
                f"cannot connect to the PostgreSQL ledger: {_describe(exc)}"
            ) from None
        return cls(pool, dsn, connect_timeout)

    async def execute(self, sql: str, *args: object) -> int:
        async with self._pool.acquire() as conn:
            return _changed(await conn.execute(sql, *args))

    async def fetch(self, sql: str, *args: object) -> list[Row]:
        async with self._pool.acquire() as conn:
            return [dict(r) for r in await conn.fetch(sql, *args)]

    async def transaction(self, steps: Sequence[Step]) -> list[int]:
        async with self._pool.acquire() as conn, conn.transaction():
            return [_changed(await conn.execute(sql, *args)) for sql, args in steps]

    async def migrate(self) -> int:
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
            await conn.execute(SCHEMA_TABLE)
            current = int(await conn.fetchval(CURRENT_VERSION))
            for migration in pending_migrations(current, self.kind):
                for statement in migration.statements:
                    await conn.execute(statement)
                await conn.execute(
                    "INSERT INTO ledger_schema (version, name, applied_at) VALUES ($1, $2, $3)",
                    migration.version,
                    migration.name,
                    datetime.now(UTC),
                )
                current = migration.version
            return current

    async def register(self, instance_id: str, hostname: str, pid: int) -> None:
        lock_key = secrets.randbits(62)
        # Not from the pool (whose reset would drop the lock): it lives as long as the daemon.
        self._liveness = await asyncpg.connect(self._dsn, timeout=self._connect_timeout)
        await self._liveness.execute("SELECT pg_advisory_lock($1)", lock_key)
        self._instance_id = instance_id
        await self._liveness.execute(
            "INSERT INTO ledger_instances (instance_id, lock_key, hostname, pid, started_at)"
            " VALUES ($1, $2, $3, $4, $5)",
            instance_id,
            lock_key,
            hostname,
            pid,
            datetime.now(UTC),
        )

    async def is_alive(self, instance_id: str) -> bool:
        async with self._pool.acquire() as conn:
            lock_key = await conn.fetchval(
                "SELECT lock_key FROM ledger_instances WHERE instance_id = $1", instance_id
            )
            if lock_key is None:
                return False
            if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", lock_key):
                return True
            await conn.execute("SELECT pg_advisory_unlock($1)", lock_key)
            return False

    async def close(self) -> None:
        liveness, self._liveness = self._liveness, None
        if liveness is not None:
            # A clean exit: peers may take over whatever this instance left pending. If the
            # connection is already gone, so is the lock, and the row only waits for a peer.
            with contextlib.suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                await liveness.execute(
                    "DELETE FROM ledger_instances WHERE instance_id = $1", self._instance_id
                )
            await liveness.close()
        await self._pool.close()

    def __repr__(self) -> str:
        return "PostgresDatabase()"


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
