"""Agent mode inside the daemon: payments started by desktops, run on the customer's call.

:class:`AgentService` owns the inbound ESL connection (with reconnect), the
payment registry and the agent API's HTTP server.  Its life of a payment:

1. the desktop asks (:meth:`AgentService.start_payment`): the legs are moved
   out (:mod:`paymentd.agent.legs`) and the payment waits for the customer;
2. the customer's leg reaches the secure extension and connects to the
   outbound server: the daemon asks :meth:`AgentService.claim` and runs an
   agent-mode dialogue attached to the payment (:class:`AgentCall`);
3. progress flows to the event stream through :class:`AgentHooks`; a cancel
   from the desktop and the agent's hang-up reach the call driver;
4. the customer is given back to the agent (``ReturnToAgent``), or the agent
   is released, and the payment ends with the outcome.

FreeSWITCH's events on the inbound connection tell it when a leg hangs up
before or during the capture.  After the inbound connection comes back, every
live payment's legs are checked again (a hang-up may have been missed).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import uuid
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import attrs
from aiohttp import web
from prometheus_client import Counter

from paymentd.agent.config import AgentConfig, LegMode
from paymentd.agent.legs import LegError, LegMover, Legs, LegWatch, Switchboard
from paymentd.agent.payments import (
    AgentPayment,
    PaymentConflict,
    PaymentParameters,
    PaymentRegistry,
    PaymentStatus,
)
from paymentd.capture.actions import Progress, ProgressKind, SessionOutcome
from paymentd.capture.call import CallInfo
from paymentd.capture.config import AgentRoutes, CaptureConfig, Route
from paymentd.capture.results import Mode, Result
from paymentd.config import Config
from paymentd.driver import CallDriver
from paymentd.esl import Event
from paymentd.esl.connection import Reply
from paymentd.esl.errors import ESLError
from paymentd.eslio import CallSession, InboundClient, NotConnected
from paymentd.eslio.errors import ConnectionLost
from paymentd.hooks import SessionContext, SessionHooks
from paymentd.metrics import EslInboundMetrics, Metrics
from paymentd.observability.http import install_http_metrics
from paymentd.speech.layout import default_sounds_root

__all__ = ["AgentCall", "AgentHooks", "AgentService"]

log = logging.getLogger("paymentd.agent")

#: What the inbound connection listens to: hang-ups, bridges and parks (to follow the legs),
#: the end of playbacks (to play the parked agent's hold audio again), recordings that start
#: during a payment (to mask them).
_EVENTS = (
    "CHANNEL_HANGUP",
    "CHANNEL_BRIDGE",
    "CHANNEL_UNBRIDGE",
    "CHANNEL_PARK",
    "PLAYBACK_STOP",
    "RECORD_START",
)


class _PreferInbound:
    """The inbound connection while it is up, else the customer's own socket (which has
    ``full`` control, so it can run api commands on any leg)."""

    def __init__(self, inbound: InboundClient, call: CallSession | None) -> None:
        self._inbound = inbound
        self._call = call

    async def api(self, command: str, timeout: float | None = None) -> Reply:
        if self._inbound.connected:
            try:
                return await self._inbound.api(command, timeout)
            except (NotConnected, ConnectionLost):
                if self._call is None:
                    raise
        if self._call is None or self._call.closed:
            raise NotConnected("FreeSWITCH is not connected")
        return await self._call.api(command, timeout)


class AgentService:
    """Everything agent mode needs inside one daemon."""

    def __init__(self, config: Config, metrics: Metrics) -> None:
        self.config: AgentConfig = config.agent
        self.capture: CaptureConfig = config.capture
        inbound = config.inbound
        self._metrics = metrics
        self._inbound_metrics = EslInboundMetrics(metrics)
        self.inbound = InboundClient(
            inbound.host,
            inbound.port,
            inbound.password,
            events=_EVENTS,
            on_event=self._on_event,
            on_state=self._on_state,
            connect_timeout=inbound.connect_timeout,
            command_timeout=inbound.command_timeout,
            reconnect_min=inbound.reconnect_min_seconds,
            reconnect_max=inbound.reconnect_max_seconds,
            observer=self._inbound_metrics,
        )
        sounds = Path(config.sounds.directory) if config.sounds.directory else default_sounds_root()
        # Absolute, as FreeSWITCH reports it in PLAYBACK_STOP (a relative one never matches).
        default_hold = (sounds / "music" / "8000" / "paymentd_hold.wav").absolute()
        hold_audio = self.config.hold_audio or str(default_hold)
        self.watch = LegWatch()
        self.mover = LegMover(self.config, hold_audio, self.watch)
        self.hooks = AgentHooks(self)
        self.refused = Counter(
            "paymentd_agent_api_refused",
            "Agent API requests refused for want of a valid bearer token, by reason",
            ["reason"],
            registry=metrics.registry,
        )
        self.finished_payments = Counter(
            "paymentd_agent_payments",
            "Agent-started payments that ended, by mode and result",
            ["mode", "result"],
            registry=metrics.registry,
        )
        self.registry: PaymentRegistry | None = None
        self.http_port: int | None = None
        self._legs: dict[str, Legs] = {}
        #: Payments whose customer is with paymentd, by payment id.
        self.calls: dict[str, AgentCall] = {}
        self._timers: dict[str, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        #: Releases that could not reach FreeSWITCH, retried when it is back.
        self._pending: list[tuple[Legs, tuple[tuple[str, str], ...]]] = []
        self._runner: web.AppRunner | None = None
        #: Set when the daemon stops: event streams end instead of holding the shutdown.
        self.closing = asyncio.Event()
        self._reconnects = 0

    # -- life ---------------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect to FreeSWITCH (in the background) and open the agent API."""
        from paymentd.agent.api import build_agent_app

        config = self.config
        self.registry = PaymentRegistry(
            retention_seconds=config.retention_seconds,
            idempotency_seconds=config.idempotency_seconds,
        )
        self.inbound.start()
        context = None
        if config.tls:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            context.load_cert_chain(config.tls_cert, config.tls_key)
        app = build_agent_app(self)
        install_http_metrics(app, self._metrics)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        address = config.address
        site = web.TCPSite(self._runner, address.host, address.port, ssl_context=context)
        await site.start()
        self.http_port = next(int(a[1]) for a in self._runner.addresses)
        scheme = "https" if context else "http"
        log.info("agent API listening on %s://%s:%d", scheme, address.host, self.http_port)

    async def stop(self) -> None:
        self.closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
        for task in [*self._timers.values(), *self._tasks]:
            task.cancel()
        await asyncio.gather(*self._timers.values(), *self._tasks, return_exceptions=True)
        await self.inbound.close()

    def _spawn(self, coroutine: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(coroutine, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @property
    def payments(self) -> PaymentRegistry:
        assert self.registry is not None, "the agent service is not started"
        return self.registry

    # -- the desktop's requests -------------------------------------------------------------

    async def start_payment(self, call_uuid: str, parameters: PaymentParameters) -> AgentPayment:
        """Move the legs and wait for the customer; raises :class:`LegError` or
        :class:`PaymentConflict`."""
        if not self.inbound.connected:
            raise LegError("freeswitch_unavailable", "paymentd is not connected to FreeSWITCH")
        self._check_free(call_uuid)
        esl = _PreferInbound(self.inbound, None)
        if self.watch.known_unbridged(call_uuid):
            raise LegError("call_not_bridged", "the call is not bridged to an agent")
        agent = await self.mover.find_agent(esl, call_uuid)
        # Checked again after the await, and registered with no await in between: of
        # concurrent requests for one call, exactly one gets past this point.
        self._check_free(call_uuid, agent)
        payment = AgentPayment(str(uuid.uuid4()), call_uuid, agent, parameters)
        legs = Legs(customer=call_uuid, agent=agent, mode=parameters.mode)
        # Registered before the move: the customer may reach paymentd before the
        # transfer's reply comes back.
        self.payments.add(payment)
        self._legs[payment.id] = legs
        try:
            await self.mover.move_out(esl, legs, payment.id)
        except LegError:
            self.payments.forget(payment)
            del self._legs[payment.id]
            raise
        log.info(
            "payment %s started on call %s (agent %s, %s)",
            payment.id,
            call_uuid,
            agent,
            parameters.mode.value,
        )
        if payment.status is PaymentStatus.TRANSFERRING:
            self._timers[payment.id] = asyncio.create_task(
                self._await_arrival(payment), name=f"arrival {payment.id}"
            )
        return payment

    def _check_free(self, *legs: str) -> None:
        running = self.payments.active_on(*legs)
        if running is not None:
            raise PaymentConflict(running.id)

    def cancel(self, payment: AgentPayment) -> bool:
        """The desktop cancels; False if the payment is already past cancelling."""
        if payment.status in (PaymentStatus.RETURNING, PaymentStatus.FINISHED):
            return False
        payment.cancel_requested = True
        call = self.calls.get(payment.id)
        if call is not None:
            call.signal_cancel()
        return True

    # -- the customer's arrival -----------------------------------------------------------------

    def claim(self, session: CallSession) -> AgentCall | None:
        """The agent payment a call that reached paymentd belongs to (None: not an agent call).

        A call naming a payment that is not waiting for it (paymentd restarted, the
        payment ended, the variable is stale) is a *stray*: paymentd lets it go, and the
        secure extension's fallback gives the customer back to the agent.
        """
        payment_id = session.variable("paymentd_payment_id")
        if not payment_id:
            return None
        payment = self.payments.get(payment_id)
        legs = self._legs.get(payment_id)
        if (
            payment is None
            or legs is None
            or payment.status is not PaymentStatus.TRANSFERRING
            or payment.call_uuid != session.uuid
        ):
            log.warning(
                "call %s names payment %s, which is not waiting for it", session.uuid, payment_id
            )
            return AgentCall(self, None, None, session)
        timer = self._timers.pop(payment.id, None)
        if timer is not None:
            timer.cancel()
        payment.set_status(PaymentStatus.CAPTURING)
        call = AgentCall(self, payment, legs, session)
        self.calls[payment.id] = call
        return call

    async def _await_arrival(self, payment: AgentPayment) -> None:
        """The customer never reached paymentd: give them back to the agent."""
        await asyncio.sleep(self.config.arrival_timeout)
        self._timers.pop(payment.id, None)
        if payment.status is not PaymentStatus.TRANSFERRING:
            return
        log.error("payment %s: the customer did not reach the secure extension", payment.id)
        unreachable = "secure_extension_unreachable"
        variables = _result_variables(payment, Result.INTERNAL_ERROR, unreachable)
        legs = self._legs.pop(payment.id)
        try:
            await self.mover.give_back(_PreferInbound(self.inbound, None), legs, variables)
            payment.returned_to_agent = True
        except LegError as exc:
            log.error("payment %s: could not give the customer back: %s", payment.id, exc)
            payment.returned_to_agent = False
            await self.release_agent(legs, variables)
        self.finish_payment(payment, None, Result.INTERNAL_ERROR, unreachable)

    # -- the end --------------------------------------------------------------------------------

    def switchboard(self, call: CallSession | None) -> Switchboard:
        return _PreferInbound(self.inbound, call)

    async def release_agent(
        self, legs: Legs, variables: tuple[tuple[str, str], ...], call: CallSession | None = None
    ) -> None:
        try:
            await self.mover.release(self.switchboard(call), legs, variables)
        except LegError as exc:
            log.warning(
                "agent leg %s not released yet (%s); retrying when FreeSWITCH is back",
                legs.agent,
                exc,
            )
            self._pending.append((legs, variables))

    def finish_payment(
        self,
        payment: AgentPayment,
        outcome: SessionOutcome | None,
        result: Result | None,
        error_type: str | None = None,
    ) -> None:
        """Record the end of a payment (``result`` None: handed over for identification)."""
        self._legs.pop(payment.id, None)
        self.calls.pop(payment.id, None)
        payment.finish(outcome, result=result.value if result else None, error_type=error_type)
        self.payments.finished(payment)
        final = (payment.outcome or {}).get("result") or "identification-required"
        self.finished_payments.labels(payment.mode.value, final).inc()
        log.info("payment %s finished: %s", payment.id, final)

    # -- FreeSWITCH's events ------------------------------------------------------------------

    def _on_state(self, up: bool) -> None:
        self._inbound_metrics.state_changed(up)
        if not up:
            return
        self._reconnects += 1
        if self._reconnects > 1 or self._pending:
            # Events were missed while we were away: look at every live payment again.
            self._spawn(self._reconcile(), "agent reconcile")

    def _on_event(self, event: Event) -> None:
        name = event.name
        self.watch.seen(
            name,
            event.unique_id,
            event.headers.get("Bridge-A-Unique-ID"),
            event.headers.get("Bridge-B-Unique-ID"),
        )
        leg = event.unique_id
        if name not in ("CHANNEL_HANGUP", "PLAYBACK_STOP", "RECORD_START") or not leg:
            return
        if self.registry is None:
            return
        payment = self.payments.active_on(leg)
        if payment is None:
            return
        if name == "PLAYBACK_STOP":
            self._hold_ended(payment, event)
        elif name == "RECORD_START":
            self._recording_started(payment, leg, event.headers.get("Record-File-Path"))
        elif leg == payment.agent_uuid:
            self._agent_gone(payment)
        elif leg == payment.call_uuid and payment.status is PaymentStatus.TRANSFERRING:
            self._spawn(self._customer_gone_early(payment), f"customer gone {payment.id}")

    def _hold_ended(self, payment: AgentPayment, event: Event) -> None:
        """The parked agent's hold audio played to its end: once more (a break ends it)."""
        legs = self._legs.get(payment.id)
        if (
            legs is not None
            and legs.holding
            and event.unique_id == legs.agent
            and event.headers.get("Playback-Status") == "done"
            and event.headers.get("Playback-File-Path") == self.mover.hold_audio
        ):
            self._spawn(self.mover.play_hold(self.switchboard(None), legs), "hold audio")

    def _recording_started(self, payment: AgentPayment, leg: str, path: str | None) -> None:
        """A recording started on a leg during the payment: masked like those before it."""
        legs = self._legs.get(payment.id)
        if not self.config.mask_recordings or legs is None or not path:
            return
        if payment.status not in (PaymentStatus.TRANSFERRING, PaymentStatus.CAPTURING):
            return
        self._spawn(self._mask_late(payment, legs, leg, path), f"mask {payment.id}")

    async def _mask_late(self, payment: AgentPayment, legs: Legs, leg: str, path: str) -> None:
        try:
            await self.mover.mask_one(self.switchboard(None), legs, leg, path)
        except LegError as exc:
            # Card data must not go on over a recording in clear: stop the capture.
            log.error("payment %s: %s; cancelling it", payment.id, exc)
            call = self.calls.get(payment.id)
            if call is not None:
                call.signal_cancel()

    def _agent_gone(self, payment: AgentPayment) -> None:
        if payment.agent_left or payment.status is PaymentStatus.FINISHED:
            return
        log.info("payment %s: the agent hung up", payment.id)
        payment.party_left("agent")
        call = self.calls.get(payment.id)
        if call is not None:
            call.signal_agent_left()

    async def _customer_gone_early(self, payment: AgentPayment) -> None:
        """The customer hung up before reaching paymentd."""
        if payment.status is not PaymentStatus.TRANSFERRING:
            return
        timer = self._timers.pop(payment.id, None)
        if timer is not None:
            timer.cancel()
        payment.party_left("customer")
        legs = self._legs.get(payment.id)
        if legs is not None:
            await self.release_agent(legs, _result_variables(payment, Result.CALLER_HUNG_UP, None))
        self.finish_payment(payment, None, Result.CALLER_HUNG_UP)

    async def _reconcile(self) -> None:
        esl = self.switchboard(None)
        pending, self._pending = self._pending, []
        for legs, variables in pending:
            await self.release_agent(legs, variables)
        for payment in self.payments.active():
            try:
                agent = await esl.api(f"uuid_exists {payment.agent_uuid}")
                customer = await esl.api(f"uuid_exists {payment.call_uuid}")
            except ESLError:
                return  # gone again: the next reconnect looks once more
            if agent.text.strip() == "false":
                self._agent_gone(payment)
            if customer.text.strip() == "false" and payment.status is PaymentStatus.TRANSFERRING:
                await self._customer_gone_early(payment)


def _result_variables(
    payment: AgentPayment, result: Result, error_type: str | None
) -> tuple[tuple[str, str], ...]:
    """The result variables of a payment that ended without a dialogue."""
    return (
        ("paymentd_result", result.value),
        ("paymentd_session_id", payment.id),
        ("paymentd_error_type", error_type or ""),
    )


class AgentCall:
    """The customer's leg of one agent payment, while paymentd runs the dialogue on it.

    The daemon builds the dialogue from :meth:`call_info` and :meth:`capture_config`,
    gives the driver :meth:`return_to_agent`, and hands the driver over with
    :meth:`attach`.
    """

    def __init__(
        self,
        service: AgentService,
        payment: AgentPayment | None,
        legs: Legs | None,
        session: CallSession,
    ) -> None:
        self._service = service
        self.payment = payment
        self.legs = legs
        self.session = session
        self._driver: CallDriver | None = None
        self._started = False
        self._signals: list[str] = []
        self.variables: tuple[tuple[str, str], ...] = ()

    @property
    def stray(self) -> bool:
        """Not waiting for: paymentd lets the call go on in the dialplan."""
        return self.payment is None

    @property
    def payment_id(self) -> str:
        assert self.payment is not None
        return self.payment.id

    def call_info(self, info: CallInfo) -> CallInfo:
        """The dialogue's view of the call: agent mode, the desktop's parameters first."""
        assert self.payment is not None
        parameters = self.payment.parameters
        # No amount in the request means the customer keys it, whatever the call says.
        variables = {k: v for k, v in info.variables.items() if k != "paymentd_amount"}
        variables.update(parameters.channel_variables())
        return attrs.evolve(
            info,
            session_id=self.payment.id,
            variables=variables,
            mode=Mode.AGENT,
            return_to_agent=parameters.return_to_agent,
        )

    def capture_config(self, capture: CaptureConfig) -> CaptureConfig:
        """Mute mode re-bridges the customer, which leaves the secure extension: there is
        no dialplan after ``socket`` to resume, so a ``resume`` route goes to where that
        dialplan would have (``agent.after_extension``)."""
        assert self.payment is not None
        if self.payment.mode is not LegMode.MUTE:
            return capture
        config = self._service.config
        after = Route("transfer", config.after_extension, config.secure_context)
        routes = capture.routes.agent
        changed = {
            field.name: after
            for field in attrs.fields(AgentRoutes)
            if getattr(routes, field.name).action == "resume"
        }
        agent = attrs.evolve(routes, **changed)
        return attrs.evolve(capture, routes=attrs.evolve(capture.routes, agent=agent))

    def attach(self, driver: CallDriver) -> None:
        self._driver = driver

    # -- signals from the desktop and FreeSWITCH ------------------------------------------------

    def signal_cancel(self) -> None:
        self._signal("cancel")

    def signal_agent_left(self) -> None:
        self._signal("agent_left")

    def _signal(self, what: str) -> None:
        # Before the dialogue has started it cannot take them: they wait for its first step.
        if self._driver is None or not self._started:
            self._signals.append(what)
            return
        if what == "cancel":
            self._driver.agent_cancelled()
        else:
            self._driver.agent_left()

    def dialogue_started(self) -> None:
        """The dialogue took its first step: deliver what waited."""
        if self._started:
            return
        self._started = True
        assert self.payment is not None
        if self.payment.cancel_requested and "cancel" not in self._signals:
            self._signals.append("cancel")
        if self.payment.agent_left and "agent_left" not in self._signals:
            self._signals.append("agent_left")
        signals, self._signals = self._signals, []
        for what in signals:
            self._signal(what)

    # -- the way back ---------------------------------------------------------------------------

    async def return_to_agent(self, session: CallSession) -> None:
        """``ReturnToAgent``: bridge the customer to the agent again, with the result
        (mute mode: bridged anew, so that the customer's keys reach the agent again).

        If the agent's leg has gone meanwhile, the customer goes where callers whose
        agent left go (``agent.after_extension``); if the customer's has, the agent is
        released when the session ends (:meth:`finished`).
        """
        assert self.payment is not None
        assert self.legs is not None
        payment = self.payment
        payment.set_status(PaymentStatus.RETURNING)
        service = self._service
        try:
            await service.mover.give_back(service.switchboard(session), self.legs, self.variables)
        except LegError as exc:
            if exc.code == "customer_gone":
                log.info("payment %s: the customer hung up on the way back", payment.id)
                payment.returned_to_agent = False
                payment.party_left("customer")
                return
            log.warning("payment %s: cannot give the customer back: %s", payment.id, exc)
            payment.returned_to_agent = False
            payment.party_left("agent")
            config = service.config
            await session.execute(
                "transfer", f"{config.after_extension} XML {config.secure_context}"
            )
            return
        payment.returned_to_agent = True

    async def mute_bridge(self) -> None:
        """Mute mode: the customer is under paymentd's control; bridge the deaf agent back."""
        assert self.legs is not None
        try:
            await self._service.mover.rebridge(self._service.switchboard(self.session), self.legs)
        except LegError as exc:
            # The agent still hears nothing; the customer is joined again at the end.
            log.warning("could not re-bridge the muted agent: %s", exc)

    async def finished(self, outcome: SessionOutcome | None) -> None:
        """The dialogue is over: release the agent if it did not get the customer back."""
        assert self.payment is not None
        assert self.legs is not None
        payment = self.payment
        service = self._service
        if outcome is not None and outcome.hung_up:
            payment.party_left("customer")
        variables = self.variables or (outcome.variables if outcome is not None else ())
        if payment.returned_to_agent is not True:
            payment.returned_to_agent = False
            if not variables:
                variables = _result_variables(payment, Result.INTERNAL_ERROR, "internal_error")
            await service.release_agent(self.legs, variables, self.session)
        if outcome is None:
            service.finish_payment(payment, None, Result.INTERNAL_ERROR, "internal_error")
        else:
            # A None result: handed over for identification (back to the agent by default).
            service.finish_payment(payment, outcome, outcome.result)


class AgentHooks(SessionHooks):
    """Follows agent-mode sessions for the desktop (other sessions are ignored)."""

    def __init__(self, service: AgentService) -> None:
        self._service = service

    def _call(self, context: SessionContext) -> AgentCall | None:
        if context.mode is not Mode.AGENT:
            return None
        return self._service.calls.get(context.session_id)

    async def session_started(self, context: SessionContext, call: CallSession) -> None:
        agent_call = self._call(context)
        legs = agent_call.legs if agent_call is not None else None
        if agent_call is not None and legs is not None and legs.mode is LegMode.MUTE:
            # Bridged again now the customer is ours; the agent stays deaf until the end.
            await agent_call.mute_bridge()

    def progress(self, context: SessionContext, progress: Progress) -> None:
        agent_call = self._call(context)
        if agent_call is None or agent_call.payment is None:
            return
        agent_call.payment.progress(progress)
        if progress.kind is ProgressKind.STARTED:
            agent_call.dialogue_started()

    async def session_ending(
        self, context: SessionContext, call: CallSession, outcome: SessionOutcome
    ) -> None:
        agent_call = self._call(context)
        if agent_call is not None:
            agent_call.variables = outcome.variables

    async def session_finished(
        self, context: SessionContext, outcome: SessionOutcome | None
    ) -> None:
        agent_call = self._call(context)
        if agent_call is not None:
            await agent_call.finished(outcome)
