"""Session hooks: how other rooms follow a payment session without touching the driver.

Metrics, the secure-segment markers on the conversation, the agent desktop's
progress stream and the ledger's session rows all observe the same moments:
the session starts, progress happens, the session is about to leave paymentd
(the call still up, so variables can still be set and events fired), and the
session has ended.  A failing hook is logged and never disturbs the call.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Sequence

import attrs

from paymentd.capture.actions import Progress, SessionOutcome
from paymentd.capture.results import Mode
from paymentd.eslio import CallSession

__all__ = ["HookList", "SessionContext", "SessionHooks"]

log = logging.getLogger("paymentd.hooks")


@attrs.frozen
class SessionContext:
    """What every hook is told about the session."""

    session_id: str
    call_uuid: str
    mode: Mode
    started_at: datetime.datetime
    #: The driver's monotonic clock at the start (for durations).
    started_monotonic: float
    account_id: str | None = None
    reference: str | None = None


class SessionHooks:
    """Override what you need; every method is optional."""

    async def session_started(self, context: SessionContext, call: CallSession) -> None:
        """The call is prepared for capture; the dialogue is about to start."""

    def progress(self, context: SessionContext, progress: Progress) -> None:
        """Masked progress (never card data beyond the last four digits)."""

    async def session_ending(
        self, context: SessionContext, call: CallSession, outcome: SessionOutcome
    ) -> None:
        """The result is decided and the call is about to leave paymentd (it may have hung up)."""

    async def session_finished(
        self, context: SessionContext, outcome: SessionOutcome | None
    ) -> None:
        """The session is over (``None``: the dialogue failed before deciding a result)."""


class HookList(SessionHooks):
    """Several hooks as one, each isolated from the others' failures."""

    def __init__(self, hooks: Sequence[SessionHooks] = ()) -> None:
        self.hooks = list(hooks)

    async def session_started(self, context: SessionContext, call: CallSession) -> None:
        for hook in self.hooks:
            try:
                await hook.session_started(context, call)
            except Exception:
                log.exception("session hook %s failed", type(hook).__name__)

    def progress(self, context: SessionContext, progress: Progress) -> None:
        for hook in self.hooks:
            try:
                hook.progress(context, progress)
            except Exception:
                log.exception("session hook %s failed", type(hook).__name__)

    async def session_ending(
        self, context: SessionContext, call: CallSession, outcome: SessionOutcome
    ) -> None:
        for hook in self.hooks:
            try:
                await hook.session_ending(context, call, outcome)
            except Exception:
                log.exception("session hook %s failed", type(hook).__name__)

    async def session_finished(
        self, context: SessionContext, outcome: SessionOutcome | None
    ) -> None:
        for hook in self.hooks:
            try:
                await hook.session_finished(context, outcome)
            except Exception:
                log.exception("session hook %s failed", type(hook).__name__)
