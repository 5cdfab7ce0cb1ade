"""Frame parser: arbitrary byte chunks in, whole messages out, no I/O.

Reads never align with messages (a reply and the next event often share one
``recv()``, and bodies arrive later), so the parser keeps one buffer and
remembers how far it has already looked for the end of a header block, so that
feeding one byte at a time costs no more than feeding everything at once.
Everything is bounded: the header block and ``Content-Length``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from paymentd.esl import _accel
from paymentd.esl.errors import RemoteProtocolError
from paymentd.esl.headers import WireHeaders
from paymentd.esl.messages import (
    _BY_RAW_NAME,
    ApiResponse,
    AuthRequest,
    CommandReply,
    DisconnectNotice,
    Event,
    Message,
    UnknownMessage,
    _event_class,
    _FromHeaders,
    event_from_plain,
    loads_json_event,
)

__all__ = ["DEFAULT_MAX_CONTENT_LENGTH", "DEFAULT_MAX_HEADER_BYTES", "FrameParser"]

DEFAULT_MAX_HEADER_BYTES = 64 * 1024
# FreeSWITCH itself refuses bodies above 16 MiB.
DEFAULT_MAX_CONTENT_LENGTH = 16 * 1024 * 1024

# Buffers are compacted only when the consumed part is large, to keep copying rare.
_COMPACT_AT = 64 * 1024

# The exact header block FreeSWITCH writes in front of every plain event.  A block
# of these two lines and nothing else leaves no room for a second Content-Length
# or another case, so it can be read without building its headers.  The event's
# first line comes along when it is Event-Name in plain characters (no escape,
# space or CR), as FreeSWITCH writes it, so that typing the event costs nothing more.
_EVENT_FRAME = re.compile(
    rb"Content-Length: ([0-9]{1,12})\nContent-Type: text/event-plain\n\n"
    rb"(?:Event-Name: ([!-$&-~]{1,64})\n)?"
)
_EVENT_FRAME_REST = len(b"\nContent-Type: text/event-plain\n\n")
_EVENT_NAME_LINE = len(b"Event-Name: \n")


def _blank_line(
    data: bytes | bytearray, frame_start: int, search_from: int, end: int
) -> tuple[int, int] | None:
    """Find the blank line that ends the header block starting at ``frame_start``.

    Returns (end of the block, start of what follows), or ``None`` if it has not
    arrived yet.  FreeSWITCH writes bare ``\\n``; a block whose first line ends in
    ``\\r\\n`` is read as CRLF throughout.  Looking at the first line only keeps
    this to a single scan of the block.
    """
    first_nl = data.find(b"\n", frame_start, end)
    if first_nl < 0:
        return None
    if first_nl > frame_start and data[first_nl - 1] == 0x0D:
        found = data.find(b"\r\n\r\n", max(search_from, first_nl - 1), end)
        return None if found < 0 else (found, found + 4)
    found = data.find(b"\n\n", max(search_from, first_nl), end)
    return None if found < 0 else (found, found + 2)


def _content_length(headers: WireHeaders, limit: int) -> int:
    raw = headers.get_bytes("Content-Length")
    if raw is None:
        return 0
    raw = raw.strip()
    if not raw.isdigit() or len(raw) > 12:
        raise RemoteProtocolError(f"invalid Content-Length {raw[:20]!r}")
    length = int(raw)
    if length > limit:
        raise RemoteProtocolError(f"Content-Length {length} exceeds the limit of {limit} bytes")
    return length


class _PyParserFields:
    """The state of a :class:`FrameParser`; the compiled accelerator keeps the same
    fields in C (``_speedups.ParserFields``), so that its ``next_message`` reads them
    directly."""

    __slots__ = (
        "_buf",
        "_eof",
        "_pending",
        "_pos",
        "_scan",
        "max_content_length",
        "max_header_bytes",
    )

    max_header_bytes: int
    max_content_length: int
    _buf: bytes | bytearray
    _pos: int
    _scan: int
    _pending: tuple[WireHeaders, int] | None
    _eof: bool


if TYPE_CHECKING or _accel.speedups is None:
    _ParserFields = _PyParserFields
else:
    _ParserFields = _accel.speedups.ParserFields


class FrameParser(_ParserFields):
    """Incremental parser of the Event Socket byte stream (either direction's replies and events).

    Feed bytes with :meth:`feed` and :meth:`feed_eof`; call :meth:`next_message`
    until it returns ``None`` (more bytes needed).  Raises
    :class:`~paymentd.esl.errors.RemoteProtocolError` on malformed input; after
    that the parser must not be used again.
    """

    def __init__(
        self,
        *,
        max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES,
        max_content_length: int = DEFAULT_MAX_CONTENT_LENGTH,
    ) -> None:
        self.max_header_bytes = max_header_bytes
        self.max_content_length = max_content_length
        # Reads are kept in a bytes object, so that a frame costs one copy (a slice);
        # a bytearray gathers what arrives in pieces smaller than what is pending
        # (a large body, a peer writing byte by byte), to keep copying linear.
        self._buf = b""
        self._pos = 0
        self._scan = 0
        self._pending = None
        self._eof = False

    @property
    def buffered(self) -> int:
        """Bytes received but not yet returned as a message."""
        return len(self._buf) - self._pos

    @property
    def at_eof(self) -> bool:
        return self._eof

    @property
    def in_message(self) -> bool:
        """True when part of a message has been received (anything but blank lines)."""
        if self._pending is not None:
            return True
        return bool(bytes(self._buf[self._pos :]).strip(b"\r\n"))

    def feed(self, data: bytes) -> None:
        if self._eof:
            raise RemoteProtocolError("data after end of stream")
        if not data:
            return
        buf = self._buf
        pos = self._pos
        if isinstance(buf, bytearray) and len(buf) - pos > len(data):
            buf += data
            return
        if not buf:
            self._buf = bytes(data)
        elif len(buf) - pos <= len(data):
            self._buf = bytes(buf[pos:]) + data
        else:
            self._buf = bytearray(buf[pos:]) + data
        self._pos = 0
        self._scan = max(0, self._scan - pos)

    def feed_eof(self) -> None:
        self._eof = True

    def next_message(self) -> Message | None:
        """The next complete message, or ``None`` if more bytes are needed."""
        if self._pending is None:
            # Most frames are events in FreeSWITCH's own framing: take them whole.
            # (Inlined as far as it reads well: this runs for every event of every call.)
            buf = self._buf
            frame = _EVENT_FRAME.match(buf, self._pos)
            if frame is not None:
                length, name = frame.groups()
                start = frame.end(1) + _EVENT_FRAME_REST
                stop = start + int(length)
                size = len(buf)
                if stop <= size and stop - start <= self.max_content_length:
                    if stop < size and isinstance(buf, bytes):
                        body = buf[start:stop]
                        self._pos = stop
                        if self._scan < stop:
                            self._scan = stop
                    else:
                        body = bytes(buf[start:stop])
                        self._consume(stop)
                    if name is not None and start + len(name) + _EVENT_NAME_LINE > stop:
                        name = None  # that line ran past this event: it is not its first line
                    return event_from_plain(body, name)
            headers = self._next_header_block()
            if headers is None:
                return None
            length = _content_length(headers, self.max_content_length)
            if length == 0:
                return self._build(headers, b"")
            self._pending = (headers, length)
        headers, length = self._pending
        buf = self._buf
        start = self._pos
        if len(buf) - start < length:
            return None
        body = bytes(buf[start : start + length])
        self._pending = None
        self._consume(start + length)
        return self._build(headers, body)

    def _consume(self, pos: int) -> None:
        buf = self._buf
        if pos >= len(buf):
            self._buf = b""
            self._pos = self._scan = 0
        elif pos > _COMPACT_AT and pos * 2 > len(buf) and isinstance(buf, bytearray):
            del buf[:pos]
            self._pos = 0
            self._scan = max(0, self._scan - pos)
        else:
            self._pos = pos
            if self._scan < pos:
                self._scan = pos

    def _next_header_block(self) -> WireHeaders | None:
        buf = self._buf
        size = len(buf)
        pos = self._pos
        # Blank lines between messages carry nothing; skip them.
        while pos < size and buf[pos] in (0x0A, 0x0D):
            if buf[pos] == 0x0D and (pos + 1 >= size or buf[pos + 1] != 0x0A):
                break
            pos += 1
        if pos != self._pos:
            self._consume(pos)
            buf, size, pos = self._buf, len(self._buf), self._pos
        found = _blank_line(buf, pos, max(pos, self._scan), size)
        if found is None:
            if size - pos > self.max_header_bytes:
                raise RemoteProtocolError(
                    f"header block exceeds {self.max_header_bytes} bytes without an end"
                )
            # The blank-line pattern is up to four bytes long: look back three next time.
            self._scan = max(pos, size - 3)
            return None
        block_end, next_start = found
        if block_end - pos > self.max_header_bytes:
            raise RemoteProtocolError(f"header block exceeds {self.max_header_bytes} bytes")
        block = bytes(buf[pos:block_end])
        self._consume(next_start)
        return WireHeaders(block, encoded=False)

    def _build(self, headers: WireHeaders, body: bytes) -> Message:
        content_type = (headers.get("Content-Type") or "").strip().lower()
        if content_type == "text/event-plain":
            return event_from_plain(body)
        if content_type == "command/reply":
            return CommandReply(headers)
        if content_type == "api/response":
            return ApiResponse(headers, body)
        if content_type == "text/event-json":
            try:
                return loads_json_event(body)
            except (ValueError, RecursionError) as exc:
                raise RemoteProtocolError(f"malformed JSON event: {exc}") from None
        if content_type == "auth/request":
            return AuthRequest(headers)
        if content_type == "text/disconnect-notice":
            return DisconnectNotice(headers, body)
        if not content_type:
            raise RemoteProtocolError("message without a Content-Type header")
        return UnknownMessage(content_type, headers, body)


if _accel.speedups is not None:
    _accel.speedups.bind_parser(
        FrameParser.next_message,
        _BY_RAW_NAME,
        _event_class,
        _FromHeaders.BODY,
        tuple(Event.__dict__[slot] for slot in ("headers", "_body", "_name")),
    )
    _accel.replace(FrameParser, "next_message", _accel.speedups.next_message)
