"""What the dialogue is told about the call before it starts."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

import attrs

from paymentd.capture.results import Mode
from paymentd.logs import redact

__all__ = ["VARIABLES_IN", "CallInfo"]

#: The longest account id or reference passed on (the agent API's limit too).
MAX_LABEL = 128

#: The channel variables the dialogue reads (set by the dialplan, the IVR or the agent API).
VARIABLES_IN = (
    "paymentd_account_id",
    "paymentd_amount",
    "paymentd_reference",
    "paymentd_currency",
    "paymentd_customer_verified",
    "paymentd_language",
)


def _aware(_inst: object, _attribute: attrs.Attribute[Any], value: datetime.datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("started_at must carry a time zone")


def _copy(variables: Mapping[str, str]) -> dict[str, str]:
    return dict(variables)


@attrs.frozen
class CallInfo:
    """One call handed to paymentd.

    ``variables`` are the call's channel variables by name without the ``variable_``
    prefix (``{"paymentd_amount": "125.50", ...}``); only :data:`VARIABLES_IN` are read.
    ``started_at`` is the wall-clock start of the session (any time zone): the only
    calendar date the dialogue knows, converted to the configured time zone to decide
    whether a card has expired.
    """

    call_uuid: str
    #: Chosen by the caller of the dialogue (unique, e.g. a UUID4): it names the session in
    #: the ledger and the API, and every charge attempt's idempotency key derives from it.
    session_id: str
    started_at: datetime.datetime = attrs.field(validator=_aware)
    variables: Mapping[str, str] = attrs.field(factory=dict, converter=_copy, hash=False)
    mode: Mode = Mode.AUTOMATED
    #: Agent mode: give the caller back to the agent at the end (else automated routes apply).
    return_to_agent: bool = True
    #: The extension and context that run paymentd (``Caller-Destination-Number`` and
    #: ``Caller-Context``): the way back from identification.
    return_extension: str | None = None
    return_context: str | None = None

    def variable(self, name: str) -> str | None:
        """The variable's value without surrounding blanks; None if absent or empty."""
        value = self.variables.get(name, "").strip()
        return value or None

    def label(self, name: str) -> str | None:
        """A label the dialplan gives (``paymentd_account_id``, ``paymentd_reference``)
        as it may go to the gateway (Stripe's metadata) and the ledger; None if it is
        absent, longer than 128 characters, not printable, or carries what looks like a
        card number (the IVR set the wrong variable: it must go nowhere)."""
        value = self.variable(name)
        if value is None or len(value) > MAX_LABEL or not value.isprintable():
            return None
        return value if redact(value) == value else None
