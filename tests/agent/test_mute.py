"""Mute mode end to end: the agent stays bridged but hears nothing while card data is keyed.

paymentd mutes what the agent hears (``uuid_audio <agent> start write mute``),
sets ``bridge_filter_dtmf`` on the customer, moves the customer to the secure
extension for the socket and bridges the two again at once.  Every test checks
at every step that the agent hears no customer, prompt or key, and the
conftest scans every event stream for card data.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from paymentd.testing import AgentCall
from tests.agent.harness import (
    AFTER,
    DECLINED,
    FALLBACK_PROMPT,
    HANG_UP,
    PAY_WITH_VISA,
    VISA,
    AgentWorld,
    Desk,
    bridged,
    card_steps,
    hear_each_other,
    record_both_legs,
    start_run,
    wait_until,
)


def customer_steps_bridged(looks: list[tuple[str, bool]]) -> list[str]:
    """The customer's steps at which the two legs were not bridged."""
    return [when for when, up in looks if when != "sample" and not up]


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
    # bridge_filter_dtmf is read when a bridge starts: the customer's keys stay away from
    # the agent until this bridge ends (the variable is already unset for the next one).
    await call.customer.caller.press("5")
    await asyncio.sleep(0.1)
    assert call.agent.keys_heard == []
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
    for fragment, keys in PAY_WITH_VISA[1:]:
        await caller.wait_for_playback(fragment, timeout=15)
        await caller.press(keys, gap=0.02)
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
