"""Header blocks as lazy, ordered, case-insensitive multi-maps.

A real FreeSWITCH event carries about 100 percent-encoded headers and paymentd
reads a handful of them, so nothing is split or decoded until it is asked for.
Lookups search the raw block for ``\\n<name>:`` *before* any decoding: a value
can never contain a raw newline (FreeSWITCH percent-encodes it), so a match is
always a real line start and a caller-controlled value cannot forge a header.
Names are searched in a lower-cased copy of the block, made once and only when a
header is read (the parser reads ``Event-Name`` from the first line itself), so
the first line of any case wins.
Values are percent-decoded with ``unquote`` semantics (``+`` stays ``+``) and
turned into text leniently: bytes that are not UTF-8 become U+FFFD, and the
decoded bytes stay available through :meth:`Headers.get_bytes`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from urllib.parse import unquote_to_bytes

__all__ = ["Headers", "MappingHeaders", "WireHeaders"]


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


# name -> (b"\\nname:", its length), or None for a name no line can carry.  Names
# come from code, so the cache stays small; it is bounded anyway.
_NEEDLES: dict[str, tuple[bytes, int] | None] = {}
_NEEDLES_MAX = 4096


def _needle(name: str) -> tuple[bytes, int] | None:
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
            needle = (b"\n" + raw.lower() + b":", len(raw) + 2)
    if len(_NEEDLES) < _NEEDLES_MAX:
        _NEEDLES[name] = needle
    return needle


class WireHeaders(Headers):
    """Headers exactly as they came off the wire: ``Name: value`` lines.

    ``encoded`` says whether values are percent-encoded (events and the
    ``connect`` reply) or raw (every other ``command/reply``).  The block is
    ``data[:end]``: a plain event keeps its whole body in one ``bytes`` and its
    headers end at the first blank line, so parsing an event copies nothing more.
    """

    __slots__ = ("_data", "_encoded", "_end", "_lower")

    def __init__(self, block: bytes, encoded: bool, end: int | None = None) -> None:
        self._data = block
        self._end = len(block) if end is None else end
        self._encoded = encoded
        self._lower: bytes | None = None

    @property
    def raw(self) -> bytes:
        """The header block as received (without the blank line that ended it)."""
        return self._data[: self._end]

    @property
    def encoded(self) -> bool:
        return self._encoded

    def reinterpret(self, *, encoded: bool) -> WireHeaders:
        """The same block read with the other encoding rule (used for the ``connect`` reply)."""
        return WireHeaders(self._data, encoded=encoded, end=self._end)

    def _lowered(self) -> bytes:
        """The block in lower case after a newline, so that every line starts ``\\n<name>:``.

        Offsets in it are one more than in the block.
        """
        lower = self._lower
        if lower is None:
            data = self._data
            end = self._end
            # An event's block is followed by its blank line, which no needle matches.
            if end != len(data) and data[end:] != b"\n\n":
                data = data[:end]
            lower = self._lower = (b"\n" + data).lower()
        return lower

    def _find(self, name: str) -> int:
        """Where the value of the first line named ``name`` (any case) starts, or -1."""
        needle = _NEEDLES.get(name) or _needle(name)
        if needle is None:
            return -1
        pos = (self._lower or self._lowered()).find(needle[0])
        return pos if pos < 0 else pos + needle[1] - 1

    def _value_at(self, start: int) -> bytes:
        data = self._data
        stop = data.find(b"\n", start, self._end)
        if stop < 0:
            stop = self._end
        # FreeSWITCH writes one space after the colon and skips any more; CRLF is accepted.
        if start < stop and data[start] == 0x20:
            start += 1
        raw = data[start:stop]
        if raw[:1] == b" ":
            raw = raw.lstrip(b" ")
        if raw[-1:] == b"\r":
            raw = raw[:-1]
        if b"%" in raw and self._encoded:
            return unquote_to_bytes(raw)
        return raw

    def get(self, name: str, default: str | None = None) -> str | None:
        # _find and _value_at, inlined: this runs for every header paymentd reads.
        needle = _NEEDLES.get(name) or _needle(name)
        if needle is None:
            return default
        start = (self._lower or self._lowered()).find(needle[0])
        if start < 0:
            return default
        start += needle[1] - 1
        data = self._data
        end = self._end
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
        if b"%" in raw and self._encoded:
            raw = unquote_to_bytes(raw)
        return raw.decode("utf-8", "replace")

    def get_bytes(self, name: str) -> bytes | None:
        start = self._find(name)
        return None if start < 0 else self._value_at(start)

    def get_all_bytes(self, name: str) -> list[bytes]:
        needle = _needle(name)
        if needle is None:
            return []
        lower = self._lowered()
        out: list[bytes] = []
        pos = lower.find(needle[0])
        while pos >= 0:
            out.append(self._value_at(pos + needle[1] - 1))
            pos = lower.find(needle[0], pos + needle[1])
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
            if encoded and b"%" in value:
                value = unquote_to_bytes(value)
            out.append((name.decode("latin-1"), value))
        return out


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
