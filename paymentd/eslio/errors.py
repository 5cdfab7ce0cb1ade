"""Errors of the asyncio ESL layer."""

from paymentd.esl.errors import ESLError


class ConnectionLost(ESLError):
    """The socket closed (or failed) while a reply or completion was awaited."""


class CommandTimeout(ESLError):
    """No reply within the configured time. The command keeps its reply slot."""


class CallHungUp(ESLError):
    """The call hung up before (or while) the application ran."""


class AuthenticationError(ESLError):
    """FreeSWITCH refused the inbound password (``-ERR invalid``)."""


class NotConnected(ESLError):
    """The inbound connection to FreeSWITCH is down (it reconnects in the background)."""
