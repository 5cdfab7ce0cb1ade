"""The inbound event socket and the agent's side of a call (issue 5's agent mode)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from paymentd.testing import Action, AgentCall, Extension, FreeSwitchSimulator
from tests.testing.conftest import CARD
from tests.testing.rawesl import Paymentd, Peer, client, execute

NUMBER = "4111111111111111"
REC = "/tmp/agent-call.wav"


async def authed(sim: FreeSwitchSimulator) -> Peer:
    server = sim.inbound or await sim.start_inbound()
    peer = await client(*server.address)
    await peer.next()
    assert (await peer.command("auth ClueCon")).reply_text == "+OK accepted"
    return peer


async def api(peer: Peer, command: str) -> str:
    return (await peer.command(f"api {command}")).body.decode()


async def test_filters_narrow_what_a_listener_gets(
    sim: FreeSwitchSimulator, paymentd: Paymentd
) -> None:
    listener = await authed(sim)
    await listener.command("event plain CHANNEL_CREATE")
    one = await sim.place_call(paymentd.address)
    reply = await listener.command(f"filter Unique-ID {one.uuid}")
    assert reply.reply_text == f"+OK filter added. [Unique-ID]=[{one.uuid}]"
    two = await sim.place_call(paymentd.address)
    await listener.quiet(0.1)
    created = [m.ev("Unique-ID") for m in listener.messages if m.event_name == "CHANNEL_CREATE"]
    assert two.uuid in [e.unique_id for e in sim.bus_events("CHANNEL_CREATE")]
    # Before the filter: both legs of the first call; after it: nothing of the second call.
    assert one.uuid in created
    assert all(uuid in (one.uuid, one.phone_uuid) for uuid in created)


async def test_myevents_on_an_inbound_connection(
    sim: FreeSwitchSimulator, paymentd: Paymentd
) -> None:
    call = await sim.place_call(paymentd.address)
    peer = await paymentd.peer()
    await peer.command("connect")
    watcher = await authed(sim)
    assert (await watcher.command(f"myevents {call.uuid}")).reply_text == "+OK Events Enabled"
    assert (await watcher.command("divert_events on")).reply_text == "+OK events diverted"
    assert (await watcher.command("linger 1")).reply_text == "+OK will linger 1 seconds"
    await peer.command(execute("answer"))
    await call.caller.press("7")
    assert (await watcher.event("DTMF")).ev("DTMF-Digit") == "7"
    assert sim.bus_events("DTMF") == []
    events = [m for m in watcher.messages if m.event]
    assert events
    assert all(m.ev("Unique-ID") == call.uuid for m in events)


async def test_json_events_inbound(sim: FreeSwitchSimulator, paymentd: Paymentd) -> None:
    listener = await authed(sim)
    assert (await listener.command("event json CHANNEL_CREATE")).reply_text == (
        "+OK event listener enabled json"
    )
    call = await sim.place_call(paymentd.address)
    created = await listener.event("CHANNEL_CREATE")
    assert created.content_type == "text/event-json"
    assert created.ev("Caller-Callee-ID-Name") == "Outbound Call"
    assert created.ev("Unique-ID") in (call.uuid, call.phone_uuid)


async def test_a_dropped_connection_and_a_reconnect(sim: FreeSwitchSimulator) -> None:
    first = await authed(sim)
    assert sim.inbound is not None
    await sim.inbound.drop_connections()
    # A cut connection: no goodbye, just the end.
    assert await first.drain() == []
    assert sim.inbound.open_connections == []
    second = await authed(sim)
    assert len(sim.inbound.open_connections) == 1
    assert (await api(second, "show channels count")) == "\n0 total.\n"
    port = sim.inbound.port
    await sim.inbound.stop()
    with pytest.raises(OSError):
        await client("127.0.0.1", port)
    await sim.inbound.start()
    assert sim.inbound.port == port
    third = await authed(sim)
    assert (await api(third, "uuid_exists nothing")) == "false"


async def agent_call(sim: FreeSwitchSimulator, **variables: str) -> AgentCall:
    return await sim.place_agent_call(variables=variables or None)


async def test_mute_mode_silences_the_customer_but_not_the_keys(sim: FreeSwitchSimulator) -> None:
    """``uuid_audio`` mutes audio; keys still cross the bridge unless sensitive."""
    call = await agent_call(sim)
    ctl = await authed(sim)
    customer, agent = call.customer.uuid, call.agent_uuid
    assert await api(ctl, f"uuid_getvar {customer} bridge_uuid") == agent
    assert sim.hearing(agent).hears_partner
    assert await api(ctl, f"uuid_audio {customer} start read mute 1") == "+OK\n"
    assert not sim.hearing(agent).hears_partner
    assert sim.bus_events("MEDIA_BUG_START")[-1].get("Media-Bug-Target") == "mute"
    await call.customer.caller.press("12", gap=0.002)
    await asyncio.sleep(0.05)
    assert call.agent.keys_heard == ["1", "2"]
    assert await api(ctl, f"uuid_setvar {customer} sensitive_dtmf true") == "+OK\n"
    await call.customer.caller.press("34", gap=0.002)
    await asyncio.sleep(0.05)
    assert call.agent.keys_heard == ["1", "2"]
    assert await api(ctl, f"uuid_audio {customer} stop") == "+OK\n"
    assert sim.hearing(agent).hears_partner


async def test_bridge_filter_dtmf_counts_only_when_set_before_the_bridge(
    sim: FreeSwitchSimulator,
) -> None:
    filtered = await agent_call(sim, bridge_filter_dtmf="true")
    await filtered.customer.caller.press("99", gap=0.002)
    late = await agent_call(sim)
    ctl = await authed(sim)
    await api(ctl, f"uuid_setvar {late.customer.uuid} bridge_filter_dtmf true")
    await late.customer.caller.press("88", gap=0.002)
    await asyncio.sleep(0.05)
    assert filtered.agent.keys_heard == []
    assert late.agent.keys_heard == ["8", "8"]


async def test_uuid_bridge_of_a_bridged_pair_bridges_it_again(
    sim: FreeSwitchSimulator, paymentd: Paymentd
) -> None:
    """``switch_ivr_uuid_bridge`` does not look for an existing bridge: it flags both legs
    for transfer, the running bridge ends (CHANNEL_UNBRIDGE) without parking or hanging up
    anyone, ``multi_threaded_bridge`` puts the originator in CS_RESET and
    ``uuid_bridge_on_reset`` in CS_SOFT_EXECUTE, which bridges the pair again.  The new
    bridge reads ``bridge_filter_dtmf`` again: a filter unset meanwhile is gone."""
    sim.dialplan.add(
        Extension("secure-payment", "7790", [Action.socket(f"127.0.0.1:{paymentd.address[1]}")])
    )
    call = await agent_call(sim)
    ctl = await authed(sim)
    customer, agent = call.customer.uuid, call.agent_uuid
    assert await api(ctl, f"uuid_setvar {agent} park_after_bridge true") == "+OK\n"
    assert await api(ctl, f"uuid_setvar {customer} bridge_filter_dtmf true") == "+OK\n"
    assert await api(ctl, f"uuid_transfer {customer} 7790 XML default") == "+OK\n"
    socket = await paymentd.peer()
    await socket.command("connect")
    await socket.command("myevents")
    await socket.command("divert_events on")
    assert await api(ctl, f"uuid_bridge {customer} {agent}") == f"+OK {agent}\n"
    await socket.event("CHANNEL_BRIDGE")
    await call.customer.caller.press("12", gap=0.002)
    assert [(await socket.event("DTMF")).ev("DTMF-Digit") for _ in "12"] == ["1", "2"]
    assert call.agent.keys_heard == []
    # Unset, the filter still holds: it was read when this bridge started.
    assert await api(ctl, f"uuid_setvar {customer} bridge_filter_dtmf") == "+OK\n"
    await call.customer.caller.press("3")
    assert (await socket.event("DTMF")).ev("DTMF-Digit") == "3"
    assert call.agent.keys_heard == []
    bridges = len(sim.bus_events("CHANNEL_BRIDGE"))
    agent_states = len(_states(sim, agent))

    assert await api(ctl, f"uuid_bridge {customer} {agent}") == f"+OK {agent}\n"
    assert (await socket.event("CHANNEL_UNBRIDGE")).ev("Bridge-B-Unique-ID") == agent
    states = []
    while (message := await socket.next()).event_name != "CHANNEL_BRIDGE":
        if message.event_name == "CHANNEL_STATE":
            states.append(message.ev("Channel-State"))
        if message.event_name == "CHANNEL_EXECUTE":
            assert message.ev("Application") == "uuid_bridge"
    # No CS_HIBERNATE on the originator: the ended bridge already set CS_RESET over it.
    assert states == ["CS_RESET", "CS_SOFT_EXECUTE"]
    assert message.ev("Bridge-B-Unique-ID") == agent
    assert len(sim.bus_events("CHANNEL_BRIDGE")) == bridges + 1
    assert _states(sim, agent)[agent_states:] == [
        "CS_HIBERNATE",
        "CS_RESET",
        "CS_SOFT_EXECUTE",
        "CS_EXCHANGE_MEDIA",
    ]
    executed = [
        e for e in sim.bus_events("CHANNEL_EXECUTE") if e.get("Application") == "uuid_bridge"
    ]
    assert [e.get("Unique-ID") for e in executed[-2:]] == [customer, agent]
    # Nobody parked or hung up: bridged again, and now the keys cross.
    customer_leg, agent_leg = sim.session(customer), sim.session(agent)
    assert customer_leg is not None
    assert agent_leg is not None
    assert customer_leg.bridged_to is agent_leg
    assert agent_leg.bridged_to is customer_leg
    assert customer_leg.channel.ready
    assert agent_leg.channel.ready
    assert not agent_leg.channel.parked
    assert sim.hearing(agent).hears_partner
    await call.customer.caller.press("45", gap=0.002)
    assert [(await socket.event("DTMF")).ev("DTMF-Digit") for _ in "45"] == ["4", "5"]
    await wait_for(lambda: call.agent.keys_heard == ["4", "5"])


async def test_a_quiet_bridge_ends_when_the_other_leg_hangs_up(
    sim: FreeSwitchSimulator, paymentd: Paymentd
) -> None:
    """Each side of a bridge reads a frame every 20 ms: it sees the other side hang up
    even when nothing else happens on it; the customer then parks (park_after_bridge)."""
    sim.dialplan.add(
        Extension("secure-payment", "7790", [Action.socket(f"127.0.0.1:{paymentd.address[1]}")])
    )
    call = await agent_call(sim)
    ctl = await authed(sim)
    customer, agent = call.customer.uuid, call.agent_uuid
    assert await api(ctl, f"uuid_setvar {agent} park_after_bridge true") == "+OK\n"
    assert await api(ctl, f"uuid_setvar {customer} park_after_bridge true") == "+OK\n"
    assert await api(ctl, f"uuid_transfer {customer} 7790 XML default") == "+OK\n"
    socket = await paymentd.peer()
    await socket.command("connect")
    await socket.command("myevents")
    assert await api(ctl, f"uuid_bridge {customer} {agent}") == f"+OK {agent}\n"
    await socket.event("CHANNEL_BRIDGE")
    await call.agent.hang_up()
    assert (await socket.event("CHANNEL_UNBRIDGE", timeout=1.0)).ev("Bridge-B-Unique-ID") == agent
    await socket.event("CHANNEL_PARK", timeout=1.0)
    assert call.customer.session.channel.ready


@pytest.mark.parametrize(
    ("park_after_bridge", "expected"),
    [("true", "CHANNEL_PARK"), (None, "DESTINATION_OUT_OF_ORDER")],
)
async def test_uuid_bridge_to_a_leg_gone_before_the_bridge_starts(
    sim: FreeSwitchSimulator, paymentd: Paymentd, park_after_bridge: str | None, expected: str
) -> None:
    """``uuid_bridge_on_soft_execute`` cannot lock the other leg any more (it went down
    after the api answered): the originator parks if ``park_after_bridge`` is set, and
    is hung up with DESTINATION_OUT_OF_ORDER otherwise."""
    sim.dialplan.add(
        Extension("secure-payment", "7790", [Action.socket(f"127.0.0.1:{paymentd.address[1]}")])
    )
    call = await agent_call(sim)
    ctl = await authed(sim)
    customer, agent = call.customer.uuid, call.agent_uuid
    assert await api(ctl, f"uuid_setvar {agent} park_after_bridge true") == "+OK\n"
    if park_after_bridge is not None:
        await api(ctl, f"uuid_setvar {customer} park_after_bridge {park_after_bridge}")
    assert await api(ctl, f"uuid_transfer {customer} 7790 XML default") == "+OK\n"
    socket = await paymentd.peer()
    await socket.command("connect")
    await socket.command("myevents")
    assert await api(ctl, f"uuid_bridge {customer} {agent}") == f"+OK {agent}\n"
    await socket.event("CHANNEL_BRIDGE")
    agent_leg = sim.session(agent)
    assert agent_leg is not None
    # Asked for again, and the agent hangs up before the customer's session gets to it.
    assert sim.switch.uuid_bridge(customer, agent)
    agent_leg.hangup("NORMAL_CLEARING")
    await socket.event("CHANNEL_UNBRIDGE")
    if expected == "CHANNEL_PARK":
        await socket.event("CHANNEL_PARK")
        assert call.customer.session.channel.ready
        assert call.customer.session.channel.parked
    else:
        hangup = await socket.event("CHANNEL_HANGUP_COMPLETE")
        assert hangup.ev("Hangup-Cause") == expected


async def test_uuid_exists_is_false_once_a_channel_hangs_up(
    sim: FreeSwitchSimulator, paymentd: Paymentd
) -> None:
    """The lingering socket still holds the hung-up channel, but it cannot be locked."""
    sim.dialplan.add(
        Extension("secure-payment", "7790", [Action.socket(f"127.0.0.1:{paymentd.address[1]}")])
    )
    call = await agent_call(sim)
    ctl = await authed(sim)
    assert await api(ctl, f"uuid_transfer {call.customer.uuid} 7790 XML default") == "+OK\n"
    socket = await paymentd.peer()
    await socket.command("connect")
    await socket.command("myevents")
    await socket.command("linger 30")
    assert await api(ctl, f"uuid_exists {call.customer.uuid}") == "true"
    await call.customer.caller.hang_up()
    await socket.event("CHANNEL_HANGUP_COMPLETE")
    assert sim.session(call.customer.uuid) is not None
    assert await api(ctl, f"uuid_exists {call.customer.uuid}") == "false"


def _states(sim: FreeSwitchSimulator, uuid: str) -> list[str | None]:
    return [
        e.get("Channel-State")
        for e in sim.bus_events("CHANNEL_STATE")
        if e.get("Unique-ID") == uuid
    ]


async def wait_for(check: Callable[[], bool], timeout: float = 2.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.005)


async def secure_capture(
    sim: FreeSwitchSimulator, paymentd: Paymentd
) -> tuple[AgentCall, Peer, Peer]:
    """Detach mode: park the agent, move the customer into the socket, record masked."""
    sim.dialplan.add(
        Extension("secure-payment", "7790", [Action.socket(f"127.0.0.1:{paymentd.address[1]}")])
    )
    call = await agent_call(sim)
    ctl = await authed(sim)
    customer, agent = call.customer.uuid, call.agent_uuid
    assert await api(ctl, f"uuid_record {customer} start {REC}") == "+OK Success\n"
    assert await api(ctl, f"uuid_setvar {agent} park_after_bridge true") == "+OK\n"
    assert await api(ctl, f"uuid_transfer {customer} 7790 XML default") == "+OK\n"
    socket = await paymentd.peer()
    await socket.command("connect")
    await socket.command("myevents")
    await socket.command("divert_events on")
    await socket.command("linger 5")
    assert await api(ctl, f"uuid_record {customer} mask {REC}") == "+OK Success\n"
    return call, ctl, socket


async def test_detach_mode_the_agent_hears_nothing_of_the_capture(
    sim: FreeSwitchSimulator, paymentd: Paymentd
) -> None:
    call, ctl, socket = await secure_capture(sim, paymentd)
    customer, agent = call.customer.uuid, call.agent_uuid
    parked = sim.session(agent)
    assert parked is not None
    assert parked.channel.parked
    await socket.command(execute("set", "playback_terminators=none"))
    await socket.command(execute("playback", CARD))
    await socket.event("CHANNEL_EXECUTE", "playback")
    # While the customer hears the prompt, the agent hears nothing at all.
    assert sim.hearing(agent).silent
    assert sim.hearing(customer).prompt == CARD
    await call.customer.caller.press(f"{NUMBER}#", gap=0.002)
    keys = [await socket.event("DTMF") for _ in range(17)]
    assert "".join(k.ev("DTMF-Digit") or "" for k in keys) == f"{NUMBER}#"
    assert call.agent.keys_heard == []
    assert await api(ctl, f"uuid_record {customer} unmask {REC}") == "+OK Success\n"
    assert await api(ctl, f"uuid_bridge {customer} {agent}") == f"+OK {agent}\n"
    bridge = await socket.event("CHANNEL_BRIDGE")
    assert bridge.ev("Bridge-B-Unique-ID") == agent
    assert sim.hearing(agent).hears_partner
    recording = next(rec for rec in sim.recordings if rec.path == REC)
    assert [item.detail for item in recording.items if item.kind == "dtmf"] == list(f"{NUMBER}#")
    assert recording.unmasked("dtmf") == []
    assert [item.kind for item in recording.unmasked()] == []
    assert [masked for _, masked in recording.mask_changes] == [True, False]
    # The card reached paymentd's socket only: not the bus, not the agent.
    assert NUMBER not in sim.bus_text("ALL")


async def test_the_agent_hangs_up_during_the_capture(
    sim: FreeSwitchSimulator, paymentd: Paymentd
) -> None:
    call, ctl, socket = await secure_capture(sim, paymentd)
    await call.agent.hang_up()
    await asyncio.sleep(0.05)
    assert await api(ctl, f"uuid_exists {call.agent_uuid}") == "false"
    reply = await api(ctl, f"uuid_bridge {call.customer.uuid} {call.agent_uuid}")
    assert reply == "-ERR Invalid uuid\n"
    # The customer is still with paymentd.
    assert (await socket.command("getvar uuid")).reply_text == call.customer.uuid


async def test_the_customer_hangs_up_during_the_capture(
    sim: FreeSwitchSimulator, paymentd: Paymentd
) -> None:
    call, ctl, socket = await secure_capture(sim, paymentd)
    await call.customer.caller.hang_up()
    assert (await socket.event("CHANNEL_HANGUP_COMPLETE")).ev("Hangup-Cause") == "NORMAL_CLEARING"
    # The agent waits, parked, for paymentd to release it.
    assert await api(ctl, f"uuid_exists {call.agent_uuid}") == "true"
    assert await api(ctl, f"uuid_getvar {call.agent_uuid} park_after_bridge") == "true"


async def test_uuid_setvar_and_getvar_refuse_a_channel_that_hung_up(
    sim: FreeSwitchSimulator, paymentd: Paymentd
) -> None:
    """Both lock the session (mod_commands.c, switch_core_session_locate), which fails from
    CS_HANGUP on, even while a lingering socket still holds the channel."""
    call = await sim.place_call(paymentd.address)
    socket = await paymentd.peer()
    await socket.command("connect")
    await socket.command("myevents")
    await socket.command("linger 30")
    ctl = await authed(sim)
    assert await api(ctl, f"uuid_setvar {call.uuid} probe yes") == "+OK\n"
    assert await api(ctl, f"uuid_getvar {call.uuid} probe") == "yes"
    await call.caller.hang_up()
    await socket.event("CHANNEL_HANGUP_COMPLETE")
    assert sim.session(call.uuid) is not None
    assert await api(ctl, f"uuid_setvar {call.uuid} probe no") == "-ERR No such channel!\n"
    assert await api(ctl, f"uuid_getvar {call.uuid} probe") == "-ERR No such channel!\n"
