"""The simulated switch: channels, sessions, listeners, and the wiring between them.

This is the simulator's core; tests use it through ``FreeSwitchSimulator``.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid as uuidlib
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any

import attrs

from paymentd.testing.api import Api, broadcast_packet
from paymentd.testing.apps import DPTOOLS
from paymentd.testing.bridging import (
    agent_leg_program,
    app_bridge,
    prepare_uuid_bridge,
    soft_bridge,
)
from paymentd.testing.bus import EventBus
from paymentd.testing.channel import Channel, ChannelState
from paymentd.testing.clock import FRAME, SimClock
from paymentd.testing.dialplan import Action, Dialplan, Extension
from paymentd.testing.events import EventFactory, FsEvent, Identity, load_json
from paymentd.testing.fslog import FsLog
from paymentd.testing.media import MediaModel
from paymentd.testing.profile import CallerProfile
from paymentd.testing.session import App, MediaObserver, Session
from paymentd.testing.socket_app import app_socket
from paymentd.testing.sounds import SoundCatalog

if TYPE_CHECKING:
    from paymentd.testing.listener import Listener

__all__ = ["SimOptions", "Switch"]

_LOOPBACK: dict[str, Any] = load_json("loopback_call.json")


@attrs.define
class SimOptions:
    """Behaviour that FreeSWITCH leaves to chance, timing or configuration.

    ``park_event``: whether the socket app's own CHANNEL_PARK reaches the socket
    (``after_myevents``), not (``before_myevents``), or either (``random``, from
    ``seed``); the captures show both.  ``linger_notice``: the linger notice after
    the last hang-up events (``after_events``), right after CHANNEL_HANGUP
    (``early``, seen with bridged calls) or either (``random``).
    """

    seed: int = 0
    park_event: str = "random"
    linger_notice: str = "after_events"
    log_level: str = "debug"
    # FreeSWITCH's stock event-socket password, as in the captures.
    password: str = "ClueCon"  # noqa: S105
    dtmf_duration: int = 2000
    dtmf_source: str = "UNKNOWN"


class Switch:
    """Everything one simulated FreeSWITCH holds."""

    def __init__(
        self, clock: SimClock, options: SimOptions, sounds: SoundCatalog, dialplan: Dialplan
    ) -> None:
        self.clock = clock
        self.options = options
        self.sounds = sounds
        self.dialplan = dialplan
        self.rng = random.Random(options.seed)
        self.identity = Identity.from_data()
        self.factory = EventFactory(clock, self.identity, self.new_uuid())
        self.bus = EventBus(clock)
        self.log = FsLog(clock, options.log_level)
        self.media = MediaModel()
        self.api = Api(self)
        self.apps: dict[str, App] = {**DPTOOLS, "socket": app_socket, "bridge": app_bridge}
        self.sessions: dict[str, Session] = {}
        self.all_sessions: list[Session] = []
        self.listeners: list[Listener] = []
        self.agent_observers: dict[str, MediaObserver] = {}
        self.show_channels_columns: list[str] = list(_LOOPBACK["show_channels_columns"])
        self.sessions_since_startup = 0
        self.session_peak = 0
        self._controllers: dict[str, list[Listener]] = {}
        self._first_extension: dict[str, Extension] = {}
        self._early_notice: dict[str, bool] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self.errors: list[BaseException] = []

    # -- utilities -----------------------------------------------------------------------

    def new_uuid(self) -> str:
        """A random (seeded) version-4 UUID."""
        return str(uuidlib.UUID(int=self.rng.getrandbits(128), version=4))

    def spawn(self, coroutine: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run a background task that the simulator keeps and cancels on close."""
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        """Keep a background task's crash so ``close`` can report it."""
        self._tasks.discard(task)
        error = None if task.cancelled() else task.exception()
        if error is not None:
            self.errors.append(error)

    def choose(self, question: str) -> bool:
        """Decide a racy behaviour from the options (``random`` uses the seed)."""
        setting, yes = {
            "park_event_after_myevents": (self.options.park_event, "after_myevents"),
            "linger_notice_early": (self.options.linger_notice, "early"),
        }[question]
        if setting == "random":
            return self.rng.random() < 0.5
        return setting == yes

    def locate(self, uuid: str) -> Session | None:
        """A session that still exists (until CHANNEL_DESTROY)."""
        return self.sessions.get(uuid)

    async def close(self) -> None:
        """Hang up every channel, close every connection, stop every task."""
        for session in list(self.sessions.values()):
            session.hangup("MANAGER_REQUEST")
        for listener in list(self.listeners):
            await listener.close()
        tasks = [task for task in self._tasks if not task.done()]
        tasks += [s.task for s in self.all_sessions if s.task is not None and not s.task.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self.errors:
            raise RuntimeError(f"the simulator crashed: {self.errors[0]!r}") from self.errors[0]

    # -- channels ---------------------------------------------------------------------------

    def _channel(
        self,
        leg: str,
        uuid: str,
        name: str,
        destination: str,
        context: str,
        other_uuid: str | None,
        variables: dict[str, str],
    ) -> Channel:
        template = _LOOPBACK[leg]
        self.sessions_since_startup += 1
        values = {
            "{uuid}": uuid,
            "{channel_name}": name,
            "{destination}": destination,
            "{other_uuid}": other_uuid or "",
            "{session_id}": str(self.sessions_since_startup),
        }

        def fill(text: str) -> str:
            for key, value in values.items():
                text = text.replace(key, value)
            return text

        profile_data = {key: fill(value) for key, value in template["profile"].items()}
        profile = CallerProfile(
            uuid=uuid,
            chan_name=name,
            destination_number=destination,
            direction=profile_data["Direction"],
            logical_direction=profile_data["Logical-Direction"],
            dialplan=profile_data.get("Dialplan", ""),
            caller_id_name=profile_data.get("Caller-ID-Name", ""),
            caller_id_number=profile_data.get("Caller-ID-Number", ""),
            callee_id_name=profile_data.get("Callee-ID-Name", ""),
            callee_id_number=profile_data.get("Callee-ID-Number", ""),
            ani=profile_data.get("ANI", ""),
            source=profile_data.get("Source", ""),
            context=context,
            profile_index=profile_data.get("Profile-Index", "1"),
        )
        now = self.clock.epoch_us()
        profile.times.profile_created = profile.times.created = now
        channel = Channel(
            uuid=uuid,
            name=name,
            profile=profile,
            factory=self.factory,
            direction=profile.direction,
            session_id=self.sessions_since_startup,
        )
        for key, value in template["variables"].items():
            if key == "other_loopback_leg_uuid" and other_uuid is None:
                continue
            channel.set_variable(key, fill(value))
        call_uuid = channel.variables.pop("call_uuid", None)
        for key, value in variables.items():
            channel.set_variable(key, value)
        if call_uuid is not None:
            channel.set_variable("call_uuid", call_uuid)
        return channel

    def _start(self, session: Session) -> None:
        self.sessions[session.uuid] = session
        self.all_sessions.append(session)
        self.session_peak = max(self.session_peak, len(self.sessions))
        session.log(
            "NOTICE",
            "switch_channel.c:1143",
            f"New Channel {session.channel.name} [{session.uuid}]",
        )
        session.start()

    def originate_loopback(
        self,
        *,
        destination: str,
        context: str = "default",
        variables: dict[str, str] | None = None,
        a_leg_target: str = "&park",
        a_leg_program: Callable[[Session], Awaitable[None]] | None = None,
        a_leg_variables: dict[str, str] | None = None,
        socket_target: str | None = None,
        extension: Extension | None = None,
        caller_id: tuple[str, str] | None = None,
    ) -> tuple[Session, Session]:
        """A loopback pair like ``originate loopback/DEST &park``: (A = phone side, B = routed)."""
        a_uuid, b_uuid = self.new_uuid(), self.new_uuid()
        a_channel = self._channel(
            "a_leg",
            a_uuid,
            f"loopback/{destination}-a",
            destination,
            context,
            b_uuid,
            a_leg_variables or {},
        )
        b_channel = self._channel(
            "b_leg",
            b_uuid,
            f"loopback/{destination}-b",
            destination,
            context,
            a_uuid,
            variables or {},
        )
        if caller_id is not None:
            for channel in (a_channel, b_channel):
                channel.profile.caller_id_name, channel.profile.caller_id_number = caller_id
        program = a_leg_program or _a_leg_program(a_leg_target)
        a_leg = Session(self, a_channel, program=program)
        b_leg = Session(self, b_channel, socket_target=socket_target)
        a_leg.partner, b_leg.partner = b_leg, a_leg
        if extension is not None:
            self._first_extension[b_uuid] = extension
        self._start(a_leg)
        self._start(b_leg)
        return a_leg, b_leg

    async def originate_agent_leg(
        self, caller: Session, destination: str, variables: dict[str, str]
    ) -> Session | None:
        """``bridge loopback/DEST``: a loopback pair whose A leg is bridged to the caller
        and whose B leg (the agent's phone side) runs extension DEST (``answer`` then
        ``park`` unless the dialplan says otherwise)."""
        context = caller.channel.profile.context
        extension = self.dialplan.find(destination, context) or Extension(
            "agent", destination, [Action("answer"), Action("park")], context
        )
        agent, _ = self.originate_loopback(
            destination=destination,
            context=context,
            a_leg_variables=variables,
            a_leg_program=_answered_then(agent_leg_program),
            extension=extension,
        )
        observer = self.agent_observers.get(destination)
        if observer is not None:
            agent.observers.append(observer)
        await _first(agent.answered_event, agent.hung_up_event, caller.hung_up_event)
        if not caller.channel.ready or not agent.channel.answered:
            agent.hangup("ORIGINATOR_CANCEL")
            return None
        return agent

    def find_extension(self, session: Session, destination: str, context: str) -> Extension | None:
        """The extension a session's routing runs (a call's own extension first)."""
        first = self._first_extension.pop(session.uuid, None)
        if first is not None:
            return first
        return self.dialplan.find(destination, context)

    # -- notifications from sessions ----------------------------------------------------

    def hung_up(self, session: Session, cause: str) -> None:
        """A channel went down: its loopback partner follows one frame later."""
        partner = session.partner
        if partner is not None and not partner.channel.down:
            self.spawn(self._follow(partner, cause))
        for listener in self._controllers.get(session.uuid, []):
            listener.channel_down()

    async def _follow(self, session: Session, cause: str) -> None:
        await self.clock.sleep(FRAME)
        session.hangup(cause)

    async def hangup_settle(self, session: Session) -> None:
        """Called as a hung-up session unwinds: maybe let the linger notice out early."""
        if session.uuid in self._early_notice:
            return
        early = self._early_notice[session.uuid] = self.choose("linger_notice_early")
        if early:
            for listener in list(self._controllers.get(session.uuid, [])):
                await listener.flush_now()

    def destroyed(self, session: Session) -> None:
        """CHANNEL_DESTROY was fired: the channel is gone."""
        self.sessions.pop(session.uuid, None)

    def listener_attached(self, listener: Listener, session: Session) -> None:
        """A listener controls (or watches with myevents) a session."""
        if listener not in self.listeners:
            self.listeners.append(listener)
        self._controllers.setdefault(session.uuid, []).append(listener)

    def listener_opened(self, listener: Listener) -> None:
        """A listener without a session (inbound) was opened."""
        self.listeners.append(listener)

    def listener_closed(self, listener: Listener) -> None:
        """A listener ended."""
        for listeners in self._controllers.values():
            if listener in listeners:
                listeners.remove(listener)

    def session_event_queued(self, session: Session) -> None:
        """An event was queued to a session (a diverted key, a sendevent)."""
        for listener in self._controllers.get(session.uuid, []):
            listener.session_event_queued()

    # -- operations used by the api ------------------------------------------------------

    def uuid_bridge(self, a_uuid: str, b_uuid: str) -> bool:
        """``switch_ivr_uuid_bridge``: take both out of what they run and bridge them."""
        a, b = self.locate(a_uuid), self.locate(b_uuid)
        if a is None or b is None or not a.channel.ready or not b.channel.ready:
            return False
        prepare_uuid_bridge(a, b)
        return True

    async def soft_bridge(self, session: Session) -> None:
        """Run the ``uuid_bridge`` side of a session."""
        await soft_bridge(session)

    def broadcast(self, session: Session, path: str, *, loops: int | None = None) -> None:
        """``switch_ivr_broadcast``: fire a COMMAND event and queue the playback."""
        packet = broadcast_packet(self, path)
        if loops is not None:
            packet = attrs.evolve(packet, headers=(*packet.headers, ("loops", str(loops))))
        self.bus.fire(FsEvent("COMMAND", list(packet.headers)))
        session.queue_private(packet)

    def hold(self, session: Session) -> None:
        """``uuid_hold``: CHANNEL_HOLD, and the partner plays the hold music."""
        channel = session.channel
        session.fire_channel("CHANNEL_HOLD")
        music = channel.get_variable("hold_music")
        if music is None:
            music = "local_stream://moh"
            channel.set_variable("hold_music", music)
        if session.bridged_to is not None:
            session.bridged_to.hold_music = music
            self.broadcast(session.bridged_to, music, loops=-1)

    def send_dtmf(self, session: Session, digits: str) -> None:
        """``uuid_send_dtmf``: keys leave a channel toward its far end."""
        for digit in digits:
            self.media.dtmf_forwarded(session, digit)

    def channel_row(self, session: Session) -> dict[str, str]:
        """One line of ``show channels``."""
        channel = session.channel
        profile = channel.profile
        created = profile.times.created // 1_000_000
        partner = session.bridged_to
        return {
            "uuid": channel.uuid,
            "direction": channel.direction,
            "created": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(created)),
            "created_epoch": str(created),
            "name": channel.name,
            "state": channel.running_state.name,
            "cid_name": profile.caller_id_name,
            "cid_num": profile.caller_id_number,
            "dest": profile.destination_number,
            "application": channel.get_variable("current_application") or "",
            "application_data": channel.get_variable("current_application_data") or "",
            "dialplan": profile.dialplan,
            "context": profile.context,
            "read_codec": "L16",
            "read_rate": "8000",
            "read_bit_rate": "128000",
            "write_codec": "L16",
            "write_rate": "8000",
            "write_bit_rate": "128000",
            "hostname": self.identity.hostname,
            "callstate": channel.callstate.name,
            "call_uuid": partner.uuid if partner is not None else "",
            "initial_cid_num": profile.caller_id_number,
            "initial_dest": profile.destination_number,
            "initial_dialplan": profile.dialplan,
            "initial_context": profile.context,
        }


def _answered_then(
    program: Callable[[Session], Awaitable[None]],
) -> Callable[[Session], Awaitable[None]]:
    """An originating leg's program that starts once the far side answered."""

    async def run(session: Session) -> None:
        await _originating(session)
        if session.channel.ready:
            await program(session)

    return run


def _a_leg_program(target: str) -> Callable[[Session], Awaitable[None]]:
    """The originating leg: once answered, run ``&app(args)`` or route to an extension."""

    async def program(session: Session) -> None:
        await _originating(session)
        if not session.channel.ready:
            return
        session.set_running_state(ChannelState.CS_EXECUTE)
        if target.startswith("&"):
            app, _, rest = target[1:].partition("(")
            await session.execute_application(app, rest.rstrip(")") or None, source="dialplan")
            return
        session.channel.profile.destination_number = target
        extension = session.switch.dialplan.find(target, session.channel.profile.context)
        if extension is not None:
            await session.run_extension(extension)

    return program


async def _originating(session: Session) -> None:
    """An originated leg: CHANNEL_ORIGINATE, routing, then media until the far side answers."""
    session.fire_channel("CHANNEL_ORIGINATE")
    session.set_running_state(ChannelState.CS_ROUTING)
    session.set_running_state(ChannelState.CS_CONSUME_MEDIA)
    await _first(session.answered_event, session.hung_up_event)


async def _first(*events: asyncio.Event) -> None:
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
