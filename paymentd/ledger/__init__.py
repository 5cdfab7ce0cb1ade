"""The durable record of every payment session and charge attempt (never PAN, CVV or expiry).

SQLite for one daemon (the default), PostgreSQL for several sharing one ledger;
the same schema, migrated when the ledger opens. See :class:`Ledger`.
"""

from paymentd.ledger.config import LedgerConfig
from paymentd.ledger.database import LedgerError
from paymentd.ledger.ledger import Ledger, open_ledger
from paymentd.ledger.records import (
    AttemptRecord,
    AttemptStatus,
    LedgerSummary,
    NewAttempt,
    SessionRecord,
)

__all__ = [
    "AttemptRecord",
    "AttemptStatus",
    "Ledger",
    "LedgerConfig",
    "LedgerError",
    "LedgerSummary",
    "NewAttempt",
    "SessionRecord",
    "open_ledger",
]
