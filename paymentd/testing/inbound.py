"""The inbound event socket (FreeSWITCH's port 8021) that paymentd's agent mode uses.

Each connection is greeted with ``Content-Type: auth/request``; ``auth
<password>`` answers ``+OK accepted``, a wrong password ``-ERR invalid`` followed
by the disconnect notice and a close; anything else before auth answers
``-ERR command not found`` and the connection stays open.  After auth the
connection takes ``api``, ``bgapi``, ``event``, ``filter``, ``nixevent``,
``noevents``, ``myevents <uuid>``, ``sendmsg <uuid>``, ``sendevent`` and ``exit``.

``drop_connections()`` cuts every connection at once (a FreeSWITCH restart or
a network fault, as paymentd sees it); the server keeps accepting, so a client
can reconnect.  ``stop()`` stops accepting as well.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from paymentd.testing.listener import Listener
from paymentd.testing.wire import ContentLengthRejected, auth_request

if TYPE_CHECKING:
    from paymentd.testing.switch import Switch

__all__ = ["InboundServer"]


class InboundServer:
    """A TCP server speaking FreeSWITCH's inbound event-socket protocol."""

    def __init__(self, switch: Switch, host: str, port: int, password: str) -> None:
        self.switch = switch
        self.host = host
        self.requested_port = port
        self.password = password
        self.connections: list[Listener] = []
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        """The port it listens on."""
        assert self._server is not None, "not started"
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @property
    def address(self) -> tuple[str, int]:
        """``(host, port)`` for paymentd's configuration."""
        return self.host, self.port

    async def start(self) -> None:
        """Start accepting connections."""
        self._server = await asyncio.start_server(self._accept, self.host, self.requested_port)
        self.requested_port = self.port

    async def stop(self) -> None:
        """Stop accepting and close every connection."""
        if self._server is not None:
            self._server.close()
            self._server = None
        await self.drop_connections()
        if self._handlers:
            await asyncio.wait(self._handlers, timeout=1.0)

    async def drop_connections(self) -> None:
        """Cut every open connection without a goodbye, as a crashed FreeSWITCH would."""
        for listener in list(self.connections):
            listener.writer.transport.abort()
            await listener.close()

    @property
    def open_connections(self) -> list[Listener]:
        """Connections still open."""
        return [listener for listener in self.connections if not listener.closed.is_set()]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
            task.add_done_callback(self._handlers.discard)
        listener = Listener(self.switch, reader, writer, password=self.password)
        self.connections.append(listener)
        self.switch.listener_opened(listener)
        listener.start_reading()
        await listener.send(auth_request())
        try:
            packet = await listener.read_packet(timeout=25)
        except ContentLengthRejected:
            packet = None
        if packet is None:
            await listener.close()
            return
        # FreeSWITCH reads exactly one packet in its auth loop, then the main loop
        # goes on checking for auth on every command.
        reply = await listener.parse_command(packet)
        if reply:
            await listener.send_reply(reply)
        await listener.serve()
