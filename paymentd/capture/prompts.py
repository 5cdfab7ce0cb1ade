"""Every fixed prompt the payment dialogue can say, with its English text.

This is the single list the speech layer records audio for: the dialogue only
ever says ``Prompt(name)`` with a name from :data:`PROMPTS` (a test checks it).
Spoken values (amounts, digits, dates, references) are composed by the speech
layer from its own fragments and are not listed here.

The texts say "star" and "pound": they assume the default escape digit ``*``
and ``#`` as the end of an entry.
"""

from __future__ import annotations

from types import MappingProxyType

__all__ = ["PROMPTS"]

PROMPTS = MappingProxyType(
    {
        # Session
        "welcome": "This is our secure payment line. You can press star at any time to cancel.",
        "identification_required": "Before we can take a payment, we need to confirm who you are.",
        "identification_failed": (
            "We are sorry, we could not confirm who you are, so we cannot take a payment now."
        ),
        "technical_problem": "We are sorry, a technical problem occurred.",
        "returning_to_agent": "Thank you. We are returning you to your agent now.",
        # Amount
        "amount_due": "The amount due is",
        "amount_to_pay": "You are about to pay",
        "press_1_to_pay_amount": "To pay this amount, press 1.",
        "press_1_full_amount_2_other": (
            "To pay the full amount, press 1. To pay a different amount, press 2."
        ),
        "enter_amount_decimal": (
            "Please enter the amount you want to pay, using the star key for the decimal point,"
            " then press the pound key."
        ),
        "enter_amount_minor_units": (
            "Please enter the amount you want to pay, including the cents and without a decimal"
            " point, then press the pound key."
        ),
        "amount_invalid": "That is not a valid amount.",
        "amount_below_minimum": "That amount is below the minimum payment of",
        "amount_above_maximum": "That amount is above the maximum payment of",
        "amount_above_balance": "That amount is more than the amount due of",
        # Card number
        "enter_card_number": "Please enter your card number, then press the pound key.",
        "card_number_invalid": "That card number is not valid.",
        "card_not_accepted": "We are sorry, we do not accept this card.",
        "card_number_ending_in": "You entered a card number ending in",
        # Other card fields
        "enter_expiry": (
            "Please enter the expiration date on your card: two digits for the month,"
            " then two digits for the year."
        ),
        "expiry_invalid": "That is not a valid expiration date.",
        "card_expired": "That card has expired.",
        "enter_security_code_3": (
            "Please enter the three digit security code from the back of your card."
        ),
        "enter_security_code_4": (
            "Please enter the four digit security code from the front of your card."
        ),
        "security_code_invalid": "That security code is not valid.",
        "enter_postal_code": (
            "Please enter the billing postal code of your card, then press the pound key."
        ),
        "postal_code_invalid": "That postal code is not valid.",
        # Read-back and confirmation
        "you_entered": "You entered",
        "press_1_confirm_2_reenter": "If this is correct, press 1. To enter it again, press 2.",
        "no_input": "We did not receive your entry.",
        "invalid_choice": "That is not a valid choice.",
        "too_many_attempts": (
            "We are sorry, we cannot complete your payment after several unsuccessful attempts."
        ),
        "payment_cancelled": "Your payment has been cancelled. You have not been charged.",
        # Charge
        "processing_payment": "Please wait while we process your payment.",
        "still_processing": "Your payment is still being processed. Please stay on the line.",
        "payment_successful": "Thank you. Your payment was successful.",
        "your_confirmation_code_is": "Your confirmation code is",
        "payment_outcome_unknown": (
            "We could not confirm whether your payment went through. Please do not repeat"
            " the payment: we will check it and contact you."
        ),
        "payment_connector_error": (
            "We are sorry, we cannot take payments at the moment. You have not been charged."
            " Please try again later."
        ),
        # Declines
        "declined_generic": "Your payment was declined.",
        "declined_incorrect_cvc": (
            "Your payment was declined because the security code was not correct."
        ),
        "declined_expired_card": (
            "Your payment was declined because the card has expired"
            " or the expiration date was not correct."
        ),
        "declined_insufficient_funds": ("Your payment was declined because of insufficient funds."),
        "declined_invalid_number": (
            "Your payment was declined because the card number is not valid."
        ),
        "declined_card_not_supported": (
            "Your payment was declined because this card is not supported."
        ),
        "try_another_card": "Please try another card.",
        "too_many_declines": "We are sorry, we cannot take this payment by phone.",
    }
)
