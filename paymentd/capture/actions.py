"""What the dialogue asks the call driver to do: the actions of :class:`PaymentDialogue`.

The driver carries them out in the order given. See :mod:`paymentd.capture.dialogue`
for the whole driver contract. No action carries card data except where it must:
the digits inside a sensitive read-back utterance (``SayDigits``/``SayMonthYear``
with ``sensitive=True``, to be rendered into opaque audio) and the card of a
:class:`Charge` (for the gateway). Every ``repr`` is masked.
"""

from __future__ import annotations

import enum

import attrs

from paymentd.capture.config import Route
from paymentd.capture.results import Field, Result
from paymentd.money import Money
from paymentd.payments import ChargeRequest
from paymentd.speech.utterances import Utterance

__all__ = [
    "Action",
    "Charge",
    "Finished",
    "Hangup",
    "Play",
    "PlayHold",
    "Progress",
    "ProgressKind",
    "Resume",
    "ReturnToAgent",
    "SessionOutcome",
    "SetVariables",
    "StopPlayback",
    "Transfer",
]


@attrs.frozen
class Play:
    """Say ``utterances`` one after the other, then report ``PlaybackFinished(play_id)``.

    Sensitive utterances (``paymentd.speech.utterances.is_sensitive``) must be played
    from audio whose name carries no digits. At most one Play is outstanding at a time:
    the next comes only after the previous one's ``PlaybackFinished``.
    """

    play_id: int
    utterances: tuple[Utterance, ...]


@attrs.frozen
class PlayHold:
    """Play hold audio round and round (the gateway is slow) until :class:`StopPlayback`;
    then report ``PlaybackFinished(play_id)`` like any Play."""

    play_id: int


@attrs.frozen
class StopPlayback:
    """Break Play ``play_id`` now (barge-in), including any part of it not yet started.

    If it has already ended, do nothing. Its ``PlaybackFinished`` is still expected
    (once).
    """

    play_id: int


@attrs.frozen
class Charge:
    """Send ``request`` to the gateway once; answer with ``ChargeAnswered(attempt_id, ...)``.

    The request's card is a copy: the gateway may wipe it once sent, and the dialogue
    wipes it when the answer is fed.
    """

    request: ChargeRequest

    @property
    def attempt_id(self) -> str:
        return self.request.attempt_id


@attrs.frozen
class SetVariables:
    """Set these channel variables on the caller's leg (an empty value unsets one).

    Sent before the call leaves paymentd; never card data.
    """

    variables: tuple[tuple[str, str], ...]

    def as_dict(self) -> dict[str, str]:
        return dict(self.variables)


@attrs.frozen
class Resume:
    """Hand the call back to the dialplan: close the socket so the action after ``socket``
    runs."""


@attrs.frozen
class Transfer:
    """Transfer the call (``transfer <extension> <dialplan> <context>``)."""

    extension: str
    context: str
    dialplan: str = "XML"


@attrs.frozen
class Hangup:
    cause: str = "NORMAL_CLEARING"


@attrs.frozen
class ReturnToAgent:
    """Give the caller back to the agent who started the payment (agent mode)."""


class ProgressKind(enum.StrEnum):
    STARTED = "started"
    IDENTIFICATION_REQUIRED = "identification_required"
    #: A field is asked for (again): ``field``, ``attempt``, ``max_attempts``, ``fields_remaining``.
    FIELD_REQUESTED = "field_requested"
    #: Another key of the field: ``digits_entered`` (a count, never the digits).
    DIGITS_ENTERED = "digits_entered"
    #: The entry was refused: ``error``, ``attempt``.
    FIELD_REJECTED = "field_rejected"
    #: The entry is read back and the caller asked to confirm it.
    CONFIRMATION_REQUESTED = "confirmation_requested"
    #: The field is done: with ``card_brand``/``card_last4`` or ``amount``/``currency``.
    FIELD_ACCEPTED = "field_accepted"
    #: A charge was sent: ``attempt`` is the charge attempt.
    PROCESSING = "processing"
    #: ``error`` is the decline reason, ``decline_count`` the declines so far.
    DECLINED = "declined"
    #: The session's result is decided: ``result``, ``error``.
    FINISHED = "finished"


@attrs.frozen
class Progress:
    """A masked progress notification for the agent desktop (SSE) and logs.

    It never holds a card digit beyond the last four, nor a CVV or expiry.
    """

    kind: ProgressKind
    field: Field | None = None
    attempt: int | None = None
    max_attempts: int | None = None
    digits_entered: int | None = None
    fields_remaining: tuple[Field, ...] | None = None
    card_brand: str | None = None
    card_last4: str | None = None
    amount: str | None = None
    currency: str | None = None
    error: str | None = None
    decline_count: int | None = None
    result: Result | None = None

    def as_dict(self) -> dict[str, object]:
        """The set fields as JSON-ready values (enums as strings, tuples as lists)."""
        out: dict[str, object] = {}
        for attribute in attrs.fields(Progress):
            value = getattr(self, attribute.name)
            if value is None:
                continue
            if isinstance(value, tuple):
                value = [str(v) for v in value]
            elif isinstance(value, enum.Enum):
                value = str(value)
            out[attribute.name] = value
        return out


@attrs.frozen
class SessionOutcome:
    """How the session ended, for the ledger, the agent desktop and metrics."""

    #: None when the caller was handed over to identification before any payment.
    result: Result | None
    session_id: str
    #: The output channel variables (set on the call unless it hung up).
    variables: tuple[tuple[str, str], ...]
    error_type: str | None = None
    confirmation_code: str | None = None
    card_brand: str | None = None
    card_last4: str | None = None
    amount: Money | None = None
    decline_count: int = 0
    charge_attempts: int = 0
    #: The caller hung up before the session ended (the result may still be a success
    #: if the charge was already in flight).
    hung_up: bool = False
    #: Where the call went; None if it hung up.
    route: Route | None = None


@attrs.frozen
class Finished:
    """The last action: nothing follows, and every later input is ignored."""

    outcome: SessionOutcome


Action = (
    Play
    | PlayHold
    | StopPlayback
    | Charge
    | SetVariables
    | Resume
    | Transfer
    | Hangup
    | ReturnToAgent
    | Progress
    | Finished
)
