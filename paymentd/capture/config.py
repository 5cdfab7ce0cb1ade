"""The ``[capture]`` section: every knob of the payment dialogue, with defaults.

```toml
[capture]
default_currency = "USD"
currencies = ["USD"]
default_language = "en-US"
languages = ["en-US", "es-US"]
time_zone = "America/New_York"       # whose calendar decides whether a card has expired
require_identification = true
allowed_brands = ["visa", "mastercard", "amex", "discover"]
card_fields = ["expiry", "cvv"]      # what every brand asks for after the number ...
card_fields_by_brand = { amex = ["expiry", "cvv", "postal_code"] }  # ... unless overridden
escape_digits = "*"                  # cancel at any point ("" = no escape)
max_declines = 3
hold_after_seconds = 4.0             # a gateway slower than this gets hold audio

[capture.amount]
entry = "decimal_point"              # "*" is the decimal point; or "minor_units" (cents)
allow_partial = false
limits = { USD = { min = "1.00", max = "10000.00" } }

[capture.card_number]                # also [capture.amount], .expiry, .cvv, .postal_code
first_digit_timeout = 10.0
inter_digit_timeout = 5.0
max_attempts = 3
read_back = "full"                   # "full", "last4" (card number only) or "none"

[capture.routes.automated]           # where the call goes for each result
success = { action = "resume" }      # resume | transfer | hangup
declined = { action = "transfer", extension = "payments_queue", context = "default" }

[capture.routes.agent]               # agent mode: back to the agent ("agent") by default
```
"""

from __future__ import annotations

import enum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from paymentd.cards import BRANDS
from paymentd.money import InvalidAmount, Money, UnknownCurrency, currency_exponent
from paymentd.settings import InvalidSetting, one_of, positive

__all__ = [
    "AgentRoutes",
    "AmountConfig",
    "AmountLimits",
    "AutomatedRoutes",
    "CaptureConfig",
    "CardField",
    "ExpiryConfig",
    "FieldConfig",
    "PostalCodeConfig",
    "Route",
    "RouteConfig",
]


class CardField(enum.StrEnum):
    """A card detail asked for after the number, in this order."""

    EXPIRY = "expiry"
    CVV = "cvv"
    POSTAL_CODE = "postal_code"


@attrs.frozen
class Route:
    """Where the call goes when the session ends.

    ``resume``: paymentd closes the socket and the dialplan carries on after the
    ``socket`` action. ``transfer``: to ``extension`` in ``context``. ``hangup``.
    ``agent``: back to the agent who started the payment (agent mode only).
    """

    action: str = attrs.field(validator=one_of("resume", "transfer", "hangup", "agent"))
    extension: str = ""
    context: str = "default"
    dialplan: str = "XML"

    def __attrs_post_init__(self) -> None:
        if self.action == "transfer" and not self.extension:
            raise InvalidSetting("extension", "a transfer needs an extension")
        for key in ("extension", "context", "dialplan"):
            value = getattr(self, key)
            # These travel as an application argument: no whitespace or control characters.
            if any(c.isspace() or not c.isprintable() for c in value):
                raise InvalidSetting(
                    key, f"must not contain spaces or control characters: {value!r}"
                )


RESUME = Route("resume")
BACK_TO_AGENT = Route("agent")


def _not_agent(_inst: object, attribute: attrs.Attribute[Any], value: Route) -> None:
    if value.action == "agent":
        raise InvalidSetting(attribute.name, "'agent' is a route of agent mode only")


@attrs.frozen
class AutomatedRoutes:
    """Routes when the caller pays alone.

    Resuming (the default) lets the dialplan after ``socket`` branch on ``paymentd_result``.
    """

    #: Callers not yet identified (``paymentd_customer_verified`` absent) are sent here; the
    #: way back is in ``paymentd_return_extension`` / ``paymentd_return_context``.
    identification: Route = attrs.field(
        default=Route("transfer", extension="paymentd_identify"), validator=_not_agent
    )
    success: Route = attrs.field(default=RESUME, validator=_not_agent)
    declined: Route = attrs.field(default=RESUME, validator=_not_agent)
    too_many_failed_attempts: Route = attrs.field(default=RESUME, validator=_not_agent)
    caller_cancelled: Route = attrs.field(default=RESUME, validator=_not_agent)
    identification_failed: Route = attrs.field(default=RESUME, validator=_not_agent)
    payment_connector_error: Route = attrs.field(default=RESUME, validator=_not_agent)
    unknown_outcome: Route = attrs.field(default=RESUME, validator=_not_agent)
    internal_error: Route = attrs.field(default=RESUME, validator=_not_agent)


@attrs.frozen
class AgentRoutes:
    """Routes when an agent started the payment: back to the agent unless configured otherwise."""

    identification: Route = BACK_TO_AGENT
    success: Route = BACK_TO_AGENT
    declined: Route = BACK_TO_AGENT
    too_many_failed_attempts: Route = BACK_TO_AGENT
    caller_cancelled: Route = BACK_TO_AGENT
    identification_failed: Route = BACK_TO_AGENT
    payment_connector_error: Route = BACK_TO_AGENT
    unknown_outcome: Route = BACK_TO_AGENT
    internal_error: Route = BACK_TO_AGENT
    #: Where the customer goes when the agent has left during the capture.
    agent_gone: Route = attrs.field(default=RESUME, validator=_not_agent)


@attrs.frozen
class RouteConfig:
    automated: AutomatedRoutes = attrs.Factory(AutomatedRoutes)
    agent: AgentRoutes = attrs.Factory(AgentRoutes)


@attrs.frozen
class FieldConfig:
    """Timing, attempts and read-back of one field the caller keys."""

    #: Seconds from the end of the prompt to the first key before "no input".
    first_digit_timeout: float = attrs.field(default=10.0, validator=positive)
    #: Seconds between keys after which the entry counts as finished.
    inter_digit_timeout: float = attrs.field(default=5.0, validator=positive)
    #: Entries (including re-entries the caller asked for) before too-many-failed-attempts.
    max_attempts: int = attrs.field(default=3, validator=positive)
    #: How much is read back before "press 1 to confirm": "full", "last4" or "none"
    #: (no read-back and no confirmation).
    read_back: str = attrs.field(default="full", validator=one_of("full", "last4", "none"))


@attrs.frozen
class AmountLimits:
    """Decimal amounts in major units of the currency they are listed under."""

    min: str = "0"
    max: str | None = None


@attrs.frozen
class AmountConfig(FieldConfig):
    #: "decimal_point": ``*`` is the decimal point (``125*5#``); "minor_units": the caller
    #: keys cents without a point (``12550#``).
    entry: str = attrs.field(
        default="decimal_point", validator=one_of("decimal_point", "minor_units")
    )
    #: Offer "pay the full amount or another amount" when the amount is given.
    allow_partial: bool = False
    #: Per currency; a currency not listed has no maximum and a minimum of one minor unit.
    limits: dict[str, AmountLimits] = attrs.field(
        factory=lambda: {"USD": AmountLimits(min="1.00", max="10000.00")}
    )

    def __attrs_post_init__(self) -> None:
        if self.read_back == "last4":
            raise InvalidSetting("read_back", "an amount is read back in full or not at all")
        for code in self.limits:
            self.bounds(code)

    def bounds(self, currency: str) -> tuple[Money, Money | None]:
        """The smallest and largest amount a caller may pay in ``currency``."""
        try:
            currency_exponent(currency)
        except UnknownCurrency as exc:
            raise InvalidSetting(f"limits.{currency}", str(exc)) from None
        limits = self.limits.get(currency)
        if limits is None:
            return Money(1, currency), None
        low = max(self._parse(currency, "min", limits.min), Money(1, currency))
        high = None if limits.max is None else self._parse(currency, "max", limits.max)
        if high is not None and high < low:
            raise InvalidSetting(f"limits.{currency}.max", "is below the minimum")
        return low, high

    @staticmethod
    def _parse(currency: str, key: str, text: str) -> Money:
        try:
            return Money.parse(text, currency)
        except InvalidAmount as exc:
            raise InvalidSetting(f"limits.{currency}.{key}", str(exc)) from None


@attrs.frozen
class ExpiryConfig(FieldConfig):
    #: An expiry further ahead than this is taken for a keying mistake.
    max_years_ahead: int = attrs.field(default=20, validator=positive)

    def __attrs_post_init__(self) -> None:
        if self.read_back == "last4":
            raise InvalidSetting("read_back", "an expiry is read back in full or not at all")


@attrs.frozen
class PostalCodeConfig(FieldConfig):
    min_digits: int = attrs.field(default=5, validator=positive)
    max_digits: int = attrs.field(default=5, validator=positive)

    def __attrs_post_init__(self) -> None:
        if self.max_digits < self.min_digits:
            raise InvalidSetting("max_digits", "is below min_digits")


def _check_brands(_inst: object, attribute: attrs.Attribute[Any], value: tuple[str, ...]) -> None:
    unknown = [b for b in value if b not in BRANDS]
    if unknown:
        raise InvalidSetting(
            attribute.name,
            f"unknown brand(s) {', '.join(unknown)}; known: {', '.join(BRANDS.ids)}",
        )


def _check_fields(name: str, value: tuple[str, ...]) -> None:
    unknown = [f for f in value if f not in CardField.__members__.values()]
    if unknown:
        choices = ", ".join(CardField)
        raise InvalidSetting(name, f"unknown field(s) {', '.join(unknown)}; choose from {choices}")
    if len(set(value)) != len(value):
        raise InvalidSetting(name, "lists a field twice")


def _check_card_fields(
    _inst: object, attribute: attrs.Attribute[Any], value: tuple[str, ...]
) -> None:
    _check_fields(attribute.name, value)


def _check_escape(_inst: object, attribute: attrs.Attribute[Any], value: str) -> None:
    # Digits and "#" are data and the end of an entry: they cannot also mean "cancel".
    if any(c not in "*ABCD" for c in value):
        raise InvalidSetting(attribute.name, f"may only contain *, A, B, C, D; got {value!r}")


def _check_currencies(
    _inst: object, attribute: attrs.Attribute[Any], value: tuple[str, ...]
) -> None:
    if not value:
        raise InvalidSetting(attribute.name, "must list at least one currency")
    for code in value:
        try:
            currency_exponent(code)
        except UnknownCurrency as exc:
            raise InvalidSetting(attribute.name, str(exc)) from None


def _check_time_zone(_inst: object, attribute: attrs.Attribute[Any], value: str) -> None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidSetting(attribute.name, f"unknown time zone {value!r}") from None


@attrs.frozen
class CaptureConfig:
    """The payment dialogue's configuration (section ``[capture]``)."""

    default_currency: str = "USD"
    currencies: tuple[str, ...] = attrs.field(default=("USD",), validator=_check_currencies)
    default_language: str = "en-US"
    languages: tuple[str, ...] = ("en-US", "es-US")
    #: The calendar that decides whether a card has expired on the day of the call.
    time_zone: str = attrs.field(default="UTC", validator=_check_time_zone)
    #: Without ``paymentd_customer_verified``, send the caller to be identified first.
    require_identification: bool = True
    allowed_brands: tuple[str, ...] = attrs.field(
        default=("visa", "mastercard", "amex", "discover"), validator=_check_brands
    )
    #: What every brand needs after the card number ...
    card_fields: tuple[str, ...] = attrs.field(
        default=(CardField.EXPIRY.value, CardField.CVV.value), validator=_check_card_fields
    )
    #: ... unless listed here by brand id.
    card_fields_by_brand: dict[str, tuple[str, ...]] = attrs.field(factory=dict)
    escape_digits: str = attrs.field(default="*", validator=_check_escape)
    max_declines: int = attrs.field(default=3, validator=positive)
    hold_after_seconds: float = attrs.field(default=4.0, validator=positive)
    #: Mask every recording of the call (``uuid_record ... mask``) from before the first
    #: prompt until paymentd hands the call back, and any that starts meanwhile; a call
    #: whose recording cannot be masked gets no capture (``recording_not_maskable``).
    #: Agent mode masks both legs by ``[agent] mask_recordings``.
    mask_recordings: bool = True
    amount: AmountConfig = attrs.Factory(AmountConfig)
    card_number: FieldConfig = attrs.Factory(FieldConfig)
    expiry: ExpiryConfig = attrs.Factory(ExpiryConfig)
    cvv: FieldConfig = attrs.Factory(FieldConfig)
    postal_code: PostalCodeConfig = attrs.Factory(PostalCodeConfig)
    routes: RouteConfig = attrs.Factory(RouteConfig)

    def __attrs_post_init__(self) -> None:
        if self.default_currency not in self.currencies:
            raise InvalidSetting(
                "default_currency", f"{self.default_currency!r} is not in currencies"
            )
        if self.default_language not in self.languages:
            raise InvalidSetting(
                "default_language", f"{self.default_language!r} is not in languages"
            )
        for brand, fields in self.card_fields_by_brand.items():
            if brand not in BRANDS:
                raise InvalidSetting(f"card_fields_by_brand.{brand}", "unknown brand")
            _check_fields(f"card_fields_by_brand.{brand}", fields)
        for code in self.currencies:
            self.amount.bounds(code)

    def fields_for(self, brand: str) -> tuple[CardField, ...]:
        """The fields asked for after a card number of ``brand``, in the order they are asked."""
        wanted = set(self.card_fields_by_brand.get(brand, self.card_fields))
        return tuple(f for f in CardField if f.value in wanted)
