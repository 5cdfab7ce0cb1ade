"""Errors of the ESL layer.

Two kinds, as in h11: the peer broke the protocol (`RemoteProtocolError`) or we
tried to misuse it (`LocalProtocolError`).  A `SocketModeError` is a FreeSWITCH
configuration problem that paymentd cannot work around.
"""


class ESLError(Exception):
    """Base class of every error raised by :mod:`paymentd.esl`."""


class RemoteProtocolError(ESLError):
    """The peer sent bytes that do not follow the Event Socket protocol."""


class LocalProtocolError(ESLError):
    """We asked for something the protocol cannot carry safely (e.g. a newline in a header)."""


class SocketModeError(ESLError):
    """The outbound socket was not opened with ``async full`` in the dialplan."""
