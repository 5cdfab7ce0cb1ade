"""A deliberately small, hand-rolled ESL peer for testing the simulator.

It plays paymentd's part without using paymentd's codec, so the simulator is
checked against the captures and not against the code it is meant to test.
"""

from __future__ import annotations

import asyncio
import json
from urllib.parse import unquote

import attrs


@attrs.define
class Message:
    """One message from FreeSWITCH: outer headers, body, and (for events) the event."""

    headers: list[tuple[str, str]]
    body: bytes = b""
    raw: bytes = b""
    event: list[tuple[str, str]] = attrs.Factory(list)
    event_body: str | None = None

    def get(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    @property
    def content_type(self) -> str | None:
        return self.get("Content-Type")

    @property
    def reply_text(self) -> str | None:
        return self.get("Reply-Text")

    def ev(self, name: str) -> str | None:
        """An event header, decoded."""
        return next((v for k, v in self.event if k == name), None)

    @property
    def event_name(self) -> str | None:
        return self.ev("Event-Name")

    @property
    def names(self) -> list[str]:
        return [k for k, _ in self.event]


def parse_messages(buffer: bytearray) -> list[Message]:
    """Cut complete messages off the front of ``buffer``."""
    out = []
    while True:
        end = buffer.find(b"\n\n")
        if end < 0:
            return out
        head = bytes(buffer[:end]).decode("utf-8", "replace")
        headers = [tuple(line.split(": ", 1)) for line in head.split("\n") if ": " in line]
        length = int(next((v for k, v in headers if k == "Content-Length"), "0"))
        if len(buffer) < end + 2 + length:
            return out
        body = bytes(buffer[end + 2 : end + 2 + length])
        raw = bytes(buffer[: end + 2 + length])
        del buffer[: end + 2 + length]
        message = Message([(k, v) for k, v in headers], body, raw)
        content_type = message.content_type
        if content_type == "text/event-plain":
            inner, _, rest = body.decode("utf-8", "replace").partition("\n\n")
            message.event = [
                (line.split(": ", 1)[0], unquote(line.split(": ", 1)[1]))
                for line in inner.split("\n")
                if ": " in line
            ]
            message.event_body = rest or None
        elif content_type == "text/event-json":
            pairs = json.loads(body, object_pairs_hook=list)
            message.event = [(k, v) for k, v in pairs if k != "_body"]
        out.append(message)


class Peer:
    """One end of an event-socket connection, as paymentd (or an ESL client) sees it."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.buffer = bytearray()
        self.messages: list[Message] = []
        self.pending: list[Message] = []
        self.closed = False

    async def send(self, data: str | bytes) -> None:
        self.writer.write(data.encode() if isinstance(data, str) else data)
        await self.writer.drain()

    async def next(self, timeout: float = 5.0) -> Message:
        while not self.pending:
            if self.closed:
                raise EOFError("connection closed")
            chunk = await asyncio.wait_for(self.reader.read(65536), timeout)
            if not chunk:
                self.closed = True
                continue
            self.buffer += chunk
            parsed = parse_messages(self.buffer)
            self.messages += parsed
            self.pending += parsed
        return self.pending.pop(0)

    async def command(self, text: str, timeout: float = 5.0) -> Message:
        """Send a command and return its reply; events that came first stay unread."""
        await self.send(text if text.endswith("\n\n") else text + "\n\n")
        skipped = []
        while True:
            message = await self.next(timeout)
            if message.content_type in ("command/reply", "api/response", "text/disconnect-notice"):
                self.pending[:0] = skipped
                return message
            skipped.append(message)

    async def event(self, name: str, app: str | None = None, timeout: float = 5.0) -> Message:
        """Skip to the next event of that name (and application)."""
        while True:
            message = await self.next(timeout)
            if message.event_name == name and (app is None or message.ev("Application") == app):
                return message

    async def drain(self, timeout: float = 5.0) -> list[Message]:
        """Read until the peer closes; returns everything not yet consumed."""
        out = []
        try:
            while True:
                out.append(await self.next(timeout))
        except EOFError:
            return out

    async def quiet(self, seconds: float) -> list[Message]:
        """Everything that arrives within ``seconds``."""
        out = []
        try:
            while True:
                out.append(await self.next(seconds))
        except (TimeoutError, EOFError):
            return out

    def close(self) -> None:
        self.writer.close()


class Paymentd:
    """A TCP server standing in for paymentd: hands out one ``Peer`` per call."""

    def __init__(self) -> None:
        self.accepted: asyncio.Queue[Peer] = asyncio.Queue()
        self.server: asyncio.Server | None = None
        self.address: tuple[str, int] = ("127.0.0.1", 0)

    async def start(self) -> tuple[str, int]:
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.address = ("127.0.0.1", self.server.sockets[0].getsockname()[1])
        return self.address

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self.accepted.put(Peer(reader, writer))

    async def peer(self, timeout: float = 5.0) -> Peer:
        return await asyncio.wait_for(self.accepted.get(), timeout)

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


async def client(host: str, port: int) -> Peer:
    """An inbound connection to the simulator's port 8021."""
    reader, writer = await asyncio.open_connection(host, port)
    return Peer(reader, writer)


def execute(app: str, arg: str | None = None, *, body: str | None = None, **headers: str) -> str:
    """A ``sendmsg`` execute packet; ``event_uuid="x"`` becomes ``event-uuid: x``.

    With ``body`` the argument travels as a text/plain body.
    """
    lines = ["sendmsg", "call-command: execute", f"execute-app-name: {app}"]
    if arg is not None:
        lines.append(f"execute-app-arg: {arg}")
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    if body is not None:
        lines += ["content-type: text/plain", f"content-length: {len(body.encode())}"]
        return "\n".join(lines) + "\n\n" + body
    return "\n".join(lines) + "\n\n"
