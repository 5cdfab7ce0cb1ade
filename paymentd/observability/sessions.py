"""Session metrics: active, started, completed and duration by mode and result; the
capture funnel, declines and routes.  A :class:`~paymentd.hooks.SessionHooks`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from paymentd.capture.actions import Progress, ProgressKind, SessionOutcome
from paymentd.capture.results import Result
from paymentd.eslio import CallSession
from paymentd.hooks import SessionContext, SessionHooks
from paymentd.metrics import NO_RESULT, Metrics
from paymentd.observability.funnel import FieldAttempt, FunnelTracker

__all__ = ["SessionMetrics", "result_label"]


def result_label(outcome: SessionOutcome | None) -> str:
    """The ``result`` label: ``paymentd_result``, or why there is none."""
    if outcome is None:
        # The dialogue itself failed; the driver set paymentd_result=internal-error.
        return Result.INTERNAL_ERROR.value
    return outcome.result.value if outcome.result is not None else NO_RESULT


class SessionMetrics(SessionHooks):
    """Feeds every session's life into :class:`~paymentd.metrics.Metrics`."""

    def __init__(self, metrics: Metrics, clock: Callable[[], float] | None = None) -> None:
        self._m = metrics
        self._clock = clock
        #: Sessions whose dialogue started, with their funnel.
        self._funnels: dict[str, FunnelTracker] = {}

    async def session_started(self, context: SessionContext, call: CallSession) -> None:
        mode = context.mode.value
        self._funnels[context.session_id] = FunnelTracker()
        self._m.sessions_started.labels(mode).inc()
        self._m.sessions_active.labels(mode).inc()

    def progress(self, context: SessionContext, progress: Progress) -> None:
        funnel = self._funnels.get(context.session_id)
        if funnel is not None:
            self._count(funnel.feed(progress))
        if progress.kind is ProgressKind.DECLINED and progress.error is not None:
            self._m.declines.labels(context.mode.value, progress.error).inc()

    async def session_finished(
        self, context: SessionContext, outcome: SessionOutcome | None
    ) -> None:
        mode = context.mode.value
        funnel = self._funnels.pop(context.session_id, None)
        if funnel is not None:
            self._count(funnel.finish())
            self._m.sessions_active.labels(mode).dec()
        result = result_label(outcome)
        now = self._clock() if self._clock is not None else asyncio.get_running_loop().time()
        self._m.sessions_completed.labels(mode, result).inc()
        self._m.session_duration.labels(mode, result).observe(
            max(0.0, now - context.started_monotonic)
        )
        route = outcome.route if outcome is not None else None
        self._m.routes.labels(mode, result, route.action if route is not None else "none").inc()

    def _count(self, attempts: list[FieldAttempt]) -> None:
        for attempt in attempts:
            self._m.field_attempts.labels(attempt.step, attempt.outcome).inc()
            if attempt.error is not None:
                self._m.field_errors.labels(attempt.step, attempt.error).inc()
