"""Bridges between two channels: ``bridge``, ``uuid_bridge`` and the agent leg.

While two channels are bridged each side reads its own keys (firing its DTMF
events) and passes them to the other side unless the key is sensitive or
``bridge_filter_dtmf`` was set on the keying leg before the bridge started.
The bridge ends when either side hangs up, is transferred or is bridged
elsewhere; CHANNEL_BRIDGE / CHANNEL_UNBRIDGE are fired by the A side.  An agent
leg whose bridge ends parks when ``park_after_bridge`` is set and hangs up
otherwise.  ``uuid_bridge`` takes a channel out of whatever it runs (for the
customer: the ``socket`` app, whose listener stays attached) into
CS_SOFT_EXECUTE and bridges it there.

``switch_ivr_uuid_bridge`` does not care whether the two are bridged already
(``src/switch_ivr_bridge.c``): it flags both legs for transfer and moves them to
CS_HIBERNATE, so a running bridge ends without anyone parking or hanging up
(the transfer flag skips ``park_after_bridge`` / ``hangup_after_bridge``), and
the pair is bridged again.  On the originator the ended bridge's
``switch_ivr_multi_threaded_bridge`` already put CS_RESET over CS_HIBERNATE, so
it goes CS_RESET, CS_SOFT_EXECUTE; the other leg goes CS_HIBERNATE, CS_RESET,
CS_SOFT_EXECUTE, CS_EXCHANGE_MEDIA.  Each new bridge reads
``bridge_filter_dtmf`` again.  If the other leg is down by the time the
originator gets to bridge (``uuid_bridge_on_soft_execute``), the originator parks
when it has ``park_after_bridge`` and is hung up with DESTINATION_OUT_OF_ORDER
otherwise (``transfer_after_bridge`` and the other leg's ``rdnis`` are not
modelled).
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING

from paymentd.testing.channel import ChannelState

if TYPE_CHECKING:
    from paymentd.testing.session import Session

__all__ = [
    "agent_leg_program",
    "app_bridge",
    "bridge_sessions",
    "link",
    "park_after_bridge",
    "prepare_uuid_bridge",
    "soft_bridge",
]

_ENDPOINT = re.compile(
    r"^(?:\{(?P<vars>[^}]*)\})?(?P<tech>[a-z]+)/(?P<dest>[^/]+)(?:/(?P<context>.+))?$"
)


async def app_bridge(session: Session, data: str | None) -> None:
    """``bridge [{vars}]loopback/EXT``: originate the agent leg and bridge to it."""
    channel = session.channel
    match = _ENDPOINT.match(data or "")
    if match is None or match.group("tech") != "loopback":
        session.log(
            "ERR", "switch_ivr_originate.c:2904", f"Cannot create outgoing channel of type [{data}]"
        )
        channel.set_variable("originate_disposition", "CHAN_NOT_IMPLEMENTED")
        channel.set_variable("DIALSTATUS", "CHAN_NOT_IMPLEMENTED")
        return
    variables = dict(
        item.split("=", 1) for item in (match.group("vars") or "").split(",") if "=" in item
    )
    agent = await session.switch.originate_agent_leg(session, match.group("dest"), variables)
    if agent is None or not channel.ready:
        channel.set_variable("originate_disposition", "NO_ANSWER")
        channel.set_variable("DIALSTATUS", "NO_ANSWER")
        return
    channel.set_variable(
        "originated_legs",
        f"{agent.uuid};{agent.channel.profile.callee_id_name};{match.group('dest')}",
    )
    session.answer()
    channel.set_variable("originate_disposition", "SUCCESS")
    channel.set_variable("DIALSTATUS", "SUCCESS")
    channel.set_variable("originate_causes", f"{agent.uuid};NONE")
    link(session, agent)
    await bridge_sessions(session, agent)
    if channel.ready and channel.variable_true("hangup_after_bridge"):
        session.hangup("NORMAL_CLEARING")


def link(a: Session, b: Session) -> None:
    """Join two sessions: each gets the other's profile as ``Other-Leg`` and a signal bond."""
    now = a.now_us()
    a.bridged_to = b
    b.bridged_to = a
    a.channel.other_profile, a.channel.other_type = b.channel.profile, "originatee"
    b.channel.other_profile, b.channel.other_type = a.channel.profile, "originator"
    for side, other in ((a, b), (b, a)):
        side.channel.profile.times.bridged = now
        side.channel.set_variable("signal_bond", other.uuid)


async def bridge_sessions(a: Session, b: Session, *, soft: bool = False) -> None:
    """Bridge linked ``a`` (the side running this) and ``b`` until either leaves."""
    fields: dict[str, str | None] = {"Bridge-A-Unique-ID": a.uuid, "Bridge-B-Unique-ID": b.uuid}
    a.fire(a.channel.event("CHANNEL_BRIDGE", fields))
    for side, other in ((a, b), (b, a)):
        channel = side.channel
        if soft:
            channel.set_variable("bridge_to", other.uuid)
        channel.set_variable("last_bridge_to", other.uuid)
        channel.set_variable("bridge_channel", other.channel.name)
        channel.set_variable("bridge_uuid", other.uuid)
        if soft:
            channel.set_variable("signal_bond", other.uuid)
    a.channel.set_variable("last_sent_callee_id_name", b.channel.profile.callee_id_name)
    a.channel.set_variable("last_sent_callee_id_number", b.channel.profile.callee_id_number)
    b.notify()
    try:
        await pump(a, b)
    finally:
        a.bridged_to = None
        if b.bridged_to is a:
            b.bridged_to = None
        for side in (a, b):
            side.channel.set_variable("signal_bond", None)
        a.fire(a.channel.event("CHANNEL_UNBRIDGE", fields))
        # What is broadcast to the other side (hold music) stops with the bridge; one
        # still queued plays wherever that leg goes next (switch_ivr_multi_threaded_bridge).
        _stop_broadcast(b)
        b.notify()


def _stop_broadcast(session: Session) -> None:
    """``switch_channel_stop_broadcast``: only a broadcast under way (CF_BROADCAST) stops."""
    if session.broadcasting:
        session.channel.stop_broadcast = True
        session.channel.break_flag = 1
        session.notify()


async def pump(side: Session, other: Session) -> None:
    """One side's bridge loop: run commands, pass keys across, until the bridge ends."""
    channel = side.channel
    filtered = channel.variable_true("bridge_filter_dtmf")

    def ended() -> bool:
        return side.bridged_to is not other or other.channel.down

    while channel.ready and not channel.leaving and not ended():
        await side.next_frame(extra=ended)
        if not channel.ready or channel.leaving or ended():
            return
        await side.parse_all_events()
        while channel.dtmf_queue:
            key = side.dequeue_dtmf()
            if key is None or key.sensitive or filtered:
                continue
            side.switch.media.dtmf_forwarded(other, key.digit)


def _unlinked(session: Session, partner: Session) -> bool:
    return session.bridged_to is not partner


async def agent_leg_program(session: Session) -> None:
    """The agent's leg: bridged, or parked after the bridge, until it hangs up."""
    channel = session.channel
    while session.bridged_to is None and channel.ready:
        # The caller's bridge app takes this leg once it is answered.
        await session.next_frame(extra=lambda: session.bridged_to is not None)
    while channel.ready:
        if channel.soft_bridge is not None:
            # uuid_bridge moved this leg: it sleeps in CS_SOFT_EXECUTE until the other
            # side takes it, within a few frames.
            channel.soft_bridge = None
            for state in (
                ChannelState.CS_HIBERNATE,
                ChannelState.CS_RESET,
                ChannelState.CS_SOFT_EXECUTE,
            ):
                session.set_running_state(state)
            deadline = session.switch.clock.now() + 1.0
            while (
                session.bridged_to is None
                and channel.ready
                and session.switch.clock.now() < deadline
            ):
                await session.next_frame(
                    deadline - session.switch.clock.now(),
                    extra=lambda: session.bridged_to is not None,
                )
            if session.bridged_to is not None:
                # What the ended bridge stopped on this side is over: the new one starts
                # without a pending break.
                channel.stop_broadcast = False
                channel.break_flag = 0
            continue
        partner = session.bridged_to
        if partner is not None:
            session.set_running_state(ChannelState.CS_EXCHANGE_MEDIA)
            await pump(session, partner)
            # The side that runs the bridge unlinks both legs when it ends
            # (bridge_sessions).  Until its task has done so, this leg waits: going
            # round again would find the pump over at once and spin, never letting
            # that task run.
            while session.bridged_to is partner and channel.ready and not channel.leaving:
                await session.next_frame(extra=functools.partial(_unlinked, session, partner))
            continue
        if not channel.variable_true("park_after_bridge"):
            session.hangup("NORMAL_CLEARING")
            return
        channel.stop_broadcast = False
        channel.break_flag = 0
        session.set_running_state(ChannelState.CS_PARK)
        if session.hold_music is not None:
            # A leg put on hold keeps hearing the music in park.
            session.switch.broadcast(session, session.hold_music, loops=-1)
        await session.park()


def prepare_uuid_bridge(a: Session, b: Session) -> None:
    """What ``switch_ivr_uuid_bridge`` does at once, before the channels even move."""
    channel = a.channel
    channel.set_variable("uuid_bridge", b.uuid)
    channel.set_variable("bridge_channel", b.channel.name)
    channel.set_variable("bridge_uuid", b.uuid)
    link(a, b)
    channel.set_variable("original_destination_number", channel.profile.destination_number)
    channel.set_variable("original_caller_id_number", channel.profile.caller_id_number)
    source = f"{a.now_us() // 1_000_000}:{a.switch.new_uuid()}:uuid_br:{b.uuid}"
    channel.push_variable("transfer_history", source)
    channel.set_variable("transfer_source", source)
    a.bridged_to = b.bridged_to = None
    # Broadcasts under way on either leg stop; those queued stay queued.
    _stop_broadcast(a)
    _stop_broadcast(b)
    channel.soft_bridge = b.uuid
    b.channel.soft_bridge = a.uuid
    a.notify()
    b.notify()


async def soft_bridge(session: Session) -> None:
    """``uuid_bridge`` on the originator: (hibernate,) reset, soft-execute, bridge.

    Called again for every ``uuid_bridge`` that reaches the channel while it is in a
    soft bridge or parked after one (``Session._route_and_execute``)."""
    channel = session.channel
    other_uuid = channel.soft_bridge or ""
    channel.soft_bridge = None
    states = [ChannelState.CS_HIBERNATE, ChannelState.CS_RESET, ChannelState.CS_SOFT_EXECUTE]
    if channel.running_state == ChannelState.CS_SOFT_EXECUTE:
        # The bridge of an earlier uuid_bridge just ended: switch_ivr_multi_threaded_bridge
        # set CS_RESET over the CS_HIBERNATE asked for before the state machine saw it.
        states = states[1:]
    for state in states:
        session.set_running_state(state)
    # uuid_bridge_on_soft_execute locks the other session; a leg that is down is gone.
    other = session.switch.locate(other_uuid)
    if other is not None and other.channel.down:
        other = None
    if other is None:
        if channel.ready and channel.variable_true("park_after_bridge"):
            await park_after_bridge(session)
        elif channel.ready:
            session.hangup("DESTINATION_OUT_OF_ORDER")
        return
    # Two frames pass before the bridge starts (about 40 ms in the captures).
    await session.next_frame(0)
    await session.next_frame(0)
    if not channel.ready:
        return
    if other.channel.down:
        # Gone while it was waited for: the originator is hung up.
        session.hangup("DESTINATION_OUT_OF_ORDER")
        return
    channel.set_variable("uuid_bridge", None)
    for side, peer in ((session, other), (other, session)):
        fields: dict[str, str | None] = {
            "Application": "uuid_bridge",
            "Application-Data": peer.uuid,
        }
        side.fire(side.channel.event("CHANNEL_EXECUTE", fields, variant="uuid_bridge"))
    session.bridged_to, other.bridged_to = other, session
    other.notify()
    await bridge_sessions(session, other, soft=True)
    if channel.ready and not channel.leaving and channel.variable_true("park_after_bridge"):
        await park_after_bridge(session)


async def park_after_bridge(session: Session) -> None:
    """``switch_ivr_park_session``: CS_PARK, then park until something takes the channel."""
    session.set_running_state(ChannelState.CS_PARK)
    await session.park()
