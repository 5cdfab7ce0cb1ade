"""Fixtures for the simulator's own tests: a fast clock and a stand-in paymentd."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from paymentd.testing import (
    Action,
    Dialplan,
    Extension,
    FreeSwitchSimulator,
    SimOptions,
    SoundCatalog,
)
from tests.testing.rawesl import Paymentd

# 16.67 s of prompt plays in a third of a second; 30 s of linger in 0.6 s.
SCALE = 0.02
SOUNDS = "/usr/freeswitch/share/freeswitch/sounds/esl_test"
HELLO = f"{SOUNDS}/hello_8k.wav"
LONG = f"{SOUNDS}/long_prompt_8k.wav"
CARD = f"{SOUNDS}/card_prompt_8k.wav"
AFTER = f"{SOUNDS}/after_socket_8k.wav"


def corpus_sounds() -> SoundCatalog:
    """The prompts of the captures, with their measured lengths."""
    return SoundCatalog(
        durations={
            "hello_8k.wav": 2.900375,
            "long_prompt_8k.wav": 16.67075,
            "card_prompt_8k.wav": 3.653,
            "invalid_8k.wav": 2.48,
            "after_socket_8k.wav": 3.6,
            "thanks_8k.wav": 3.42,
        }
    )


def corpus_dialplan() -> Dialplan:
    """The captures' test dialplan (``dialplan_esl_test.xml``) with the socket pointed at us."""
    return (
        Dialplan()
        .add(Extension("esl_outbound_7777", "7777", [Action.socket()]))
        .add(Extension("esl_park_7778", "7778", [Action("answer"), Action("park")]))
        .add(
            Extension(
                "esl_bridge_7779",
                "7779",
                [
                    Action("set", "loopback_bowout=false"),
                    Action("bridge", "{loopback_bowout=false}loopback/7778"),
                ],
            )
        )
        .add(
            Extension(
                "esl_resume_7780",
                "7780",
                [
                    Action("set", "before_socket=yes"),
                    Action.socket(),
                    Action(
                        "log", "NOTICE CORPUS-MARKER dialplan continued after socket on ${uuid}"
                    ),
                    Action("set", "after_socket=reached"),
                    Action("playback", AFTER),
                    Action("hangup"),
                ],
            )
        )
    )


def make_simulator(**options: object) -> FreeSwitchSimulator:
    """A simulator on the captures' sounds and dialplan."""
    return FreeSwitchSimulator(
        time_scale=SCALE,
        sounds=corpus_sounds(),
        dialplan=corpus_dialplan(),
        options=SimOptions(**options),  # type: ignore[arg-type]
    )


@pytest.fixture
async def paymentd() -> AsyncIterator[Paymentd]:
    """A raw event-socket server where the simulator's calls arrive."""
    server = Paymentd()
    await server.start()
    yield server
    await server.close()


@pytest.fixture
async def sim() -> AsyncIterator[FreeSwitchSimulator]:
    """A simulator whose racy choices are fixed (no CHANNEL_PARK after connect)."""
    simulator = make_simulator(park_event="before_myevents")
    yield simulator
    await simulator.close()
