"""Events as FreeSWITCH builds them: an ordered list of headers, maybe a body.

Layouts come from ``data/event_layouts.json`` (derived from the captures): each
event type lists its blocks (``@base``, ``@packet``, ``@channel``,
``@variables``) and its own headers in the order FreeSWITCH adds them.  A header
whose value is empty or missing is left out, as ``switch_event_add_header_string``
does with a NULL value.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from importlib import resources
from typing import Any
from xml.sax.saxutils import escape

import attrs

from paymentd.testing.clock import SimClock
from paymentd.testing.wire import serialize_json, serialize_plain, url_encode

__all__ = ["EventFactory", "FsEvent", "Identity", "layout_of", "load_json"]

Headers = list[tuple[str, str]]


def load_json(name: str) -> dict[str, Any]:
    """A package data file from ``paymentd/testing/data``."""
    text = resources.files("paymentd.testing").joinpath("data", name).read_text()
    data: dict[str, Any] = json.loads(text)
    return data


_LAYOUTS: dict[str, Any] = load_json("event_layouts.json")["events"]


def layout_of(name: str) -> list[str]:
    """The header layout of an event type (a KeyError for types not modelled)."""
    layout: list[str] = _LAYOUTS[name]["layout"]
    return layout


def _source_of(name: str, variant: str | None) -> tuple[str, str, str]:
    entry = _LAYOUTS.get(f"{name}/{variant}") or _LAYOUTS[name]
    file, function, line = entry["source"]
    return str(file), str(function), str(line)


@attrs.define
class FsEvent:
    """One event: ordered headers (duplicates allowed) and an optional body."""

    name: str
    headers: Headers
    body: str | None = None

    def get(self, header: str) -> str | None:
        """The first header of that name (any case), or ``None``."""
        lowered = header.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None

    @property
    def unique_id(self) -> str | None:
        """The channel this event belongs to, if any."""
        return self.get("Unique-ID")

    @property
    def subclass(self) -> str | None:
        """``Event-Subclass`` of a CUSTOM event."""
        return self.get("Event-Subclass")

    def plain(self) -> bytes:
        """The ``text/event-plain`` serialization (percent-encoded values)."""
        return serialize_plain(self.headers, self.body)

    def json(self) -> bytes:
        """The ``text/event-json`` serialization (values as they are)."""
        return serialize_json(self.headers, self.body)

    def xml(self) -> bytes:
        """The ``text/event-xml`` serialization (``switch_event_xmlize``, values encoded)."""
        lines = ["<event>", "  <headers>"]
        lines += [f"    <{name}>{url_encode(value)}</{name}>" for name, value in self.headers]
        lines.append("  </headers>")
        if self.body:
            lines.append(f"  <body>{escape(self.body)}</body>")
        lines.append("</event>")
        return "\n".join(lines).encode("utf-8", "surrogateescape")

    def text(self) -> str:
        """A readable dump with decoded values, for scanning and for failure messages."""
        lines = [f"{key}: {value}" for key, value in self.headers]
        if self.body:
            lines += ["", self.body]
        return "\n".join(lines)


@attrs.frozen
class Identity:
    """Who this FreeSWITCH says it is in every event."""

    hostname: str
    switchname: str
    ipv4: str
    ipv6: str
    version: str

    @classmethod
    def from_data(cls) -> Identity:
        """The identity of the switch the captures were made on."""
        data = load_json("loopback_call.json")["identity"]
        return cls(**data)


class EventFactory:
    """Builds events in FreeSWITCH's header order and numbers them.

    ``Event-Sequence`` and the date headers are given when the event is
    composed, which in the simulator is the moment it is fired.
    """

    def __init__(self, clock: SimClock, identity: Identity, core_uuid: str) -> None:
        self.clock = clock
        self.identity = identity
        self.core_uuid = core_uuid
        # FreeSWITCH's counter is global and already large when a call starts.
        self._sequence = 3000

    def base(self, name: str, variant: str | None = None) -> Headers:
        """The headers ``switch_event_prep_for_delivery`` adds to every fired event."""
        self._sequence += 1
        micros = self.clock.epoch_us()
        seconds = micros / 1_000_000
        file, function, line = _source_of(name, variant)
        return [
            ("Event-Name", name),
            ("Core-UUID", self.core_uuid),
            ("FreeSWITCH-Hostname", self.identity.hostname),
            ("FreeSWITCH-Switchname", self.identity.switchname),
            ("FreeSWITCH-IPv4", self.identity.ipv4),
            ("FreeSWITCH-IPv6", self.identity.ipv6),
            ("Event-Date-Local", time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds))),
            ("Event-Date-GMT", time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(seconds))),
            ("Event-Date-Timestamp", str(micros)),
            ("Event-Calling-File", file),
            ("Event-Calling-Function", function),
            ("Event-Calling-Line-Number", line),
            ("Event-Sequence", str(self._sequence)),
        ]

    def build(
        self,
        name: str,
        *,
        channel: Callable[[], Headers] | None = None,
        variables: Callable[[], Headers] | None = None,
        profile: Callable[[], Headers] | None = None,
        packet: Headers | None = None,
        fields: Mapping[str, str | None] | None = None,
        body: str | None = None,
        variant: str | None = None,
    ) -> FsEvent:
        """Compose an event of a modelled type from its layout.

        ``channel``, ``variables`` and ``profile`` are called only if the layout
        has those blocks; ``fields`` fills the event's own headers.
        """
        headers: Headers = []
        values = dict(fields or {})
        for block in layout_of(name):
            if block == "@base":
                headers += self.base(name, variant)
            elif block == "@channel":
                if channel is not None:
                    headers += channel()
            elif block == "@variables":
                if variables is not None:
                    headers += variables()
            elif block == "@profile":
                if profile is not None:
                    headers += profile()
            elif block == "@packet":
                headers += packet or []
            elif block == "Content-Length":
                continue
            else:
                value = values.get(block)
                if value:
                    headers.append((block, value))
        return FsEvent(name, headers, body)
