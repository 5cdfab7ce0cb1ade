"""The compiled accelerator against the pure-Python reference: the same answers, always.

Each input is parsed and read twice in this process, once with the compiled methods
and once with the pure-Python ones they replace (``_accel.use_compiled``), and
everything a caller can observe must be equal: message types, header values, raw
blocks, bodies, errors and the parser's state.  Inputs are random and adversarial
(case variants, CRLF, blank lines, Content-Length lines, inner bodies, truncated
and oversized frames, odd bytes) and the real captures, split at every offset.

Skipped when the accelerator is not built or ``PAYMENTD_PURE_PYTHON`` is set; the
rest of the suite runs on whichever code is in use.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from paymentd.esl import (
    ApiResponse,
    BackgroundJob,
    CommandReply,
    DisconnectNotice,
    Event,
    FrameParser,
    Headers,
    Message,
    RemoteProtocolError,
    UnknownMessage,
    WireHeaders,
    _accel,
)
from paymentd.esl.headers import EventHeaders

from .captures import corpus_captures, transcript_captures
from .test_corpus_replay import SAMPLE

pytestmark = pytest.mark.skipif(
    _accel.speedups is None,
    reason="the compiled accelerator is not built, or PAYMENTD_PURE_PYTHON is set",
)

SETTINGS = settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@contextmanager
def compiled(on: bool) -> Iterator[None]:
    _accel.use_compiled(on)
    try:
        yield
    finally:
        _accel.use_compiled(True)


def both(run: Callable[[], object]) -> None:
    """``run`` with the pure-Python methods, then compiled: the results must be equal."""
    with compiled(False):
        pure = run()
    with compiled(True):
        fast = run()
    assert fast == pure


# Names looked up: what paymentd reads, the block-end header, names in other cases,
# non-ASCII and impossible names (a colon, a newline, beyond latin-1, empty).
LOOKUPS = [
    "Event-Name",
    "event-name",
    "Unique-ID",
    "UNIQUE-ID",
    "DTMF-Digit",
    "Application-UUID",
    "Application-Response",
    "Hangup-Cause",
    "Job-UUID",
    "Content-Length",
    "content-type",
    "Reply-Text",
    "A",
    "a",
    "Ä-x",
    "ä-x",
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ@[`{",
    "abcdefghijklmnopqrstuvwxyz@[`{",
    "abcdefghijklmnopqrstuvwxyz`{@[",
    "X:y",
    "X\ny",
    "€",
    "",
]


def read_headers(
    headers: Headers, order: list[int] | None = None, extra: tuple[str, ...] = ()
) -> list[object]:
    """Everything the headers answer, in ``order`` (the block's end is found by the first)."""
    reads: list[Callable[[], object]] = [
        *(
            (lambda n=n: (headers.get(n), headers.get(n, "-"), headers.get_bytes(n)))
            for n in (*LOOKUPS, *extra)
        ),
        *((lambda n=n: (headers.get_all(n), n in headers)) for n in (*LOOKUPS[::3], *extra)),
        lambda: headers.items(),
        lambda: len(headers),
    ]
    if isinstance(headers, WireHeaders):
        reads.append(lambda: headers.raw)
    if isinstance(headers, EventHeaders):
        reads.append(lambda: headers.inner_body())
    out: list[object] = []
    for i in order if order is not None else range(len(reads)):
        try:
            out.append(reads[i % len(reads)]())
        except Exception as exc:  # an error must be the same error
            out.append((type(exc).__name__, str(exc)))
    return out


def observe(message: Message, full: bool = True) -> tuple[object, ...]:
    kind = type(message).__name__
    headers_kind = type(message.headers).__name__ if hasattr(message, "headers") else None
    if isinstance(message, Event):
        head = (kind, headers_kind, message.name, message.unique_id, message.body)
        if isinstance(message, BackgroundJob):
            head += (message.job_uuid, message.ok)
    elif isinstance(message, CommandReply):
        head = (kind, message.reply_text, message.job_uuid)
    elif isinstance(message, ApiResponse | UnknownMessage):
        head = (kind, message.body)
    elif isinstance(message, DisconnectNotice):
        head = (kind, message.disposition, message.body)
    else:
        head = (kind,)
    headers = getattr(message, "headers", None)
    if headers is None or not full:
        return head
    return (*head, *read_headers(headers))


def parse(
    chunks: list[bytes],
    full: bool = True,
    max_header: int | None = None,
    max_body: int | None = None,
) -> list[object]:
    limits = {}
    if max_header is not None:
        limits["max_header_bytes"] = max_header
    if max_body is not None:
        limits["max_content_length"] = max_body
    parser = FrameParser(**limits)
    out: list[object] = []
    try:
        for chunk in chunks:
            parser.feed(chunk)
            while (message := parser.next_message()) is not None:
                out.append(observe(message, full))
            out.append((parser.buffered, parser.in_message))
    except RemoteProtocolError as exc:
        out.append(("error", str(exc)))
    return out


# --- random and adversarial input ----------------------------------------------------

NAMES = [
    "Event-Name",
    "Unique-ID",
    "DTMF-Digit",
    "Content-Length",
    "Content-Type",
    "Job-UUID",
    "Reply-Text",
    "Application-Response",
    "A",
    "Ä-x",
    "X",
    "AbcdefghijklmnopqrstuvwxyZ@[`{",
]
EVENT_NAMES = [
    "DTMF",
    "CHANNEL_EXECUTE_COMPLETE",
    "CHANNEL_HANGUP",
    "BACKGROUND_JOB",
    "CUSTOM",
    "A" * 64,
    "B" * 65,
    "X%41",
    "two words",
    "",
]
# Bytes values are made of: escapes good and bad, spaces, CR, colons, non-UTF-8.
VALUE_PARTS = [b"a", b"Z", b"0", b"%", b"%4", b"%41", b"%e9", b"%zz", b"%%", b" ", b"\r", b":"]
VALUE_BYTES = st.lists(
    st.sampled_from([*VALUE_PARTS, b"+", b"\xc3\xa9", b"\xff", b"\xc4", b"-", b"_", b"\t"]),
    max_size=12,
).map(b"".join)


# Any name a line can carry, ASCII letters and their neighbours ("@[`{") likely.
ANY_NAME = st.text(
    st.one_of(
        st.sampled_from("AZaz@[`{-_0Ää"),
        st.characters(min_codepoint=32, max_codepoint=255, exclude_characters=":\r\n"),
    ),
    min_size=1,
    max_size=6,
)


def swap(c: str) -> str:
    """The other case of an ASCII letter (the only ones a name's case may change)."""
    return c.swapcase() if c.isascii() else c


@st.composite
def names(draw: st.DrawFn) -> bytes:
    name = draw(st.one_of(st.sampled_from(NAMES), ANY_NAME))
    flips = draw(st.lists(st.booleans(), min_size=len(name), max_size=len(name)))
    return "".join(swap(c) if f else c for c, f in zip(name, flips, strict=True)).encode("latin-1")


@st.composite
def lines(draw: st.DrawFn) -> bytes:
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return b""  # a blank line
    if kind == 1:
        return draw(VALUE_BYTES)  # no name, or no colon
    if kind == 2:
        return b"Content-Length: " + str(draw(st.integers(0, 40))).encode()
    sep = draw(st.sampled_from([b": ", b":", b":  ", b" : "]))
    return draw(names()) + sep + draw(VALUE_BYTES)


@st.composite
def blocks_and_names(draw: st.DrawFn, eol: bytes = b"\n") -> tuple[bytes, tuple[str, ...]]:
    """A block, and names to look up: some of its own in other cases, some random."""
    block_lines = draw(st.lists(lines(), max_size=8))
    own = [line.split(b":", 1)[0].decode("latin-1") for line in block_lines if b":" in line]
    picked = draw(st.lists(st.sampled_from(own), max_size=3)) if own else []
    swapped = tuple("".join(map(swap, n)) if draw(st.booleans()) else n for n in picked)
    return eol.join(block_lines), swapped + tuple(draw(st.lists(ANY_NAME, max_size=2)))


@st.composite
def event_bodies(draw: st.DrawFn) -> bytes:
    eol = draw(st.sampled_from([b"\n", b"\r\n"]))
    first = []
    if draw(st.booleans()):
        name = draw(st.sampled_from(EVENT_NAMES)).encode()
        first = [draw(st.sampled_from([b"Event-Name: ", b"event-name: ", b"Event-Name:  "])) + name]
    body = eol.join(first + draw(st.lists(lines(), max_size=10)))
    if draw(st.booleans()):
        body += eol
    if draw(st.booleans()):  # an inner body, announced or not
        inner = draw(st.binary(max_size=30))
        announced = len(inner) + draw(st.sampled_from([0, 0, 0, -3, 5]))
        body += b"Content-Length: %d" % announced + eol + eol + inner
    return body


@st.composite
def frames(draw: st.DrawFn) -> bytes:
    kind = draw(st.integers(0, 9))
    if kind <= 5:
        body = draw(event_bodies())
        length = len(body) + draw(st.sampled_from([0, 0, 0, 0, -1, -7, 2, 100]))
        length = max(length, 0)
        head = draw(
            st.sampled_from(
                [
                    b"Content-Length: %d\nContent-Type: text/event-plain\n\n",
                    b"Content-Length: %d\r\nContent-Type: text/event-plain\r\n\r\n",
                    b"content-length: %d\nContent-Type: text/event-plain\n\n",
                    b"Content-Length: %d\nContent-Type: TEXT/event-plain\n\n",
                    b"Content-Length: 0%d\nContent-Type: text/event-plain\n\n",
                    b"Content-Length:  %d\nContent-Type: text/event-plain\n\n",
                    b"Content-Length: %d\nContent-Type: text/event-plain\nX: y\n\n",
                    b"Content-Type: text/event-plain\nContent-Length: %d\n\n",
                ]
            )
        )
        return head % length + body
    if kind == 6:
        reply = draw(VALUE_BYTES)
        return b"Content-Type: command/reply\nReply-Text: " + reply + b"\n\n"
    if kind == 7:
        body = draw(st.binary(max_size=20))
        return b"Content-Type: api/response\nContent-Length: %d\n\n" % len(body) + body
    if kind == 8:
        return draw(st.sampled_from([b"\n", b"\r\n", b"\n\n", b"Content-Length: 99999999999999\n"]))
    return draw(st.binary(max_size=40))  # garbage


@st.composite
def streams(draw: st.DrawFn) -> list[bytes]:
    data = b"".join(draw(st.lists(frames(), min_size=1, max_size=5)))
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=6)))
    bounds = [0, *cuts, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds) if b > a]


@SETTINGS
@given(
    streams(),
    st.sampled_from([None, None, None, 64]),
    st.sampled_from([None, None, None, 10, 60]),
)
@example([b"Content-Length: 17\nContent-Type: text/event-plain\n\nEvent-Name: DTMF\n"], None, None)
@example([b"Content-Length: 16\nContent-Type: text/event-plain\n\nEvent-Name: DTMF"], None, None)
@example([b"Content-Length: 16\nContent-Type: text/event-plain\n\nEvent-Name: DTMF\n"], None, None)
@example([b"Content-Length: 1234567890123\nContent-Type: text/event-plain\n\n"], None, None)
def test_random_streams_parse_alike(
    chunks: list[bytes], max_header: int | None, max_body: int | None
) -> None:
    both(lambda: parse(chunks, True, max_header, max_body))


@SETTINGS
@given(
    event_bodies(),
    blocks_and_names(),
    st.sampled_from([b"", b"\n", b"\r\n"]),
    st.lists(st.integers(0, 200), max_size=40),
)
@example(b"Content-Length: 3\r\n\r\nabc", (b"", ()), b"", [])
@example(b"A: 1\ncontent-LENGTH: 2\n\nA: 2\nxy", (b"", ()), b"", [])
@example(b"Event-Name: X\nContent-Length: 1\n\n\r\nZ", (b"", ()), b"", [])
def test_event_headers_read_alike(
    body: bytes, more: tuple[bytes, tuple[str, ...]], join: bytes, order: list[int]
) -> None:
    """Each read may come first: the block's end is found by whichever does."""
    data = more[0] + join + body
    both(lambda: read_headers(EventHeaders(data), order or None, more[1]))


@SETTINGS
@given(
    blocks_and_names(),
    st.booleans(),
    st.integers(0, 60),
    st.lists(st.integers(0, 200), max_size=20),
)
@example((b"A: 1\nB: 2", ("b",)), True, 4, [])
@example((b"A:", ("a",)), True, 2, [])
def test_wire_headers_read_alike(
    block_and_names: tuple[bytes, tuple[str, ...]], encoded: bool, end: int, order: list[int]
) -> None:
    block, extra = block_and_names
    end = min(end, len(block))
    both(lambda: read_headers(WireHeaders(block, encoded, end), order or None, extra))
    both(lambda: read_headers(WireHeaders(block, encoded), order or None, extra))


# --- the real captures ---------------------------------------------------------------

CAPTURES = corpus_captures() + transcript_captures()


@pytest.mark.skipif(not CAPTURES, reason="real captures not found")
def test_real_captures_read_alike_in_random_reads() -> None:
    for capture in CAPTURES:
        stream = capture.received
        rng = random.Random(capture.name)
        for chunks in (capture.recv_chunks, [stream], random_chunks(stream, rng)):
            both(lambda chunks=chunks: parse(chunks))


def random_chunks(data: bytes, rng: random.Random) -> list[bytes]:
    chunks, pos = [], 0
    while pos < len(data):
        size = rng.choice((rng.randint(1, 8), rng.randint(1, 300), rng.randint(1, 9000)))
        chunks.append(data[pos : pos + size])
        pos += size
    return chunks


@pytest.mark.parametrize(("label", "previous", "frame"), SAMPLE, ids=[s[0] for s in SAMPLE])
def test_every_split_of_a_real_frame_reads_alike(label: str, previous: bytes, frame: bytes) -> None:
    """One of each kind of real message, after the frame before it, split at every offset
    (the full reads at a sample of offsets, the message's own at every one)."""
    for split in range(len(frame) + 1):
        full = split % 97 == 0
        chunks = [previous + frame[:split], frame[split:]]
        both(lambda chunks=chunks, full=full: parse(chunks, full))


def test_the_switch_is_real() -> None:
    """The two runs above differ in the code they run, not only in name."""
    assert _accel.compiled()
    assert FrameParser.__dict__["next_message"] is _accel.speedups.next_message  # type: ignore[union-attr]
    with compiled(False):
        assert not _accel.compiled()
        assert isinstance(FrameParser.__dict__["next_message"], type(test_the_switch_is_real))
    assert _accel.compiled()
