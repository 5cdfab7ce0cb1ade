"""One event-socket connection, as ``mod_event_socket``'s listener handles it.

Shared by both directions: the outbound socket FreeSWITCH opens to paymentd for
a call, and the inbound connections paymentd opens to port 8021.  Commands are
matched the way ``parse_command`` matches them: by a case-insensitive prefix of
the raw packet, in FreeSWITCH's order, with its exact reply texts (quirks
included: ``-ERR aready enabled.``, ``-ERR not loging``, ...).

The connection loop mirrors ``read_packet``: between packets it moves diverted
session events into its queue, writes every queued event, notices a hang-up
(linger notice, or close) and sleeps on the socket for up to one 20 ms tick.
So events go out on the listener's own tick, after the reply to any command
that arrived meanwhile, and a DTMF event diverted through the session queue
can land after events fired directly (the "key after its playback's COMPLETE"
order seen in the captures).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
from collections import deque
from typing import TYPE_CHECKING

from paymentd.testing.bus import EVENT_NAMES, Subscription
from paymentd.testing.channel import ChannelState, is_true
from paymentd.testing.clock import FRAME
from paymentd.testing.events import FsEvent
from paymentd.testing.fslog import LEVELS
from paymentd.testing.records import WireRecord
from paymentd.testing.wire import (
    ContentLengthRejected,
    Packet,
    PacketReader,
    api_response,
    command_reply,
    disconnect_notice,
    event_frame,
    linger_notice,
    raw_reply,
)

if TYPE_CHECKING:
    from paymentd.testing.session import Session
    from paymentd.testing.switch import Switch

__all__ = ["Listener"]

_FIRST_PACKET_TIMEOUT = 25


class Listener:
    """An event-socket connection and the state FreeSWITCH keeps for it."""

    def __init__(
        self,
        switch: Switch,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        session: Session | None = None,
        outbound: bool = False,
        full: bool = True,
        async_mode: bool = True,
        password: str | None = None,
    ) -> None:
        self.switch = switch
        self.reader = reader
        self.writer = writer
        self.session = session
        self.outbound = outbound
        self.full = full
        self.async_mode = async_mode
        self.password = password or switch.options.password
        self.authed = outbound
        self.running = True
        self.connected = False
        self.events_on = False
        self.myevents = False
        self.format = "plain"
        self.subscription = Subscription()
        self.filters: list[tuple[str, str]] = []
        self.linger = False
        self.linger_time = 0
        self.resume = False
        self.logging = False
        self.wire: list[WireRecord] = []
        self.closed = asyncio.Event()
        self.connected_event = asyncio.Event()
        self.myevents_event = asyncio.Event()
        self.closed_by: str | None = None
        self.origin = switch.clock.now()
        self._queue: deque[FsEvent] = deque()
        self._packets = PacketReader()
        self._eof = False
        self._data = asyncio.Event()
        self._work = asyncio.Event()
        self._disco_handled = False
        self._linger_deadline: float | None = None
        self._reader_task: asyncio.Task[None] | None = None

    # -- the bus delivers here ------------------------------------------------------------

    def offer(self, event: FsEvent) -> None:
        """``event_handler``: queue the event if subscription, filters and myevents allow."""
        if not self.events_on or not self.running:
            return
        send = self.subscription.matches(event)
        if send and self.filters:
            send = self._filters_allow(event)
        if send and self.myevents:
            uuid = event.unique_id
            if uuid is None or (self.session is not None and uuid != self.session.uuid):
                send = False
            if self.session is not None and event.get("Job-Owner-UUID") == self.session.uuid:
                send = True
        if send:
            self._queue.append(event)
            self._work.set()

    def _filters_allow(self, event: FsEvent) -> bool:
        send = False
        for name, wanted in self.filters:
            value = event.get(name)
            if value is None:
                continue
            positive = True
            text = wanted
            while text and text[0] in "+- ":
                if text[0] == "+":
                    positive = True
                elif text[0] == "-":
                    positive = False
                text = text[1:]
            if send and positive:
                continue
            if wanted.startswith("/"):
                matched = re.search(text.strip("/"), value) is not None
            else:
                matched = value.lower() == text.lower()
            if matched:
                if positive:
                    send = True
                else:
                    return False
        return send

    def session_event_queued(self) -> None:
        """The controlling session queued an event (a diverted key)."""
        self._work.set()

    def channel_down(self) -> None:
        """The controlling session hung up."""
        self._work.set()

    # -- bytes ------------------------------------------------------------------------------

    def start_reading(self) -> None:
        """Start moving bytes from the socket into the packet reader."""
        self._reader_task = asyncio.get_running_loop().create_task(self._read_loop())

    async def _read_loop(self) -> None:
        try:
            while True:
                data = await self.reader.read(65536)
                if not data:
                    break
                self.wire.append(WireRecord(self.switch.clock.real_now(), "recv", data))
                self._packets.feed(data)
                self._data.set()
        except (ConnectionError, OSError):
            pass
        finally:
            self._eof = True
            self._data.set()

    async def send(self, data: bytes) -> None:
        """Write bytes as FreeSWITCH does (a failed write is ignored, as there)."""
        if self.writer.is_closing():
            return
        self.wire.append(WireRecord(self.switch.clock.real_now(), "send", data))
        try:
            self.writer.write(data)
            await self.writer.drain()
        except (ConnectionError, OSError):
            self._eof = True

    def _next_packet(self) -> Packet | None:
        packet = self._packets.next_packet()
        if packet is None:
            self._data.clear()
            if self._packets.next_packet() is None and not self._eof:
                return None
        return packet

    async def read_packet(self, timeout: float | None) -> Packet | None:
        """Wait for the next packet; ``None`` on EOF or after ``timeout`` whole seconds."""
        clock = self.switch.clock
        deadline = None if timeout is None else math.floor(clock.epoch()) + timeout
        while True:
            packet = self._next_packet()
            if packet is not None:
                return packet
            if self._eof:
                return None
            wait = None if deadline is None else clock.to_real(deadline - clock.epoch())
            try:
                await asyncio.wait_for(self._data.wait(), wait)
            except TimeoutError:
                return None

    # -- the connection loop --------------------------------------------------------------

    async def serve(self) -> None:
        """Handle commands and deliver events until the connection ends."""
        try:
            while self.running:
                try:
                    packet = self._next_packet()
                except ContentLengthRejected as error:
                    self.switch.log.write("WARNING", "mod_event_socket.c:1318", str(error))
                    break
                if packet is not None:
                    reply = await self.parse_command(packet)
                    if reply:
                        await self.send_reply(reply)
                    continue
                if self._eof:
                    self.closed_by = self.closed_by or "peer"
                    break
                if self._packets.idle:
                    self._pickup_diverted()
                    await self._flush()
                if (
                    self._linger_deadline is not None
                    and math.floor(self.switch.clock.epoch()) > self._linger_deadline
                ):
                    self.switch.log.write(
                        "DEBUG",
                        "mod_event_socket.c:1469",
                        "linger timeout, closing socket",
                        self._uuid,
                    )
                    break
                if self._channel_is_down() and not self._disco_handled:
                    self._disco_handled = True
                    if not self.linger:
                        break
                    await self._send_linger_notice()
                await self._poll()
        finally:
            await self.close()

    async def send_reply(self, reply: str) -> None:
        """Write a ``command/reply``; a reply starting with ``~`` carries whole header lines."""
        await self.send(raw_reply(reply[1:]) if reply.startswith("~") else command_reply(reply))

    @property
    def eof(self) -> bool:
        """The peer closed its side."""
        return self._eof

    def _channel_is_down(self) -> bool:
        return self.session is not None and self.session.channel.down

    def _pickup_diverted(self) -> None:
        session = self.session
        if session is None:
            return
        channel = session.channel
        if channel.state < ChannelState.CS_HANGUP and channel.divert_events:
            while channel.session_events:
                self._queue.append(channel.session_events.popleft())

    async def _flush(self) -> None:
        while self._queue and self.events_on:
            event = self._queue.popleft()
            if self.format == "json":
                payload = event.json()
            elif self.format == "xml":
                payload = event.xml()
            else:
                payload = event.plain()
            await self.send(event_frame(payload, self.format))

    def _has_work(self) -> bool:
        session = self.session
        diverted = (
            session is not None
            and session.channel.divert_events
            and bool(session.channel.session_events)
            and session.channel.state < ChannelState.CS_HANGUP
        )
        down = self._channel_is_down() and not self._disco_handled
        return bool((self._queue and self.events_on) or diverted or down)

    async def _poll(self) -> None:
        """Sleep on the socket like ``switch_poll`` with a 20 ms timeout, but only tick
        when there is something to do."""
        clock = self.switch.clock
        while not self._data.is_set():
            if self._has_work():
                tick = clock.next_tick(self.origin, FRAME)
                await self._wait_data(clock.to_real(tick - clock.now()))
                return
            self._work.clear()
            if self._has_work():
                continue
            limit = None
            if self._linger_deadline is not None:
                limit = clock.to_real(self._linger_deadline + 1 - clock.epoch())
            data = asyncio.ensure_future(self._data.wait())
            work = asyncio.ensure_future(self._work.wait())
            done, pending = await asyncio.wait(
                {data, work}, timeout=limit, return_when=asyncio.FIRST_COMPLETED
            )
            for task in pending:
                task.cancel()
            if not done:
                return

    async def _wait_data(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._data.wait(), max(seconds, 0.0))

    async def _send_linger_notice(self) -> None:
        session = self.session
        assert session is not None
        channel = session.channel
        self.switch.log.write(
            "DEBUG",
            "mod_event_socket.c:1478",
            f"{channel.name} Socket Linger {self.linger_time}",
            self._uuid,
        )
        await self.send(linger_notice(session.uuid, channel.name, self.linger_time))
        if self.linger_time != -1:
            self._linger_deadline = math.floor(self.switch.clock.epoch()) + self.linger_time

    async def flush_now(self) -> None:
        """Deliver what is queued right away (used to provoke the early linger notice)."""
        self._pickup_diverted()
        await self._flush()
        if self._channel_is_down() and not self._disco_handled and self.linger:
            self._disco_handled = True
            await self._send_linger_notice()

    @property
    def _uuid(self) -> str | None:
        return None if self.session is None else self.session.uuid

    async def close(self) -> None:
        """End the connection: resume bookkeeping, the disconnect notice, close."""
        if self.closed.is_set():
            return
        self.running = False
        # Wake the connection loop so it sees that it is over.
        self._data.set()
        self._work.set()
        self.switch.bus.unsubscribe(self)
        self._queue.clear()
        session = self.session
        if session is not None and self.outbound:
            self._resume_dialplan(session)
        if not self._eof:
            await self.send(disconnect_notice(None if session is None else session.uuid))
            self.closed_by = self.closed_by or "freeswitch"
        self.writer.close()
        if self._reader_task is not None:
            self._reader_task.cancel()
        if session is not None:
            session.channel.controlled = False
            session.notify()
            session.unlock()
        self.switch.listener_closed(self)
        self.closed.set()

    def _resume_dialplan(self, session: Session) -> None:
        """mod_event_socket.c:2817-2821: with the listener's resume flag or a true
        ``socket_resume`` variable the channel is set to CS_RESET.  The socket app, if
        it still runs, puts it back to CS_EXECUTE and the dialplan goes on; a channel
        that has left the socket app (a transfer whose target runs) stays in CS_RESET
        and executes nothing more."""
        channel = session.channel
        resume = self.resume or channel.variable_true("socket_resume")
        if (
            channel.state != ChannelState.CS_HIBERNATE
            and channel.transfer_to is None
            and resume
            and not channel.down
        ):
            session.log(
                "DEBUG",
                "mod_event_socket.c:2820",
                f"({channel.name}) State Change {channel.state.name} -> CS_RESET",
            )
            channel.state = ChannelState.CS_RESET

    # -- commands ---------------------------------------------------------------------------

    async def parse_command(self, packet: Packet) -> str | None:
        """``parse_command``: the reply text, or ``None`` when the reply was written already."""
        cmd = packet.command
        low = cmd.lower()
        line = packet.line
        if low.startswith("exit") or cmd.startswith("..."):
            self.running = False
            self.closed_by = "exit"
            return "+OK bye"
        if not self.authed:
            return self._auth(line)
        if low.startswith("filter "):
            return self._filter(line)
        session = self.session
        if session is not None and low.startswith("resume"):
            self.resume = True
            session.channel.set_variable("socket_resume", "true")
            return "+OK"
        if session is not None or low.startswith("myevents "):
            if session is not None and low.startswith("connect"):
                self.connected = True
                self.connected_event.set()
                await self.send(self._connect_reply(session))
                return None
            if session is not None and low.startswith("getvar"):
                name = line.split(" ", 1)[1] if " " in line else ""
                # An unset (or unnamed) variable gives an empty reply, which FreeSWITCH
                # turns into its generic error.
                return session.channel.get_variable(name) or "-ERR command not found"
            if low.startswith("myevents"):
                return self._myevents(cmd, line)
        if low.startswith("divert_events"):
            return self._divert_events(cmd)
        if low.startswith("sendmsg"):
            return await self._sendmsg(packet)
        if self.outbound and not self.full:
            return "-ERR command not found"
        if low.startswith("sendevent"):
            return self._sendevent(packet)
        if low.startswith("api "):
            await self._api(line[4:])
            return None
        if low.startswith("bgapi "):
            return self._bgapi(line[6:], packet.get("job-uuid"))
        if low.startswith("log"):
            level = line[3:].strip().split(" ")[0] or "debug"
            number = LEVELS.get(level.upper())
            if number is None:
                return "-ERR invalid log level"
            self.logging = True
            return f"+OK log level {level} [{number}]"
        if low.startswith("linger"):
            return self._linger(cmd)
        if low.startswith("nolinger"):
            if session is None:
                return "-ERR not controlling a session"
            self.linger = False
            return "+OK will not linger"
        if low.startswith("nolog"):
            if self.logging:
                self.logging = False
                return "+OK no longer logging"
            return "-ERR not loging"
        if low.startswith("event"):
            return self._event(line)
        if low.startswith("nixevent"):
            return self._nixevent(line)
        if low.startswith("noevents"):
            self._queue.clear()
            if self.events_on:
                self.events_on = False
                self.subscription = Subscription()
                return "+OK no longer listening for events"
            return "-ERR not listening for events"
        return "-ERR command not found"

    def _auth(self, line: str) -> str:
        if line.lower().startswith("auth "):
            if line[5:] == self.password:
                self.authed = True
                return "+OK accepted"
            self.running = False
            self.closed_by = "auth"
            return "-ERR invalid"
        return "-ERR command not found"

    def _filter(self, line: str) -> str:
        rest = line[7:].lstrip(" ")
        name, _, value = rest.partition(" ")
        if name.lower() == "delete" and value:
            target, _, target_value = value.partition(" ")
            if target.lower() == "all":
                self.filters.clear()
            else:
                self.filters = [
                    (key, val)
                    for key, val in self.filters
                    if not (
                        key.lower() == target.lower() and (not target_value or val == target_value)
                    )
                ]
            return f"+OK filter deleted. [{target}][{target_value}]"
        if value:
            if name.lower() == "add":
                name, _, value = value.partition(" ")
            self.filters.append((name, value))
            return f"+OK filter added. [{name}]=[{value}]"
        return "-ERR invalid syntax"

    def _connect_reply(self, session: Session) -> bytes:
        fields: dict[str, str | None] = {
            "Content-Type": "command/reply",
            "Reply-Text": "+OK\n",
            "Socket-Mode": "async" if self.async_mode else "static",
            "Control": "full" if self.full else "single-channel",
        }
        return session.channel.event("CHANNEL_DATA", fields).plain()

    def _myevents(self, cmd: str, line: str) -> str:
        if self.myevents:
            return "-ERR aready enabled."
        if self.session is None:
            uuid, _, fmt = line[9:].partition(" ")
            found = self.switch.locate(uuid)
            if found is None and fmt:
                return "-ERR invalid uuid"
            if found is not None:
                self.session = found
                found.lock()
                self.switch.listener_attached(self, found)
            self.async_mode = True
        elif "json" in cmd or "JSON" in cmd:
            self.format = "json"
        elif "xml" in cmd or "XML" in cmd:
            self.format = "xml"
        self.subscription.add_words(
            [
                "CHANNEL_ANSWER",
                "CHANNEL_APPLICATION",
                "CHANNEL_BRIDGE",
                "CHANNEL_CREATE",
                "CHANNEL_DATA",
                "CHANNEL_DESTROY",
                "CHANNEL_EXECUTE",
                "CHANNEL_EXECUTE_COMPLETE",
                "CHANNEL_HANGUP",
                "CHANNEL_HANGUP_COMPLETE",
                "CHANNEL_ORIGINATE",
                "CHANNEL_UUID",
                "CHANNEL_OUTGOING",
                "CHANNEL_PARK",
                "CHANNEL_PROGRESS",
                "CHANNEL_PROGRESS_MEDIA",
                "CHANNEL_STATE",
                "CHANNEL_UNBRIDGE",
                "CHANNEL_UNPARK",
                "DETECTED_SPEECH",
                "DTMF",
                "NOTALK",
                "TALK",
            ]
        )
        self.myevents = True
        self.myevents_event.set()
        self.events_on = True
        self.switch.bus.subscribe(self)
        return "+OK Events Enabled"

    def _divert_events(self, cmd: str) -> str:
        if self.session is None:
            return "-ERR not controlling a session."
        value = cmd[13:].lstrip(" ")
        if not value or value[0] in "\r\n":
            return "-ERR missing value."
        value = value.splitlines()[0]
        on = value.lower() == "on"
        self.session.channel.divert_events = on
        return "+OK events diverted" if on else "+OK events not diverted"

    async def _sendmsg(self, packet: Packet) -> str:
        rest = packet.command[7:].lstrip(" ")
        uuid: str | None = None if not rest or rest[0] in "\r\n" else packet.line[7:].lstrip(" ")
        if not uuid:
            uuid = packet.get("session-id")
        session = self.session
        if uuid and session is not None and uuid == session.uuid:
            uuid = None
        if not uuid and session is not None:
            if self.async_mode or is_true(packet.get("async")):
                session.queue_private(packet)
            else:
                await session.parse_event(packet)
            return "+OK"
        target = self.switch.locate(uuid) if uuid else None
        if target is None:
            return f"-ERR invalid session id [{uuid or ''}]"
        target.queue_private(packet)
        return "+OK"

    def _sendevent(self, packet: Packet) -> str:
        line = packet.line
        event_uuid = self.switch.new_uuid()
        name = line[9:].strip(" \t").upper()
        known = bool(name) and Subscription().add_words([name]) == 1 and name != "ALL"
        name = name if known else "CLONE"
        subclass = packet.get("Event-Subclass") if name == "CUSTOM" else None
        headers = [("Command", line)]
        headers += [
            (k, v) for k, v in packet.headers if not (subclass and k.lower() == "event-subclass")
        ]
        headers.append(("Event-UUID", event_uuid))
        if subclass:
            headers.insert(0, ("Event-Subclass", subclass))
        target = packet.get("unique-id")
        found = self.switch.locate(target) if target else None
        if found is not None:
            found.channel.session_events.append(FsEvent(name, headers, packet.body))
            found.notify()
            self.switch.session_event_queued(found)
        else:
            event = FsEvent(name, headers + self.switch.factory.base(name), packet.body)
            self.switch.bus.fire(event)
        return f"+OK {event_uuid}"

    async def _api(self, text: str) -> None:
        command, _, argument = text.partition(" ")
        result = await self.switch.api.execute(command, argument or None, listener=self)
        await self.send(api_response(result))

    def _bgapi(self, text: str, job_uuid: str | None) -> str:
        command, _, argument = text.partition(" ")
        job = job_uuid or self.switch.new_uuid()
        owner = None if self.session is None else self.session.uuid
        self.switch.spawn(self._background(job, owner, command, argument or None))
        return f"~Reply-Text: +OK Job-UUID: {job}\nJob-UUID: {job}\n\n"

    async def _background(
        self, job: str, owner: str | None, command: str, argument: str | None
    ) -> None:
        result = await self.switch.api.execute(command, argument, listener=self)
        fields = {
            "Job-UUID": job,
            "Job-Owner-UUID": owner,
            "Job-Command": command,
            "Job-Command-Arg": argument,
        }
        self.switch.bus.fire(
            self.switch.factory.build("BACKGROUND_JOB", fields=fields, body=result)
        )

    def _linger(self, cmd: str) -> str:
        if self.session is None:
            return "-ERR not controlling a session"
        if cmd[6:7] == " " and cmd[7:8]:
            self.linger_time = _atoi(cmd[7:])
            self.linger = True
            return f"+OK will linger {self.linger_time} seconds"
        self.linger_time = -1
        self.linger = True
        return "+OK will linger"

    def _event(self, line: str) -> str:
        words = line[5:].split(" ")[1:] if " " in line[5:] else []
        if words and words[0].lower() in ("plain", "json", "xml"):
            self.format = words[0].lower()
            words = words[1:]
        if self.subscription.add_words(words) == 0:
            return "-ERR no keywords supplied"
        if not self.events_on:
            self.events_on = True
            self.switch.bus.subscribe(self)
        return f"+OK event listener enabled {self.format}"

    def _nixevent(self, line: str) -> str:
        words = line[8:].split(" ")[1:] if " " in line[8:] else []
        known = 0
        custom = False
        names = self.subscription.names
        for word in words:
            upper = word.upper()
            if custom:
                self.subscription.subclasses.discard(word)
            elif upper in EVENT_NAMES:
                known += 1
                if upper == "CUSTOM":
                    custom = True
                elif upper == "ALL":
                    names.clear()
                else:
                    if "ALL" in names:
                        # Unsubscribing one type from ALL keeps every other type.
                        names.clear()
                        names.update(EVENT_NAMES - {"ALL"})
                    names.discard(upper)
        if not known:
            return "-ERR no keywords supplied"
        self.events_on = True
        return "+OK events nixed"


def _atoi(text: str) -> int:
    match = re.match(r"\s*([+-]?\d+)", text)
    return int(match.group(1)) if match else 0
