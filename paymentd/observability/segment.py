"""The secure payment segment, marked on the FreeSWITCH call itself.

At the start and at the end of every payment session paymentd

- sets channel variables on the call (``uuid_setvar``), so that every later
  channel event and the CDR carry the segment::

      paymentd_segment_session_id  paymentd_segment_mode  paymentd_segment_start   (start)
      paymentd_segment_end         paymentd_segment_result                         (end)

- fires a ``CUSTOM`` event with subclass ``paymentd::segment`` for real-time
  consumers (``event plain CUSTOM paymentd::segment`` or ``ALL``).

How the event is fired matters (captures, scenario 07): ``sendevent`` *with* a
``Unique-ID`` header is queued to the call's session and, once ``divert_events
on`` is set (as it is for every payment, to keep DTMF away from other
listeners), goes only back to paymentd's own socket.  So the event is sent
**without** ``Unique-ID``: FreeSWITCH then fires it to every listener.  It
carries no channel data; ``Paymentd-Call-UUID`` names the call.

A caller who hangs up ends the channel before paymentd can mark it: the end
variables are then not set (the CDR shows a start without an end), and the
end event is fired only if the socket is still open (lingering).  The ledger
keeps the full record either way.  Nothing here is card data.
"""

from __future__ import annotations

import asyncio
import datetime
import logging

from paymentd.capture.actions import SessionOutcome
from paymentd.esl import SendEvent
from paymentd.esl.errors import ESLError
from paymentd.eslio import CallSession
from paymentd.hooks import SessionContext, SessionHooks
from paymentd.metrics import Metrics
from paymentd.observability.sessions import result_label

__all__ = ["SEGMENT_SUBCLASS", "SegmentMarker", "timestamp"]

log = logging.getLogger("paymentd.segment")

SEGMENT_SUBCLASS = "paymentd::segment"


def timestamp(moment: datetime.datetime) -> str:
    """ISO 8601 in UTC to the millisecond: ``2026-11-27T15:44:46.123Z`` (no spaces)."""
    utc = moment.astimezone(datetime.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


class SegmentMarker(SessionHooks):
    """Marks each payment session on its call: variables and ``paymentd::segment`` events."""

    def __init__(self, metrics: Metrics | None = None) -> None:
        self._metrics = metrics
        #: Sessions marked as started and not yet as ended, with their call.
        self._open: dict[str, CallSession] = {}

    async def session_started(self, context: SessionContext, call: CallSession) -> None:
        self._open[context.session_id] = call
        variables = {
            "paymentd_segment_session_id": context.session_id,
            "paymentd_segment_mode": context.mode.value,
            "paymentd_segment_start": timestamp(context.started_at),
        }
        await self._mark("start", call, variables, self._headers(context, "start"))

    async def session_ending(
        self, context: SessionContext, call: CallSession, outcome: SessionOutcome
    ) -> None:
        await self._end(context, call, outcome)

    async def session_finished(
        self, context: SessionContext, outcome: SessionOutcome | None
    ) -> None:
        call = self._open.get(context.session_id)
        if call is not None:
            # The dialogue broke before its ending (the driver hangs up on its own).
            await self._end(context, call, outcome)

    async def _end(
        self, context: SessionContext, call: CallSession, outcome: SessionOutcome | None
    ) -> None:
        if self._open.pop(context.session_id, None) is None:
            self._count("end", "skipped")  # never started: the call was not prepared
            return
        ended_at = timestamp(datetime.datetime.now(datetime.UTC))
        result = result_label(outcome)
        headers = self._headers(context, "end")
        headers += [("Paymentd-Segment-End", ended_at), ("Paymentd-Result", result)]
        if outcome is not None and outcome.error_type:
            headers.append(("Paymentd-Error-Type", outcome.error_type))
        route = outcome.route if outcome is not None else None
        headers.append(("Paymentd-Route", route.action if route is not None else "none"))
        hung_up = (outcome is not None and outcome.hung_up) or call.hung_up.is_set()
        variables = (
            {} if hung_up else {"paymentd_segment_end": ended_at, "paymentd_segment_result": result}
        )
        await self._mark("end", call, variables, headers)

    @staticmethod
    def _headers(context: SessionContext, phase: str) -> list[tuple[str, str]]:
        return [
            ("Event-Subclass", SEGMENT_SUBCLASS),
            ("Paymentd-Segment-Phase", phase),
            ("Paymentd-Session-ID", context.session_id),
            ("Paymentd-Call-UUID", context.call_uuid),
            ("Paymentd-Mode", context.mode.value),
            ("Paymentd-Segment-Start", timestamp(context.started_at)),
        ]

    async def _mark(
        self,
        phase: str,
        call: CallSession,
        variables: dict[str, str],
        headers: list[tuple[str, str]],
    ) -> None:
        if call.closed:
            self._count(phase, "skipped")
            return
        uuid = call.uuid
        # Variables first: a consumer reacting to the event finds them already set.
        commands = [
            call.api(f"uuid_setvar {uuid} {name} {value}") for name, value in variables.items()
        ]
        try:
            replies = await asyncio.gather(*commands)
            reply = await call.command(SendEvent("CUSTOM", tuple(headers)))
        except (ESLError, OSError) as exc:
            if call.closed or call.hung_up.is_set():
                # The caller left and FreeSWITCH released the socket meanwhile.
                log.info("payment segment's %s not marked: the call is gone", phase)
                self._count(phase, "skipped")
            else:
                log.warning("could not mark the payment segment's %s: %s", phase, exc)
                self._count(phase, "failed")
            return
        refused = [r.text.strip() for r in (*replies, reply) if not r.ok]
        if refused:
            log.warning("FreeSWITCH refused the segment's %s marker: %s", phase, refused[0])
        self._count(phase, "failed" if refused else "ok")

    def _count(self, phase: str, outcome: str) -> None:
        if self._metrics is not None:
            self._metrics.segment_marks.labels(phase, outcome).inc()
