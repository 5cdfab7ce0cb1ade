"""The rules of each field the caller keys: how it is asked for, when an entry is
complete, what makes it valid, how it is read back and how a refusal is explained."""

from __future__ import annotations

import datetime

import attrs

from paymentd.capture.config import CaptureConfig, FieldConfig
from paymentd.capture.results import ErrorType, Field
from paymentd.cards import (
    MAX_CARD_NUMBER_LENGTH,
    MIN_CARD_NUMBER_LENGTH,
    BrandTable,
    CardBrand,
    CardNumber,
    CardNumberProblem,
    Expiry,
    ExpiryProblem,
    InvalidCardNumber,
    InvalidExpiry,
    InvalidSecurityCode,
    SecurityCode,
)
from paymentd.money import InvalidAmount, Money
from paymentd.speech.utterances import Prompt, SayAmount, SayDigits, SayMonthYear, Utterance

__all__ = ["EntryRules", "EntryValue"]

#: What a valid entry becomes (a postal code stays text).
EntryValue = Money | CardNumber | Expiry | SecurityCode | str

#: Keys an amount may have before it is taken as finished.
_MAX_AMOUNT_KEYS = 15

_PROMPTS = {
    Field.CARD_NUMBER: "enter_card_number",
    Field.EXPIRY: "enter_expiry",
    Field.POSTAL_CODE: "enter_postal_code",
}

_REFUSALS = {
    ErrorType.NO_INPUT: "no_input",
    ErrorType.CARD_NOT_ACCEPTED: "card_not_accepted",
    ErrorType.CARD_NUMBER_INVALID: "card_number_invalid",
    ErrorType.CARD_NUMBER_LUHN_CHECK_FAILED: "card_number_invalid",
    ErrorType.CARD_EXPIRED: "card_expired",
    ErrorType.EXPIRY_INVALID: "expiry_invalid",
    ErrorType.EXPIRY_TOO_FAR_AHEAD: "expiry_invalid",
    ErrorType.CVV_INVALID: "cvv_invalid",
    ErrorType.POSTAL_CODE_INVALID: "postal_code_invalid",
    ErrorType.AMOUNT_INVALID: "amount_invalid",
}


def say_amount(amount: Money) -> SayAmount:
    return SayAmount(amount.minor, amount.currency)


@attrs.frozen
class EntryRules:
    """The field rules of one session: its configuration, calendar day and currency.

    ``balance`` is the amount due when the call gave one: a caller-keyed partial
    payment may not exceed it. ``brand`` arguments are the accepted card's brand
    (the CVV depends on it).
    """

    config: CaptureConfig
    brands: BrandTable
    today: datetime.date
    currency: str
    balance: Money | None = None

    def field_config(self, field: Field) -> FieldConfig:
        config = self.config
        return {
            Field.AMOUNT: config.amount,
            Field.CARD_NUMBER: config.card_number,
            Field.EXPIRY: config.expiry,
            Field.CVV: config.cvv,
            Field.POSTAL_CODE: config.postal_code,
        }[field]

    def prompt(self, field: Field, brand: CardBrand | None) -> Prompt:
        """What asks for ``field``."""
        if field is Field.AMOUNT:
            minor = self.config.amount.entry == "minor_units"
            return Prompt("enter_amount_minor_units" if minor else "enter_amount")
        if field is Field.CVV:
            assert brand is not None
            return Prompt(f"enter_cvv_{brand.cvv_length}")
        return Prompt(_PROMPTS[field])

    def complete_length(self, field: Field, keys: bytearray, brand: CardBrand | None) -> int:
        """The number of keys at which an entry ends by itself (its longest valid length)."""
        if field is Field.CARD_NUMBER:
            known = self.brands.detect(keys) if len(keys) >= MIN_CARD_NUMBER_LENGTH else None
            return known.max_length if known else MAX_CARD_NUMBER_LENGTH
        if field is Field.EXPIRY:
            return 4
        if field is Field.CVV:
            assert brand is not None
            return brand.cvv_length
        if field is Field.POSTAL_CODE:
            return self.config.postal_code.max_digits
        return _MAX_AMOUNT_KEYS

    def parse(
        self, field: Field, keys: bytearray, brand: CardBrand | None
    ) -> EntryValue | ErrorType:
        """The value of a complete entry, or why it is refused. ``keys`` is not kept."""
        if not keys:
            return ErrorType.NO_INPUT
        if field is Field.AMOUNT:
            return self._amount(keys)
        if field is Field.CARD_NUMBER:
            return self._card_number(keys)
        if field is Field.EXPIRY:
            return self._expiry(keys)
        if field is Field.CVV:
            try:
                return SecurityCode(keys, brand=brand)
            except InvalidSecurityCode:
                return ErrorType.CVV_INVALID
        postal = self.config.postal_code
        if not postal.min_digits <= len(keys) <= postal.max_digits:
            return ErrorType.POSTAL_CODE_INVALID
        return keys.decode("ascii")

    def _amount(self, keys: bytearray) -> Money | ErrorType:
        text = keys.decode("ascii")
        try:
            if self.config.amount.entry == "minor_units":
                amount = Money(int(text), self.currency)
            else:
                amount = Money.parse(text.replace("*", "."), self.currency)
        except InvalidAmount:
            return ErrorType.AMOUNT_INVALID
        low, high = self.config.amount.bounds(self.currency)
        if amount < low:
            return ErrorType.AMOUNT_BELOW_MINIMUM
        if high is not None and amount > high:
            return ErrorType.AMOUNT_ABOVE_MAXIMUM
        if self.balance is not None and amount > self.balance:
            return ErrorType.AMOUNT_ABOVE_BALANCE
        return amount

    def _card_number(self, keys: bytearray) -> CardNumber | ErrorType:
        try:
            card = CardNumber(keys, brands=self.brands)
        except InvalidCardNumber as exc:
            if exc.problem is CardNumberProblem.UNKNOWN_BRAND:
                return ErrorType.CARD_NOT_ACCEPTED
            if exc.problem is CardNumberProblem.LUHN_CHECK_FAILED:
                return ErrorType.CARD_NUMBER_LUHN_CHECK_FAILED
            return ErrorType.CARD_NUMBER_INVALID
        if card.brand.id not in self.config.allowed_brands:
            card.wipe()
            return ErrorType.CARD_NOT_ACCEPTED
        return card

    def _expiry(self, keys: bytearray) -> Expiry | ErrorType:
        try:
            expiry = Expiry.from_mmyy(keys, self.today)
        except InvalidExpiry:
            return ErrorType.EXPIRY_INVALID
        problem = expiry.problem_on(self.today, self.config.expiry.max_years_ahead)
        if problem is ExpiryProblem.EXPIRED:
            return ErrorType.CARD_EXPIRED
        if problem is ExpiryProblem.TOO_FAR_AHEAD:
            return ErrorType.EXPIRY_TOO_FAR_AHEAD
        return expiry

    def refusal(self, error: ErrorType) -> list[Utterance]:
        """What explains a refused entry (an amount's limits are said with the amount)."""
        low, high = self.config.amount.bounds(self.currency)
        if error is ErrorType.AMOUNT_BELOW_MINIMUM:
            return [Prompt("amount_below_minimum"), say_amount(low)]
        if error is ErrorType.AMOUNT_ABOVE_MAXIMUM and high is not None:
            return [Prompt("amount_above_maximum"), say_amount(high)]
        if error is ErrorType.AMOUNT_ABOVE_BALANCE and self.balance is not None:
            return [Prompt("amount_above_balance"), say_amount(self.balance)]
        return [Prompt(_REFUSALS[error])]

    def read_back(self, field: Field, value: EntryValue) -> list[Utterance]:
        """What repeats ``value`` to the caller, as far as the configuration says."""
        last4 = self.field_config(field).read_back == "last4"
        if isinstance(value, Money):
            return [Prompt("you_entered"), say_amount(value)]
        if isinstance(value, CardNumber):
            if last4:
                return [Prompt("card_ending_in"), SayDigits(value.last4, sensitive=False)]
            return [Prompt("you_entered"), SayDigits(value.reveal(), group=4)]
        if isinstance(value, Expiry):
            return [Prompt("expiry_date_is"), SayMonthYear(value.month, value.year)]
        if isinstance(value, SecurityCode):
            return [Prompt("security_code_is"), SayDigits(value.reveal())]
        return [Prompt("you_entered"), SayDigits(value[-4:] if last4 else value)]
