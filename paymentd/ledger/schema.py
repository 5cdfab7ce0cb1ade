"""The ledger schema as numbered migrations, applied in order when the ledger opens.

The same statements run on SQLite and PostgreSQL: the column types are chosen
so that both accept them (SQLite maps ``TIMESTAMPTZ`` and ``BOOLEAN`` to numeric
affinity and keeps our fixed-width ISO-8601 UTC text as it is). A migration is
never edited once released; a change is a new migration.
"""

from __future__ import annotations

import attrs

__all__ = ["MIGRATIONS", "SCHEMA_TABLE", "Migration"]

#: Holds one row per applied migration.
SCHEMA_TABLE = """
CREATE TABLE IF NOT EXISTS ledger_schema (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL
)
"""

CURRENT_VERSION = "SELECT coalesce(max(version), 0) AS version FROM ledger_schema"


@attrs.frozen
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "sessions, attempts and daemon instances",
        (
            """
            CREATE TABLE ledger_sessions (
                session_id TEXT PRIMARY KEY,
                call_uuid TEXT NOT NULL,
                mode TEXT NOT NULL,
                account_id TEXT,
                reference TEXT,
                started_at TIMESTAMPTZ NOT NULL,
                ended_at TIMESTAMPTZ,
                result TEXT
            )
            """,
            "CREATE INDEX ledger_sessions_started_at ON ledger_sessions (started_at)",
            """
            CREATE TABLE ledger_attempts (
                attempt_id TEXT PRIMARY KEY,
                idempotency_key TEXT NOT NULL UNIQUE,
                session_id TEXT NOT NULL REFERENCES ledger_sessions (session_id),
                call_uuid TEXT NOT NULL,
                gateway TEXT NOT NULL,
                amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
                currency TEXT NOT NULL,
                brand TEXT NOT NULL,
                last4 TEXT NOT NULL CHECK (length(last4) = 4),
                account_id TEXT,
                reference TEXT,
                mode TEXT NOT NULL,
                status TEXT NOT NULL CHECK (
                    status IN ('pending', 'approved', 'declined', 'failed', 'unknown')
                ),
                token_ref TEXT,
                confirmation_code TEXT,
                gateway_reference TEXT,
                decline_reason TEXT,
                raw_code TEXT,
                detail TEXT,
                needs_reconciliation BOOLEAN NOT NULL DEFAULT FALSE,
                owner TEXT NOT NULL,
                created_at TIMESTAMPTZ NOT NULL,
                updated_at TIMESTAMPTZ NOT NULL,
                resolved_at TIMESTAMPTZ
            )
            """,
            "CREATE INDEX ledger_attempts_session ON ledger_attempts (session_id)",
            "CREATE INDEX ledger_attempts_created_at ON ledger_attempts (created_at)",
            "CREATE INDEX ledger_attempts_status ON ledger_attempts (status)",
            # One row per running daemon: recovery takes over only the attempts of dead ones.
            """
            CREATE TABLE ledger_instances (
                instance_id TEXT PRIMARY KEY,
                lock_key BIGINT NOT NULL,
                hostname TEXT NOT NULL,
                pid INTEGER NOT NULL,
                started_at TIMESTAMPTZ NOT NULL
            )
            """,
        ),
    ),
)
