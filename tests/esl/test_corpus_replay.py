"""Replay every real FreeSWITCH capture through the parser and the connection, at every split point.

What FreeSWITCH sent is fed in its real read boundaries, one byte at a time
(every boundary at once: the parser keeps its scan position, so this stays
linear), in seeded random chunkings, and, for a sample of frames, split in two at
every offset.  The messages must come out the same every time, and match the
recorder's own summary of the capture.  What the recorder sent must parse as
commands our serializer reproduces byte for byte.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable

import pytest

from paymentd.esl import (
    Api,
    ApiResponse,
    Auth,
    BgApi,
    ChannelData,
    Closed,
    Command,
    Connect,
    Connection,
    DisconnectNotice,
    DivertEvents,
    Dtmf,
    Event,
    Events,
    Execute,
    Exit,
    Filter,
    FilterDelete,
    FrameParser,
    GetVar,
    Hangup,
    Linger,
    LocalProtocolError,
    Message,
    MyEvents,
    NixEvent,
    NoEvents,
    NoLinger,
    Reply,
    Resume,
    Role,
    SendEvent,
    SendMsg,
    State,
)

from .captures import (
    CORPUS,
    SHARED_ESL,
    Capture,
    CommandReader,
    SentCommand,
    corpus_captures,
    fingerprint,
    frames,
    render,
    transcript_captures,
)

if not CORPUS.is_dir():
    pytest.skip(
        f"real FreeSWITCH captures not found at {SHARED_ESL} (expected beside the checkout)",
        allow_module_level=True,
    )

CORPUS_CAPTURES = corpus_captures()
TRANSCRIPTS = transcript_captures()
ALL_CAPTURES = CORPUS_CAPTURES + TRANSCRIPTS


def ids(captures: Iterable[Capture]) -> list[str]:
    return [c.name for c in captures]


def identity(message: Message) -> tuple[object, ...]:
    """What the parser produced, cheaply: type, the header block as received, the body."""
    headers = getattr(message, "headers", None)
    raw = getattr(headers, "raw", None)
    block = raw if raw is not None else tuple(headers.items_bytes()) if headers else ()
    return (type(message).__name__, block, getattr(message, "body", None))


def parse_chunks(chunks: Iterable[bytes]) -> list[Message]:
    parser = FrameParser()
    out: list[Message] = []
    for chunk in chunks:
        parser.feed(chunk)
        while (message := parser.next_message()) is not None:
            out.append(message)
    parser.feed_eof()
    assert parser.next_message() is None
    assert not parser.in_message, "bytes left over after the last message"
    return out


def test_corpus_is_complete() -> None:
    # 40 scenarios, 158 connections; a missing file would silently shrink every test below.
    assert len(CORPUS_CAPTURES) == 158
    assert len(TRANSCRIPTS) == 3
    assert sum(len(c.expected) for c in CORPUS_CAPTURES) == 3433


# --- FreeSWITCH -> us -----------------------------------------------------------------


@pytest.mark.parametrize("capture", CORPUS_CAPTURES, ids=ids(CORPUS_CAPTURES))
def test_real_reads_match_the_summary(capture: Capture) -> None:
    messages = parse_chunks(capture.recv_chunks)
    assert [render(m) for m in messages] == capture.expected


@pytest.mark.parametrize("capture", TRANSCRIPTS, ids=ids(TRANSCRIPTS))
def test_transcript_events_match_the_summary(capture: Capture) -> None:
    messages = parse_chunks(capture.recv_chunks)
    kinds = [kind(m) for m in messages]
    expected = capture.expected
    # The recorder listed events and only the replies it did not wait for.
    assert [k for k in kinds if k != "<command/reply>"] == [
        k for k in expected if k != "<command/reply>"
    ]
    remaining = iter(kinds)
    assert all(k in remaining for k in expected), "summary is not a subsequence of the stream"
    summary = capture.findings
    connect_reply = messages[0]
    assert render(connect_reply).endswith("(connect reply, 103 headers)")
    data = ChannelData(connect_reply.headers.reinterpret(encoded=True))  # type: ignore[union-attr]
    assert data.unique_id == summary["uuid"]
    assert data.channel_name == summary["channel"]
    assert data.variable("other_loopback_leg_uuid") == summary["other_leg_uuid"]
    assert data.destination_number == summary["caller_dest"]
    assert [m.digit for m in messages if isinstance(m, Dtmf)] == summary["dtmf"]


def kind(message: Message) -> str:
    if isinstance(message, Event):
        return message.name
    if isinstance(message, DisconnectNotice):
        return "<text/disconnect-notice>"
    return "<command/reply>"


def frame_ends(stream: bytes) -> list[int]:
    ends = []
    pos = 0
    for frame in frames(stream):
        pos += len(frame)
        ends.append(pos)
    return ends


@pytest.mark.parametrize("capture", ALL_CAPTURES, ids=ids(ALL_CAPTURES))
def test_byte_at_a_time(capture: Capture) -> None:
    """Every split point at once: each message appears exactly when its last byte arrives."""
    stream = capture.received
    reference = [identity(m) for m in parse_chunks([stream])]
    parser = FrameParser()
    got = []
    emitted_at = []
    for offset in range(len(stream)):
        parser.feed(stream[offset : offset + 1])
        while (message := parser.next_message()) is not None:
            got.append(identity(message))
            emitted_at.append(offset + 1)
    assert got == reference
    assert emitted_at == frame_ends(stream)


def random_chunks(data: bytes, rng: random.Random) -> list[bytes]:
    """Chunk sizes from one byte to several frames, as TCP may deliver them."""
    chunks = []
    pos = 0
    while pos < len(data):
        size = rng.choice((rng.randint(1, 8), rng.randint(1, 300), rng.randint(1, 9000)))
        chunks.append(data[pos : pos + size])
        pos += size
    return chunks


@pytest.mark.parametrize("capture", ALL_CAPTURES, ids=ids(ALL_CAPTURES))
def test_random_chunkings(capture: Capture) -> None:
    stream = capture.received
    reference = [identity(m) for m in parse_chunks(capture.recv_chunks)]
    for seed in range(3):
        rng = random.Random(f"{capture.name}:{seed}")
        got = [identity(m) for m in parse_chunks(random_chunks(stream, rng))]
        assert got == reference, f"seed {seed}"


def sample_frames() -> list[tuple[str, bytes, bytes]]:
    """(label, the frame before it, the frame): one of each kind of message seen, and the largest.

    A kind is what the parser treats differently: message class, header encoding,
    disposition, the connect reply, an event without Event-Name.
    """
    seen: dict[str, tuple[str, bytes, bytes]] = {}
    largest = ("", b"", b"")
    for capture in ALL_CAPTURES:
        previous = b""
        for frame in frames(capture.received):
            message = parse_chunks([frame])[0]
            key = type(message).__name__
            if isinstance(message, Event):
                key += f":{type(message.headers).__name__}" + ("" if message.name else ":nameless")
            elif isinstance(message, DisconnectNotice):
                key += f":{message.disposition}"
            elif "connect reply" in render(message):
                key += ":connect"
            seen.setdefault(key, (f"{capture.name}:{key}", previous, frame))
            if len(frame) > len(largest[2]):
                largest = (f"{capture.name}:largest", previous, frame)
            previous = frame
    return [*seen.values(), largest]


SAMPLE = sample_frames()


def test_the_sample_covers_every_kind_of_message() -> None:
    kinds = {label.split(":", 1)[1] for label, _, _ in SAMPLE}
    assert kinds >= {
        "Dtmf:EventHeaders",
        "Dtmf:MappingHeaders",
        "ChannelExecute:EventHeaders",
        "ChannelExecuteComplete:EventHeaders",
        "ChannelHangupComplete:EventHeaders",
        "BackgroundJob:EventHeaders",
        "Event:EventHeaders:nameless",
        "DisconnectNotice:linger",
        "DisconnectNotice:disconnect",
        "DisconnectNotice:None",
        "AuthRequest",
        "ApiResponse",
        "CommandReply",
        "CommandReply:connect",
        "largest",
    }


@pytest.mark.parametrize(("label", "previous", "frame"), SAMPLE, ids=[s[0] for s in SAMPLE])
def test_every_two_chunk_split(label: str, previous: bytes, frame: bytes) -> None:
    """The frame split at every offset, after a whole frame the parser has already consumed."""
    reference = identity(parse_chunks([frame])[0])
    for split in range(1, len(frame)):
        parser = FrameParser()
        parser.feed(previous + frame[:split])
        if previous:
            assert parser.next_message() is not None
        assert parser.next_message() is None, f"message before its end (split {split})"
        parser.feed(frame[split:])
        message = parser.next_message()
        assert message is not None, f"no message after its last byte (split {split})"
        assert identity(message) == reference, f"split {split}"
        assert parser.next_message() is None
        assert parser.buffered == 0


@pytest.mark.parametrize("capture", CORPUS_CAPTURES[:40], ids=ids(CORPUS_CAPTURES[:40]))
def test_full_decode_does_not_depend_on_the_reads(capture: Capture) -> None:
    whole = [fingerprint(m) for m in parse_chunks([capture.received])]
    as_read = [fingerprint(m) for m in parse_chunks(capture.recv_chunks)]
    assert whole == as_read


# --- us -> FreeSWITCH -------------------------------------------------------------------

# Commands the recorder sent on purpose to see FreeSWITCH's error replies: our
# serializer refuses to write these (no name, no value, a header line without a colon).
DELIBERATELY_MALFORMED = {
    "foobar",
    "nolog",
    "getvar",
    "event",
    "divert_events",
    "divert_events maybe",
    "sendmsg {call-command execute; execute-app-name playback}",
}


def describe(sent: SentCommand) -> str:
    if not sent.headers:
        return sent.line
    inner = "; ".join(f"{k}: {v}" if v else k for k, v in sent.headers)
    return f"{sent.line} {{{inner}}}"


def typed_command(sent: SentCommand) -> Command | None:
    """The typed command whose bytes are exactly what the recorder sent, or None."""
    for candidate in _candidates(sent):
        try:
            if candidate.encode() == sent.raw:
                return candidate
        except LocalProtocolError:
            continue
    return None


def _candidates(sent: SentCommand) -> Iterable[Command]:
    verb, _, rest = sent.line.partition(" ")
    words = rest.split(" ") if rest else []
    headers = tuple((k, v) for k, v in sent.headers if k.lower() != "content-length")
    body = sent.body
    simple: dict[str, Command] = {
        "connect": Connect(),
        "nolinger": NoLinger(),
        "exit": Exit(),
        "resume": Resume(),
        "noevents": NoEvents(),
    }
    if not rest and verb in simple:
        yield simple[verb]
    if verb == "linger":
        yield Linger(int(rest)) if rest.isdigit() else Linger()
    if verb == "myevents":
        if len(words) == 2:
            yield MyEvents(format=words[1], uuid=words[0])
        elif words:
            yield MyEvents(format=words[0])
        else:
            yield MyEvents()
    if verb == "divert_events" and rest in ("on", "off"):
        yield DivertEvents(rest == "on")
    if verb == "event" and len(words) >= 2:
        yield Events(tuple(words[1:]), format=words[0])
    if verb == "nixevent":
        yield NixEvent(tuple(words))
    if verb == "filter" and words[:1] == ["delete"]:
        yield FilterDelete(words[1], " ".join(words[2:]) or None)
    elif verb == "filter" and len(words) >= 2:
        yield Filter(words[0], " ".join(words[1:]))
    if verb == "auth":
        yield Auth(rest)
    if verb == "api":
        yield Api(rest)
    if verb == "bgapi":
        job = dict(headers).get("Job-UUID")
        yield BgApi(rest, job_uuid=job)
    if verb == "getvar" and rest:
        yield GetVar(rest)
    if verb == "sendevent":
        yield SendEvent(rest, headers, body)
    if verb == "sendmsg":
        uuid = rest or None
        values = dict(headers)
        if values.get("call-command") == "hangup" and "hangup-cause" in values:
            yield Hangup(values["hangup-cause"], uuid=uuid)
        if values.get("call-command") == "execute" and "execute-app-name" in values:
            yield Execute(
                values["execute-app-name"],
                arg=None if body is None else body.decode(),
                event_uuid=values.get("Event-UUID"),
                event_lock=values.get("event-lock") == "true",
                uuid=uuid,
            )
        yield SendMsg(headers, body, uuid)


def sent_commands(capture: Capture) -> list[SentCommand]:
    reader = CommandReader()
    out: list[SentCommand] = []
    for direction, data in capture.chunks:
        if direction == "send":
            out.extend(reader.feed(data))
    return out


# The one capture whose commands include one FreeSWITCH rejects by closing the socket.
NEGATIVE_CONTENT_LENGTH = "corpus/10_inbound_errors.inb_badlen"


@pytest.mark.parametrize("capture", ALL_CAPTURES, ids=ids(ALL_CAPTURES))
def test_sent_bytes_are_commands_our_serializer_writes(capture: Capture) -> None:
    tx_bin = capture.path.with_name(capture.path.name.removesuffix(".jsonl") + ".tx.bin")
    if tx_bin.exists():
        assert tx_bin.read_bytes() == capture.sent
    commands = sent_commands(capture)
    assert b"".join(c.raw for c in commands).replace(b"\n", b"") == capture.sent.replace(
        b"\n", b""
    ), "bytes the command reader did not account for"
    invalid = [c for c in commands if not c.valid]
    if capture.name == NEGATIVE_CONTENT_LENGTH:
        assert invalid == commands[-1:]
        assert dict(invalid[0].headers)["Content-Length"] == "-1"
        commands = commands[:-1]
    else:
        assert not invalid
    for sent in commands:
        if sent.raw == b"myevents\n\n":
            continue  # see test_bare_myevents_is_what_freeswitch_reads_as_plain
        typed = typed_command(sent)
        if typed is None:
            assert describe(sent) in DELIBERATELY_MALFORMED, describe(sent)
        else:
            assert typed.encode() == sent.raw


def test_bare_myevents_is_what_freeswitch_reads_as_plain() -> None:
    # The recorder sent a bare "myevents"; we name the format.  FreeSWITCH defaults
    # to plain and only looks for "xml"/"json" in the line (mod_event_socket.c:
    # strstr(cmd, "json")), so both spell the same command.
    assert MyEvents().encode() == b"myevents plain\n\n"
    assert MyEvents(format="json").encode() == b"myevents json\n\n"


# --- both directions through the connection state machine -------------------------------


class RawCommand(Command):
    """A command the recorder sent that our serializer deliberately cannot write."""

    __slots__ = ("raw",)

    def __init__(self, raw: bytes) -> None:
        self.raw = raw

    def encode(self) -> bytes:
        return self.raw


def as_command(sent: SentCommand, role: Role) -> Command:
    if sent.line == "myevents":
        return MyEvents()
    typed = typed_command(sent) if sent.valid else None
    if isinstance(typed, Connect) and role is Role.INBOUND:
        # The recorder tried connect on an inbound socket (-ERR command not found);
        # our Connection refuses to send it there (see test_connection.py).
        return RawCommand(sent.raw)
    return typed if typed is not None else RawCommand(sent.raw)


def replies_md() -> dict[str, list[tuple[str, str]]]:
    """REPLIES.md: (command, reply) rows per ``corpus/<stem>`` connection."""
    rows: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] = []
    row = re.compile(r"^\| [\d.]+ \| `(.*)` \| `?(.*?)`? \|$")
    for line in (CORPUS / "REPLIES.md").read_text().splitlines():
        heading = re.match(r"^### connection `[^`]+` \((.+)\.txt\)", line)
        if heading:
            current = rows.setdefault(f"corpus/{heading.group(1)}", [])
            continue
        match = row.match(line)
        if match:
            current.append((match.group(1), match.group(2)))
    return rows


REPLIES = replies_md()


def replies_md_rendering(reply: Reply) -> str:
    message = reply.message
    if isinstance(message, ChannelData):
        raw = message.headers.reinterpret(encoded=False)
        tail = " / ".join(f"{k}: {raw.get(k)}" for k in ("Reply-Text", "Socket-Mode", "Control"))
        return f"command/reply (connect: {len(message.headers)} channel-data headers) ... {tail}"
    if isinstance(message, ApiResponse):
        text = f"api/response [{len(message.body)} bytes] {reply.text}"
    else:
        text = f"command/reply Reply-Text: {reply.text}"
        text += f"  (+Job-UUID: {message.job_uuid})" if message.job_uuid else ""
    # REPLIES.md is a markdown table: backslashes, newlines and pipes are escaped.
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace("|", "\\|")


# FreeSWITCH executes but never answers the first command before ``connect``; our
# Connection refuses to send anything but ``connect`` first, so it cannot replay this one.
REFUSED_BY_CONNECTION = "corpus/10_outbound_before_connect"


@pytest.mark.parametrize("capture", ALL_CAPTURES, ids=ids(ALL_CAPTURES))
def test_connection_replay(capture: Capture) -> None:
    """Commands and replies interleaved as they happened; replies reach the right command."""
    role = Role.OUTBOUND if capture.outbound else Role.INBOUND
    conn = Connection(role)
    reader = CommandReader()
    rendered: list[str] = []
    replies: list[Reply] = []
    closed: list[Closed] = []
    for direction, data in capture.chunks:
        if direction == "send":
            for sent in reader.feed(data):
                command = as_command(sent, role)
                if capture.name == REFUSED_BY_CONNECTION and not replies:
                    with pytest.raises(LocalProtocolError, match="must be connect"):
                        conn.send(command)
                    return
                _, wire = conn.send(command)
                assert wire == command.encode()
            continue
        conn.receive_data(data)
        while (incoming := conn.next_event()) is not None:
            if isinstance(incoming, Closed):
                closed.append(incoming)
            elif isinstance(incoming, Reply):
                replies.append(incoming)
                rendered.append(render(incoming.message))
            else:
                rendered.append(render(incoming))
    if capture.name.startswith("transcripts/"):
        assert [r for r in rendered if not r.startswith("command/reply")][-1].startswith(
            "disconnect-notice"
        )
        return
    assert rendered == capture.expected
    assert [r.slot for r in replies] == list(range(len(replies))), "replies out of FIFO order"
    expected_pairs = REPLIES.get(capture.name, [])
    answered = [(c, r) for c, r in expected_pairs if not r.startswith("(no reply")]
    assert len(replies) == len(answered)
    for reply, (command_text, reply_text) in zip(replies, answered, strict=True):
        assert command_text.startswith(describe_command(reply.command)), (command_text, reply)
        assert replies_md_rendering(reply) == reply_text
    assert conn.pending_replies == len(expected_pairs) - len(answered)
    if capture.closed_by_freeswitch:
        assert closed == [Closed(clean=True)]
        assert conn.state is State.CLOSED
    check_findings(conn, replies, capture)


def describe_command(command: Command) -> str:
    """The first line of a command, as REPLIES.md starts its rows."""
    return command.encode().split(b"\n", 1)[0].decode().removesuffix(" plain")


def check_findings(conn: Connection, replies: list[Reply], capture: Capture) -> None:
    connect = capture.findings.get("connect")
    if not isinstance(connect, dict):
        return
    data = conn.channel_data
    assert data is not None
    assert data.unique_id == connect["uuid"]
    assert data.channel_name == connect["channel"]
    assert data.variable("other_loopback_leg_uuid") == connect["a_leg"]
    assert len(data.headers) == connect["connect_reply_header_count"]
    assert data.headers.keys()[-4:] == connect["connect_reply_last_headers"]
    by_command: dict[type[Command], str] = {}
    for reply in replies:
        by_command.setdefault(type(reply.command), reply.text)
    assert by_command[MyEvents] == connect["events_reply"]
    assert by_command.get(Linger, by_command.get(NoLinger)) == connect["linger_reply"]
    if "divert_events_reply" in connect:
        assert by_command[DivertEvents] == connect["divert_events_reply"]
