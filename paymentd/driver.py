"""The call driver: runs one payment dialogue on one FreeSWITCH call.

It is the only place where the pure dialogue (:mod:`paymentd.capture`) meets
I/O.  It turns call events into dialogue inputs (keys, hang-up, the end of a
prompt, timers, the gateway's answer) and carries out the dialogue's actions
(play, barge in, charge, set variables, hand the call on) with the ESL session.

Card-data hygiene on the FreeSWITCH side (PROTOCOL.md, "Card data on the
wire"), set up before the first prompt and the first key:

- ``divert_events on``: DTMF events reach only this socket;
- ``digits_dialed_filter=.+``: the CDR's ``digits_dialed`` is masked entirely;
- ``playback_terminators=none``: no key ends a prompt inside FreeSWITCH (the
  first card digit would otherwise land in ``playback_terminator_used``);
  paymentd barges in itself with ``uuid_break``;
- read-backs of card data play from a one-time file with an opaque name
  (:mod:`paymentd.speech.compose`), never from a ``file_string://`` naming digits.

Digits are collected only from the diverted DTMF events, never with
``play_and_get_digits`` or ``read``.

Before the call leaves paymentd (resume, transfer, back to the agent) it gets
back what paymentd changed only for the capture: ``sound_prefix`` and
``playback_terminators`` as they stood at ``connect`` (unset if they were not
set), and after ``resume`` the ``socket_resume`` that
command leaves set for good (mod_event_socket.c: a later socket session on the
call would reset the channel when it closes).  ``digits_dialed_filter`` stays:
the CDR is written at hang-up.  ``sensitive_dtmf`` stays cleared: the dialplan
set it only to cover the moment before the divert.  ``divert_events`` stays on, so
keys a caller goes on pressing after the capture reach no other listener.

The socket is closed as soon as the hand-back has taken effect, before the
ledger and the hooks: FreeSWITCH continues the dialplan after ``resume`` only
once the socket is closed, and a socket still open after a ``transfer`` clears
CF_CONTROLLED when it closes, which ends a ``park`` (or a new ``socket`` app's
park) in the target extension.  A transfer is therefore queued, behind a short
event-locked silence, and the socket closed as soon as FreeSWITCH has accepted
it: the socket app runs what is still queued when its park ends
(``switch_ivr_parse_all_events``), with no listener left to interfere; and if
the park took the silence first, the event lock keeps the transfer back
(switch_core_session_dequeue_private_event) until the close has landed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from paymentd.capture import actions as act
from paymentd.capture import inputs as inp
from paymentd.capture.results import ErrorType
from paymentd.esl import Command, DivertEvents, Dtmf, Event, Events, Execute, Reply, Resume
from paymentd.esl.errors import ESLError
from paymentd.eslio import CallHungUp, CallSession, ConnectionLost
from paymentd.eslio.session import Execution
from paymentd.hooks import SessionContext, SessionHooks
from paymentd.payments import ChargeOutcome, ChargeRequest, Unknown
from paymentd.recordings import RecordingNotMaskable, mask_recording, mask_recordings
from paymentd.speech.base import Language
from paymentd.speech.compose import Composer, OneTimeAudio
from paymentd.speech.layout import best_rate, voice_directory
from paymentd.speech.render import HOLD_LOOP, playback_argument
from paymentd.speech.utterances import Utterance, is_sensitive

__all__ = ["AudioNotFound", "CallDriver", "Charger", "DialogueLike"]

log = logging.getLogger("paymentd.call")


class Charger(Protocol):
    """Whatever charges a card exactly once (the charging service over gateway + ledger)."""

    async def charge(self, request: ChargeRequest) -> ChargeOutcome: ...


class DialogueLike(Protocol):
    """The part of :class:`paymentd.capture.dialogue.PaymentDialogue` the driver uses."""

    def handle(self, event: inp.Input) -> Sequence[act.Action]: ...

    def next_deadline(self) -> float | None: ...


#: Called for ReturnToAgent (agent mode); returns when the caller is back with the agent.
AgentReturn = Callable[[CallSession], Awaitable[None]]


class AudioNotFound(Exception):
    """FreeSWITCH answered a playback with ``FILE NOT FOUND``."""


class _PlayTask:
    """One :class:`~paymentd.capture.actions.Play`: its parts run one after the other."""

    def __init__(self, play_id: int) -> None:
        self.play_id = play_id
        self.stopped = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    @property
    def stop_requested(self) -> bool:
        return self.stopped.is_set()


class CallDriver:
    """Runs ``dialogue`` on ``session`` until the dialogue says it has finished."""

    def __init__(
        self,
        session: CallSession,
        dialogue: DialogueLike,
        *,
        charger: Charger,
        language: Language,
        sounds_root: Path,
        composer: Composer,
        context: SessionContext,
        hooks: SessionHooks | None = None,
        agent_return: AgentReturn | None = None,
        clock: Callable[[], float] | None = None,
        mask_recordings: bool = False,
    ) -> None:
        self.session = session
        self.dialogue = dialogue
        self._charger = charger
        self._language = language
        self._sounds_root = sounds_root
        self._composer = composer
        self.context = context
        self._hooks = hooks or SessionHooks()
        self._agent_return = agent_return
        self._clock = clock or asyncio.get_running_loop().time
        self._inputs: asyncio.Queue[inp.Input] = asyncio.Queue()
        self._play: _PlayTask | None = None
        # Recordings of the call masked while paymentd has it (None: not masking).
        self._masked: list[str] | None = [] if mask_recordings else None
        self._masking: set[asyncio.Task[None]] = set()
        self._started = False
        self._charges: set[asyncio.Task[None]] = set()
        self._hung_up = False
        self._leaving = False
        #: The channel's own values of what paymentd changes for the capture (None: unset).
        self._own: dict[str, str | None] = {}
        self.outcome: act.SessionOutcome | None = None

    # -- public -------------------------------------------------------------------

    async def run(self, *, unavailable: ErrorType | None = None) -> act.SessionOutcome | None:
        """Prepare the call, run the dialogue to its end, and return its outcome.

        ``unavailable`` says why no payment can be taken at all (e.g. the ledger is
        down): the dialogue then only tells the caller and routes the call on.
        """
        pump = asyncio.create_task(self._pump_events(), name=f"events {self.session.uuid}")
        try:
            try:
                await self._prepare_call()
            except (CallHungUp, ConnectionLost) as exc:
                log.info("call gone before the capture started: %s", exc)
                self._note_hangup()
            except RecordingNotMaskable as exc:
                log.error("no capture: %s", exc)
                self._post(inp.InternalFailure("recording_not_maskable", self._clock()))
            except (ESLError, OSError) as exc:
                log.error("could not prepare the call for capture: %s", exc)
                self._post(
                    inp.CallHungUp(self._clock())
                    if self._hung_up
                    else inp.InternalFailure("call-setup", self._clock())
                )
            else:
                await self._hooks.session_started(self.context, self.session)
                self._started = True
                self._post(inp.Start(self._clock(), unavailable))
            await self._loop()
        finally:
            pump.cancel()
            for task in self._masking:
                task.cancel()
            await self._stop_playback_task()
            # A charge in flight is never abandoned: its answer must reach the ledger.
            if self._charges:
                await asyncio.gather(*self._charges, return_exceptions=True)
            await self._hooks.session_finished(self.context, self.outcome)
        return self.outcome

    def agent_cancelled(self) -> None:
        """The agent pressed cancel on the desktop."""
        self._post(inp.AgentCancelled(self._clock()))

    def agent_left(self) -> None:
        """The agent's leg hung up during the capture."""
        self._post(inp.AgentLeft(self._clock()))

    # -- set-up -------------------------------------------------------------------

    async def _prepare_call(self) -> None:
        call = self.session
        uuid = call.uuid
        voice = voice_directory(self._sounds_root, self._language)
        # The connect reply carries every channel variable: what to give back later.
        self._own = {name: call.variable(name) for name in _RESTORED}
        # Sent back to back: FreeSWITCH answers in order; every one must be in place
        # before the caller can key anything.
        replies = await asyncio.gather(
            call.command(DivertEvents(True)),
            # Only once keys come to this socket alone: sensitive_dtmf (set by the
            # dialplan or agent mode so that keys before that fire no event) would
            # keep them from paymentd too.
            call.api(f"uuid_setvar {uuid} sensitive_dtmf"),
            call.api(f"uuid_setvar {uuid} digits_dialed_filter .+"),
            call.api(f"uuid_setvar {uuid} playback_terminators none"),
            call.api(f"uuid_setvar {uuid} sound_prefix {voice}"),
            # myevents leaves RECORD_START out; asked for, it comes for this call only
            # (mod_event_socket.c, LFLAG_MYEVENTS): recordings that start later.
            *((call.command(Events(("RECORD_START",))),) if self._masked is not None else ()),
        )
        for reply in replies:
            _check(reply)
        if self._masked is not None:
            # Before the first prompt: read-backs say card data aloud, and in-band keys
            # are tones in the audio.
            self._masked += await mask_recordings(call.api, uuid)
        await call.execute("answer")

    # -- the loop -----------------------------------------------------------------

    def _post(self, event: inp.Input) -> None:
        self._inputs.put_nowait(event)

    async def _loop(self) -> None:
        while not self._finished():
            deadline = self.dialogue.next_deadline()
            timeout = None if deadline is None else max(0.0, deadline - self._clock())
            try:
                event = await asyncio.wait_for(self._inputs.get(), timeout)
            except TimeoutError:
                event = inp.TimerExpired(self._clock())
            try:
                actions = self.dialogue.handle(event)
            except Exception:
                log.exception("the dialogue failed; ending the call")
                await self._abandon()
                return
            ending = next((a.outcome for a in actions if isinstance(a, act.Finished)), None)
            for action in actions:
                if ending is not None and isinstance(action, _LEAVING):
                    # Last chance to mark the segment on the call while it is still ours.
                    await self._hooks.session_ending(self.context, self.session, ending)
                    ending = None
                await self._perform(action)
                if self._finished():
                    break
            if ending is not None:
                # Hung up: nothing leaves, but the session still ends.
                await self._hooks.session_ending(self.context, self.session, ending)

    def _finished(self) -> bool:
        return self.outcome is not None

    async def _abandon(self) -> None:
        """The dialogue itself broke: say so on the call and hang up (nothing else is safe)."""
        self._leaving = True
        if self._hung_up:
            return
        with contextlib.suppress(ESLError, OSError):
            await self._set_variables((("paymentd_result", "internal-error"),))
            await self.session.hangup("NORMAL_TEMPORARY_FAILURE")

    async def _perform(self, action: act.Action) -> None:
        try:
            await self._dispatch(action)
        except (CallHungUp, ConnectionLost) as exc:
            log.info("call gone while performing %s: %s", type(action).__name__, exc)
            self._note_hangup()
        except ESLError as exc:
            log.error("FreeSWITCH refused %s: %s", type(action).__name__, exc)
            self._post(inp.InternalFailure("freeswitch-command", self._clock()))

    async def _dispatch(self, action: act.Action) -> None:
        match action:
            case act.Play(play_id, utterances):
                self._start_play(play_id, utterances)
            case act.PlayHold(play_id):
                self._start_play(play_id, hold=True)
            case act.StopPlayback(play_id):
                await self._stop_play(play_id)
            case act.Charge(request):
                self._start_charge(request)
            case act.SetVariables():
                await self._set_variables(action.variables)
            case act.Resume():
                await self._leave_by_resume()
            case act.Transfer(extension, context, dialplan):
                await self._leave_by_transfer(extension, dialplan, context)
            case act.Hangup(cause):
                self._leaving = True
                if not self._hung_up:
                    await self.session.hangup(cause)
            case act.ReturnToAgent():
                self._leaving = True
                if self._agent_return is None:
                    raise ESLError("ReturnToAgent outside agent mode")
                if not self._hung_up:
                    await self._give_back_settings()
                await self._agent_return(self.session)
            case act.Progress():
                self._hooks.progress(self.context, action)
            case act.Finished(outcome):
                self.outcome = outcome

    # -- events from the call ------------------------------------------------------

    async def _pump_events(self) -> None:
        try:
            while True:
                event = await self.session.next_event()
                if event is not None:
                    self._on_event(event)
        except ConnectionLost:
            if not self._leaving:
                self._note_hangup()

    def _on_event(self, event: Event) -> None:
        if isinstance(event, Dtmf):
            digit = event.digit
            # Keys from before the dialogue started (FreeSWITCH hands over what was
            # queued as soon as the socket app runs: type-ahead, an earlier menu's
            # keys) answer nothing paymentd asked, so they are dropped.
            if digit and digit in inp.DTMF_KEYS and self._started:
                self._post(inp.DigitPressed(digit, self._clock()))
        elif event.name == "CHANNEL_HANGUP":
            self._note_hangup()
        elif event.name == "RECORD_START" and self._masked is not None and not self._leaving:
            # A recording started while paymentd has the call (on demand, a supervisor):
            # masked at once, or the capture ends.
            path = event.headers.get("Record-File-Path")
            if path and path not in self._masked:
                task = asyncio.create_task(self._mask_late(path))
                self._masking.add(task)
                task.add_done_callback(self._masking.discard)

    async def _mask_late(self, path: str) -> None:
        assert self._masked is not None
        self._masked.append(path)
        try:
            await mask_recording(self.session.api, self.session.uuid, path)
        except RecordingNotMaskable as exc:
            if not self._hung_up:
                log.error("capture ended: %s", exc)
                self._post(inp.InternalFailure("recording_not_maskable", self._clock()))
        except (ESLError, OSError) as exc:
            log.info("recording not masked, the call is going: %s", type(exc).__name__)

    def _note_hangup(self) -> None:
        if not self._hung_up:
            self._hung_up = True
            self._post(inp.CallHungUp(self._clock()))

    # -- playback -----------------------------------------------------------------

    def _start_play(
        self, play_id: int, utterances: tuple[Utterance, ...] = (), *, hold: bool = False
    ) -> None:
        task = _PlayTask(play_id)
        self._play = task
        task.task = asyncio.create_task(self._run_play(task, utterances, hold))

    async def _run_play(
        self, task: _PlayTask, utterances: tuple[Utterance, ...], hold: bool
    ) -> None:
        try:
            # Hold audio goes round until StopPlayback. Not with endless_playback: it
            # restarts its file after a break (mod_dptools), so uuid_break cannot end it.
            while hold and not (task.stop_requested or self._hung_up):
                await self._execute_playback(task, "playback", HOLD_LOOP)
            for part, sensitive in _parts(utterances):
                if task.stop_requested or self._hung_up:
                    break
                await self._play_part(task, part, sensitive)
        except (CallHungUp, ConnectionLost):
            self._note_hangup()
        except (ESLError, OSError, ValueError, TimeoutError, AudioNotFound) as exc:
            log.error("prompt could not be played: %s", exc or type(exc).__name__)
            self._post(inp.InternalFailure("playback", self._clock()))
        finally:
            self._post(inp.PlaybackFinished(task.play_id, self._clock()))

    async def _play_part(
        self, task: _PlayTask, part: tuple[Utterance, ...], sensitive: bool
    ) -> None:
        audio: OneTimeAudio | None = None
        try:
            if sensitive:
                rate = best_rate(_call_rate(self.session))
                audio = await asyncio.to_thread(self._composer.compose, part, rate)
                argument = str(audio.path)
            else:
                argument = playback_argument(part, self._language)
            await self._execute_playback(task, "playback", argument)
        finally:
            if audio is not None:
                audio.delete()

    async def _execute_playback(self, task: _PlayTask, app: str, argument: str) -> None:
        execution = self.session.start_execute(app, argument)
        stop = asyncio.ensure_future(task.stopped.wait())
        try:
            await _first_of(execution.completed, stop)
        finally:
            stop.cancel()
        if not execution.completed.done():
            await self._break(execution)
        # Every prompt and hold round is far shorter; without an end, the caller would
        # sit in dead air, so the dialogue is told the call cannot go on.
        complete = await self.session.wait_execute(execution, timeout=_PLAYBACK_LIMIT_SECONDS)
        if complete.application_response == "FILE NOT FOUND":
            # The caller heard nothing: going on would ask them to act on, or confirm,
            # what they never heard.
            raise AudioNotFound(
                "FreeSWITCH could not open the audio; it must read the sounds and "
                "read-back directories at the paths paymentd uses ([sounds] config)"
            )

    async def _break(self, execution: Execution) -> None:
        """Barge in on ``execution``: only once it runs, and without flushing the queue.

        FreeSWITCH starts a queued app on the channel's next media frame; a break sent
        before that would miss it, and ``uuid_break ... all`` would drop it, so its
        completion would never come.
        """
        started = asyncio.ensure_future(execution.started.wait())
        try:
            await _first_of(execution.completed, started)
        finally:
            started.cancel()
        if execution.completed.done():
            return
        # uuid_break ends the running playback in ~20 ms (PROTOCOL.md 13d).  A break
        # that lands after the playback ended leaves nothing behind: FreeSWITCH clears
        # the flag as each app starts (switch_core_session_exec).
        await self.session.api(f"uuid_break {self.session.uuid}")

    async def _stop_play(self, play_id: int) -> None:
        task = self._play
        if task is None or task.play_id != play_id or task.task is None or task.task.done():
            return
        # The play's own task barges in: it knows whether its playback has started.
        task.stopped.set()

    async def _stop_playback_task(self) -> None:
        task = self._play
        if task is not None and task.task is not None and not task.task.done():
            task.stopped.set()
            task.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task.task

    # -- charging -----------------------------------------------------------------

    def _start_charge(self, request: ChargeRequest) -> None:
        task = asyncio.create_task(self._charge(request), name=f"charge {request.attempt_id}")
        self._charges.add(task)
        task.add_done_callback(self._charges.discard)

    async def _charge(self, request: ChargeRequest) -> None:
        try:
            outcome = await self._charger.charge(request)
        except Exception as exc:
            # We cannot know whether the gateway took it: never treat this as a decline.
            log.error("charge %s raised %s", request.attempt_id, type(exc).__name__)
            outcome = Unknown("charging service error")
        finally:
            request.card.wipe()
        self._post(inp.ChargeAnswered(request.attempt_id, outcome, self._clock()))

    # -- variables and leaving ------------------------------------------------------

    async def _set_variables(self, variables: tuple[tuple[str, str], ...]) -> None:
        if self._hung_up:
            return
        uuid = self.session.uuid
        replies = await asyncio.gather(
            *(
                self.session.api(f"uuid_setvar {uuid} {name} {value}".rstrip())
                for name, value in variables
            )
        )
        for reply in replies:
            _check(reply)

    def _restore_command(self, name: str) -> str:
        """``uuid_setvar`` giving ``name`` back its value at connect (no value: unset)."""
        value = self._own.get(name)
        uuid = self.session.uuid
        if not value:
            return f"uuid_setvar {uuid} {name}"
        return f"uuid_setvar {uuid} {name} {_setvar_value(value)}"

    async def _give_back_settings(
        self, *after: Command | str, restore: tuple[str, ...] = ()
    ) -> None:
        """Undo what paymentd set only for the capture, then send ``after`` (in order).

        ``restore`` names the variables given back here (default: all of them).
        Everything is pipelined: FreeSWITCH answers in order.  A refusal is logged and
        the call still leaves; a call that has hung up meanwhile raises CallHungUp.
        """
        call = self.session
        commands: list[Command | str] = [
            *(self._restore_command(name) for name in (restore or _RESTORED)),
            *(f"uuid_record {call.uuid} unmask {path}" for path in self._masked or ()),
            # divert_events stays on: a caller still keying when the capture ends (a
            # timeout mid-card) would otherwise broadcast the rest of the card to every
            # listener.  Apps that read keys (read, bridges) do not need the events; a
            # later socket app on the call gets them, as its own.
            *after,
        ]
        replies = await asyncio.gather(
            *(call.api(c) if isinstance(c, str) else call.command(c) for c in commands)
        )
        for reply in replies:
            if _gone(reply):
                raise CallHungUp("the call hung up while paymentd handed it back")
            if not reply.ok:
                log.warning(
                    "FreeSWITCH refused %s while handing the call back: %s",
                    type(reply.command).__name__,
                    reply.text.strip(),
                )

    async def _leave_by_resume(self) -> None:
        self._leaving = True
        if self._hung_up:
            return
        # With ``async full`` closing the socket alone continues the dialplan; ``resume``
        # says so explicitly (and survives a future mode change).  It also sets
        # socket_resume=true on the channel for good, which would make any later socket
        # session on this call reset the channel when it closes; the listener's own
        # resume flag still applies to this one (mod_event_socket.c tests either).
        await self._give_back_settings(Resume(), self._restore_command("socket_resume"))
        # The dialplan goes on only once the socket is closed: at once, not after the
        # ledger and the hooks (which need no socket).
        await self.session.close()

    async def _leave_by_transfer(self, extension: str, dialplan: str, context: str) -> None:
        self._leaving = True
        if self._hung_up:
            return
        call = self.session
        await self._give_back_settings(restore=("sound_prefix",))
        # playback_terminators is still none: no key ends the silence.
        own = self._own.get("playback_terminators")
        replies = await asyncio.gather(
            call.command(Execute("playback", _TRANSFER_HOLD, event_lock=True)),
            call.command(
                Execute("set", f"playback_terminators={own}")
                if own
                else Execute("unset", "playback_terminators")
            ),
            call.command(Execute("transfer", f"{extension} {dialplan} {context}")),
        )
        await call.close()
        for reply in replies:
            if not reply.ok:
                log.error("FreeSWITCH refused the transfer: %s", reply.text.strip())


async def _first_of(*waitables: asyncio.Future[Any]) -> None:
    """Return when any of ``waitables`` is done (none is cancelled or awaited for its result)."""
    await asyncio.wait(waitables, return_when=asyncio.FIRST_COMPLETED)


#: Queued before a transfer, event-locked: what runs if the park takes it before the close
#: lands (far longer than a close takes to reach FreeSWITCH).
_TRANSFER_HOLD = "silence_stream://200"

#: The longest a single playback may take before the call is given up on.
_PLAYBACK_LIMIT_SECONDS = 120.0

_LEAVING = (act.Resume, act.Transfer, act.Hangup, act.ReturnToAgent)

#: Set by paymentd for the capture only; given back as they were at connect on leaving.
_RESTORED = ("sound_prefix", "playback_terminators")


def _gone(reply: Reply) -> bool:
    """FreeSWITCH's answer to a ``uuid_*`` command on a channel that is hanging up."""
    return reply.text.startswith("-ERR No such channel")


def _check(reply: Reply) -> None:
    if _gone(reply):
        # The caller hung up between our last event and this command: not an error.
        raise CallHungUp("the call hung up")
    if not reply.ok:
        raise ESLError(f"{type(reply.command).__name__} refused: {reply.text.strip()}")


def _setvar_value(value: str) -> str:
    """``value`` as ``uuid_setvar`` reads it back: FreeSWITCH's argument splitter strips
    quotes and backslashes and turns ``\\n`` into a newline (switch_separate_string)."""
    out = []
    for char in value:
        if char in "\\'\"":
            out.append("\\" + char)
        elif char in _CONTROL:
            out.append(_CONTROL[char])
        else:
            out.append(char)
    return "".join(out)


_CONTROL = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _parts(utterances: tuple[Utterance, ...]) -> list[tuple[tuple[Utterance, ...], bool]]:
    """Split into runs that are all sensitive (composed) or all not (named files)."""
    parts: list[tuple[tuple[Utterance, ...], bool]] = []
    for utterance in utterances:
        sensitive = is_sensitive(utterance)
        if parts and parts[-1][1] == sensitive:
            parts[-1] = (parts[-1][0] + (utterance,), sensitive)
        else:
            parts.append(((utterance,), sensitive))
    return parts


def _call_rate(session: CallSession) -> int:
    data = session.channel_data
    value = data.headers.get("Channel-Read-Codec-Rate") if data is not None else None
    return int(value) if value and value.isdigit() else 8000
