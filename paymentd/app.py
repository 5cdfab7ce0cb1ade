"""The daemon: wires configuration, the ESL server, the dialogue, the charging
service, the ledger and the HTTP server together, and runs them until SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import signal
import uuid
from pathlib import Path

import aiohttp
from aiohttp import web

from paymentd import __version__
from paymentd.agent.service import AgentService
from paymentd.capture.call import VARIABLES_IN, CallInfo
from paymentd.capture.dialogue import PaymentDialogue
from paymentd.capture.results import ErrorType, Mode
from paymentd.config import Config
from paymentd.driver import CallDriver
from paymentd.eslio import CallSession, OutboundServer
from paymentd.gateways.factory import create_gateway
from paymentd.gateways.service import ChargingService
from paymentd.hardening import harden_process
from paymentd.hooks import HookList, SessionContext, SessionHooks
from paymentd.http import build_http_app, start_http
from paymentd.ledger import open_ledger
from paymentd.logs import bind, configure_logging
from paymentd.metrics import EslServerMetrics, Metrics
from paymentd.observability import Observability
from paymentd.reporting.http import add_report_routes
from paymentd.speech.compose import Composer, ReadbackDirectory
from paymentd.speech.languages import find_language
from paymentd.speech.layout import check_sounds, default_sounds_root

__all__ = ["Daemon", "preflight", "run_daemon"]

log = logging.getLogger("paymentd")


def sounds_root(config: Config) -> Path:
    return Path(config.sounds.directory) if config.sounds.directory else default_sounds_root()


def preflight(config: Config) -> list[str]:
    """Problems that would stop the daemon from serving calls, found without starting it."""
    problems: list[str] = []
    root = sounds_root(config)
    for tag in config.capture.languages:
        try:
            language = find_language(tag)
        except LookupError as exc:
            problems.append(f"capture.languages: {exc}")
            continue
        problems.extend(f"sounds: {p}" for p in check_sounds(root, language))
    if config.inbound.enabled:
        problems.extend(config.agent.problems())
    return problems


class Daemon:
    """One running paymentd."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.metrics = Metrics()
        self.esl: OutboundServer | None = None
        self.charging: ChargingService | None = None
        self.http_port: int | None = None
        self._http: web.AppRunner | None = None
        self._client: aiohttp.ClientSession | None = None
        self._composers: dict[str, Composer] = {}
        self._readback: ReadbackDirectory | None = None
        self._reconciler: asyncio.Task[None] | None = None
        self._sounds = sounds_root(config)
        #: Observers of every payment session (metrics, segment markers, agent desktops).
        self.hooks: list[SessionHooks] = []
        self.observability = Observability(self.metrics)
        self.hooks.extend(self.observability.hooks)
        #: Agent mode: on when paymentd has its own (inbound) connection to FreeSWITCH.
        self.agent = AgentService(config, self.metrics) if config.inbound.enabled else None
        if self.agent is not None:
            self.hooks.append(self.agent.hooks)

    async def start(self) -> None:
        """Open the ledger, settle what a previous run left pending, then take calls."""
        config = self.config
        problems = preflight(config)
        if problems:
            raise RuntimeError("cannot start:\n  " + "\n  ".join(problems))
        self._readback = readback = ReadbackDirectory(
            Path(config.sounds.readback_directory) if config.sounds.readback_directory else None
        )
        for tag in config.capture.languages:
            # Keyed by the language's own tag: a configured "es-MX" speaks es-US.
            language = find_language(tag)
            self._composers[language.tag] = Composer(self._sounds, language, readback)

        self._client = aiohttp.ClientSession()
        ledger = await open_ledger(config.ledger)
        gateway = self.observability.measure_gateway(create_gateway(config.gateway, self._client))
        self.charging = ChargingService(ledger, gateway, config.gateway)
        report = await self.charging.recover()
        if report.unresolved:
            log.warning(
                "%d charge attempt(s) need reconciliation: see `paymentd ledger pending`",
                len(report.unresolved),
            )
        await self.observability.start(ledger)
        if config.gateway.reconcile_interval_seconds > 0:
            self._reconciler = asyncio.create_task(
                self._reconcile_forever(config.gateway.reconcile_interval_seconds),
                name="reconcile",
            )

        app = build_http_app(self.metrics, self._health)
        self.observability.install_http(app)
        add_report_routes(app, ledger, config.reporting)
        self._http, self.http_port = await start_http(
            app, config.http.listen.host, config.http.listen.port
        )
        if self.agent is not None:
            await self.agent.start()
        esl = config.esl
        self.esl = OutboundServer(
            self.handle_call,
            host=esl.listen.host,
            port=esl.listen.port,
            allowed_peers=esl.allowed_peers,
            linger_seconds=esl.linger_seconds,
            command_timeout=esl.command_timeout,
            event_queue_size=esl.event_queue_size,
            max_header_bytes=esl.max_header_bytes,
            max_content_length=esl.max_content_length,
            observer=EslServerMetrics(self.metrics),
        )
        await self.esl.start()
        log.info("paymentd %s ready", __version__)

    async def _reconcile_forever(self, interval: float) -> None:
        """Resolve, while running, what recovery at start-up could not (or did not see)."""
        assert self.charging is not None
        while True:
            await asyncio.sleep(interval)
            try:
                report = await self.charging.recover()
            except Exception:
                log.exception("reconciliation failed; trying again later")
                continue
            if report.unresolved:
                log.warning(
                    "%d charge attempt(s) still need reconciliation", len(report.unresolved)
                )

    def _health(self) -> tuple[bool, dict[str, object]]:
        calls = self.esl.active_calls if self.esl is not None else 0
        return self.esl is not None, {"version": __version__, "active_calls": calls}

    async def stop(self) -> None:
        """Stop taking calls, let live ones finish (bounded), then close everything."""
        if self._reconciler is not None:
            self._reconciler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reconciler
        if self.esl is not None:
            await self.esl.shutdown(
                self.config.esl.shutdown_grace_seconds, self.config.esl.shutdown_hangup_cause
            )
        if self.agent is not None:
            await self.agent.stop()
        if self._http is not None:
            await self._http.cleanup()
        await self.observability.close()
        if self.charging is not None:
            await self.charging.close()
        if self._client is not None:
            await self._client.close()
        if self._readback is not None:
            # Read-back files may hold card data: none may outlive the daemon.
            self._readback.close()

    # -- calls ----------------------------------------------------------------------

    async def handle_call(self, session: CallSession) -> None:
        """Run one payment session on a call that reached the ``socket`` app: automated,
        or an agent-started payment whose customer was moved here (:mod:`paymentd.agent`)."""
        assert self.charging is not None
        agent_call = self.agent.claim(session) if self.agent is not None else None
        if agent_call is not None and agent_call.stray:
            return  # names no waiting payment: the secure extension's fallback takes it
        session_id = agent_call.payment_id if agent_call is not None else str(uuid.uuid4())
        bind(call_id=session.uuid, session_id=session_id)
        data = session.channel_data
        variables = {n: v for n in VARIABLES_IN if (v := session.variable(n)) is not None}
        info = CallInfo(
            call_uuid=session.uuid,
            session_id=session_id,
            started_at=datetime.datetime.now(datetime.UTC),
            variables=variables,
            mode=Mode.AUTOMATED,
            return_extension=data.destination_number if data is not None else None,
            return_context=data.headers.get("Caller-Context") if data is not None else None,
        )
        capture = self.config.capture
        if agent_call is not None:
            info, capture = agent_call.call_info(info), agent_call.capture_config(capture)
        dialogue = PaymentDialogue(capture, info)
        language = find_language(dialogue.language)
        context = SessionContext(
            session_id=session_id,
            call_uuid=session.uuid,
            mode=info.mode,
            started_at=info.started_at,
            started_monotonic=asyncio.get_running_loop().time(),
            account_id=info.label("paymentd_account_id"),
            reference=info.label("paymentd_reference"),
        )
        for name, label in (
            ("paymentd_account_id", context.account_id),
            ("paymentd_reference", context.reference),
        ):
            if label is None and info.variable(name) is not None:
                log.warning("%s ignored: too long, unprintable or like a card number", name)
        unavailable = None
        try:
            await self.charging.begin_session(
                session_id, session.uuid, info.mode.value, context.account_id, context.reference
            )
        except Exception as exc:
            # Without a record nothing may be charged; the caller is told and routed on.
            # (The type only: a database error may quote what it was given.)
            log.error("ledger unavailable, no payment taken: %s", type(exc).__name__)
            unavailable = ErrorType.LEDGER_UNAVAILABLE
        log.info("payment session started")
        driver = CallDriver(
            session,
            dialogue,
            charger=self.observability.measure_charger(self.charging),
            language=language,
            sounds_root=self._sounds,
            composer=self._composers[language.tag],
            context=context,
            hooks=HookList(self.hooks),
            agent_return=agent_call.return_to_agent if agent_call is not None else None,
            mask_recordings=capture.mask_recordings and agent_call is None,
        )
        if agent_call is not None:
            agent_call.attach(driver)
        outcome = await driver.run(unavailable=unavailable)
        result = outcome.result.value if outcome is not None and outcome.result else None
        try:
            await self.charging.end_session(session_id, result or "identification-pending")
        except Exception as exc:
            log.error("could not record the end of the session: %s", type(exc).__name__)
        log.info("payment session ended", extra={"fields": {"result": result}})


async def run_daemon(config: Config) -> int:
    """Run until SIGTERM or SIGINT; return the process exit code."""
    configure_logging(config.logging.level, config.logging.format)
    harden_process()
    daemon = Daemon(config)
    try:
        await daemon.start()
    except Exception as exc:
        log.critical("paymentd could not start: %s", exc)
        await daemon.stop()
        return 1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    log.info("shutting down")
    await daemon.stop()
    return 0
