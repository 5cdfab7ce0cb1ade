"""The ``socket`` dialplan application: FreeSWITCH connecting out to paymentd.

As ``socket_function`` in ``mod_event_socket.c``: try each ``host:port`` of
``host1:port1|host2:port2`` in order (a refused connection logs and tries the
next; when none answers the app returns and the dialplan goes on), send nothing
first, and wait up to 25 s for the first packet.  That first packet is
executed but its reply is never written (``connect``'s channel data is written
by the command itself).  With ``async`` the app parks the channel until the
listener lets go of it, then the dialplan continues; without ``async`` the
listener runs inside the app and ``sendmsg`` executes inline.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from paymentd.testing.channel import ChannelState
from paymentd.testing.listener import Listener
from paymentd.testing.wire import ContentLengthRejected

if TYPE_CHECKING:
    from paymentd.testing.session import Session

__all__ = ["app_socket"]


async def app_socket(session: Session, data: str | None) -> None:
    """``socket HOST:PORT[|HOST:PORT...] [async] [full]``."""
    channel = session.channel
    if not data:
        session.log("ERR", "mod_event_socket.c:433", "Parse Error!")
        return
    argv = data.split(" ")
    flags = {word.lower() for word in argv[1:]}
    connection = await _connect(session, argv[0])
    if connection is None:
        session.log("ERR", "mod_event_socket.c:509", "Socket Error!")
        return
    reader, writer = connection
    switch = session.switch
    listener = Listener(
        switch,
        reader,
        writer,
        session=session,
        outbound=True,
        full="full" in flags,
        async_mode="async" in flags,
    )
    session.lock()
    switch.listener_attached(listener, session)
    listener.start_reading()
    if not listener.async_mode:
        await _run_listener(listener)
        return
    switch.spawn(_run_listener(listener))
    await _wait_any(listener.connected_event, listener.closed, session.hung_up_event)
    if listener.connected and switch.choose("park_event_after_myevents"):
        # The socket's own CHANNEL_PARK reaches the socket only if myevents won the race.
        await _wait_any(listener.myevents_event, listener.closed, session.hung_up_event)
    if channel.state != ChannelState.CS_RESET:
        # switch_ivr_park returns at once on a channel in CS_RESET (a listener that
        # resumed and closed before the park began).
        await session.park()
    await session.parse_all_events()
    resume = listener.resume or channel.variable_true("socket_resume")
    if (
        resume
        and channel.transfer_to is None
        and channel.state == ChannelState.CS_RESET
        and not channel.down
    ):
        session.log(
            "DEBUG",
            "mod_event_socket.c:549",
            f"({channel.name}) State Change CS_RESET -> CS_EXECUTE",
        )
        channel.state = ChannelState.CS_EXECUTE


async def _connect(
    session: Session, targets: str
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
    for host in targets.split("|"):
        if not host:
            session.log("ERR", "mod_event_socket.c:446", "Missing Host!")
            continue
        session.log("NOTICE", "mod_event_socket.c:452", f"Trying host: {host}")
        address, _, port_text = host.rpartition(":") if ":" in host else (host, "", "8084")
        port_text, _, path = port_text.partition("/")
        if path:
            session.channel.set_variable("socket_path", path)
        session.channel.set_variable("socket_host", address)
        try:
            return await asyncio.open_connection(address, int(port_text))
        except (OSError, ValueError) as error:
            reason = getattr(error, "strerror", None) or str(error)
            session.log("ERR", "mod_event_socket.c:504", f"Socket Error: {reason}")
    return None


async def _run_listener(listener: Listener) -> None:
    """``listener_run`` for an outbound socket: the first packet, then the loop."""
    session = listener.session
    assert session is not None
    try:
        packet = await listener.read_packet(timeout=25)
    except ContentLengthRejected as error:
        listener.switch.log.write("WARNING", "mod_event_socket.c:1318", str(error))
        packet = None
    if packet is None:
        if not listener.eof:
            session.log("CRIT", "mod_event_socket.c:2715", "Socket Error!")
            listener.closed_by = "timeout"
        await listener.close()
        return
    # The first packet runs, but its reply is never written.
    await listener.parse_command(packet)
    if not listener.running:
        await listener.close()
        return
    await listener.serve()


async def _wait_any(*events: asyncio.Event) -> None:
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
