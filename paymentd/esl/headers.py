"""Header blocks as lazy, ordered, case-insensitive multi-maps.

A real FreeSWITCH event carries about 100 percent-encoded headers and paymentd
reads a handful of them, so nothing is split or decoded until it is asked for.
Lookups search the raw block for ``\\n<name>:`` *before* any decoding: a value
can never contain a raw newline (FreeSWITCH percent-encodes it), so a match is
always a real line start and a caller-controlled value cannot forge a header.
Names are searched in a lower-cased copy of the block, made once and only when a
header is read (the parser reads ``Event-Name`` from the first line itself), so
the first line of any case wins.  Where a plain event's headers end is found with
the first lookup too (see :class:`EventHeaders`).
Values are percent-decoded with ``unquote`` semantics (``+`` stays ``+``) and
turned into text leniently: bytes that are not UTF-8 become U+FFFD, and the
decoded bytes stay available through :meth:`Headers.get_bytes`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING
from urllib.parse import unquote_to_bytes

from paymentd.esl import _accel

__all__ = ["EventHeaders", "Headers", "MappingHeaders", "WireHeaders"]


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def _utf8(value: str) -> bytes:
    """``value`` as bytes: U+DC80..U+DCFF back to the raw bytes they stand for
    (``surrogateescape``), any other lone surrogate (a JSON ``\\ud800``) to U+FFFD."""
    try:
        return value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return "".join(
            "\ufffd" if "\ud800" <= c <= "\udfff" and not "\udc80" <= c <= "\udcff" else c
            for c in value
        ).encode("utf-8", "surrogateescape")


class Headers:
    """Read-only view of a header block (the interface shared by both encodings)."""

    __slots__ = ()

    def get_bytes(self, name: str) -> bytes | None:
        """The first value of ``name`` as decoded bytes, or ``None``."""
        raise NotImplementedError

    def get_all_bytes(self, name: str) -> list[bytes]:
        """Every value of ``name``, in order, as decoded bytes."""
        raise NotImplementedError

    def items_bytes(self) -> list[tuple[str, bytes]]:
        """Every header in order, names as sent, values as decoded bytes."""
        raise NotImplementedError

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of ``name`` (case-insensitive), decoded, or ``default``."""
        value = self.get_bytes(name)
        return default if value is None else _text(value)

    def __getitem__(self, name: str) -> str:
        value = self.get_bytes(name)
        if value is None:
            raise KeyError(name)
        return _text(value)

    def get_all(self, name: str) -> list[str]:
        """Every value of ``name``, in order of appearance."""
        return [_text(v) for v in self.get_all_bytes(name)]

    def items(self) -> list[tuple[str, str]]:
        """Every header in order of appearance, duplicates included."""
        return [(k, _text(v)) for k, v in self.items_bytes()]

    def keys(self) -> list[str]:
        return [k for k, _ in self.items_bytes()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get_bytes(name) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.items_bytes())

    def to_dict(self) -> dict[str, str]:
        """First value of each name (later duplicates dropped), for display and tests."""
        out: dict[str, str] = {}
        for k, v in self.items():
            out.setdefault(k, v)
        return out

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {len(self)} headers>"


# name -> (b"\nname:" lower-cased, its length - 1), or None for a name no line can
# carry.  In the lower-cased copy (``b"\n" + data``), a match at ``pos`` means the
# value starts at ``pos + length - 1`` in the data.  Names come from code, so the
# cache stays small; it is bounded anyway.
_Needle = tuple[bytes, int]
_NEEDLES: dict[str, _Needle | None] = {}
_NEEDLES_MAX = 4096
_CONTENT_LENGTH: _Needle = (b"\ncontent-length:", 15)


def _needle(name: str) -> _Needle | None:
    if name in _NEEDLES:
        return _NEEDLES[name]
    try:
        raw = name.encode("latin-1")
    except UnicodeEncodeError:
        needle = None
    else:
        # A line's name ends at its first colon, so a name with a colon never matches.
        if not raw or b":" in raw or b"\n" in raw or b"\r" in raw:
            needle = None
        else:
            needle = (b"\n" + raw.lower() + b":", len(raw) + 1)
    if len(_NEEDLES) < _NEEDLES_MAX:
        _NEEDLES[name] = needle
    return needle


class _PyWireFields:
    """The state of a :class:`WireHeaders`; the compiled accelerator keeps the same
    fields in C (``_speedups.WireFields``), so that its methods read them directly."""

    __slots__ = ("_body_start", "_data", "_encoded", "_end", "_length_at", "_lower")

    _data: bytes
    _end: int
    _encoded: bool
    _lower: bytes | None
    # EventHeaders' only: where its body starts, where its length is written.
    _body_start: int
    _length_at: int


if TYPE_CHECKING or _accel.speedups is None:
    _WireFields = _PyWireFields
else:
    _WireFields = _accel.speedups.WireFields


class WireHeaders(Headers, _WireFields):
    """Headers exactly as they came off the wire: ``Name: value`` lines.

    ``encoded`` says whether values are percent-encoded (events and the
    ``connect`` reply) or raw (every other ``command/reply``).  The block is
    ``data[:end]``, so a block can be read in place inside a larger buffer.
    """

    __slots__ = ()

    def __init__(self, block: bytes, encoded: bool, end: int | None = None) -> None:
        self._data = block
        self._end = len(block) if end is None else end
        self._encoded = encoded
        self._lower: bytes | None = None

    @property
    def raw(self) -> bytes:
        """The header block as received (without the blank line that ended it)."""
        return self._data[: self._block_end()]

    @property
    def encoded(self) -> bool:
        return self._encoded

    def reinterpret(self, *, encoded: bool) -> WireHeaders:
        """The same block read with the other encoding rule (used for the ``connect`` reply)."""
        return WireHeaders(self._data, encoded=encoded, end=self._block_end())

    def _block_end(self) -> int:
        """Where the block ends in ``_data`` (a subclass finds it only when asked)."""
        return self._end

    def _lowered(self) -> bytes:
        """``b"\n" + data`` in lower case, made once, so that every line starts
        ``\n<name>:`` and the first line of any case is the first match."""
        lower = self._lower
        if lower is None:
            lower = self._lower = (b"\n" + self._data).lower()
        return lower

    def _find(self, needle: _Needle, after: int = -1) -> int:
        """Where the value of the first line named by ``needle`` whose value starts
        after ``after`` starts in ``_data``, or -1 when the block has no such line."""
        lower = self._lower or self._lowered()
        pos = lower.find(needle[0]) if after < 0 else lower.find(needle[0], after + 1)
        if pos < 0:
            return -1
        start = pos + needle[1]
        end = self._end
        if end < 0:
            end = self._block_end()
        return start if start <= end else -1

    def _value_at(self, start: int) -> bytes:
        data = self._data
        end = self._end
        stop = data.find(b"\n", start, end)
        if stop < 0:
            stop = end
        # FreeSWITCH writes one space after the colon; more are skipped, CRLF is accepted.
        raw = data[start:stop]
        if raw[:1] == b" ":
            raw = raw.lstrip(b" ")
        if raw[-1:] == b"\r":
            raw = raw[:-1]
        if 0x25 in raw and self._encoded:  # "%": an int is a much cheaper membership test
            return unquote_to_bytes(raw)
        return raw

    def get(self, name: str, default: str | None = None) -> str | None:
        # _find and _value_at inlined, with FreeSWITCH's one space skipped first:
        # this runs for every header paymentd reads, and every call counts.
        needle = _NEEDLES.get(name) or _needle(name)
        if needle is None:
            return default
        pos = (self._lower or self._lowered()).find(needle[0])
        if pos < 0:
            return default
        start = pos + needle[1]
        end = self._end
        if end < 0:
            end = self._block_end()
        if start > end:
            return default
        data = self._data
        stop = data.find(b"\n", start, end)
        if stop < 0:
            stop = end
        if start < stop and data[start] == 0x20:
            start += 1
        raw = data[start:stop]
        if raw[:1] == b" ":
            raw = raw.lstrip(b" ")
        if raw[-1:] == b"\r":
            raw = raw[:-1]
        if 0x25 in raw and self._encoded:
            raw = unquote_to_bytes(raw)
        return raw.decode("utf-8", "replace")

    def get_bytes(self, name: str) -> bytes | None:
        needle = _NEEDLES.get(name) or _needle(name)
        if needle is None:
            return None
        start = self._find(needle)
        return None if start < 0 else self._value_at(start)

    def get_all_bytes(self, name: str) -> list[bytes]:
        needle = _needle(name)
        if needle is None:
            return []
        out: list[bytes] = []
        start = self._find(needle)
        while start >= 0:
            out.append(self._value_at(start))
            start = self._find(needle, start)
        return out

    def items_bytes(self) -> list[tuple[str, bytes]]:
        out: list[tuple[str, bytes]] = []
        encoded = self._encoded
        for line in self.raw.split(b"\n"):
            name, colon, value = line.partition(b":")
            # FreeSWITCH ignores lines without a name and a colon; so do we.
            if not colon or not name:
                continue
            if value[:1] == b" ":
                value = value.lstrip(b" ")
            if value[-1:] == b"\r":
                value = value[:-1]
            if encoded and 0x25 in value:
                value = unquote_to_bytes(value)
            out.append((name.decode("latin-1"), value))
        return out


class EventHeaders(WireHeaders):
    """The headers of a ``text/event-plain`` event, found in its body only when read.

    FreeSWITCH writes an event as ``Name: value`` lines and, when the event has a
    body of its own, a ``Content-Length`` line, a blank line and that body
    (``switch_event_serialize``).  So the header block is the whole event unless
    it has a ``Content-Length`` header: then the block ends at the first blank line
    after that header, and the event's own body follows.  Finding that header is
    one search of the lower-cased copy that lookups make anyway, where looking for
    the first blank line would be a slow two-byte scan of every event; on
    FreeSWITCH's output both rules agree.  Empty lines elsewhere carry nothing.
    """

    __slots__ = ()

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._end = -1
        self._encoded = True
        self._lower = None
        # Found with the block's end: where the body starts, where its length is written.
        self._body_start = -1
        self._length_at = -1

    @property
    def raw(self) -> bytes:
        # Without the newlines that end it; a CR before them stays with its line.
        return self._data[: self._block_end()].rstrip(b"\n")

    def _block_end(self) -> int:
        end = self._end
        if end >= 0:
            return end
        data = self._data
        end = len(data)
        pos = (self._lower or self._lowered()).find(_CONTENT_LENGTH[0])
        if pos >= 0:
            value = self._length_at = pos + _CONTENT_LENGTH[1]
            # The blank line: "\n\n", or "\n\r\n" when lines end in CRLF.
            blank = data.find(b"\n\n", value)
            crlf = data.find(b"\n\r\n", value, end if blank < 0 else blank + 2)
            if crlf >= 0:
                end, self._body_start = crlf, crlf + 3
            elif blank >= 0:
                end, self._body_start = blank, blank + 2
        self._end = end
        return end

    def inner_body(self) -> bytes | None:
        """The event's own body (a ``BACKGROUND_JOB``'s output), or ``None``.

        It is what follows the blank line, cut to the ``Content-Length`` header.
        FreeSWITCH never announces more than it sends; a body that does is taken
        as far as it goes, since the frame around it was whole and failing the
        connection would drop a live call.
        """
        self._block_end()
        start = self._body_start
        if start < 0 or start >= len(self._data):
            return None
        rest = self._data[start:]
        announced = self._value_at(self._length_at).strip()
        if announced.isdigit() and len(announced) <= 12:
            return rest[: int(announced)]
        return rest


if _accel.speedups is not None:
    _accel.speedups.bind_headers(_NEEDLES, _needle, WireHeaders, EventHeaders)
    _accel.replace(WireHeaders, "get", _accel.speedups.wire_get)
    _accel.replace(WireHeaders, "get_bytes", _accel.speedups.wire_get_bytes)
    _accel.replace(WireHeaders, "_find", _accel.speedups.wire_find)
    _accel.replace(WireHeaders, "_value_at", _accel.speedups.wire_value_at)
    _accel.replace(EventHeaders, "_block_end", _accel.speedups.event_block_end)


class MappingHeaders(Headers):
    """Headers that arrived as JSON (``text/event-json``): plain strings, no encoding."""

    __slots__ = ("_index", "_pairs")

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._pairs = pairs
        index: dict[str, list[str]] = {}
        for k, v in pairs:
            index.setdefault(k.lower(), []).append(v)
        self._index = index

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, object]) -> MappingHeaders:
        pairs: list[tuple[str, str]] = []
        for k, v in mapping.items():
            if isinstance(v, list):
                pairs.extend((k, str(x)) for x in v)
            else:
                pairs.append((k, str(v)))
        return cls(pairs)

    def get_bytes(self, name: str) -> bytes | None:
        values = self._index.get(name.lower())
        return _utf8(values[0]) if values else None

    def get_all_bytes(self, name: str) -> list[bytes]:
        return [_utf8(v) for v in self._index.get(name.lower(), [])]

    def items_bytes(self) -> list[tuple[str, bytes]]:
        return [(k, _utf8(v)) for k, v in self._pairs]
