"""paymentd's own connection to FreeSWITCH's event socket (port 8021), for agent mode.

It authenticates, keeps itself connected (reconnecting with exponential
backoff and jitter), re-subscribes to its events after every reconnect, and
offers ``api`` and ``bgapi`` (whose results arrive as BACKGROUND_JOB events and
are matched by our own Job-UUID).  A wrong password is not retried: it is a
configuration error and is reported as :class:`AuthenticationError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from paymentd.esl import (
    Auth,
    AuthRequest,
    BackgroundJob,
    BgApi,
    Closed,
    Connection,
    Event,
    Events,
    Reply,
    Role,
)
from paymentd.esl.commands import Api, Command
from paymentd.esl.connection import Incoming
from paymentd.esl.errors import ESLError
from paymentd.eslio.errors import AuthenticationError, ConnectionLost, NotConnected
from paymentd.eslio.stream import EslStream, StreamObserver

__all__ = ["InboundClient"]

log = logging.getLogger("paymentd.esl.inbound")

EventCallback = Callable[[Event], None]


class InboundClient:
    """A self-healing inbound ESL connection."""

    def __init__(
        self,
        host: str,
        port: int,
        password: str,
        *,
        events: Iterable[str] = (),
        on_event: EventCallback | None = None,
        on_state: Callable[[bool], None] | None = None,
        connect_timeout: float = 5.0,
        command_timeout: float = 10.0,
        reconnect_min: float = 0.5,
        reconnect_max: float = 30.0,
        observer: StreamObserver | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self._password = password
        # BACKGROUND_JOB is always needed: that is how bgapi results arrive.
        self._events = tuple(dict.fromkeys(["BACKGROUND_JOB", *events]))
        self._on_event = on_event
        self._on_state = on_state
        self._connect_timeout = connect_timeout
        self._command_timeout = command_timeout
        self._reconnect_min = reconnect_min
        self._reconnect_max = reconnect_max
        self._observer = observer
        self._stream: EslStream | None = None
        self._auth_request: asyncio.Event = asyncio.Event()
        self._connected = asyncio.Event()
        self._auth_error: AuthenticationError | None = None
        self._jobs: dict[str, asyncio.Future[BackgroundJob]] = {}
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.connects = 0

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def start(self) -> None:
        """Start connecting in the background."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="esl-inbound")

    async def wait_connected(self, timeout: float | None = None) -> None:
        """Wait until authenticated; raises :class:`AuthenticationError` on a bad password."""
        if self._auth_error is not None:
            raise self._auth_error
        connected = asyncio.ensure_future(self._connected.wait())
        waiters: set[asyncio.Future[Any]] = {connected}
        if self._task is not None:
            # The connection loop only ends for good on a refused password.
            waiters.add(asyncio.shield(self._task))
        try:
            await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
        if self._auth_error is not None:
            raise self._auth_error
        if not (connected.done() and not connected.cancelled()):
            raise NotConnected(f"not connected to FreeSWITCH at {self.host}:{self.port}")

    async def close(self) -> None:
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._stream is not None:
            await self._stream.close()
        self._set_connected(False)

    async def api(self, command: str, timeout: float | None = None) -> Reply:
        """Run a blocking ``api`` command; check ``reply.ok`` (errors are in the body)."""
        return await self._command(Api(command), timeout)

    async def bgapi(self, command: str, timeout: float | None = None) -> BackgroundJob:
        """Run ``bgapi`` and wait for its BACKGROUND_JOB (matched by our Job-UUID)."""
        job_uuid = str(uuid.uuid4())
        future: asyncio.Future[BackgroundJob] = asyncio.get_running_loop().create_future()
        self._jobs[job_uuid] = future
        try:
            reply = await self._command(BgApi(command, job_uuid), timeout)
            if not reply.ok:
                raise ESLError(f"bgapi refused: {reply.text}")
            return await asyncio.wait_for(asyncio.shield(future), timeout or self._command_timeout)
        finally:
            self._jobs.pop(job_uuid, None)

    async def _command(self, command: Command, timeout: float | None) -> Reply:
        if self._auth_error is not None:
            raise self._auth_error
        stream = self._stream
        if stream is None or not self.connected:
            raise NotConnected(f"not connected to FreeSWITCH at {self.host}:{self.port}")
        return await stream.command(command, timeout)

    # -- connection loop --------------------------------------------------------

    async def _run(self) -> None:
        delay = self._reconnect_min
        while not self._stopping:
            try:
                await self._connect_once()
                delay = self._reconnect_min
                assert self._stream is not None
                await self._stream.wait_closed()
                log.warning("inbound ESL connection to %s:%d lost", self.host, self.port)
            except AuthenticationError as exc:
                self._auth_error = exc
                log.error("%s", exc)
                return
            except (OSError, ESLError, TimeoutError) as exc:
                log.warning(
                    "inbound ESL connection to %s:%d failed: %s; retrying in %.1f s",
                    self.host,
                    self.port,
                    exc or type(exc).__name__,
                    delay,
                )
            finally:
                self._set_connected(False)
                self._fail_jobs(ConnectionLost("inbound ESL connection lost"))
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))
            delay = min(delay * 2, self._reconnect_max)

    async def _connect_once(self) -> None:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port), self._connect_timeout
        )
        self._auth_request = asyncio.Event()
        stream = EslStream(
            reader,
            writer,
            Connection(Role.INBOUND),
            self._on_message,
            command_timeout=self._command_timeout,
            name=f"inbound {self.host}:{self.port}",
            observer=self._observer,
        )
        self._stream = stream
        stream.start()
        try:
            await asyncio.wait_for(self._auth_request.wait(), self._connect_timeout)
            reply = await stream.command(Auth(self._password))
            if not reply.ok:
                raise AuthenticationError(
                    f"FreeSWITCH at {self.host}:{self.port} refused the password "
                    f"({reply.text}); check inbound.password and event_socket.conf.xml"
                )
            if self._events:
                reply = await stream.command(Events(self._events))
                if not reply.ok:
                    raise ESLError(f"event subscription refused: {reply.text}")
        except BaseException:
            await stream.close()
            raise
        self.connects += 1
        self._set_connected(True)
        log.info("inbound ESL connected to %s:%d", self.host, self.port)

    def _set_connected(self, up: bool) -> None:
        if up == self._connected.is_set():
            return
        if up:
            self._connected.set()
        else:
            self._connected.clear()
        if self._on_state is not None:
            self._on_state(up)

    def _on_message(self, message: Incoming) -> None:
        if isinstance(message, AuthRequest):
            self._auth_request.set()
        elif isinstance(message, BackgroundJob):
            future = self._jobs.get(message.job_uuid or "")
            if future is not None and not future.done():
                future.set_result(message)
            if self._on_event is not None:
                self._on_event(message)
        elif isinstance(message, Event):
            if self._on_event is not None:
                self._on_event(message)
        elif isinstance(message, Closed):
            # Through _set_connected, so that on_state hears about the loss.
            self._set_connected(False)

    def _fail_jobs(self, error: Exception) -> None:
        for future in self._jobs.values():
            if not future.done():
                future.set_exception(error)
                future.exception()
