"""Prometheus metrics.  One :class:`Metrics` object per daemon, on its own registry.

Labels never carry card data or account ids: only modes, results, fields,
outcomes, reasons, gateway names, ESL command kinds and HTTP route templates,
all from small fixed vocabularies.  Series of the known vocabularies are created
at start (at zero), so that dashboards and ``increase()`` alerts see them before
the first event.

What feeds them: :mod:`paymentd.observability` (session hooks, the gateway and
charger decorators, the HTTP middleware, the reconciliation gauge) and the ESL
observers below.
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
from paymentd.capture.results import Field, Mode, Result
from paymentd.esl import Command
from paymentd.esl.errors import RemoteProtocolError
from paymentd.eslio.server import ServerObserver
from paymentd.eslio.stream import StreamObserver
from paymentd.payments import DeclineReason

__all__ = [
    "CONFIRM",
    "FIELD_OUTCOMES",
    "NO_RESULT",
    "EslInboundMetrics",
    "EslServerMetrics",
    "Metrics",
    "command_label",
]

# The `_created` series double every counter for no use to us.
prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]

#: The funnel's pseudo-field for "press 1 to confirm, 2 to re-enter".
CONFIRM = "confirm"
#: How one attempt at a field ends (``abandoned``: hang-up or cancel while it was asked).
FIELD_OUTCOMES = ("ok", "invalid", "timeout", "re-entered", "abandoned")
#: The result label of a session handed over to identification before any payment.
NO_RESULT = "identification-pending"

_ESL_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
_GATEWAY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 20.0, 30.0)
_HTTP_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
# A payment session lasts from a few seconds (a refusal) to several minutes.
_SESSION_BUCKETS = (5.0, 10.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 180.0, 300.0, 600.0, 1200.0)


class Metrics:
    """Every metric paymentd exports, as attributes, on a registry of their own."""

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)
        self.build_info = Info("paymentd_build", "paymentd build information", registry=registry)
        self.build_info.info({"version": __version__, "python": platform.python_version()})
        self._sessions(registry)
        self._funnel(registry)
        self._gateway(registry)
        self._esl(registry)
        self._http(registry)
        self._initialise_series()

    def _sessions(self, registry: CollectorRegistry) -> None:
        self.sessions_active = Gauge(
            "paymentd_sessions_active",
            "Payment sessions in progress",
            ["mode"],
            registry=registry,
        )
        self.sessions_started = Counter(
            "paymentd_sessions_started",
            "Payment sessions started (the call was prepared for capture)",
            ["mode"],
            registry=registry,
        )
        self.sessions_completed = Counter(
            "paymentd_sessions_completed",
            "Payment sessions ended, by paymentd_result",
            ["mode", "result"],
            registry=registry,
        )
        self.session_duration = Histogram(
            "paymentd_session_duration_seconds",
            "Length of payment sessions, from the start of the dialogue to its result",
            ["mode", "result"],
            buckets=_SESSION_BUCKETS,
            registry=registry,
        )
        self.segment_marks = Counter(
            "paymentd_segment_marks",
            "Secure-segment markers on the call (CUSTOM event and variables), by outcome",
            ["phase", "outcome"],
            registry=registry,
        )

    def _funnel(self, registry: CollectorRegistry) -> None:
        self.field_attempts = Counter(
            "paymentd_field_attempts",
            "Attempts at each step of the capture, by how they ended",
            ["field", "outcome"],
            registry=registry,
        )
        self.field_errors = Counter(
            "paymentd_field_errors",
            "Entries refused, by field and error type (paymentd_error_type)",
            ["field", "error"],
            registry=registry,
        )
        self.declines = Counter(
            "paymentd_declines",
            "Charges declined, by normalised decline reason",
            ["mode", "reason"],
            registry=registry,
        )
        self.routes = Counter(
            "paymentd_session_routes",
            "Where calls went when their session ended",
            ["mode", "result", "action"],
            registry=registry,
        )

    def _gateway(self, registry: CollectorRegistry) -> None:
        self.gateway_requests = Counter(
            "paymentd_gateway_requests",
            "Requests to the payment gateway, by operation and outcome",
            ["gateway", "operation", "outcome"],
            registry=registry,
        )
        self.gateway_latency = Histogram(
            "paymentd_gateway_request_duration_seconds",
            "Time the payment gateway took to answer one request",
            ["gateway", "operation"],
            buckets=_GATEWAY_BUCKETS,
            registry=registry,
        )
        self.charge_duration = Histogram(
            "paymentd_charge_duration_seconds",
            "Time a caller waited for a charge (ledger, gateway and look-ups), by final outcome",
            ["gateway", "outcome"],
            buckets=_GATEWAY_BUCKETS,
            registry=registry,
        )
        self.unknown_outcomes = Counter(
            "paymentd_gateway_unknown_outcomes",
            "Charge attempts whose outcome could not be established (flagged for reconciliation)",
            ["gateway"],
            registry=registry,
        )
        self.pending_reconciliation = Gauge(
            "paymentd_ledger_attempts_pending_reconciliation",
            "Ledger attempts a person must reconcile with the gateway (paymentd ledger pending)",
            registry=registry,
        )

    def _esl(self, registry: CollectorRegistry) -> None:
        self.esl_connections = Counter(
            "paymentd_esl_connections",
            "Outbound ESL connections from FreeSWITCH, by whether they were accepted",
            ["status"],
            registry=registry,
        )
        self.esl_active_connections = Gauge(
            "paymentd_esl_active_connections",
            "Outbound ESL connections (calls) currently open",
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
            "Round trip of ESL commands (written to reply read)",
            ["connection", "command"],
            buckets=_ESL_BUCKETS,
            registry=registry,
        )
        self.esl_protocol_errors = Counter(
            "paymentd_esl_protocol_errors",
            "Connections closed because the peer broke the ESL protocol",
            ["connection"],
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
        self.esl_inbound_changes = Counter(
            "paymentd_esl_inbound_state_changes",
            "The inbound ESL connection going up or down",
            ["state"],
            registry=registry,
        )

    def _http(self, registry: CollectorRegistry) -> None:
        self.http_requests = Counter(
            "paymentd_http_requests",
            "HTTP requests, by route template, method and status",
            ["route", "method", "status"],
            registry=registry,
        )
        self.http_latency = Histogram(
            "paymentd_http_request_duration_seconds",
            "Time to answer HTTP requests",
            ["route", "method"],
            buckets=_HTTP_BUCKETS,
            registry=registry,
        )
        self.http_auth_failures = Counter(
            "paymentd_http_auth_failures",
            "HTTP requests refused for a missing or wrong credential (401/403)",
            ["route"],
            registry=registry,
        )

    def _initialise_series(self) -> None:
        for mode in Mode:
            self.sessions_active.labels(mode.value)
            self.sessions_started.labels(mode.value)
            for reason in DeclineReason:
                self.declines.labels(mode.value, reason.value)
            for result in (*(r.value for r in Result), NO_RESULT):
                self.sessions_completed.labels(mode.value, result)
        for field in (*(f.value for f in Field), CONFIRM):
            for outcome in FIELD_OUTCOMES:
                self.field_attempts.labels(field, outcome)
        for phase in ("start", "end"):
            for outcome in ("ok", "failed", "skipped"):
                self.segment_marks.labels(phase, outcome)
        for status in ("accepted", "refused"):
            self.esl_connections.labels(status)
        for connection in ("outbound", "inbound"):
            self.esl_protocol_errors.labels(connection)
        for state in ("up", "down"):
            self.esl_inbound_changes.labels(state)

    def initialise_gateway(self, gateway: str) -> None:
        """Create the gateway's series at zero (its name is known once it is configured)."""
        self.unknown_outcomes.labels(gateway)
        for outcome in ("approved", "declined", "failed", "unknown"):
            self.gateway_requests.labels(gateway, "charge", outcome)

    def render(self) -> bytes:
        """The text exposition format, for ``/metrics``."""
        return generate_latest(self.registry)

    def exported_names(self) -> set[str]:
        """Every series name this registry exports (``..._total``, ``..._bucket``, ...),
        whether or not a labelled series has been created yet."""
        suffixes = {
            "counter": ("_total",),
            "histogram": ("_bucket", "_sum", "_count"),
            "info": ("_info",),
        }
        return {
            family.name + suffix
            for family in self.registry.collect()
            for suffix in suffixes.get(family.type, ("",))
        }


def command_label(command: Command) -> str:
    """``Api`` -> ``api``, ``DivertEvents`` -> ``divert_events``: a fixed vocabulary."""
    name = type(command).__name__
    return "".join(f"_{c.lower()}" if c.isupper() and i else c.lower() for i, c in enumerate(name))


class EslServerMetrics(ServerObserver):
    """Feeds the outbound server and its calls' streams into :class:`Metrics`."""

    def __init__(self, metrics: Metrics) -> None:
        self._m = metrics

    def connection_refused(self, peer: str) -> None:
        self._m.esl_connections.labels("refused").inc()

    def connection_accepted(self, peer: str) -> None:
        self._m.esl_connections.labels("accepted").inc()
        self._m.esl_active_connections.inc()

    def connection_closed(self, peer: str) -> None:
        self._m.esl_active_connections.dec()

    def call_failed(self, reason: str) -> None:
        self._m.esl_call_failures.labels(reason).inc()

    def command_answered(self, command: Command, seconds: float) -> None:
        self._m.esl_command_seconds.labels("outbound", command_label(command)).observe(seconds)

    def protocol_error(self, error: RemoteProtocolError) -> None:
        self._m.esl_protocol_errors.labels("outbound").inc()

    def event_queue_overflowed(self) -> None:
        self._m.esl_queue_overflows.inc()


class EslInboundMetrics(StreamObserver):
    """Feeds the inbound ESL client into :class:`Metrics`.

    Pass it as the client's ``observer`` and :meth:`state_changed` as its ``on_state``.
    """

    def __init__(self, metrics: Metrics) -> None:
        self._m = metrics

    def state_changed(self, up: bool) -> None:
        self._m.esl_inbound_up.set(1 if up else 0)
        self._m.esl_inbound_changes.labels("up" if up else "down").inc()

    def command_answered(self, command: Command, seconds: float) -> None:
        self._m.esl_command_seconds.labels("inbound", command_label(command)).observe(seconds)

    def protocol_error(self, error: RemoteProtocolError) -> None:
        self._m.esl_protocol_errors.labels("inbound").inc()
