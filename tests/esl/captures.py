"""Loading the real FreeSWITCH captures and rendering parsed messages like their summaries.

The captures live in ``../shared/esl`` beside the checkout: ``transcripts/`` (three
basic calls) and ``corpus/`` (40 scenarios, several connections each).  Every
connection is a ``.jsonl`` file of socket chunks; ``recv`` chunks are FreeSWITCH
-> recorder, ``send`` chunks the other way, ``b64`` holds the exact bytes.

The corpus summaries list each connection's messages as one line per message,
rendered by the recorder.  :func:`render` reproduces that rendering from our
parsed messages, so a capture replay can compare with it line by line.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from paymentd.esl import (
    ApiResponse,
    AuthRequest,
    ChannelData,
    CommandReply,
    DisconnectNotice,
    Event,
    MappingHeaders,
    Message,
    UnknownMessage,
)

REPO = Path(__file__).resolve().parents[2]
SHARED_ESL = REPO.parent / "shared" / "esl"
CORPUS = SHARED_ESL / "corpus"
TRANSCRIPTS = SHARED_ESL / "transcripts"

_TIME = re.compile(r"^\d+\.\d+ ")


@dataclass
class Capture:
    """One recorded connection."""

    name: str  # e.g. ``corpus/01_basic_linger30.orig``
    path: Path
    role: str  # ``out``, ``orig``, ``ctl``, ``lst_all``, ... (``out`` for transcripts)
    chunks: list[tuple[str, bytes]]  # (``send`` | ``recv`` | ``eof``, bytes)
    expected: list[str]  # the summary's messages, times stripped
    closed_by_freeswitch: bool
    findings: dict[str, object] = field(default_factory=dict)

    @property
    def outbound(self) -> bool:
        """FreeSWITCH connected to the recorder (the dialplan ``socket`` app)."""
        return self.role.startswith("out")

    @property
    def recv_chunks(self) -> list[bytes]:
        return [data for direction, data in self.chunks if direction == "recv"]

    @property
    def received(self) -> bytes:
        return b"".join(self.recv_chunks)

    @property
    def sent(self) -> bytes:
        return b"".join(data for direction, data in self.chunks if direction == "send")


def _chunks(path: Path) -> list[tuple[str, bytes]]:
    chunks: list[tuple[str, bytes]] = []
    for line in path.read_text().splitlines():
        record = json.loads(line)
        direction = record["dir"]
        if direction in ("send", "recv"):
            chunks.append((direction, base64.b64decode(record["b64"])))
        elif direction == "note" and str(record.get("data", "")).startswith("EOF:"):
            chunks.append(("eof", b""))
    return chunks


def corpus_captures() -> list[Capture]:
    """Every connection of every corpus scenario, with its summary's message list."""
    captures = []
    for summary_path in sorted(CORPUS.glob("*.summary.json")):
        scenario = summary_path.name.removesuffix(".summary.json")
        summary = json.loads(summary_path.read_text())
        for connection in summary["connections"]:
            role = connection["role"]
            stem = scenario if role == summary["primary_role"] else f"{scenario}.{role}"
            path = CORPUS / f"{stem}.jsonl"
            captures.append(
                Capture(
                    name=f"corpus/{stem}",
                    path=path,
                    role=role,
                    chunks=_chunks(path),
                    expected=[_TIME.sub("", m, count=1) for m in connection["messages"]],
                    closed_by_freeswitch=connection["closed_by"] == "freeswitch",
                    findings=summary["findings"] if role.startswith("out") else {},
                )
            )
    return captures


def transcript_captures() -> list[Capture]:
    """The three basic calls; their summaries list event names, not full renderings."""
    captures = []
    for path in sorted(TRANSCRIPTS.glob("*.jsonl")):
        summary = json.loads(path.with_suffix(".summary.json").read_text())
        captures.append(
            Capture(
                name=f"transcripts/{path.stem}",
                path=path,
                role="out",
                chunks=_chunks(path),
                expected=summary["events"],
                closed_by_freeswitch=False,
                findings=summary,
            )
        )
    return captures


def all_jsonl_files() -> list[Path]:
    return sorted([*CORPUS.glob("*.jsonl"), *TRANSCRIPTS.glob("*.jsonl")])


def render(message: Message) -> str:
    """One line per message, in the recorder's format (see the corpus ``.summary.json``)."""
    if isinstance(message, ChannelData):
        return (
            f"command/reply Reply-Text={message.reply_text!r} "
            f"(connect reply, {len(message.headers)} headers)"
        )
    if isinstance(message, CommandReply):
        if message.headers.get("Socket-Mode") is not None:
            # The connect reply, met outside a Connection that knows it answered ``connect``.
            return render(ChannelData(message.headers.reinterpret(encoded=True)))
        text = f"command/reply Reply-Text={message.reply_text!r}"
        return text + (f" Job-UUID={message.job_uuid}" if message.job_uuid else "")
    if isinstance(message, ApiResponse):
        return f"api/response {message.text[:200]!r}"
    if isinstance(message, AuthRequest):
        return f"auth/request headers={message.headers.to_dict()!r} body=b''"
    if isinstance(message, DisconnectNotice):
        return (
            f"disconnect-notice disposition={message.disposition} "
            f"headers={message.headers.to_dict()!r} body={message.body.decode()!r}"
        )
    if isinstance(message, UnknownMessage):
        return f"{message.content_type} headers={message.headers.to_dict()!r}"
    return _render_event(message)


def _render_event(event: Event) -> str:
    h = event.headers
    kind = "EVENT(text/event-json)" if isinstance(h, MappingHeaders) else "EVENT"
    text = f"{kind} {event.name or '<NO Event-Name HEADER>'}"
    if event.subclass:
        text += f" subclass={event.subclass}"
    if event.unique_id:
        text += f" uid={event.unique_id[:8]}({h.get('Channel-Name')})"
    name = event.name
    if name in ("CHANNEL_EXECUTE", "CHANNEL_EXECUTE_COMPLETE"):
        text += f" app={h.get('Application')}({h.get('Application-Data')})"
        if h.get("Application-UUID"):
            text += f" app_uuid={h.get('Application-UUID')}"
        if name == "CHANNEL_EXECUTE_COMPLETE":
            text += f" resp={h.get('Application-Response')!r}"
    elif name == "DTMF":
        text += (
            f" digit={h.get('DTMF-Digit')} dur={h.get('DTMF-Duration')} src={h.get('DTMF-Source')}"
        )
    elif name == "CHANNEL_STATE":
        text += f" state={h.get('Channel-State')}"
    elif name in ("CHANNEL_HANGUP", "CHANNEL_HANGUP_COMPLETE"):
        text += f" cause={h.get('Hangup-Cause')}"
    elif name in ("CHANNEL_BRIDGE", "CHANNEL_UNBRIDGE"):
        text += f" other={(h.get('Other-Leg-Unique-ID') or '')[:8]}"
    elif name == "BACKGROUND_JOB":
        text += f" job={h.get('Job-UUID')} cmd={h.get('Job-Command')} body={event.text!r}"
    return text


def fingerprint(message: Message) -> tuple[object, ...]:
    """Everything a message carries, fully decoded: equal fingerprints, equal messages."""
    headers = getattr(message, "headers", None)
    items = tuple(headers.items_bytes()) if headers is not None else ()
    body = getattr(message, "body", None)
    return (type(message).__name__, items, body)


def frames(stream: bytes) -> list[bytes]:
    """A reference splitter: header block up to the first blank line, then Content-Length bytes.

    Independent of the parser under test, so the two can check each other.
    """
    out = []
    pos = 0
    while pos < len(stream):
        end = stream.index(b"\n\n", pos)
        length = 0
        for line in stream[pos:end].split(b"\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        out.append(stream[pos : end + 2 + length])
        pos = end + 2 + length
    return out


@dataclass(frozen=True)
class SentCommand:
    """A command as the recorder wrote it: first line, header lines, optional body, exact bytes."""

    line: str
    headers: tuple[tuple[str, str], ...]
    body: bytes | None
    raw: bytes
    #: False for a Content-Length FreeSWITCH rejects (it then closes the socket).
    valid: bool = True


class CommandReader:
    """Reads commands the way mod_event_socket does: header lines, blank line, Content-Length body.

    Blank lines between commands are skipped.  A negative or non-numeric
    Content-Length is what FreeSWITCH rejects (it closes the socket): such a
    command comes out with ``valid=False`` and nothing after it is read.
    """

    def __init__(self) -> None:
        self._buf = b""

    def feed(self, data: bytes) -> Iterator[SentCommand]:
        self._buf += data
        while True:
            buf = self._buf.lstrip(b"\n")
            end = buf.find(b"\n\n")
            if end < 0:
                self._buf = buf
                return
            lines = buf[:end].decode("utf-8").split("\n")
            headers = []
            length = 0
            for line in lines[1:]:
                name, _, value = line.partition(":")
                value = value.lstrip(" ")
                headers.append((name, value))
                if name.lower() == "content-length":
                    if not value.isdigit():
                        self._buf = b""
                        yield SentCommand(lines[0], tuple(headers), None, buf[: end + 2], False)
                        return
                    length = int(value)
            if len(buf) < end + 2 + length:
                self._buf = buf
                return
            raw = buf[: end + 2 + length]
            self._buf = buf[end + 2 + length :]
            body = raw[end + 2 :] if length else None
            yield SentCommand(lines[0], tuple(headers), body, raw)
