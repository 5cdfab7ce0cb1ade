"""The ``[ledger]`` section of the configuration."""

from __future__ import annotations

import attrs

from paymentd.settings import InvalidSetting

__all__ = ["LedgerConfig"]

KINDS = ("sqlite", "postgresql")


@attrs.frozen
class LedgerConfig:
    """Where the durable record of payment sessions and attempts lives.

    ``sqlite`` (the default) keeps it in one file for one daemon; ``postgresql``
    lets several daemons share one ledger.
    """

    kind: str = "sqlite"
    #: The SQLite file (relative paths are relative to the working directory).
    path: str = "var/ledger.sqlite3"
    #: ``postgresql://user:password@host:port/database``; kept out of ``repr``.
    dsn: str | None = attrs.field(default=None, repr=False)
    #: PostgreSQL connections per daemon.
    pool_size: int = 4
    connect_timeout: float = 10.0

    def __attrs_post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InvalidSetting("kind", f"must be one of {', '.join(KINDS)}; got {self.kind!r}")
        if self.kind == "sqlite" and not self.path:
            raise InvalidSetting("path", "must name the SQLite file")
        if self.kind == "postgresql" and not self.dsn:
            raise InvalidSetting("dsn", 'is required when kind = "postgresql"')
        if self.pool_size < 1:
            raise InvalidSetting("pool_size", f"must be at least 1, got {self.pool_size!r}")
        if self.connect_timeout <= 0:
            raise InvalidSetting(
                "connect_timeout", f"must be greater than 0, got {self.connect_timeout!r}"
            )
