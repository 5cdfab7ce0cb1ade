"""The one small interface every payment gateway implements.

A gateway answers a :class:`~paymentd.payments.ChargeRequest` with an
outcome and can say later what became of an attempt, by its idempotency key.
Gateways never raise for a payment problem: a decline is ``Declined``, a
refusal before deciding is ``Failed``, and no answer (timeout, broken
connection, an answer we cannot read) is ``Unknown`` -- the one case in which
the card may or may not have been charged, settled by :meth:`Gateway.lookup`.

Nothing a gateway returns, raises or logs contains card data: outcomes carry
sanitised codes and our own words, never the provider's text.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import attrs

from paymentd.payments import ChargeOutcome, ChargeRequest, Declined, Failed

__all__ = ["Gateway", "Token", "TokenizingGateway"]


@attrs.frozen
class Token:
    """The gateway's reference to a card it holds (e.g. a Stripe PaymentMethod id)."""

    id: str


@runtime_checkable
class Gateway(Protocol):
    #: ``sandbox``, ``stripe`` or ``rest``: recorded with every attempt.
    name: str

    async def charge(self, request: ChargeRequest) -> ChargeOutcome:
        """Charge the card once; the same idempotency key never charges twice."""
        ...

    async def lookup(self, idempotency_key: str) -> ChargeOutcome | None:
        """What became of the attempt with this key.

        ``None``: the gateway has no record of it (it never arrived, or no money
        moved). ``Unknown``: the gateway could not be asked or could not tell.
        """
        ...

    async def close(self) -> None: ...


@runtime_checkable
class TokenizingGateway(Gateway, Protocol):
    """A gateway that first exchanges the card for a token, then charges the token.

    The charging service records the token before charging, so an attempt
    interrupted after tokenizing can be resolved without the card.
    """

    async def tokenize(self, request: ChargeRequest) -> Token | Declined | Failed:
        """Hand the card to the gateway; no money moves yet."""
        ...

    async def charge_token(self, request: ChargeRequest, token: Token) -> ChargeOutcome:
        """Charge the tokenized card (``request.card`` may already be wiped)."""
        ...
