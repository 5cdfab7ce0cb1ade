"""API commands (``api`` / ``bgapi``) with FreeSWITCH's exact reply texts.

Every call fires an ``API`` event carrying the command and its argument, to
every listener subscribed to ``API`` or ``ALL`` (which is how ``uuid_send_dtmf``
leaks the digits it sends).  Replies are the api bodies: ``+OK\\n``,
``-ERR No such channel!\\n``, the bare value of ``uuid_getvar`` with no newline,
``-USAGE: ...\\n`` for missing arguments, ``-ERR <cmd> Command not found!\\n``.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from paymentd.testing.fslog import LEVELS
from paymentd.testing.media import AudioBug
from paymentd.testing.wire import Packet

if TYPE_CHECKING:
    from paymentd.testing.listener import Listener
    from paymentd.testing.session import Session
    from paymentd.testing.switch import Switch

__all__ = ["Api"]

Handler = Callable[[str], Awaitable[str]]

_AUDIO_USAGE = "-USAGE: <uuid> [start [read|write] [mute|level <level>]|stop]\n"
_RECORD_USAGE = "-USAGE: <uuid> [start|stop|mask|unmask] <path> [<limit>] [<recording_vars>]\n"
_NO_CHANNEL = "-ERR No such channel!\n"
_SHOW_USAGE = (
    "-USAGE: codec|endpoint|application|api|dialplan|file|timer|calls [count]|"
    "channels [count|like <match string>]|calls|detailed_calls|bridged_calls|"
    "detailed_bridged_calls|aliases|complete|chat|management|modules|nat_map|say|"
    "interfaces|interface_types|tasks|limits|status\n"
)
_ORIGINATE_USAGE = (
    "-USAGE: <call url> <exten>|&<application_name>(<app_args>) [<dialplan>] [<context>] "
    "[<cid_name>] [<cid_num>] [<timeout_sec>]\n"
)


class Api:
    """The api commands this simulated FreeSWITCH knows."""

    def __init__(self, switch: Switch) -> None:
        self.switch = switch
        self._handlers: dict[str, Handler] = {
            "status": self.status,
            "version": self.version,
            "show": self.show,
            "fsctl": self.fsctl,
            "originate": self.originate,
            "uuid_exists": self.uuid_exists,
            "uuid_getvar": self.uuid_getvar,
            "uuid_setvar": self.uuid_setvar,
            "uuid_transfer": self.uuid_transfer,
            "uuid_bridge": self.uuid_bridge,
            "uuid_kill": self.uuid_kill,
            "uuid_break": self.uuid_break,
            "uuid_broadcast": self.uuid_broadcast,
            "uuid_audio": self.uuid_audio,
            "uuid_record": self.uuid_record,
            "uuid_hold": self.uuid_hold,
            "uuid_send_dtmf": self.uuid_send_dtmf,
            "uuid_buglist": self.uuid_buglist,
        }

    async def execute(
        self, command: str, argument: str | None, *, listener: Listener | None = None
    ) -> str:
        """Run ``command argument`` and return the api body (``switch_api_execute``)."""
        fields: dict[str, str | None] = {"API-Command": command, "API-Command-Argument": argument}
        handler = self._handlers.get(command)
        if handler is None:
            return f"-ERR {command} Command not found!\n"
        self.switch.bus.fire(self.switch.factory.build("API", fields=fields))
        return await handler(argument or "")

    # -- helpers ------------------------------------------------------------------------

    def _locate(self, uuid: str) -> Session | None:
        return self.switch.locate(uuid) if uuid else None

    # -- core ------------------------------------------------------------------------------

    async def status(self, argument: str) -> str:
        """``status``: the uptime report."""
        switch = self.switch
        up = switch.clock.now()
        days, rest = divmod(up, 86400)
        hours, rest = divmod(rest, 3600)
        minutes, seconds = divmod(rest, 60)
        millis = (seconds % 1) * 1000
        count = len(switch.sessions)
        micros = int(millis % 1 * 1000)
        return (
            f"UP 0 years, {int(days)} days, {int(hours)} hours, {int(minutes)} minutes, "
            f"{int(seconds)} seconds, {int(millis)} milliseconds, {micros} microseconds\n"
            f"FreeSWITCH (Version {switch.identity.version}) is ready\n"
            f"{switch.sessions_since_startup} session(s) since startup\n"
            f"{count} session(s) - peak {switch.session_peak}, last 5min {switch.session_peak} \n"
            f"0 session(s) per Sec out of max 30, peak 4, last 5min 4 \n"
            "1000 session(s) max\n"
            "min idle cpu 0.00/98.00\n"
            "Current Stack Size/Max 240K/8192K\n"
        )

    async def version(self, argument: str) -> str:
        """``version``."""
        return f"FreeSWITCH Version {self.switch.identity.version} (git)\n"

    async def show(self, argument: str) -> str:
        """``show channels`` / ``show channels count``."""
        words = argument.split()
        if not words or words[0] != "channels":
            return _SHOW_USAGE
        sessions = [s for s in self.switch.sessions.values() if not s.destroyed.is_set()]
        if words[1:2] == ["count"]:
            return f"\n{len(sessions)} total.\n"
        columns = self.switch.show_channels_columns
        rows = [",".join(columns)]
        for session in sessions:
            row = self.switch.channel_row(session)
            rows.append(",".join(row.get(column, "") for column in columns))
        return "\n".join(rows) + f"\n\n{len(sessions)} total.\n"

    async def fsctl(self, argument: str) -> str:
        """``fsctl loglevel LEVEL`` (no level switches logging off, as in FreeSWITCH)."""
        words = argument.split()
        if not words or words[0] != "loglevel":
            return "-ERR INVALID COMMAND\n"
        if len(words) < 2:
            self.switch.log.level = -1
            return "+OK log level: DISABLE [-1]\n"
        if not self.switch.log.set_level(words[1]):
            return "-ERR INVALID LOG LEVEL\n"
        return (
            f"+OK log level: {self.switch.log.level_name} [{LEVELS[self.switch.log.level_name]}]\n"
        )

    async def originate(self, argument: str) -> str:
        """``originate [{vars}]loopback/EXT[/CONTEXT] &app(args)|EXTEN``: waits for the answer."""
        words = argument.split()
        if len(words) < 2:
            return _ORIGINATE_USAGE
        match = re.match(r"^(?:\{([^}]*)\})?loopback/([^/]+)(?:/(.+))?$", words[0])
        if match is None:
            return "-ERR CHAN_NOT_IMPLEMENTED\n"
        variables = dict(
            item.split("=", 1) for item in (match.group(1) or "").split(",") if "=" in item
        )
        pair = self.switch.originate_loopback(
            destination=match.group(2),
            context=match.group(3) or "default",
            variables=variables,
            a_leg_target=words[1],
        )
        timeout = float(words[6]) if len(words) > 6 and words[6].isdigit() else 60.0
        a_leg, b_leg = pair
        try:
            await asyncio.wait_for(
                _first(a_leg.answered_event, a_leg.hung_up_event),
                self.switch.clock.to_real(timeout),
            )
        except TimeoutError:
            b_leg.hangup("NO_ANSWER")
            a_leg.hangup("NO_ANSWER")
            return "-ERR NO_ANSWER\n"
        if not a_leg.channel.answered:
            return f"-ERR {a_leg.channel.hangup_cause or 'NORMAL_CLEARING'}\n"
        return f"+OK {a_leg.uuid}\n"

    # -- channels ------------------------------------------------------------------------

    async def uuid_exists(self, argument: str) -> str:
        """``uuid_exists UUID``: bare ``true``/``false``.  ``switch_ivr_uuid_exists`` locks the
        session, which fails once the channel is hanging up (``switch_core_session_read_lock``
        refuses a channel that is down), so a leg that hung up is gone at once, even while
        a lingering socket still holds it."""
        session = self._locate(argument.split(" ")[0])
        return "true" if session is not None and not session.channel.down else "false"

    async def uuid_getvar(self, argument: str) -> str:
        """``uuid_getvar UUID VAR``: the bare value or ``_undef_``.  Like ``uuid_setvar`` it
        locks the session (``switch_core_session_locate``), which fails once the channel is
        hanging up: a channel at CS_HANGUP or later is ``No such channel!`` even while a
        lingering socket still holds it."""
        words = argument.split(" ")
        if len(words) < 2 or not words[0]:
            return "-USAGE: <uuid> <var>\n"
        session = self._locate(words[0])
        if session is None or session.channel.down:
            return _NO_CHANNEL
        if not words[1]:
            return "-ERR No variable name specified!\n"
        return session.channel.get_variable(words[1]) or "_undef_"

    async def uuid_setvar(self, argument: str) -> str:
        """``uuid_setvar UUID VAR [VALUE]`` (no value unsets); ``No such channel!`` once the
        channel is hanging up (see :meth:`uuid_getvar`)."""
        words = argument.split(" ", 2)
        if len(words) not in (2, 3) or not words[0]:
            return "-USAGE: <uuid> <var> [value]\n"
        session = self._locate(words[0])
        if session is None or session.channel.down:
            return _NO_CHANNEL
        if not words[1]:
            return "-ERR No variable specified\n"
        session.channel.set_variable(words[1], words[2] if len(words) == 3 else None)
        return "+OK\n"

    async def uuid_transfer(self, argument: str) -> str:
        """``uuid_transfer UUID [-bleg|-both] DEST [DIALPLAN] [CONTEXT]``."""
        words = argument.split()
        if not 2 <= len(words) <= 5:
            return "-USAGE: <uuid> [-bleg|-both] <dest-exten> [<dialplan>] [<context>]\n"
        session = self._locate(words[0])
        if session is None:
            return _NO_CHANNEL
        rest = words[1:]
        if rest[0].startswith("-"):
            flag, rest = rest[0][1:].lower(), rest[1:]
            partner = session.bridged_to
            if flag == "bleg" and partner is not None:
                session = partner
            elif flag == "both" and partner is not None:
                partner.transfer(*_transfer_args(rest, partner))
        if not rest:
            return "-ERR\n"
        session.transfer(*_transfer_args(rest, session))
        return "+OK\n"

    async def uuid_bridge(self, argument: str) -> str:
        """``uuid_bridge UUID OTHER``: ``+OK OTHER`` and the two are bridged."""
        words = argument.split()
        if len(words) < 2:
            return "-USAGE: <uuid> <other_uuid>\n"
        for other in words[1:3]:
            if self.switch.uuid_bridge(words[0], other):
                return f"+OK {other}\n"
        return "-ERR Invalid uuid\n"

    async def uuid_kill(self, argument: str) -> str:
        """``uuid_kill UUID [CAUSE]``."""
        if not argument:
            return "-USAGE: <uuid> [cause]\n"
        uuid, _, cause = argument.partition(" ")
        session = self._locate(uuid)
        if session is None:
            return _NO_CHANNEL
        session.hangup(cause.upper() if cause else "NORMAL_CLEARING")
        return "+OK\n"

    async def uuid_break(self, argument: str) -> str:
        """``uuid_break UUID [all]``: stop what the channel plays, from outside."""
        if not argument:
            return "-USAGE: <uuid> [all]\n"
        uuid, _, flag = argument.partition(" ")
        session = self._locate(uuid)
        if session is None:
            return _NO_CHANNEL
        if "all" in flag:
            session.private_events.clear()
        session.channel.break_flag = 2 if "all" in flag else 1
        session.notify()
        return "+OK\n"

    async def uuid_broadcast(self, argument: str) -> str:
        """``uuid_broadcast UUID PATH [aleg|bleg|both]``: play on a channel or its partner."""
        words = argument.split(" ")
        if len(words) < 2 or not argument:
            return "-USAGE: <uuid> <path> [aleg|bleg|holdb|both]\n"
        session = self._locate(words[0])
        if session is None:
            return "-ERR invalid uuid\n"
        legs = words[2] if len(words) > 2 else "aleg"
        targets = []
        if "aleg" in legs or "both" in legs:
            targets.append(session)
        if ("bleg" in legs or "both" in legs) and session.bridged_to is not None:
            targets.append(session.bridged_to)
        for target in targets:
            self.switch.broadcast(target, words[1])
        return "+OK Message sent\n"

    async def uuid_audio(self, argument: str) -> str:
        """``uuid_audio UUID start read|write mute|level N`` / ``stop``."""
        words = argument.split(" ")
        if len(words) < 2:
            return _AUDIO_USAGE
        session = self._locate(words[0])
        if session is None:
            return _NO_CHANNEL
        media = self.switch.media
        if words[1].lower() == "stop":
            bug = media.audio_bugs.pop(session.uuid, None)
            if bug is not None:
                fields = {"Media-Bug-Function": "audio", "Media-Bug-Target": bug.function}
                session.fire_channel("MEDIA_BUG_STOP", fields)
            return "+OK\n"
        if (
            words[1].lower() != "start"
            or len(words) < 5
            or words[2].lower() not in ("read", "write")
        ):
            return _AUDIO_USAGE
        if words[3].lower() not in ("mute", "level"):
            return _AUDIO_USAGE
        level = _atoi(words[4])
        bug = AudioBug(words[2].lower(), words[3].lower(), level)
        if session.uuid not in media.audio_bugs:
            session.fire_channel(
                "MEDIA_BUG_START", {"Media-Bug-Function": "audio", "Media-Bug-Target": bug.function}
            )
        media.audio_bugs[session.uuid] = bug
        return "+OK\n"

    async def uuid_record(self, argument: str) -> str:
        """``uuid_record UUID start|stop|mask|unmask PATH``."""
        words = argument.split(" ")
        if len(words) < 3 or not all(words[:3]):
            return _RECORD_USAGE
        session = self._locate(words[0])
        if session is None:
            return "-ERR Cannot locate session!\n"
        action, path = words[1].lower(), words[2]
        media = self.switch.media
        now = self.switch.clock.real_now()
        recording = media.recording(session.uuid, path)
        if action == "start":
            media.start_recording(session, path)
            return "+OK Success\n"
        if action in ("mask", "unmask"):
            if recording is None:
                return f"-ERR Cannot {action} recording session!\n"
            recording.masked = action == "mask"
            recording.mask_changes.append((now, recording.masked))
            return "+OK Success\n"
        if action == "stop":
            if recording is None:
                return "-ERR Cannot stop record session!\n"
            recording.stopped = now
            millis = int((now - recording.started) / self.switch.clock.time_scale * 1000)
            channel = session.channel
            channel.set_variable("record_file_size", str(millis * 16 + 44))
            channel.set_variable("record_samples", str(millis * 8))
            channel.set_variable("record_seconds", str(millis // 1000))
            channel.set_variable("record_ms", str(millis))
            channel.set_variable("record_completion_cause", "success-maxtime")
            fields = {"Record-File-Path": path, "Record-Completion-Cause": "success-maxtime"}
            session.fire_channel("RECORD_STOP", fields)
            session.fire_channel(
                "MEDIA_BUG_STOP", {"Media-Bug-Function": "session_record", "Media-Bug-Target": path}
            )
            return "+OK Success\n"
        return _RECORD_USAGE

    async def uuid_hold(self, argument: str) -> str:
        """``uuid_hold [off|toggle] UUID``, with the loopback quirk: ``off`` always fails."""
        words = argument.split(" ")
        if not argument or not words[0]:
            return "-USAGE: [off|toggle] <uuid> [<display>]\n"
        mode = words[0].lower()
        uuid = words[1] if mode in ("off", "toggle") and len(words) > 1 else words[0]
        session = self._locate(uuid)
        if session is None:
            return "-ERR Operation failed\n"
        if mode == "off":
            # Loopback channels never reach call state HELD, so there is nothing to unhold.
            session.log("WARNING", "switch_ivr.c:1580", "Call is not on hold. No need to unhold.")
            return "-ERR Operation failed\n"
        self.switch.hold(session)
        return "+OK Success\n"

    async def uuid_send_dtmf(self, argument: str) -> str:
        """``uuid_send_dtmf UUID DIGITS``: the keys leave this channel toward its far end."""
        words = argument.split(" ")
        if len(words) < 2 or not words[0] or not words[1]:
            return "-USAGE: <uuid> <dtmf_data>\n"
        session = self._locate(words[0])
        if session is None:
            return "-ERR Cannot locate session!\n"
        self.switch.send_dtmf(session, words[1])
        return f"+OK {words[0]} sent DTMF {words[1]}.\n"

    async def uuid_buglist(self, argument: str) -> str:
        """``uuid_buglist UUID``: the media bugs (recordings, audio) as XML."""
        uuid = argument.split(" ")[0]
        if not uuid:
            return "-USAGE: <uuid>\n"
        session = self._locate(uuid)
        if session is None:
            return ""
        bugs = [("session_record", rec.path) for rec in self.switch.media.active_recordings(uuid)]
        bug = self.switch.media.audio_bugs.get(uuid)
        if bug is not None:
            bugs.append(("audio", bug.function))
        lines = ["<media-bugs>"]
        for function, target in bugs:
            lines += [
                " <media-bug>",
                f"  <function>{function}</function>",
                f"  <target>{target}</target>",
                "  <thread-locked>0</thread-locked>",
                " </media-bug>",
            ]
        lines.append("</media-bugs>")
        return "\n".join(lines) + "\n"


def _transfer_args(words: list[str], session: Session) -> tuple[str, str, str]:
    destination = words[0]
    dialplan = words[1] if len(words) > 1 else "XML"
    context = words[2] if len(words) > 2 else session.channel.profile.context
    return destination, dialplan, context


def _atoi(text: str) -> int:
    match = re.match(r"\s*([+-]?\d+)", text)
    return int(match.group(1)) if match else 0


async def _first(*events: asyncio.Event) -> None:
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


def broadcast_packet(switch: Switch, path: str) -> Packet:
    """The private command ``uuid_broadcast`` queues (it is also fired as a COMMAND event)."""
    headers = [
        *switch.factory.base("COMMAND"),
        ("call-command", "execute"),
        ("execute-app-name", "playback"),
        ("execute-app-arg", path),
        ("event-lock", "true"),
        ("lead-frames", "5"),
    ]
    return Packet("", tuple(headers))
