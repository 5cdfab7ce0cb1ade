import pytest

from paymentd.capture.actions import (
    Finished,
    Hangup,
    ProgressKind,
    Resume,
    ReturnToAgent,
    SetVariables,
    StopPlayback,
    Transfer,
)
from paymentd.capture.config import AgentRoutes, AutomatedRoutes, CaptureConfig, Route, RouteConfig
from paymentd.capture.inputs import AgentCancelled, AgentLeft, InternalFailure, Start
from paymentd.capture.results import ErrorType, Mode, Result
from paymentd.payments import Approved, Declined, DeclineReason
from tests.capture.cards import CVV, VISA
from tests.capture.harness import AMOUNT_GIVEN, VERIFIED, Call, pay

QUEUE = Route("transfer", extension="payments_queue", context="support")


def test_unidentified_caller_is_sent_to_identification_with_a_way_back() -> None:
    call = Call(variables={"paymentd_amount": "10.00"})
    call.start()
    heard = call.listen()
    assert call.prompt_names(heard) == ["identification_required", "transferring"]
    assert call.tail(3) == [SetVariables, Transfer, Finished]
    assert call.actions[-2] == Transfer("paymentd_identify", "default")
    assert call.variables == {
        "paymentd_result": "",
        "paymentd_session_id": "sess-1",
        "paymentd_return_extension": "pay",
        "paymentd_return_context": "payments",
    }
    assert call.outcome.result is None
    assert call.progress(ProgressKind.IDENTIFICATION_REQUIRED)


def test_identification_can_be_switched_off() -> None:
    call = Call(CaptureConfig(require_identification=False), {"paymentd_amount": "10.00"})
    call.start()
    assert call.prompt_names() == ["welcome", "amount_due_is", "press_1_to_pay_amount"]


@pytest.mark.parametrize("value", ["false", "FALSE"])
def test_identification_failed(value: str) -> None:
    routes = RouteConfig(automated=AutomatedRoutes(identification_failed=QUEUE))
    call = Call(CaptureConfig(routes=routes), {"paymentd_customer_verified": value})
    call.start()
    heard = call.listen()
    assert call.prompt_names(heard) == ["identification_failed", "transferring"]
    assert call.actions[-2] == Transfer("payments_queue", "support")
    assert call.variables["paymentd_result"] == "identification-failed"
    assert call.variables["paymentd_error_type"] == "identification_failed"


@pytest.mark.parametrize(
    ("variables", "error"),
    [
        ({"paymentd_amount": "12.345"}, "invalid_amount_parameter"),
        ({"paymentd_amount": "-5"}, "invalid_amount_parameter"),
        ({"paymentd_amount": "0.50"}, "amount_parameter_out_of_limits"),
        ({"paymentd_amount": "20000"}, "amount_parameter_out_of_limits"),
        ({"paymentd_currency": "EUR"}, "currency_not_allowed"),
        ({"paymentd_customer_verified": "maybe"}, "invalid_customer_verified"),
    ],
)
def test_unusable_parameters_are_an_internal_error(variables: dict[str, str], error: str) -> None:
    call = Call(variables={**VERIFIED, **variables})
    call.start()
    heard = call.listen()
    assert call.prompt_names(heard) == ["technical_problem"]
    assert call.variables["paymentd_result"] == "internal-error"
    assert call.variables["paymentd_error_type"] == error
    assert call.tail(3) == [SetVariables, Resume, Finished]


def test_parameters_are_read_leniently_where_harmless() -> None:
    call = Call(variables={**VERIFIED, "paymentd_amount": " 10 ", "paymentd_currency": "usd"})
    call.start()
    assert call.progress(ProgressKind.STARTED)[0].amount == "10.00"


def test_language_from_the_call_or_the_default() -> None:
    assert Call(variables={"paymentd_language": "es-US"}).dialogue.language == "es-US"
    assert Call(variables={"paymentd_language": "fr-FR"}).dialogue.language == "en-US"
    assert Call(variables={}).dialogue.language == "en-US"


@pytest.mark.parametrize(
    ("route", "action"),
    [
        (Route("resume"), Resume()),
        (Route("hangup"), Hangup()),
        (QUEUE, Transfer("payments_queue", "support")),
    ],
)
def test_success_continuation(route: Route, action: object) -> None:
    routes = RouteConfig(automated=AutomatedRoutes(success=route))
    call = Call(CaptureConfig(routes=routes), AMOUNT_GIVEN)
    pay(call, VISA, cvv=CVV)
    call.answer(Approved("R1"))
    heard = call.listen()
    assert call.actions[-2] == action
    farewell = {"hangup": ["goodbye"], "transfer": ["transferring"], "resume": []}
    last_words = [n for n in call.prompt_names(heard) if n in ("goodbye", "transferring")]
    assert last_words == farewell[route.action]


def test_internal_failure_ends_without_another_word() -> None:
    call = Call(variables=AMOUNT_GIVEN)
    call.start()
    actions = call.feed(InternalFailure("playback_failed", call.now))
    assert call.tail(4) == [type(actions[0]), SetVariables, Resume, Finished]
    assert call.variables["paymentd_result"] == "internal-error"
    assert call.variables["paymentd_error_type"] == "playback_failed"


def test_internal_failure_during_the_charge_waits_for_the_answer() -> None:
    call = Call(variables=AMOUNT_GIVEN)
    pay(call, VISA, cvv=CVV)
    assert call.feed(InternalFailure("socket_error", call.now)) == []
    call.answer(Approved("ANS"))
    assert call.variables["paymentd_result"] == "success"
    call = Call(variables=AMOUNT_GIVEN)
    pay(call, VISA, cvv=CVV)
    call.feed(InternalFailure("socket_error", call.now))
    call.answer(Declined(DeclineReason.GENERIC))
    assert call.variables["paymentd_result"] == "internal-error"
    assert call.variables["paymentd_decline_count"] == "1"


# --- agent mode -----------------------------------------------------------------------------


def agent_call(**kwargs: object) -> Call:
    return Call(variables=AMOUNT_GIVEN, mode=Mode.AGENT, **kwargs)  # type: ignore[arg-type]


def test_agent_mode_success_returns_to_the_agent() -> None:
    call = agent_call()
    pay(call, VISA, cvv=CVV)
    assert call.prompt_names(call.plays[0].utterances)[0] == "secure_agent_intro"  # type: ignore[union-attr]
    assert call.charges[0].mode == "agent"
    call.answer(Approved("AG1"))
    heard = call.listen()
    assert call.prompt_names(heard)[-1] == "returning_to_agent"
    assert call.tail(3) == [SetVariables, ReturnToAgent, Finished]


def test_agent_mode_identification_failure_goes_back_to_the_agent() -> None:
    call = Call(variables={"paymentd_customer_verified": "false"}, mode=Mode.AGENT)
    call.start()
    call.listen()
    assert call.tail(3) == [SetVariables, ReturnToAgent, Finished]


def test_agent_mode_max_declines_goes_back_to_the_agent() -> None:
    call = Call(CaptureConfig(max_declines=1), AMOUNT_GIVEN, mode=Mode.AGENT)
    pay(call, VISA, cvv=CVV)
    call.answer(Declined(DeclineReason.GENERIC))
    call.listen()
    assert call.variables["paymentd_result"] == "declined"
    assert call.tail(3) == [SetVariables, ReturnToAgent, Finished]


def test_agent_mode_without_return_uses_the_automated_routes() -> None:
    call = agent_call(return_to_agent=False)
    pay(call, VISA, cvv=CVV)
    call.answer(Approved("AG2"))
    call.listen()
    assert call.tail(3) == [SetVariables, Resume, Finished]


def test_agent_cancels_mid_entry() -> None:
    call = agent_call()
    call.start()
    call.listen()
    call.press("1")
    playing = call.playing
    assert playing is not None
    actions = call.feed(AgentCancelled(call.now))
    assert actions[0] == StopPlayback(playing.play_id)
    heard = call.listen()
    assert call.prompt_names(heard)[-2:] == ["payment_cancelled", "returning_to_agent"]
    assert call.variables["paymentd_result"] == "caller-cancelled"
    assert call.variables["paymentd_error_type"] == "cancelled_by_agent"


def test_agent_cancel_during_the_charge_lets_an_approval_stand() -> None:
    call = agent_call()
    pay(call, VISA, cvv=CVV)
    assert call.feed(AgentCancelled(call.now)) == []
    call.answer(Approved("AG3"))
    call.listen()
    assert call.variables["paymentd_result"] == "success"


def test_agent_cancel_during_the_charge_stops_after_a_decline() -> None:
    call = agent_call()
    pay(call, VISA, cvv=CVV)
    call.feed(AgentCancelled(call.now))
    call.answer(Declined(DeclineReason.INSUFFICIENT_FUNDS))
    heard = call.listen()
    assert "payment_cancelled" in call.prompt_names(heard)
    assert call.variables["paymentd_result"] == "caller-cancelled"
    assert call.variables["paymentd_decline_count"] == "1"


def test_agent_left_sends_the_caller_to_the_agent_gone_route() -> None:
    routes = RouteConfig(agent=AgentRoutes(agent_gone=QUEUE))
    call = Call(CaptureConfig(routes=routes), AMOUNT_GIVEN, mode=Mode.AGENT)
    pay(call, VISA, cvv=CVV)
    assert call.feed(AgentLeft(call.now)) == []
    call.answer(Approved("AG4"))
    call.listen()
    assert call.actions[-2] == Transfer("payments_queue", "support")


def test_agent_inputs_change_nothing_in_automated_mode_after_the_end() -> None:
    call = Call(variables=AMOUNT_GIVEN)
    call.start()
    call.feed(AgentLeft(call.now))
    call.press("*")
    call.listen()
    assert call.tail(3) == [SetVariables, Resume, Finished]
    assert call.feed(AgentCancelled(call.now)) == []


def test_every_result_has_a_route_in_both_modes() -> None:
    for result in Result:
        if result is Result.CALLER_HUNG_UP:
            continue
        assert isinstance(getattr(AutomatedRoutes(), result.route_key), Route)
        assert getattr(AgentRoutes(), result.route_key) == Route("agent")


def test_a_daemon_that_cannot_take_payments_says_so_and_routes_on() -> None:
    call = Call(variables={**VERIFIED, **AMOUNT_GIVEN})
    call.feed(Start(call.now, unavailable=ErrorType.LEDGER_UNAVAILABLE))
    heard = call.listen()
    assert call.prompt_names(heard) == ["technical_problem"]
    assert not call.charges
    assert call.outcome.result is Result.INTERNAL_ERROR
    assert call.variables["paymentd_result"] == "internal-error"
    assert call.variables["paymentd_error_type"] == "ledger_unavailable"
    assert isinstance(call.actions[-2], Resume)
