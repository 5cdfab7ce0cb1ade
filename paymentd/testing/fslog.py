"""A simulated ``freeswitch.log``: the lines that matter for card-data leaks.

FreeSWITCH logs every received key at INFO (``RECV DTMF 4:2000``), every
executed app with its arguments at INFO (``EXECUTE [depth=1] ... app(args)``),
playback's key callback at DEBUG (``Digit 4``) and ``SET``/``EXPORT`` at DEBUG.
The global level decides what is written: at ``notice`` none of those appear.
Lines are formatted as the real log formats them, so a test can grep them.
"""

from __future__ import annotations

import time

import attrs

from paymentd.testing.clock import SimClock

__all__ = ["LEVELS", "FsLog", "LogLine"]

LEVELS: dict[str, int] = {
    "CONSOLE": 0,
    "ALERT": 1,
    "CRIT": 2,
    "ERR": 3,
    "WARNING": 4,
    "NOTICE": 5,
    "INFO": 6,
    "DEBUG": 7,
}


@attrs.frozen
class LogLine:
    """One written log line."""

    level: str
    text: str
    uuid: str | None


class FsLog:
    """The switch's log at a configurable global level (``fsctl loglevel``)."""

    def __init__(self, clock: SimClock, level: str = "debug") -> None:
        self.clock = clock
        self.level = LEVELS[level.upper()]
        self.lines: list[LogLine] = []

    def set_level(self, level: str) -> bool:
        """Change the level as ``fsctl loglevel`` does; False for an unknown name."""
        number = LEVELS.get(level.upper())
        if number is None:
            return False
        self.level = number
        return True

    @property
    def level_name(self) -> str:
        """The current level's name."""
        return next(name for name, number in LEVELS.items() if number == self.level)

    def write(
        self,
        level: str,
        where: str,
        message: str,
        uuid: str | None = None,
        *,
        clean: bool = False,
    ) -> None:
        """Log ``message`` at ``level`` from ``where`` (``file.c:line``).

        ``clean`` lines (the EXECUTE line) have no date and no source prefix.
        """
        if LEVELS[level] > self.level:
            return
        prefix = f"{uuid} " if uuid else ""
        if clean:
            text = f"{prefix}{message}"
        else:
            seconds = self.clock.epoch()
            stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds))
            micros = int((seconds % 1) * 1_000_000)
            text = f"{prefix}{stamp}.{micros:06d} 99.37% [{level}] {where} {message}"
        self.lines.append(LogLine(level, text, uuid))

    def text(self) -> str:
        """Every line written, newline-terminated, as the log file would hold it."""
        return "".join(line.text + "\n" for line in self.lines)
