"""Property tests: serialize as FreeSWITCH does, split anywhere, parse back; and garbage.

Garbage may only ever raise :class:`RemoteProtocolError` (with a readable
message), every message that does come out must answer every view without
raising, and the parser's buffer stays within its configured limits.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable
from urllib.parse import unquote_to_bytes

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from paymentd.esl import (
    ApiResponse,
    ApplicationEvent,
    BackgroundJob,
    ChannelData,
    ChannelExecuteComplete,
    ChannelHangup,
    CommandReply,
    DisconnectNotice,
    Dtmf,
    Event,
    FrameParser,
    Message,
    RemoteProtocolError,
    UnknownMessage,
    WireHeaders,
)

from .captures import CORPUS, corpus_captures, frames

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# switch_utils.h: SWITCH_URL_UNSAFE; switch_url_encode also encodes controls and bytes > 0x7E.
URL_UNSAFE = frozenset(b'\r\n #%&+:;<=>?@[\\]^`{|}"')


def fs_url_encode(value: bytes) -> bytes:
    """switch_url_encode, encoding every ``%`` (so the round trip is exact)."""
    return b"".join(
        b"%%%02X" % byte if byte < 0x20 or byte > 0x7E or byte in URL_UNSAFE else bytes([byte])
        for byte in value
    )


def ascii_lower(name: str) -> str:
    return name.encode("latin-1").lower().decode("latin-1")


# Names as FreeSWITCH and sendevent produce them; a small pool with random case makes
# case-insensitive duplicates likely.
NAME_POOL = ["Event-Name", "Unique-ID", "DTMF-Digit", "variable_x", "Job-UUID", "A", "X-y.z"]


@st.composite
def header_names(draw: st.DrawFn) -> str:
    base = draw(
        st.one_of(
            st.sampled_from(NAME_POOL),
            st.text(
                st.characters(min_codepoint=33, max_codepoint=126, exclude_characters=":"),
                min_size=1,
                max_size=12,
            ),
        )
    )
    flips = draw(st.lists(st.booleans(), min_size=len(base), max_size=len(base)))
    return "".join(c.swapcase() if flip else c for c, flip in zip(base, flips, strict=True))


values = st.one_of(
    st.binary(max_size=40),
    st.text(max_size=30).map(lambda s: s.encode("utf-8")),
    st.sampled_from([b"+", b"%2B", b"%", b"a+b c", b"x\nvariable_x: y", b"\r\n\r\n", b" lead"]),
)
event_names = st.sampled_from(
    [
        "DTMF",
        "CHANNEL_EXECUTE",
        "CHANNEL_EXECUTE_COMPLETE",
        "CHANNEL_HANGUP",
        "BACKGROUND_JOB",
        "CHANNEL_STATE",
        "CUSTOM",
    ]
)


@st.composite
def plain_events(draw: st.DrawFn) -> tuple[bytes, Callable[[Message], None]]:
    name = draw(event_names)
    pairs = [("Event-Name", name.encode())]
    pairs += draw(
        st.lists(
            st.tuples(header_names().filter(lambda n: ascii_lower(n) != "content-length"), values),
            max_size=12,
        )
    )
    body = draw(st.one_of(st.none(), st.binary(max_size=60)))
    inner = b"".join(k.encode() + b": " + fs_url_encode(v) + b"\n" for k, v in pairs)
    inner += b"\n" if body is None else b"Content-Length: %d\n\n" % len(body) + body
    frame = b"Content-Length: %d\nContent-Type: text/event-plain\n\n" % len(inner) + inner

    def check(message: Message) -> None:
        assert isinstance(message, Event)
        assert message.name == name
        items = message.headers.items_bytes()
        if body is not None:
            assert items[-1] == ("Content-Length", str(len(body)).encode())
            items = items[:-1]
        assert items == pairs
        assert message.body == (body or None)
        for key, _ in pairs:
            same = [v for k, v in pairs if ascii_lower(k) == ascii_lower(key)]
            assert message.headers.get_bytes(key) == same[0]
            assert message.headers.get(key) == same[0].decode("utf-8", "replace")
            assert message.headers.get_all_bytes(key) == same

    return frame, check


reply_texts = st.text(
    st.characters(exclude_categories=("Cs",), exclude_characters="\r\n"), max_size=40
).filter(lambda s: not s.startswith(" "))


@st.composite
def command_replies(draw: st.DrawFn) -> tuple[bytes, Callable[[Message], None]]:
    text = draw(reply_texts)
    job = draw(st.one_of(st.none(), st.uuids().map(str)))
    frame = b"Content-Type: command/reply\nReply-Text: " + text.encode()
    frame += b"\n" + (b"Job-UUID: " + job.encode() + b"\n" if job else b"") + b"\n"

    def check(message: Message) -> None:
        assert isinstance(message, CommandReply)
        assert message.reply_text == text
        assert message.job_uuid == job

    return frame, check


@st.composite
def api_responses(draw: st.DrawFn) -> tuple[bytes, Callable[[Message], None]]:
    body = draw(st.binary(max_size=80))
    frame = b"Content-Type: api/response\nContent-Length: %d\n\n" % len(body) + body

    def check(message: Message) -> None:
        assert isinstance(message, ApiResponse)
        assert message.body == body

    return frame, check


@st.composite
def json_events(draw: st.DrawFn) -> tuple[bytes, Callable[[Message], None]]:
    name = draw(event_names)
    text = st.text(st.characters(exclude_categories=("Cs",)), max_size=20)
    data = {"Event-Name": name, **draw(st.dictionaries(text.filter(lambda k: k != "_body"), text))}
    data["Event-Name"] = name
    body = draw(st.one_of(st.none(), text))
    if body is not None:
        data["_body"] = body
    encoded = json.dumps(data, ensure_ascii=draw(st.booleans())).encode()
    frame = b"Content-Length: %d\nContent-Type: text/event-json\n\n" % len(encoded) + encoded

    def check(message: Message) -> None:
        assert isinstance(message, Event)
        assert message.name == name
        expected = [(k, v) for k, v in data.items() if k != "_body"]
        assert message.headers.items() == expected
        assert message.body == (None if body is None else body.encode())

    return frame, check


messages = st.one_of(plain_events(), command_replies(), api_responses(), json_events())


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({0, len(data), *(c % (len(data) + 1) for c in cuts)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


@SETTINGS
@given(st.lists(messages, min_size=1, max_size=5), st.lists(st.integers(0, 10**6), max_size=20))
def test_round_trip_at_random_splits(
    generated: list[tuple[bytes, Callable[[Message], None]]], cuts: list[int]
) -> None:
    stream = b"".join(frame for frame, _ in generated)
    parser = FrameParser()
    parsed: list[Message] = []
    for chunk in split(stream, cuts):
        parser.feed(chunk)
        while (message := parser.next_message()) is not None:
            parsed.append(message)
    assert len(parsed) == len(generated)
    for message, (_, check) in zip(parsed, generated, strict=True):
        check(message)
    assert parser.buffered == 0


@SETTINGS
@given(
    st.lists(st.tuples(header_names(), values), max_size=10),
    st.one_of(header_names(), st.text(max_size=8)),
)
def test_lookup_agrees_with_the_ordered_items(pairs: list[tuple[str, bytes]], name: str) -> None:
    block = b"\n".join(k.encode() + b": " + fs_url_encode(v) for k, v in pairs)
    headers = WireHeaders(block, encoded=True)
    items = headers.items_bytes()
    assert items == [(k, v) for k, v in pairs]
    try:
        wanted = ascii_lower(name)
    except UnicodeEncodeError:
        wanted = None
    matches = [v for k, v in items if ascii_lower(k) == wanted]
    assert headers.get_bytes(name) == (matches[0] if matches else None)
    assert headers.get_all_bytes(name) == matches
    assert (name in headers) == bool(matches)


# --- garbage ---------------------------------------------------------------------------

# fmt: off
FRAGMENTS = [
    b"Content-Length: ", b"Content-Type: ", b"content-length:", b"text/event-plain",
    b"text/event-json", b"command/reply", b"api/response", b"auth/request",
    b"text/disconnect-notice", b"log/data", b"\n", b"\n\n", b"\r\n", b"\r", b":", b" ",
    b"%", b"%0A", b"%zz", b"%C2%B2", b"%FF", b"Event-Name: ", b"DTMF", b"BACKGROUND_JOB",
    b"CHANNEL_EXECUTE_COMPLETE", b"CHANNEL_HANGUP", b"Event-Sequence: ", b"DTMF-Duration: ",
    b"DTMF-Digit: ", b"Linger-Time: ", b"Content-Disposition: ", b"linger", b"disconnect",
    b"Reply-Text: ", b"%2BOK%0A", b"Socket-Mode: static", b"{", b"}", b"[", b'"', b'"_body"',
    b'"\\ud800"', b"0", b"1", b"7", b"12", b"-1", b"99999999999999", b"\xff", b"\x00", b"\xc3",
]
# fmt: on
LIMITS = {"max_header_bytes": 200, "max_content_length": 300}
garbage = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.binary(max_size=12)), max_size=80).map(
    b"".join
)


@st.composite
def framed_garbage(draw: st.DrawFn) -> bytes:
    """Well-framed messages with random headers and bodies: gets past the framing."""
    content_type = draw(
        st.sampled_from(
            [
                b"text/event-plain",
                b"text/event-json",
                b"command/reply",
                b"api/response",
                b"text/disconnect-notice",
                b"auth/request",
                b"x/y",
            ]
        )
    )
    body = draw(garbage)
    headers = draw(garbage.filter(lambda g: b"\n\n" not in g and b"\r\n\r\n" not in g))
    return (
        b"Content-Type: "
        + content_type
        + b"\n"
        + headers.replace(b"\n\n", b"\n")
        + b"\nContent-Length: %d\n\n" % len(body)
        + body
    )


_READABLE = re.compile(r"^[\x20-\x7e]{5,300}$")


def touch(message: Message) -> None:
    """Every view a consumer may read; none may raise on any input."""
    headers = getattr(message, "headers", None)
    if headers is not None:
        headers.items()
        headers.keys()
        headers.to_dict()
        len(headers)
        repr(headers)
        for name in ("Event-Name", "Content-Length", "DTMF-Digit", "x"):
            headers.get(name)
            headers.get_all(name)
            _ = name in headers
    if isinstance(message, Event):
        _ = (message.name, message.unique_id, message.subclass, message.sequence)
        _ = (message.channel_name, message.variable("x"), message.text)
        if isinstance(message, Dtmf):
            _ = (message.digit, message.duration, message.source)
        if isinstance(message, ApplicationEvent):
            _ = (message.application, message.application_data, message.application_uuid)
        if isinstance(message, ChannelExecuteComplete):
            _ = message.application_response
        if isinstance(message, ChannelHangup):
            _ = message.hangup_cause
        if isinstance(message, BackgroundJob):
            _ = (message.job_uuid, message.job_command, message.ok)
    elif isinstance(message, CommandReply):
        _ = (message.reply_text, message.ok, message.job_uuid)
        data = ChannelData(message.headers.reinterpret(encoded=True))
        _ = (data.reply_text, data.ok, data.unique_id, data.socket_mode, data.control)
    elif isinstance(message, ApiResponse):
        _ = (message.text, message.ok)
    elif isinstance(message, DisconnectNotice):
        _ = (message.disposition, message.linger_time, message.closing)
        _ = message.controlled_session_uuid
    elif isinstance(message, UnknownMessage):
        _ = message.content_type
    repr(message)


def assert_readable(error: RemoteProtocolError | None) -> None:
    if error is not None:
        assert _READABLE.match(str(error)), repr(str(error))


def feed_garbage(data: bytes, cuts: list[int]) -> None:
    parser = FrameParser(**LIMITS)
    bound = LIMITS["max_header_bytes"] + LIMITS["max_content_length"]
    error = None
    try:
        for chunk in split(data, cuts):
            parser.feed(chunk)
            assert parser.buffered <= bound + len(chunk)
            while (message := parser.next_message()) is not None:
                touch(message)
            assert parser.buffered <= bound
        parser.feed_eof()
        assert parser.next_message() is None
    except RemoteProtocolError as exc:
        error = exc
    assert_readable(error)


@SETTINGS
@given(garbage, st.lists(st.integers(0, 10**6), max_size=10))
def test_garbage_only_raises_protocol_errors(data: bytes, cuts: list[int]) -> None:
    feed_garbage(data, cuts)


@SETTINGS
@given(
    st.lists(framed_garbage(), min_size=1, max_size=4), st.lists(st.integers(0, 10**6), max_size=10)
)
def test_framed_garbage_only_raises_protocol_errors(data: list[bytes], cuts: list[int]) -> None:
    feed_garbage(b"".join(data), cuts)


def real_frames() -> list[bytes]:
    if not CORPUS.is_dir():
        return []
    captures = corpus_captures()
    picked = [frames(c.received) for c in captures[:: max(1, len(captures) // 12)]]
    return [f for fs in picked for f in fs[:4]]


REAL = real_frames()


@pytest.mark.skipif(not REAL, reason="real FreeSWITCH captures not found beside the checkout")
@SETTINGS
@given(
    st.sampled_from(REAL or [b""]),
    st.lists(
        st.tuples(st.integers(0, 10**6), st.integers(0, 8), st.sampled_from(FRAGMENTS)),
        min_size=1,
        max_size=6,
    ),
    st.lists(st.integers(0, 10**6), max_size=10),
)
def test_mutated_real_frames_only_raise_protocol_errors(
    frame: bytes, edits: list[tuple[int, int, bytes]], cuts: list[int]
) -> None:
    data = bytearray(frame)
    for at, delete, insert in edits:
        at %= len(data) + 1
        data[at : at + delete] = insert
    # Real frames are bigger than the garbage limits: parse with the defaults.
    parser = FrameParser()
    error = None
    try:
        for chunk in split(bytes(data), cuts):
            parser.feed(chunk)
            while (message := parser.next_message()) is not None:
                touch(message)
    except RemoteProtocolError as exc:
        error = exc
    assert_readable(error)


@pytest.mark.parametrize(
    "data",
    [
        b"Content-Type: api/response\nContent-Length: 1e3\n\n",
        b"Content-Type: api/response\nContent-Length: \xff\xfe\n\n",
        b"Content-Type: text/event-json\nContent-Length: 2\n\n[]",
        b"Content-Type: text/event-json\nContent-Length: 3\n\n\xff{}",
        b"Reply-Text: +OK\n\n",
        b"X: " + b"\x00" * 300,
    ],
)
def test_errors_are_readable(data: bytes) -> None:
    parser = FrameParser(**LIMITS)
    parser.feed(data)
    with pytest.raises(RemoteProtocolError) as error:
        drain(parser)
    assert_readable(error.value)


def drain(parser: FrameParser) -> None:
    while parser.next_message() is not None:
        pass


# -- a plain event's headers, read lazily, against a model read line by line -----------------

NAMES = ["Event-Name", "event-NAME", "Unique-ID", "unique-id", "Content-Length", "CONTENT-length"]
NAMES += ["A", "a", "B", "Content-Length "]


def model_event(data: bytes) -> tuple[list[tuple[str, bytes]], bytes | None]:
    """The rule EventHeaders follows, read line by line: every line is a header
    until a blank line that comes after a Content-Length header; what follows that
    blank line is the event's body, cut to the first Content-Length."""
    items: list[tuple[str, bytes]] = []
    lines = data.split(b"\n")
    body = None
    for index, line in enumerate(lines):
        if line in (b"", b"\r") and any(n.lower() == "content-length" for n, _ in items):
            rest = b"\n".join(lines[index + 1 :])
            if rest:
                announced = next(v for n, v in items if n.lower() == "content-length").strip()
                body = rest[: int(announced)] if announced.isdigit() else rest
            break
        name, colon, value = line.partition(b":")
        if colon and name:
            value = value.lstrip(b" ")
            if value.endswith(b"\r"):
                value = value[:-1]
            items.append((name.decode("latin-1"), unquote_to_bytes(value)))
    return items, body


@st.composite
def event_bodies(draw: st.DrawFn) -> bytes:
    value = st.text(alphabet="ab1 %:\r", max_size=6).map(str.encode)
    line = st.one_of(
        st.tuples(st.sampled_from(NAMES), value).map(lambda nv: nv[0].encode() + b": " + nv[1]),
        st.sampled_from([b"", b"\r", b"Content-Length: 3", b"content-length: 0", b"x"]),
    )
    lines = draw(st.lists(line, max_size=10))
    return b"\n".join(lines) + draw(st.sampled_from([b"", b"\n", b"\n\n", b"\r\n\r\n"]))


@SETTINGS
@given(event_bodies())
@example(b"Content-Length: 3\n\r\n\n")  # a CRLF blank line just before an LF one
@example(b"Event-Name: \r\r\n\r\n")
def test_event_headers_read_lazily_agree_with_a_line_by_line_model(data: bytes) -> None:
    from paymentd.esl.messages import event_from_plain

    items, body = model_event(data)
    event = event_from_plain(data)
    # Ask in a random-enough order: single lookups first, so nothing is found eagerly.
    for name in NAMES:
        expected = next((v for n, v in items if n.lower() == name.lower()), None)
        assert event.headers.get_bytes(name) == expected, name
        assert event.headers.get_all_bytes(name) == [
            v for n, v in items if n.lower() == name.lower()
        ]
    assert event.headers.items_bytes() == items
    assert event.body == body
