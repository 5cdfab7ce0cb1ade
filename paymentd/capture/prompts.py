"""Every fixed prompt the payment dialogue can say, with its English text.

This is the single list of names the speech layer records audio for: the dialogue
only ever says ``Prompt(name)`` with a name from :data:`PROMPTS` (a test checks
it). Lead-ins ("you_entered") are followed by a spoken value. Spoken values
(amounts, digits, dates, references) are composed by the speech layer from its
own fragments and are not listed here. The texts assume the default escape digit
``*`` and ``#`` as the end of an entry.
"""

from __future__ import annotations

from types import MappingProxyType

__all__ = ["PROMPTS"]

PROMPTS = MappingProxyType(
    {
        # Session
        "welcome": "Welcome to our secure automated payment service.",
        "secure_agent_intro": (
            "You are now in our secure payment system. Your agent cannot hear the numbers you"
            " enter, and will be back with you when you have finished."
        ),
        "identification_required": "Before we can take a payment, we need to confirm who you are.",
        "identification_failed": "Sorry, we could not verify your identity.",
        "technical_problem": "Sorry, we are experiencing a technical problem.",
        "transferring": "Please hold while we transfer your call.",
        "returning_to_agent": "Thank you. You will now be returned to your agent.",
        "goodbye": "Thank you for calling. Goodbye.",
        # Amount
        "amount_due_is": "The amount due is",
        "press_1_to_pay_amount": "To pay this amount, press 1. To cancel, press star.",
        "pay_full_or_other": "To pay the full amount, press 1. To pay a different amount, press 2.",
        "enter_amount": (
            "Please enter the amount you wish to pay, using the star key for the decimal point,"
            " then press the pound key."
        ),
        "enter_amount_minor_units": (
            "Please enter the amount you wish to pay, including the cents and without a decimal"
            " point, then press the pound key."
        ),
        "amount_invalid": "That is not a valid amount.",
        "amount_below_minimum": "That amount is below the minimum payment of",
        "amount_above_maximum": "That amount is above the maximum payment of",
        "amount_above_balance": "That amount is more than the amount due of",
        # Card number
        "enter_card_number": "Please enter your card number, followed by the pound key.",
        "card_number_invalid": "That card number is not valid.",
        "card_not_accepted": "Sorry, we do not accept this type of card.",
        "card_ending_in": "The card ending in",
        # Other card fields
        "enter_expiry": (
            "Please enter the card's expiration date as four digits: two for the month,"
            " then two for the year."
        ),
        "expiry_invalid": "That expiration date is not valid.",
        "card_expired": "That card has expired.",
        "expiry_date_is": "The expiration date is",
        "enter_cvv_3": "Please enter the three-digit security code from the back of your card.",
        "enter_cvv_4": "Please enter the four-digit security code from the front of your card.",
        "cvv_invalid": "That security code is not valid.",
        "security_code_is": "The security code is",
        "enter_postal_code": "Please enter the billing zip code, followed by the pound key.",
        "postal_code_invalid": "That zip code is not valid.",
        # Read-back and confirmation
        "you_entered": "You entered",
        "confirm_or_reenter": "If this is correct, press 1. To enter it again, press 2.",
        "no_input": "Sorry, we did not receive your entry.",
        "invalid_choice": "Sorry, that is not a valid choice.",
        "too_many_attempts": "Sorry, there have been too many unsuccessful attempts.",
        "payment_cancelled": "Your payment has been cancelled. You have not been charged.",
        # Charge
        "processing": "Please wait while we process your payment.",
        "payment_approved": "Thank you. Your payment has been approved.",
        "your_reference_is": "Your payment reference is",
        "outcome_unknown": (
            "We could not confirm the result of your payment. To avoid a double charge,"
            " please do not pay again until it has been checked."
        ),
        "payment_connector_error": (
            "Sorry, we cannot take payments at the moment. You have not been charged."
            " Please try again later."
        ),
        # Declines
        "payment_declined": "Sorry, your payment was declined.",
        "declined_incorrect_cvc": (
            "Your payment was declined because the security code was incorrect."
        ),
        "declined_expired": "Your payment was declined because the card has expired.",
        "declined_insufficient_funds": "Your payment was declined because of insufficient funds.",
        "declined_invalid_number": (
            "Your payment was declined because the card number is not valid."
        ),
        "declined_card_not_supported": (
            "Your payment was declined because this card is not supported."
        ),
        "try_another_card": "Please try another card.",
        "max_declines": "Sorry, we are unable to take this payment at this time.",
    }
)
