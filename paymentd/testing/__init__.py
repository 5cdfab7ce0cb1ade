"""A simulated FreeSWITCH 1.11 for paymentd's integration tests.

FreeSWITCH cannot run in the test environment, so every integration test drives
this simulator over real TCP sockets.  It is built from the real captures in
``../shared/esl`` (byte-exact FreeSWITCH 1.11 transcripts) and from facts read in
FreeSWITCH's source, never from paymentd's code: its own wire reader and writer,
event layouts derived from the captures (``data/``), and the same replies, byte
for byte, as ``corpus/REPLIES.md``.  ``tests/testing`` replays eight captured
calls and checks every message's header names, in order, against the captures.

Quick start (an end-to-end test)::

    from pathlib import Path

    from paymentd.testing import FreeSwitchSimulator, sounds_from

    async def test_pays(paymentd_address):                 # paymentd's (host, port)
        sim = FreeSwitchSimulator(time_scale=0.02, sounds=sounds_from(Path("sounds")))
        try:
            async def customer(caller):
                await caller.wait_for_playback("enter_card")
                await caller.press("4242424242424242#", gap=0.05)
                await caller.wait_for_playback("thank_you")
                await caller.hang_up()

            call = await sim.place_call(
                paymentd_address, variables={"paymentd_amount": "12.50"}, caller=customer
            )
            result = await call.wait_hangup(timeout=30)
            assert result.variables["paymentd_result"] == "success"
            assert "4242424242424242" not in sim.everything_text()
        finally:
            await sim.close()

``FreeSwitchSimulator(time_scale=1.0, options=None, sounds=None, dialplan=None, seed=None,
log_level=None)``
    ``place_call(target, *, variables, caller, extension, destination="7777",
    context="default", socket_mode="async", socket_control="full", caller_id)`` places a
    loopback call (``loopback/7777-a`` is the caller's phone, ``loopback/7777-b`` the
    channel paymentd controls) and connects to ``target`` as the ``socket`` app does:
    nothing sent first, 25 s (scaled) for the first packet, which runs but whose reply
    is swallowed.  ``variables`` are set when the channel is created; ``extension`` is
    an ``Extension`` to run (a ``socket`` action without address goes to ``target``) or
    a destination looked up in ``sim.dialplan``; ``socket_mode="static"`` or
    ``socket_control="single-channel"`` provoke paymentd's configuration error.
    Returns a ``Call``.

    ``place_agent_call(*, caller, customer_destination="7779", agent_destination="7778",
    variables, agent_variables)`` sets up agent mode's starting point: the customer's
    channel runs ``bridge loopback/7778``, whose A leg (the agent leg) is bridged to it
    and whose B leg runs extension 7778 (``answer``, ``park`` by default).  Returns an
    ``AgentCall`` (``customer`` is a ``Call``, ``agent`` an ``Agent``).

    ``start_inbound(host="127.0.0.1", port=0, password=None)`` starts the inbound event
    socket (``InboundServer``: ``address``, ``drop_connections()``, ``stop()``,
    ``start()``, ``open_connections``).  It answers ``auth``, ``api``, ``bgapi`` (the
    result as BACKGROUND_JOB, only when subscribed), ``event``, ``filter``,
    ``nixevent``, ``noevents``, ``myevents <uuid>``, ``sendmsg <uuid>``,
    ``sendevent`` and ``exit``, and the api commands ``status``, ``show channels
    [count]``, ``originate``, ``fsctl loglevel``, ``uuid_exists``, ``uuid_getvar``,
    ``uuid_setvar``, ``uuid_transfer``, ``uuid_bridge``, ``uuid_kill``,
    ``uuid_break``, ``uuid_broadcast``, ``uuid_audio``, ``uuid_record``
    (start/stop/mask/unmask), ``uuid_hold``, ``uuid_send_dtmf``, ``uuid_buglist``.

    Observation, for assertions and leak scans: ``bus_events(subscription="ALL")`` and
    ``bus_text(...)`` (what an inbound ``event plain <subscription>`` listener would have
    received, as ``FsEvent`` objects or decoded text), ``log_text()`` (the simulated
    ``freeswitch.log`` at its level: ``RECV DTMF 4:2000`` and ``EXECUTE ...`` at INFO,
    nothing of the kind at ``notice``), ``transcript_text()`` (every byte of every
    event-socket connection), ``everything_text()`` (all three), ``hearing(uuid)`` (a
    ``Hearing``: what the far end of a channel hears now), ``recordings`` (``Recording``:
    what each ``uuid_record`` captured, masked or not), ``session(uuid)``, ``calls``.
    ``close()`` (or ``async with``) hangs everything up and re-raises any crash of a
    simulator task.

``SimOptions(seed=0, park_event="random", linger_notice="after_events",
log_level="debug", password="ClueCon", dtmf_duration=2000, dtmf_source="UNKNOWN")``
    The races the captures show both ways: whether the socket app's own CHANNEL_PARK
    reaches the socket (``after_myevents`` / ``before_myevents`` / ``random``), and
    whether the linger notice comes after the last hang-up events or right after
    CHANNEL_HANGUP (``early``).  ``random`` draws from ``seed``.

``Call``: ``uuid``, ``phone_uuid``, ``caller``, ``session``, ``sockets``,
``variable(name)``, ``wait_hangup()`` / ``wait_closed()`` (returning a ``CallResult``),
``wait_socket_closed()`` (a ``SocketRecord``: ``received``/``sent`` bytes,
``closed_by``), ``result()``.  ``CallResult``: ``hangup_cause``, ``variables`` (final),
``actions`` (``ActionRecord``: app, data, source ``dialplan``/``sendmsg``/``api``,
response, times), ``extensions`` (the route), ``prompts``, ``keys``, ``sockets``,
``ran(app)``.

The caller (``Caller``), two ways:
    a coroutine ``async def script(caller)`` using ``wait_for_playback(fragment)``,
    ``press(digits, gap=0.05, duration=None)``, ``pause(s)``, ``hang_up(cause)``,
    ``wait_for_hangup()``, ``wait_until_stopped(prompt)``; or a declarative
    ``Script(when_playing("enter_card").press("4242...#"), when_playing("bye").hang_up(),
    at_start().hang_up(), when_playing("menu").when_done().press("1").every_time(),
    when_playing("x").after(0.5).stay_silent())``.  ``heard`` lists every playback on the
    caller's channel (``PromptRecord``: file, app, started, stopped, status ``done`` /
    ``break`` / ``hangup`` / ``not-found``), ``keyed`` every key.  ``Agent`` is the same
    for the agent leg (``heard``, ``keys_heard``, ``hearing()``, ``hang_up()``).

``Dialplan`` / ``Extension(name, number, actions, context="default")`` /
``Action(app, data)``, ``Action.socket(address=None, mode="async", control="full")``.
    When paymentd closes an ``async full`` socket, the call goes on with the next action,
    or hangs up when ``socket`` was the last one; ``transfer`` routes into another
    extension while the socket stays attached.  Apps: ``answer``, ``pre_answer``,
    ``playback`` (``file_string://``, ``silence_stream://``), ``endless_playback``,
    ``set``, ``unset``, ``export``, ``break``, ``sleep``, ``park``, ``transfer``,
    ``hangup``, ``log``, ``bridge``, ``socket``, ``play_and_get_digits``; an unknown app
    hangs the call up with DESTINATION_OUT_OF_ORDER.

``SoundCatalog(directories, durations, default_seconds=2.0, strict=False)`` /
``sounds_from(*dirs)``: a relative name is looked up under ``sound_prefix`` alone when it is
set, else in ``directories``, and in a ``<rate>/`` directory first, as mod_sndfile does; a
WAV that exists plays as long as its header says; otherwise a
per-file duration (matched as a substring of the argument), else the default, or
``FILE NOT FOUND`` when strict.

Time: ``time_scale`` shrinks everything on FreeSWITCH's side alike (prompts, the 20 ms
media frame, the 25 s wait for ``connect``, linger, event timestamps), so a call keeps
its real timing shape.  Durations the tests give the caller (gaps, pauses, timeouts) are
wall-clock seconds, the clock paymentd's own timers run on.  Scheduling jitter is
magnified by ``1 / time_scale``; assert timings with generous upper bounds.

Modelled faithfully (checked against the captures): framing and percent-encoding, the
connect reply (103 headers, more after dialplan variables or a bridge), every reply text
and quirk of REPLIES.md, event layouts and variables in FreeSWITCH's order (setting a
variable moves it last; the socket app's COMPLETE repeats the last response), sendmsg
nesting and ``event-lock``, PRIVATE_COMMAND only once media is up, keys read once per
frame (about 20 ms to the socket) and the key that ends a prompt arriving after that
prompt's COMPLETE, ``divert_events``, ``sensitive_dtmf``, ``digits_dialed`` masking
(first match only, every occurrence), playback terminators and ``playback_ms`` read
blocks, the hang-up sequence, linger/nolinger/forever, dialplan continuation, transfer,
bridge / park_after_bridge / uuid_bridge (a ``uuid_bridge`` of a pair already bridged ends
that bridge and bridges them again, reading ``bridge_filter_dtmf`` anew, as
``switch_ivr_uuid_bridge`` does), API and BACKGROUND_JOB events.

Not modelled: SIP/RTP (channels are loopback, as in the captures, with their artefacts:
DTMF-Source UNKNOWN, 2000-sample keys), codecs and real audio (hearing is a model of
who hears what, not sound), HEARTBEAT/RE_SCHEDULE/CODEC/CALL_UPDATE/CHANNEL_OUTGOING
events, ``log``/``nolog`` streaming (the replies only), ``userauth``, ``xml`` events in
FreeSWITCH's exact XML layout, variable expansion beyond ``${name}``, queues/conference,
and the DEBUG lines the loopback injector writes.  Hold keeps the loopback quirk
(``uuid_hold off`` always fails).
"""

from paymentd.testing.bus import Subscription
from paymentd.testing.caller import Agent, CallEnded, Caller, Rule, Script, at_start, when_playing
from paymentd.testing.dialplan import Action, Dialplan, Extension
from paymentd.testing.events import FsEvent
from paymentd.testing.inbound import InboundServer
from paymentd.testing.media import Hearing, RecordedItem, Recording
from paymentd.testing.records import ActionRecord, KeyRecord, PromptRecord, WireRecord
from paymentd.testing.simulator import (
    AgentCall,
    Call,
    CallResult,
    FreeSwitchSimulator,
    SocketRecord,
    sounds_from,
)
from paymentd.testing.sounds import SoundCatalog
from paymentd.testing.switch import SimOptions

__all__ = [
    "Action",
    "ActionRecord",
    "Agent",
    "AgentCall",
    "Call",
    "CallEnded",
    "CallResult",
    "Caller",
    "Dialplan",
    "Extension",
    "FreeSwitchSimulator",
    "FsEvent",
    "Hearing",
    "InboundServer",
    "KeyRecord",
    "PromptRecord",
    "RecordedItem",
    "Recording",
    "Rule",
    "Script",
    "SimOptions",
    "SocketRecord",
    "SoundCatalog",
    "Subscription",
    "WireRecord",
    "at_start",
    "sounds_from",
    "when_playing",
]
