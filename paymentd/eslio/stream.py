"""One Event Socket byte stream: a reader task, a writer, and reply futures by slot.

Shared by the outbound call session and the inbound client.  Replies are matched
by the connection's FIFO slots: a waiter that gives up (timeout, cancellation)
leaves its future behind, and the reply that eventually arrives for that slot
is dropped instead of being handed to the next caller.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from paymentd.esl import Closed, Command, Connection, Reply
from paymentd.esl.connection import Incoming
from paymentd.esl.errors import ESLError, RemoteProtocolError
from paymentd.eslio.errors import CommandTimeout, ConnectionLost

__all__ = ["EslStream", "StreamObserver"]

log = logging.getLogger("paymentd.esl")

_READ_SIZE = 64 * 1024


class StreamObserver:
    """Hooks for metrics on ESL streams; the default does nothing.

    Called from the reader task: implementations must be quick and must not raise.
    """

    def command_answered(self, command: Command, seconds: float) -> None:
        """``command`` got its reply ``seconds`` after it was written."""

    def protocol_error(self, error: RemoteProtocolError) -> None:
        """The peer broke the protocol; the stream is closing."""

    def event_queue_overflowed(self) -> None:
        """The consumer of this stream's events fell too far behind (the call is abandoned)."""


class EslStream:
    """Moves bytes between a socket and a :class:`~paymentd.esl.Connection`.

    ``on_message`` receives everything that is not a reply (events, notices),
    in order, from the reader task; it must not block.
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        connection: Connection,
        on_message: Callable[[Incoming], None],
        *,
        command_timeout: float,
        name: str = "esl",
        observer: StreamObserver | None = None,
    ) -> None:
        self.connection = connection
        self._reader = reader
        self._writer = writer
        self._on_message = on_message
        self.command_timeout = command_timeout
        self._name = name
        self._waiters: dict[int, asyncio.Future[Reply]] = {}
        self.observer = observer or StreamObserver()
        #: When each unanswered slot was written (loop time), for the round-trip metric.
        self._sent_at: dict[int, float] = {}
        self._closed = asyncio.Event()
        self._close_reason: BaseException | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._read_loop(), name=f"{self._name}-reader")

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    @property
    def close_reason(self) -> BaseException | None:
        """Why the stream ended: ``None`` for a clean close by either side."""
        return self._close_reason

    async def wait_closed(self) -> None:
        await self._closed.wait()

    def send_nowait(self, command: Command) -> asyncio.Future[Reply]:
        """Write ``command`` now; the returned future resolves with its reply."""
        if self.closed:
            raise ConnectionLost(f"{self._name}: connection closed")
        slot, data = self.connection.send(command)
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._waiters[slot] = future
        self._sent_at[slot] = future.get_loop().time()
        self._writer.write(data)
        return future

    async def drain(self) -> None:
        """Wait until the written bytes have been handed to the socket."""
        try:
            await self._writer.drain()
        except (ConnectionError, OSError) as exc:
            raise ConnectionLost(f"{self._name}: {exc}") from None

    async def command(self, command: Command, timeout: float | None = None) -> Reply:
        """Send ``command`` and wait for its reply (``CommandTimeout`` if none in time)."""
        future = self.send_nowait(command)
        limit = self.command_timeout if timeout is None else timeout
        try:
            await self.drain()
            return await asyncio.wait_for(asyncio.shield(future), limit)
        except TimeoutError:
            raise CommandTimeout(
                f"{self._name}: no reply to {type(command).__name__} within {limit:g} s"
            ) from None
        finally:
            # Leaving the slot's future in place (but cancelled) is what keeps a late
            # reply from reaching the next caller; the reader drops it on arrival.
            if not future.done():
                future.cancel()

    async def close(self) -> None:
        """Close our side; waiters fail with :class:`ConnectionLost`."""
        if not self._writer.is_closing():
            self._writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self._writer.wait_closed()
        if self._task is not None and self._task is not asyncio.current_task():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._finish(None)

    def _finish(self, reason: BaseException | None) -> None:
        if self._closed.is_set():
            return
        self._close_reason = reason
        error = ConnectionLost(
            f"{self._name}: connection closed" + (f": {reason}" if reason else "")
        )
        for future in self._waiters.values():
            if not future.done():
                future.set_exception(error)
                # Nobody may be waiting any more; do not warn about an unretrieved error.
                future.exception()
        self._waiters.clear()
        self._sent_at.clear()
        self._closed.set()

    async def _read_loop(self) -> None:
        reason: BaseException | None = None
        try:
            while True:
                try:
                    data = await self._reader.read(_READ_SIZE)
                except (ConnectionError, OSError) as exc:
                    reason = exc
                    data = b""
                self.connection.receive_data(data)
                if self._drain_messages():
                    break
        except ESLError as exc:
            reason = exc
            level = logging.ERROR if isinstance(exc, RemoteProtocolError) else logging.CRITICAL
            log.log(level, "%s: %s", self._name, exc)
            if isinstance(exc, RemoteProtocolError):
                self.observer.protocol_error(exc)
        finally:
            if not self._writer.is_closing():
                self._writer.close()
            self._finish(reason)

    def _drain_messages(self) -> bool:
        """Hand out every complete message; True once the peer has closed."""
        while True:
            message = self.connection.next_event()
            if message is None:
                return False
            if isinstance(message, Reply):
                sent_at = self._sent_at.pop(message.slot, None)
                if sent_at is not None:
                    loop = asyncio.get_running_loop()
                    self.observer.command_answered(message.command, loop.time() - sent_at)
                future = self._waiters.pop(message.slot, None)
                if future is not None and not future.done():
                    future.set_result(message)
                continue
            self._on_message(message)
            if isinstance(message, Closed):
                return True
