"""The moves of the two legs of an agent-assisted payment, as FreeSWITCH api commands.

Commands and replies follow the captures of a real FreeSWITCH
(``../shared/esl/corpus/INDEX.md``, scenario 09; PROTOCOL.md, "Moving an agent
out and back").  Not in the captures, taken from FreeSWITCH's source and
documentation: ``uuid_audio ... write mute`` (the captures mute ``read``),
``bridge_filter_dtmf`` set with ``uuid_setvar`` before a ``uuid_bridge``, and the
``uuid_buglist`` listing.  The customer's leg is
``C``, the agent's ``G``.

Out (the desktop's request)::

    uuid_getvar C bridge_uuid                      -> G   (and G's bridge_uuid -> C)
    uuid_getvar C sensitive_dtmf, then uuid_setvar C sensitive_dtmf true   (keys fire no
                                                    event until paymentd's socket has them;
                                                    paymentd clears it, restored at the end)
    uuid_getvar G park_after_bridge / hangup_after_bridge      (kept, restored at the end)
    uuid_setvar G park_after_bridge true           (else G hangs up when C leaves the bridge)
    uuid_setvar G hangup_after_bridge false
    mute:   uuid_audio G start write mute 1        (G hears nothing: no voice, no prompt)
    uuid_buglist C / G, then uuid_record <leg> mask <path> for every recording
    uuid_setvar C paymentd_payment_id <id>         (how paymentd knows C when it arrives)
    uuid_setvar C paymentd_agent_uuid G            (the dialplan's way back if paymentd is down)
    uuid_setvar C paymentd_result                  (unset: a stale result would mislead)
    mute:   uuid_setvar C park_after_bridge true   (C survives G hanging up mid-capture)
            uuid_setvar C bridge_filter_dtmf true  (read when the next bridge starts: C's keys
                                                    stop crossing to G until it ends)
    uuid_transfer C <secure_extension> XML <context>        -> G parks
    detach: uuid_broadcast G <hold audio> aleg     (once CHANNEL_PARK of G has arrived, and
                                                    again at each PLAYBACK_STOP "done")

When C has reached paymentd (mute mode only)::

    uuid_bridge C G                                -> "+OK G": bridged again, G still deaf

Back (the result is decided; C has its result variables already)::

    uuid_setvar G paymentd_result ...              (the result variables on the agent's leg too)
    mute:   uuid_audio G stop                      (G hears C again)
    uuid_setvar C bridge_filter_dtmf [<C's own>]   (read when a bridge starts: before the bridge)
    detach: uuid_break G all                       (the hold audio, and a replay of it still
                                                    queued on G: uuid_bridge stops the one
                                                    playing only, and a queued one would play
                                                    into the new bridge)
    uuid_bridge C G                                -> "+OK G"
        detach: C leaves paymentd for G.
        mute:   C and G are bridged already, but that bridge keeps filtering C's keys for as
                long as it lasts.  switch_ivr_uuid_bridge does not care that they are bridged
                (src/switch_ivr_bridge.c): it ends that bridge, without parking or hanging up
                either leg, and bridges them anew, and the new bridge reads the filter again.
        refused (FreeSWITCH cannot lock a leg that is down), or accepted but never
        confirmed by CHANNEL_BRIDGE: uuid_exists C / G -> "customer_gone" (G is released)
        or "agent_gone" (paymentd sends C on to agent.after_extension); a detach-mode
        refusal with both legs there is "agent_gone" too, while in mute mode the two stay
        in the capture's bridge (hearing each other, C's keys still filtered)
    uuid_record <leg> unmask <path>
    restore the variables changed above; park_after_bridge (G's, and C's in mute mode) only
    once CHANNEL_BRIDGE of C and G has arrived: a leg whose new bridge ends parks rather than
    being hung up.  Before that bridge starts it is a narrow net (src/switch_ivr_bridge.c,
    uuid_bridge_on_soft_execute): C parks only if G is down already when C goes to lock it;
    if G goes after that, C is hung up (DESTINATION_OUT_OF_ORDER) or transferred to G's rdnis,
    parking or not.  _check_gone finds which leg is left, whichever happened.

Release (G does not get C back: C hung up, or return_to_agent is false)::

    uuid_break G all (the hold audio) / uuid_audio G stop, unmask, the result variables
    on G, restore,
    uuid_kill G    (unless G parked after bridges before we touched it)
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from typing import Protocol

import attrs

from paymentd.agent.config import AgentConfig, LegMode
from paymentd.esl.connection import Reply
from paymentd.esl.errors import ESLError
from paymentd.eslio.errors import CommandTimeout, ConnectionLost, NotConnected
from paymentd.recordings import RecordingNotMaskable, mask_recording, mask_recordings

__all__ = ["LegError", "LegMover", "LegWatch", "Legs", "Switchboard"]

log = logging.getLogger("paymentd.agent.legs")

_UNDEFINED = "_undef_"
_UUID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$")
#: Variables of the agent's leg we change and put back.
_AGENT_SETTINGS = ("park_after_bridge", "hangup_after_bridge")
#: Variables of the customer's leg we change and put back (mute mode).
_CUSTOMER_SETTINGS = ("park_after_bridge", "bridge_filter_dtmf")


class Switchboard(Protocol):
    """Whatever runs FreeSWITCH api commands: the inbound client, or a call's own socket."""

    async def api(self, command: str, timeout: float | None = None) -> Reply: ...


class LegWatch:
    """What FreeSWITCH's events say about legs: CHANNEL_BRIDGE, CHANNEL_UNBRIDGE, CHANNEL_PARK.

    ``bridge_uuid`` outlives a bridge, so the events are the better witness: a leg
    seen unbridged is not offered for a payment, the agent's hold audio waits until
    it is parked (sent while the agent is still bridged, it would start playing in the
    ending bridge and be stopped with it), and a re-bridge is confirmed before the
    agent's safety net is taken away.
    """

    def __init__(self) -> None:
        self._unbridged: set[str] = set()
        #: How many times each pair was bridged and each leg parked.
        self._counts: dict[frozenset[str], int] = {}
        self._changed = asyncio.Event()

    def seen(self, name: str, leg: str | None, a: str | None = None, b: str | None = None) -> None:
        """An event about ``leg`` (``Unique-ID``) and the bridge's ``a`` and ``b``."""
        if name == "CHANNEL_BRIDGE" and a and b:
            self._unbridged -= {a, b}
            self._count(frozenset((a, b)))
        elif name == "CHANNEL_UNBRIDGE" and a and b:
            self._unbridged |= {a, b}
        elif name == "CHANNEL_PARK" and leg:
            self._count(frozenset((leg,)))
        elif name == "CHANNEL_HANGUP" and leg:
            self._unbridged.discard(leg)
            self._counts = {key: n for key, n in self._counts.items() if leg not in key}

    def _count(self, key: frozenset[str]) -> None:
        self._counts[key] = self._counts.get(key, 0) + 1
        self._changed.set()
        self._changed = asyncio.Event()

    def known_unbridged(self, leg: str) -> bool:
        return leg in self._unbridged

    def mark(self, *legs: str) -> int:
        """How often the pair was bridged (or the one leg parked) so far: take it before
        asking FreeSWITCH, then :meth:`wait` for the next."""
        return self._counts.get(frozenset(legs), 0)

    async def wait(self, legs: tuple[str, ...], mark: int, timeout: float) -> bool:
        """True once a bridge of the pair (a park of the leg) newer than ``mark`` is seen."""
        key = frozenset(legs)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._counts.get(key, 0) <= mark:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                return False
        return True


class LegError(Exception):
    """A leg is not where it must be, or FreeSWITCH refused a move.

    ``code`` is the API's error code: ``call_not_found``, ``call_not_bridged``,
    ``recording_not_maskable``, ``freeswitch_refused`` or ``freeswitch_unavailable``.
    """

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


@attrs.define
class Legs:
    """The two legs of one payment and what was changed on them."""

    customer: str
    agent: str
    mode: LegMode
    #: Values of the agent's variables before the payment (None: unset).
    agent_settings: dict[str, str | None] = attrs.Factory(dict)
    customer_settings: dict[str, str | None] = attrs.Factory(dict)
    #: Recordings masked: (leg, path).
    masked: list[tuple[str, str]] = attrs.Factory(list)
    muted: bool = False
    #: The customer is bridged to the agent right now (mute mode, once re-bridged).
    bridged: bool = False
    #: The parked agent is meant to hear the hold audio (detach mode, until the end).
    holding: bool = False
    #: The agent's leg parked after bridges before we touched it (a nailed-up agent):
    #: releasing it leaves it parked instead of hanging it up.
    agent_parks_by_itself: bool = False


def _true(value: str | None) -> bool:
    return value is not None and value.lower() in ("true", "yes", "on", "1", "enabled", "active")


class LegMover:
    """Carries out the moves above with a :class:`Switchboard`."""

    def __init__(
        self,
        config: AgentConfig,
        hold_audio: str,
        watch: LegWatch,
        *,
        event_wait_seconds: float = 2.0,
    ) -> None:
        self._config = config
        self.hold_audio = hold_audio
        self.watch = watch
        self._event_wait = event_wait_seconds

    # -- finding the agent ----------------------------------------------------------------

    async def find_agent(self, esl: Switchboard, customer: str) -> str:
        """The agent's leg bridged to ``customer``; raises :class:`LegError`."""
        reply = await _api(esl, f"uuid_getvar {customer} bridge_uuid")
        if not reply.ok:
            raise LegError("call_not_found", "no such call")
        agent = reply.text.strip()
        if agent in ("", _UNDEFINED) or not _UUID.match(agent):
            raise LegError("call_not_bridged", "the call is not bridged to an agent")
        back = await _api(esl, f"uuid_getvar {agent} bridge_uuid")
        if not back.ok or back.text.strip() != customer:
            raise LegError("call_not_bridged", "the call is not bridged to an agent")
        return agent

    # -- out --------------------------------------------------------------------------------

    async def move_out(self, esl: Switchboard, legs: Legs, payment_id: str) -> None:
        """Keep the agent out and send the customer to the secure extension.

        If any step before the transfer fails, everything done so far is undone and
        :class:`LegError` raised: the call is as it was.
        """
        config = self._config
        c, g = legs.customer, legs.agent
        try:
            # First: from here until paymentd's socket has the customer's DTMF events to
            # itself, a key fires no event that another listener (a CTI) would receive.
            # paymentd clears it once they are diverted; the customer's own value is
            # put back at the end.
            legs.customer_settings = await self._read(esl, c, ("sensitive_dtmf",))
            await _ok(esl, f"uuid_setvar {c} sensitive_dtmf true")
            legs.agent_settings = await self._read(esl, g, _AGENT_SETTINGS)
            legs.agent_parks_by_itself = _true(legs.agent_settings["park_after_bridge"])
            await _ok(esl, f"uuid_setvar {g} park_after_bridge true")
            await _ok(esl, f"uuid_setvar {g} hangup_after_bridge false")
            if legs.mode is LegMode.MUTE:
                await _ok(esl, f"uuid_audio {g} start write mute {config.mute_level}")
                legs.muted = True
            if config.mask_recordings:
                await self._mask(esl, legs)
            await _ok(esl, f"uuid_setvar {c} paymentd_payment_id {payment_id}")
            await _ok(esl, f"uuid_setvar {c} paymentd_agent_uuid {g}")
            await _ok(esl, f"uuid_setvar {c} paymentd_result")
            if legs.mode is LegMode.MUTE:
                legs.customer_settings.update(await self._read(esl, c, _CUSTOMER_SETTINGS))
                await _ok(esl, f"uuid_setvar {c} park_after_bridge true")
                await _ok(esl, f"uuid_setvar {c} bridge_filter_dtmf true")
            parks = self.watch.mark(g)
            await _ok(
                esl,
                f"uuid_transfer {c} {config.secure_extension} XML {config.secure_context}",
            )
        except LegError:
            await self._restore(esl, legs)
            raise
        if legs.mode is LegMode.DETACH and self.hold_audio:
            # Something better than dead air until the customer is back, once the agent
            # is parked (played into the ending bridge, it would stop with it).
            legs.holding = True
            await self.watch.wait((g,), parks, self._event_wait)
            await self.play_hold(esl, legs)

    async def play_hold(self, esl: Switchboard, legs: Legs) -> None:
        """(Again) the hold audio to the parked agent.  Not ``endless_playback``:
        ``uuid_break`` does not stop it, so the agent would hear it after the payment."""
        if legs.holding:
            await _quietly(esl, f"uuid_broadcast {legs.agent} {self.hold_audio} aleg")

    async def _read(
        self, esl: Switchboard, uuid: str, names: tuple[str, ...]
    ) -> dict[str, str | None]:
        values: dict[str, str | None] = {}
        for name in names:
            reply = await _api(esl, f"uuid_getvar {uuid} {name}")
            if not reply.ok:
                raise LegError("call_not_found", "a leg of the call has gone")
            text = reply.text.strip()
            values[name] = None if text in ("", _UNDEFINED) else text
        return values

    async def _mask(self, esl: Switchboard, legs: Legs) -> None:
        for uuid in (legs.customer, legs.agent):
            try:
                paths = await mask_recordings(functools.partial(_api, esl), uuid)
            except RecordingNotMaskable as exc:
                raise LegError("recording_not_maskable", str(exc)) from None
            legs.masked += [(uuid, path) for path in paths]

    async def mask_one(self, esl: Switchboard, legs: Legs, leg: str, path: str) -> None:
        """Mask a recording that started on ``leg`` during the payment."""
        if (leg, path) in legs.masked:
            return
        try:
            await mask_recording(functools.partial(_api, esl), leg, path)
        except RecordingNotMaskable as exc:
            raise LegError("recording_not_maskable", str(exc)) from None
        legs.masked.append((leg, path))

    # -- while the customer is with paymentd ---------------------------------------------------

    async def rebridge(self, esl: Switchboard, legs: Legs) -> None:
        """Mute mode: join the customer (now under paymentd's control) to the deaf agent."""
        await _ok(esl, f"uuid_bridge {legs.customer} {legs.agent}")
        legs.bridged = True

    # -- back -------------------------------------------------------------------------------

    async def give_back(
        self, esl: Switchboard, legs: Legs, variables: tuple[tuple[str, str], ...]
    ) -> None:
        """Give the customer back to the agent with the result (see "Back" above).

        Raises :class:`LegError` ``agent_gone`` if the agent's leg is gone (the customer is
        still with paymentd, or parked) and ``customer_gone`` if the customer's is; the
        legs are then left for :meth:`release`.
        """
        g = legs.agent
        holding, legs.holding = legs.holding, False
        await self._set_variables(esl, g, variables)
        if legs.muted:
            await _quietly(esl, f"uuid_audio {g} stop")
            legs.muted = False
        # Read when a bridge starts: the customer's own value goes back before the bridge.
        if "bridge_filter_dtmf" in legs.customer_settings:
            value = legs.customer_settings.pop("bridge_filter_dtmf")
            command = f"uuid_setvar {legs.customer} bridge_filter_dtmf {value or ''}"
            await _quietly(esl, command.rstrip())
        if holding:
            # uuid_bridge stops only the hold audio playing; a replay still queued would
            # play into the new bridge.  "all" empties the agent's queue as well.
            await _quietly(esl, f"uuid_break {g} all")
        confirmed = await self._bridge(esl, legs)
        await self._restore(esl, legs, parking=not confirmed)

    async def _bridge(self, esl: Switchboard, legs: Legs) -> bool:
        """``uuid_bridge C G``; True once its CHANNEL_BRIDGE has arrived."""
        c, g = legs.customer, legs.agent
        mark = self.watch.mark(c, g)
        try:
            reply = await _api(esl, f"uuid_bridge {c} {g}")
        except LegError:
            if not legs.bridged:
                raise
            # Mute mode: whether FreeSWITCH got it or not, the two stay bridged (by the
            # capture's bridge or a new one) while both are up; only the customer's keys
            # may still be filtered.  The parking safety nets stay.
            log.warning("re-bridge of %s and %s not known to have happened", c, g)
            return False
        if not reply.ok:
            # FreeSWITCH refuses a uuid_bridge only when it cannot lock a leg (it is down).
            await self._check_gone(esl, legs)
            if not legs.bridged:
                raise LegError("agent_gone", "the customer cannot be bridged to the agent")
            log.warning("re-bridge of %s and %s refused: %s", c, g, reply.text.strip())
            return False
        legs.bridged = True
        if await self.watch.wait((c, g), mark, self._event_wait):
            return True
        # Accepted, but a leg that goes down before the bridge starts leaves the other
        # parked (park_after_bridge) or hung up: that leg must be looked after now.
        await self._check_gone(esl, legs)
        log.warning("bridge of %s and %s not confirmed: both keep parking", c, g)
        return False

    async def _check_gone(self, esl: Switchboard, legs: Legs) -> None:
        """Raise ``customer_gone`` / ``agent_gone`` for a leg FreeSWITCH no longer has."""
        for uuid, who in ((legs.customer, "customer"), (legs.agent, "agent")):
            reply = await _quietly(esl, f"uuid_exists {uuid}")
            if reply is not None and reply.ok and reply.text.strip() == "false":
                raise LegError(f"{who}_gone", f"the {who}'s leg is gone")

    async def release(
        self, esl: Switchboard, legs: Legs, variables: tuple[tuple[str, str], ...]
    ) -> None:
        """The agent does not get the customer back: free the agent's leg as FreeSWITCH
        would have without us (hang it up, unless it parked after bridges by itself)."""
        g = legs.agent
        holding, legs.holding = legs.holding, False
        agent_up = (await _api(esl, f"uuid_exists {g}")).text.strip() == "true"
        if agent_up:
            if holding:
                await _quietly(esl, f"uuid_break {g} all")
            await self._set_variables(esl, g, variables)
        await self._restore(esl, legs)
        if agent_up and not legs.agent_parks_by_itself:
            await _quietly(esl, f"uuid_kill {g} NORMAL_CLEARING")

    async def _set_variables(
        self, esl: Switchboard, uuid: str, variables: tuple[tuple[str, str], ...]
    ) -> None:
        for name, value in variables:
            await _quietly(esl, f"uuid_setvar {uuid} {name} {value}".rstrip())

    async def _restore(self, esl: Switchboard, legs: Legs, *, parking: bool = False) -> None:
        """Put back what :meth:`move_out` changed (best effort: a leg may be gone).

        ``parking``: leave ``park_after_bridge`` on both legs (their bridge is not known
        to be up: without it a leg would be hung up if the bridge fails).
        """
        c, g = legs.customer, legs.agent
        if legs.muted:
            await _quietly(esl, f"uuid_audio {g} stop")
            legs.muted = False
        await self._unmask(esl, legs)
        for uuid, settings in ((g, legs.agent_settings), (c, legs.customer_settings)):
            for name, value in settings.items():
                if parking and name == "park_after_bridge":
                    continue
                await _quietly(esl, f"uuid_setvar {uuid} {name} {value or ''}".rstrip())
        await _quietly(esl, f"uuid_setvar {c} paymentd_payment_id")
        legs.agent_settings = {}
        legs.customer_settings = {}

    async def _unmask(self, esl: Switchboard, legs: Legs) -> None:
        for uuid, path in legs.masked:
            await _quietly(esl, f"uuid_record {uuid} unmask {path}")
        legs.masked.clear()


async def _api(esl: Switchboard, command: str) -> Reply:
    try:
        return await esl.api(command)
    except (NotConnected, ConnectionLost, CommandTimeout, TimeoutError) as exc:
        raise LegError("freeswitch_unavailable", "FreeSWITCH is not reachable") from exc
    except ESLError as exc:
        raise LegError("freeswitch_refused", f"FreeSWITCH refused the command: {exc}") from exc


async def _ok(esl: Switchboard, command: str) -> Reply:
    reply = await _api(esl, command)
    if not reply.ok:
        verb = command.split(" ", 1)[0]
        raise LegError("freeswitch_refused", f"{verb} refused: {reply.text.strip()}")
    return reply


async def _quietly(esl: Switchboard, command: str) -> Reply | None:
    """Best effort: a leg that has gone is no reason to stop putting the other back."""
    try:
        reply = await esl.api(command)
    except (ESLError, OSError, TimeoutError) as exc:
        log.info("%s failed: %s", command.split(" ", 1)[0], exc)
        return None
    if not reply.ok:
        log.info("%s refused: %s", command.split(" ", 1)[0], reply.text.strip())
    return reply
