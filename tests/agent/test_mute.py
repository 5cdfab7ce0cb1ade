"""Mute mode end to end: the agent stays bridged but hears nothing while card data is keyed.

paymentd mutes what the agent hears (``uuid_audio <agent> start write mute``),
sets ``bridge_filter_dtmf`` on the customer, moves the customer to the secure
extension for the socket and bridges the two again at once.  Every test checks
at every step that the agent hears no customer, prompt or key, and the
conftest scans every event stream for card data.  At the end the filter is
unset and the pair bridged anew (the filter is read when a bridge starts), so
the customer's keys reach the agent again.

The last tests drive paymentd's ``LegMover`` alone over a real inbound
connection to the simulator, to put a leg out of the way at a chosen moment.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from paymentd.agent.config import LegMode
from paymentd.agent.legs import LegError, LegMover, Legs, LegWatch
from paymentd.esl import Event
from paymentd.eslio import InboundClient
from paymentd.speech.layout import default_sounds_root
from paymentd.testing import (
    Action,
    AgentCall,
    Extension,
    FreeSwitchSimulator,
    sounds_from,
)
from tests.agent.harness import (
    AFTER,
    DECLINED,
    FALLBACK_PROMPT,
    HANG_UP,
    PAY_WITH_VISA,
    SCALE,
    SECURE,
    VISA,
    AgentWorld,
    Desk,
    base_config,
    bridged,
    card_steps,
    hear_each_other,
    key_steps,
    record_both_legs,
    start_run,
    wait_until,
)
from tests.testing.rawesl import Paymentd


def customer_steps_bridged(looks: list[tuple[str, bool]]) -> list[str]:
    """The customer's steps at which the two legs were not bridged."""
    return [when for when, up in looks if when != "sample" and not up]


def pair_bridges(world: AgentWorld, call: AgentCall) -> int:
    """How many times the customer's leg was bridged to the agent's (CHANNEL_BRIDGE)."""
    pair = (call.customer.uuid, call.agent_uuid)
    return sum(
        (event.get("Bridge-A-Unique-ID"), event.get("Bridge-B-Unique-ID")) == pair
        for event in world.sim.bus_events("CHANNEL_BRIDGE")
    )


async def keys_reach_the_agent(call: AgentCall) -> None:
    """The customer keys after the payment, and the agent hears every key."""
    before = list(call.agent.keys_heard)
    await call.customer.caller.press("5*", gap=0.02)
    await wait_until(
        lambda: call.agent.keys_heard == [*before, "5", "*"],
        timeout=3.0,
        what="the customer's keys at the agent",
    )


async def test_success_agent_bridged_but_deaf_throughout_then_restored(
    world: AgentWorld, desk: Desk, tmp_path: Path
) -> None:
    async def record(call: AgentCall) -> None:
        await record_both_legs(world, call, tmp_path)

    run = await start_run(
        world,
        desk,
        PAY_WITH_VISA,
        before=record,
        mode="mute",
        amount="99.99",
        customer_verified=True,
    )
    call = run.call
    assert run.created.body["mode"] == "mute"
    payment = await run.finish(desk)

    assert run.customer.steps_taken == len(PAY_WITH_VISA)
    assert run.ear.violations == []
    # Bridged at every step of the capture: the agent never left the call.
    steps = [when for when, _up in run.ear.looks if when != "sample"]
    assert len(steps) == 2 * len(PAY_WITH_VISA)
    assert customer_steps_bridged(run.ear.looks) == []
    # No hold audio in mute mode: the agent hears silence.
    assert call.agent.heard == []
    assert payment["outcome"]["result"] == "success"
    assert payment["outcome"]["amount"] == "99.99"
    assert payment["returned_to_agent"] is True
    # Everything is back: both hear each other, no mute left on the agent's leg.
    await wait_until(lambda: hear_each_other(world, call), what="the agent hearing again")
    assert bridged(call)
    assert call.agent_uuid not in world.sim.switch.media.audio_bugs
    agent_leg = call.agent.session
    assert agent_leg is not None
    for channel in (call.customer.session.channel, agent_leg.channel):
        assert channel.get_variable("paymentd_result") == "success"
        assert channel.get_variable("paymentd_card_brand") == "visa"
    assert call.customer.variable("park_after_bridge") is None
    assert call.customer.variable("bridge_filter_dtmf") is None
    assert agent_leg.channel.get_variable("park_after_bridge") is None
    for recording in world.sim.recordings:
        assert [masked for _at, masked in recording.mask_changes] == [True, False]
        assert recording.unmasked("dtmf") == []
        assert recording.unmasked("prompt") == []
    # Not one key reached the agent while the card was keyed (the ear looked at every step);
    # bridge_filter_dtmf is read when a bridge starts, so paymentd unset it and bridged the
    # pair again: the customer's keys reach the agent once more.
    assert call.agent.keys_heard == []
    await keys_reach_the_agent(call)
    assert pair_bridges(world, call) == 3  # the agent's call, the capture, the way back
    assert run.stream.statuses() == ["transferring", "capturing", "returning", "finished"]


async def test_max_declines_go_back_to_the_agent_with_the_result(
    world: AgentWorld, desk: Desk
) -> None:
    steps = [("press_1_to_pay_amount", "1"), *card_steps(DECLINED), *card_steps(DECLINED)]
    run = await start_run(world, desk, steps, mode="mute", amount="20.00", customer_verified=True)
    payment = await run.finish(desk)
    assert run.ear.violations == []
    assert customer_steps_bridged(run.ear.looks) == []
    outcome = payment["outcome"]
    assert outcome["result"] == "declined"
    assert outcome["decline_count"] == 2
    assert outcome["error_type"] == "generic"
    assert payment["returned_to_agent"] is True
    assert [d["decline_count"] for d in run.stream.of("progress") if d["kind"] == "declined"] == [
        1,
        2,
    ]
    await wait_until(lambda: hear_each_other(world, run.call), what="the agent hearing again")
    agent_leg = run.call.agent.session
    assert agent_leg is not None
    assert agent_leg.channel.get_variable("paymentd_result") == "declined"
    assert agent_leg.channel.get_variable("paymentd_decline_count") == "2"
    assert run.call.agent.keys_heard == []
    await keys_reach_the_agent(run.call)


async def test_cancel_from_the_desk(world: AgentWorld, desk: Desk) -> None:
    steps = [("press_1_to_pay_amount", "1"), ("enter_card_number", VISA[:4])]
    run = await start_run(world, desk, steps, mode="mute", amount="20.00", customer_verified=True)
    await run.stream.wait_for(
        lambda s: [d for d in s.of("progress") if d["kind"] == "digits_entered"] != []
    )
    assert (await desk.cancel(run.payment_id)).status == 202
    payment = await run.finish(desk)
    assert payment["outcome"]["result"] == "caller-cancelled"
    assert payment["outcome"]["error_type"] == "cancelled_by_agent"
    assert run.ear.violations == []
    await wait_until(lambda: hear_each_other(world, run.call), what="the agent hearing again")
    await keys_reach_the_agent(run.call)


async def test_identification_pending_goes_back_to_the_agent(world: AgentWorld, desk: Desk) -> None:
    # No customer_verified in the request nor on the call: identification comes first.
    run = await start_run(world, desk, [], mode="mute", amount="20.00")
    payment = await run.finish(desk)
    assert payment["outcome"]["result"] is None
    assert payment["outcome"]["error_type"] == "identification_required"
    assert payment["returned_to_agent"] is True
    assert [d["kind"] for d in run.stream.of("progress")][:2] == [
        "started",
        "identification_required",
    ]
    await wait_until(lambda: hear_each_other(world, run.call), what="the agent hearing again")
    await keys_reach_the_agent(run.call)


async def test_customer_hangs_up_the_agent_is_released_and_the_desk_told(
    world: AgentWorld, desk: Desk
) -> None:
    steps = [*PAY_WITH_VISA[:3], ("enter_expiry", HANG_UP)]
    run = await start_run(world, desk, steps, mode="mute", amount="20.00", customer_verified=True)
    payment = await run.finish(desk)
    assert payment["outcome"]["result"] == "caller-hung-up"
    assert payment["customer_hung_up"] is True
    assert run.stream.of("call")[0]["party"] == "customer"
    assert await run.call.agent.wait_for_hangup(5) == "NORMAL_CLEARING"
    assert run.call.agent_uuid not in world.sim.switch.media.audio_bugs
    assert run.ear.violations == []


async def test_agent_hangs_up_the_customer_finishes_then_goes_to_the_fallback(
    world: AgentWorld, desk: Desk
) -> None:
    run = await start_run(world, desk, [], mode="mute", amount="20.00", customer_verified=True)
    caller = run.call.customer.caller
    await caller.wait_for_playback("press_1_to_pay_amount", timeout=15)
    await run.call.agent.hang_up()
    await run.stream.wait_for(lambda s: s.of("call") != [])
    await caller.press("1")
    await key_steps(caller, PAY_WITH_VISA[1:])
    payment = await run.finish(desk)
    assert payment["agent_left"] is True
    assert payment["returned_to_agent"] is False
    assert payment["outcome"]["result"] == "success"
    # The re-bridge left the secure extension: paymentd sends the customer where the
    # dialplan after ``socket`` would have.
    await caller.wait_for_playback(FALLBACK_PROMPT, timeout=10)
    assert run.call.customer.session.extensions_run[-1] == AFTER
    assert run.call.customer.variable("paymentd_result") == "success"
    assert run.call.customer.variable("park_after_bridge") is None


# -- a leg gone when the customer is given back ----------------------------------------------

RESULT = (("paymentd_result", "success"), ("paymentd_session_id", "pay-1"))


class Bench:
    """paymentd's leg mover over a real inbound connection to the simulator; a bare
    socket stands in for the capture.  ``mute()`` leaves a call as a mute-mode capture
    does: the agent deaf, the customer on paymentd's socket and bridged back to it."""

    def __init__(
        self, sim: FreeSwitchSimulator, socket: Paymentd, mover: LegMover, client: InboundClient
    ) -> None:
        self.sim = sim
        self.socket = socket
        self.mover = mover
        self.client = client

    async def mute(self) -> tuple[AgentCall, Legs]:
        call = await self.sim.place_agent_call()
        legs = Legs(customer=call.customer.uuid, agent=call.agent_uuid, mode=LegMode.MUTE)
        await self.mover.move_out(self.client, legs, "pay-1")
        peer = await self.socket.peer()
        await peer.command("connect")
        await peer.command("myevents")
        mark = self.mover.watch.mark(legs.customer, legs.agent)
        await self.mover.rebridge(self.client, legs)
        assert await self.mover.watch.wait((legs.customer, legs.agent), mark, 5.0)
        return call, legs


@pytest.fixture
async def bench(tmp_path: Path) -> AsyncIterator[Bench]:
    sim = FreeSwitchSimulator(time_scale=SCALE, sounds=sounds_from(default_sounds_root()))
    socket = Paymentd()
    await socket.start()
    sim.dialplan.add(Extension(SECURE, SECURE, [Action.socket(f"127.0.0.1:{socket.address[1]}")]))
    inbound = await sim.start_inbound()
    watch = LegWatch()

    def seen(event: Event) -> None:
        headers = event.headers
        a, b = headers.get("Bridge-A-Unique-ID"), headers.get("Bridge-B-Unique-ID")
        watch.seen(event.name, event.unique_id, a, b)

    client = InboundClient(
        "127.0.0.1",
        inbound.port,
        "ClueCon",
        events=("CHANNEL_HANGUP", "CHANNEL_BRIDGE", "CHANNEL_UNBRIDGE", "CHANNEL_PARK"),
        on_event=seen,
    )
    mover = LegMover(base_config(tmp_path, inbound.port).agent, "", watch)
    client.start()
    try:
        await client.wait_connected(5.0)
        yield Bench(sim, socket, mover, client)
    finally:
        await client.close()
        await socket.close()
        await sim.close()


async def test_the_agent_gone_before_the_way_back_leaves_the_customer_to_be_sent_on(
    bench: Bench,
) -> None:
    call, legs = await bench.mute()
    await call.agent.hang_up()
    # The customer parks (paymentd set park_after_bridge) instead of being hung up.
    await wait_until(lambda: call.customer.session.channel.parked, what="the customer parked")
    with pytest.raises(LegError) as raised:
        await bench.mover.give_back(bench.client, legs, RESULT)
    # agent_gone: paymentd sends the customer on to agent.after_extension.
    assert raised.value.code == "agent_gone"
    assert call.customer.session.channel.ready
    await bench.mover.release(bench.client, legs, RESULT)
    assert call.customer.variable("park_after_bridge") is None
    assert call.customer.variable("bridge_filter_dtmf") is None


async def test_the_customer_gone_before_the_way_back_releases_the_agent(bench: Bench) -> None:
    call, legs = await bench.mute()
    agent_leg = call.agent.session
    assert agent_leg is not None
    await call.customer.caller.hang_up()
    await wait_until(lambda: agent_leg.channel.parked, what="the agent parked")
    with pytest.raises(LegError) as raised:
        await bench.mover.give_back(bench.client, legs, RESULT)
    assert raised.value.code == "customer_gone"
    # Not left deaf in the parked leg: released (hung up, as without paymentd).
    await bench.mover.release(bench.client, legs, RESULT)
    assert await call.agent.wait_for_hangup(5) == "NORMAL_CLEARING"
    assert call.agent_uuid not in bench.sim.switch.media.audio_bugs
