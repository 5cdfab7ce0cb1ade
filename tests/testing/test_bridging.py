"""Bridged legs in the simulator: how a bridge ends on the side that does not run it."""

from __future__ import annotations

import asyncio

from paymentd.testing import FreeSwitchSimulator
from paymentd.testing.bridging import agent_leg_program, link


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
