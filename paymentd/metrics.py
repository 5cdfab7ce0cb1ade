"""Prometheus metrics.  One :class:`Metrics` object per daemon, on its own registry.

Labels never carry card data or account ids: only modes, results, fields,
outcomes, reasons and gateway names from small fixed vocabularies.
"""

from __future__ import annotations

import platform

import prometheus_client
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    Info,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

from paymentd import __version__
from paymentd.eslio.server import ServerObserver

__all__ = ["EslServerMetrics", "Metrics"]

# The `_created` series double every counter for no use to us.
prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    """Every metric paymentd exports."""

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)
        self.build_info = Info("paymentd_build", "paymentd build information", registry=registry)
        self.build_info.info({"version": __version__, "python": platform.python_version()})

        # ESL
        self.esl_connections = Counter(
            "paymentd_esl_connections",
            "Outbound ESL connections from FreeSWITCH, by whether they were accepted",
            ["status"],
            registry=registry,
        )
        self.esl_call_failures = Counter(
            "paymentd_esl_call_failures",
            "Calls that ended on an ESL-level failure, by reason",
            ["reason"],
            registry=registry,
        )
        self.esl_command_seconds = Histogram(
            "paymentd_esl_command_duration_seconds",
            "Round trip of ESL commands (send to reply)",
            ["command"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.esl_protocol_errors = Counter(
            "paymentd_esl_protocol_errors",
            "Connections closed because the peer broke the ESL protocol",
            registry=registry,
        )
        self.esl_queue_overflows = Counter(
            "paymentd_esl_event_queue_overflows",
            "Calls abandoned because their event queue overflowed",
            registry=registry,
        )
        self.esl_inbound_up = Gauge(
            "paymentd_esl_inbound_up",
            "1 while the inbound ESL connection to FreeSWITCH is authenticated",
            registry=registry,
        )
        self.esl_active_calls = Gauge(
            "paymentd_esl_active_calls",
            "Outbound ESL connections currently open",
            registry=registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)


class EslServerMetrics(ServerObserver):
    """Feeds the outbound server's events into :class:`Metrics`."""

    def __init__(self, metrics: Metrics) -> None:
        self._m = metrics

    def connection_refused(self, peer: str) -> None:
        self._m.esl_connections.labels("refused").inc()

    def connection_accepted(self, peer: str) -> None:
        self._m.esl_connections.labels("accepted").inc()

    def call_failed(self, reason: str) -> None:
        self._m.esl_call_failures.labels(reason).inc()
