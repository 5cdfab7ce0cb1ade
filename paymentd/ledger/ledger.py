"""The ledger: every payment session and charge attempt, recorded durably.

An attempt is written as ``pending`` *before* the gateway is asked (before the
card is even tokenized) and updated with the answer afterwards, so that after a
crash every attempt that might have charged a card is known and can be looked
up at the gateway. Final answers (approved, declined, failed) are never
overwritten; only ``pending`` and ``unknown`` attempts can still change.

The same SQL runs on SQLite and PostgreSQL (see :mod:`paymentd.ledger.database`).
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from paymentd.ledger.config import LedgerConfig
from paymentd.ledger.database import Database, LedgerError, Row
from paymentd.ledger.postgresql import PostgresDatabase
from paymentd.ledger.records import (
    AttemptRecord,
    AttemptStatus,
    LedgerSummary,
    NewAttempt,
    SessionRecord,
    status_of,
)
from paymentd.ledger.schema import CURRENT_VERSION, MIGRATIONS
from paymentd.ledger.sqlite import SqliteDatabase
from paymentd.payments import (
    Approved,
    ChargeOutcome,
    Declined,
    sanitize_detail,
    sanitize_reference,
)

__all__ = ["Ledger", "LedgerError", "open_ledger"]

Clock = Callable[[], datetime]

# Queries are assembled only from constants like these; values are always bound
# parameters (hence the ``noqa: S608`` on such queries).
_ATTEMPT_COLUMNS = (
    "attempt_id, idempotency_key, session_id, call_uuid, gateway, amount_minor, currency,"
    " brand, last4, account_id, reference, mode, status, token_ref, confirmation_code,"
    " gateway_reference, decline_reason, raw_code, detail, needs_reconciliation, owner,"
    " created_at, updated_at, resolved_at"
)
_UNRESOLVED = "(status = 'pending' OR needs_reconciliation)"


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _timestamp(value: Any) -> datetime:
    # SQLite returns our ISO text, PostgreSQL an aware datetime.
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def _maybe_timestamp(value: Any) -> datetime | None:
    return None if value is None else _timestamp(value)


def _attempt(row: Row) -> AttemptRecord:
    return AttemptRecord(
        attempt_id=row["attempt_id"],
        idempotency_key=row["idempotency_key"],
        session_id=row["session_id"],
        call_uuid=row["call_uuid"],
        gateway=row["gateway"],
        amount_minor=int(row["amount_minor"]),
        currency=row["currency"],
        brand=row["brand"],
        last4=row["last4"],
        account_id=row["account_id"],
        reference=row["reference"],
        mode=row["mode"],
        status=AttemptStatus(row["status"]),
        token_ref=row["token_ref"],
        confirmation_code=row["confirmation_code"],
        gateway_reference=row["gateway_reference"],
        decline_reason=row["decline_reason"],
        raw_code=row["raw_code"],
        detail=row["detail"],
        needs_reconciliation=bool(row["needs_reconciliation"]),
        owner=row["owner"],
        created_at=_timestamp(row["created_at"]),
        updated_at=_timestamp(row["updated_at"]),
        resolved_at=_maybe_timestamp(row["resolved_at"]),
    )


def _counts(rows: list[Row]) -> dict[str, int]:
    return {str(r["k"]): int(r["n"]) for r in rows}


class Ledger:
    """The durable record, over one :class:`~paymentd.ledger.database.Database`.

    Each open ledger is one daemon *instance* (a fresh id per process start): the
    attempts it sends carry that id, and recovery takes over only the attempts of
    instances that are no longer alive.
    """

    def __init__(self, db: Database, instance_id: str, clock: Clock = _utcnow) -> None:
        self._db = db
        self.instance_id = instance_id
        self._clock = clock

    async def close(self) -> None:
        await self._db.close()

    # --- sessions ----------------------------------------------------------------------------

    async def begin_session(
        self,
        session_id: str,
        call_uuid: str,
        mode: str,
        account_id: str | None = None,
        reference: str | None = None,
    ) -> None:
        """Record that a payment session started (a no-op if it is already recorded)."""
        await self._db.execute(
            "INSERT INTO ledger_sessions"
            " (session_id, call_uuid, mode, account_id, reference, started_at)"
            " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (session_id) DO NOTHING",
            session_id,
            call_uuid,
            mode,
            account_id,
            reference,
            self._clock(),
        )

    async def end_session(self, session_id: str, result: str) -> bool:
        """Record the session's final result (``success``, ``caller-hung-up``, ...).

        Returns False if no such session was recorded.
        """
        changed = await self._db.execute(
            "UPDATE ledger_sessions SET result = $2, ended_at = $3 WHERE session_id = $1",
            session_id,
            result,
            self._clock(),
        )
        return changed > 0

    # --- attempts ----------------------------------------------------------------------------

    async def record_pending(self, attempt: NewAttempt) -> bool:
        """Write ``attempt`` as pending (and its session, if new) in one transaction.

        Returns False, writing nothing, if its attempt id or idempotency key is
        already recorded: an attempt is sent at most once.
        """
        now = self._clock()
        _session, inserted = await self._db.transaction(
            [
                (
                    "INSERT INTO ledger_sessions"
                    " (session_id, call_uuid, mode, account_id, reference, started_at)"
                    " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (session_id) DO NOTHING",
                    (
                        attempt.session_id,
                        attempt.call_uuid,
                        attempt.mode,
                        attempt.account_id,
                        attempt.reference,
                        now,
                    ),
                ),
                (
                    f"INSERT INTO ledger_attempts ({_ATTEMPT_COLUMNS}) VALUES ($1, $2, $3, $4,"  # noqa: S608
                    " $5, $6, $7, $8, $9, $10, $11, $12, 'pending', NULL, NULL, NULL, NULL,"
                    " NULL, NULL, FALSE, $13, $14, $14, NULL) ON CONFLICT DO NOTHING",
                    (
                        attempt.attempt_id,
                        attempt.idempotency_key,
                        attempt.session_id,
                        attempt.call_uuid,
                        attempt.gateway,
                        attempt.amount_minor,
                        attempt.currency,
                        attempt.brand,
                        attempt.last4,
                        attempt.account_id,
                        attempt.reference,
                        attempt.mode,
                        self.instance_id,
                        now,
                    ),
                ),
            ]
        )
        return inserted > 0

    async def record_token(self, attempt_id: str, token_ref: str) -> None:
        """Remember the gateway's token for the card, so the attempt can be resolved without it."""
        await self._db.execute(
            "UPDATE ledger_attempts SET token_ref = $2, updated_at = $3 WHERE attempt_id = $1",
            attempt_id,
            sanitize_reference(token_ref),
            self._clock(),
        )

    async def record_outcome(self, attempt_id: str, outcome: ChargeOutcome) -> bool:
        """Record the gateway's answer; ``Unknown`` flags the attempt for reconciliation.

        Returns False if the attempt already had a final outcome (which is kept).
        """
        now = self._clock()
        status = status_of(outcome)
        unknown = status is AttemptStatus.UNKNOWN
        confirmation = reference = reason = raw_code = None
        detail: str | None = None
        match outcome:
            case Approved():
                confirmation = sanitize_reference(outcome.confirmation_code)
                reference = sanitize_reference(outcome.gateway_reference)
            case Declined():
                reason, raw_code = outcome.reason.value, outcome.raw_code
            case _:
                detail = sanitize_detail(outcome.detail) or None
        changed = await self._db.execute(
            "UPDATE ledger_attempts SET status = $2, confirmation_code = $3,"
            " gateway_reference = $4, decline_reason = $5, raw_code = $6, detail = $7,"
            " needs_reconciliation = $8, updated_at = $9, resolved_at = $10"
            " WHERE attempt_id = $1 AND status IN ('pending', 'unknown')",
            attempt_id,
            status.value,
            confirmation,
            reference,
            reason,
            raw_code,
            detail,
            unknown,
            now,
            None if unknown else now,
        )
        return changed > 0

    async def attempt(self, attempt_id: str) -> AttemptRecord | None:
        rows = await self._db.fetch(
            f"SELECT {_ATTEMPT_COLUMNS} FROM ledger_attempts WHERE attempt_id = $1",  # noqa: S608
            attempt_id,
        )
        return _attempt(rows[0]) if rows else None

    async def attempt_by_key(self, idempotency_key: str) -> AttemptRecord | None:
        rows = await self._db.fetch(
            f"SELECT {_ATTEMPT_COLUMNS} FROM ledger_attempts WHERE idempotency_key = $1",  # noqa: S608
            idempotency_key,
        )
        return _attempt(rows[0]) if rows else None

    async def unresolved(self) -> list[AttemptRecord]:
        """Attempts still pending or waiting for reconciliation, oldest first."""
        rows = await self._db.fetch(
            f"SELECT {_ATTEMPT_COLUMNS} FROM ledger_attempts WHERE {_UNRESOLVED}"  # noqa: S608
            " ORDER BY created_at, attempt_id"
        )
        return [_attempt(r) for r in rows]

    async def take_over_orphans(self) -> list[AttemptRecord]:
        """Make this instance the owner of the pending attempts of dead instances.

        Returns every attempt recovery should resolve: those just taken over and
        those flagged for reconciliation. Attempts of live instances (in flight
        on another daemon) and this instance's own are left alone.
        """
        owners = await self._db.fetch(
            "SELECT DISTINCT owner FROM ledger_attempts WHERE status = 'pending' AND owner <> $1",
            self.instance_id,
        )
        taken: list[Row] = []
        for row in owners:
            owner = row["owner"]
            if await self._db.is_alive(owner):
                continue
            # The WHERE re-checks owner: of two daemons recovering at once, one wins each row.
            taken += await self._db.fetch(
                "UPDATE ledger_attempts SET owner = $1, updated_at = $3"  # noqa: S608
                f" WHERE owner = $2 AND status = 'pending' RETURNING {_ATTEMPT_COLUMNS}",
                self.instance_id,
                owner,
                self._clock(),
            )
            await self._db.execute("DELETE FROM ledger_instances WHERE instance_id = $1", owner)
        flagged = await self._db.fetch(
            f"SELECT {_ATTEMPT_COLUMNS} FROM ledger_attempts WHERE needs_reconciliation"  # noqa: S608
        )
        rows = sorted(taken + flagged, key=lambda r: (_timestamp(r["created_at"]), r["attempt_id"]))
        return [_attempt(r) for r in rows]

    # --- reporting ---------------------------------------------------------------------------

    async def attempts(self, since: datetime, until: datetime) -> list[AttemptRecord]:
        """Attempts created in ``[since, until)``, oldest first."""
        rows = await self._db.fetch(
            f"SELECT {_ATTEMPT_COLUMNS} FROM ledger_attempts"  # noqa: S608
            " WHERE created_at >= $1 AND created_at < $2 ORDER BY created_at, attempt_id",
            since,
            until,
        )
        return [_attempt(r) for r in rows]

    async def sessions(
        self, since: datetime, until: datetime, *, limit: int | None = None, offset: int = 0
    ) -> list[SessionRecord]:
        """Sessions started in ``[since, until)``, oldest first, with their masked card.

        The card, amount and confirmation code are those of the approved attempt,
        or else of the latest one.
        """
        # SQLite has no LIMIT ALL and needs a LIMIT before an OFFSET: "all" is the largest bigint.
        page = f" LIMIT {2**63 - 1 if limit is None else int(limit)} OFFSET {int(offset)}"
        rows = await self._db.fetch(
            "SELECT s.session_id, s.call_uuid, s.mode, s.account_id, s.reference,"  # noqa: S608
            " s.started_at, s.ended_at, s.result,"
            " (SELECT count(*) FROM ledger_attempts a WHERE a.session_id = s.session_id)"
            "  AS attempts,"
            " (SELECT count(*) FROM ledger_attempts a"
            "  WHERE a.session_id = s.session_id AND a.status = 'declined') AS declines,"
            " r.amount_minor, r.currency, r.brand, r.last4, r.confirmation_code"
            " FROM ledger_sessions s LEFT JOIN ledger_attempts r ON r.attempt_id = ("
            "  SELECT a.attempt_id FROM ledger_attempts a WHERE a.session_id = s.session_id"
            "  ORDER BY CASE WHEN a.status = 'approved' THEN 0 ELSE 1 END,"
            "  a.created_at DESC LIMIT 1)"
            " WHERE s.started_at >= $1 AND s.started_at < $2"
            f" ORDER BY s.started_at, s.session_id{page}",
            since,
            until,
        )
        return [
            SessionRecord(
                session_id=r["session_id"],
                call_uuid=r["call_uuid"],
                mode=r["mode"],
                account_id=r["account_id"],
                reference=r["reference"],
                started_at=_timestamp(r["started_at"]),
                ended_at=_maybe_timestamp(r["ended_at"]),
                result=r["result"],
                attempts=int(r["attempts"]),
                declines=int(r["declines"]),
                amount_minor=None if r["amount_minor"] is None else int(r["amount_minor"]),
                currency=r["currency"],
                brand=r["brand"],
                last4=r["last4"],
                confirmation_code=r["confirmation_code"],
            )
            for r in rows
        ]

    async def summary(self, since: datetime, until: datetime) -> LedgerSummary:
        """Counts by result, mode, status, brand and decline reason; approved sums by currency.

        Sessions count by their start, attempts by their creation, in ``[since, until)``.
        """
        fetch, period = self._db.fetch, (since, until)
        in_sessions = "FROM ledger_sessions WHERE started_at >= $1 AND started_at < $2"
        in_attempts = "FROM ledger_attempts WHERE created_at >= $1 AND created_at < $2"

        def by(column: str, source: str, where: str = "") -> str:
            return f"SELECT {column} AS k, count(*) AS n {source}{where} GROUP BY {column}"

        by_result = await fetch(by("coalesce(result, 'unfinished')", in_sessions), *period)
        by_mode = await fetch(by("mode", in_sessions), *period)
        by_status = await fetch(by("status", in_attempts), *period)
        by_brand = await fetch(by("brand", in_attempts), *period)
        attempts_by_mode = await fetch(by("mode", in_attempts), *period)
        by_reason = await fetch(
            by("decline_reason", in_attempts, " AND status = 'declined'"), *period
        )
        sums = await fetch(
            f"SELECT currency AS k, sum(amount_minor) AS n {in_attempts}"
            " AND status = 'approved' GROUP BY currency",
            *period,
        )
        (open_row,) = await fetch(f"SELECT count(*) AS n {in_attempts} AND {_UNRESOLVED}", *period)
        sessions_by_result = _counts(by_result)
        attempts_by_status = _counts(by_status)
        return LedgerSummary(
            sessions=sum(sessions_by_result.values()),
            sessions_by_result=sessions_by_result,
            sessions_by_mode=_counts(by_mode),
            attempts=sum(attempts_by_status.values()),
            attempts_by_status=attempts_by_status,
            attempts_by_brand=_counts(by_brand),
            attempts_by_mode=_counts(attempts_by_mode),
            declines_by_reason=_counts(by_reason),
            approved_minor_by_currency=_counts(sums),
            needs_reconciliation=int(open_row["n"]),
        )


async def open_ledger(
    config: LedgerConfig, clock: Clock = _utcnow, *, read_only: bool = False
) -> Ledger:
    """Open the configured ledger, apply pending migrations and register this instance.

    ``read_only`` (for ``paymentd ledger ...`` beside a running daemon) skips both
    and, for SQLite, takes no lock: the ledger must exist and be migrated.
    """
    db: Database
    if config.kind == "postgresql":
        if config.dsn is None:
            raise LedgerError("the PostgreSQL ledger needs ledger.dsn")
        db = await PostgresDatabase.open(config.dsn, config.pool_size, config.connect_timeout)
    elif read_only:
        db = await SqliteDatabase.open_read_only(config.path)
    else:
        db = await SqliteDatabase.open(config.path)
    if read_only:
        return await _checked_reader(db, clock)
    try:
        await db.migrate()
        instance_id = uuid.uuid4().hex
        await db.register(instance_id, socket.gethostname(), os.getpid())
    except BaseException:
        await db.close()
        raise
    return Ledger(db, instance_id, clock)


async def _checked_reader(db: Database, clock: Clock) -> Ledger:
    try:
        rows = await db.fetch(CURRENT_VERSION)
    except Exception:
        await db.close()
        raise LedgerError(f"the {db.kind} ledger has not been created yet") from None
    if int(rows[0]["version"]) != MIGRATIONS[-1].version:
        await db.close()
        raise LedgerError(f"the {db.kind} ledger's schema is not the one this paymentd reads")
    return Ledger(db, instance_id="", clock=clock)
