"""The body of ``POST /v1/calls/{call_uuid}/payments``, checked field by field.

Error messages name the field and never repeat its value: a desktop that
pastes a card number into ``reference`` must not see it echoed back (or
logged).  Free-text fields that hold a Luhn-valid card-number-like run of
digits are refused for the same reason: they would reach the ledger, the
logs and the event stream.
"""

from __future__ import annotations

import re
from typing import Any

from paymentd.agent.config import AgentConfig, LegMode
from paymentd.agent.payments import PaymentParameters
from paymentd.capture.config import CaptureConfig
from paymentd.logs import redact
from paymentd.money import InvalidAmount, Money

__all__ = ["InvalidRequest", "check_call_uuid", "parse_payment_request"]

#: FreeSWITCH Unique-IDs (and anything that travels inside an api command): one word.
_UUID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$")

_FIELDS = frozenset(
    {
        "amount",
        "currency",
        "account_id",
        "reference",
        "mode",
        "return_to_agent",
        "customer_verified",
        "language",
    }
)
_MAX_TEXT = 128


class InvalidRequest(ValueError):
    """The request cannot be used; the message names the field, never its value."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


def check_call_uuid(value: str) -> str:
    """A channel Unique-ID safe to put into an api command."""
    if not _UUID.match(value):
        raise InvalidRequest("call_uuid", "is not a channel Unique-ID")
    return value


def parse_payment_request(
    body: object, agent: AgentConfig, capture: CaptureConfig
) -> PaymentParameters:
    """Validate the JSON body of a payment request."""
    if not isinstance(body, dict):
        raise InvalidRequest("body", "must be a JSON object")
    unknown = sorted(set(body) - _FIELDS)
    if unknown:
        raise InvalidRequest(unknown[0], "is not a field of a payment request")

    currency = _text(body, "currency")
    currency = (currency or capture.default_currency).upper()
    if currency not in capture.currencies:
        raise InvalidRequest("currency", f"must be one of {', '.join(capture.currencies)}")

    mode_text = _text(body, "mode") or agent.default_mode
    if mode_text not in agent.modes:
        raise InvalidRequest("mode", f"must be one of {', '.join(agent.modes)}")
    mode = LegMode(mode_text)

    amount = _amount(body, currency, capture)
    return_to_agent = _flag(body, "return_to_agent")
    if mode is LegMode.MUTE and return_to_agent is False:
        # In mute mode the agent never leaves the call: there is nobody to hand over to.
        raise InvalidRequest("return_to_agent", "must be true in mute mode")

    language = _text(body, "language")
    if language is not None and language not in capture.languages:
        raise InvalidRequest("language", f"must be one of {', '.join(capture.languages)}")

    return PaymentParameters(
        currency=currency,
        mode=mode,
        amount=amount,
        account_id=_free_text(body, "account_id"),
        reference=_free_text(body, "reference"),
        return_to_agent=True if return_to_agent is None else return_to_agent,
        customer_verified=_flag(body, "customer_verified"),
        language=language,
    )


def _text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidRequest(name, "must be a string")
    return value


def _free_text(body: dict[str, Any], name: str) -> str | None:
    value = _text(body, name)
    if value is None or not value.strip():
        return None
    value = value.strip()
    if len(value) > _MAX_TEXT:
        raise InvalidRequest(name, f"must be at most {_MAX_TEXT} characters")
    if any(c.isspace() or not c.isprintable() for c in value):
        # It becomes a channel variable and a ledger column: one printable word.
        raise InvalidRequest(name, "must be printable and without spaces")
    if redact(value) != value:
        raise InvalidRequest(name, "must not contain a card number")
    return value


def _flag(body: dict[str, Any], name: str) -> bool | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise InvalidRequest(name, "must be true or false")
    return value


def _amount(body: dict[str, Any], currency: str, capture: CaptureConfig) -> Money | None:
    text = _text(body, "amount")
    if text is None:
        return None
    try:
        amount = Money.parse(text, currency)
    except InvalidAmount:
        raise InvalidRequest("amount", f"must be a decimal amount in {currency}") from None
    low, high = capture.amount.bounds(currency)
    if amount < low or (high is not None and amount > high):
        limit = f"{low.decimal()} to {high.decimal()}" if high else f"at least {low.decimal()}"
        raise InvalidRequest("amount", f"must be {limit} {currency}")
    return amount
