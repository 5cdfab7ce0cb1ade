"""The capture funnel: how each attempt at each step of one session ended.

A pure reading of the dialogue's :class:`~paymentd.capture.actions.Progress`
notifications, one tracker per session.  A step is a field the caller keys
(``amount``, ``card_number``, ``expiry``, ``cvv``, ``postal_code``) or the
``confirm`` menu after a read-back.  An attempt opens when the step is asked for
and ends:

- ``ok``: the entry was valid (read back for confirmation, or taken), or the
  caller pressed 1 to confirm;
- ``invalid``: refused (bad Luhn, expired, wrong key in the menu, ...), with the
  error type recorded beside it;
- ``timeout``: nothing keyed in time;
- ``re-entered``: asked again without a refusal: the caller pressed 2 to
  re-enter, or chose to key another amount;
- ``abandoned``: the session ended while the step was asked (hang-up, ``*``).
"""

from __future__ import annotations

import attrs

from paymentd.capture.actions import Progress, ProgressKind
from paymentd.capture.results import ErrorType, Field
from paymentd.metrics import CONFIRM

__all__ = ["FieldAttempt", "FunnelTracker"]


@attrs.frozen
class FieldAttempt:
    """One attempt at one step, ended."""

    step: str
    outcome: str
    #: The error type of an ``invalid`` or ``timeout`` attempt.
    error: str | None = None


@attrs.frozen
class _Open:
    field: Field
    confirming: bool

    @property
    def step(self) -> str:
        return CONFIRM if self.confirming else self.field.value


class FunnelTracker:
    """Follows one session's progress; :meth:`feed` returns the attempts it ended."""

    def __init__(self) -> None:
        self._open: _Open | None = None

    def feed(self, progress: Progress) -> list[FieldAttempt]:
        """Take the next progress notification of the session."""
        field = progress.field
        match progress.kind:
            case ProgressKind.FIELD_REQUESTED if field is not None:
                ended = self._close("re-entered" if self._is_open(field) else "abandoned")
                self._open = _Open(field, confirming=False)
                return ended
            case ProgressKind.CONFIRMATION_REQUESTED if field is not None:
                ended = self._close("ok") if self._is_open(field) else []
                self._open = _Open(field, confirming=True)
                return ended
            case ProgressKind.FIELD_ACCEPTED if field is not None and self._is_open(field):
                return self._close("ok")
            case ProgressKind.FIELD_REJECTED if field is not None and self._is_open(field):
                error = progress.error
                timeout = error == ErrorType.NO_INPUT
                return self._close("timeout" if timeout else "invalid", error)
        return []

    def finish(self) -> list[FieldAttempt]:
        """The session ended: a step still asked was abandoned."""
        return self._close("abandoned")

    def _is_open(self, field: Field) -> bool:
        return self._open is not None and self._open.field is field

    def _close(self, outcome: str, error: str | None = None) -> list[FieldAttempt]:
        current, self._open = self._open, None
        if current is None:
            return []
        return [FieldAttempt(current.step, outcome, None if error is None else str(error))]
