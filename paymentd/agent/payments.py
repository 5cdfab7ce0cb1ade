"""An agent-started payment: its parameters, its life, its event stream, and the registry.

A payment is born when the desktop asks for it, lives while the customer's leg
is moved and the dialogue runs, and ends with a result.  Every step is an
event (``status``, ``progress``, ``call``, ``outcome``) with a sequence number;
the desktop's Server-Sent Events stream replays them from any point and then
follows live ones.  Nothing here ever holds card data: progress arrives
already masked (:class:`paymentd.capture.actions.Progress`) and outcomes carry
at most the brand and the last four digits.
"""

from __future__ import annotations

import asyncio
import datetime
import enum
import hashlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import attrs

from paymentd.agent.config import LegMode
from paymentd.capture.actions import Progress, SessionOutcome
from paymentd.money import Money

__all__ = [
    "AgentPayment",
    "IdempotencyConflict",
    "PaymentConflict",
    "PaymentEvent",
    "PaymentParameters",
    "PaymentRegistry",
    "PaymentStatus",
]


class PaymentStatus(enum.StrEnum):
    """Where a payment is in its life."""

    #: The legs are being moved; the customer has not reached paymentd yet.
    TRANSFERRING = "transferring"
    #: The dialogue runs on the customer's leg.
    CAPTURING = "capturing"
    #: The result is decided; the customer is being given back to the agent.
    RETURNING = "returning"
    FINISHED = "finished"


@attrs.frozen
class PaymentParameters:
    """What the desktop asked for (validated by :mod:`paymentd.agent.requests`)."""

    currency: str
    mode: LegMode
    #: None: the customer keys the amount.
    amount: Money | None = None
    account_id: str | None = None
    reference: str | None = None
    return_to_agent: bool = True
    #: None: whatever the call already says (``paymentd_customer_verified``).
    customer_verified: bool | None = None
    language: str | None = None

    def fingerprint(self) -> str:
        """A digest of the request, to tell a retry from a different request under one key."""
        text = json.dumps(self.as_json(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def as_json(self) -> dict[str, Any]:
        return {
            "amount": self.amount.decimal() if self.amount is not None else None,
            "currency": self.currency,
            "account_id": self.account_id,
            "reference": self.reference,
            "mode": self.mode.value,
            "return_to_agent": self.return_to_agent,
            "customer_verified": self.customer_verified,
            "language": self.language,
        }

    def channel_variables(self) -> dict[str, str]:
        """The dialogue's input variables this request sets (others come from the call)."""
        out: dict[str, str] = {"paymentd_currency": self.currency}
        if self.amount is not None:
            out["paymentd_amount"] = self.amount.decimal()
        if self.account_id is not None:
            out["paymentd_account_id"] = self.account_id
        if self.reference is not None:
            out["paymentd_reference"] = self.reference
        if self.customer_verified is not None:
            out["paymentd_customer_verified"] = "true" if self.customer_verified else "false"
        if self.language is not None:
            out["paymentd_language"] = self.language
        return out


@attrs.frozen
class PaymentEvent:
    """One entry of a payment's event stream (JSON-ready, card-free)."""

    sequence: int
    name: str
    data: dict[str, Any]

    def json(self) -> str:
        return json.dumps(self.data, separators=(",", ":"), sort_keys=True)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _iso(moment: datetime.datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


class AgentPayment:
    """One payment started from an agent desktop."""

    def __init__(
        self, payment_id: str, call_uuid: str, agent_uuid: str, parameters: PaymentParameters
    ) -> None:
        self.id = payment_id
        self.call_uuid = call_uuid
        self.agent_uuid = agent_uuid
        self.parameters = parameters
        self.created_at = _now()
        self.finished_at: datetime.datetime | None = None
        self.status = PaymentStatus.TRANSFERRING
        self.cancel_requested = False
        self.agent_left = False
        self.customer_hung_up = False
        self.returned_to_agent: bool | None = None
        self.outcome: dict[str, Any] | None = None
        self.events: list[PaymentEvent] = []
        self._changed = asyncio.Event()
        self.publish("status", {"status": self.status.value})

    @property
    def finished(self) -> bool:
        return self.status is PaymentStatus.FINISHED

    @property
    def mode(self) -> LegMode:
        return self.parameters.mode

    # -- the event stream ---------------------------------------------------------------

    def publish(self, name: str, data: dict[str, Any]) -> PaymentEvent:
        """Append an event and wake every follower."""
        event = PaymentEvent(
            len(self.events) + 1, name, {"payment_id": self.id, "at": _iso(_now()), **data}
        )
        self.events.append(event)
        self._changed.set()
        self._changed = asyncio.Event()
        return event

    async def follow(
        self, after: int = 0, *, until: asyncio.Event | None = None
    ) -> AsyncIterator[PaymentEvent]:
        """Every event with a sequence above ``after``, then live ones until the payment
        ends (or ``until`` is set: the daemon is stopping)."""
        position = max(0, after)
        while True:
            while position < len(self.events):
                event = self.events[position]
                position += 1
                yield event
            if self.finished or (until is not None and until.is_set()):
                return
            waiters = {asyncio.ensure_future(self._changed.wait())}
            if until is not None:
                waiters.add(asyncio.ensure_future(until.wait()))
            try:
                await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waiters:
                    waiter.cancel()

    # -- life ---------------------------------------------------------------------------

    def set_status(self, status: PaymentStatus) -> None:
        if self.status is status or self.finished:
            return
        self.status = status
        self.publish("status", {"status": status.value})

    def progress(self, progress: Progress) -> None:
        """Masked progress from the dialogue."""
        self.publish("progress", progress.as_dict())

    def party_left(self, party: str) -> None:
        """``agent`` or ``customer`` hung up."""
        if party == "agent":
            if self.agent_left:
                return
            self.agent_left = True
        else:
            if self.customer_hung_up:
                return
            self.customer_hung_up = True
        self.publish("call", {"party": party, "event": "hung_up"})

    def finish(
        self, outcome: SessionOutcome | None, *, result: str | None, error_type: str | None = None
    ) -> None:
        """The payment is over: record the outcome, publish it, end the stream."""
        if self.finished:
            return
        self.outcome = _outcome_json(outcome, result, error_type, self.parameters)
        self.finished_at = _now()
        self.publish("outcome", {**self.outcome, "returned_to_agent": self.returned_to_agent})
        self.status = PaymentStatus.FINISHED
        self.publish("status", {"status": self.status.value})

    def as_json(self) -> dict[str, Any]:
        """The API's view of the payment."""
        return {
            "id": self.id,
            "call_uuid": self.call_uuid,
            "agent_uuid": self.agent_uuid,
            "status": self.status.value,
            **self.parameters.as_json(),
            "created_at": _iso(self.created_at),
            "finished_at": _iso(self.finished_at),
            "cancel_requested": self.cancel_requested,
            "agent_left": self.agent_left,
            "customer_hung_up": self.customer_hung_up,
            "returned_to_agent": self.returned_to_agent,
            "outcome": self.outcome,
            "events_url": f"/v1/payments/{self.id}/events",
        }


def _outcome_json(
    outcome: SessionOutcome | None,
    result: str | None,
    error_type: str | None,
    parameters: PaymentParameters,
) -> dict[str, Any]:
    if outcome is None:
        return {
            "result": result,
            "error_type": error_type,
            "confirmation_code": None,
            "card_brand": None,
            "card_last4": None,
            "amount": parameters.amount.decimal() if parameters.amount else None,
            "currency": parameters.currency,
            "decline_count": 0,
            "charge_attempts": 0,
        }
    amount = outcome.amount or parameters.amount
    return {
        "result": outcome.result.value if outcome.result is not None else result,
        # A session without a result handed the customer over for identification.
        "error_type": outcome.error_type
        or (None if outcome.result is not None else "identification_required"),
        "confirmation_code": outcome.confirmation_code,
        "card_brand": outcome.card_brand,
        "card_last4": outcome.card_last4,
        "amount": amount.decimal() if amount is not None else None,
        "currency": amount.currency if amount is not None else parameters.currency,
        "decline_count": outcome.decline_count,
        "charge_attempts": outcome.charge_attempts,
    }


class PaymentConflict(Exception):
    """A payment already runs on this call or its agent."""

    def __init__(self, payment_id: str) -> None:
        self.payment_id = payment_id
        super().__init__("a payment is already running on this call")


class IdempotencyConflict(Exception):
    """The key was used before for a different request."""


@attrs.define
class _KeyUse:
    fingerprint: str
    expires: float
    #: The payment the first request created (resolves to None if it failed).
    payment: asyncio.Future[AgentPayment | None]


class PaymentRegistry:
    """The payments this daemon knows, by id and by call, and the idempotency keys."""

    def __init__(
        self,
        *,
        retention_seconds: float,
        idempotency_seconds: float,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._retention = retention_seconds
        self._key_ttl = idempotency_seconds
        self._clock = clock or asyncio.get_running_loop().time
        self._payments: dict[str, AgentPayment] = {}
        self._finished_at: dict[str, float] = {}
        self._keys: dict[tuple[str, str], _KeyUse] = {}

    def add(self, payment: AgentPayment) -> None:
        self._purge()
        self._payments[payment.id] = payment

    def get(self, payment_id: str) -> AgentPayment | None:
        self._purge()
        return self._payments.get(payment_id)

    def forget(self, payment: AgentPayment) -> None:
        """Drop a payment that never started (its legs were never moved)."""
        self._payments.pop(payment.id, None)

    def finished(self, payment: AgentPayment) -> None:
        """Start the retention clock of a finished payment."""
        self._finished_at[payment.id] = self._clock()

    def active_on(self, *uuids: str) -> AgentPayment | None:
        """A payment not yet finished on any of these legs."""
        for payment in self._payments.values():
            if payment.finished:
                continue
            if payment.call_uuid in uuids or payment.agent_uuid in uuids:
                return payment
        return None

    def active(self) -> list[AgentPayment]:
        return [p for p in self._payments.values() if not p.finished]

    # -- idempotency ----------------------------------------------------------------------

    def claim_key(
        self, scope: str, key: str, fingerprint: str
    ) -> asyncio.Future[AgentPayment | None] | None:
        """The future of the payment an earlier request with this key made, or None if the
        key is new (it is now reserved: call :meth:`settle_key`).  Raises
        :class:`IdempotencyConflict` if the key came with a different request."""
        self._purge()
        use = self._keys.get((scope, key))
        if use is not None:
            if use.fingerprint != fingerprint:
                raise IdempotencyConflict(key)
            return use.payment
        future: asyncio.Future[AgentPayment | None] = asyncio.get_running_loop().create_future()
        self._keys[(scope, key)] = _KeyUse(fingerprint, self._clock() + self._key_ttl, future)
        return None

    def settle_key(self, scope: str, key: str, payment: AgentPayment | None) -> None:
        """The request under this key is done: with its payment, or None if it made none
        (the key is then free for a retry)."""
        use = self._keys.get((scope, key))
        if use is None:
            return
        if payment is None:
            del self._keys[(scope, key)]
        if not use.payment.done():
            use.payment.set_result(payment)

    def _purge(self) -> None:
        now = self._clock()
        for payment_id, at in list(self._finished_at.items()):
            if now - at > self._retention:
                del self._finished_at[payment_id]
                self._payments.pop(payment_id, None)
        for scope_key, use in list(self._keys.items()):
            if use.expires < now and use.payment.done():
                del self._keys[scope_key]
