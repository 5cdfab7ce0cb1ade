"""Bridged legs in the simulator: how a bridge ends on the side that does not run it."""

from __future__ import annotations

import asyncio

from paymentd.testing import AgentCall, FreeSwitchSimulator
from paymentd.testing.bridging import agent_leg_program, link
from tests.testing.conftest import HELLO, LONG


async def test_a_leg_whose_partner_went_down_waits_for_the_unbridge_without_spinning(
    sim: FreeSwitchSimulator,
) -> None:
    # The side that runs the bridge unlinks both legs when it ends.  If the agent's
    # leg runs first after its partner went down, it must wait for that, not go
    # round its loop without ever giving the other task a turn (seen once in CI:
    # the whole event loop stalled until pytest-timeout).
    switch = sim.switch
    agent, _ = switch.originate_loopback(destination="7778", a_leg_program=agent_leg_program)
    customer, _ = switch.originate_loopback(destination="7777")
    link(customer, agent)
    agent.notify()
    await asyncio.sleep(0.05)  # the agent's leg is in its bridge now
    customer.hangup("NORMAL_CLEARING")

    turns = 0

    async def count_turns() -> None:
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0)

    counter = asyncio.get_running_loop().create_task(count_turns())
    await asyncio.sleep(0.1)
    counter.cancel()
    assert turns > 10
    assert agent.channel.ready
    assert agent.bridged_to is customer  # nothing has unlinked them yet

    # What bridge_sessions' end does: the agent's leg then carries on (it hangs up,
    # having no park_after_bridge).
    customer.bridged_to = agent.bridged_to = None
    agent.notify()
    assert await asyncio.wait_for(agent.hung_up_event.wait(), 5) is True


def _playback_stops(sim: FreeSwitchSimulator, uuid: str) -> list[tuple[str, str]]:
    return [
        (e.get("Playback-File-Path") or "", e.get("Playback-Status") or "")
        for e in sim.bus_events("PLAYBACK_STOP")
        if e.get("Unique-ID") == uuid
    ]


async def _playing_with_one_queued(sim: FreeSwitchSimulator, call: AgentCall) -> str:
    """The agent's leg plays LONG, and HELLO waits behind it (uuid_broadcast is
    event-locked: one at a time)."""
    agent = call.agent_uuid
    execute = sim.switch.api.execute
    assert await execute("uuid_broadcast", f"{agent} {LONG} aleg") == "+OK Message sent\n"
    await call.agent.wait_for_playback("long_prompt", timeout=5)
    assert await execute("uuid_broadcast", f"{agent} {HELLO} aleg") == "+OK Message sent\n"
    await asyncio.sleep(0.05)
    playing, leg = call.agent.playing, sim.session(agent)
    assert playing is not None
    assert playing.file == LONG
    assert leg is not None
    assert len(leg.private_events) == 1
    return agent


async def test_a_bridge_ends_stopping_the_broadcast_under_way_but_not_the_one_queued(
    sim: FreeSwitchSimulator,
) -> None:
    # switch_ivr_multi_threaded_bridge stops the other leg's broadcast when the bridge
    # ends; switch_channel_stop_broadcast acts on CF_BROADCAST only (one under way).  The
    # queued one is no private event of the bridge: it plays where the leg goes next.
    call = await sim.place_agent_call(agent_variables={"park_after_bridge": "true"})
    agent = await _playing_with_one_queued(sim, call)
    assert await sim.switch.api.execute("uuid_kill", call.customer.uuid) == "+OK\n"
    await call.agent.wait_for_playback("hello_8k", timeout=5)
    assert _playback_stops(sim, agent) == [(LONG, "break")]
    parked = [e for e in sim.bus_events("CHANNEL_PARK") if e.get("Unique-ID") == agent]
    started = [e for e in sim.bus_events("PLAYBACK_START") if e.get("Unique-ID") == agent]
    assert len(parked) == 1
    assert started[-1].get("Playback-File-Path") == HELLO
    events = [fired.event for fired in sim.switch.bus.history]
    assert events.index(parked[0]) < events.index(started[-1])


async def test_uuid_bridge_stops_the_broadcast_under_way_the_queued_one_plays_in_the_bridge(
    sim: FreeSwitchSimulator,
) -> None:
    # switch_ivr_uuid_bridge stops both legs' broadcasts under way and flags them for
    # transfer.  switch_ivr_play_file tests switch_channel_ready (false once CF_TRANSFER is
    # set) before CF_BREAK, so the playback ends as FALSE: PLAYBACK_STOP says "done".
    call = await sim.place_agent_call(agent_variables={"park_after_bridge": "true"})
    customer = call.customer.uuid
    execute = sim.switch.api.execute
    assert await execute("uuid_transfer", f"{customer} 7778 XML default") == "+OK\n"
    await asyncio.sleep(0.05)  # the agent's leg parks
    agent = await _playing_with_one_queued(sim, call)
    assert await execute("uuid_bridge", f"{customer} {agent}") == f"+OK {agent}\n"
    await call.agent.wait_for_playback("hello_8k", timeout=5)
    customer_leg, agent_leg = sim.session(customer), sim.session(agent)
    assert customer_leg is not None
    assert agent_leg is not None
    assert agent_leg.bridged_to is customer_leg
    assert _playback_stops(sim, agent) == [(LONG, "done")]
