"""``FreeSwitchSimulator``: the entry point tests use (see the package docstring)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import attrs

from paymentd.testing.caller import Agent, Caller, CallerScript
from paymentd.testing.clock import SimClock
from paymentd.testing.dialplan import Action, Dialplan, Extension
from paymentd.testing.events import FsEvent
from paymentd.testing.inbound import InboundServer
from paymentd.testing.listener import Listener
from paymentd.testing.media import Hearing, Recording
from paymentd.testing.records import ActionRecord, KeyRecord, PromptRecord, WireRecord
from paymentd.testing.session import Session
from paymentd.testing.sounds import SoundCatalog
from paymentd.testing.switch import SimOptions, Switch

__all__ = ["AgentCall", "Call", "CallResult", "FreeSwitchSimulator", "SocketRecord"]


@attrs.frozen
class SocketRecord:
    """One outbound connection to paymentd, byte for byte.

    ``closed_by``: ``peer`` (paymentd closed it), ``exit``, ``freeswitch`` (linger
    ran out, nolinger, a bad packet), ``timeout`` (no packet within 25 s), or
    ``None`` while open.
    """

    wire: tuple[WireRecord, ...]
    closed_by: str | None

    @property
    def received(self) -> bytes:
        """Everything paymentd sent."""
        return b"".join(record.data for record in self.wire if record.direction == "recv")

    @property
    def sent(self) -> bytes:
        """Everything FreeSWITCH sent to paymentd."""
        return b"".join(record.data for record in self.wire if record.direction == "send")


@attrs.frozen
class CallResult:
    """What happened to a call: where it went, what ran, how it ended."""

    uuid: str
    hangup_cause: str | None
    variables: dict[str, str]
    actions: tuple[ActionRecord, ...]
    extensions: tuple[str, ...]
    prompts: tuple[PromptRecord, ...]
    keys: tuple[KeyRecord, ...]
    sockets: tuple[SocketRecord, ...]

    def ran(self, app: str) -> list[ActionRecord]:
        """The executions of one app, in order."""
        return [record for record in self.actions if record.app == app]


class Call:
    """A call placed by the simulator: the phone leg, the routed leg and the caller."""

    def __init__(
        self, simulator: FreeSwitchSimulator, phone: Session, session: Session, caller: Caller
    ) -> None:
        self.simulator = simulator
        self.phone = phone
        self.session = session
        self.caller = caller
        self.script_task: asyncio.Task[None] | None = None

    @property
    def uuid(self) -> str:
        """The Unique-ID of the channel paymentd controls."""
        return self.session.uuid

    @property
    def phone_uuid(self) -> str:
        """The caller's side of the loopback pair (``variable_other_loopback_leg_uuid``)."""
        return self.phone.uuid

    @property
    def sockets(self) -> list[Listener]:
        """The outbound connections this call opened, in order."""
        return [
            listener
            for listener in self.simulator.switch.listeners
            if listener.outbound and listener.session is self.session
        ]

    def variable(self, name: str) -> str | None:
        """A channel variable now."""
        return self.session.channel.get_variable(name)

    async def wait_hangup(self, timeout: float = 10.0) -> CallResult:
        """Wait until CHANNEL_HANGUP_COMPLETE; returns the result at that moment."""
        await asyncio.wait_for(self.session.hangup_complete.wait(), timeout)
        return self.result()

    async def wait_closed(self, timeout: float = 10.0) -> CallResult:
        """Wait until every socket of the call is closed and the channel is gone."""
        await asyncio.wait_for(self.session.destroyed.wait(), timeout)
        return self.result()

    async def wait_socket_closed(self, timeout: float = 10.0) -> SocketRecord:
        """Wait until the latest outbound socket of the call closes."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not self.sockets:
            await asyncio.sleep(0.005)
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError("the call never connected to paymentd")
        listener = self.sockets[-1]
        await asyncio.wait_for(listener.closed.wait(), deadline - asyncio.get_running_loop().time())
        return SocketRecord(tuple(listener.wire), listener.closed_by)

    def result(self) -> CallResult:
        """A snapshot of the call."""
        session = self.session
        return CallResult(
            uuid=session.uuid,
            hangup_cause=session.channel.hangup_cause,
            variables=dict(session.channel.variables),
            actions=tuple(session.actions),
            extensions=tuple(session.extensions_run),
            prompts=tuple(session.prompts),
            keys=tuple(self.caller.keyed),
            sockets=tuple(SocketRecord(tuple(s.wire), s.closed_by) for s in self.sockets),
        )


@attrs.define
class AgentCall:
    """A customer bridged to an agent (the starting point of agent mode).

    ``customer`` is the customer's call (its ``uuid`` is the leg paymentd moves);
    ``agent`` hears what reaches the agent leg once it exists (``agent_uuid``).
    """

    customer: Call
    agent: Agent

    @property
    def agent_uuid(self) -> str:
        """The agent leg's Unique-ID."""
        assert self.agent.session is not None
        return self.agent.session.uuid


class FreeSwitchSimulator:
    """A simulated FreeSWITCH 1.11 for integration tests (see the package docstring)."""

    def __init__(
        self,
        *,
        time_scale: float = 1.0,
        options: SimOptions | None = None,
        sounds: SoundCatalog | None = None,
        dialplan: Dialplan | None = None,
        seed: int | None = None,
        log_level: str | None = None,
    ) -> None:
        options = options or SimOptions()
        if seed is not None:
            options = attrs.evolve(options, seed=seed)
        if log_level is not None:
            options = attrs.evolve(options, log_level=log_level)
        self.clock = SimClock(time_scale)
        self.options = options
        self.sounds = sounds or SoundCatalog()
        self.dialplan = dialplan or Dialplan()
        self.switch = Switch(self.clock, options, self.sounds, self.dialplan)
        self.calls: list[Call] = []
        self.inbound: InboundServer | None = None

    async def __aenter__(self) -> FreeSwitchSimulator:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Hang everything up and close every connection."""
        for call in self.calls:
            if call.script_task is not None:
                call.script_task.cancel()
        if self.inbound is not None:
            await self.inbound.stop()
        await self.switch.close()

    # -- calls ---------------------------------------------------------------------------

    async def place_call(
        self,
        target: tuple[str, int] | str,
        *,
        variables: dict[str, str] | None = None,
        caller: CallerScript | None = None,
        extension: Extension | str | None = None,
        destination: str = "7777",
        context: str = "default",
        socket_mode: str = "async",
        socket_control: str = "full",
        caller_id: tuple[str, str] | None = None,
    ) -> Call:
        """Place a call that reaches paymentd through the ``socket`` app.

        ``target`` is paymentd's address.  Without ``extension`` the call runs an
        extension whose only action is ``socket <target> <mode> <control>``; an
        ``Extension`` runs as given (a ``socket`` action without address uses
        ``target``); a string routes to that destination in the dialplan.
        ``variables`` are set on the channel when it is created, as if the
        network or the dialplan had set them.  ``caller`` scripts the far end.
        """
        address = target if isinstance(target, str) else f"{target[0]}:{target[1]}"
        if isinstance(extension, str):
            destination, extension = extension, None
        elif extension is None:
            extension = Extension(
                "paymentd", destination, [Action.socket(mode=socket_mode, control=socket_control)]
            )
        far_end = Caller()
        phone, session = self.switch.originate_loopback(
            destination=destination,
            context=context,
            variables=variables,
            socket_target=address,
            extension=extension,
            caller_id=caller_id,
        )
        far_end.session, far_end.phone = session, phone
        session.observers.append(far_end)
        call = Call(self, phone, session, far_end)
        self.calls.append(call)
        if caller is not None:
            call.script_task = self.switch.spawn(_run_script(caller, far_end))
        return call

    async def place_agent_call(
        self,
        *,
        caller: CallerScript | None = None,
        customer_destination: str = "7779",
        agent_destination: str = "7778",
        context: str = "default",
        variables: dict[str, str] | None = None,
        agent_variables: dict[str, str] | None = None,
        wait_bridged: float = 10.0,
    ) -> AgentCall:
        """A customer call bridged to an agent leg (``bridge loopback/<agent>``), as in
        the captures' scenario 09.  Returns once the bridge is up."""
        extra = ",".join(f"{key}={value}" for key, value in (agent_variables or {}).items())
        endpoint = (
            f"{{{extra}}}loopback/{agent_destination}" if extra else f"loopback/{agent_destination}"
        )
        extension = Extension(
            "agent-bridge", customer_destination, [Action("bridge", endpoint)], context
        )
        agent = Agent()
        self.switch.agent_observers[agent_destination] = agent
        call = await self.place_call(
            "",
            variables=variables,
            caller=caller,
            extension=extension,
            destination=customer_destination,
            context=context,
        )
        deadline = asyncio.get_running_loop().time() + wait_bridged
        while call.session.bridged_to is None:
            if asyncio.get_running_loop().time() > deadline or call.session.channel.down:
                raise TimeoutError("the agent bridge did not come up")
            await asyncio.sleep(0.002)
        agent.session = call.session.bridged_to
        return AgentCall(call, agent)

    # -- inbound -------------------------------------------------------------------------

    async def start_inbound(
        self, host: str = "127.0.0.1", port: int = 0, password: str | None = None
    ) -> InboundServer:
        """Start the inbound event socket (port 0 picks a free port)."""
        server = InboundServer(self.switch, host, port, password or self.options.password)
        await server.start()
        self.inbound = server
        return server

    # -- observation -------------------------------------------------------------------

    def session(self, uuid: str) -> Session | None:
        """A live channel by Unique-ID."""
        return self.switch.locate(uuid)

    def hearing(self, uuid: str) -> Hearing:
        """What the far end of a channel hears right now."""
        session = self.switch.locate(uuid)
        if session is None:
            raise KeyError(uuid)
        return self.switch.media.hearing(session)

    @property
    def recordings(self) -> list[Recording]:
        """Every ``uuid_record`` recording, running or stopped."""
        return list(self.switch.media.recordings)

    def bus_events(self, subscription: str = "ALL") -> list[FsEvent]:
        """What an inbound listener with ``event plain <subscription>`` would have received."""
        return self.switch.bus.received_by(subscription)

    def bus_text(self, subscription: str = "ALL") -> str:
        """Those events as readable text, for scanning for card data."""
        return self.switch.bus.text(subscription)

    def log_text(self) -> str:
        """The simulated ``freeswitch.log`` at its configured level."""
        return self.switch.log.text()

    def transcript_text(self) -> str:
        """Every byte exchanged on every event-socket connection, readable and in order.

        ``<<< paymentd`` blocks are what paymentd sent; ``>>> freeswitch`` what it got.
        """
        blocks = []
        for index, listener in enumerate(self.switch.listeners):
            kind = "outbound" if listener.outbound else "inbound"
            owner = "" if listener.session is None else f" {listener.session.uuid}"
            blocks.append(f"### connection {index} ({kind}{owner})")
            for record in listener.wire:
                arrow = "<<< paymentd" if record.direction == "recv" else ">>> freeswitch"
                text = record.data.decode("utf-8", "replace")
                blocks.append(f"{arrow} t={record.at:.4f}\n{text}")
        return "\n".join(blocks) + "\n"

    def everything_text(self) -> str:
        """Bus, log and transcripts together: one string to scan for card data."""
        return "\n".join([self.bus_text(), self.log_text(), self.transcript_text()])


async def _run_script(script: CallerScript, caller: Caller) -> None:
    await script(caller)


def sounds_from(
    *directories: Path, default_seconds: float = 2.0, strict: bool = False
) -> SoundCatalog:
    """A sound catalog over some directories (WAV lengths come from the files)."""
    return SoundCatalog(list(directories), default_seconds=default_seconds, strict=strict)
