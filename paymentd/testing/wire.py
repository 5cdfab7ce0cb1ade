"""FreeSWITCH's side of the Event Socket wire, written from its documented behaviour.

This is deliberately independent of ``paymentd.esl``: the simulator reads
commands the way ``mod_event_socket`` does and writes bytes the way FreeSWITCH
does, so the two implementations check each other.

Reading (``read_packet`` in ``mod_event_socket.c``): CR/LF bytes before a packet
are skipped; a packet ends at the second ``\\n`` in a row (``\\r`` does not break
the run); the whole header block becomes the ``Command`` header; each following
line is split at its first ``:`` with leading spaces dropped and the rest of the
value taken raw; lines without a colon are ignored; a ``content-length`` header
(any case) makes exactly that many body bytes follow; a negative or too large
length rejects the packet, and FreeSWITCH then drops the connection.

Writing: event header values are percent-encoded with FreeSWITCH's own rule (an
existing ``%XX`` escape is kept as it is), replies are not encoded, api bodies
are sent raw.
"""

from __future__ import annotations

import json

import attrs

__all__ = [
    "DISCONNECT_TEXT",
    "MAX_CONTENT_LENGTH",
    "ContentLengthRejected",
    "Packet",
    "PacketReader",
    "api_response",
    "auth_request",
    "command_reply",
    "disconnect_notice",
    "event_frame",
    "linger_notice",
    "raw_reply",
    "serialize_json",
    "serialize_plain",
    "url_encode",
]

MAX_CONTENT_LENGTH = 16 * 1024 * 1024
# read_packet gives up looking for the end of a header block after this many bytes.
_MAX_HEADER_BYTES = 10_485_760
DISCONNECT_TEXT = "Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"

_UNSAFE = frozenset(b'\r\n #%&+:;<=>?@[\\]^`{|}"')
_HEX = b"0123456789ABCDEF"


def to_bytes(text: str) -> bytes:
    """Text back to the exact bytes it was read from (see ``from_bytes``)."""
    return text.encode("utf-8", "surrogateescape")


def from_bytes(data: bytes) -> str:
    """Bytes as text without losing any byte: FreeSWITCH passes bytes through."""
    return data.decode("utf-8", "surrogateescape")


def url_encode(value: str) -> str:
    """Percent-encode a header value exactly as ``switch_url_encode`` does.

    Bytes below space or above ``~`` and the characters of ``SWITCH_URL_UNSAFE``
    become ``%XX`` (upper case); a ``%`` already followed by two upper-case hex
    digits is left alone (FreeSWITCH does not double-encode).
    """
    raw = to_bytes(value)
    out = bytearray()
    end = len(raw)
    for index, byte in enumerate(raw):
        if byte == 0x25 and index + 2 < end and raw[index + 1] in _HEX and raw[index + 2] in _HEX:
            out.append(byte)
        elif byte < 0x20 or byte > 0x7E or byte in _UNSAFE:
            out += b"%" + _HEX[byte >> 4 : (byte >> 4) + 1] + _HEX[byte & 15 : (byte & 15) + 1]
        else:
            out.append(byte)
    return out.decode("ascii")


def serialize_plain(headers: list[tuple[str, str]], body: str | None) -> bytes:
    """An event as ``text/event-plain`` serializes it (``switch_event_serialize``)."""
    lines = []
    for name, value in headers:
        encoded = url_encode(value)
        lines.append(f"{name}: {encoded or '_undef_'}\n")
    text = "".join(lines)
    if body:
        text += f"Content-Length: {len(to_bytes(body))}\n\n{body}"
    else:
        text += "\n"
    return to_bytes(text)


def serialize_json(headers: list[tuple[str, str]], body: str | None) -> bytes:
    """An event as ``text/event-json`` serializes it (cJSON, one line, unencoded).

    Written by hand rather than with a dict because FreeSWITCH keeps duplicate
    header names (``Hangup-Cause`` twice in CHANNEL_HANGUP_COMPLETE) as duplicate keys.
    """
    items = [(name, value) for name, value in headers]
    if body:
        items += [("Content-Length", str(len(to_bytes(body)))), ("_body", body)]
    members = ",".join(
        f"{json.dumps(name, ensure_ascii=False)}:{json.dumps(value, ensure_ascii=False)}"
        for name, value in items
    )
    return to_bytes("{" + members + "}")


def event_frame(payload: bytes, fmt: str) -> bytes:
    """The outer frame FreeSWITCH writes around one serialized event."""
    return (
        b"Content-Length: %d\nContent-Type: text/event-%s\n\n"
        % (
            len(payload),
            fmt.encode(),
        )
        + payload
    )


def command_reply(text: str) -> bytes:
    """A ``command/reply`` with a plain ``Reply-Text`` (not encoded)."""
    return to_bytes(f"Content-Type: command/reply\nReply-Text: {text}\n\n")


def raw_reply(header_lines: str) -> bytes:
    """A ``command/reply`` whose header lines are given whole (bgapi's Job-UUID)."""
    return to_bytes(f"Content-Type: command/reply\n{header_lines}")


def api_response(body: str) -> bytes:
    """An ``api/response``; FreeSWITCH never sends an empty body."""
    data = to_bytes(body or "-ERR no reply\n")
    return b"Content-Type: api/response\nContent-Length: %d\n\n" % len(data) + data


def auth_request() -> bytes:
    """The greeting of an inbound connection."""
    return b"Content-Type: auth/request\n\n"


def disconnect_notice(session_uuid: str | None) -> bytes:
    """The final notice FreeSWITCH writes before it closes a connection."""
    body = DISCONNECT_TEXT.encode()
    if session_uuid is None:
        head = f"Content-Type: text/disconnect-notice\nContent-Length: {len(body)}\n\n"
    else:
        head = (
            "Content-Type: text/disconnect-notice\n"
            f"Controlled-Session-UUID: {session_uuid}\n"
            "Content-Disposition: disconnect\n"
            f"Content-Length: {len(body)}\n\n"
        )
    return head.encode() + body


def linger_notice(session_uuid: str, channel_name: str, linger_time: int) -> bytes:
    """The notice an outbound socket gets when its channel hangs up while lingering."""
    return to_bytes(
        "Content-Type: text/disconnect-notice\n"
        f"Controlled-Session-UUID: {session_uuid}\n"
        "Content-Disposition: linger\n"
        f"Channel-Name: {channel_name}\n"
        f"Linger-Time: {linger_time}\n"
        "Content-Length: 0\n\n"
    )


class ContentLengthRejected(Exception):
    """A packet declared a Content-Length FreeSWITCH refuses (negative or > 16 MiB)."""

    def __init__(self, value: str) -> None:
        super().__init__(f"Rejecting Content-Length '{value}' (out of range)")
        self.value = value


@attrs.frozen
class Packet:
    """One command as ``mod_event_socket`` sees it.

    ``command`` is the whole raw header block (FreeSWITCH's ``Command`` header);
    ``line`` is its first line, which is what the command handlers compare
    against; ``headers`` are the following lines in order, values taken raw.
    """

    command: str
    headers: tuple[tuple[str, str], ...]
    body: str | None = None

    @property
    def line(self) -> str:
        """The command line up to the first CR or LF."""
        return _strip_cr(self.command)

    def get(self, name: str) -> str | None:
        """The first header of that name, compared without case, or ``None``."""
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None


def _strip_cr(text: str) -> str:
    cut = [i for i in (text.find("\r"), text.find("\n")) if i >= 0]
    return text[: min(cut)] if cut else text


def _atoi(text: str) -> int:
    """C ``atoi``: leading blanks, an optional sign, then digits; anything else stops it."""
    index = 0
    while index < len(text) and text[index] in " \t\n\v\f\r":
        index += 1
    sign = 1
    if index < len(text) and text[index] in "+-":
        sign = -1 if text[index] == "-" else 1
        index += 1
    digits = ""
    while index < len(text) and text[index].isdigit():
        digits += text[index]
        index += 1
    return sign * int(digits) if digits else 0


class PacketReader:
    """Byte chunks in, whole command packets out, as ``read_packet`` frames them."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._pending: tuple[str, list[tuple[str, str]], int] | None = None

    def feed(self, data: bytes) -> None:
        """Append bytes read from the socket."""
        self._buffer += data

    @property
    def idle(self) -> bool:
        """True when no part of a packet has been read (FreeSWITCH's ``!*mbuf``)."""
        return self._pending is None and not self._buffer.lstrip(b"\r\n")

    def next_packet(self) -> Packet | None:
        """The next complete packet, or ``None`` until more bytes arrive.

        Raises ``ContentLengthRejected`` for a bad Content-Length, after which
        FreeSWITCH closes the connection.
        """
        if self._pending is None:
            header_end = self._find_header_end()
            if header_end is None:
                return None
            block = from_bytes(bytes(self._buffer[:header_end]))
            del self._buffer[:header_end]
            headers, length = self._parse_block(block)
            self._pending = (block, headers, length)
        block, headers, length = self._pending
        if length > 0:
            if len(self._buffer) < length:
                return None
            body: str | None = from_bytes(bytes(self._buffer[:length])).split("\x00", 1)[0]
            del self._buffer[:length]
        else:
            body = None
        self._pending = None
        return Packet(block, tuple(headers), body)

    def _find_header_end(self) -> int | None:
        # CR/LF before a packet starts are dropped one by one, as read_packet does.
        while self._buffer and self._buffer[0] in (0x0D, 0x0A):
            del self._buffer[:1]
        newlines = 0
        for index, byte in enumerate(self._buffer):
            if byte == 0x0A:
                newlines += 1
            elif byte != 0x0D:
                newlines = 0
            if newlines == 2 or index + 1 >= _MAX_HEADER_BYTES:
                return index + 1
        return None

    @staticmethod
    def _parse_block(block: str) -> tuple[list[tuple[str, str]], int]:
        headers: list[tuple[str, str]] = []
        length = 0
        cursor: int | None = 0
        first = True
        while cursor is not None:
            rest = block[cursor:]
            # FreeSWITCH looks for the next CR first and only then for LF, over the
            # whole remainder: with mixed line endings a line can be skipped.
            brk = rest.find("\r")
            if brk < 0:
                brk = rest.find("\n")
            following: int | None = None
            if brk >= 0:
                following = cursor + brk
                while following < len(block) and block[following] in "\r\n":
                    following += 1
                if following >= len(block):
                    following = None
            if not first:
                line = _strip_cr(rest)
                if line and ":" in line:
                    name, value = line.split(":", 1)
                    value = value.lstrip(" ")
                    headers.append((name, value))
                    if name.lower() == "content-length":
                        length = _atoi(value)
                        if length < 0 or length > MAX_CONTENT_LENGTH:
                            raise ContentLengthRejected(value)
            first = False
            cursor = following
        return headers, length
