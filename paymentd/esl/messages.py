"""Messages FreeSWITCH sends over the Event Socket, as frozen value classes.

Events keep their headers lazy (see :mod:`paymentd.esl.headers`); the typed
subclasses only add convenient, named views of headers paymentd reads.
"""

from __future__ import annotations

import enum
import json
import re

import attrs

from paymentd.esl.headers import EventHeaders, Headers, MappingHeaders, WireHeaders

__all__ = [
    "ApiResponse",
    "ApplicationEvent",
    "AuthRequest",
    "BackgroundJob",
    "ChannelData",
    "ChannelExecute",
    "ChannelExecuteComplete",
    "ChannelHangup",
    "ChannelHangupComplete",
    "CommandReply",
    "DisconnectNotice",
    "Dtmf",
    "Event",
    "Message",
    "UnknownMessage",
    "event_from_json",
    "event_from_plain",
    "loads_json_event",
]


def _ascii_int(value: str | None) -> int | None:
    # str.isdigit() accepts "²", which int() refuses; only ASCII digits count here.
    return int(value) if value is not None and value.isascii() and value.isdigit() else None


@attrs.frozen
class CommandReply:
    """``Content-Type: command/reply``: the answer to every command but ``api``."""

    headers: WireHeaders

    @property
    def reply_text(self) -> str:
        return self.headers.get("Reply-Text", "") or ""

    @property
    def ok(self) -> bool:
        return self.reply_text.startswith("+OK")

    @property
    def job_uuid(self) -> str | None:
        return self.headers.get("Job-UUID")


@attrs.frozen
class ChannelData:
    """The reply to ``connect`` on an outbound socket: every header of the channel.

    Unlike other replies, its values are percent-encoded (``Reply-Text: %2BOK%0A``).
    """

    headers: WireHeaders

    @property
    def reply_text(self) -> str:
        return self.headers.get("Reply-Text", "") or ""

    @property
    def ok(self) -> bool:
        return self.reply_text.startswith("+OK")

    @property
    def unique_id(self) -> str:
        return self.headers.get("Unique-ID") or self.headers.get("Channel-Unique-ID") or ""

    @property
    def channel_name(self) -> str | None:
        return self.headers.get("Channel-Name")

    @property
    def socket_mode(self) -> str | None:
        return self.headers.get("Socket-Mode")

    @property
    def control(self) -> str | None:
        return self.headers.get("Control")

    @property
    def caller_id_number(self) -> str | None:
        return self.headers.get("Caller-Caller-ID-Number")

    @property
    def destination_number(self) -> str | None:
        return self.headers.get("Caller-Destination-Number")

    def variable(self, name: str) -> str | None:
        """A channel variable as it stood when the socket connected."""
        return self.headers.get("variable_" + name)


@attrs.frozen
class ApiResponse:
    """``Content-Type: api/response``: the output of a blocking ``api`` command."""

    headers: WireHeaders
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    @property
    def ok(self) -> bool:
        # Errors live in the body: ``-ERR ...`` or ``-USAGE: ...``.  Values such as
        # ``uuid_getvar``'s come bare, so anything not starting with ``-`` is a success.
        return not self.body.startswith(b"-")


@attrs.frozen
class AuthRequest:
    """``Content-Type: auth/request``: the inbound socket's greeting."""

    headers: WireHeaders


@attrs.frozen
class DisconnectNotice:
    """``Content-Type: text/disconnect-notice``.

    ``disposition`` is ``"linger"`` (the call hung up, events keep coming for the
    linger time), ``"disconnect"`` (FreeSWITCH is about to close), or ``None`` on
    inbound sockets, where the notice always means a close.
    """

    headers: WireHeaders
    body: bytes

    @property
    def disposition(self) -> str | None:
        value = self.headers.get("Content-Disposition")
        return value.lower() if value else None

    @property
    def linger_time(self) -> int | None:
        value = self.headers.get("Linger-Time")
        try:
            return int(value) if value is not None else None
        except ValueError:
            return None

    @property
    def controlled_session_uuid(self) -> str | None:
        return self.headers.get("Controlled-Session-UUID")

    @property
    def closing(self) -> bool:
        """True when FreeSWITCH is about to close the socket."""
        return self.disposition != "linger"


@attrs.frozen
class UnknownMessage:
    """A well-framed message with a Content-Type paymentd has no use for (e.g. ``log/data``)."""

    content_type: str
    headers: WireHeaders
    body: bytes


class _FromHeaders(enum.Enum):
    """Marks a body still inside the event's header data."""

    BODY = enum.auto()


@attrs.frozen
class Event:
    """A FreeSWITCH event (``text/event-plain`` or ``text/event-json``)."""

    headers: Headers
    # The event's own body; a plain event's is found in its headers only when asked for.
    _body: bytes | _FromHeaders | None = attrs.field(
        default=None, alias="body", eq=False, repr=False
    )
    # Event-Name, read once: by the parser while choosing the class, or on first use.
    _name: str | None = attrs.field(default=None, init=False, eq=False, repr=False)

    @property
    def body(self) -> bytes | None:
        """The event's own body (a ``BACKGROUND_JOB``'s output), or ``None``."""
        body = self._body
        if isinstance(body, _FromHeaders):
            headers = self.headers
            body = headers.inner_body() if isinstance(headers, EventHeaders) else None
            _set_body(self, body)
        return body

    @property
    def name(self) -> str:
        """``Event-Name``; empty for events re-fired without one (``sendevent`` to a session)."""
        name = self._name
        if name is None:
            name = self.headers.get("Event-Name") or ""
            _set_name(self, name)
        return name

    @property
    def unique_id(self) -> str | None:
        return self.headers.get("Unique-ID")

    @property
    def subclass(self) -> str | None:
        return self.headers.get("Event-Subclass")

    @property
    def sequence(self) -> int | None:
        return _ascii_int(self.headers.get("Event-Sequence"))

    @property
    def channel_name(self) -> str | None:
        return self.headers.get("Channel-Name")

    def variable(self, name: str) -> str | None:
        """A channel variable as carried by this event (``variable_<name>``)."""
        return self.headers.get("variable_" + name)

    @property
    def text(self) -> str:
        """The event's own body, decoded leniently (empty when it has none)."""
        return (self.body or b"").decode("utf-8", "replace")


@attrs.frozen
class Dtmf(Event):
    """``DTMF``: one key pressed on the channel."""

    @property
    def digit(self) -> str:
        return self.headers.get("DTMF-Digit") or ""

    @property
    def duration(self) -> int | None:
        return _ascii_int(self.headers.get("DTMF-Duration"))

    @property
    def source(self) -> str | None:
        return self.headers.get("DTMF-Source")


@attrs.frozen
class ApplicationEvent(Event):
    """Shared views of ``CHANNEL_EXECUTE`` and ``CHANNEL_EXECUTE_COMPLETE``."""

    @property
    def application(self) -> str | None:
        return self.headers.get("Application")

    @property
    def application_data(self) -> str | None:
        return self.headers.get("Application-Data")

    @property
    def application_uuid(self) -> str | None:
        """Our ``Event-UUID`` when the app was started by a ``sendmsg`` that carried one."""
        return self.headers.get("Application-UUID")


@attrs.frozen
class ChannelExecute(ApplicationEvent):
    """``CHANNEL_EXECUTE``: an application started."""


@attrs.frozen
class ChannelExecuteComplete(ApplicationEvent):
    """``CHANNEL_EXECUTE_COMPLETE``: an application finished."""

    @property
    def application_response(self) -> str | None:
        """``FILE PLAYED``, ``_none_``, ``PLAYBACK ERROR`` ... (stale for the ``socket`` app)."""
        return self.headers.get("Application-Response")


@attrs.frozen
class ChannelHangup(Event):
    """``CHANNEL_HANGUP``: the call is ending."""

    @property
    def hangup_cause(self) -> str | None:
        return self.headers.get("Hangup-Cause")


@attrs.frozen
class ChannelHangupComplete(ChannelHangup):
    """``CHANNEL_HANGUP_COMPLETE``: the last channel event of a call."""


@attrs.frozen
class BackgroundJob(Event):
    """``BACKGROUND_JOB``: the result of a ``bgapi`` command; the output is the body."""

    @property
    def job_uuid(self) -> str | None:
        return self.headers.get("Job-UUID")

    @property
    def job_command(self) -> str | None:
        return self.headers.get("Job-Command")

    @property
    def ok(self) -> bool:
        return not (self.body or b"").startswith(b"-")


_EVENT_CLASSES: dict[str, type[Event]] = {
    "DTMF": Dtmf,
    "CHANNEL_EXECUTE": ChannelExecute,
    "CHANNEL_EXECUTE_COMPLETE": ChannelExecuteComplete,
    "CHANNEL_HANGUP": ChannelHangup,
    "CHANNEL_HANGUP_COMPLETE": ChannelHangupComplete,
    "BACKGROUND_JOB": BackgroundJob,
}

Message = (
    CommandReply
    | ChannelData
    | ApiResponse
    | AuthRequest
    | DisconnectNotice
    | UnknownMessage
    | Event
)


# Event-Name values as FreeSWITCH writes them, to their class and text.  Names seen
# in plain characters are added as they come (bounded: FreeSWITCH has about a hundred).
_BY_RAW_NAME: dict[bytes | None, tuple[type[Event], str]] = {
    name.encode(): (cls, name) for name, cls in _EVENT_CLASSES.items()
}
_RAW_NAMES_MAX = 1024
# Printable ASCII but space and "%": what needs no decoding and no trimming.
_PLAIN_NAME = re.compile(rb"[!-$&-~]{1,64}")

# attrs' frozen __init__ goes through object.__setattr__ by name; the parser builds
# thousands of events a second, so it fills the slots directly.
_new_object = object.__new__
_set_headers = Event.__dict__["headers"].__set__
_set_body = Event.__dict__["_body"].__set__
_set_name = Event.__dict__["_name"].__set__


def event_from_plain(data: bytes, first_name: bytes | None = None) -> Event:
    """Build the typed event whose ``text/event-plain`` body is ``data``.

    Only its first line is read here (FreeSWITCH writes ``Event-Name`` first);
    everything else waits until it is asked for.  ``first_name`` is that line's
    value when the caller has already matched it in plain characters.
    """
    headers = EventHeaders(data)
    known = _BY_RAW_NAME.get(first_name) or _event_class(headers, data, first_name)
    event = _new_object(known[0])
    _set_headers(event, headers)
    _set_body(event, _FromHeaders.BODY)
    _set_name(event, known[1])
    return event


def _event_class(
    headers: EventHeaders, data: bytes, first_name: bytes | None
) -> tuple[type[Event], str]:
    if first_name is None and data.startswith(b"Event-Name: "):
        line_end = data.find(b"\n", 12)
        raw = data[12:] if line_end < 0 else data[12:line_end]
        if _PLAIN_NAME.fullmatch(raw):
            first_name = raw
    if first_name is not None:
        # A name in plain characters reads as it is written.
        name = first_name.decode("ascii")
        known = (_EVENT_CLASSES.get(name, Event), name)
        if len(_BY_RAW_NAME) < _RAW_NAMES_MAX:
            _BY_RAW_NAME[first_name] = known
        return known
    name = headers.get("Event-Name") or ""
    return _EVENT_CLASSES.get(name, Event), name


def event_from_json(data: object) -> Event:
    """Build the typed event for a ``text/event-json`` object (``_body`` is its body)."""
    if not isinstance(data, dict):
        raise ValueError("a JSON event must be an object")
    body = data.pop("_body", None)
    headers = MappingHeaders.from_mapping(data)
    cls = _EVENT_CLASSES.get(headers.get("Event-Name") or "", Event)
    return cls(headers, None if body is None else str(body).encode("utf-8", "surrogateescape"))


def loads_json_event(body: bytes) -> Event:
    """Parse a JSON event body (raises ``ValueError`` on malformed JSON)."""
    return event_from_json(json.loads(body.decode("utf-8", "surrogateescape")))
