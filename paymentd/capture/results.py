"""How a payment session ends and what the dialogue captures: shared names."""

from __future__ import annotations

import enum

__all__ = ["ErrorType", "Field", "Mode", "Result"]


class Result(enum.StrEnum):
    """``paymentd_result``: how the session ended."""

    SUCCESS = "success"
    DECLINED = "declined"
    TOO_MANY_FAILED_ATTEMPTS = "too-many-failed-attempts"
    CALLER_CANCELLED = "caller-cancelled"
    CALLER_HUNG_UP = "caller-hung-up"
    IDENTIFICATION_FAILED = "identification-failed"
    PAYMENT_CONNECTOR_ERROR = "payment-connector-error"
    UNKNOWN_OUTCOME = "unknown-outcome"
    INTERNAL_ERROR = "internal-error"

    @property
    def route_key(self) -> str:
        """The name of this result's route in the configuration (``too_many_failed_attempts``)."""
        return self.value.replace("-", "_")


class Field(enum.StrEnum):
    """What the caller is asked to key."""

    AMOUNT = "amount"
    CARD_NUMBER = "card_number"
    EXPIRY = "expiry"
    CVV = "cvv"
    POSTAL_CODE = "postal_code"


class Mode(enum.StrEnum):
    """Who started the payment: the caller alone, or an agent on the call."""

    AUTOMATED = "automated"
    AGENT = "agent"


class ErrorType(enum.StrEnum):
    """``paymentd_error_type``: the last thing that went wrong (a decline uses its
    :class:`~paymentd.payments.DeclineReason` instead). Never card data."""

    # The caller's entries
    NO_INPUT = "no_input"
    INVALID_CHOICE = "invalid_choice"
    AMOUNT_INVALID = "amount_invalid"
    AMOUNT_BELOW_MINIMUM = "amount_below_minimum"
    AMOUNT_ABOVE_MAXIMUM = "amount_above_maximum"
    AMOUNT_ABOVE_BALANCE = "amount_above_balance"
    CARD_NUMBER_INVALID = "card_number_invalid"
    CARD_NUMBER_LUHN_CHECK_FAILED = "card_number_luhn_check_failed"
    CARD_NOT_ACCEPTED = "card_not_accepted"
    EXPIRY_INVALID = "expiry_invalid"
    CARD_EXPIRED = "card_expired"
    EXPIRY_TOO_FAR_AHEAD = "expiry_too_far_ahead"
    CVV_INVALID = "cvv_invalid"
    POSTAL_CODE_INVALID = "postal_code_invalid"
    # How the session ended
    IDENTIFICATION_FAILED = "identification_failed"
    CANCELLED_BY_CALLER = "cancelled_by_caller"
    CANCELLED_BY_AGENT = "cancelled_by_agent"
    GATEWAY_FAILED = "gateway_failed"
    OUTCOME_UNKNOWN = "outcome_unknown"
    # The daemon could not take a payment at all
    LEDGER_UNAVAILABLE = "ledger_unavailable"
    # The session's parameters (channel variables) were unusable
    INVALID_AMOUNT_PARAMETER = "invalid_amount_parameter"
    AMOUNT_PARAMETER_OUT_OF_LIMITS = "amount_parameter_out_of_limits"
    CURRENCY_NOT_ALLOWED = "currency_not_allowed"
    INVALID_CUSTOMER_VERIFIED = "invalid_customer_verified"
