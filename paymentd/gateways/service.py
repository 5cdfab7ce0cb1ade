"""The charging service: the one thing the call driver calls to take a payment.

``await service.charge(request)`` does, in order:

1. write the attempt to the ledger as ``pending`` (no ledger row, no charge);
2. for a tokenizing gateway (Stripe): tokenize, record the token, wipe the card;
3. ask the gateway, once, with the attempt's idempotency key;
4. on no answer (``Unknown``): look the key up at the gateway a few times;
5. record the outcome in the ledger; the card is wiped as soon as the gateway
   has answered, whatever the answer.

The charge runs in a task of its own, shielded from the caller: a hang-up that
cancels the call's task does not abandon a charge half-way; it completes and is
recorded. An outcome that stays unknown is flagged for reconciliation.

``await service.recover()`` must run before new calls are taken: every attempt
left pending by a daemon that died (and every one flagged for reconciliation)
is looked up with its idempotency key and resolved, or flagged.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import aiohttp
import attrs

from paymentd.gateways.base import Gateway, Token, TokenizingGateway
from paymentd.gateways.config import GatewayConfig
from paymentd.gateways.factory import create_gateway
from paymentd.ledger import AttemptRecord, Ledger, LedgerConfig, NewAttempt, open_ledger
from paymentd.ledger.records import status_of
from paymentd.payments import ChargeOutcome, ChargeRequest, Failed, Unknown

__all__ = ["ChargingService", "RecoveryReport", "open_charging"]

log = logging.getLogger(__name__)

#: Written for an attempt the gateway has no record of, long after it was sent.
NOT_CHARGED = "the gateway has no record of this attempt: nothing was charged"
NEVER_SENT = "the charge was never sent (no token was recorded): nothing was charged"


@attrs.frozen
class RecoveryReport:
    """What :meth:`ChargingService.recover` found and did."""

    #: Attempts examined: taken over from dead daemons, or flagged earlier.
    examined: int
    #: Attempt id -> the status it was resolved to.
    resolved: dict[str, str]
    #: Attempts whose outcome still cannot be established (flagged for reconciliation).
    unresolved: list[str]


class ChargingService:
    """Charges through one gateway, recording every attempt in the ledger."""

    def __init__(
        self,
        ledger: Ledger,
        gateway: Gateway,
        config: GatewayConfig,
    ) -> None:
        self.ledger = ledger
        self.gateway = gateway
        self._config = config
        self._in_flight: set[asyncio.Task[ChargeOutcome]] = set()

    # --- sessions (for the call driver) -------------------------------------------------------

    async def begin_session(
        self,
        session_id: str,
        call_uuid: str,
        mode: str,
        account_id: str | None = None,
        reference: str | None = None,
    ) -> None:
        """Record the start of a payment session (see :meth:`Ledger.begin_session`)."""
        await self.ledger.begin_session(session_id, call_uuid, mode, account_id, reference)

    async def end_session(self, session_id: str, result: str) -> None:
        """Record the session's final ``paymentd_result``."""
        await self.ledger.end_session(session_id, result)

    # --- charging -----------------------------------------------------------------------------

    async def charge(self, request: ChargeRequest) -> ChargeOutcome:
        """Charge ``request`` exactly once and return the outcome; never raises for payment trouble.

        A request whose idempotency key was already used is not sent again: its
        recorded outcome is returned (``Unknown`` while it is unresolved).
        """
        task = asyncio.create_task(self._charge(request), name=f"charge-{request.attempt_id}")
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)
        return await asyncio.shield(task)

    async def _charge(self, request: ChargeRequest) -> ChargeOutcome:
        attempt = NewAttempt.from_request(request, self.gateway.name)
        context = {"attempt_id": request.attempt_id, "session_id": request.session_id}
        try:
            try:
                recorded = await self.ledger.record_pending(attempt)
            except Exception as exc:
                log.error(
                    "ledger unavailable, not charging (%s)", type(exc).__name__, extra=context
                )
                return Failed(retryable=True, detail="the ledger could not record the attempt")
            if not recorded:
                return await self._replayed(request.idempotency_key)
            outcome = await self._ask(request)
        finally:
            request.card.wipe()
        if isinstance(outcome, Unknown):
            outcome = await self._settle(request.idempotency_key, outcome)
        try:
            await self.ledger.record_outcome(request.attempt_id, outcome)
        except Exception as exc:
            # The row stays pending; recovery at the next start looks it up again.
            log.error(
                "ledger unavailable, outcome not recorded (%s)", type(exc).__name__, extra=context
            )
        log.info("charge finished: %s", type(outcome).__name__, extra=context)
        return outcome

    async def _replayed(self, idempotency_key: str) -> ChargeOutcome:
        existing = await self.ledger.attempt_by_key(idempotency_key)
        recorded = existing.outcome() if existing is not None else None
        return recorded or Unknown("this attempt is already in flight")

    async def _ask(self, request: ChargeRequest) -> ChargeOutcome:
        """One gateway round (tokenize first where the gateway does)."""
        gateway = self.gateway
        try:
            if not isinstance(gateway, TokenizingGateway):
                return await gateway.charge(request)
            token = await gateway.tokenize(request)
            if not isinstance(token, Token):
                return token
            try:
                await self.ledger.record_token(request.attempt_id, token.id)
            except Exception:
                # Nothing is charged yet: better no charge than one we cannot trace.
                return Failed(retryable=True, detail="the ledger could not record the token")
            request.card.wipe()
            return await gateway.charge_token(request, token)
        except Exception as exc:
            # A gateway bug must not lose the attempt; its message might quote the request.
            log.error(
                "gateway raised %s", type(exc).__name__, extra={"attempt_id": request.attempt_id}
            )
            return Unknown(f"the gateway failed ({type(exc).__name__})")

    async def _lookup(self, idempotency_key: str) -> ChargeOutcome | None:
        try:
            return await self.gateway.lookup(idempotency_key)
        except Exception as exc:
            return Unknown(f"lookup failed ({type(exc).__name__})")

    async def _settle(self, idempotency_key: str, unknown: Unknown) -> ChargeOutcome:
        """After no answer: ask the gateway what became of the key, a few times."""
        for round_ in range(self._config.lookup_attempts):
            if round_:
                await asyncio.sleep(self._config.lookup_interval_seconds)
            found = await self._lookup(idempotency_key)
            if found is not None and not isinstance(found, Unknown):
                return found
        # "No record" right after a timeout may mean "still on its way": not proof of no charge.
        return Unknown(f"{unknown.detail}; the lookup found no outcome")

    # --- recovery -----------------------------------------------------------------------------

    async def recover(self) -> RecoveryReport:
        """Resolve every attempt left pending by a dead daemon or flagged for reconciliation.

        Call it before taking calls. An attempt the gateway has no record of is
        "not charged" once it is older than ``settle_seconds`` (recovery waits
        for younger ones); one that cannot be established stays flagged.
        """
        attempts = await self.ledger.take_over_orphans()
        outcomes: dict[str, ChargeOutcome] = {}
        young: list[AttemptRecord] = []
        tokenizing = isinstance(self.gateway, TokenizingGateway)
        for record in attempts:
            if tokenizing and record.token_ref is None:
                # The token is recorded before the charge is sent (see _ask): without
                # one, nothing was charged, and no lookup has to prove it (a lookup
                # that cannot scan a busy account's history would leave it flagged).
                outcomes[record.attempt_id] = Failed(False, NEVER_SENT)
                continue
            found = await self._lookup(record.idempotency_key)
            if found is None and self._age(record) < self._config.settle_seconds:
                young.append(record)
            else:
                outcomes[record.attempt_id] = Failed(False, NOT_CHARGED) if found is None else found
        if young:
            await asyncio.sleep(max(self._config.settle_seconds - self._age(r) for r in young))
            for record in young:
                found = await self._lookup(record.idempotency_key)
                outcomes[record.attempt_id] = Failed(False, NOT_CHARGED) if found is None else found
        resolved: dict[str, str] = {}
        unresolved: list[str] = []
        for attempt_id, outcome in outcomes.items():
            await self.ledger.record_outcome(attempt_id, outcome)
            if isinstance(outcome, Unknown):
                unresolved.append(attempt_id)
                log.warning("attempt needs reconciliation", extra={"attempt_id": attempt_id})
            else:
                resolved[attempt_id] = status_of(outcome).value
        log.info(
            "recovery finished: %d examined, %d resolved, %d need reconciliation",
            len(attempts),
            len(resolved),
            len(unresolved),
        )
        return RecoveryReport(len(attempts), resolved, unresolved)

    @staticmethod
    def _age(record: AttemptRecord) -> float:
        return (datetime.now(UTC) - record.created_at).total_seconds()

    # --- lifecycle ----------------------------------------------------------------------------

    async def close(self) -> None:
        """Let charges in flight finish and be recorded, then close the gateway and ledger."""
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)
        await self.gateway.close()
        await self.ledger.close()


async def open_charging(
    gateway: GatewayConfig, ledger: LedgerConfig, session: aiohttp.ClientSession
) -> ChargingService:
    """Open the configured ledger and gateway (the caller runs :meth:`~ChargingService.recover`)."""
    opened = await open_ledger(ledger)
    return ChargingService(opened, create_gateway(gateway, session), gateway)
