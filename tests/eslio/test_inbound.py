"""The inbound client against a hand-driven FreeSWITCH event socket (real TCP)."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Awaitable, Callable

import pytest

from paymentd.esl import Event
from paymentd.eslio import AuthenticationError, InboundClient, NotConnected
from tests.eslio.peers import RawPeer, event

Script = Callable[[RawPeer], Awaitable[None]]

GOODBYE = (
    b"Content-Type: text/disconnect-notice\nContent-Length: 67\n\n"
    b"Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"
)


class FakeSwitch:
    """Accepts connections and runs one script per connection, in order."""

    def __init__(self, *scripts: Script) -> None:
        self.scripts = list(scripts)
        self.connections = 0
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        peer = RawPeer(reader, writer)
        script = self.scripts.pop(0) if self.scripts else None
        peer.send(b"Content-Type: auth/request\n\n")
        if script is not None:
            with contextlib.suppress(EOFError, ConnectionError, TimeoutError):
                await script(peer)
        peer.close()

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()


async def accept(peer: RawPeer, events: bytes = b"event plain BACKGROUND_JOB") -> None:
    assert await peer.read_command() == b"auth ClueCon"
    peer.reply("+OK accepted")
    assert await peer.read_command() == events
    peer.reply("+OK event listener enabled plain")


async def test_auth_api_and_bgapi_matched_by_our_job_uuid() -> None:
    async def script(peer: RawPeer) -> None:
        await accept(peer, b"event plain BACKGROUND_JOB CHANNEL_BRIDGE")
        assert await peer.read_command() == b"api uuid_exists abc"
        peer.send(b"Content-Type: api/response\nContent-Length: 4\n\ntrue")
        command = await peer.read_command()
        job = re.search(rb"Job-UUID: (\S+)", command).group(1).decode()  # type: ignore[union-attr]
        assert command.startswith(b"bgapi status\n")
        peer.reply(f"+OK Job-UUID: {job}\nJob-UUID: {job}")
        # Someone else's job first: must not resolve ours.
        peer.send(event("BACKGROUND_JOB", "", Job_UUID="another", Job_Command="status"))
        body = b"UP 0 years\n"
        inner = (
            f"Event-Name: BACKGROUND_JOB\nJob-UUID: {job}\nJob-Command: status\n"
            f"Content-Length: {len(body)}\n\n"
        ).encode()
        payload = inner + body
        peer.send(
            b"Content-Length: %d\nContent-Type: text/event-plain\n\n" % len(payload) + payload
        )
        peer.send(event("CHANNEL_BRIDGE", "u-1"))
        await peer.closed_by_peer(5)

    switch = FakeSwitch(script)
    port = await switch.start()
    seen: list[Event] = []
    client = InboundClient(
        "127.0.0.1", port, "ClueCon", events=["CHANNEL_BRIDGE"], on_event=seen.append
    )
    client.start()
    try:
        await client.wait_connected(3)
        reply = await client.api("uuid_exists abc")
        assert reply.ok
        assert reply.text == "true"
        job = await client.bgapi("status", timeout=3)
        assert job.text == "UP 0 years\n"
        for _ in range(50):
            if any(e.name == "CHANNEL_BRIDGE" for e in seen):
                break
            await asyncio.sleep(0.02)
        assert [e.name for e in seen][-1] == "CHANNEL_BRIDGE"
    finally:
        await client.close()
        await switch.stop()


async def test_wrong_password_is_a_clear_error_and_is_not_retried() -> None:
    async def script(peer: RawPeer) -> None:
        assert await peer.read_command() == b"auth ClueCon"
        peer.reply("-ERR invalid")
        peer.send(GOODBYE)

    switch = FakeSwitch(script, script, script)
    port = await switch.start()
    client = InboundClient("127.0.0.1", port, "ClueCon", reconnect_min=0.05)
    client.start()
    try:
        with pytest.raises(AuthenticationError, match="refused the password"):
            await client.wait_connected(3)
        with pytest.raises(AuthenticationError):
            await client.api("status")
        await asyncio.sleep(0.3)
        assert switch.connections == 1
    finally:
        await client.close()
        await switch.stop()


async def test_reconnects_with_backoff_and_resubscribes_after_a_drop() -> None:
    states: list[bool] = []

    async def first(peer: RawPeer) -> None:
        await accept(peer)
        # FreeSWITCH restarts: the connection drops without a word.

    async def second(peer: RawPeer) -> None:
        await accept(peer)
        assert await peer.read_command() == b"api status"
        peer.send(b"Content-Type: api/response\nContent-Length: 3\n\nUP\n")
        await peer.closed_by_peer(5)

    switch = FakeSwitch(first, second)
    port = await switch.start()
    client = InboundClient("127.0.0.1", port, "ClueCon", reconnect_min=0.05, on_state=states.append)
    client.start()
    try:
        await client.wait_connected(3)
        for _ in range(100):
            if client.connects == 2 and client.connected:
                break
            await asyncio.sleep(0.02)
        assert client.connects == 2
        assert (await client.api("status")).text == "UP\n"
        assert states[:3] == [True, False, True]
    finally:
        await client.close()
        await switch.stop()


async def test_commands_while_down_fail_fast() -> None:
    client = InboundClient("127.0.0.1", 1, "ClueCon", reconnect_min=5)
    client.start()
    try:
        with pytest.raises(NotConnected):
            await client.api("status")
        with pytest.raises(NotConnected):
            await client.wait_connected(0.1)
    finally:
        await client.close()
