"""Regression test for a daemon bug the shared-ledger test found: a call left hanging
after its charge.

While a charge is slow the driver plays hold audio as repeated ``playback``
(paymentd/driver.py ``_run_play``): each round is a ``sendmsg execute`` that
FreeSWITCH queues on the channel and starts on the channel's next media frame.
When the charge is answered, ``_stop_play`` sends ``uuid_break <uuid> all``.
FreeSWITCH's ``uuid_break ... all`` flushes the channel's queued private events
(``switch_core_session_flush_private_events`` in mod_commands), so an answer that
lands after the next round was sent but before the frame that starts it drops
that round: no CHANNEL_EXECUTE, no CHANNEL_EXECUTE_COMPLETE, ever. The driver
waits for that completion without a timeout (``wait_execute(future)``), so the
caller sits in silence until they hang up: the approval is recorded in the
ledger but never announced, no ``paymentd_result`` is set and the session never
ends. With the usual test timing it happens to about one call in thirty.

This test hits the window every time: the simulator runs at real time (a 20 ms
media frame, every file 40 ms long), and the test lets the held charge through
at the moment the next hold round is queued on the channel.  The driver now
breaks a playback only once it has started, with ``uuid_break <uuid>`` (no
``all``), so the queued round plays, is broken, and completes.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from paymentd.testing import Call, FreeSwitchSimulator, SimOptions, SoundCatalog
from tests.e2e.charging import daemon_config, place_paying_call, rest_gateway, wait_until
from tests.e2e.conftest import dialplan
from tests.e2e.daemon import Daemons
from tests.gateways.processor import Processor

pytestmark = pytest.mark.slow


@pytest.fixture
async def real_time_simulator() -> AsyncIterator[FreeSwitchSimulator]:
    """Real time (a 20 ms frame, so the window is wide), but short files and keys."""
    sim = FreeSwitchSimulator(
        time_scale=1.0,
        dialplan=dialplan(),
        sounds=SoundCatalog(durations={".wav": 0.04}),
        options=SimOptions(dtmf_duration=160),
        seed=secrets.randbits(32),
    )
    yield sim
    await sim.close()


class CallLeftHanging(AssertionError):
    """The bug itself, told apart from any other failure of the test."""


async def next_round_queued(call: Call) -> None:
    """Return the moment the driver's next hold round waits in the channel's queue."""
    for _ in range(1_000_000):
        if call.session.private_events:
            return
        await asyncio.sleep(0)  # the simulator runs on this loop: no frame passes unseen
    raise AssertionError("no hold round was queued")


async def test_a_charge_answered_while_the_next_hold_round_is_queued_ends_the_call(
    tmp_path: Path, daemons: Daemons, processor: Processor, real_time_simulator: FreeSwitchSimulator
) -> None:
    release = asyncio.Event()

    async def hold(_: dict[str, Any]) -> None:
        await release.wait()

    processor.on_charge = hold
    daemon = daemons.new(tmp_path, daemon_config(None, rest_gateway(processor.url)))
    await asyncio.to_thread(daemon.start)
    call = await place_paying_call(real_time_simulator, daemon)
    await asyncio.wait_for(processor.received.wait(), 30)

    async def holding() -> bool:
        return sum("please_hold" in p.file for p in call.session.prompts) >= 2

    await wait_until(holding, "hold audio to go round")
    await next_round_queued(call)
    release.set()

    try:
        result = await call.wait_closed(timeout=5)
    except TimeoutError:
        raise CallLeftHanging(f"call {call.uuid} still up 5 s after its charge") from None
    assert result.variables.get("paymentd_result") == "success"
    assert result.variables.get("after_socket") == "reached"
    await asyncio.to_thread(daemon.stop)
