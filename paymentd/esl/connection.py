"""The Event Socket connection as a socket-free state machine.

It turns commands into bytes (:meth:`Connection.send`) and received bytes into
messages (:meth:`Connection.receive_data`, :meth:`Connection.next_event`).
Replies carry no id: FreeSWITCH answers commands in the order it received them,
so every command takes a numbered *slot* in a FIFO and its reply comes out as
:class:`Reply` with that slot.  A caller that stops waiting simply ignores its
slot; the FIFO still advances, so a late reply never reaches the wrong caller.
"""

from __future__ import annotations

import enum
from collections import deque

import attrs

from paymentd.esl.commands import Auth, Command, Connect
from paymentd.esl.errors import LocalProtocolError, RemoteProtocolError, SocketModeError
from paymentd.esl.messages import (
    ApiResponse,
    AuthRequest,
    ChannelData,
    CommandReply,
    DisconnectNotice,
    Event,
    UnknownMessage,
)
from paymentd.esl.parser import DEFAULT_MAX_CONTENT_LENGTH, DEFAULT_MAX_HEADER_BYTES, FrameParser

__all__ = ["Closed", "Connection", "Reply", "Role", "State"]


class Role(enum.Enum):
    #: FreeSWITCH connected to us (the dialplan ``socket`` app): one call per connection.
    OUTBOUND = "outbound"
    #: We connected to FreeSWITCH's event socket (port 8021).
    INBOUND = "inbound"


class State(enum.Enum):
    AWAITING_CONNECT = "awaiting-connect"  # outbound: before the reply to ``connect``
    AWAITING_AUTH = "awaiting-auth"  # inbound: before ``+OK accepted``
    CONNECTED = "connected"
    LINGERING = "lingering"  # outbound: the call hung up, events still arrive
    CLOSED = "closed"


@attrs.frozen
class Reply:
    """The answer to the command that took ``slot``."""

    slot: int
    command: Command
    message: CommandReply | ApiResponse | ChannelData

    @property
    def ok(self) -> bool:
        return self.message.ok

    @property
    def text(self) -> str:
        """Reply-Text of a command reply, or the body of an api response."""
        if isinstance(self.message, ApiResponse):
            return self.message.text
        return self.message.reply_text


@attrs.frozen
class Closed:
    """The peer closed the connection. ``clean`` is False if it did so mid-message."""

    clean: bool


Incoming = Reply | Event | DisconnectNotice | AuthRequest | UnknownMessage | Closed

_SOCKET_MODE_FIX = (
    "the dialplan must open the outbound socket as "
    '<action application="socket" data="HOST:PORT async full"/>'
)


class Connection:
    """One Event Socket connection, either role, without I/O."""

    def __init__(
        self,
        role: Role,
        *,
        max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES,
        max_content_length: int = DEFAULT_MAX_CONTENT_LENGTH,
    ) -> None:
        self.role = role
        self.state = State.AWAITING_CONNECT if role is Role.OUTBOUND else State.AWAITING_AUTH
        self._parser = FrameParser(
            max_header_bytes=max_header_bytes, max_content_length=max_content_length
        )
        self._pending: deque[tuple[int, Command]] = deque()
        self._next_slot = 0
        self._sent_any = False
        self._closed_reported = False
        self.channel_data: ChannelData | None = None

    @property
    def pending_replies(self) -> int:
        """Commands sent whose reply has not arrived."""
        return len(self._pending)

    def send(self, command: Command) -> tuple[int, bytes]:
        """Encode ``command`` and reserve its reply slot. Returns (slot, bytes to write)."""
        if self.state is State.CLOSED:
            raise LocalProtocolError("the connection is closed")
        if self.role is Role.OUTBOUND and not self._sent_any and not isinstance(command, Connect):
            # FreeSWITCH executes the first command but never answers it, which
            # would shift every later reply by one.
            raise LocalProtocolError("the first command on an outbound socket must be connect")
        if self.role is Role.INBOUND and isinstance(command, Connect):
            raise LocalProtocolError("connect is only for outbound sockets")
        data = command.encode()
        slot = self._next_slot
        self._next_slot += 1
        self._pending.append((slot, command))
        self._sent_any = True
        return slot, data

    def receive_data(self, data: bytes) -> None:
        """Feed received bytes; ``b""`` means the peer closed the connection."""
        if data:
            self._parser.feed(data)
        else:
            self._parser.feed_eof()

    def next_event(self) -> Incoming | None:
        """The next thing that happened, or ``None`` when more bytes are needed.

        Raises :class:`RemoteProtocolError` on malformed input and
        :class:`SocketModeError` if the outbound socket is not ``async full``.
        """
        message = self._parser.next_message()
        if message is None:
            if self._parser.at_eof and not self._closed_reported:
                self._closed_reported = True
                self.state = State.CLOSED
                return Closed(clean=not self._parser.in_message)
            return None
        if isinstance(message, CommandReply | ApiResponse):
            return self._reply(message)
        if isinstance(message, DisconnectNotice):
            if message.disposition == "linger":
                self.state = State.LINGERING
            else:
                self.state = State.CLOSED
            return message
        if isinstance(message, AuthRequest):
            if self.role is Role.OUTBOUND:
                raise RemoteProtocolError("auth/request on an outbound socket")
            return message
        if isinstance(message, ChannelData):  # pragma: no cover - the parser never builds these
            raise RemoteProtocolError("unexpected channel data")
        return message

    def _reply(self, message: CommandReply | ApiResponse) -> Reply:
        if not self._pending:
            raise RemoteProtocolError(
                f"reply with no command waiting for it: {_describe(message)!r}"
            )
        if isinstance(message, ApiResponse) and not self._pending[0][1].expects_api_response:
            # Only api answers with a body; anything else means replies and commands
            # no longer line up, and every later reply would reach the wrong caller.
            raise RemoteProtocolError(
                f"api/response for {type(self._pending[0][1]).__name__}: {_describe(message)!r}"
            )
        slot, command = self._pending.popleft()
        if isinstance(command, Connect) and isinstance(message, CommandReply):
            return Reply(slot, command, self._channel_data(message))
        if isinstance(command, Auth) and isinstance(message, CommandReply) and message.ok:
            self.state = State.CONNECTED
        return Reply(slot, command, message)

    def _channel_data(self, message: CommandReply) -> ChannelData:
        data = ChannelData(message.headers.reinterpret(encoded=True))
        if not data.ok:
            raise RemoteProtocolError(f"connect refused: {data.reply_text!r}")
        mode = (data.socket_mode or "").lower()
        control = (data.control or "").lower()
        if mode == "static":
            raise SocketModeError(f"the outbound socket is in static mode; {_SOCKET_MODE_FIX}")
        if control == "single-channel":
            raise SocketModeError(
                f"the outbound socket has single-channel control, not full; {_SOCKET_MODE_FIX}"
            )
        self.channel_data = data
        self.state = State.CONNECTED
        return data


def _describe(message: CommandReply | ApiResponse) -> str:
    if isinstance(message, ApiResponse):
        return message.text[:60]
    return message.reply_text[:60]
