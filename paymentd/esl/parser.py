"""Frame parser: arbitrary byte chunks in, whole messages out, no I/O.

Reads never align with messages (a reply and the next event often share one
``recv()``, and bodies arrive later), so the parser keeps one buffer and
remembers how far it has already looked for the end of a header block, so that
feeding one byte at a time costs no more than feeding everything at once.
Everything is bounded: the header block and ``Content-Length``.
"""

from __future__ import annotations

from paymentd.esl.errors import RemoteProtocolError
from paymentd.esl.headers import WireHeaders
from paymentd.esl.messages import (
    ApiResponse,
    AuthRequest,
    CommandReply,
    DisconnectNotice,
    Event,
    Message,
    UnknownMessage,
    event_from_plain,
    loads_json_event,
)

__all__ = ["DEFAULT_MAX_CONTENT_LENGTH", "DEFAULT_MAX_HEADER_BYTES", "FrameParser"]

DEFAULT_MAX_HEADER_BYTES = 64 * 1024
# FreeSWITCH itself refuses bodies above 16 MiB.
DEFAULT_MAX_CONTENT_LENGTH = 16 * 1024 * 1024

# Buffers are compacted only when the consumed part is large, to keep copying rare.
_COMPACT_AT = 64 * 1024


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


def _plain_event(body: bytes) -> Event:
    """A ``text/event-plain`` body: encoded headers, a blank line, an optional own body."""
    split = _blank_line(body, 0, 0, len(body))
    if split is None:
        # Content-Length counts the blank line that ends the block, but a block
        # that lacks it is still a complete header block.
        return event_from_plain(body.rstrip(b"\r\n"), None)
    block_end, rest_start = split
    block = body[:block_end]
    if rest_start >= len(body):
        return event_from_plain(block, None)
    # The event has a body of its own (BACKGROUND_JOB output, sendevent bodies).
    length = _content_length(WireHeaders(block, encoded=True), len(body))
    rest = body[rest_start:]
    if length > len(rest):
        raise RemoteProtocolError(
            f"event body announces {length} bytes but only {len(rest)} follow"
        )
    return event_from_plain(block, rest[:length])


class FrameParser:
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
        self._buf = bytearray()
        self._pos = 0
        self._scan = 0
        self._pending: tuple[WireHeaders, int] | None = None
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
        if data:
            self._buf += data

    def feed_eof(self) -> None:
        self._eof = True

    def next_message(self) -> Message | None:
        """The next complete message, or ``None`` if more bytes are needed."""
        if self._pending is None:
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
        with memoryview(buf) as view:
            body = bytes(view[start : start + length])
        self._pending = None
        self._consume(start + length)
        return self._build(headers, body)

    def _consume(self, pos: int) -> None:
        buf = self._buf
        if pos >= len(buf):
            buf.clear()
            self._pos = self._scan = 0
        elif pos > _COMPACT_AT and pos * 2 > len(buf):
            del buf[:pos]
            self._pos = 0
            self._scan = max(0, self._scan - pos)
        else:
            self._pos = pos
            self._scan = max(self._scan, pos)

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
        with memoryview(buf) as view:
            block = bytes(view[pos:block_end])
        self._consume(next_start)
        return WireHeaders(block, encoded=False)

    def _build(self, headers: WireHeaders, body: bytes) -> Message:
        content_type = (headers.get("Content-Type") or "").strip().lower()
        if content_type == "text/event-plain":
            return _plain_event(body)
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
