"""The dialogue's voice: one playback outstanding at a time, the rest queued.

Keeping a single playback outstanding makes barge-in safe: a
:class:`~paymentd.capture.actions.StopPlayback` that reaches FreeSWITCH late can
only break the playback it names, never the next one, because the next one is
not started before the previous one's ``PlaybackFinished``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable

import attrs

from paymentd.capture.actions import Action, Play, PlayHold, StopPlayback
from paymentd.speech.utterances import Utterance

__all__ = ["Kind", "Speaker"]


class Kind(enum.Enum):
    #: Asks for keys: the caller's first key breaks it (barge-in).
    PROMPT = enum.auto()
    #: Tells something (processing, result): plays out.
    INFO = enum.auto()
    #: Hold audio while the gateway is slow: plays until stopped.
    HOLD = enum.auto()


@attrs.define
class _Item:
    action: Play | PlayHold
    kind: Kind
    stopping: bool = False

    @property
    def play_id(self) -> int:
        return self.action.play_id


class Speaker:
    """Turns "say this" into Play/PlayHold/StopPlayback actions in a safe order."""

    def __init__(self) -> None:
        self._next_id = 1
        self._current: _Item | None = None
        self._queue: list[_Item] = []
        self._silent = False

    @property
    def idle(self) -> bool:
        """Nothing playing and nothing waiting to play."""
        return self._current is None and not self._queue

    def say(self, utterances: Iterable[Utterance], kind: Kind) -> tuple[int, list[Action]]:
        """Queue ``utterances``; returns the play id and the actions to emit now."""
        return self._add(lambda play_id: Play(play_id, tuple(utterances)), kind)

    def hold(self) -> tuple[int, list[Action]]:
        return self._add(PlayHold, Kind.HOLD)

    def barge_in(self) -> list[Action]:
        """The caller pressed a key that answers the prompt: stop it and skip waiting prompts."""
        return self.interrupt({Kind.PROMPT})

    def interrupt(self, kinds: set[Kind]) -> list[Action]:
        """Stop what plays and drop what waits, if it is of one of ``kinds``."""
        self._queue = [item for item in self._queue if item.kind not in kinds]
        current = self._current
        if current is None or current.kind not in kinds or current.stopping:
            return []
        current.stopping = True
        return [StopPlayback(current.play_id)]

    def finished(self, play_id: int) -> list[Action]:
        """Play ``play_id`` ended: start the next one. Unknown or stale ids are ignored."""
        if self._current is None or self._current.play_id != play_id:
            return []
        self._current = None
        return self._start_next()

    def silence(self) -> None:
        """Say nothing more (the call hung up or the driver cannot play): forget everything."""
        self._silent = True
        self._current = None
        self._queue.clear()

    def _add(self, make: Callable[[int], Play | PlayHold], kind: Kind) -> tuple[int, list[Action]]:
        play_id = self._next_id
        self._next_id += 1
        if self._silent:
            return play_id, []
        self._queue.append(_Item(make(play_id), kind))
        if self._current is not None:
            return play_id, []
        return play_id, self._start_next()

    def _start_next(self) -> list[Action]:
        if not self._queue:
            return []
        self._current = self._queue.pop(0)
        return [self._current.action]
