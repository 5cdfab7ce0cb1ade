"""Every command of the captures' REPLIES.md, answered with FreeSWITCH's exact bytes.

Each scenario is a list of steps replayed on one connection by a raw client;
``{A}`` and ``{B}`` stand for the caller-side and the controlled leg of the call
(``{C}``/``{G}``/``{P}`` for the customer leg, the agent leg and the customer's
phone in the bridge scenario).  The last test checks, when the captures are
available, that every (command, reply) pair of REPLIES.md is exercised here.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

import attrs
import pytest

from paymentd.testing import Action, Extension
from tests.testing.conftest import CARD, HELLO, LONG, SCALE, make_simulator
from tests.testing.rawesl import Message, Paymentd, Peer, client, execute

HANGUP = "sendmsg\ncall-command: hangup\nhangup-cause: NORMAL_CLEARING\n\n"
INVALID = "/usr/freeswitch/share/freeswitch/sounds/esl_test/invalid_8k.wav"
PAGD = f"4 19 3 5000 # {CARD} {INVALID} card_digits"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
ZERO = "00000000-0000-0000-0000-000000000000"
SHOW_CHANNELS_HEADER = (
    "uuid,direction,created,created_epoch,name,state,cid_name,cid_num,ip_addr,dest,application,"
    "application_data,dialplan,context,read_codec,read_rate,read_bit_rate,write_codec,write_rate,"
    "write_bit_rate,secure,hostname,presence_id,presence_data,accountcode,callstate,callee_name,"
    "callee_num,callee_direction,call_uuid,sent_callee_name,sent_callee_num,initial_cid_name,"
    "initial_cid_num,initial_ip_addr,initial_dest,initial_dialplan,initial_context"
)
CONNECT_END = (
    b"Content-Type: command/reply\nReply-Text: %2BOK%0A\nSocket-Mode: async\nControl: full\n\n"
)
STATUS = re.compile(
    rb"Content-Type: api/response\nContent-Length: \d+\n\n"
    rb"UP 0 years, \d+ days, \d+ hours, \d+ minutes, \d+ seconds, \d+ milliseconds, "
    rb"\d+ microseconds\n"
    rb"FreeSWITCH \(Version 1\.11\.3-dev git cc93a68 2026-08-21 14:10:14Z 64bit\) is ready\n"
    rb"\d+ session\(s\) since startup\n(.+\n)+"
)
JOB = re.compile(
    rb"Content-Type: command/reply\nReply-Text: \+OK Job-UUID: (\S{36})\nJob-UUID: \1\n\n"
)
TO_NOWHERE = (
    f"sendmsg {ZERO}\ncall-command: execute\nexecute-app-name: playback\nexecute-app-arg: {HELLO}"
)
DISCONNECT = (
    b"Content-Length: 67\n\nDisconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"
)


@attrs.frozen
class Step:
    """Send ``send``; expect a reply of ``kind`` with ``text`` (or do ``kind``)."""

    send: str
    kind: str
    text: str = ""


def reply(send: str, text: str) -> Step:
    return Step(send, "reply", text)


def api(command: str, body: str) -> Step:
    return Step(f"api {command}", "api", body)


def job(command: str) -> Step:
    return Step(f"bgapi {command}", "job")


def silent(send: str) -> Step:
    """No reply at all (the first packet before connect, a rejected packet)."""
    return Step(send, "none")


def wait(event: str, app: str = "") -> Step:
    return Step("", "event", f"{event}/{app}")


def keys(digits: str) -> Step:
    return Step(digits, "keys")


CONNECT = Step("connect", "connect", "103")


def expected_bytes(step: Step, names: dict[str, str]) -> bytes:
    text = step.text.format(**names)
    if step.kind == "reply":
        return f"Content-Type: command/reply\nReply-Text: {text}\n\n".encode()
    body = text.encode()
    return b"Content-Type: api/response\nContent-Length: %d\n\n" % len(body) + body


async def next_reply(peer: Peer) -> Message:
    """The next reply, skipping events and the linger notice."""
    while True:
        message = await peer.next()
        if message.content_type in ("command/reply", "api/response"):
            return message


Press = Callable[[str], Awaitable[None]]


async def play(
    peer: Peer, steps: list[Step], names: dict[str, str], press: Press | None = None
) -> None:
    for step in steps:
        packet = step.send.format(**names)
        if step.kind == "event":
            name, app = step.text.split("/")
            await peer.event(name, app or None)
            continue
        if step.kind == "events":
            # Events of several channels, in whatever order they come.
            wanted = step.text.split()
            while wanted:
                name = (await peer.next()).event_name
                if name in wanted:
                    wanted.remove(name)
            continue
        if step.kind == "custom":
            # A sendevent queued to the session comes back without an Event-Name.
            while (await peer.next()).ev("Event-Subclass") != step.text:
                pass
            continue
        if step.kind == "keys":
            assert press is not None
            await press(packet)
            continue
        await peer.send(packet if packet.endswith("\n\n") else packet + "\n\n")
        if step.kind == "none":
            continue
        message = await next_reply(peer)
        if step.kind == "connect":
            assert message.raw.startswith(b"Event-Name: CHANNEL_DATA\n")
            assert message.raw.endswith(CONNECT_END)
            # 103 for a fresh loopback call, more when the dialplan set variables.
            assert len(message.headers) == int(step.text)
        elif step.kind == "status":
            assert STATUS.fullmatch(message.raw), message.raw
        elif step.kind == "channels":
            lines = message.body.decode().split("\n")
            assert lines[0] == SHOW_CHANNELS_HEADER
            assert lines[-2] == f"{step.text} total."
        elif step.kind == "originate":
            assert re.fullmatch(
                rb"Content-Type: api/response\nContent-Length: 41\n\n\+OK \S{36}\n", message.raw
            )
        elif step.kind == "reply_raw":
            assert (
                message.raw == f"Content-Type: command/reply\nReply-Text: {step.text}\n\n".encode()
            )
        elif step.kind == "sendevent":
            assert re.fullmatch(
                rb"Content-Type: command/reply\nReply-Text: \+OK \S{36}\n\n", message.raw
            )
        elif step.kind == "job":
            assert JOB.fullmatch(message.raw), (packet, message.raw)
        else:
            assert message.raw == expected_bytes(step, names), packet


# -- outbound ---------------------------------------------------------------------------

VARIABLES = [
    CONNECT,
    reply("myevents", "+OK Events Enabled"),
    reply("linger 30", "+OK will linger 30 seconds"),
    reply(execute("answer"), "+OK"),
    wait("CHANNEL_EXECUTE_COMPLETE", "answer"),
    reply("getvar pay_var", "-ERR command not found"),
    reply(execute("set", "pay_var=hello world"), "+OK"),
    wait("CHANNEL_EXECUTE_COMPLETE", "set"),
    reply("getvar pay_var", "hello world"),
    reply(execute("export", "pay_export=exported_value"), "+OK"),
    wait("CHANNEL_EXECUTE_COMPLETE", "export"),
    reply("getvar pay_export", "exported_value"),
    reply("getvar export_vars", "pay_export"),
    api("uuid_getvar {B} pay_export", "exported_value"),
    api("uuid_getvar {A} pay_export", "_undef_"),
    reply(execute("unset", "pay_var"), "+OK"),
    wait("CHANNEL_EXECUTE_COMPLETE", "unset"),
    reply("getvar pay_var", "-ERR command not found"),
    api("uuid_getvar {B} pay_var", "_undef_"),
    reply("getvar", "-ERR command not found"),
    reply("getvar uuid", "{B}"),
    reply("getvar channel_name", "loopback/7777-b"),
    api("uuid_setvar {B} pay_api_var via_api", "+OK\n"),
    reply("getvar pay_api_var", "via_api"),
    reply(execute("set", "pay_multi=a b c"), "+OK"),
    wait("CHANNEL_EXECUTE_COMPLETE", "set"),
    reply("getvar pay_multi", "a b c"),
    reply(execute("set", body="pay_ref=REF 0001 with spaces & symbols=;\n\n"), "+OK"),
    wait("CHANNEL_EXECUTE_COMPLETE", "set"),
    reply("getvar pay_ref", "REF 0001 with spaces & symbols=;"),
    reply(execute("set", "call_tag=call-one"), "+OK"),
    wait("CHANNEL_EXECUTE_COMPLETE", "set"),
    reply("getvar call_tag", "call-one"),
    reply(execute("set", "digits_dialed_filter=(\\d+)"), "+OK"),
    wait("CHANNEL_EXECUTE_COMPLETE", "set"),
    api("uuid_setvar {B} digits_dialed_filter (\\d+)", "+OK\n"),
    reply("getvar digits_dialed_filter", "(\\d+)"),
    api("uuid_getvar {B} digits_dialed_filter", "(\\d+)"),
    reply(execute("set", "digits_dialed_filter=(\\d{{13,19}})"), "+OK"),
    wait("CHANNEL_EXECUTE_COMPLETE", "set"),
    api("uuid_setvar {B} digits_dialed_filter (\\d{{13,19}})", "+OK\n"),
    reply("getvar digits_dialed_filter", "(\\d{{13,19}})"),
    api("uuid_getvar {B} digits_dialed_filter", "(\\d{{13,19}})"),
    reply(execute("set", "playback_terminators=any"), "+OK"),
    wait("CHANNEL_EXECUTE_COMPLETE", "set"),
    reply("getvar playback_terminators", "any"),
    reply(execute("set", "playback_terminators=none"), "+OK"),
    wait("CHANNEL_EXECUTE_COMPLETE", "set"),
    reply("getvar playback_terminators", "none"),
    reply("divert_events on", "+OK events diverted"),
    reply("divert_events off", "+OK events not diverted"),
    reply(execute("set", "sensitive_dtmf=true"), "+OK"),
    reply(execute("set", "sensitive_dtmf=false"), "+OK"),
    reply(execute("set", "socket_resume=true"), "+OK"),
    wait("CHANNEL_EXECUTE_COMPLETE", "set"),
    reply("resume", "+OK"),
    reply("getvar socket_resume", "true"),
    api("uuid_exists {B}", "true"),
    api(f"uuid_exists {ZERO}", "false"),
    api(f"uuid_getvar {ZERO} x", "-ERR No such channel!\n"),
    reply(execute("playback", HELLO), "+OK"),
    wait("CHANNEL_EXECUTE", "playback"),
    api("uuid_getvar {B} current_application", "playback"),
    api("uuid_send_dtmf {A} 4111111111111111#", "+OK {A} sent DTMF 4111111111111111#.\n"),
    api("uuid_break {B}", "+OK\n"),
    wait("CHANNEL_EXECUTE_COMPLETE", "playback"),
    reply(HANGUP, "+OK"),
    wait("CHANNEL_HANGUP_COMPLETE"),
    reply("exit", "+OK bye"),
]

SENDEVENT = [
    CONNECT,
    reply("myevents", "+OK Events Enabled"),
    reply("linger 30", "+OK will linger 30 seconds"),
    reply(execute("answer"), "+OK"),
    wait("CHANNEL_EXECUTE_COMPLETE", "answer"),
    Step(
        "sendevent CUSTOM\nEvent-Subclass: paymentd::segment\nPayment-Segment: card_entry\n"
        "Payment-Status: started\nCall-UUID: {B}\n\n",
        "sendevent",
    ),
    Step(
        "sendevent CUSTOM\nEvent-Subclass: paymentd::segment\nPayment-Segment: card_entry\n"
        "Payment-Status: done\ncontent-length: 29\n\nsegment=card_entry\nresult=ok\n\n\n",
        "sendevent",
    ),
    reply("event plain CUSTOM paymentd::segment", "+OK event listener enabled plain"),
    Step(
        "sendevent CUSTOM\nEvent-Subclass: paymentd::segment\nPayment-Segment: no_unique_id_2\n\n",
        "sendevent",
    ),
    Step(
        "sendevent CUSTOM\nEvent-Subclass: paymentd::segment\nPayment-Segment: with_unique_id\n"
        "Unique-ID: {B}\n\n",
        "sendevent",
    ),
    Step("", "custom", "paymentd::segment"),
    reply("divert_events on", "+OK events diverted"),
    Step(
        "sendevent CUSTOM\nEvent-Subclass: paymentd::segment\n"
        "Payment-Segment: with_unique_id_diverted\nUnique-ID: {B}\n\n",
        "sendevent",
    ),
    reply(HANGUP, "+OK"),
    wait("CHANNEL_HANGUP_COMPLETE"),
]

PLAY_AND_GET_DIGITS = [
    CONNECT,
    reply("myevents", "+OK Events Enabled"),
    reply("linger 30", "+OK will linger 30 seconds"),
    reply(execute("answer"), "+OK"),
    wait("CHANNEL_EXECUTE_COMPLETE", "answer"),
    reply(execute("play_and_get_digits", f"{PAGD} \\d+ 3000"), "+OK"),
    wait("CHANNEL_EXECUTE", "play_and_get_digits"),
    keys("4111111111111111#"),
    wait("CHANNEL_EXECUTE_COMPLETE", "play_and_get_digits"),
    reply("getvar card_digits", "4111111111111111"),
    reply("getvar read_result", "success"),
    reply(
        execute("play_and_get_digits", PAGD.replace("4 19 3", "4 19 1") + " ^4\\d{{15}}$ 3000"),
        "+OK",
    ),
    wait("CHANNEL_EXECUTE", "play_and_get_digits"),
    keys("5555555555554444#"),
    wait("CHANNEL_EXECUTE_COMPLETE", "play_and_get_digits"),
    reply("getvar card_digits", "-ERR command not found"),
    reply("getvar read_result", "success"),
    reply(execute("play_and_get_digits", PAGD.replace("4 19 3", "4 19 1") + " \\d+ 3000"), "+OK"),
    wait("CHANNEL_EXECUTE", "play_and_get_digits"),
    keys("12#"),
    wait("CHANNEL_EXECUTE_COMPLETE", "play_and_get_digits"),
    reply("getvar card_digits", "12"),
    reply("getvar read_result", "failure"),
    reply(
        execute("play_and_get_digits", PAGD.replace("4 19 3 5000", "4 19 2 3000") + " \\d+ 3000"),
        "+OK",
    ),
    wait("CHANNEL_EXECUTE_COMPLETE", "play_and_get_digits"),
    reply("getvar card_digits", "-ERR command not found"),
    reply("getvar read_result", "failure"),
    reply(HANGUP, "+OK"),
]

ERRORS = [
    CONNECT,
    reply("myevents", "+OK Events Enabled"),
    reply("linger 5", "+OK will linger 5 seconds"),
    reply(execute("answer"), "+OK"),
    wait("CHANNEL_EXECUTE_COMPLETE", "answer"),
    reply("myevents", "-ERR aready enabled."),
    reply("foobar", "-ERR command not found"),
    reply("divert_events", "-ERR missing value."),
    reply("divert_events maybe", "+OK events not diverted"),
    api("nosuchcommand", "-ERR nosuchcommand Command not found!\n"),
    api("nosuchcommand arg1 arg2", "-ERR nosuchcommand Command not found!\n"),
    api("uuid_getvar", "-USAGE: <uuid> <var>\n"),
    job("nosuchcommand"),
    reply("event plain BACKGROUND_JOB", "+OK event listener enabled plain"),
    job("nosuchcommand"),
    wait("BACKGROUND_JOB"),
    job("uuid_getvar {B} uuid"),
    wait("BACKGROUND_JOB"),
    reply(TO_NOWHERE, f"-ERR invalid session id [{ZERO}]"),
    reply("sendmsg\nfoo: bar", "+OK"),
    reply("sendmsg\ncall-command: bogus", "+OK"),
    reply("sendmsg\ncall-command: execute", "+OK"),
    reply("event plain NOT_A_REAL_EVENT", "-ERR no keywords supplied"),
    reply("event", "-ERR no keywords supplied"),
    reply("nixevent DTMF", "+OK events nixed"),
    reply("sendmsg\ncall-command execute\nexecute-app-name playback", "+OK"),
    reply("auth ClueCon", "-ERR command not found"),
    reply("linger 5", "+OK will linger 5 seconds"),
    reply(execute("nosuchapp", "x y"), "+OK"),
    wait("CHANNEL_HANGUP"),
]

BEFORE_CONNECT = [
    silent("linger 5"),
    reply("myevents", "+OK Events Enabled"),
    reply("getvar uuid", "{B}"),
    reply("getvar channel_name", "loopback/7777-b"),
    reply(execute("answer"), "+OK"),
    CONNECT,
    wait("CHANNEL_EXECUTE_COMPLETE", "answer"),
    reply(HANGUP, "+OK"),
]

LINGER_FOREVER = [
    CONNECT,
    reply("myevents", "+OK Events Enabled"),
    reply("linger", "+OK will linger"),
    reply(HANGUP, "+OK"),
    wait("CHANNEL_HANGUP_COMPLETE"),
    reply("exit", "+OK bye"),
]

NOLINGER = [
    CONNECT,
    reply("myevents", "+OK Events Enabled"),
    reply("nolinger", "+OK will not linger"),
    reply("linger 10", "+OK will linger 10 seconds"),
    reply("nolinger", "+OK will not linger"),
    reply(HANGUP, "+OK"),
]

TRANSFER = [
    CONNECT,
    reply("myevents", "+OK Events Enabled"),
    reply("linger 30", "+OK will linger 30 seconds"),
    reply(execute("answer"), "+OK"),
    wait("CHANNEL_EXECUTE_COMPLETE", "answer"),
    reply(execute("transfer", "7778 XML default"), "+OK"),
    wait("CHANNEL_EXECUTE", "park"),
    api("uuid_getvar {B} current_application", "park"),
    reply(execute("playback", HELLO), "+OK"),
    wait("CHANNEL_EXECUTE_COMPLETE", "playback"),
    reply(HANGUP, "+OK"),
]

BAD_LENGTH = [
    CONNECT,
    silent("sendevent CUSTOM\nEvent-Subclass: paymentd::segment\nContent-Length: -1"),
]

OUTBOUND = {
    "transfer": TRANSFER,
    "bad_length": BAD_LENGTH,
    "variables": VARIABLES,
    "sendevent": SENDEVENT,
    "play_and_get_digits": PLAY_AND_GET_DIGITS,
    "errors": ERRORS,
    "before_connect": BEFORE_CONNECT,
    "linger_forever": LINGER_FOREVER,
    "nolinger": NOLINGER,
}


@pytest.mark.parametrize("scenario", sorted(OUTBOUND))
async def test_outbound_replies(scenario: str, paymentd: Paymentd) -> None:
    simulator = make_simulator(park_event="before_myevents")
    try:
        call = await simulator.place_call(paymentd.address)
        peer = await paymentd.peer()

        async def press(digits: str) -> None:
            await call.caller.press(digits, gap=0.002)

        await play(peer, OUTBOUND[scenario], {"A": call.phone_uuid, "B": call.uuid}, press)
    finally:
        await simulator.close()


# -- inbound ----------------------------------------------------------------------------

BEFORE_AUTH = [
    reply("api status", "-ERR command not found"),
    reply("event plain ALL", "-ERR command not found"),
    reply("auth wrongpassword", "-ERR invalid"),
]

INBOUND_ERRORS = [
    reply("auth ClueCon", "+OK accepted"),
    api("nosuchcommand", "-ERR nosuchcommand Command not found!\n"),
    api("", "-ERR  Command not found!\n"),
    reply("foobar", "-ERR command not found"),
    reply(TO_NOWHERE, f"-ERR invalid session id [{ZERO}]"),
    reply(execute("answer"), "-ERR invalid session id []"),
    reply("linger", "-ERR not controlling a session"),
    reply("nolinger", "-ERR not controlling a session"),
    reply("divert_events on", "-ERR not controlling a session."),
    reply("getvar uuid", "-ERR command not found"),
    reply("resume", "-ERR command not found"),
    reply("connect", "-ERR command not found"),
    reply(f"myevents {ZERO} plain", "-ERR invalid uuid"),
    reply("event plain NOT_A_REAL_EVENT", "-ERR no keywords supplied"),
    reply("event xml DTMF", "+OK event listener enabled xml"),
    reply("event json DTMF", "+OK event listener enabled json"),
    reply("noevents", "+OK no longer listening for events"),
    reply("noevents", "-ERR not listening for events"),
    reply("nolog", "-ERR not loging"),
    reply(f"filter Unique-ID {ZERO}", f"+OK filter added. [Unique-ID]=[{ZERO}]"),
    reply(f"filter delete Unique-ID {ZERO}", f"+OK filter deleted. [Unique-ID][{ZERO}]"),
    reply("exit", "+OK bye"),
]

INBOUND_BASICS = [
    reply("auth ClueCon", "+OK accepted"),
    Step("api status", "status"),
    job("status"),
    reply("event plain BACKGROUND_JOB", "+OK event listener enabled plain"),
    job("status"),
    wait("BACKGROUND_JOB"),
    Step(f"bgapi status\nJob-UUID: {ZERO}", "reply_raw", f"+OK Job-UUID: {ZERO}\nJob-UUID: {ZERO}"),
    wait("BACKGROUND_JOB"),
    api("show channels count", "\n0 total.\n"),
    api("fsctl loglevel notice", "+OK log level: NOTICE [5]\n"),
    api("fsctl loglevel debug", "+OK log level: DEBUG [7]\n"),
    Step("api originate loopback/7778 &park", "originate"),
    api("show channels count", "\n2 total.\n"),
    reply("exit", "+OK bye"),
]

INBOUND_BAD_LENGTH = [
    reply("auth ClueCon", "+OK accepted"),
    silent("sendevent CUSTOM\nEvent-Subclass: paymentd::segment\nContent-Length: -1"),
]

INBOUND = {
    "bad_length": INBOUND_BAD_LENGTH,
    "before_auth": BEFORE_AUTH,
    "errors": INBOUND_ERRORS,
    "basics": INBOUND_BASICS,
}


@pytest.mark.parametrize("scenario", sorted(INBOUND))
async def test_inbound_replies(scenario: str) -> None:
    simulator = make_simulator()
    try:
        server = await simulator.start_inbound()
        peer = await client(*server.address)
        assert (await peer.next()).raw == b"Content-Type: auth/request\n\n"
        await play(peer, INBOUND[scenario], {})
        rest = await peer.drain()
        # Every inbound scenario ends with the goodbye FreeSWITCH writes before it closes.
        assert rest[-1].raw == b"Content-Type: text/disconnect-notice\n" + DISCONNECT
    finally:
        await simulator.close()


BRIDGE_BEFORE_TRANSFER = [
    reply("auth ClueCon", "+OK accepted"),
    reply(
        "event plain CHANNEL_BRIDGE CHANNEL_UNBRIDGE CHANNEL_PARK CHANNEL_HANGUP_COMPLETE DTMF",
        "+OK event listener enabled plain",
    ),
    reply("event plain BACKGROUND_JOB", "+OK event listener enabled plain"),
]
ORIGINATE_BRIDGED = Step(
    f"bgapi originate {{{{loopback_bowout=false}}}}loopback/7779 &park\nJob-UUID: {ZERO}",
    "reply_raw",
    f"+OK Job-UUID: {ZERO}\nJob-UUID: {ZERO}",
)
BRIDGE_OPS = [
    api("uuid_getvar {G} other_loopback_leg_uuid", "{H}"),
    Step("api show channels", "channels", "4"),
    api("uuid_exists {C}", "true"),
    api(f"uuid_exists {ZERO}", "false"),
    api("uuid_getvar {C} bridge_uuid", "{G}"),
    api("uuid_getvar {C} no_such_var", "_undef_"),
    api(f"uuid_getvar {ZERO} x", "-ERR No such channel!\n"),
    api("uuid_setvar {G} park_after_bridge true", "+OK\n"),
    api("uuid_setvar {G} hangup_after_bridge false", "+OK\n"),
    api("uuid_getvar {G} park_after_bridge", "true"),
    api("uuid_send_dtmf {P} 12", "+OK {P} sent DTMF 12.\n"),
    api("uuid_transfer {C} 7777 XML default", "+OK\n"),
]
BRIDGE_AFTER_TRANSFER = [
    api("uuid_getvar {G} current_application", "_undef_"),
    api("uuid_getvar {C} current_application", "playback"),
    api("uuid_bridge {C} {G}", "+OK {G}\n"),
    Step("api show channels", "channels", "4"),
    api("uuid_audio {C} start read mute -4", "+OK\n"),
    api("uuid_audio {C} stop", "+OK\n"),
    api("uuid_audio {C} start read level 2", "+OK\n"),
    api("uuid_audio {C} stop", "+OK\n"),
    api("uuid_audio {C} start", "-USAGE: <uuid> [start [read|write] [mute|level <level>]|stop]\n"),
    api("uuid_record {C} start /tmp/corpus_09_rec.wav", "+OK Success\n"),
    api("uuid_record {C} mask /tmp/corpus_09_rec.wav", "+OK Success\n"),
    api("uuid_send_dtmf {P} 99", "+OK {P} sent DTMF 99.\n"),
    api("uuid_record {C} unmask /tmp/corpus_09_rec.wav", "+OK Success\n"),
    api(
        "uuid_record {C} mask /tmp/not_being_recorded.wav", "-ERR Cannot mask recording session!\n"
    ),
    api("uuid_record {C} stop /tmp/corpus_09_rec.wav", "+OK Success\n"),
    api("uuid_record {C} stop /tmp/corpus_09_rec.wav", "-ERR Cannot stop record session!\n"),
    api(
        "uuid_record {C}",
        "-USAGE: <uuid> [start|stop|mask|unmask] <path> [<limit>] [<recording_vars>]\n",
    ),
    api(f"uuid_broadcast {{C}} {HELLO} aleg", "+OK Message sent\n"),
    api("uuid_hold {C}", "+OK Success\n"),
    api("uuid_getvar {C} hold_music", "local_stream://moh"),
    api("uuid_hold off {C}", "-ERR Operation failed\n"),
    api("uuid_hold toggle {C}", "+OK Success\n"),
    api("uuid_hold toggle {C}", "+OK Success\n"),
    api(f"uuid_setvar {{C}} hold_music {LONG}", "+OK\n"),
    api("uuid_hold {C}", "+OK Success\n"),
    api("uuid_hold {C}", "+OK Success\n"),
    api("uuid_hold off {C}", "-ERR Operation failed\n"),
    api("uuid_exists {C}", "true"),
    api("uuid_kill {P}", "+OK\n"),
    Step("", "events", "CHANNEL_HANGUP_COMPLETE CHANNEL_PARK CHANNEL_UNBRIDGE"),
    api("show channels count", "\n3 total.\n"),
    api("uuid_getvar {G} current_application", "playback"),
    api("uuid_kill {G}", "+OK\n"),
    Step("", "events", "CHANNEL_HANGUP_COMPLETE CHANNEL_HANGUP_COMPLETE"),
    api("show channels count", "\n1 total.\n"),
]
BRIDGED_SOCKET = [
    # A channel that was bridged carries the other leg's profile: 121 headers.
    Step("connect", "connect", "121"),
    reply("myevents", "+OK Events Enabled"),
    reply("linger 30", "+OK will linger 30 seconds"),
    reply(execute("playback", HELLO), "+OK"),
]


async def test_inbound_bridge_operations(paymentd: Paymentd) -> None:
    """Scenario 09: a customer bridged to an agent, moved into paymentd's socket and back."""
    simulator = make_simulator(park_event="before_myevents")
    simulator.dialplan.extensions[0] = Extension(
        "esl_outbound_7777", "7777", [Action.socket(f"{paymentd.address[0]}:{paymentd.address[1]}")]
    )
    try:
        server = await simulator.start_inbound()
        ctl = await client(*server.address)
        await ctl.next()
        await play(ctl, BRIDGE_BEFORE_TRANSFER, {})
        await ctl.send(
            f"bgapi originate {{loopback_bowout=false}}loopback/7779 &park\nJob-UUID: {ZERO}\n\n"
        )
        assert (await next_reply(ctl)).reply_text == f"+OK Job-UUID: {ZERO}"
        seen: dict[str, Message] = {}
        while len(seen) < 2:
            message = await ctl.next()
            if message.event_name in ("BACKGROUND_JOB", "CHANNEL_BRIDGE"):
                seen[message.event_name] = message
        job_done, bridge = seen["BACKGROUND_JOB"], seen["CHANNEL_BRIDGE"]
        names = {
            "P": (job_done.event_body or "").removeprefix("+OK ").strip(),
            "C": bridge.ev("Bridge-A-Unique-ID") or "",
            "G": bridge.ev("Bridge-B-Unique-ID") or "",
        }
        agent = simulator.session(names["G"])
        assert agent is not None
        assert agent.partner is not None
        names["H"] = agent.partner.uuid
        await play(ctl, BRIDGE_OPS, names)
        socket = await paymentd.peer()
        await play(socket, BRIDGED_SOCKET, names)
        await socket.event("CHANNEL_EXECUTE", "playback")
        await play(ctl, BRIDGE_AFTER_TRANSFER, names)
    finally:
        await simulator.close()


RESUME = [
    # 7780 sets before_socket first: one more header than a fresh call.
    Step("connect", "connect", "104"),
    reply("myevents", "+OK Events Enabled"),
    reply("linger 30", "+OK will linger 30 seconds"),
    reply(execute("answer"), "+OK"),
    wait("CHANNEL_EXECUTE_COMPLETE", "answer"),
    reply("resume", "+OK"),
    reply("getvar socket_resume", "true"),
    reply("exit", "+OK bye"),
]
AFTER_RESUME = [
    reply("auth ClueCon", "+OK accepted"),
    api("uuid_getvar {B} after_socket", "reached"),
]


async def test_dialplan_goes_on_after_exit(paymentd: Paymentd) -> None:
    """Scenario 08 (extension 7780): after ``exit`` the call runs the next actions."""
    simulator = make_simulator(park_event="before_myevents")
    try:
        call = await simulator.place_call(paymentd.address, extension="7780")
        names = {"B": call.uuid}
        await play(await paymentd.peer(), RESUME, names)
        await asyncio.sleep(0.05)
        server = await simulator.start_inbound()
        ctl = await client(*server.address)
        await ctl.next()
        await play(ctl, AFTER_RESUME, names)
        assert call.result().extensions == ("esl_resume_7780",)
    finally:
        await simulator.close()


PARALLEL_ONE = [
    CONNECT,
    reply("myevents", "+OK Events Enabled"),
    reply(execute("set", "call_tag=call-one"), "+OK"),
    wait("CHANNEL_EXECUTE_COMPLETE", "set"),
    reply("getvar call_tag", "call-one"),
]
PARALLEL_TWO = [
    CONNECT,
    reply("myevents", "+OK Events Enabled"),
    reply(execute("set", "call_tag=call-two"), "+OK"),
    wait("CHANNEL_EXECUTE_COMPLETE", "set"),
    reply("getvar call_tag", "call-two"),
]


async def test_parallel_calls_stay_apart(paymentd: Paymentd) -> None:
    """Scenario 12: two calls, two sockets, the same channel name, no foreign events."""
    simulator = make_simulator(park_event="before_myevents")
    try:
        one = await simulator.place_call(paymentd.address)
        two = await simulator.place_call(paymentd.address)
        peer_one, peer_two = await paymentd.peer(), await paymentd.peer()
        await asyncio.gather(play(peer_one, PARALLEL_ONE, {}), play(peer_two, PARALLEL_TWO, {}))
        for peer, call in ((peer_one, one), (peer_two, two)):
            events = [m for m in peer.messages if m.event]
            assert events
            assert all(m.ev("Unique-ID") == call.uuid for m in events)
            assert call.variable("channel_name") == "loopback/7777-b"
    finally:
        await simulator.close()


SILENT_DAEMON = [
    reply("auth ClueCon", "+OK accepted"),
    api("originate loopback/7777 &park", "-ERR NO_ANSWER\n"),
]


async def test_a_daemon_that_never_connects(paymentd: Paymentd) -> None:
    """Scenario 10: nothing sent for 25 s: the goodbye, a close, and an unanswered call."""
    simulator = make_simulator()
    simulator.dialplan.extensions[0] = Extension(
        "esl_outbound_7777", "7777", [Action.socket(f"{paymentd.address[0]}:{paymentd.address[1]}")]
    )
    try:
        server = await simulator.start_inbound()
        ctl = await client(*server.address)
        await ctl.next()
        originate = asyncio.ensure_future(play(ctl, SILENT_DAEMON, {}))
        silent_peer = await paymentd.peer()
        started = asyncio.get_running_loop().time()
        notice = await silent_peer.next(timeout=5)
        waited = (asyncio.get_running_loop().time() - started) / SCALE
        assert 24.0 <= waited <= 26.5
        assert notice.raw.startswith(
            b"Content-Type: text/disconnect-notice\nControlled-Session-UUID: "
        )
        assert notice.raw.endswith(b"Content-Disposition: disconnect\n" + DISCONNECT)
        assert await silent_peer.drain() == []
        await originate
        assert "Socket Error!" in simulator.log_text()
    finally:
        await simulator.close()


# -- coverage of the captures' REPLIES.md ---------------------------------------------------

_ROW = re.compile(r"\| [\d.]+ \| `(.*)` \| `(.*)` \|$")


def _normalized(reply_text: str) -> str:
    reply_text = UUID.sub("<U>", reply_text)
    reply_text = re.sub(r"sent DTMF [^ ]+\.", "sent DTMF <D>.", reply_text)
    reply_text = re.sub(r"\[\d+ bytes\] UP .*", "[N bytes] <STATUS>", reply_text)
    reply_text = re.sub(r"\[\d+ bytes\] uuid,direction.*", "[N bytes] <CHANNELS>", reply_text)
    reply_text = re.sub(r"\[\d+ bytes\]", "[N bytes]", reply_text)
    reply_text = re.sub(r"\(connect: \d+ channel-data headers\)", "(connect)", reply_text)
    return "(no reply" if reply_text.startswith("(no reply") else reply_text


def _verb(command: str) -> str:
    words = command.split("\n", 1)[0].split(" ")
    if words[0] in ("api", "bgapi") and len(words) > 1:
        return f"{words[0]} {words[1]}"
    return words[0]


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace("|", "\\|")


def _rendered(step: Step) -> tuple[str, str] | None:
    """A step as REPLIES.md would list it: the command's verb and the reply."""
    dummy = {name: "11111111-2222-3333-4444-555555555555" for name in "ABCGHP"}
    text = step.text.format(**dummy) if step.text and step.kind != "connect" else ""
    connect = (
        "command/reply (connect) ... Reply-Text: %2BOK%0A / Socket-Mode: async / Control: full"
    )
    rendered = {
        "reply": f"command/reply Reply-Text: {_escaped(text)}",
        "api": f"api/response [N bytes] {_escaped(text)}",
        "job": "command/reply Reply-Text: +OK Job-UUID: <U>  (+Job-UUID: <U>)",
        "reply_raw": "command/reply Reply-Text: +OK Job-UUID: <U>  (+Job-UUID: <U>)",
        "sendevent": "command/reply Reply-Text: +OK <U>",
        "connect": connect,
        "status": "api/response [N bytes] <STATUS>",
        "channels": "api/response [N bytes] <CHANNELS>",
        "originate": "api/response [N bytes] +OK <U>\\n",
        "none": "(no reply",
    }.get(step.kind)
    if rendered is None:
        return None
    return _verb(step.send.format(**dummy)), _normalized(rendered)


ALL_STEPS = [
    *(step for steps in OUTBOUND.values() for step in steps),
    *(step for steps in INBOUND.values() for step in steps),
    *BRIDGE_BEFORE_TRANSFER,
    ORIGINATE_BRIDGED,
    *RESUME,
    *AFTER_RESUME,
    *PARALLEL_ONE,
    *PARALLEL_TWO,
    *SILENT_DAEMON,
    *BRIDGE_OPS,
    *BRIDGE_AFTER_TRANSFER,
    *BRIDGED_SOCKET,
]


def test_every_reply_of_the_captures_is_exercised(shared_esl: Path) -> None:
    captured = set()
    for line in (shared_esl / "corpus" / "REPLIES.md").read_text().splitlines():
        match = _ROW.match(line.strip())
        if match:
            captured.add((_verb(match.group(1)), _normalized(match.group(2))))
    exercised = {pair for pair in map(_rendered, ALL_STEPS) if pair is not None}
    assert sorted(captured - exercised) == []
