"""The little the ledger needs from a database, implemented for SQLite and PostgreSQL.

SQL is written once, with PostgreSQL's ``$1`` placeholders; each backend adapts
placeholders and values. Beyond plain statements a backend knows two things
the SQL cannot say portably: how to apply migrations without racing another
daemon, and whether the daemon instance that owns an attempt is still alive.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from paymentd.ledger.schema import MIGRATIONS, Migration

__all__ = ["Database", "LedgerError", "Row", "Step", "pending_migrations"]

Row = dict[str, Any]
#: One statement and its arguments.
Step = tuple[str, Sequence[object]]


class LedgerError(Exception):
    """The ledger cannot be used (unreachable, locked by another daemon, schema too new)."""


class Database(Protocol):
    """A connection (or pool) to the ledger's database."""

    #: "sqlite" or "postgresql", for messages.
    kind: str

    async def execute(self, sql: str, *args: object) -> int:
        """Run one statement in its own transaction; return the number of rows it changed."""
        ...

    async def fetch(self, sql: str, *args: object) -> list[Row]:
        """Run a query and return its rows as dicts."""
        ...

    async def transaction(self, steps: Sequence[Step]) -> list[int]:
        """Run ``steps`` atomically; return each statement's changed-row count."""
        ...

    async def migrate(self) -> int:
        """Apply the missing migrations; return the schema version now in place."""
        ...

    async def register(self, instance_id: str, hostname: str, pid: int) -> None:
        """Announce this daemon instance as alive for as long as it runs."""
        ...

    async def is_alive(self, instance_id: str) -> bool:
        """Whether the daemon instance ``instance_id`` is still running."""
        ...

    async def close(self) -> None: ...


def pending_migrations(current: int, kind: str) -> list[Migration]:
    """The migrations to apply on top of ``current``; refuses a schema newer than ours."""
    latest = MIGRATIONS[-1].version
    if current > latest:
        raise LedgerError(
            f"the {kind} ledger has schema version {current}, newer than this paymentd "
            f"understands ({latest}); upgrade paymentd"
        )
    return [m for m in MIGRATIONS if m.version > current]
