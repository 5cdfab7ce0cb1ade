"""Test card data used by the dialogue tests, and the scan that proves none of it leaks."""

from __future__ import annotations

import json
from collections.abc import Iterator

import attrs

from paymentd.capture.actions import Progress
from paymentd.cards import CardNumber, Expiry, SecurityCode
from paymentd.payments import CardDetails
from paymentd.speech.utterances import SayDigits, SayMonthYear

VISA = "4242424242424242"
VISA_2 = "4111111111111111"
MASTERCARD = "5555555555554444"
MASTERCARD_2_SERIES = "2223003122003222"
AMEX = "378282246310005"
DISCOVER = "6011111111111117"
DINERS = "36227206271667"
JCB = "3566002020360505"
UNIONPAY = "6200000000000005"
MAESTRO = "6759649826438453"
BAD_LUHN = "4111111111111112"

BY_BRAND = {
    "visa": VISA,
    "mastercard": MASTERCARD,
    "amex": AMEX,
    "discover": DISCOVER,
    "diners": DINERS,
    "jcb": JCB,
    "unionpay": UNIONPAY,
    "maestro": MAESTRO,
}

CVV = "737"
AMEX_CVV = "9173"
POSTAL_CODE = "94107"

PANS = [VISA, VISA_2, MASTERCARD, MASTERCARD_2_SERIES, AMEX, DISCOVER, DINERS, JCB, UNIONPAY]
PANS += [MAESTRO, BAD_LUHN]
SECRETS = [CVV, AMEX_CVV, *PANS, *(pan[:-4] for pan in PANS)]


def strings(value: object, path: str = "") -> Iterator[tuple[str, str]]:
    """Every text a log line, a serialiser or a careless reader could get from ``value``:
    its repr and, inside it, every string field, except where card data must travel
    (the digits of a sensitive read-back and the card of a charge, both masked in repr)."""
    yield path, repr(value)
    yield path, str(value)
    if isinstance(value, Progress):
        yield path, json.dumps(value.as_dict())
    if isinstance(value, SayDigits | SayMonthYear) and value.sensitive:
        return
    if isinstance(value, CardDetails | CardNumber | SecurityCode | Expiry):
        return
    if isinstance(value, str):
        return
    if attrs.has(type(value)):
        for field in attrs.fields(type(value)):  # type: ignore[arg-type]
            yield from strings(getattr(value, field.name), f"{path}.{field.name}")
    elif isinstance(value, tuple | list):
        for i, item in enumerate(value):
            yield from strings(item, f"{path}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings(key, f"{path}<key>")
            yield from strings(item, f"{path}[{key!r}]")


def leaks(values: list[object]) -> list[str]:
    """Where any test PAN (or its first digits) or CVV shows in ``values``."""
    found: list[str] = []
    for i, value in enumerate(values):
        for path, text in strings(value, f"#{i}:{type(value).__name__}"):
            found.extend(f"{path}: {secret}" for secret in SECRETS if secret in text)
    return found
