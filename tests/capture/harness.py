"""A scripted call around :class:`PaymentDialogue`: a driver that keeps the contract.

It plays what the dialogue asks (a Play lasts until the test lets it finish),
presses keys, lets time pass and answers charges, asserting the driver contract
as it goes: at most one playback outstanding, every prompt name in the list the
speech layer records. Every action and input is kept for the leak scan.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from paymentd.capture.actions import (
    Action,
    Charge,
    Finished,
    Play,
    PlayHold,
    Progress,
    ProgressKind,
    SessionOutcome,
    SetVariables,
    StopPlayback,
)
from paymentd.capture.call import CallInfo
from paymentd.capture.config import CaptureConfig
from paymentd.capture.dialogue import PaymentDialogue
from paymentd.capture.inputs import (
    CallHungUp,
    ChargeAnswered,
    DigitPressed,
    Input,
    PlaybackFinished,
    Start,
    TimerExpired,
)
from paymentd.capture.prompts import PROMPTS
from paymentd.capture.results import Mode
from paymentd.payments import ChargeOutcome, ChargeRequest
from paymentd.speech.utterances import Prompt, Utterance

#: Every action and input of every Call in the running test (the leak scan reads it).
RECORDED: list[object] = []

STARTED_AT = datetime.datetime(2026, 5, 17, 14, 30, tzinfo=datetime.UTC)
VERIFIED = {"paymentd_customer_verified": "true"}
# Binary fractions keep every ``now`` short in a repr, so the leak scan sees no float noise.
KEY_GAP = 0.25


class Call:
    """One scripted call. ``variables`` default to a verified caller with no amount."""

    def __init__(
        self,
        config: CaptureConfig | None = None,
        variables: dict[str, str] | None = None,
        *,
        mode: Mode = Mode.AUTOMATED,
        return_to_agent: bool = True,
        started_at: datetime.datetime = STARTED_AT,
    ) -> None:
        self.config = config or CaptureConfig()
        info = CallInfo(
            call_uuid="call-uuid-1",
            session_id="sess-1",
            started_at=started_at,
            variables=VERIFIED if variables is None else variables,
            mode=mode,
            return_to_agent=return_to_agent,
            return_extension="pay",
            return_context="payments",
        )
        self.dialogue = PaymentDialogue(self.config, info)
        self.now = 100.0
        self.actions: list[Action] = []
        self.playing: Play | PlayHold | None = None
        self.stop_requested = False
        self.plays: list[Play | PlayHold] = []
        self.charges: list[ChargeRequest] = []

    # --- feeding inputs ----------------------------------------------------------------------

    def feed(self, event: Input) -> list[Action]:
        RECORDED.append(event)
        actions = self.dialogue.handle(event)
        for action in actions:
            self._carry_out(action)
        return actions

    def _carry_out(self, action: Action) -> None:
        RECORDED.append(action)
        self.actions.append(action)
        if isinstance(action, Play | PlayHold):
            assert self.playing is None, "a second playback while one is outstanding"
            if isinstance(action, Play):
                for utterance in action.utterances:
                    if isinstance(utterance, Prompt):
                        assert utterance.name in PROMPTS, utterance.name
            self.playing = action
            self.stop_requested = False
            self.plays.append(action)
        elif isinstance(action, StopPlayback):
            assert self.playing is not None
            assert action.play_id == self.playing.play_id
            self.stop_requested = True
        elif isinstance(action, Charge):
            self.charges.append(action.request)

    def start(self) -> list[Action]:
        return self.feed(Start(self.now))

    def finish_playback(self) -> list[Action]:
        """The outstanding playback ends (played out, or broken after StopPlayback)."""
        assert self.playing is not None, "nothing is playing"
        play_id = self.playing.play_id
        self.playing = None
        self.now += 0.5
        return self.feed(PlaybackFinished(play_id, self.now))

    def listen(self) -> list[Utterance]:
        """Let every playback play out until the dialogue waits for the caller; returns
        everything heard."""
        heard: list[Utterance] = []
        while isinstance(self.playing, Play):
            heard.extend(self.playing.utterances)
            self.finish_playback()
        return heard

    def press(self, keys: str) -> list[Action]:
        """Press keys ``KEY_GAP`` seconds apart, while whatever plays goes on."""
        out: list[Action] = []
        for key in keys:
            self.now += KEY_GAP
            out.extend(self.feed(DigitPressed(key, self.now)))
        return out

    def wait(self, seconds: float) -> list[Action]:
        """Let time pass, feeding TimerExpired whenever a deadline falls due."""
        out: list[Action] = []
        end = self.now + seconds
        while (deadline := self.dialogue.next_deadline()) is not None and deadline <= end:
            self.now = deadline
            out.extend(self.feed(TimerExpired(self.now)))
        self.now = end
        return out

    def answer(self, outcome: ChargeOutcome) -> list[Action]:
        self.now += 1.0
        return self.feed(ChargeAnswered(self.charges[-1].attempt_id, outcome, self.now))

    def hang_up(self) -> list[Action]:
        self.now += 0.125
        return self.feed(CallHungUp(self.now))

    # --- reading what happened ---------------------------------------------------------------

    def current(self) -> Play | PlayHold | None:
        """The playback outstanding now (a method, so type checkers do not keep an old answer)."""
        return self.playing

    def utterances(self) -> tuple[Utterance, ...]:
        """What the outstanding Play says."""
        assert isinstance(self.playing, Play), self.playing
        return self.playing.utterances

    def prompt_names(self, utterances: Iterable[Utterance] | None = None) -> list[str]:
        """Names of the prompts in ``utterances`` (default: the playback now outstanding)."""
        if utterances is None:
            assert isinstance(self.playing, Play), self.playing
            utterances = self.playing.utterances
        return [u.name for u in utterances if isinstance(u, Prompt)]

    def progress(self, kind: ProgressKind | None = None) -> list[Progress]:
        return [
            a for a in self.actions if isinstance(a, Progress) and (kind is None or a.kind is kind)
        ]

    @property
    def outcome(self) -> SessionOutcome:
        assert self.dialogue.finished
        finished = [a for a in self.actions if isinstance(a, Finished)]
        assert len(finished) == 1
        return finished[0].outcome

    @property
    def variables(self) -> dict[str, str]:
        sets = [a for a in self.actions if isinstance(a, SetVariables)]
        assert len(sets) == 1, sets
        return sets[0].as_dict()

    def tail(self, count: int) -> list[Any]:
        """The last ``count`` actions, as their types (for ending sequences)."""
        return [type(a) for a in self.actions[-count:]]


AMOUNT_GIVEN = {**VERIFIED, "paymentd_amount": "125.50"}


def key_in(call: Call, keys: str, *, confirm: bool = True) -> None:
    """Hear the prompt out, key an entry, and (after its read-back) press 1."""
    call.listen()
    call.press(keys)
    if confirm:
        call.listen()
        call.press("1")


def pay(call: Call, pan: str, expiry: str = "1230", cvv: str | None = None) -> None:
    """From the start of a call with a given amount to the charge being sent."""
    call.start()
    call.listen()
    call.press("1")
    key_in(call, pan + "#")
    key_in(call, expiry)
    if cvv is not None:
        key_in(call, cvv)
