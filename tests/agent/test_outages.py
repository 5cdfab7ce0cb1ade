"""When the inbound connection to FreeSWITCH drops, or the customer never reaches paymentd."""

from __future__ import annotations

import asyncio

from tests.agent.conftest import WorldFactory, open_desk
from tests.agent.harness import (
    AFTER,
    FALLBACK_PROMPT,
    PAY_WITH_VISA,
    AgentWorld,
    Desk,
    bridged,
    hear_each_other,
    key_steps,
    start_run,
    wait_until,
)


async def test_inbound_dropped_and_restored_mid_capture(world: AgentWorld, desk: Desk) -> None:
    steps = [*PAY_WITH_VISA[:3], ("enter_expiry", "1230"), *PAY_WITH_VISA[4:]]
    run = await start_run(world, desk, steps, amount="20.00", customer_verified=True)
    agent = world.daemon.agent
    assert agent is not None
    await run.stream.wait_for(lambda s: "capturing" in s.statuses())
    await world.inbound.drop_connections()
    await wait_until(lambda: not agent.inbound.connected, what="the drop noticed")
    await world.wait_inbound(connects=2)
    payment = await run.finish(desk)
    assert payment["outcome"]["result"] == "success"
    assert payment["returned_to_agent"] is True
    assert run.ear.violations == []
    await wait_until(lambda: bridged(run.call), what="the bridge back to the agent")
    assert hear_each_other(world, run.call)
    changes = world.daemon.metrics.registry.get_sample_value(
        "paymentd_esl_inbound_state_changes_total", {"state": "down"}
    )
    assert changes == 1


async def test_inbound_down_at_the_end_the_customer_socket_brings_the_customer_back(
    world: AgentWorld, desk: Desk
) -> None:
    gate = asyncio.Event()
    run = await start_run(world, desk, [], amount="20.00", customer_verified=True)
    agent = world.daemon.agent
    assert agent is not None
    caller = run.call.customer.caller

    async def customer() -> None:
        for number, (fragment, keys) in enumerate(PAY_WITH_VISA):
            await caller.wait_for_playback(fragment, timeout=15)
            if number == 3:
                await gate.wait()
            run.ear.check(f"prompt {fragment}")
            await caller.press(keys, gap=0.02)
            run.ear.check(f"keys at {fragment}")

    keying = asyncio.create_task(customer())
    await run.stream.wait_for(lambda s: "capturing" in s.statuses())
    await world.inbound.stop()
    await wait_until(lambda: not agent.inbound.connected, what="the inbound connection down")
    gate.set()
    payment = await run.finish(desk)
    await keying
    # FreeSWITCH was reached through the customer's own socket (``full`` control).
    assert not agent.inbound.connected
    assert payment["outcome"]["result"] == "success"
    assert payment["returned_to_agent"] is True
    await wait_until(lambda: bridged(run.call), what="the bridge back to the agent")
    assert run.ear.violations == []
    # Without FreeSWITCH's CHANNEL_BRIDGE the bridge is not confirmed: the agent keeps
    # parking after bridges rather than risk being hung up.
    agent_leg = run.call.agent.session
    assert agent_leg is not None
    assert agent_leg.channel.get_variable("park_after_bridge") == "true"
    await world.inbound.start()
    await world.wait_inbound(connects=2)


async def test_an_agent_hang_up_missed_while_disconnected_is_found_on_reconnect(
    world: AgentWorld, desk: Desk
) -> None:
    run = await start_run(world, desk, [], amount="20.00", customer_verified=True)
    agent = world.daemon.agent
    assert agent is not None
    caller = run.call.customer.caller
    await caller.wait_for_playback("press_1_to_pay_amount", timeout=15)
    await world.inbound.stop()
    await wait_until(lambda: not agent.inbound.connected, what="the inbound connection down")
    await run.call.agent.hang_up()
    await asyncio.sleep(0.1)
    assert not agent.payments.get(run.payment_id).agent_left  # type: ignore[union-attr]
    await world.inbound.start()
    await run.stream.wait_for(lambda s: s.of("call") != [], timeout=5)
    await caller.press("1")
    await key_steps(caller, PAY_WITH_VISA[1:])
    payment = await run.finish(desk)
    assert payment["agent_left"] is True
    assert payment["returned_to_agent"] is False
    assert payment["outcome"]["result"] == "success"
    await caller.wait_for_playback(FALLBACK_PROMPT, timeout=10)
    assert run.call.customer.session.extensions_run[-1] == AFTER


async def test_a_customer_who_never_reaches_paymentd_is_given_back(
    make_world: WorldFactory,
) -> None:
    world = await make_world(secure_extension=False, agent={"arrival_timeout": 0.5})
    desk = open_desk(world.api_port)
    call = await world.agent_call()
    created = await desk.start_payment(call.customer.uuid, amount="20.00", mode="mute")
    assert created.status == 201
    stream = desk.follow(created.body["id"])
    await asyncio.wait_for(stream.done.wait(), 10)
    (outcome,) = stream.of("outcome")
    assert outcome["result"] == "internal-error"
    assert outcome["error_type"] == "secure_extension_unreachable"
    assert outcome["returned_to_agent"] is True
    assert stream.statuses() == ["transferring", "finished"]
    await wait_until(lambda: hear_each_other(world, call), what="the customer back with the agent")
    agent_leg = call.agent.session
    assert agent_leg is not None
    assert agent_leg.channel.get_variable("paymentd_error_type") == "secure_extension_unreachable"
    assert call.agent_uuid not in world.sim.switch.media.audio_bugs


async def test_a_call_naming_an_unknown_payment_is_let_go_to_the_fallback(
    world: AgentWorld,
) -> None:
    call = await world.agent_call()
    api = world.sim.switch.api
    uuid = call.customer.uuid
    unknown = "00000000-0000-4000-8000-000000000000"
    assert await api.execute("uuid_setvar", f"{uuid} paymentd_payment_id {unknown}") == "+OK\n"
    assert await api.execute("uuid_transfer", f"{uuid} paymentd_secure XML default") == "+OK\n"
    await call.customer.caller.wait_for_playback(FALLBACK_PROMPT, timeout=10)
    # paymentd connected, said nothing to the customer, and let the dialplan go on.
    assert [s.closed_by for s in call.customer.result().sockets] == ["peer"]
    assert [r.file for r in call.customer.caller.heard] == [FALLBACK_PROMPT]
    assert call.customer.session.extensions_run[-1] == AFTER
