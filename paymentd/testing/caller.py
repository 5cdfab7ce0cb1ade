"""The people on the far ends of simulated calls: the scripted caller and the agent.

A ``Caller`` hears every playback on the customer's channel and keys digits into
it; it can be scripted as a coroutine::

    async def script(caller: Caller) -> None:
        await caller.wait_for_playback("enter_card")
        await caller.press("4242424242424242#", gap=0.05)
        await caller.wait_for_playback("thank_you")
        await caller.hang_up()

or declaratively::

    Script(
        when_playing("enter_card").press("4242424242424242#", gap=0.05),
        when_playing("confirm").press("1"),
        when_playing("goodbye").hang_up(),
    )

Durations given here (gaps, delays, timeouts) are wall-clock seconds, the
clock paymentd's own timers run on; only FreeSWITCH's side is time-scaled.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import attrs

from paymentd.testing.records import KeyRecord, PromptRecord

if TYPE_CHECKING:
    from paymentd.testing.media import Hearing
    from paymentd.testing.session import Session

__all__ = [
    "Agent",
    "CallEnded",
    "Caller",
    "CallerScript",
    "Rule",
    "Script",
    "at_start",
    "when_playing",
]

CallerScript = Callable[["Caller"], Awaitable[None]]


class CallEnded(Exception):
    """The call hung up while the script was waiting for something."""


class FarEnd:
    """What one party heard (``heard`` prompts, ``keys_heard``) and its hang-up."""

    def __init__(self) -> None:
        self.session: Session | None = None
        self.heard: list[PromptRecord] = []
        self.keys_heard: list[str] = []
        self.hangup_cause: str | None = None
        self._news = asyncio.Event()
        self._cursor = 0

    # MediaObserver
    def prompt_started(self, record: PromptRecord) -> None:
        """The channel started playing something."""
        self.heard.append(record)
        self._news.set()

    def prompt_stopped(self, record: PromptRecord) -> None:
        """That playback stopped."""
        self._news.set()

    def dtmf_heard(self, digit: str) -> None:
        """A key reached this party across a bridge."""
        self.keys_heard.append(digit)
        self._news.set()

    def hung_up(self, cause: str) -> None:
        """The channel hung up."""
        self.hangup_cause = cause
        self._news.set()

    @property
    def playing(self) -> PromptRecord | None:
        """The prompt playing right now, if any."""
        return next((record for record in reversed(self.heard) if record.status == "playing"), None)

    async def _wait_news(self, deadline: float) -> None:
        self._news.clear()
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            raise TimeoutError
        await asyncio.wait_for(self._news.wait(), remaining)

    async def next_prompt(self, fragment: str | None = None, timeout: float = 10.0) -> PromptRecord:
        """The next playback not yet returned whose file contains ``fragment``."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            for index in range(self._cursor, len(self.heard)):
                record = self.heard[index]
                if fragment is None or fragment in record.file:
                    self._cursor = index + 1
                    return record
            if self.hangup_cause is not None:
                raise CallEnded(
                    f"call hung up ({self.hangup_cause}) before a prompt matching {fragment!r}"
                )
            try:
                await self._wait_news(deadline)
            except TimeoutError:
                files = [record.file for record in self.heard]
                raise TimeoutError(
                    f"no prompt matching {fragment!r}; heard so far: {files}"
                ) from None

    async def wait_for_playback(
        self, fragment: str | None = None, timeout: float = 10.0
    ) -> PromptRecord:
        """Wait until a playback whose file name contains ``fragment`` starts."""
        return await self.next_prompt(fragment, timeout)

    async def wait_until_stopped(self, record: PromptRecord, timeout: float = 10.0) -> None:
        """Wait until that playback stops."""
        deadline = asyncio.get_running_loop().time() + timeout
        while record.status == "playing":
            await self._wait_news(deadline)

    async def wait_for_hangup(self, timeout: float = 10.0) -> str:
        """Wait until the channel hangs up; returns the cause."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self.hangup_cause is None:
            await self._wait_news(deadline)
        return self.hangup_cause

    def hearing(self) -> Hearing:
        """What this party hears at this moment."""
        assert self.session is not None, "not attached to a call"
        return self.session.switch.media.hearing(self.session)


class Caller(FarEnd):
    """The customer: hears prompts, keys digits (RTP DTMF on the channel), hangs up."""

    def __init__(self) -> None:
        super().__init__()
        self.phone: Session | None = None
        self.keyed: list[KeyRecord] = []

    async def press(self, digits: str, *, gap: float = 0.05, duration: int | None = None) -> None:
        """Key ``digits`` with ``gap`` seconds between keys; ``duration`` in samples."""
        session = self.session
        assert session is not None, "not attached to a call"
        for index, digit in enumerate(digits):
            if session.channel.down:
                return
            self.keyed.append(KeyRecord(digit, session.switch.clock.real_now()))
            session.queue_dtmf(digit, duration)
            if index + 1 < len(digits) and gap > 0:
                await asyncio.sleep(gap)

    async def hang_up(self, cause: str = "NORMAL_CLEARING") -> None:
        """Hang up the phone; the call's channel follows a frame later."""
        target = self.phone or self.session
        assert target is not None, "not attached to a call"
        target.hangup(cause)

    async def pause(self, seconds: float) -> None:
        """Stay silent for a while."""
        await asyncio.sleep(seconds)

    @property
    def keyed_digits(self) -> str:
        """Every key pressed, in order."""
        return "".join(key.digit for key in self.keyed)


class Agent(FarEnd):
    """The agent on the agent leg: hears what reaches that leg, can hang up."""

    async def hang_up(self, cause: str = "NORMAL_CLEARING") -> None:
        """The agent hangs up."""
        assert self.session is not None, "the agent leg does not exist yet"
        self.session.hangup(cause)


@attrs.frozen
class Rule:
    """When a prompt containing ``fragment`` starts (``None``: when the call starts),
    wait ``delay`` seconds (or until the prompt ends), then act; ``times`` uses
    (0 = every time)."""

    fragment: str | None
    action: str
    digits: str = ""
    gap: float = 0.05
    delay: float = 0.0
    at_end: bool = False
    cause: str = "NORMAL_CLEARING"
    times: int = 1

    def every_time(self) -> Rule:
        """Trigger on every matching prompt, not just the first."""
        return attrs.evolve(self, times=0)


@attrs.frozen
class When:
    """Builder for a rule: ``when_playing("enter_card").press("4242...#")``."""

    fragment: str | None
    delay: float = 0.0
    at_end: bool = False

    def press(self, digits: str, *, gap: float = 0.05) -> Rule:
        """Key digits."""
        return Rule(self.fragment, "press", digits, gap, self.delay, self.at_end)

    def hang_up(self, cause: str = "NORMAL_CLEARING") -> Rule:
        """Hang up."""
        return Rule(self.fragment, "hang_up", delay=self.delay, at_end=self.at_end, cause=cause)

    def stay_silent(self) -> Rule:
        """Do nothing (documents that the caller says nothing here)."""
        return Rule(self.fragment, "silent", delay=self.delay, at_end=self.at_end)

    def after(self, seconds: float) -> When:
        """Act ``seconds`` after the prompt starts."""
        return attrs.evolve(self, delay=seconds)

    def when_done(self) -> When:
        """Act when the prompt has stopped playing."""
        return attrs.evolve(self, at_end=True)


def when_playing(fragment: str) -> When:
    """Rules triggered by a playback whose file name contains ``fragment``."""
    return When(fragment)


def at_start() -> When:
    """Rules that act as soon as the call starts (``at_start().hang_up()``)."""
    return When(None)


class Script:
    """A declarative caller: rules checked, in order, against each prompt heard."""

    def __init__(self, *rules: Rule) -> None:
        self.rules = list(rules)

    async def __call__(self, caller: Caller) -> None:
        used = [0] * len(self.rules)
        for index, rule in enumerate(self.rules):
            if rule.fragment is None:
                used[index] += 1
                await self._act(caller, rule, None)
        while True:
            try:
                record = await caller.next_prompt(timeout=3600)
            except CallEnded:
                return
            for index, rule in enumerate(self.rules):
                if rule.fragment is None or rule.fragment not in record.file:
                    continue
                if rule.times and used[index] >= rule.times:
                    continue
                used[index] += 1
                await self._act(caller, rule, record)
                break

    @staticmethod
    async def _act(caller: Caller, rule: Rule, record: PromptRecord | None) -> None:
        if rule.at_end and record is not None:
            await caller.wait_until_stopped(record, timeout=3600)
        if rule.delay:
            await asyncio.sleep(rule.delay)
        if rule.action == "press":
            await caller.press(rule.digits, gap=rule.gap)
        elif rule.action == "hang_up":
            await caller.hang_up(rule.cause)
