"""A running channel: its dialplan, its applications and its media loops.

This follows FreeSWITCH's session thread (``switch_core_state_machine.c``,
``switch_core_session.c``, ``switch_ivr.c``, ``switch_ivr_play_say.c``):

* Apps run one after the other.  While an app reads media (``park``,
  ``playback``, ``sleep``) it wakes once per 20 ms frame, and on each frame it
  runs every queued ``sendmsg`` (nested, at depth + 1, unless an
  ``event-lock``-ed one is running), then takes at most one queued key.
* A key taken from the queue becomes a ``DTMF`` event (fired, or queued to the
  session when ``divert_events`` is on, or nothing at all with
  ``sensitive_dtmf``) and is remembered for ``digits_dialed``.
* A ``sendmsg`` processed once media is up is fired again as PRIVATE_COMMAND
  when it finishes; before media it is parsed one per frame and dropped.
* A hang-up fires CHANNEL_HANGUP at once; the apps then unwind (playback
  reports ``PLAYBACK ERROR``, park fires CHANNEL_UNPARK, the socket app
  completes with the last app's stale response) and the session reports
  CS_HANGUP, CS_REPORTING and CHANNEL_HANGUP_COMPLETE.  CHANNEL_DESTROY waits
  until every lock on the session (an event-socket listener holds one) is gone.

The simulator only wakes a loop when something could happen (a key, a
command, a break, a hang-up) and then lands it on the next frame boundary,
which gives the same observable timing as reading a frame every 20 ms.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import math
import re
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Protocol

from paymentd.testing.cdr import HANGUP_CAUSES, cdr_variables, mask_digits_dialed, q850
from paymentd.testing.channel import CallState, Channel, ChannelState, Dtmf, is_true
from paymentd.testing.clock import FRAME
from paymentd.testing.dialplan import Extension
from paymentd.testing.events import FsEvent
from paymentd.testing.records import ActionRecord, PromptRecord
from paymentd.testing.sounds import READ_BLOCK, Audio
from paymentd.testing.wire import Packet

if TYPE_CHECKING:
    from paymentd.testing.switch import Switch

__all__ = ["App", "MediaObserver", "PlayStatus", "Session"]

App = Callable[["Session", str | None], Awaitable[None]]

_DTMF_DIGITS = frozenset("0123456789*#ABCDabcdwWfF")
_VARIABLE = re.compile(r"\$\{([^}]+)\}")


class PlayStatus(enum.Enum):
    """How ``switch_ivr_play_file`` ended."""

    SUCCESS = "done"
    BREAK = "break"
    FALSE = "hangup"
    NOTFOUND = "not-found"


class MediaObserver(Protocol):
    """The party on the far end of a channel (the scripted caller, an agent)."""

    def prompt_started(self, record: PromptRecord) -> None:
        """A playback started on the channel: the far end hears it."""

    def prompt_stopped(self, record: PromptRecord) -> None:
        """That playback stopped."""

    def dtmf_heard(self, digit: str) -> None:
        """A key reached the far end (forwarded across a bridge)."""

    def hung_up(self, cause: str) -> None:
        """The channel hung up."""


class Session:
    """One channel's session task and the primitives its apps use."""

    def __init__(
        self,
        switch: Switch,
        channel: Channel,
        *,
        socket_target: str | None = None,
        program: Callable[[Session], Awaitable[None]] | None = None,
    ) -> None:
        self.switch = switch
        self.channel = channel
        self.socket_target = socket_target
        self.program = program
        self.origin = switch.clock.now()
        self.private_events: deque[Packet] = deque()
        # CF_BROADCAST: a queued execute (uuid_broadcast, sendmsg) is running; only such a
        # one is stopped by switch_channel_stop_broadcast.
        self.broadcasting = False
        self.depth = 0
        self.app_log: list[tuple[str, str]] = []
        self.actions: list[ActionRecord] = []
        self.prompts: list[PromptRecord] = []
        self.extensions_run: list[str] = []
        self.observers: list[MediaObserver] = []
        self.playing: PromptRecord | None = None
        self.partner: Session | None = None
        self.bridged_to: Session | None = None
        # Set on the partner of a held channel: it hears this until unheld.
        self.hold_music: str | None = None
        self.locks = 0
        self.hangup_complete = asyncio.Event()
        self.hung_up_event = asyncio.Event()
        self.answered_event = asyncio.Event()
        self.destroyed = asyncio.Event()
        self._wakeup = asyncio.Event()
        self._unlocked = asyncio.Event()
        self._unlocked.set()
        self.task: asyncio.Task[None] | None = None

    # -- small helpers -----------------------------------------------------------------

    @property
    def uuid(self) -> str:
        """The channel's Unique-ID."""
        return self.channel.uuid

    def notify(self) -> None:
        """Wake the session's media loop (a key, a command, a break, a hang-up)."""
        self._wakeup.set()

    def fire(self, event: FsEvent) -> None:
        """Fire an event on the global bus."""
        self.switch.bus.fire(event)

    def fire_channel(self, name: str, fields: Mapping[str, str | None] | None = None) -> None:
        """Fire an event about this channel."""
        self.fire(self.channel.event(name, fields))

    def log(self, level: str, where: str, message: str, *, clean: bool = False) -> None:
        """Write a log line tagged with this channel's uuid."""
        self.switch.log.write(level, where, message, self.uuid, clean=clean)

    def now_us(self) -> int:
        """Simulated epoch microseconds."""
        return self.switch.clock.epoch_us()

    def expand(self, text: str | None) -> str | None:
        """``switch_channel_expand_variables`` for ``${name}`` (unset names expand to '')."""
        if text is None or "${" not in text:
            return text
        return _VARIABLE.sub(lambda m: self.channel.variables.get(m.group(1), ""), text)

    def lock(self) -> None:
        """Take a read lock (as an event-socket listener does); delays CHANNEL_DESTROY."""
        self.locks += 1
        self._unlocked.clear()

    def unlock(self) -> None:
        """Release a read lock."""
        self.locks -= 1
        if self.locks <= 0:
            self._unlocked.set()

    # -- waiting for media frames ------------------------------------------------------

    def _has_work(self, extra: Callable[[], bool] | None, dtmf: bool) -> bool:
        ch = self.channel
        return bool(
            not ch.ready
            or ch.break_flag
            or ch.leaving
            or (self.private_events and not ch.event_lock)
            or (dtmf and ch.dtmf_queue)
            or (ch.session_events and not ch.divert_events)
            or (extra is not None and extra())
        )

    async def next_frame(
        self,
        timeout: float | None = None,
        *,
        extra: Callable[[], bool] | None = None,
        dtmf: bool = True,
    ) -> None:
        """Block like a media read: until there is work or ``timeout`` (simulated) passes,
        then land on the session's next 20 ms frame boundary.  A hung-up channel reads
        no more frames: the loops unwind at once."""
        if not self.channel.ready:
            await self.switch.hangup_settle(self)
            return
        if not self._has_work(extra, dtmf):
            self._wakeup.clear()
            if not self._has_work(extra, dtmf):
                real = None if timeout is None else self.switch.clock.to_real(max(timeout, 0.0))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), real)
        if self.hung_up_event.is_set():
            await self.switch.hangup_settle(self)
            return
        await self.switch.clock.sleep_until(self.switch.clock.next_tick(self.origin, FRAME))

    # -- state, answer, hang-up -------------------------------------------------------

    def set_running_state(self, state: ChannelState) -> None:
        """Enter a state: fires CHANNEL_STATE."""
        ch = self.channel
        old = ch.running_state
        ch.running_state = state
        if state < ChannelState.CS_HANGUP or state > ch.state:
            ch.state = state
        self.log(
            "DEBUG",
            "switch_core_state_machine.c:581",
            f"({ch.name}) Running State Change {state.name} (Cur 1 Tot 1)",
        )
        if ch.direction == "inbound" and state < ChannelState.CS_HANGUP:
            # An inbound channel rings again whenever it routes (after a transfer too).
            if state == ChannelState.CS_ROUTING:
                self.set_callstate(CallState.RINGING)
            elif ch.answered:
                self.set_callstate(CallState.ACTIVE)
            elif ch.early_media:
                self.set_callstate(CallState.EARLY)
        if old != state:
            self.fire_channel("CHANNEL_STATE")

    def set_callstate(self, callstate: CallState) -> None:
        """Change the call state: fires CHANNEL_CALLSTATE."""
        ch = self.channel
        old = ch.callstate
        if old == callstate:
            return
        ch.callstate = callstate
        self.log(
            "DEBUG",
            "switch_channel.c:3914",
            f"({ch.name}) Callstate Change {old.name} -> {callstate.name}",
        )
        self.fire_channel(
            "CHANNEL_CALLSTATE",
            {
                "Original-Channel-Call-State": old.name,
                "Channel-Call-State-Number": str(int(callstate)),
            },
        )

    def pre_answer(self) -> None:
        """Early media (``switch_channel_pre_answer``) on both legs of a loopback pair."""
        if self.partner is not None:
            self.partner.mark_pre_answered()
        self.mark_pre_answered()

    def mark_pre_answered(self) -> None:
        """This leg has early media: CHANNEL_PROGRESS_MEDIA."""
        ch = self.channel
        if ch.media_ready or ch.down:
            return
        ch.early_media = True
        ch.profile.times.progress_media = self.now_us()
        self.fire_channel("CHANNEL_PROGRESS_MEDIA")
        self.set_callstate(CallState.EARLY)

    def answer(self) -> None:
        """Answer the channel; a loopback pair answers its other leg first."""
        if self.partner is not None:
            self.partner.mark_answered()
        self.mark_answered()

    def mark_answered(self) -> None:
        """This leg is answered: CHANNEL_ANSWER, then the call state."""
        ch = self.channel
        if ch.answered or ch.down:
            return
        ch.answered = True
        ch.profile.times.answered = self.now_us()
        self.log("NOTICE", "mod_dptools.c:1406", f"Channel [{ch.name}] has been answered")
        self.fire_channel("CHANNEL_ANSWER")
        ch.set_variable("endpoint_disposition", "ANSWER")
        self.set_callstate(CallState.ACTIVE)
        self.answered_event.set()
        self.notify()

    def hangup(self, cause: str = "NORMAL_CLEARING") -> None:
        """``switch_channel_hangup``: CHANNEL_HANGUP now, the unwinding follows."""
        ch = self.channel
        if ch.down:
            return
        ch.hangup_cause = cause
        ch.state = ChannelState.CS_HANGUP
        ch.profile.times.hungup = self.now_us()
        self.log(
            "NOTICE",
            "switch_channel.c:3447",
            f"Hangup {ch.name} [{ch.running_state.name}] [{cause}]",
        )
        self.fire_channel("CHANNEL_HANGUP")
        self.hung_up_event.set()
        self.notify()
        if self.bridged_to is not None:
            # The other side of a bridge reads a frame every 20 ms: it sees this at once.
            self.bridged_to.notify()
        for observer in list(self.observers):
            observer.hung_up(cause)
        self.switch.hung_up(self, cause)

    # -- keys ----------------------------------------------------------------------------

    def queue_dtmf(
        self, digit: str, duration: int | None = None, source: str | None = None
    ) -> None:
        """A key arrives on the channel (``switch_channel_queue_dtmf``)."""
        if digit not in _DTMF_DIGITS or self.channel.down:
            return
        options = self.switch.options
        sensitive = self.channel.variable_true("sensitive_dtmf")
        key = Dtmf(
            digit, duration or options.dtmf_duration, source or options.dtmf_source, sensitive
        )
        if not sensitive:
            self.log("INFO", "switch_channel.c:529", f"RECV DTMF {digit}:{key.duration}")
        self.channel.dtmf_queue.append(key)
        self.switch.media.key_received(self, key)
        self.notify()

    def dequeue_dtmf(self) -> Dtmf | None:
        """An app takes one key (``switch_channel_dequeue_dtmf``)."""
        ch = self.channel
        if not ch.dtmf_queue:
            return None
        key = ch.dtmf_queue.popleft()
        if key.sensitive:
            return key
        ch.dtmf_log.append(key)
        event = ch.event(
            "DTMF",
            {
                "DTMF-Digit": key.digit,
                "DTMF-Duration": str(key.duration),
                "DTMF-Source": key.source,
            },
        )
        if ch.divert_events:
            ch.session_events.append(event)
            self.switch.session_event_queued(self)
        else:
            self.fire(event)
        return key

    def flush_dtmf(self) -> None:
        """Queued keys are dropped without an event (``switch_channel_flush_dtmf``); they
        still count in ``digits_dialed``, sensitive ones too (switch_channel.c:734)."""
        ch = self.channel
        while ch.dtmf_queue:
            ch.dtmf_log.append(ch.dtmf_queue.popleft())

    # -- sendmsg ----------------------------------------------------------------------------

    def queue_private(self, packet: Packet) -> None:
        """A ``sendmsg`` for this session (``switch_core_session_queue_private_event``)."""
        self.private_events.append(packet)
        self.notify()

    def dequeue_private(self) -> Packet | None:
        """The next ``sendmsg``, unless an event-locked one is still running."""
        if self.channel.event_lock or not self.private_events:
            return None
        return self.private_events.popleft()

    async def parse_event(self, packet: Packet) -> bool:
        """Carry out one ``sendmsg`` (``switch_ivr_parse_event``); False after a break."""
        ch = self.channel
        command = packet.get("call-command")
        if not command:
            self.log("ERR", "switch_ivr.c:522", "Invalid Command!")
            return False
        locked = is_true(packet.get("event-lock"))
        if locked:
            ch.event_lock = True
        try:
            if command == "execute":
                await self._parse_execute(packet)
            elif command == "hangup":
                cause = packet.get("hangup-cause") or "NORMAL_CLEARING"
                self.hangup(cause.upper() if cause.upper() in HANGUP_CAUSES else "NORMAL_CLEARING")
            elif command not in ("nomedia", "unicast", "xferext"):
                self.log("ERR", "switch_ivr.c:522", "Invalid Command!")
        finally:
            if locked:
                ch.event_lock = False
                self.notify()
        return not ch.break_flag

    async def _parse_execute(self, packet: Packet) -> None:
        ch = self.channel
        app = packet.get("execute-app-name")
        arg = packet.get("execute-app-arg")
        content_type = packet.get("content-type")
        if not arg and content_type and content_type.lower() == "text/plain":
            arg = packet.body
        loops = _atoi(packet.get("loops") or "1")
        if not app:
            return
        outermost = not self.broadcasting
        self.broadcasting = True
        iteration = 0
        while iteration < loops or loops < 0:
            self.log(
                "DEBUG",
                "switch_ivr.c:632",
                f"{ch.name} Command Execute [depth={self.depth}] {app}({arg or ''})",
            )
            started = self.switch.clock.now()
            event_uuid = packet.get("event-uuid")
            if event_uuid:
                ch.set_variable("app_uuid", event_uuid)
            event_uuid_name = packet.get("event-uuid-name")
            if event_uuid_name:
                ch.set_variable("app_uuid_name", event_uuid_name)
            ch.set_variable("current_loop", str(iteration + 1))
            ch.set_variable("total_loops", str(loops))
            if not await self.execute_application(app, arg, source="sendmsg"):
                break
            iteration += 1
            if not ch.ready or ch.stop_broadcast or self.switch.clock.now() - started < 0.5:
                break
        if outermost:
            self.broadcasting = False
        if ch.stop_broadcast:
            # Stopped, not over: the break ends the parsing too, so what is queued behind
            # it stays queued for the channel's next parse (switch_ivr_parse_event).
            ch.break_flag = 1
        ch.stop_broadcast = False
        ch.set_variable("current_loop", None)
        ch.set_variable("total_loops", None)

    async def parse_next_event(self) -> bool:
        """Run the next queued ``sendmsg`` and fire it as PRIVATE_COMMAND."""
        packet = self.dequeue_private()
        if packet is None:
            return False
        ok = await self.parse_event(packet)
        # A packet from a socket carries its raw text; one queued by uuid_broadcast does not.
        headers = [("Command", packet.command)] if packet.command else []
        headers += packet.headers
        self.fire(self.channel.event("PRIVATE_COMMAND", packet=headers, body=packet.body))
        return ok

    async def parse_all_events(self) -> None:
        """Run every queued ``sendmsg`` one level deeper (nested inside the current app)."""
        self.depth += 1
        try:
            while await self.parse_next_event():
                pass
        finally:
            self.depth -= 1

    def next_session_event(self) -> FsEvent | None:
        """An event queued to the session, unless diverted to the controlling socket."""
        ch = self.channel
        if ch.divert_events or not ch.session_events:
            return None
        return ch.session_events.popleft()

    # -- executing applications -----------------------------------------------------------

    async def execute_application(self, app: str, arg: str | None, *, source: str) -> bool:
        """``switch_core_session_execute_application``: an unknown app hangs the call up."""
        implementation = self.switch.apps.get(app)
        if implementation is None:
            self.log("ERR", "switch_core_session.c:2771", f"Invalid Application {app}")
            self.hangup("DESTINATION_OUT_OF_ORDER")
            return False
        await self.exec(app, implementation, arg, source=source)
        return True

    async def exec(self, app: str, implementation: App, arg: str | None, *, source: str) -> None:
        """``switch_core_session_exec``: EXECUTE, the app, EXECUTE_COMPLETE."""
        ch = self.channel
        app_uuid = ch.get_variable("app_uuid")
        if app_uuid:
            ch.set_variable("app_uuid", None)
        else:
            app_uuid = self.switch.new_uuid()
        app_uuid_name = ch.get_variable("app_uuid_name")
        if app_uuid_name:
            ch.set_variable("app_uuid_name", None)
        expanded = arg if ch.variable_true("app_disable_expand_variables") else self.expand(arg)
        self.log(
            "INFO",
            "switch_core_session.c:2930",
            f"EXECUTE [depth={self.depth}] {ch.name} {app}({expanded or ''})",
            clean=True,
        )
        self.app_log.append((app, expanded or ""))
        ch.set_variable("current_application", app)
        ch.set_variable("current_application_data", expanded)
        ch.set_variable("current_application_response", None)
        fields: dict[str, str | None] = {
            "Application": app,
            "Application-Data": expanded,
            "Application-UUID": app_uuid,
            "Application-UUID-Name": app_uuid_name,
        }
        self.fire(ch.event("CHANNEL_EXECUTE", fields))
        ch.break_flag = 0
        ch.set_variable("current_application", app)
        record = ActionRecord(
            app, expanded, source, self.switch.clock.real_now(), ch.uuid, app_uuid
        )
        self.actions.append(record)
        await implementation(self, expanded)
        response = ch.get_variable("current_application_response") or "_none_"
        record.response = response
        record.finished = self.switch.clock.real_now()
        fields["Application-Response"] = response
        self.fire(ch.event("CHANNEL_EXECUTE_COMPLETE", fields))

    # -- media loops --------------------------------------------------------------------

    async def park(self) -> None:
        """``switch_ivr_park``: hold the channel, running sendmsgs and reading keys."""
        ch = self.channel
        ch.controlled = True
        ch.parked = True
        self.fire_channel("CHANNEL_PARK")

        def leaving() -> bool:
            return not (ch.controlled and ch.parked)

        while ch.ready and ch.controlled and ch.parked and not ch.leaving:
            await self.next_frame(extra=leaving)
            if not ch.media_ready:
                # No media to read: one private event per 20 ms; keys and session
                # events are still taken below (switch_ivr.c:1055-1062, 1151).
                packet = self.dequeue_private()
                if packet is not None:
                    await self.parse_event(packet)
            elif not ch.ready or leaving() or ch.leaving:
                break
            await self.parse_all_events()
            self.dequeue_dtmf()
            event = self.next_session_event()
            if event is not None:
                self.fire(_with_channel_data(event, ch))
        if self.hung_up_event.is_set():
            await self.switch.hangup_settle(self)
        ch.controlled = False
        ch.parked = False
        self.fire_channel("CHANNEL_UNPARK")

    async def play_file(
        self,
        file: str,
        *,
        app: str,
        on_key: Callable[[Dtmf], bool] | None = None,
        read_keys: bool = True,
    ) -> PlayStatus:
        """``switch_ivr_play_file``.

        With ``read_keys`` each frame takes one queued key and passes it to
        ``on_key``, which returns True to stop the playback; without it (no input
        arguments, as ``endless_playback``) keys stay queued.
        """
        ch = self.channel
        if not ch.ready:
            return PlayStatus.FALSE
        if not ch.media_ready:
            self.pre_answer()
        audio = self._resolve(file)
        if audio is None:
            self.log("ERR", "switch_ivr_play_say.c:1478", f"Can't open {file}")
            # switch_core_session_reset(session, SWITCH_TRUE, ...): keys keyed meanwhile go.
            self.flush_dtmf()
            # Nothing was heard, but the far end's record says what was tried.
            record = PromptRecord(file, app, ch.uuid, self.switch.clock.real_now())
            self.prompts.append(record)
            for observer in list(self.observers):
                observer.prompt_started(record)
            self._prompt_stopped(record, PlayStatus.NOTFOUND)
            return PlayStatus.NOTFOUND
        fields = {"Playback-File-Type": _file_type(file), "Playback-File-Path": file}
        self.fire_channel("PLAYBACK_START", fields)
        record = PromptRecord(file, app, ch.uuid, self.switch.clock.real_now())
        self._prompt_started(record)
        status = PlayStatus.SUCCESS
        played = 0.0
        total = audio.seconds
        while played < total:
            mark = self.switch.clock.now()
            await self.next_frame(total - played, dtmf=read_keys)
            played += self.switch.clock.now() - mark
            # switch_channel_ready (false once a transfer or uuid_bridge flags the channel)
            # is tested before CF_BREAK: a broadcast that uuid_bridge stops along with that
            # flag ends as FALSE, reported "done", not "break".
            if not ch.ready or ch.leaving:
                status = PlayStatus.FALSE
                break
            if ch.break_flag:
                ch.break_flag = 0
                status = PlayStatus.BREAK
                break
            await self.parse_all_events()
            if not read_keys:
                continue
            key = self.dequeue_dtmf()
            if key is not None and on_key is not None and on_key(key):
                status = PlayStatus.BREAK
                break
            if on_key is not None:
                # An input callback takes queued session events and drops them.
                self.next_session_event()
        self._set_playback_variables(audio, played, complete=status is PlayStatus.SUCCESS)
        fields["Playback-Status"] = "break" if status is PlayStatus.BREAK else "done"
        self.fire_channel("PLAYBACK_STOP", fields)
        self._prompt_stopped(record, status)
        return status

    def _resolve(self, file: str) -> Audio | None:
        sounds = self.switch.sounds
        prefix = self.channel.get_variable("sound_prefix")
        if file.startswith("silence_stream://"):
            millis = _atoi(file.removeprefix("silence_stream://").split(",")[0])
            return Audio(8000 * 3600 if millis <= 0 else millis * 8)
        if file.startswith("file_string://"):
            parts = [
                sounds.lookup(part, prefix)
                for part in file.removeprefix("file_string://").split("!")
            ]
            found = [part for part in parts if part is not None]
            return Audio(sum(part.samples for part in found)) if found else None
        if file.startswith("local_stream://"):
            return sounds.lookup(file, prefix) if file in sounds.durations else None
        if file.startswith("tone_stream://"):
            return Audio(int(sounds.default_seconds * 8000))
        return sounds.lookup(file, prefix)

    def is_terminator(self, key: Dtmf) -> bool:
        """Playback's key callback: log the digit, stop on a ``playback_terminators`` key."""
        ch = self.channel
        self.log("DEBUG", "mod_dptools.c:2372", f"Digit {key.digit}")
        configured = ch.get_variable("playback_terminators")
        terminators = "*" if configured is None else configured
        if terminators.lower() == "any":
            terminators = "1234567890*#"
        elif terminators.lower() == "none":
            terminators = ""
        if key.digit in terminators:
            ch.set_variable("playback_terminator_used", key.digit)
            return True
        return False

    def _set_playback_variables(self, audio: Audio, played: float, *, complete: bool) -> None:
        ch = self.channel
        if complete:
            offset = samples = audio.samples
        else:
            offset = min(audio.samples, int(played * audio.rate))
            samples = min(audio.samples, max(1, math.ceil(offset / READ_BLOCK)) * READ_BLOCK)
        ch.set_variable("playback_last_offset_pos", str(offset))
        ch.set_variable("playback_seconds", str(samples // audio.rate))
        ch.set_variable("playback_ms", str(samples // (audio.rate // 1000)))
        ch.set_variable("playback_samples", str(samples))

    def _prompt_started(self, record: PromptRecord) -> None:
        self.playing = record
        self.prompts.append(record)
        self.switch.media.prompt_started(self, record)
        for observer in list(self.observers):
            observer.prompt_started(record)

    def _prompt_stopped(self, record: PromptRecord, status: PlayStatus) -> None:
        record.stopped = self.switch.clock.real_now()
        record.status = status.value
        self.playing = None
        for observer in list(self.observers):
            observer.prompt_stopped(record)

    async def sleep(self, millis: int, *, eat_digits: bool) -> None:
        """``switch_ivr_sleep``: a key ends it early unless the digits are eaten."""
        ch = self.channel
        end = self.switch.clock.now() + millis / 1000
        while ch.ready and not ch.leaving:
            remaining = end - self.switch.clock.now()
            if remaining <= 0:
                break
            await self.next_frame(remaining)
            if self.hung_up_event.is_set() or ch.leaving:
                break
            if ch.break_flag:
                ch.break_flag = 0
                break
            if self.switch.clock.now() >= end:
                break
            await self.parse_all_events()
            if ch.dtmf_queue:
                if not eat_digits:
                    break
                key = self.dequeue_dtmf()
                if key is not None and self.is_terminator(key):
                    break

    # -- the session's life -----------------------------------------------------------

    def start(self) -> None:
        """Start the session task."""
        self.task = self.switch.spawn(self.run())

    async def run(self) -> None:
        """Route, execute extensions (following transfers), hang up, report, destroy."""
        ch = self.channel
        try:
            self.set_running_state(ChannelState.CS_INIT)
            self.fire_channel("CHANNEL_CREATE")
            if self.program is not None:
                await self.program(self)
            else:
                await self._route_and_execute()
        finally:
            if not ch.down:
                self.hangup("NORMAL_CLEARING")
            await self._report()
            await self._unlocked.wait()
            self._destroy()

    async def _route_and_execute(self) -> None:
        ch = self.channel
        while True:
            self.set_running_state(ChannelState.CS_ROUTING)
            profile = ch.profile
            self.log(
                "INFO",
                "mod_dialplan_xml.c:648",
                f"Processing {profile.caller_id_name} <{profile.caller_id_number}>->"
                f"{profile.destination_number} in context {profile.context}",
            )
            extension = self.switch.find_extension(
                self, profile.destination_number, profile.context
            )
            if extension is None:
                self.log("INFO", "switch_core_state_machine.c:311", "No Route, Aborting")
                self.hangup("NO_ROUTE_DESTINATION")
                return
            self.extensions_run.append(extension.name)
            self.set_running_state(ChannelState.CS_EXECUTE)
            await self.run_extension(extension)
            if ch.state == ChannelState.CS_RESET and ch.ready:
                # Reset by a socket that resumed after the socket app had returned (see
                # Listener._resume_dialplan): nothing sets a new state; it waits to hang up.
                await self.hung_up_event.wait()
                return
            # A uuid_bridge reaching the channel in a soft bridge (or parked after one)
            # takes it through CS_RESET / CS_SOFT_EXECUTE again: bridged anew.
            while ch.soft_bridge is not None and ch.ready:
                await self.switch.soft_bridge(self)
            if ch.transfer_to is not None and ch.ready:
                self._apply_transfer()
                continue
            if ch.ready and not ch.parked:
                self.log(
                    "NOTICE",
                    "switch_core_state_machine.c:339",
                    f"{ch.name} has executed the last dialplan instruction, hanging up.",
                )
                self.hangup("NORMAL_CLEARING")
            return

    async def run_extension(self, extension: Extension) -> None:
        """Execute an extension's actions until one hangs up or moves the call."""
        ch = self.channel
        for action in extension.actions:
            # The execute loop runs while the channel is in CS_EXECUTE (a reset ends it).
            if not ch.ready or ch.leaving or ch.state == ChannelState.CS_RESET:
                return
            data = action.data
            if action.app == "socket" and data is None:
                data = f"{self.socket_target} {action.socket_mode} {action.socket_control}"
            await self.execute_application(action.app, data, source="dialplan")

    def transfer(self, destination: str, dialplan: str = "XML", context: str = "default") -> None:
        """``switch_ivr_session_transfer``: a new caller profile now, routing next."""
        ch = self.channel
        dialplan, context = dialplan or "XML", context or "default"
        now = self.now_us()
        stamp = f"{now // 1_000_000}:{self.switch.new_uuid()}"
        source = f"{stamp}:bl_xfer:{destination}/{context}/{dialplan}"
        created = ch.profile.times.created
        ch.profile = ch.profile.clone_for_transfer(destination, dialplan, context, source)
        # The new profile has no originator or originatee: no Other-Leg block any more.
        ch.other_profile = ch.other_type = None
        ch.profile.times.profile_created = now
        ch.profile.times.created = created
        ch.set_variable("max_forwards", ch.get_variable("max_forwards") or "70")
        ch.push_variable("transfer_history", source)
        ch.set_variable("transfer_source", source)
        ch.state = ChannelState.CS_ROUTING
        ch.transfer_to = (destination, dialplan, context)
        ch.parked = False
        self.notify()

    def _apply_transfer(self) -> None:
        ch = self.channel
        ch.transfer_to = None
        ch.set_variable("call_uuid", ch.get_variable("call_uuid") or ch.uuid)

    async def _report(self) -> None:
        """CS_HANGUP, CS_REPORTING and CHANNEL_HANGUP_COMPLETE with the CDR variables."""
        ch = self.channel
        cause = ch.hangup_cause or "NORMAL_CLEARING"
        self.set_running_state(ChannelState.CS_HANGUP)
        self.set_callstate(CallState.HANGUP)
        ch.set_variable("hangup_cause", cause)
        ch.set_variable("hangup_cause_q850", str(q850(cause)))
        digits = "".join(key.digit for key in ch.dtmf_log)
        ch.set_variable(
            "digits_dialed", mask_digits_dialed(digits, ch.get_variable("digits_dialed_filter"))
        )
        last_app, last_arg = self.app_log[-1] if self.app_log else ("", "")
        for name, value in cdr_variables(ch.profile, last_app, last_arg):
            ch.set_variable(name, value)
        if ch.name.startswith("loopback/"):
            ch.set_variable("is_loopback", "1")
        self.set_running_state(ChannelState.CS_REPORTING)
        self.fire(ch.event("CHANNEL_HANGUP_COMPLETE", {"Hangup-Cause": cause}))
        self.hangup_complete.set()

    def _destroy(self) -> None:
        ch = self.channel
        self.fire_channel("CHANNEL_DESTROY")
        self.set_running_state(ChannelState.CS_DESTROY)
        self.log(
            "NOTICE", "switch_core_session.c:1766", f"Session {ch.session_id} ({ch.name}) Ended"
        )
        self.log("NOTICE", "switch_core_session.c:1770", f"Close Channel {ch.name} [CS_DESTROY]")
        self.destroyed.set()
        self.switch.destroyed(self)


def _with_channel_data(event: FsEvent, channel: Channel) -> FsEvent:
    """An event queued to a session, fired with the channel's data appended."""
    return FsEvent(
        event.name, event.headers + channel.basic_headers() + channel.variable_headers(), event.body
    )


def _file_type(file: str) -> str | None:
    if file.lower().startswith("local_stream:"):
        return "local_stream"
    if file.lower().startswith("tone_stream:"):
        return "tone_stream"
    return None


def _atoi(text: str) -> int:
    match = re.match(r"\s*([+-]?\d+)", text)
    return int(match.group(1)) if match else 0
