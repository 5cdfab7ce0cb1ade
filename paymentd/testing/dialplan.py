"""The dialplan model: extensions as ordered lists of actions.

An extension runs its actions one after the other.  ``socket`` hands the call
to paymentd; when paymentd closes the socket (``async full``) the call carries
on with the next action, and hangs up when there is none (no more dialplan).
``transfer`` routes the call into another extension.  A ``socket`` action
without an address connects to the target the call was placed with.

Example::

    Dialplan().add(
        Extension("pay", "7780", [
            Action("set", "before_socket=yes"),
            Action.socket(),
            Action("log", "NOTICE back from paymentd"),
            Action("playback", "thanks.wav"),
            Action("hangup"),
        ])
    )
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import attrs

__all__ = ["Action", "Dialplan", "Extension"]


@attrs.frozen
class Action:
    """One ``<action application="app" data="data"/>``."""

    app: str
    data: str | None = None
    # For ``socket``: connect to the call's target in this mode.
    socket_mode: str = "async"
    socket_control: str = "full"

    @classmethod
    def socket(
        cls, address: str | None = None, *, mode: str = "async", control: str = "full"
    ) -> Action:
        """``socket HOST:PORT async full``; no address means the call's target."""
        data = f"{address} {mode} {control}".strip() if address else None
        return cls("socket", data, mode, control)


def _as_actions(actions: Iterable[Action]) -> tuple[Action, ...]:
    return tuple(actions)


@attrs.frozen
class Extension:
    """A named extension matched by destination number (exact or ``^regex$``)."""

    name: str
    number: str
    actions: tuple[Action, ...] = attrs.field(converter=_as_actions)
    context: str = "default"

    def matches(self, destination: str) -> bool:
        """Does this extension answer for ``destination``?"""
        if self.number.startswith("^"):
            return re.match(self.number, destination) is not None
        return self.number == destination


@attrs.define
class Dialplan:
    """Every context's extensions, searched in the order they were added."""

    extensions: list[Extension] = attrs.Factory(list)

    def add(self, extension: Extension) -> Dialplan:
        """Add an extension (later ones are found only if earlier ones do not match)."""
        self.extensions.append(extension)
        return self

    def find(self, destination: str, context: str) -> Extension | None:
        """The extension a call to ``destination`` in ``context`` runs."""
        for extension in self.extensions:
            if extension.context == context and extension.matches(destination):
                return extension
        return None
