"""paymentd lets go of the call as soon as it has handed it back, not after its own
bookkeeping.

- ``resume``: FreeSWITCH continues the dialplan only once the socket closes
  (mod_event_socket.c clears CF_CONTROLLED then), so a slow ledger write at the end of
  the session used to keep the caller in silence.
- ``transfer``: the socket stays connected after a transfer; closing it later clears
  CF_CONTROLLED, which ends a ``park`` (or a new ``socket`` app's park) running in the
  target extension (switch_ivr_park).  paymentd closes before the transfer runs.

Nothing of the bookkeeping is lost: the ledger still records the session's end.
"""

from __future__ import annotations

import asyncio
import secrets
import sqlite3
import threading
from pathlib import Path

import pytest

from paymentd.ledger import LedgerConfig
from paymentd.testing import Action, Dialplan, Extension, FreeSwitchSimulator, Script, when_playing
from tests.e2e.charging import all_sessions, daemon_config, place_paying_call, sandbox_gateway
from tests.e2e.conftest import PAY, dialplan
from tests.e2e.daemon import Daemons, RunningDaemon
from tests.e2e.scenarios import GAP, GIVEN, pay_given_amount

pytestmark = pytest.mark.slow

#: How long the test keeps the ledger locked (under SQLite's 5 s busy timeout).
LOCK_SECONDS = 3.0


class LedgerLock:
    """Holds an exclusive lock on a SQLite ledger from another connection."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._release = threading.Event()
        self.held = threading.Event()
        self._thread: threading.Thread | None = None

    def _hold(self) -> None:
        conn = sqlite3.connect(self._path, isolation_level=None, timeout=10)
        try:
            conn.execute("BEGIN EXCLUSIVE")
            self.held.set()
            self._release.wait(LOCK_SECONDS)
            conn.execute("ROLLBACK")
        finally:
            conn.close()

    async def acquire(self) -> None:
        self._thread = threading.Thread(target=self._hold, daemon=True)
        self._thread.start()
        await asyncio.to_thread(self.held.wait, 10)

    async def release(self) -> None:
        self._release.set()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 10)


async def test_resume_does_not_wait_for_the_ledger(tmp_path: Path, daemons: Daemons) -> None:
    daemon = daemons.new(tmp_path / "daemon", daemon_config(None, sandbox_gateway()))
    daemon.start()
    simulator = FreeSwitchSimulator(time_scale=0.02, dialplan=dialplan(), seed=secrets.randbits(32))
    lock = LedgerLock(daemon.ledger_path)
    try:
        call = await place_paying_call(simulator, daemon)
        # The charge is in the ledger once the approval is announced; from then on the
        # ledger is slow (locked by someone else).
        for _ in range(3000):
            if any("payment_approved" in prompt.file for prompt in call.caller.heard):
                break
            await asyncio.sleep(0.01)
        await lock.acquire()
        reached_while_locked = False
        for _ in range(int(LOCK_SECONDS / 0.01) - 20):
            if call.variable("after_socket") == "reached":
                reached_while_locked = True
                break
            await asyncio.sleep(0.01)
        await lock.release()
        result = await call.wait_closed(timeout=30)
    finally:
        await lock.release()
        await simulator.close()

    assert result.variables.get("paymentd_result") == "success"
    assert reached_while_locked, "the dialplan waited for paymentd's ledger"
    # The end of the session still reached the ledger once it was free again.
    config = LedgerConfig(path=str(daemon.ledger_path))
    for _ in range(100):
        sessions = await all_sessions(config)
        if sessions and sessions[0].result is not None:
            break
        await asyncio.sleep(0.05)
    assert [(s.call_uuid, s.result) for s in sessions] == [(call.uuid, "success")]
    daemon.stop()


async def test_a_park_in_the_transfer_target_is_not_ended_by_paymentd(
    daemon: RunningDaemon,
) -> None:
    simulator = FreeSwitchSimulator(
        time_scale=0.02,
        dialplan=Dialplan()
        .add(
            Extension(
                "pay",
                PAY,
                [Action.socket(), Action("set", "after_socket=reached"), Action("hangup")],
            )
        )
        .add(
            Extension(
                "queue",
                "payments_queue",
                # A queue that parks its callers (or a socket app's park).
                [Action("set", "queue_reached=yes"), Action("park")],
            )
        ),
        seed=secrets.randbits(32),
    )
    try:
        call = await simulator.place_call(
            ("127.0.0.1", daemon.esl_port),
            extension=PAY,
            variables=dict(GIVEN),
            caller=Script(
                pay_given_amount(), when_playing("enter_card_number").press("42*", gap=GAP)
            ),
        )
        await call.wait_socket_closed(timeout=60)
        # Well after paymentd has finished with the session: still parked in the queue.
        await asyncio.sleep(1.0)
        assert not call.session.channel.down
        assert call.variable("queue_reached") == "yes"
        assert call.session.channel.parked
        assert call.variable("paymentd_result") == "caller-cancelled"
        assert call.variable("playback_terminators") is None
        await call.caller.hang_up()
        result = await call.wait_closed(timeout=10)
    finally:
        await simulator.close()
    assert result.extensions[-1] == "queue"
