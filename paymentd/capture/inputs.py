"""What the call driver tells the dialogue: the inputs of :class:`PaymentDialogue`.

Every input carries ``now``: the driver's monotonic clock in seconds
(``loop.time()``), the only time the dialogue knows. See
:mod:`paymentd.capture.dialogue` for the whole driver contract.
"""

from __future__ import annotations

import attrs

from paymentd.capture.results import ErrorType
from paymentd.payments import ChargeOutcome

__all__ = [
    "DTMF_KEYS",
    "AgentCancelled",
    "AgentLeft",
    "CallHungUp",
    "ChargeAnswered",
    "DigitPressed",
    "Input",
    "InternalFailure",
    "PlaybackFinished",
    "Start",
    "TimerExpired",
]

#: Keys a DTMF event can carry.
DTMF_KEYS = frozenset("0123456789*#ABCD")


@attrs.frozen
class Start:
    """The first input, once the call is set up for capture (see the driver contract).

    ``unavailable``: the daemon cannot take a payment now (e.g. the ledger cannot record
    one); the dialogue then only tells the caller and routes the call as an internal error.
    """

    now: float
    unavailable: ErrorType | None = None


def _check_key(_inst: object, _attribute: object, value: str) -> None:
    if value not in DTMF_KEYS:
        # The key itself is left out of the message: it may be a card digit.
        raise ValueError("not a DTMF key")


@attrs.frozen
class DigitPressed:
    """One DTMF key (``DTMF-Digit``), forwarded as it arrives, whatever is playing.

    The key is masked in ``repr``: it may be a card digit.
    """

    digit: str = attrs.field(repr=False, validator=_check_key)
    now: float

    def __repr__(self) -> str:
        return f"DigitPressed(<masked>, now={self.now!r})"


@attrs.frozen
class PlaybackFinished:
    """Every part of the :class:`~paymentd.capture.actions.Play` ``play_id`` has ended:
    played out, or broken by :class:`~paymentd.capture.actions.StopPlayback`."""

    play_id: int
    now: float


@attrs.frozen
class TimerExpired:
    """The driver's clock reached :meth:`PaymentDialogue.next_deadline`. Sent early or twice, it
    changes nothing."""

    now: float


@attrs.frozen
class ChargeAnswered:
    """The gateway's answer to :class:`~paymentd.capture.actions.Charge` ``attempt_id``.

    Sent even after the caller hung up: the outcome must be recorded.
    """

    attempt_id: str
    outcome: ChargeOutcome
    now: float


@attrs.frozen
class CallHungUp:
    """The caller's leg hung up (``CHANNEL_HANGUP``) or the socket closed."""

    now: float


@attrs.frozen
class AgentCancelled:
    """The agent cancelled the payment from the desktop (agent mode)."""

    now: float


@attrs.frozen
class AgentLeft:
    """The agent hung up during the capture: the caller finishes, then goes to the
    ``agent_gone`` route instead of back to the agent."""

    now: float


@attrs.frozen
class InternalFailure:
    """The driver cannot carry on the dialogue (a command failed, audio is missing, ...).

    The dialogue stops speaking and ends with ``internal-error`` (after any charge in
    flight is answered). ``error_type`` is a short code for ``paymentd_error_type``.
    """

    error_type: str
    now: float


Input = (
    Start
    | DigitPressed
    | PlaybackFinished
    | TimerExpired
    | ChargeAnswered
    | CallHungUp
    | AgentCancelled
    | AgentLeft
    | InternalFailure
)
