"""The sandbox gateway (the default): deterministic outcomes by the published test cards.

Like a real processor it keeps its own record of charges by idempotency key,
written *before* it answers: a retry with the same key returns the first
answer instead of charging again, ``lookup`` finds what was decided even when
the answer was lost, and with ``state_path`` that record survives a restart of
the daemon, which is what a crash test needs. Latency and two fault modes
(requests lost; answers lost) exercise the timeout and recovery paths.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import sqlite3
import tomllib
from importlib.resources import files
from pathlib import Path

import attrs

from paymentd.gateways.config import SandboxConfig
from paymentd.payments import (
    Approved,
    ChargeOutcome,
    ChargeRequest,
    Declined,
    DeclineReason,
    Failed,
    Unknown,
)

__all__ = ["APPROVING_TEST_CARDS", "TEST_CARD_OUTCOMES", "SandboxCharge", "SandboxGateway"]

log = logging.getLogger(__name__)


def _load_test_cards() -> tuple[dict[str, Declined | Failed], tuple[str, ...]]:
    """Stripe's published test cards and what the sandbox does with them (sandbox_cards.toml)."""
    data = tomllib.loads(files("paymentd.gateways").joinpath("sandbox_cards.toml").read_text())
    outcomes: dict[str, Declined | Failed] = {}
    for number, decline in data["declines"].items():
        outcomes[number] = Declined(DeclineReason(decline["reason"]), decline["code"])
    for number, failure in data["failures"].items():
        outcomes[number] = Failed(retryable=failure["retryable"], detail=failure["detail"])
    return outcomes, tuple(data["approve"])


#: Card number -> outcome (any other valid card is approved), and cards known to approve.
TEST_CARD_OUTCOMES, APPROVING_TEST_CARDS = _load_test_cards()


@attrs.frozen
class SandboxCharge:
    """One attempt as the sandbox processor recorded it (card-free)."""

    idempotency_key: str
    amount_minor: int
    currency: str
    last4: str
    outcome: ChargeOutcome


def _encode(outcome: ChargeOutcome) -> str:
    return json.dumps({"kind": type(outcome).__name__, **attrs.asdict(outcome)})


def _decode(text: str) -> ChargeOutcome:
    data = json.loads(text)
    kind = data.pop("kind")
    if kind == "Approved":
        return Approved(**data)
    if kind == "Declined":
        return Declined(DeclineReason(data["reason"]), data["raw_code"])
    if kind == "Failed":
        return Failed(**data)
    return Unknown(**data)


def _charge(row: tuple[str, int, str, str, str]) -> SandboxCharge:
    key, amount_minor, currency, last4, outcome = row
    return SandboxCharge(key, amount_minor, currency, last4, _decode(outcome))


class _Record:
    """The processor's own book of charges: in memory, or in a small SQLite file."""

    def __init__(self, path: str | None) -> None:
        self._memory: dict[str, SandboxCharge] = {}
        self._path = path
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as conn:
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS sandbox_charges (idempotency_key TEXT PRIMARY KEY,"
                    " amount_minor INTEGER, currency TEXT, last4 TEXT, outcome TEXT)"
                )

    def _connect(self) -> sqlite3.Connection:
        assert self._path is not None
        conn = sqlite3.connect(self._path, timeout=10)
        conn.execute("PRAGMA synchronous=FULL")
        return conn

    def _store(self, charge: SandboxCharge) -> SandboxCharge:
        """Keep ``charge`` unless its key is known; return what is on record for the key."""
        if self._path is None:
            return self._memory.setdefault(charge.idempotency_key, charge)
        with self._connect() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO sandbox_charges VALUES (?, ?, ?, ?, ?)",
                (
                    charge.idempotency_key,
                    charge.amount_minor,
                    charge.currency,
                    charge.last4,
                    _encode(charge.outcome),
                ),
            )
        found = self._find(charge.idempotency_key)
        assert found is not None
        return found

    def _find(self, key: str) -> SandboxCharge | None:
        if self._path is None:
            return self._memory.get(key)
        with self._connect() as conn:
            row = conn.execute(
                "SELECT idempotency_key, amount_minor, currency, last4, outcome"
                " FROM sandbox_charges WHERE idempotency_key = ?",
                (key,),
            ).fetchone()
        return None if row is None else _charge(row)

    def _all(self) -> list[SandboxCharge]:
        if self._path is None:
            return list(self._memory.values())
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT idempotency_key, amount_minor, currency, last4, outcome"
                " FROM sandbox_charges ORDER BY rowid"
            ).fetchall()
        return [_charge(row) for row in rows]

    async def store(self, charge: SandboxCharge) -> SandboxCharge:
        return await asyncio.to_thread(self._store, charge)

    async def find(self, key: str) -> SandboxCharge | None:
        return await asyncio.to_thread(self._find, key)

    async def all(self) -> list[SandboxCharge]:
        return await asyncio.to_thread(self._all)


class SandboxGateway:
    """A pretend processor: no network, no money, every outcome on demand."""

    name = "sandbox"

    def __init__(self, config: SandboxConfig, timeout_seconds: float) -> None:
        self._config = config
        self._timeout = timeout_seconds
        self._record = _Record(config.state_path)

    async def charge(self, request: ChargeRequest) -> ChargeOutcome:
        if self._config.fault == "timeout":
            # The request is lost on its way: nothing is recorded, no answer comes.
            await asyncio.sleep(self._timeout)
            return Unknown(f"no answer from the sandbox within {self._timeout:g} s")
        decided = SandboxCharge(
            idempotency_key=request.idempotency_key,
            amount_minor=request.amount.minor,
            currency=request.amount.currency,
            last4=request.card.number.last4,
            outcome=self._decide(request),
        )
        # Recorded before answering: a replayed key gets the first answer, not a new charge.
        recorded = await self._record.store(decided)
        if self._config.fault == "lost-answer" or self._config.latency_seconds >= self._timeout:
            # Charged, but the answer comes too late (or never): the caller times out.
            await asyncio.sleep(self._timeout)
            return Unknown(f"no answer from the sandbox within {self._timeout:g} s")
        await asyncio.sleep(self._config.latency_seconds)
        log.info(
            "sandbox answered",
            extra={"attempt_id": request.attempt_id, "outcome": type(recorded.outcome).__name__},
        )
        return recorded.outcome

    @staticmethod
    def _decide(request: ChargeRequest) -> ChargeOutcome:
        outcome = TEST_CARD_OUTCOMES.get(request.card.number.reveal())
        if outcome is not None:
            return outcome
        digest = hashlib.sha256(request.idempotency_key.encode()).hexdigest()
        return Approved(confirmation_code=f"SBX{digest[:8].upper()}", gateway_reference=digest[:32])

    async def lookup(self, idempotency_key: str) -> ChargeOutcome | None:
        found = await self._record.find(idempotency_key)
        return None if found is None else found.outcome

    async def charges(self) -> list[SandboxCharge]:
        """Everything the sandbox has recorded, oldest first (for tests and demos)."""
        return await self._record.all()

    async def close(self) -> None:
        """Nothing to release: the record file is opened per operation."""
