"""Commands paymentd sends, and their exact bytes on the wire.

FreeSWITCH takes command header values raw: a CR or LF inside one would start
a new header (or end the command), so every name and value is checked here and
refused with :class:`~paymentd.esl.errors.LocalProtocolError`.  Application
arguments travel as a ``text/plain`` body, which may hold any text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import attrs

from paymentd.esl.errors import LocalProtocolError

__all__ = [
    "Api",
    "Auth",
    "BgApi",
    "Command",
    "Connect",
    "DivertEvents",
    "Events",
    "Execute",
    "Exit",
    "Filter",
    "FilterDelete",
    "GetVar",
    "Hangup",
    "Linger",
    "MyEvents",
    "NixEvent",
    "NoEvents",
    "NoLinger",
    "Resume",
    "SendEvent",
    "SendMsg",
]

_APP_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:-]*")
_TOKEN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:@/+-]*")


def _check_value(what: str, value: str) -> str:
    if "\n" in value or "\r" in value:
        raise LocalProtocolError(
            f"{what} must not contain CR or LF: FreeSWITCH would read a new line"
        )
    return value


def _check_name(name: str) -> str:
    if not name or ":" in name or name != name.strip():
        raise LocalProtocolError(f"invalid header name {name!r}")
    return _check_value("header name", name)


def _check_token(what: str, value: str, pattern: re.Pattern[str] = _TOKEN) -> str:
    if not pattern.fullmatch(value):
        raise LocalProtocolError(f"invalid {what} {value!r}")
    return value


def _packet(
    first_line: str, headers: Iterable[tuple[str, str]] = (), body: bytes | None = None
) -> bytes:
    _check_value("command line", first_line)
    lines = [first_line]
    for name, value in headers:
        if name.lower() == "content-length":
            # A second Content-Length would make FreeSWITCH read part of the body
            # as the next command; the length of ``body`` is written below.
            raise LocalProtocolError("Content-Length is written by the serializer, not a header")
        lines.append(f"{_check_name(name)}: {_check_value(f'header {name}', value)}")
    if body is not None:
        lines.append(f"content-length: {len(body)}")
    head = ("\n".join(lines) + "\n\n").encode("utf-8")
    return head + body if body else head


class Command:
    """Base class: every command knows its bytes and the kind of reply it gets."""

    __slots__ = ()

    #: ``api`` answers with ``api/response``; everything else with ``command/reply``.
    expects_api_response = False

    def encode(self) -> bytes:
        raise NotImplementedError


@attrs.frozen
class Connect(Command):
    """``connect``: the first command on an outbound socket; the reply is the channel data."""

    def encode(self) -> bytes:
        return b"connect\n\n"


@attrs.frozen
class MyEvents(Command):
    """``myevents``: subscribe to this call's events only."""

    format: str = "plain"
    uuid: str | None = None

    def encode(self) -> bytes:
        _check_token("event format", self.format)
        parts = ["myevents"]
        if self.uuid is not None:
            parts.append(_check_token("uuid", self.uuid))
        parts.append(self.format)
        return _packet(" ".join(parts))


@attrs.frozen
class Linger(Command):
    """``linger [N]``: keep the socket open N seconds after hang-up (forever if ``None``)."""

    seconds: int | None = None

    def encode(self) -> bytes:
        if self.seconds is None:
            return b"linger\n\n"
        if self.seconds <= 0:
            raise LocalProtocolError("linger seconds must be positive (use NoLinger)")
        return f"linger {int(self.seconds)}\n\n".encode()


@attrs.frozen
class NoLinger(Command):
    def encode(self) -> bytes:
        return b"nolinger\n\n"


@attrs.frozen
class DivertEvents(Command):
    """``divert_events on|off``: DTMF events go only to this socket (PCI)."""

    on: bool = True

    def encode(self) -> bytes:
        return b"divert_events on\n\n" if self.on else b"divert_events off\n\n"


@attrs.frozen
class Events(Command):
    """``event <format> <names...>``: subscribe (``CUSTOM`` takes subclasses after it)."""

    names: tuple[str, ...]
    format: str = "plain"

    def encode(self) -> bytes:
        if not self.names:
            raise LocalProtocolError("event needs at least one event name")
        _check_token("event format", self.format)
        names = [_check_token("event name", n) for n in self.names]
        return _packet(" ".join(["event", self.format, *names]))


@attrs.frozen
class NixEvent(Command):
    names: tuple[str, ...]

    def encode(self) -> bytes:
        names = [_check_token("event name", n) for n in self.names]
        return _packet(" ".join(["nixevent", *names]))


@attrs.frozen
class NoEvents(Command):
    def encode(self) -> bytes:
        return b"noevents\n\n"


@attrs.frozen
class Filter(Command):
    """``filter <header> <value>``: only events whose header has this value."""

    header: str
    value: str

    def encode(self) -> bytes:
        _check_name(self.header)
        if " " in self.header:
            raise LocalProtocolError("filter header name must not contain spaces")
        return _packet(f"filter {self.header} {_check_value('filter value', self.value)}")


@attrs.frozen
class FilterDelete(Command):
    header: str
    value: str | None = None

    def encode(self) -> bytes:
        _check_name(self.header)
        line = f"filter delete {self.header}"
        if self.value is not None:
            line += " " + _check_value("filter value", self.value)
        return _packet(line)


@attrs.frozen
class SendMsg(Command):
    """``sendmsg [uuid]`` with arbitrary headers and an optional body (low level)."""

    headers: tuple[tuple[str, str], ...]
    body: bytes | None = None
    uuid: str | None = None

    def encode(self) -> bytes:
        line = "sendmsg" if self.uuid is None else "sendmsg " + _check_token("uuid", self.uuid)
        return _packet(line, self.headers, self.body)


@attrs.frozen
class Execute(Command):
    """``sendmsg`` ``call-command: execute``.

    ``event_uuid`` comes back as ``Application-UUID`` on CHANNEL_EXECUTE and
    CHANNEL_EXECUTE_COMPLETE; ``event_lock`` makes later messages wait for this
    one (without it a queued app runs nested inside a running playback).
    """

    app: str
    arg: str | None = None
    event_uuid: str | None = None
    event_lock: bool = False
    loops: int | None = None
    uuid: str | None = None

    def encode(self) -> bytes:
        _check_token("application name", self.app, _APP_NAME)
        headers = [("call-command", "execute"), ("execute-app-name", self.app)]
        if self.loops is not None:
            headers.append(("loops", str(int(self.loops))))
        if self.event_lock:
            headers.append(("event-lock", "true"))
        if self.event_uuid is not None:
            headers.append(("Event-UUID", _check_token("Event-UUID", self.event_uuid)))
        body = None
        if self.arg is not None:
            headers.append(("content-type", "text/plain"))
            body = self.arg.encode("utf-8")
        return SendMsg(tuple(headers), body, self.uuid).encode()


@attrs.frozen
class Hangup(Command):
    """``sendmsg`` ``call-command: hangup`` with a Q.850 cause name."""

    cause: str = "NORMAL_CLEARING"
    uuid: str | None = None

    def encode(self) -> bytes:
        _check_token("hangup cause", self.cause)
        headers = (("call-command", "hangup"), ("hangup-cause", self.cause))
        return SendMsg(headers, None, self.uuid).encode()


@attrs.frozen
class Resume(Command):
    """``resume``: when the socket closes, the dialplan carries on after ``socket``."""

    def encode(self) -> bytes:
        return b"resume\n\n"


@attrs.frozen
class Exit(Command):
    """``exit``: FreeSWITCH answers ``+OK bye``, sends the disconnect notice and closes."""

    def encode(self) -> bytes:
        return b"exit\n\n"


@attrs.frozen
class Auth(Command):
    password: str = attrs.field(repr=False)

    def encode(self) -> bytes:
        return _packet("auth " + _check_value("password", self.password))


@attrs.frozen
class Api(Command):
    """``api <command>``: blocking; the answer is an ``api/response`` body."""

    command: str
    expects_api_response = True

    def encode(self) -> bytes:
        return _packet("api " + _check_value("api command", self.command))


@attrs.frozen
class BgApi(Command):
    """``bgapi <command>`` with our ``Job-UUID``; the result is a BACKGROUND_JOB event."""

    command: str
    job_uuid: str | None = None

    def encode(self) -> bytes:
        headers = []
        if self.job_uuid is not None:
            headers.append(("Job-UUID", _check_token("Job-UUID", self.job_uuid)))
        return _packet("bgapi " + _check_value("bgapi command", self.command), headers)


@attrs.frozen
class SendEvent(Command):
    """``sendevent <NAME>`` with headers (e.g. ``Event-Subclass``) and an optional body."""

    event_name: str
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None

    def encode(self) -> bytes:
        _check_token("event name", self.event_name)
        return _packet("sendevent " + self.event_name, self.headers, self.body)


@attrs.frozen
class GetVar(Command):
    """``getvar <name>``: the Reply-Text is the bare value (``-ERR command not found`` if unset)."""

    name: str

    def encode(self) -> bytes:
        return _packet("getvar " + _check_token("variable name", self.name))
