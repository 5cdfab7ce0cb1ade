"""Measuring decorators for the payment gateway and the charging service, and the
reconciliation gauge.  They wrap others' objects without changing them.

- :func:`measure_gateway` times every gateway request and counts its outcome
  (``paymentd_gateway_requests_total``, ``..._request_duration_seconds``).
- :class:`MeasuredCharger` times what the caller waits for (ledger, gateway and
  look-ups) and counts attempts whose outcome stays unknown.
- :class:`ReconciliationGauge` keeps ``paymentd_ledger_attempts_pending_reconciliation``
  in step with the ledger.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable
from typing import TypeVar

from paymentd.driver import Charger
from paymentd.gateways.base import Gateway, Token, TokenizingGateway
from paymentd.ledger import Ledger
from paymentd.metrics import Metrics
from paymentd.payments import (
    Approved,
    ChargeOutcome,
    ChargeRequest,
    Declined,
    Failed,
    Unknown,
)

__all__ = ["MeasuredCharger", "ReconciliationGauge", "measure_gateway", "outcome_label"]

log = logging.getLogger("paymentd.observability")

T = TypeVar("T")


def outcome_label(answer: object) -> str:
    """A gateway answer as a label value (``not_found``: a look-up found no record)."""
    match answer:
        case Approved():
            return "approved"
        case Declined():
            return "declined"
        case Failed():
            return "failed"
        case Unknown():
            return "unknown"
        case Token():
            return "tokenized"
        case None:
            return "not_found"
    return "other"


class _MeasuredGateway:
    """A :class:`~paymentd.gateways.base.Gateway` that reports each request to metrics."""

    def __init__(self, inner: Gateway, metrics: Metrics) -> None:
        self.inner = inner
        self.name = inner.name
        self._m = metrics
        metrics.initialise_gateway(inner.name)

    async def _timed(self, operation: str, call: Awaitable[T]) -> T:
        started = time.monotonic()
        outcome = "error"
        try:
            answer = await call
            outcome = outcome_label(answer)
            return answer
        finally:
            self._m.gateway_latency.labels(self.name, operation).observe(time.monotonic() - started)
            self._m.gateway_requests.labels(self.name, operation, outcome).inc()

    async def charge(self, request: ChargeRequest) -> ChargeOutcome:
        return await self._timed("charge", self.inner.charge(request))

    async def lookup(self, idempotency_key: str) -> ChargeOutcome | None:
        return await self._timed("lookup", self.inner.lookup(idempotency_key))

    async def close(self) -> None:
        await self.inner.close()


class _MeasuredTokenizingGateway(_MeasuredGateway):
    """The same for a gateway that tokenizes first (it stays a ``TokenizingGateway``)."""

    inner: TokenizingGateway

    def __init__(self, inner: TokenizingGateway, metrics: Metrics) -> None:
        super().__init__(inner, metrics)
        self.inner = inner

    async def tokenize(self, request: ChargeRequest) -> Token | Declined | Failed:
        return await self._timed("tokenize", self.inner.tokenize(request))

    async def charge_token(self, request: ChargeRequest, token: Token) -> ChargeOutcome:
        return await self._timed("charge_token", self.inner.charge_token(request, token))


def measure_gateway(gateway: Gateway, metrics: Metrics) -> Gateway:
    """``gateway``, measured; a tokenizing gateway stays one (the charging service checks)."""
    if isinstance(gateway, TokenizingGateway):
        return _MeasuredTokenizingGateway(gateway, metrics)
    return _MeasuredGateway(gateway, metrics)


class ReconciliationGauge:
    """Counts the ledger's attempts flagged for reconciliation, now and every ``interval``."""

    def __init__(self, ledger: Ledger, metrics: Metrics, interval: float = 60.0) -> None:
        self._ledger = ledger
        self._m = metrics
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    async def refresh(self) -> int:
        """Read the count from the ledger and set the gauge; returns the count."""
        attempts = await self._ledger.unresolved()
        count = sum(1 for attempt in attempts if attempt.needs_reconciliation)
        self._m.pending_reconciliation.set(count)
        return count

    def start(self) -> None:
        """Refresh in the background (another daemon or a person may change the ledger)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="reconciliation-gauge")

    async def _run(self) -> None:
        while True:
            try:
                await self.refresh()
            except Exception as exc:
                log.warning("could not count attempts pending reconciliation: %s", exc)
            await asyncio.sleep(self._interval)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


class MeasuredCharger:
    """A :class:`~paymentd.driver.Charger` (the charging service) that reports what the
    caller waited for and every outcome left unknown."""

    def __init__(
        self,
        inner: Charger,
        metrics: Metrics,
        gateway: str,
        reconciliation: ReconciliationGauge | None = None,
    ) -> None:
        self._inner = inner
        self._m = metrics
        self._gateway = gateway
        self._reconciliation = reconciliation

    async def charge(self, request: ChargeRequest) -> ChargeOutcome:
        started = time.monotonic()
        outcome = await self._inner.charge(request)
        label = outcome_label(outcome)
        self._m.charge_duration.labels(self._gateway, label).observe(time.monotonic() - started)
        if isinstance(outcome, Unknown):
            self._m.unknown_outcomes.labels(self._gateway).inc()
            if self._reconciliation is not None:
                try:
                    await self._reconciliation.refresh()
                except Exception as exc:
                    log.warning("could not count attempts pending reconciliation: %s", exc)
        return outcome
