"""The funnel read from the real dialogue's progress (no sockets): every way a step ends."""

from __future__ import annotations

from collections import Counter

import attrs

from paymentd.capture.actions import Progress, ProgressKind
from paymentd.capture.config import CaptureConfig
from paymentd.capture.results import Field
from paymentd.observability.funnel import FieldAttempt, FunnelTracker
from paymentd.payments import Approved
from tests.capture.harness import AMOUNT_GIVEN, Call, key_in, pay

VISA = "4242424242424242"


def funnel(call: Call) -> Counter[tuple[str, str]]:
    """(step, outcome) counts for everything the call's dialogue reported, session ended."""
    tracker = FunnelTracker()
    ended: list[FieldAttempt] = []
    for progress in call.progress():
        ended += tracker.feed(progress)
    ended += tracker.finish()
    return Counter((a.step, a.outcome) for a in ended)


def errors(call: Call) -> list[tuple[str, str | None]]:
    tracker = FunnelTracker()
    found: list[tuple[str, str | None]] = []
    for progress in call.progress():
        found += [(a.step, a.error) for a in tracker.feed(progress) if a.error]
    return found


def test_a_clean_payment_is_ok_at_every_step() -> None:
    call = Call(variables=AMOUNT_GIVEN)
    pay(call, VISA, cvv="123")
    call.answer(Approved("ABC123"))
    call.listen()
    assert funnel(call) == Counter(
        {
            ("amount", "ok"): 1,
            ("card_number", "ok"): 1,
            ("expiry", "ok"): 1,
            ("cvv", "ok"): 1,
            ("confirm", "ok"): 3,
        }
    )


def test_a_luhn_failure_is_invalid_with_its_error() -> None:
    call = Call(variables=AMOUNT_GIVEN)
    call.start()
    call.listen()
    call.press("1")
    call.listen()
    call.press("4111111111111112#")
    call.listen()
    call.hang_up()
    assert funnel(call) == Counter(
        {("amount", "ok"): 1, ("card_number", "invalid"): 1, ("card_number", "abandoned"): 1}
    )
    assert errors(call) == [("card_number", "card_number_luhn_check_failed")]


def test_pressing_2_re_enters_and_silence_times_out() -> None:
    call = Call(variables=AMOUNT_GIVEN)
    call.start()
    call.listen()
    call.press("1")
    key_in(call, VISA + "#", confirm=False)
    call.listen()
    call.press("2")  # re-enter the card number
    call.listen()
    call.wait(60)  # no first digit
    call.listen()
    call.press("*")  # cancel
    counts = funnel(call)
    assert counts[("confirm", "re-entered")] == 1
    assert counts[("card_number", "ok")] == 1
    assert counts[("card_number", "timeout")] == 1
    assert counts[("card_number", "abandoned")] == 1
    assert errors(call) == [("card_number", "no_input")]


def test_a_wrong_key_in_the_confirmation_menu_is_an_invalid_confirm() -> None:
    call = Call(variables=AMOUNT_GIVEN)
    call.start()
    call.listen()
    call.press("1")
    key_in(call, VISA + "#", confirm=False)
    call.listen()
    call.press("7")
    call.listen()
    call.press("1")
    counts = funnel(call)
    assert counts[("confirm", "invalid")] == 1
    assert counts[("confirm", "ok")] == 1
    assert errors(call) == [("confirm", "invalid_choice")]


def test_choosing_another_amount_re_enters_the_amount() -> None:
    default = CaptureConfig()
    config = attrs.evolve(default, amount=attrs.evolve(default.amount, allow_partial=True))
    partial = Call(config=config, variables=AMOUNT_GIVEN)
    partial.start()
    partial.listen()
    partial.press("2")
    partial.hang_up()
    assert funnel(partial) == Counter({("amount", "re-entered"): 1, ("amount", "abandoned"): 1})


def test_progress_for_another_field_never_closes_the_open_step() -> None:
    tracker = FunnelTracker()
    tracker.feed(Progress(ProgressKind.FIELD_REQUESTED, field=Field.EXPIRY))
    assert tracker.feed(Progress(ProgressKind.FIELD_ACCEPTED, field=Field.CVV)) == []
    assert tracker.feed(Progress(ProgressKind.DIGITS_ENTERED, field=Field.EXPIRY)) == []
    assert tracker.finish() == [FieldAttempt("expiry", "abandoned")]
    assert tracker.finish() == []
