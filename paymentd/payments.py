"""What a charge asks for and what can come back: the shared vocabulary of the
dialogue (which asks), the gateways (which answer) and the ledger (which records).

No card data is ever printed by these classes: the card travels in
:class:`CardDetails`, whose parts are masked types from :mod:`paymentd.cards`.
"""

from __future__ import annotations

import enum
import re
from typing import TYPE_CHECKING

import attrs

from paymentd.cards import luhn_valid

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
    "sanitize_code",
    "sanitize_detail",
    "sanitize_reference",
]

# Any run of 12 or more digits, even grouped by spaces or dashes, could be a card number.
_LONG_DIGITS = re.compile(r"\d(?:[ -]?\d){11,}")
_NOT_CODE = re.compile(r"[^A-Za-z0-9_.:-]")
_NOT_PRINTABLE = re.compile(r"[^\x20-\x7e]")


def sanitize_code(value: str | None) -> str | None:
    """A provider's code reduced to a short token safe to store and log.

    Only ``[A-Za-z0-9_.:-]`` is kept, at most 64 characters, and any long digit
    run is masked, so a gateway that echoes a card number cannot leak it.
    """
    if value is None:
        return None
    cleaned = _LONG_DIGITS.sub("#", _NOT_CODE.sub("", str(value)))[:64]
    return cleaned or None


# A run of digits as long as a card number.
_CARD_LENGTH_DIGITS = re.compile(r"(?<!\d)\d{13,19}(?!\d)")


def _mask_card_like(match: re.Match[str]) -> str:
    return "#" if luhn_valid(match.group(0)) else match.group(0)


def sanitize_reference(value: str | None) -> str | None:
    """A gateway's confirmation code or reference, made safe to store and log.

    Only ``[A-Za-z0-9_.:-]`` is kept, at most 64 characters. Numeric references
    are common (and needed for reconciliation), so only a digit run that would
    pass for a card number (13-19 digits with a valid Luhn check) is masked.
    """
    if value is None:
        return None
    cleaned = _CARD_LENGTH_DIGITS.sub(_mask_card_like, _NOT_CODE.sub("", str(value))[:64])
    return cleaned or None


def _confirmation(value: str) -> str:
    return sanitize_reference(value) or ""


def sanitize_detail(value: str) -> str:
    """Free text (our own words about a failure) made safe to store and log."""
    return _LONG_DIGITS.sub("[digits]", _NOT_PRINTABLE.sub("?", value))[:200]


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
    #: Both sanitised: see :func:`sanitize_reference`.
    confirmation_code: str = attrs.field(converter=_confirmation)
    gateway_reference: str | None = attrs.field(default=None, converter=sanitize_reference)


@attrs.frozen
class Declined:
    reason: DeclineReason
    #: The provider's own code, sanitised (no card data), for the ledger.
    raw_code: str | None = attrs.field(default=None, converter=sanitize_code)


@attrs.frozen
class Failed:
    """The gateway refused before deciding (bad request, auth, outage)."""

    retryable: bool
    detail: str = attrs.field(default="", converter=sanitize_detail)


@attrs.frozen
class Unknown:
    """No answer (timeout, crash): the charge may or may not have happened."""

    detail: str = attrs.field(default="", converter=sanitize_detail)


ChargeOutcome = Approved | Declined | Failed | Unknown
