"""Building charge requests from the published test cards, for the gateway and ledger tests."""

from __future__ import annotations

import uuid

from paymentd.cards import CardNumber, Expiry, SecurityCode
from paymentd.money import Money
from paymentd.payments import CardDetails, ChargeRequest

#: The public test cards of ../shared/cards/test-cards.tsv (they charge nothing anywhere).
SUCCESS = "4242424242424242"
SUCCESS_VISA_2 = "4111111111111111"
MASTERCARD = "5555555555554444"
AMEX = "378282246310005"
DISCOVER = "6011111111111117"
GENERIC_DECLINE = "4000000000000002"
INCORRECT_CVC = "4000000000000127"
EXPIRED = "4000000000000069"
INSUFFICIENT_FUNDS = "4000000000009995"
PROCESSING_ERROR = "4000000000000119"

ALL_PANS = (
    SUCCESS,
    SUCCESS_VISA_2,
    MASTERCARD,
    AMEX,
    DISCOVER,
    GENERIC_DECLINE,
    INCORRECT_CVC,
    EXPIRED,
    INSUFFICIENT_FUNDS,
    PROCESSING_ERROR,
)
#: Security codes used by these tests; long enough not to occur by chance in ids.
CVV = "737"
AMEX_CID = "7373"


def card(pan: str = SUCCESS, cvv: str | None = None) -> CardDetails:
    number = CardNumber(pan)
    code = cvv if cvv is not None else (AMEX_CID if number.brand.id == "amex" else CVV)
    return CardDetails(
        number=number,
        expiry=Expiry(12, 2034),
        cvv=SecurityCode(code, brand=number.brand),
        postal_code="94107",
    )


def charge_request(
    pan: str = SUCCESS,
    *,
    minor: int = 12550,
    currency: str = "USD",
    session_id: str | None = None,
    key: str | None = None,
    cvv: str | None = None,
) -> ChargeRequest:
    """A new attempt (fresh attempt id and idempotency key unless ``key`` is given)."""
    attempt = uuid.uuid4().hex
    return ChargeRequest(
        attempt_id=attempt,
        idempotency_key=key or f"pd-{attempt}",
        session_id=session_id or uuid.uuid4().hex,
        # Undashed: a 4-digit group of a dashed UUID could pass for a CID in the hygiene scan.
        call_uuid=f"call-{uuid.uuid4().hex}",
        amount=Money(minor, currency),
        card=card(pan, cvv),
        account_id="ACC-1001",
        reference="INV-42",
    )
