"""Agent-mode end-to-end harness: a real daemon, the FreeSWITCH simulator, a desktop over HTTP.

``AgentWorld`` runs paymentd (outbound ESL server, inbound ESL client, agent
API) against a simulated FreeSWITCH whose dialplan has the secure extension.
``Desk`` is an agent desktop speaking the API over real HTTP and reading the
Server-Sent Events stream, keeping every byte of it for the card-data scan.
``AgentEar`` samples what the agent's leg hears during the capture and
``Customer`` keys the card, checking the agent at every step.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import attrs

from paymentd.app import Daemon
from paymentd.config import Config, parse_config
from paymentd.speech.layout import default_sounds_root
from paymentd.testing import (
    Action,
    AgentCall,
    Caller,
    Extension,
    FreeSwitchSimulator,
    InboundServer,
    sounds_from,
)

TOKEN = "desk-token-0123456789abcdefghijklmnop"
OTHER_TOKEN = "desk-token-zyxwvutsrqponmlkjihgfedcba"
SCALE = 0.02
VISA = "4242424242424242"
DECLINED = "4000000000000002"
CVV = "737"
EXPIRY = "1230"
#: Card numbers and their first digits: found anywhere outside paymentd's own socket, a leak.
NUMBERS = [VISA, VISA[:-4], DECLINED, DECLINED[:-4]]
#: Everything that must never reach a desktop (card numbers, CVV, expiry).
SECRETS = [*NUMBERS, CVV, EXPIRY]
#: Fields of an event that are generated (ids, times) and may hold any digits.
_GENERATED = frozenset({"payment_id", "at", "id", "call_uuid", "agent_uuid", "events_url"})

SECURE = "paymentd_secure"
AFTER = "paymentd_secure_after"
#: What the test dialplan's fallback plays (the customer reached it: the agent had gone).
FALLBACK_PROMPT = "fallback_queue.wav"


def base_config(tmp_path: Path, inbound_port: int, **sections: dict[str, Any]) -> Config:
    """A configuration for a fast daemon on free ports; ``sections`` are merged per key."""
    data: dict[str, dict[str, Any]] = {
        "esl": {"listen": "127.0.0.1:0", "command_timeout": 3.0, "shutdown_grace_seconds": 0.5},
        "inbound": {
            "enabled": True,
            "port": inbound_port,
            "connect_timeout": 1.0,
            "command_timeout": 3.0,
            "reconnect_min_seconds": 0.05,
            "reconnect_max_seconds": 0.2,
        },
        "http": {"listen": "127.0.0.1:0"},
        "sounds": {"readback_directory": str(tmp_path / "readback")},
        "ledger": {"path": str(tmp_path / "ledger.sqlite3")},
        "gateway": {"sandbox": {"latency_seconds": 0.05}},
        "capture": {"max_declines": 2, "hold_after_seconds": 2.0},
        "agent": {"listen": "127.0.0.1:0", "tokens": [TOKEN, OTHER_TOKEN], "arrival_timeout": 2.0},
    }
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    return parse_config(data, "test")


class AgentWorld:
    """The simulator, its inbound server and a running daemon."""

    def __init__(self, sim: FreeSwitchSimulator, inbound: InboundServer, daemon: Daemon) -> None:
        self.sim = sim
        self.inbound = inbound
        self.daemon = daemon

    @classmethod
    async def start(
        cls, tmp_path: Path, *, secure_extension: bool = True, **sections: dict[str, Any]
    ) -> AgentWorld:
        await asyncio.to_thread(tmp_path.mkdir, parents=True, exist_ok=True)
        sim = FreeSwitchSimulator(
            time_scale=SCALE, sounds=sounds_from(default_sounds_root()), seed=5
        )
        inbound = await sim.start_inbound()
        daemon = Daemon(base_config(tmp_path, inbound.port, **sections))
        try:
            await daemon.start()
        except BaseException:
            await daemon.stop()
            await sim.close()
            raise
        assert daemon.esl is not None
        socket = Action.socket(f"127.0.0.1:{daemon.esl.port}")
        if not secure_extension:
            # paymentd cannot be reached: the socket app fails and the call parks.
            socket = Action.socket("127.0.0.1:1")
        sim.dialplan.add(
            Extension(SECURE, SECURE, [socket, Action("transfer", f"{AFTER} XML default")])
        )
        sim.dialplan.add(
            Extension(AFTER, AFTER, [Action("playback", FALLBACK_PROMPT), Action("park")])
        )
        world = cls(sim, inbound, daemon)
        await world.wait_inbound()
        return world

    async def wait_inbound(self, connects: int = 1, timeout: float = 5.0) -> None:
        """Until paymentd's inbound connection is up (for the ``connects``-th time)."""
        agent = self.daemon.agent
        assert agent is not None
        deadline = asyncio.get_running_loop().time() + timeout
        while not (agent.inbound.connected and agent.inbound.connects >= connects):
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError("paymentd did not connect to the simulated FreeSWITCH")
            await asyncio.sleep(0.01)

    @property
    def api_port(self) -> int:
        assert self.daemon.agent is not None
        assert self.daemon.agent.http_port is not None
        return self.daemon.agent.http_port

    async def agent_call(
        self, customer: Callable[[Caller], Awaitable[None]] | None = None
    ) -> AgentCall:
        """A customer bridged to an agent, with ``customer`` scripting the caller."""
        return await self.sim.place_agent_call(caller=customer)

    async def close(self) -> None:
        await self.daemon.stop()
        await self.sim.close()

    def card_numbers_inside_freeswitch(self) -> list[str]:
        """Card numbers (or their first digits) in any event any ESL listener could get
        (paymentd's inbound connection included) or in FreeSWITCH's log."""
        texts = {"events": self.sim.bus_text(), "log": self.sim.log_text()}
        return [f"{where}: {n}" for where, text in texts.items() for n in NUMBERS if n in text]


@attrs.define
class Reply:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]


@attrs.define
class EventStream:
    """One SSE stream as read: the raw text and the parsed events."""

    raw: str = ""
    events: list[dict[str, Any]] = attrs.Factory(list)
    done: asyncio.Event = attrs.Factory(asyncio.Event)

    def names(self) -> list[str]:
        return [e["event"] for e in self.events]

    def of(self, name: str) -> list[dict[str, Any]]:
        return [e["data"] for e in self.events if e["event"] == name]

    def kinds(self) -> list[str]:
        return [d["kind"] for d in self.of("progress")]

    def statuses(self) -> list[str]:
        return [d["status"] for d in self.of("status")]

    async def wait_for(self, check: Callable[[EventStream], bool], timeout: float = 10.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not check(self):
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"the event stream never got there: {self.names()}")
            await asyncio.sleep(0.005)


class Desk:
    """An agent desktop: the API over real HTTP (or HTTPS)."""

    def __init__(
        self, port: int, *, scheme: str = "http", ssl_context: ssl.SSLContext | None = None
    ) -> None:
        self.base = f"{scheme}://127.0.0.1:{port}"
        self._ssl: ssl.SSLContext | bool = ssl_context if ssl_context is not None else True
        self.session = aiohttp.ClientSession()
        self.streams: list[EventStream] = []
        self._readers: list[asyncio.Task[None]] = []
        self._keys = 0

    async def close(self) -> None:
        for reader in self._readers:
            reader.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)
        await self.session.close()

    def _headers(self, token: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"} if token is not None else {}

    async def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = TOKEN,
        json_body: object = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        async with self.session.request(
            method,
            self.base + path,
            json=json_body,
            headers={**self._headers(token), **(headers or {})},
            ssl=self._ssl,
        ) as response:
            text = await response.text()
            body = json.loads(text) if text else {}
            return Reply(response.status, body, dict(response.headers))

    async def start_payment(
        self, call_uuid: str, *, key: str | None = None, token: str | None = TOKEN, **body: Any
    ) -> Reply:
        if key is None:
            self._keys += 1
            key = f"key-{self._keys}"
        return await self.request(
            "POST",
            f"/v1/calls/{call_uuid}/payments",
            token=token,
            json_body=body,
            headers={"Idempotency-Key": key},
        )

    async def payment(self, payment_id: str) -> dict[str, Any]:
        reply = await self.request("GET", f"/v1/payments/{payment_id}")
        assert reply.status == 200, reply
        return reply.body

    async def cancel(self, payment_id: str) -> Reply:
        return await self.request("POST", f"/v1/payments/{payment_id}/cancel")

    def follow(self, payment_id: str, last_event_id: str | None = None) -> EventStream:
        """Open the payment's event stream and read it in the background to its end."""
        stream = EventStream()
        self.streams.append(stream)
        headers = self._headers(TOKEN)
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        self._readers.append(asyncio.create_task(self._read(payment_id, headers, stream)))
        return stream

    async def _read(self, payment_id: str, headers: dict[str, str], stream: EventStream) -> None:
        url = f"{self.base}/v1/payments/{payment_id}/events"
        try:
            async with self.session.get(url, headers=headers, ssl=self._ssl) as response:
                assert response.status == 200, response.status
                assert response.headers["Content-Type"].startswith("text/event-stream")
                fields: dict[str, str] = {}
                async for raw in response.content:
                    line = raw.decode()
                    stream.raw += line
                    line = line.rstrip("\r\n")
                    if line.startswith(":"):
                        continue
                    if line:
                        name, _, value = line.partition(": ")
                        fields[name] = value
                        continue
                    if "data" in fields:
                        stream.events.append(
                            {
                                "id": fields.get("id"),
                                "event": fields.get("event", "message"),
                                "data": json.loads(fields["data"]),
                            }
                        )
                    fields = {}
        finally:
            stream.done.set()


def card_data_in_stream(stream: EventStream) -> list[str]:
    """Every place a test PAN (or its first digits), CVV or expiry shows in a stream."""
    found = [f"raw: {secret}" for secret in NUMBERS if secret in stream.raw]
    for event in stream.events:
        for path, text in _texts(event["data"], event["event"]):
            found.extend(f"{path}: {secret}" for secret in SECRETS if secret in text)
    return found


def _texts(value: object, path: str) -> list[tuple[str, str]]:
    if isinstance(value, dict):
        out: list[tuple[str, str]] = []
        for key, item in value.items():
            if key not in _GENERATED:
                out.extend(_texts(item, f"{path}.{key}"))
        return out
    if isinstance(value, list):
        return [pair for i, item in enumerate(value) for pair in _texts(item, f"{path}[{i}]")]
    return [(path, str(value))]


class AgentEar:
    """Samples what the agent's far end hears while the customer is away for the capture.

    From the moment the legs are moved until paymentd starts giving the customer
    back (payment status ``transferring`` or ``capturing``), a violation is any
    moment at which the agent hears the customer, hears a prompt other than the
    hold audio, or has received a key.
    """

    def __init__(self, world: AgentWorld, call: AgentCall, payment_id: str) -> None:
        self.world = world
        self.call = call
        self.payment_id = payment_id
        self.violations: list[str] = []
        self.samples = 0
        #: At every look: when, and whether the two legs were bridged.
        self.looks: list[tuple[str, bool]] = []
        self._keys_before = len(call.agent.keys_heard)
        self._prompts_before = len(call.agent.heard)
        self._task: asyncio.Task[None] | None = None

    def capturing(self) -> bool:
        agent = self.world.daemon.agent
        assert agent is not None
        payment = agent.payments.get(self.payment_id)
        return payment is not None and payment.status.value in ("transferring", "capturing")

    def check(self, when: str) -> None:
        """One look, now (only while the customer is away)."""
        agent = self.call.agent
        if not self.capturing() or agent.session is None or agent.session.channel.down:
            return
        self.samples += 1
        self.looks.append((when, bridged(self.call)))
        hearing = self.world.sim.hearing(self.call.agent_uuid)
        if hearing.hears_partner:
            self.violations.append(f"{when}: the agent hears the customer")
        if hearing.prompt is not None and "paymentd_hold" not in hearing.prompt:
            self.violations.append(f"{when}: the agent hears {hearing.prompt}")
        keys = agent.keys_heard[self._keys_before :]
        if keys:
            self.violations.append(f"{when}: the agent received {len(keys)} key(s)")
        for record in agent.heard[self._prompts_before :]:
            if "paymentd_hold" not in record.file:
                self.violations.append(f"{when}: a prompt reached the agent: {record.file}")

    def start(self) -> None:
        async def sample() -> None:
            while True:
                self.check("sample")
                await asyncio.sleep(0.003)

        self._task = asyncio.create_task(sample())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


#: One step of the customer: wait for a prompt containing the fragment, then key.
Step = tuple[str, str]
HANG_UP = "<hang up>"

#: A full, successful capture with every field read back and confirmed.
PAY_WITH_VISA: list[Step] = [
    ("press_1_to_pay_amount", "1"),
    ("enter_card_number", VISA + "#"),
    ("confirm_or_reenter", "1"),
    ("enter_expiry", EXPIRY),
    ("confirm_or_reenter", "1"),
    ("enter_cvv_3", CVV),
    ("confirm_or_reenter", "1"),
]


def card_steps(pan: str) -> list[Step]:
    """Card number, expiry and CVV, each confirmed."""
    return [
        ("enter_card_number", pan + "#"),
        ("confirm_or_reenter", "1"),
        ("enter_expiry", EXPIRY),
        ("confirm_or_reenter", "1"),
        ("enter_cvv_3", CVV),
        ("confirm_or_reenter", "1"),
    ]


async def key_steps(caller: Caller, steps: list[Step]) -> None:
    """Key each step's digits once its prompt plays (for a customer driven by the test)."""
    for fragment, keys in steps:
        await caller.wait_for_playback(fragment, timeout=15)
        await caller.press(keys, gap=0.02)


class Customer:
    """A scripted customer that checks the agent's ear before and after every key."""

    def __init__(self, steps: list[Step]) -> None:
        self.steps = steps
        self.ear: AgentEar | None = None
        self.done = asyncio.Event()
        self.steps_taken = 0

    async def __call__(self, caller: Caller) -> None:
        try:
            for fragment, keys in self.steps:
                await caller.wait_for_playback(fragment, timeout=15)
                self._check(f"prompt {fragment}")
                if keys == HANG_UP:
                    await caller.hang_up()
                    return
                await caller.press(keys, gap=0.02)
                self._check(f"keys at {fragment}")
                self.steps_taken += 1
        finally:
            self.done.set()

    def _check(self, when: str) -> None:
        if self.ear is not None:
            self.ear.check(when)


def secure_extension_runs(call: AgentCall) -> bool:
    return SECURE in call.customer.session.extensions_run


async def wait_until(check: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.005)


@attrs.define
class Run:
    """One agent payment as a test saw it."""

    call: AgentCall
    customer: Customer
    payment_id: str
    stream: EventStream
    ear: AgentEar
    created: Reply

    async def finish(self, desk: Desk, timeout: float = 20.0) -> dict[str, Any]:
        """Wait for the stream's end; stop listening; the payment as the API says."""
        await asyncio.wait_for(self.stream.done.wait(), timeout)
        await self.ear.stop()
        return await desk.payment(self.payment_id)


async def start_run(
    world: AgentWorld,
    desk: Desk,
    steps: list[Step],
    *,
    before: Callable[[AgentCall], Awaitable[None]] | None = None,
    **body: Any,
) -> Run:
    """Place a customer bridged to an agent, start a payment from the desk, follow it."""
    customer = Customer(steps)
    call = await world.agent_call(customer)
    if before is not None:
        await before(call)
    created = await desk.start_payment(call.customer.uuid, **body)
    assert created.status == 201, created
    payment_id = created.body["id"]
    stream = desk.follow(payment_id)
    ear = AgentEar(world, call, payment_id)
    customer.ear = ear
    ear.start()
    return Run(call, customer, payment_id, stream, ear, created)


async def record_both_legs(world: AgentWorld, call: AgentCall, directory: Path) -> list[str]:
    """Start a recording on each leg, as a call-recording platform would."""
    paths = []
    for leg, uuid in (("customer", call.customer.uuid), ("agent", call.agent_uuid)):
        path = str(directory / f"{leg}.wav")
        reply = await world.sim.switch.api.execute("uuid_record", f"{uuid} start {path}")
        assert reply == "+OK Success\n"
        paths.append(path)
    return paths


def bridged(call: AgentCall) -> bool:
    """The customer and the agent are bridged and hear each other."""
    customer, agent = call.customer.session, call.agent.session
    return (
        agent is not None
        and customer.bridged_to is agent
        and agent.bridged_to is customer
        and customer.channel.ready
        and agent.channel.ready
    )


def hear_each_other(world: AgentWorld, call: AgentCall) -> bool:
    return (
        world.sim.hearing(call.customer.uuid).hears_partner
        and world.sim.hearing(call.agent_uuid).hears_partner
    )


def data_of(stream: EventStream, kind: str) -> list[dict[str, Any]]:
    """The progress events of one kind."""
    return [d for d in stream.of("progress") if d["kind"] == kind]


async def ledger_session(ledger: Path, session_id: str) -> dict[str, Any] | None:
    """The ledger's row of a session (the daemon's SQLite file), once it has ended."""

    def read() -> dict[str, Any] | None:
        with sqlite3.connect(ledger) as db:
            db.row_factory = sqlite3.Row
            row = db.execute(
                "SELECT * FROM ledger_sessions WHERE session_id = ? AND ended_at IS NOT NULL",
                (session_id,),
            ).fetchone()
        return None if row is None else dict(row)

    deadline = asyncio.get_running_loop().time() + 5
    while (row := await asyncio.to_thread(read)) is None:
        if asyncio.get_running_loop().time() > deadline:
            return None
        await asyncio.sleep(0.02)
    return row
