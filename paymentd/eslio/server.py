"""The outbound Event Socket server: FreeSWITCH connects here once per call.

Each connection gets one task.  The task checks the peer against the
allow-list, opens the call (``connect``, ``myevents``, ``linger``), hands the
:class:`CallSession` to the handler and, when the handler is done, closes our
side: a call still up then carries on in the dialplan after ``socket``; a call
that hung up is released (FreeSWITCH holds the channel until we close, so we
close as soon as CHANNEL_HANGUP_COMPLETE has arrived, even if the handler is
still finishing its bookkeeping).

A call that reaches us but will not be served (a peer outside the allow-list,
or a connection accepted while shutting down) is handed back to its dialplan,
never just closed: a socket closed before ``connect`` leaves the call parked
until something else hangs it up (mod_event_socket.c: the socket app parks the
channel once its listener is done, and nothing unparks it; capture
10_outbound_silent_25s).  During shutdown the listening socket is closed
first, so that new calls get ECONNREFUSED and the socket app fails at once
into the dialplan's fallback.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import time
from collections.abc import Awaitable, Callable, Iterable

from paymentd.esl import ChannelData, Connect, Resume
from paymentd.esl.errors import ESLError, SocketModeError
from paymentd.eslio.errors import CallHungUp, ConnectionLost
from paymentd.eslio.session import CallSession
from paymentd.eslio.stream import StreamObserver

__all__ = ["CallHandler", "OutboundServer", "PeerAllowList"]

log = logging.getLogger("paymentd.esl")

CallHandler = Callable[[CallSession], Awaitable[None]]


class PeerAllowList:
    """Addresses and networks allowed to open calls (the outbound socket has no password)."""

    def __init__(self, networks: Iterable[str]) -> None:
        self._networks = [ipaddress.ip_network(n, strict=False) for n in networks]

    def allows(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip in net for net in self._networks)


class ServerObserver(StreamObserver):
    """Hooks for metrics; the default does nothing.  Every call's stream reports to it too."""

    def connection_refused(self, peer: str) -> None:
        """A peer outside the allow-list connected."""

    def connection_accepted(self, peer: str) -> None:
        """A call's socket was accepted."""

    def connection_closed(self, peer: str) -> None:
        """An accepted call's socket is done with."""

    def call_failed(self, reason: str) -> None:
        """A call ended on an ESL error (protocol, configuration, overflow)."""


class OutboundServer:
    """Accepts FreeSWITCH's outbound connections and runs ``handler`` for each call."""

    def __init__(
        self,
        handler: CallHandler,
        *,
        host: str = "127.0.0.1",
        port: int = 8084,
        allowed_peers: Iterable[str] = ("127.0.0.1/32", "::1/128"),
        linger_seconds: int | None = 10,
        command_timeout: float = 10.0,
        event_queue_size: int = 1000,
        max_header_bytes: int = 64 * 1024,
        max_content_length: int = 16 * 1024 * 1024,
        observer: ServerObserver | None = None,
    ) -> None:
        self._handler = handler
        self._host = host
        self._port = port
        self._allow = PeerAllowList(allowed_peers)
        self._linger = linger_seconds
        self._command_timeout = command_timeout
        self._event_queue_size = event_queue_size
        self._max_header_bytes = max_header_bytes
        self._max_content_length = max_content_length
        self._observer = observer or ServerObserver()
        self._server: asyncio.Server | None = None
        self._calls: dict[asyncio.Task[None], CallSession | None] = {}
        #: Connections being handed back unserved (waited for at shutdown).
        self._releasing: set[asyncio.Task[None]] = set()
        self._accepting = False

    @property
    def port(self) -> int:
        """The bound port (useful when started on port 0)."""
        return self._port

    @property
    def active_calls(self) -> int:
        return len(self._calls)

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._accept, self._host, self._port, limit=self._max_header_bytes
        )
        self._port = int(self._server.sockets[0].getsockname()[1])
        self._accepting = True
        log.info("ESL server listening on %s:%d", self._host, self.port)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peername = writer.get_extra_info("peername")
        address = str(peername[0]) if peername else ""
        peer = f"{address}:{peername[1]}" if peername else "?"
        if not self._accepting:
            # Accepted just before the listening socket closed: not served, but the
            # call must go on to the dialplan's fallback (closing now would strand it).
            log.info("shutting down: handing the call from %s back to its dialplan", peer)
            await self._release_unserved(reader, writer, peer)
            return
        if not self._allow.allows(address):
            log.warning(
                "refused ESL connection from %s: not in esl.allowed_peers "
                "(sent connect and resume only, to hand the call back to its dialplan)",
                peer,
            )
            self._observer.connection_refused(peer)
            await self._release_unserved(reader, writer, peer)
            return
        self._observer.connection_accepted(peer)
        task = asyncio.current_task()
        assert task is not None
        self._calls[task] = None
        try:
            await self._run_call(reader, writer, peer, task)
        finally:
            self._calls.pop(task, None)
            self._observer.connection_closed(peer)

    def _session(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        peer: str,
        observer: ServerObserver | None = None,
    ) -> CallSession:
        """A call's session on this server's limits (``observer``: a served call's)."""
        return CallSession(
            reader,
            writer,
            command_timeout=self._command_timeout,
            event_queue_size=self._event_queue_size,
            max_header_bytes=self._max_header_bytes,
            max_content_length=self._max_content_length,
            peer=peer,
            observer=observer,
        )

    async def _release_unserved(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: str
    ) -> None:
        """Hand a call paymentd will not serve back to its dialplan, sending nothing else.

        ``connect`` ends the socket app's wait for us; ``resume`` makes our close
        continue the dialplan even if the app has not parked the channel yet (the
        listener's end then sets CS_RESET, which switch_ivr_park refuses, and the app
        sets CS_EXECUTE: mod_event_socket.c:534-549, 2817-2821); ``socket_resume``,
        which ``resume`` sets for good, gets its own value back; then we close.  The
        peer's replies are only waited for (bounded), never acted on.
        """
        task = asyncio.current_task()
        assert task is not None
        self._releasing.add(task)
        session = self._session(reader, writer, peer)
        try:
            reply = await session.command(Connect())
            data = reply.message
            if not isinstance(data, ChannelData) or not _is_uuid(data.unique_id):
                return
            own = data.variable("socket_resume")
            restore = f"uuid_setvar {data.unique_id} socket_resume"
            if own and _is_plain(own):
                restore += f" {own}"
            await asyncio.gather(session.command(Resume()), session.api(restore))
        except (ESLError, OSError) as exc:
            log.info("could not hand the call from %s back: %s", peer, exc)
        finally:
            await session.close()
            self._releasing.discard(task)

    async def _run_call(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        peer: str,
        task: asyncio.Task[None],
    ) -> None:
        session = self._session(reader, writer, peer, self._observer)
        self._calls[task] = session
        started = time.monotonic()
        try:
            await session.connect(linger_seconds=self._linger)
        except SocketModeError as exc:
            log.critical("call from %s refused: %s", peer, exc)
            self._observer.call_failed("socket-mode")
            await session.close()
            return
        except (ESLError, OSError) as exc:
            log.error("call from %s could not be opened: %s", peer, exc)
            self._observer.call_failed("connect")
            await session.close()
            return
        release = asyncio.create_task(self._release_after_hangup(session))
        try:
            await self._handler(session)
        except (ConnectionLost, CallHungUp) as exc:
            log.info("call %s ended under the handler: %s", session.uuid, exc)
        except Exception:
            log.exception("call %s: handler failed", session.uuid)
            self._observer.call_failed("handler")
            with contextlib.suppress(ESLError, OSError):
                # A call must never be left in dead air: without a handler, hang up.
                await session.hangup("NORMAL_TEMPORARY_FAILURE")
        finally:
            release.cancel()
            await self._finish_call(session)
            log.debug("call %s done after %.3f s", session.uuid, time.monotonic() - started)

    async def _release_after_hangup(self, session: CallSession) -> None:
        """Close as soon as the call's last event has arrived, whatever the handler does."""
        await session.hangup_complete.wait()
        await session.close()

    async def _finish_call(self, session: CallSession) -> None:
        if session.hung_up.is_set() and not session.closed:
            # The hang-up events are on their way; wait briefly for the last one
            # (or for FreeSWITCH to close first).
            waiters = {
                asyncio.ensure_future(session.hangup_complete.wait()),
                asyncio.ensure_future(session.stream.wait_closed()),
            }
            await asyncio.wait(
                waiters, timeout=self._command_timeout, return_when=asyncio.FIRST_COMPLETED
            )
            for waiter in waiters:
                waiter.cancel()
        await session.close()

    async def shutdown(self, grace_seconds: float, hangup_cause: str = "SYSTEM_SHUTDOWN") -> None:
        """Stop accepting, let live calls finish for ``grace_seconds``, then hang them up."""
        # Stop listening first: a new call then gets ECONNREFUSED and the socket app
        # fails at once into the dialplan's fallback.  Connections accepted before
        # that are handed back (see _accept).
        self._accepting = False
        if self._server is not None:
            self._server.close()
        tasks = list(self._calls)
        if tasks:
            log.info("shutdown: waiting up to %g s for %d call(s)", grace_seconds, len(tasks))
            _done, pending = await asyncio.wait(tasks, timeout=grace_seconds)
            if pending:
                log.warning("shutdown: hanging up %d call(s) with %s", len(pending), hangup_cause)
                for task in pending:
                    session = self._calls.get(task)
                    if session is not None and not session.closed:
                        with contextlib.suppress(ESLError, OSError):
                            await session.hangup(hangup_cause)
                _done, pending = await asyncio.wait(pending, timeout=self._command_timeout)
                for task in pending:
                    task.cancel()
        if self._releasing:
            await asyncio.wait(list(self._releasing), timeout=self._command_timeout)
        if self._server is not None:
            await self._server.wait_closed()


def _is_uuid(text: str) -> bool:
    """A Unique-ID safe to put in a command line (FreeSWITCH's are UUIDs)."""
    return 0 < len(text) <= 64 and text.isascii() and all(c.isalnum() or c == "-" for c in text)


def _is_plain(text: str) -> bool:
    """A value that ``uuid_setvar`` takes back verbatim (no quotes, escapes or spaces)."""
    return text.isprintable() and not any(c in text for c in " '\"\\")
