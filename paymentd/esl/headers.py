"""Header blocks as lazy, ordered, case-insensitive multi-maps.

A real FreeSWITCH event carries about 100 percent-encoded headers and paymentd
reads a handful of them, so nothing is split or decoded until it is asked for.
Lookups search the raw block for ``\\n<name>:`` *before* any decoding: a value
can never contain a raw newline (FreeSWITCH percent-encodes it), so a match is
always a real line start and a caller-controlled value cannot forge a header.
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


class WireHeaders(Headers):
    """Headers exactly as they came off the wire: ``Name: value`` lines.

    ``encoded`` says whether values are percent-encoded (events and the
    ``connect`` reply) or raw (every other ``command/reply``).
    """

    __slots__ = ("_block", "_encoded", "_lower")

    def __init__(self, block: bytes, *, encoded: bool) -> None:
        # A leading newline lets the first line match ``\n<name>:`` like the others.
        self._block = b"\n" + block
        self._encoded = encoded
        self._lower: bytes | None = None

    @property
    def raw(self) -> bytes:
        """The header block as received (without the blank line that ended it)."""
        return self._block[1:]

    @property
    def encoded(self) -> bool:
        return self._encoded

    def reinterpret(self, *, encoded: bool) -> WireHeaders:
        """The same block read with the other encoding rule (used for the ``connect`` reply)."""
        return WireHeaders(self._block[1:], encoded=encoded)

    def _lowered(self) -> bytes:
        lower = self._lower
        if lower is None:
            lower = self._lower = self._block.lower()
        return lower

    def _value_at(self, start: int, end: int = -1) -> bytes:
        block = self._block
        if end < 0:
            end = block.find(b"\n", start)
            if end < 0:
                end = len(block)
        # FreeSWITCH skips every space after the colon; accept CRLF line ends too.
        while start < end and block[start] == 0x20:
            start += 1
        if end > start and block[end - 1] == 0x0D:
            end -= 1
        raw = block[start:end]
        if self._encoded and b"%" in raw:
            return unquote_to_bytes(raw)
        return raw

    @staticmethod
    def _needle(name: str) -> bytes | None:
        """``\\n<name>:`` in lower case, or ``None`` for a name no header line can carry."""
        try:
            raw = name.encode("latin-1")
        except UnicodeEncodeError:
            return None
        # A line's name ends at its first colon, so a name with a colon never matches.
        if not raw or b":" in raw or b"\n" in raw or b"\r" in raw:
            return None
        return b"\n" + raw.lower() + b":"

    def get_bytes(self, name: str) -> bytes | None:
        needle = self._needle(name)
        if needle is None:
            return None
        pos = self._lowered().find(needle)
        if pos < 0:
            return None
        return self._value_at(pos + len(needle))

    def get_all_bytes(self, name: str) -> list[bytes]:
        needle = self._needle(name)
        if needle is None:
            return []
        lower = self._lowered()
        out: list[bytes] = []
        pos = lower.find(needle)
        while pos >= 0:
            out.append(self._value_at(pos + len(needle)))
            pos = lower.find(needle, pos + len(needle))
        return out

    def items_bytes(self) -> list[tuple[str, bytes]]:
        out: list[tuple[str, bytes]] = []
        block = self._block
        size = len(block)
        pos = 1
        while pos < size:
            end = block.find(b"\n", pos)
            if end < 0:
                end = size
            colon = block.find(b":", pos, end)
            # FreeSWITCH ignores lines without a name and a colon; so do we.
            if colon > pos:
                name = block[pos:colon].decode("latin-1")
                out.append((name, self._value_at(colon + 1, end)))
            pos = end + 1
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
