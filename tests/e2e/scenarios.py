"""The caller dialogues of issue 3, as data: what the caller does and what must come out.

Card data is chosen so that a leak scan cannot be fooled by chance matches: PANs are
long, and CVVs, expiries and postal codes start with a zero, which no counter,
length or timestamp in a log or a FreeSWITCH event ever does.
"""

from __future__ import annotations

import attrs

from paymentd.testing import Rule, at_start, when_playing

VISA = "4242424242424242"
VISA_2 = "4111111111111111"
MASTERCARD = "5555555555554444"
AMEX = "378282246310005"
DISCOVER = "6011111111111117"
JCB = "3566002020360505"  # a real test number of a brand the default config does not accept
DINERS = "3056930009020004"
UNIONPAY = "6200000000000005"
MAESTRO = "6759649826438453"
BAD_LUHN = "4111111111111112"
DECLINE_GENERIC = "4000000000000002"
DECLINE_CVC = "4000000000000127"
DECLINE_EXPIRED = "4000000000000069"
DECLINE_FUNDS = "4000000000009995"
PROCESSING_ERROR = "4000000000000119"

CVV = "047"
AMEX_CVV = "0472"
EXPIRY = "0931"  # September 2031
EXPIRED = "0120"
POSTAL = "02134"

#: Every piece of card data a scenario keys, for the leak scans.
CARD_DATA = (
    VISA,
    VISA_2,
    MASTERCARD,
    AMEX,
    DISCOVER,
    JCB,
    DINERS,
    UNIONPAY,
    MAESTRO,
    BAD_LUHN,
    DECLINE_GENERIC,
    DECLINE_CVC,
    DECLINE_EXPIRED,
    DECLINE_FUNDS,
    PROCESSING_ERROR,
    CVV,
    AMEX_CVV,
    EXPIRY,
    POSTAL,
)

GIVEN = {
    "paymentd_amount": "12.50",
    "paymentd_currency": "USD",
    "paymentd_customer_verified": "true",
    "paymentd_account_id": "ACCT-1001",
    "paymentd_reference": "INV-2001",
}

GAP = 0.02


def confirm_all() -> Rule:
    """Press 1 at every "if this is correct, press 1" menu."""
    return when_playing("confirm_or_reenter").press("1").every_time()


def pay_given_amount() -> Rule:
    return when_playing("press_1_to_pay_amount").press("1")


def card(number: str, terminator: str = "#") -> Rule:
    return when_playing("enter_card_number").press(number + terminator, gap=GAP)


def expiry(mmyy: str = EXPIRY) -> Rule:
    return when_playing("enter_expiry").press(mmyy, gap=GAP)


def cvv(code: str = CVV, prompt: str = "enter_cvv_3") -> Rule:
    return when_playing(prompt).press(code, gap=GAP)


def visa_card(number: str = VISA) -> tuple[Rule, ...]:
    return (card(number), expiry(), cvv())


@attrs.frozen
class Scenario:
    """One call: the caller's rules and the expected outputs.

    ``route``: ``resume`` (the dialplan after ``socket`` ran), ``queue`` (the
    failure queue), ``identify``, or ``hangup`` (the caller hung up).
    """

    id: str
    rules: tuple[Rule, ...]
    result: str | None
    route: str
    expect: dict[str, str] = attrs.Factory(dict)
    variables: dict[str, str] = attrs.Factory(lambda: dict(GIVEN))
    #: Prompts that must have been played (file-name fragments), in this order.
    heard: tuple[str, ...] = ()
    #: Prompts that must never have been played.
    not_heard: tuple[str, ...] = ()
    #: The result the ledger must hold when it differs from the channel (hang-ups).
    ledger_result: str | None = None
    slow_gateway: bool = False
    #: Run against the daemon that accepts every brand.
    all_brands: bool = False


def _happy(brand: str, rules: tuple[Rule, ...], last4: str, **extra: str) -> Scenario:
    return Scenario(
        f"happy-{brand}",
        (pay_given_amount(), confirm_all(), *rules),
        "success",
        "resume",
        {
            "paymentd_card_brand": brand,
            "paymentd_card_last4": last4,
            "paymentd_amount": "12.50",
            "paymentd_currency": "USD",
            "paymentd_decline_count": "0",
            **extra,
        },
        heard=("enter_card_number", "enter_expiry", "processing", "payment_approved"),
    )


SCENARIOS: list[Scenario] = [
    _happy("visa", visa_card(), "4242"),
    # Mastercard ends itself at 16 digits: no terminator needed.
    _happy("mastercard", (card(MASTERCARD, ""), expiry(), cvv()), "4444"),
    # Amex: 15 digits end themselves, a 4-digit CID, and (by this config) a postal code.
    _happy(
        "amex",
        (
            card(AMEX, ""),
            expiry(),
            cvv(AMEX_CVV, "enter_cvv_4"),
            when_playing("enter_postal_code").press(POSTAL, gap=GAP),
        ),
        "0005",
    ),
    _happy("discover", (card(DISCOVER), expiry(), cvv()), "1117"),
    # The brands the default configuration does not accept, on a daemon that does.
    attrs.evolve(_happy("diners", (card(DINERS), expiry(), cvv()), "0004"), all_brands=True),
    attrs.evolve(_happy("jcb", (card(JCB), expiry(), cvv()), "0505"), all_brands=True),
    attrs.evolve(_happy("unionpay", (card(UNIONPAY), expiry(), cvv()), "0005"), all_brands=True),
    attrs.evolve(_happy("maestro", (card(MAESTRO), expiry(), cvv()), "8453"), all_brands=True),
    # Keys pressed before paymentd has the call (left over from an earlier menu, or
    # typed ahead): FreeSWITCH delivers them as soon as the socket app starts.  They
    # are not the caller's answer to anything paymentd asked, so they are dropped.
    Scenario(
        "keys-before-the-first-prompt",
        (at_start().press("99#", gap=0), pay_given_amount(), confirm_all(), *visa_card()),
        "success",
        "resume",
        {"paymentd_card_last4": "4242"},
        heard=("press_1_to_pay_amount", "enter_card_number", "payment_approved"),
    ),
    Scenario(
        "invalid-luhn-then-valid",
        (pay_given_amount(), confirm_all(), card(BAD_LUHN), *visa_card()),
        "success",
        "resume",
        {"paymentd_card_last4": "4242"},
        heard=("enter_card_number", "card_number_invalid", "enter_card_number"),
    ),
    Scenario(
        "disallowed-brand-then-visa",
        (pay_given_amount(), confirm_all(), card(JCB, ""), *visa_card()),
        "success",
        "resume",
        {"paymentd_card_brand": "visa"},
        heard=("card_not_accepted", "enter_card_number"),
    ),
    Scenario(
        "expired-card-then-valid-expiry",
        (pay_given_amount(), confirm_all(), card(VISA), expiry(EXPIRED), expiry(), cvv()),
        "success",
        "resume",
        heard=("enter_expiry", "card_expired", "enter_expiry"),
    ),
    Scenario(
        "short-cvv-then-valid",
        (pay_given_amount(), confirm_all(), card(VISA), expiry(), cvv("04#"), cvv()),
        "success",
        "resume",
        heard=("enter_cvv_3", "cvv_invalid", "enter_cvv_3"),
    ),
    Scenario(
        "re-entry-after-2",
        (
            pay_given_amount(),
            card(VISA_2),
            when_playing("confirm_or_reenter").press("2"),
            confirm_all(),
            *visa_card(),
        ),
        "success",
        "resume",
        {"paymentd_card_last4": "4242"},
        heard=("enter_card_number", "confirm_or_reenter", "enter_card_number"),
    ),
    Scenario(
        "silent-caller-times-out",
        (pay_given_amount(), when_playing("enter_card_number").stay_silent().every_time()),
        "too-many-failed-attempts",
        "queue",
        {"paymentd_error_type": "no_input"},
        heard=("enter_card_number", "no_input", "too_many_attempts"),
    ),
    Scenario(
        "star-cancels-during-card-entry",
        (pay_given_amount(), when_playing("enter_card_number").press("42*", gap=GAP)),
        "caller-cancelled",
        "queue",
        heard=("payment_cancelled",),
        not_heard=("processing",),
    ),
    Scenario(
        "star-cancels-at-confirmation",
        (pay_given_amount(), card(VISA), when_playing("confirm_or_reenter").press("*")),
        "caller-cancelled",
        "queue",
        not_heard=("processing",),
    ),
    Scenario(
        "caller-keyed-amount-below-minimum-then-valid",
        (
            when_playing("enter_amount").press("0*50#", gap=GAP),
            when_playing("enter_amount").press("25*75#", gap=GAP),
            confirm_all(),
            *visa_card(),
        ),
        "success",
        "resume",
        {"paymentd_amount": "25.75"},
        variables={k: v for k, v in GIVEN.items() if k != "paymentd_amount"},
        heard=("enter_amount", "amount_below_minimum", "enter_amount"),
    ),
    Scenario(
        "caller-keyed-amount-above-maximum",
        (
            when_playing("enter_amount").press("20000#", gap=GAP),
            when_playing("enter_amount").press("100#", gap=GAP),
            confirm_all(),
            *visa_card(),
        ),
        "success",
        "resume",
        {"paymentd_amount": "100.00"},
        variables={k: v for k, v in GIVEN.items() if k != "paymentd_amount"},
        heard=("amount_above_maximum",),
    ),
    Scenario(
        "decline-then-new-card-succeeds",
        (pay_given_amount(), confirm_all(), *visa_card(DECLINE_GENERIC), *visa_card()),
        "success",
        "resume",
        {"paymentd_decline_count": "1", "paymentd_card_last4": "4242"},
        heard=("payment_declined", "try_another_card", "enter_card_number", "payment_approved"),
    ),
    Scenario(
        "incorrect-cvc-asks-for-the-cvv-again-until-max-declines",
        (
            pay_given_amount(),
            confirm_all(),
            card(DECLINE_CVC),
            expiry(),
            when_playing("enter_cvv_3").press(CVV, gap=GAP).every_time(),
        ),
        "declined",
        "queue",
        {"paymentd_decline_count": "3", "paymentd_error_type": "incorrect_cvc"},
        heard=("declined_incorrect_cvc", "enter_cvv_3", "declined_incorrect_cvc", "max_declines"),
    ),
    Scenario(
        "expired-decline-asks-for-the-expiry-again",
        (
            pay_given_amount(),
            confirm_all(),
            card(DECLINE_EXPIRED),
            when_playing("enter_expiry").press(EXPIRY, gap=GAP).every_time(),
            when_playing("enter_cvv_3").press(CVV, gap=GAP).every_time(),
        ),
        "declined",
        "queue",
        {"paymentd_error_type": "expired_card"},
        heard=("declined_expired", "enter_expiry"),
    ),
    Scenario(
        "max-declines",
        (
            pay_given_amount(),
            confirm_all(),
            when_playing("enter_card_number").press(DECLINE_FUNDS + "#", gap=GAP).every_time(),
            when_playing("enter_expiry").press(EXPIRY, gap=GAP).every_time(),
            when_playing("enter_cvv_3").press(CVV, gap=GAP).every_time(),
        ),
        "declined",
        "queue",
        {"paymentd_decline_count": "3", "paymentd_error_type": "insufficient_funds"},
        heard=("declined_insufficient_funds", "max_declines"),
    ),
    Scenario(
        "gateway-processing-error",
        (pay_given_amount(), confirm_all(), *visa_card(PROCESSING_ERROR)),
        "payment-connector-error",
        "queue",
        heard=("payment_connector_error",),
    ),
    Scenario(
        "identification-failed",
        (),
        "identification-failed",
        "queue",
        variables={**GIVEN, "paymentd_customer_verified": "false"},
        heard=("identification_failed",),
        not_heard=("enter_card_number",),
    ),
    Scenario(
        "unidentified-caller-goes-to-identification",
        (),
        None,
        "identify",
        variables={k: v for k, v in GIVEN.items() if k != "paymentd_customer_verified"},
        not_heard=("enter_card_number",),
        ledger_result="identification-pending",
    ),
    Scenario(
        "slow-gateway-plays-hold-audio",
        (pay_given_amount(), confirm_all(), *visa_card()),
        "success",
        "resume",
        heard=("processing", "please_hold", "payment_approved"),
        slow_gateway=True,
    ),
    Scenario(
        "hang-up-during-the-charge-still-records-the-payment",
        (
            pay_given_amount(),
            confirm_all(),
            *visa_card(),
            when_playing("processing").after(0.3).hang_up(),
        ),
        None,
        "hangup",
        ledger_result="success",
        slow_gateway=True,
    ),
]

#: Hang up the moment each step's prompt starts.
HANGUP_STEPS = (
    "welcome",
    "enter_card_number",
    "you_entered",
    "confirm_or_reenter",
    "enter_expiry",
    "enter_cvv_3",
)


def _hangup_scenario(step: str) -> Scenario:
    rules: list[Rule] = [pay_given_amount(), confirm_all(), *visa_card()]
    rules.insert(0, when_playing(step).hang_up())
    return Scenario(
        f"hang-up-at-{step}",
        tuple(rules),
        None,
        "hangup",
        ledger_result="caller-hung-up",
        not_heard=("processing",),
    )


SCENARIOS += [_hangup_scenario(step) for step in HANGUP_STEPS]
SCENARIOS.append(
    Scenario(
        "hang-up-before-anything",
        (at_start().hang_up(),),
        None,
        "hangup",
        ledger_result=None,
    )
)
