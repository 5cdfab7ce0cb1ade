"""What a charge asks for and what can come back: the shared vocabulary of the
dialogue (which asks), the gateways (which answer) and the ledger (which records).

No card data is ever printed by these classes: the card travels in
:class:`CardDetails`, whose parts are masked types from :mod:`paymentd.cards`.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from paymentd.cards import CardNumber, Expiry, SecurityCode
    from paymentd.money import Money

__all__ = [
    "Approved",
    "CardDetails",
    "ChargeOutcome",
    "ChargeRequest",
    "DeclineReason",
    "Declined",
    "Failed",
    "Unknown",
]


class DeclineReason(enum.StrEnum):
    """The normalised decline reasons; each gateway maps its own codes onto these."""

    GENERIC = "generic"
    INCORRECT_CVC = "incorrect_cvc"
    EXPIRED_CARD = "expired_card"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    INVALID_NUMBER = "invalid_number"
    CARD_NOT_SUPPORTED = "card_not_supported"
    DO_NOT_HONOR = "do_not_honor"
    FRAUD_SUSPECTED = "fraud_suspected"


@attrs.frozen
class CardDetails:
    """The card as the caller keyed it. Every part masks itself in ``repr``/``str``."""

    number: CardNumber
    expiry: Expiry | None = None
    cvv: SecurityCode | None = None
    postal_code: str | None = attrs.field(default=None, repr=False)

    def wipe(self) -> None:
        """Overwrite the PAN and CVV in memory once they are no longer needed."""
        self.number.wipe()
        if self.cvv is not None:
            self.cvv.wipe()


@attrs.frozen
class ChargeRequest:
    """One charge attempt.

    ``idempotency_key`` is new for every attempt and the same when the very same
    attempt is retried or looked up, so a gateway never charges it twice.
    """

    attempt_id: str
    idempotency_key: str
    session_id: str
    call_uuid: str
    amount: Money
    card: CardDetails
    account_id: str | None = None
    reference: str | None = None
    #: "automated" (the caller alone) or "agent" (agent-assisted).
    mode: str = "automated"
    #: Mail order / telephone order: the card was not present.
    moto: bool = True


@attrs.frozen
class Approved:
    confirmation_code: str
    gateway_reference: str | None = None


@attrs.frozen
class Declined:
    reason: DeclineReason
    #: The provider's own code, sanitised (no card data), for the ledger.
    raw_code: str | None = None


@attrs.frozen
class Failed:
    """The gateway refused before deciding (bad request, auth, outage)."""

    retryable: bool
    detail: str = ""


@attrs.frozen
class Unknown:
    """No answer (timeout, crash): the charge may or may not have happened."""

    detail: str = ""


ChargeOutcome = Approved | Declined | Failed | Unknown
