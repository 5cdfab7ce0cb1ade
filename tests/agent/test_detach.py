"""Detach mode end to end: the customer is moved to paymentd, the agent parked with hold audio.

Real daemon, simulated FreeSWITCH, real sockets and HTTP.  Every test checks,
at every step of the capture, that the agent's leg hears no customer, no
prompt and no key (``AgentEar``), and the conftest scans every event stream
for card data.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from paymentd.testing import AgentCall
from paymentd.testing.events import FsEvent
from tests.agent.harness import (
    AFTER,
    DECLINED,
    FALLBACK_PROMPT,
    HANG_UP,
    PAY_WITH_VISA,
    SECURE,
    VISA,
    AgentWorld,
    Desk,
    bridged,
    card_steps,
    data_of,
    hear_each_other,
    key_steps,
    ledger_session,
    record_both_legs,
    start_run,
    wait_until,
)

RESULT_VARIABLES = ("paymentd_result", "paymentd_session_id", "paymentd_card_last4")


async def test_success_agent_hears_only_hold_audio_recordings_masked_bridge_restored(
    world: AgentWorld, desk: Desk, tmp_path: Path
) -> None:
    async def record(call: AgentCall) -> None:
        await record_both_legs(world, call, tmp_path)

    run = await start_run(
        world,
        desk,
        PAY_WITH_VISA,
        before=record,
        amount="125.50",
        customer_verified=True,
        reference="INV-1",
    )
    call = run.call
    assert run.created.body["status"] in ("transferring", "capturing")
    assert run.created.body["mode"] == "detach"
    assert run.created.body["agent_uuid"] == call.agent_uuid
    assert run.created.headers["Location"] == f"/v1/payments/{run.payment_id}"

    payment = await run.finish(desk)

    # The capture ran in the secure extension, every step taken, the agent kept out.
    assert call.customer.session.extensions_run[-1] == SECURE
    assert run.customer.steps_taken == len(PAY_WITH_VISA)
    assert run.ear.violations == []
    assert run.ear.samples > 20
    # The hold audio went round while the agent waited (12 s of music, a longer capture).
    assert len([r for r in call.agent.heard if "paymentd_hold" in r.file]) >= 2
    # The result.
    assert payment["status"] == "finished"
    assert payment["returned_to_agent"] is True
    outcome = payment["outcome"]
    assert outcome["result"] == "success"
    assert outcome["card_brand"] == "visa"
    assert outcome["card_last4"] == "4242"
    assert outcome["amount"] == "125.50"
    assert outcome["confirmation_code"]
    # Back with the agent: bridged, hearing each other, both legs carrying the result.
    await wait_until(lambda: bridged(call), what="the bridge back to the agent")
    assert hear_each_other(world, call)
    agent_leg = call.agent.session
    assert agent_leg is not None
    for channel in (call.customer.session.channel, agent_leg.channel):
        assert channel.get_variable("paymentd_result") == "success"
        assert channel.get_variable("paymentd_session_id") == run.payment_id
        assert channel.get_variable("paymentd_card_last4") == "4242"
        assert channel.get_variable("paymentd_confirmation_code") == outcome["confirmation_code"]
    # What paymentd changed on the legs is put back.
    assert agent_leg.channel.get_variable("park_after_bridge") is None
    assert agent_leg.channel.get_variable("hangup_after_bridge") is None
    assert call.customer.variable("paymentd_payment_id") is None
    # Recordings: masked from before the first key until the customer is back.
    recordings = world.sim.recordings
    assert len(recordings) == 2
    for recording in recordings:
        assert [masked for _at, masked in recording.mask_changes] == [True, False]
        assert recording.unmasked("dtmf") == []
        assert recording.unmasked("prompt") == []
    customer_recording = next(r for r in recordings if r.channel_uuid == call.customer.uuid)
    assert len([i for i in customer_recording.items if i.kind == "dtmf"]) == len(
        "".join(keys for _prompt, keys in PAY_WITH_VISA)
    )
    # Keys cross the bridge again.
    await call.customer.caller.press("5")
    await wait_until(lambda: call.agent.keys_heard == ["5"], what="a key across the bridge")

    # The desk saw every step, masked.
    stream = run.stream
    assert stream.statuses() == ["transferring", "capturing", "returning", "finished"]
    counts = [d["digits_entered"] for d in data_of(stream, "digits_entered")][: len(VISA)]
    assert counts == list(range(1, len(VISA) + 1))
    card = [d for d in data_of(stream, "field_accepted") if d["field"] == "card_number"]
    assert card == [{**card[0], "card_brand": "visa", "card_last4": "4242"}]
    requested = [d["field"] for d in data_of(stream, "field_requested")]
    assert requested == ["amount", "card_number", "expiry", "cvv"]
    remaining = data_of(stream, "field_requested")[1]["fields_remaining"]
    assert remaining == ["card_number", "expiry", "cvv"]
    assert data_of(stream, "finished")[0]["result"] == "success"
    (final,) = stream.of("outcome")
    assert final["result"] == "success"
    assert final["returned_to_agent"] is True
    assert [e["id"] for e in stream.events] == [str(n) for n in range(1, len(stream.events) + 1)]
    # The ledger knows the session by the payment's id, as an agent-mode session.
    row = await ledger_session(tmp_path / "ledger.sqlite3", run.payment_id)
    assert row is not None
    assert (row["call_uuid"], row["mode"], row["reference"]) == (
        call.customer.uuid,
        "agent",
        "INV-1",
    )
    assert row["result"] == "success"


async def test_a_decline_then_another_card(world: AgentWorld, desk: Desk) -> None:
    steps = [("press_1_to_pay_amount", "1"), *card_steps(DECLINED), *card_steps(VISA)]
    run = await start_run(world, desk, steps, amount="20.00", customer_verified=True)
    payment = await run.finish(desk)
    assert run.ear.violations == []
    assert payment["outcome"]["result"] == "success"
    assert payment["outcome"]["decline_count"] == 1
    assert payment["outcome"]["charge_attempts"] == 2
    (declined,) = data_of(run.stream, "declined")
    assert declined["error"] == "generic"
    assert declined["decline_count"] == 1
    assert [d["attempt"] for d in data_of(run.stream, "processing")] == [1, 2]
    await wait_until(lambda: bridged(run.call), what="the bridge back to the agent")


async def test_identification_failure_goes_back_to_the_agent_with_the_result(
    world: AgentWorld, desk: Desk
) -> None:
    run = await start_run(world, desk, [], amount="20.00", customer_verified=False)
    payment = await run.finish(desk)
    assert payment["outcome"]["result"] == "identification-failed"
    assert payment["outcome"]["error_type"] == "identification_failed"
    assert payment["returned_to_agent"] is True
    await wait_until(lambda: bridged(run.call), what="the bridge back to the agent")
    agent_leg = run.call.agent.session
    assert agent_leg is not None
    assert agent_leg.channel.get_variable("paymentd_result") == "identification-failed"
    assert any("identification_failed" in r.file for r in run.call.customer.caller.heard)
    assert run.ear.violations == []


async def test_cancel_from_the_desk_mid_entry(world: AgentWorld, desk: Desk) -> None:
    # The customer keys half a card number, then waits.
    steps = [("press_1_to_pay_amount", "1"), ("enter_card_number", VISA[:6])]
    run = await start_run(world, desk, steps, amount="20.00", customer_verified=True)
    await run.stream.wait_for(lambda s: len(data_of(s, "digits_entered")) == 6)
    cancelled = await desk.cancel(run.payment_id)
    assert cancelled.status == 202
    assert cancelled.body["cancel_requested"] is True
    payment = await run.finish(desk)
    assert payment["outcome"]["result"] == "caller-cancelled"
    assert payment["outcome"]["error_type"] == "cancelled_by_agent"
    assert payment["outcome"]["charge_attempts"] == 0
    assert any("payment_cancelled" in r.file for r in run.call.customer.caller.heard)
    await wait_until(lambda: bridged(run.call), what="the bridge back to the agent")
    assert run.ear.violations == []
    again = await desk.cancel(run.payment_id)
    assert again.status == 409
    assert again.body["error"]["code"] == "payment_finished"


async def test_a_cancel_before_the_customer_arrives_waits_for_the_dialogue(
    world: AgentWorld, desk: Desk
) -> None:
    call = await world.agent_call()
    created = await desk.start_payment(call.customer.uuid, amount="20.00", customer_verified=True)
    # At once: the customer is still on the way to the secure extension.
    cancelled = await desk.cancel(created.body["id"])
    assert cancelled.status == 202
    stream = desk.follow(created.body["id"])
    await asyncio.wait_for(stream.done.wait(), 20)
    (outcome,) = stream.of("outcome")
    assert outcome["result"] == "caller-cancelled"
    assert outcome["returned_to_agent"] is True
    await wait_until(lambda: bridged(call), what="the bridge back to the agent")


async def test_customer_hangs_up_the_agent_is_released_and_the_desk_told(
    world: AgentWorld, desk: Desk
) -> None:
    steps = [*PAY_WITH_VISA[:3], ("enter_expiry", HANG_UP)]
    run = await start_run(world, desk, steps, amount="20.00", customer_verified=True)
    payment = await run.finish(desk)
    assert payment["outcome"]["result"] == "caller-hung-up"
    assert payment["customer_hung_up"] is True
    assert payment["returned_to_agent"] is False
    assert {"party": "customer", "event": "hung_up"}.items() <= run.stream.of("call")[0].items()
    # Released: the agent's leg is hung up as it would have been without paymentd,
    # with the result on it.
    assert await run.call.agent.wait_for_hangup(5) == "NORMAL_CLEARING"
    agent_leg = run.call.agent.session
    assert agent_leg is not None
    assert agent_leg.channel.get_variable("paymentd_result") == "caller-hung-up"
    assert run.ear.violations == []


async def test_an_agent_that_parks_by_itself_stays_parked_when_released(
    world: AgentWorld, desk: Desk
) -> None:
    customer_steps = [("press_1_to_pay_amount", HANG_UP)]
    from tests.agent.harness import Customer

    customer = Customer(customer_steps)
    # Hold music long enough to be still playing when the agent is released.
    world.sim.sounds.durations["paymentd_hold"] = 600.0
    call = await world.sim.place_agent_call(
        caller=customer, agent_variables={"park_after_bridge": "true"}
    )
    created = await desk.start_payment(call.customer.uuid, amount="20.00", customer_verified=True)
    stream = desk.follow(created.body["id"])
    await asyncio.wait_for(stream.done.wait(), 20)
    assert stream.of("outcome")[0]["result"] == "caller-hung-up"
    await asyncio.sleep(0.1)
    agent_leg = call.agent.session
    assert agent_leg is not None
    assert agent_leg.channel.ready
    assert agent_leg.channel.get_variable("park_after_bridge") == "true"
    # The hold audio was stopped when the agent was released.
    assert [r.status for r in call.agent.heard] == ["break"]
    assert world.sim.hearing(call.agent_uuid).prompt is None


async def test_agent_hangs_up_the_customer_finishes_then_goes_to_the_fallback(
    world: AgentWorld, desk: Desk
) -> None:
    hung_up = asyncio.Event()
    run = await start_run(world, desk, [], amount="20.00", customer_verified=True)

    async def agent_leaves() -> None:
        await run.stream.wait_for(lambda s: "capturing" in s.statuses())
        await run.call.agent.hang_up()
        hung_up.set()

    leaving = asyncio.create_task(agent_leaves())
    await run.stream.wait_for(lambda s: s.of("call") != [])
    await leaving
    caller = run.call.customer.caller
    await key_steps(caller, PAY_WITH_VISA)
    payment = await run.finish(desk)
    assert hung_up.is_set()
    assert payment["agent_left"] is True
    assert payment["returned_to_agent"] is False
    assert payment["outcome"]["result"] == "success"
    assert run.stream.of("call")[0]["party"] == "agent"
    await caller.wait_for_playback(FALLBACK_PROMPT, timeout=10)
    assert run.call.customer.session.extensions_run[-1] == AFTER
    assert run.call.customer.variable("paymentd_result") == "success"


async def test_without_return_to_agent_the_agent_is_released_and_the_call_resumes(
    world: AgentWorld, desk: Desk
) -> None:
    run = await start_run(
        world, desk, PAY_WITH_VISA, amount="20.00", customer_verified=True, return_to_agent=False
    )
    payment = await run.finish(desk)
    assert payment["outcome"]["result"] == "success"
    assert payment["returned_to_agent"] is False
    assert await run.call.agent.wait_for_hangup(5) == "NORMAL_CLEARING"
    await run.call.customer.caller.wait_for_playback(FALLBACK_PROMPT, timeout=10)
    assert run.ear.violations == []


async def test_hold_audio_still_queued_at_give_back_is_not_heard_with_the_customer(
    world: AgentWorld, desk: Desk
) -> None:
    # A hold replay sent on a PLAYBACK_STOP just before the give-back can still be queued
    # on the agent's leg (here: behind the one playing; uuid_broadcast is event-locked).
    # uuid_bridge stops only the broadcast under way: the queued one would play in the new
    # bridge, hold music in the middle of the returned call.
    world.sim.sounds.durations["paymentd_hold"] = 600.0
    run = await start_run(world, desk, PAY_WITH_VISA[:-1], amount="20.00", customer_verified=True)
    call, caller = run.call, run.call.customer.caller
    await run.customer.done.wait()
    agent = world.daemon.agent
    assert agent is not None
    hold = agent.mover.hold_audio
    assert [r.file for r in call.agent.heard] == [hold]
    reply = await world.sim.switch.api.execute("uuid_broadcast", f"{call.agent_uuid} {hold} aleg")
    assert reply == "+OK Message sent\n"
    await key_steps(caller, PAY_WITH_VISA[-1:])
    payment = await run.finish(desk)
    assert payment["outcome"]["result"] == "success"
    await wait_until(lambda: bridged(call), what="the bridge back to the agent")
    await asyncio.sleep(0.1)  # 5 s of the returned call
    assert [r.file for r in call.agent.heard] == [hold]
    assert world.sim.hearing(call.agent_uuid).prompt is None
    assert hear_each_other(world, call)


async def test_keys_pressed_while_the_customer_is_moved_reach_no_listener(
    world: AgentWorld, desk: Desk
) -> None:
    """The customer starts keying as soon as the agent says so: keys dequeued before
    paymentd's socket has the DTMF events to itself (here, while the transfer to the
    secure extension runs) fire no event another listener would receive."""
    customer_uuid = ""

    class KeysAtTransfer:
        def offer(self, event: FsEvent) -> None:
            argument = event.get("API-Command-Argument") or ""
            if event.get("API-Command") == "uuid_transfer" and argument.startswith(customer_uuid):
                session = world.sim.switch.locate(customer_uuid)
                assert session is not None
                for digit in VISA[:8]:
                    session.queue_dtmf(digit)

    async def press_at_transfer(call: AgentCall) -> None:
        nonlocal customer_uuid
        customer_uuid = call.customer.uuid
        world.sim.switch.bus.subscribe(KeysAtTransfer())

    run = await start_run(
        world, desk, PAY_WITH_VISA, before=press_at_transfer, amount="10.00", customer_verified=True
    )
    payment = await run.finish(desk)

    assert payment["outcome"]["result"] == "success"
    assert world.sim.bus_events("DTMF") == []
    # The customer's own setting is back once the payment is over.
    assert run.call.customer.variable("sensitive_dtmf") is None


async def test_recordings_started_during_the_payment_are_masked_too(
    world: AgentWorld, desk: Desk, tmp_path: Path
) -> None:
    """A recording that starts on either leg while the payment runs (a supervisor, a
    record-on-demand button) is masked as soon as FreeSWITCH says it started."""
    paths: list[str] = []

    class RecordAtCardPrompt:
        def offer(self, event: FsEvent) -> None:
            if event.name != "PLAYBACK_START" or paths:
                return
            if "enter_card_number" not in (event.get("Playback-File-Path") or ""):
                return
            for leg, uuid in (("customer", customer_uuid), ("agent", agent_uuid)):
                path = str(tmp_path / f"late-{leg}.wav")
                paths.append(path)
                world.sim.switch.spawn(start(uuid, path))

    async def start(uuid: str, path: str) -> None:
        reply = await world.sim.switch.api.execute("uuid_record", f"{uuid} start {path}")
        assert reply == "+OK Success\n"

    customer_uuid = agent_uuid = ""

    async def watch(call: AgentCall) -> None:
        nonlocal customer_uuid, agent_uuid
        customer_uuid, agent_uuid = call.customer.uuid, call.agent_uuid
        world.sim.switch.bus.subscribe(RecordAtCardPrompt())

    run = await start_run(
        world, desk, PAY_WITH_VISA, before=watch, amount="10.00", customer_verified=True
    )
    payment = await run.finish(desk)

    assert payment["outcome"]["result"] == "success"
    late = [rec for rec in world.sim.recordings if rec.path in paths]
    assert len(late) == 2
    for recording in late:
        assert [masked for _at, masked in recording.mask_changes] == [True, False]
        assert recording.mask_changes[0][0] - recording.started < 0.5
