"""What the ledger stores and returns: card-free records of sessions and attempts.

A record carries the brand and the last four digits of the card, never the
PAN, the security code or the expiry: those never reach this module.
"""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

from paymentd.payments import (
    Approved,
    ChargeOutcome,
    ChargeRequest,
    Declined,
    DeclineReason,
    Failed,
    Unknown,
)

__all__ = [
    "AttemptRecord",
    "AttemptStatus",
    "LedgerSummary",
    "NewAttempt",
    "SessionRecord",
    "status_of",
]


class AttemptStatus(enum.StrEnum):
    """Where an attempt stands. ``pending`` is written before the gateway is asked."""

    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"
    FAILED = "failed"
    UNKNOWN = "unknown"


def status_of(outcome: ChargeOutcome) -> AttemptStatus:
    """The ledger status that records ``outcome``."""
    match outcome:
        case Approved():
            return AttemptStatus.APPROVED
        case Declined():
            return AttemptStatus.DECLINED
        case Failed():
            return AttemptStatus.FAILED
        case Unknown():
            return AttemptStatus.UNKNOWN


@attrs.frozen
class NewAttempt:
    """The card-free part of a :class:`ChargeRequest`, as recorded before charging."""

    attempt_id: str
    idempotency_key: str
    session_id: str
    call_uuid: str
    amount_minor: int
    currency: str
    brand: str
    last4: str
    account_id: str | None
    reference: str | None
    mode: str
    gateway: str

    @classmethod
    def from_request(cls, request: ChargeRequest, gateway: str) -> NewAttempt:
        """Take from ``request`` only what may be stored: brand and last 4, never the card."""
        number = request.card.number
        return cls(
            attempt_id=request.attempt_id,
            idempotency_key=request.idempotency_key,
            session_id=request.session_id,
            call_uuid=request.call_uuid,
            amount_minor=request.amount.minor,
            currency=request.amount.currency,
            brand=number.brand.id,
            last4=number.last4,
            account_id=request.account_id,
            reference=request.reference,
            mode=request.mode,
            gateway=gateway,
        )


@attrs.frozen
class AttemptRecord:
    """One charge attempt as the ledger holds it."""

    attempt_id: str
    idempotency_key: str
    session_id: str
    call_uuid: str
    gateway: str
    amount_minor: int
    currency: str
    brand: str
    last4: str
    account_id: str | None
    reference: str | None
    mode: str
    status: AttemptStatus
    #: The gateway's token for the card (e.g. a Stripe PaymentMethod id), once tokenized.
    token_ref: str | None
    confirmation_code: str | None
    gateway_reference: str | None
    decline_reason: str | None
    #: The provider's own code, sanitised.
    raw_code: str | None
    #: Why it failed or is unknown, in our words (never the gateway's text).
    detail: str | None
    #: The outcome could not be established: a person must check with the gateway.
    needs_reconciliation: bool
    #: The daemon instance that sent it (recovery only takes over dead instances' attempts).
    owner: str
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None

    def outcome(self) -> ChargeOutcome | None:
        """The recorded outcome, or None while the attempt is still pending."""
        match self.status:
            case AttemptStatus.APPROVED:
                return Approved(self.confirmation_code or "", self.gateway_reference)
            case AttemptStatus.DECLINED:
                return Declined(DeclineReason(self.decline_reason or "generic"), self.raw_code)
            case AttemptStatus.FAILED:
                return Failed(retryable=False, detail=self.detail or "")
            case AttemptStatus.UNKNOWN:
                return Unknown(self.detail or "")
            case AttemptStatus.PENDING:
                return None


@attrs.frozen
class SessionRecord:
    """One payment session (one secure segment of a call), masked."""

    session_id: str
    call_uuid: str
    mode: str
    account_id: str | None
    reference: str | None
    started_at: datetime
    ended_at: datetime | None
    #: The dialogue's final result (``success``, ``declined``, ``caller-hung-up``, ...).
    result: str | None
    attempts: int
    declines: int
    #: From the approved attempt, if any (else the last attempt's card and amount).
    amount_minor: int | None
    currency: str | None
    brand: str | None
    last4: str | None
    confirmation_code: str | None


@attrs.frozen
class LedgerSummary:
    """Counts and sums over a period, the numbers behind ``paymentd report``."""

    sessions: int
    sessions_by_result: dict[str, int]
    sessions_by_mode: dict[str, int]
    attempts: int
    attempts_by_status: dict[str, int]
    attempts_by_brand: dict[str, int]
    attempts_by_mode: dict[str, int]
    declines_by_reason: dict[str, int]
    #: Sum of approved amounts in minor units, per currency.
    approved_minor_by_currency: dict[str, int]
    #: Attempts in the period still pending or waiting for a person to reconcile them.
    needs_reconciliation: int
