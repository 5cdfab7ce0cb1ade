"""One call on the outbound socket: connect, subscribe, run applications, hear events."""

from __future__ import annotations

import asyncio
import logging
import uuid

from paymentd.esl import (
    Api,
    ChannelData,
    ChannelExecute,
    ChannelExecuteComplete,
    ChannelHangup,
    ChannelHangupComplete,
    Closed,
    Command,
    Connect,
    Connection,
    DisconnectNotice,
    Event,
    Execute,
    Hangup,
    Linger,
    MyEvents,
    Reply,
    Role,
)
from paymentd.esl.connection import Incoming
from paymentd.esl.errors import ESLError
from paymentd.eslio.errors import CallHungUp, CommandTimeout, ConnectionLost
from paymentd.eslio.stream import EslStream, StreamObserver

__all__ = ["CallSession", "EventQueueOverflow", "Execution"]

log = logging.getLogger("paymentd.esl")


class Execution:
    """One application sent to the call: when FreeSWITCH started it, and its completion.

    ``started`` is set at its CHANNEL_EXECUTE; ``completed`` resolves at its
    CHANNEL_EXECUTE_COMPLETE (or fails on hang-up).  Barge-in needs the
    difference: a break may only be aimed at an application that is running.
    """

    __slots__ = ("app", "completed", "event_uuid", "started")

    def __init__(self, app: str, event_uuid: str) -> None:
        self.app = app
        self.event_uuid = event_uuid
        self.started = asyncio.Event()
        self.completed: asyncio.Future[ChannelExecuteComplete] = (
            asyncio.get_running_loop().create_future()
        )

    @property
    def running(self) -> bool:
        return self.started.is_set() and not self.completed.done()


class EventQueueOverflow(ConnectionLost):
    """The call produced more events than its consumer took; the call is abandoned."""


class CallSession:
    """A FreeSWITCH call that connected to us through the dialplan ``socket`` app.

    Events for the call land in a bounded queue read with :meth:`next_event`.
    If the consumer falls that far behind, the session fails with
    :class:`EventQueueOverflow` and the call is hung up: a payment dialogue that
    can no longer keep up with the caller must not go on taking card data.
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        command_timeout: float = 10.0,
        event_queue_size: int = 1000,
        max_header_bytes: int = 64 * 1024,
        max_content_length: int = 16 * 1024 * 1024,
        peer: str = "",
        observer: StreamObserver | None = None,
    ) -> None:
        self.peer = peer
        connection = Connection(
            Role.OUTBOUND,
            max_header_bytes=max_header_bytes,
            max_content_length=max_content_length,
        )
        self.stream = EslStream(
            reader,
            writer,
            connection,
            self._on_message,
            command_timeout=command_timeout,
            name=f"call {peer}",
            observer=observer,
        )
        self._events: asyncio.Queue[Event] = asyncio.Queue(maxsize=event_queue_size)
        self._executing: dict[str, Execution] = {}
        self.channel_data: ChannelData | None = None
        self.hangup_cause: str | None = None
        self.hung_up = asyncio.Event()
        self.hangup_complete = asyncio.Event()
        self.lingering = False
        self.overflowed = False
        self._watchers: set[asyncio.Task[None]] = set()
        self.stream.start()

    # -- identity -----------------------------------------------------------------

    @property
    def uuid(self) -> str:
        return self.channel_data.unique_id if self.channel_data is not None else ""

    def variable(self, name: str) -> str | None:
        """A channel variable as it stood at ``connect``."""
        return self.channel_data.variable(name) if self.channel_data is not None else None

    @property
    def closed(self) -> bool:
        return self.stream.closed

    # -- set-up -------------------------------------------------------------------

    async def connect(self, *, linger_seconds: int | None) -> ChannelData:
        """``connect``, ``myevents`` and ``linger``: the start of every call.

        The three are pipelined: FreeSWITCH answers in order.  Raises
        :class:`~paymentd.esl.SocketModeError` if the dialplan did not say ``async full``.
        """
        futures = [self.stream.send_nowait(Connect()), self.stream.send_nowait(MyEvents())]
        if linger_seconds is not None:
            futures.append(self.stream.send_nowait(Linger(linger_seconds)))
        await self.stream.drain()
        replies = [await self._await_reply(f) for f in futures]
        data = replies[0].message
        assert isinstance(data, ChannelData)
        self.channel_data = data
        for reply in replies[1:]:
            if not reply.ok:
                raise ConnectionLost(f"{type(reply.command).__name__} refused: {reply.text}")
        return data

    async def _await_reply(self, future: asyncio.Future[Reply]) -> Reply:
        try:
            return await asyncio.wait_for(asyncio.shield(future), self.stream.command_timeout)
        except TimeoutError:
            future.cancel()
            raise CommandTimeout("FreeSWITCH did not answer while opening the call") from None
        except ConnectionLost:
            # A configuration or protocol error closed the stream: report that, not the close.
            reason = self.stream.close_reason
            if isinstance(reason, ESLError):
                raise reason from None
            raise

    # -- commands -----------------------------------------------------------------

    async def command(self, command: Command, timeout: float | None = None) -> Reply:
        """Send any command and wait for its reply."""
        return await self.stream.command(command, timeout)

    async def api(self, command: str, timeout: float | None = None) -> Reply:
        """``api <command>`` on this socket (needs ``full`` control)."""
        return await self.stream.command(Api(command), timeout)

    async def execute(
        self,
        app: str,
        arg: str | None = None,
        *,
        event_lock: bool = False,
        timeout: float | None = None,
    ) -> ChannelExecuteComplete:
        """Run ``app`` on the call and wait for its CHANNEL_EXECUTE_COMPLETE.

        Completion is matched by ``Application-UUID`` (our ``Event-UUID``), never by
        order.  Raises :class:`CallHungUp` if the call ends before the app does.
        """
        execution = self.start_execute(app, arg, event_lock=event_lock)
        return await self.wait_execute(execution, timeout)

    def start_execute(
        self, app: str, arg: str | None = None, *, event_lock: bool = False
    ) -> Execution:
        """Send an execute and return at once (for barge-in); see :class:`Execution`."""
        if self.hung_up.is_set():
            raise CallHungUp(f"the call has hung up ({self.hangup_cause})")
        execution = Execution(app, str(uuid.uuid4()))
        self._executing[execution.event_uuid] = execution
        try:
            reply = self.stream.send_nowait(
                Execute(app, arg, event_uuid=execution.event_uuid, event_lock=event_lock)
            )
        except BaseException:
            del self._executing[execution.event_uuid]
            raise
        watcher = asyncio.get_running_loop().create_task(self._watch_reply(execution, reply))
        self._watchers.add(watcher)
        watcher.add_done_callback(self._watchers.discard)
        return execution

    async def _watch_reply(self, execution: Execution, reply: asyncio.Future[Reply]) -> None:
        """Fail the execute if FreeSWITCH refuses the sendmsg or never answers it."""
        error: Exception | None = None
        try:
            answer = await asyncio.wait_for(asyncio.shield(reply), self.stream.command_timeout)
            if not answer.ok:
                error = ConnectionLost(f"FreeSWITCH refused the execute: {answer.text}")
        except TimeoutError:
            reply.cancel()
            error = CommandTimeout("FreeSWITCH did not acknowledge an execute")
        except ConnectionLost as exc:
            error = exc
        if error is not None:
            self._executing.pop(execution.event_uuid, None)
            _fail(execution, error)

    async def wait_execute(
        self, execution: Execution, timeout: float | None = None
    ) -> ChannelExecuteComplete:
        """Wait for the completion of ``execution`` (``TimeoutError`` after ``timeout``)."""
        return await asyncio.wait_for(asyncio.shield(execution.completed), timeout)

    async def hangup(self, cause: str = "NORMAL_CLEARING") -> None:
        """Hang the call up (no-op if it already has)."""
        if self.hung_up.is_set() or self.stream.closed:
            return
        await self.stream.command(Hangup(cause))

    async def close(self) -> None:
        """Close our side of the socket.

        With ``async full``, a call that is still up carries on in the dialplan
        after the ``socket`` action; a hung-up call is released by FreeSWITCH.
        """
        await self.stream.close()
        self._fail_executing(ConnectionLost("the call's socket is closed"))

    # -- events -------------------------------------------------------------------

    async def next_event(self, timeout: float | None = None) -> Event | None:
        """The next event of the call, or ``None`` after ``timeout`` seconds.

        Raises :class:`ConnectionLost` once the socket is closed and every queued
        event has been read.
        """
        if self._events.empty() and self.stream.closed:
            raise self._lost()
        getter = asyncio.ensure_future(self._events.get())
        closed = asyncio.ensure_future(self.stream.wait_closed())
        try:
            done, _ = await asyncio.wait(
                {getter, closed}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            closed.cancel()
            if not getter.done():
                getter.cancel()
        if getter in done:
            return getter.result()
        if not self._events.empty():
            return self._events.get_nowait()
        if closed in done:
            raise self._lost()
        return None

    def _lost(self) -> ConnectionLost:
        if self.overflowed:
            return EventQueueOverflow("the call's event queue overflowed")
        reason = self.stream.close_reason
        return ConnectionLost(f"the call's socket is closed{f': {reason}' if reason else ''}")

    def _on_message(self, message: Incoming) -> None:
        if isinstance(message, Event):
            self._on_event(message)
        elif isinstance(message, DisconnectNotice):
            self.lingering = message.disposition == "linger"
        elif isinstance(message, Closed):
            self._fail_executing(CallHungUp("the call's socket closed"))

    def _on_event(self, event: Event) -> None:
        if isinstance(event, ChannelHangup):
            if not self.hung_up.is_set():
                self.hangup_cause = event.hangup_cause
                self.hung_up.set()
            if isinstance(event, ChannelHangupComplete):
                self.hangup_complete.set()
        if isinstance(event, ChannelExecute):
            started = self._executing.get(event.application_uuid or "")
            if started is not None:
                started.started.set()
        elif isinstance(event, ChannelExecuteComplete):
            done = self._executing.pop(event.application_uuid or "", None)
            if done is not None:
                done.started.set()
                if not done.completed.done():
                    done.completed.set_result(event)
        if self.hung_up.is_set():
            # Apps still queued will never run now; a running one already completed above.
            self._fail_executing(CallHungUp(f"the call hung up ({self.hangup_cause})"))
        if self.overflowed:
            return
        try:
            self._events.put_nowait(event)
        except asyncio.QueueFull:
            self.overflowed = True
            self.stream.observer.event_queue_overflowed()
            log.error(
                "call %s: event queue full (%d events); hanging up",
                self.uuid,
                self._events.maxsize,
            )
            asyncio.get_running_loop().create_task(self._abandon())

    async def _abandon(self) -> None:
        try:
            await self.hangup("SWITCH_CONGESTION")
        except Exception:
            log.debug("hangup after overflow failed", exc_info=True)
        await self.close()

    def _fail_executing(self, error: Exception) -> None:
        for execution in self._executing.values():
            _fail(execution, error)
        self._executing.clear()


def _fail(execution: Execution, error: Exception) -> None:
    if not execution.completed.done():
        execution.completed.set_exception(error)
        # Nobody may be waiting any more; do not warn about an unretrieved error.
        execution.completed.exception()
