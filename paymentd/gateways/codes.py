"""Providers' decline and error codes, mapped onto the normalised vocabulary.

Stripe's codes are the de-facto vocabulary of card processors, and merchant
endpoints behind the Generic Pay Connector tend to reuse them, so one table
serves both connectors. A code we do not know is a generic decline: the raw
code is kept (sanitised) in the ledger for whoever reconciles.
"""

from __future__ import annotations

from paymentd.payments import Declined, DeclineReason, Failed

__all__ = ["outcome_for_code"]

_DECLINES = {
    "generic": DeclineReason.GENERIC,
    "generic_decline": DeclineReason.GENERIC,
    "card_declined": DeclineReason.GENERIC,
    "declined": DeclineReason.GENERIC,
    "call_issuer": DeclineReason.GENERIC,
    "incorrect_cvc": DeclineReason.INCORRECT_CVC,
    "invalid_cvc": DeclineReason.INCORRECT_CVC,
    "incorrect_cvv": DeclineReason.INCORRECT_CVC,
    "expired_card": DeclineReason.EXPIRED_CARD,
    "invalid_expiry_month": DeclineReason.EXPIRED_CARD,
    "invalid_expiry_year": DeclineReason.EXPIRED_CARD,
    "insufficient_funds": DeclineReason.INSUFFICIENT_FUNDS,
    "withdrawal_count_limit_exceeded": DeclineReason.INSUFFICIENT_FUNDS,
    "card_velocity_exceeded": DeclineReason.INSUFFICIENT_FUNDS,
    "invalid_number": DeclineReason.INVALID_NUMBER,
    "incorrect_number": DeclineReason.INVALID_NUMBER,
    "invalid_account": DeclineReason.INVALID_NUMBER,
    "card_not_supported": DeclineReason.CARD_NOT_SUPPORTED,
    "currency_not_supported": DeclineReason.CARD_NOT_SUPPORTED,
    "transaction_not_allowed": DeclineReason.CARD_NOT_SUPPORTED,
    "authentication_required": DeclineReason.CARD_NOT_SUPPORTED,
    "do_not_honor": DeclineReason.DO_NOT_HONOR,
    "do_not_try_again": DeclineReason.DO_NOT_HONOR,
    "fraudulent": DeclineReason.FRAUD_SUSPECTED,
    "fraud_suspected": DeclineReason.FRAUD_SUSPECTED,
    "lost_card": DeclineReason.FRAUD_SUSPECTED,
    "stolen_card": DeclineReason.FRAUD_SUSPECTED,
    "pickup_card": DeclineReason.FRAUD_SUSPECTED,
    "merchant_blacklist": DeclineReason.FRAUD_SUSPECTED,
}

#: Nothing was charged and trying again later may work.
_RETRYABLE = frozenset(
    {
        "processing_error",
        "try_again_later",
        "issuer_not_available",
        "reenter_transaction",
        "rate_limit",
        "service_unavailable",
    }
)


def outcome_for_code(code: str, decline_code: str | None = None) -> Declined | Failed:
    """The outcome for a provider's ``code`` (and Stripe's finer ``decline_code``)."""
    raw = decline_code or code
    for candidate in (decline_code, code):
        key = (candidate or "").strip().lower()
        if key in _RETRYABLE:
            return Failed(retryable=True, detail=f"the gateway reported {key}")
        if key in _DECLINES:
            return Declined(_DECLINES[key], raw_code=raw)
    return Declined(DeclineReason.GENERIC, raw_code=raw)
