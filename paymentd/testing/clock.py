"""Simulated FreeSWITCH time: every FreeSWITCH-side duration shrinks by one factor.

Playback lengths, the 20 ms media frame, the 25 s wait for ``connect``, linger
times and the timestamps FreeSWITCH writes into events all live on the
simulated clock; ``time_scale`` converts them to wall-clock seconds
(``real = simulated * time_scale``).  Scaling everything by the same factor keeps
the timing shape of a real call (the order and the relative gaps) while a
16-second prompt plays in a third of a second at ``time_scale=0.02``.
"""

from __future__ import annotations

import asyncio
import math
import time

__all__ = ["FRAME", "SimClock"]

# FreeSWITCH's media loops (park, playback, bridge) and the event-socket listener
# all run one iteration per 20 ms frame.
FRAME = 0.020


class SimClock:
    """The simulated clock shared by everything in one simulator."""

    def __init__(self, time_scale: float = 1.0) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self.time_scale = time_scale
        self._mono0 = time.monotonic()
        self._wall0 = time.time()

    def now(self) -> float:
        """Simulated seconds since the simulator started."""
        return (time.monotonic() - self._mono0) / self.time_scale

    def real_now(self) -> float:
        """Wall-clock seconds since the simulator started (what tests see)."""
        return time.monotonic() - self._mono0

    def epoch(self) -> float:
        """Simulated Unix time, as FreeSWITCH would stamp it."""
        return self._wall0 + self.now()

    def epoch_us(self) -> int:
        """Simulated Unix time in microseconds (``Event-Date-Timestamp``)."""
        return int(self.epoch() * 1_000_000)

    def to_real(self, simulated: float) -> float:
        """Wall-clock seconds for a simulated duration."""
        return simulated * self.time_scale

    async def sleep(self, simulated: float) -> None:
        """Sleep for a simulated duration."""
        await asyncio.sleep(max(0.0, simulated) * self.time_scale)

    async def sleep_until(self, simulated_at: float) -> None:
        """Sleep until a simulated instant."""
        await self.sleep(simulated_at - self.now())

    def next_tick(self, origin: float, period: float = FRAME) -> float:
        """The first tick of a ``period`` grid starting at ``origin`` after now."""
        elapsed = self.now() - origin
        return origin + (math.floor(elapsed / period) + 1) * period
