"""Observability: what feeds the metrics, and the secure segment on the call.

:class:`Observability` is the one object the daemon wires in: session hooks
(metrics and segment markers), the measured gateway and charger, the HTTP
middleware and the reconciliation gauge, all over one
:class:`~paymentd.metrics.Metrics`.
"""

from __future__ import annotations

from aiohttp import web

from paymentd.driver import Charger
from paymentd.gateways.base import Gateway
from paymentd.hooks import SessionHooks
from paymentd.ledger import Ledger
from paymentd.metrics import Metrics
from paymentd.observability.charging import (
    MeasuredCharger,
    ReconciliationGauge,
    measure_gateway,
)
from paymentd.observability.http import install_http_metrics
from paymentd.observability.segment import SEGMENT_SUBCLASS, SegmentMarker
from paymentd.observability.sessions import SessionMetrics

__all__ = [
    "SEGMENT_SUBCLASS",
    "MeasuredCharger",
    "Observability",
    "ReconciliationGauge",
    "SegmentMarker",
    "SessionMetrics",
    "install_http_metrics",
    "measure_gateway",
]


class Observability:
    """Metrics feeds and segment markers for one daemon."""

    def __init__(self, metrics: Metrics, *, reconciliation_interval: float = 60.0) -> None:
        self.metrics = metrics
        #: Session hooks to add to the daemon's: metrics first, then the segment markers.
        self.hooks: list[SessionHooks] = [SessionMetrics(metrics), SegmentMarker(metrics)]
        self._interval = reconciliation_interval
        self._reconciliation: ReconciliationGauge | None = None
        self._gateway_name = ""

    def measure_gateway(self, gateway: Gateway) -> Gateway:
        """The gateway, every request measured."""
        self._gateway_name = gateway.name
        return measure_gateway(gateway, self.metrics)

    def measure_charger(self, charger: Charger) -> Charger:
        """The charging service as the call driver sees it, measured."""
        return MeasuredCharger(charger, self.metrics, self._gateway_name, self._reconciliation)

    def install_http(self, app: web.Application) -> None:
        """Count every request ``app`` answers."""
        install_http_metrics(app, self.metrics)

    async def start(self, ledger: Ledger) -> None:
        """Count what the ledger holds for reconciliation, now and from time to time."""
        self._reconciliation = ReconciliationGauge(ledger, self.metrics, self._interval)
        await self._reconciliation.refresh()
        self._reconciliation.start()

    async def close(self) -> None:
        if self._reconciliation is not None:
            await self._reconciliation.close()
