"""Minimal hand-driven ESL peers for edge cases the full simulator is not needed for."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from tests.eslio.replay import load_capture


def real_connect_reply(shared_esl: Path) -> bytes:
    """FreeSWITCH's reply to ``connect`` from a real capture (103 encoded headers)."""
    chunks = load_capture(shared_esl / "transcripts" / "outbound_basic.jsonl")
    return next(data for direction, data in chunks if direction == "recv")


class RawPeer:
    """A connected socket with helpers to read paymentd's commands and write raw bytes."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self._buffer = b""

    @classmethod
    async def open(cls, port: int, host: str = "127.0.0.1") -> RawPeer:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    async def read_command(self, timeout: float = 5) -> bytes:
        """The next command paymentd sent (header block, plus its body if any)."""

        async def more() -> None:
            data = await self.reader.read(65536)
            if not data:
                raise EOFError("paymentd closed the connection")
            self._buffer += data

        async def read() -> bytes:
            while b"\n\n" not in self._buffer:
                await more()
            head, _, self._buffer = self._buffer.partition(b"\n\n")
            match = re.search(rb"content-length: (\d+)", head, re.I)
            if match:
                need = int(match.group(1))
                while len(self._buffer) < need:
                    await more()
                head += b"\n\n" + self._buffer[:need]
                self._buffer = self._buffer[need:]
            return head

        return await asyncio.wait_for(read(), timeout)

    def send(self, data: bytes) -> None:
        self.writer.write(data)

    def reply(self, text: str) -> None:
        self.send(f"Content-Type: command/reply\nReply-Text: {text}\n\n".encode())

    async def closed_by_peer(self, timeout: float = 5) -> bool:
        """True once paymentd has closed its side (EOF)."""
        try:
            while True:
                data = await asyncio.wait_for(self.reader.read(65536), timeout)
                if not data:
                    return True
                self._buffer += data
        except TimeoutError:
            return False

    def close(self) -> None:
        self.writer.close()


def event(name: str, uuid: str, **headers: str) -> bytes:
    """A plain event as FreeSWITCH frames it (values here need no percent-encoding)."""
    lines = [f"Event-Name: {name}", f"Unique-ID: {uuid}"]
    lines += [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
    body = ("\n".join(lines) + "\n\n").encode()
    return b"Content-Length: %d\nContent-Type: text/event-plain\n\n" % len(body) + body
