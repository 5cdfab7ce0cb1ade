"""The payment dialogue as a pure state machine.

:class:`PaymentDialogue` takes typed inputs (:mod:`paymentd.capture.inputs`) and
returns typed actions (:mod:`paymentd.capture.actions`). It opens no socket, reads
no clock and sleeps nowhere: time arrives as ``now`` on every input.

Driver contract
===============

Before ``Start``, the driver prepares the call so no card digit can leak inside
FreeSWITCH (``../shared/esl/PROTOCOL.md``, "Card data on the wire"): ``connect``,
``myevents``, ``divert_events on``, ``linger``, ``digits_dialed_filter=.+`` and
``playback_terminators=none`` (so no key ever ends a playback inside FreeSWITCH;
the dialogue decides barge-in itself). Then::

    dialogue = PaymentDialogue(config.capture, CallInfo(...))
    run(dialogue.handle(Start(now)))
    # for every input: run(dialogue.handle(input)) until dialogue.finished

``run`` carries out the returned actions **in order**, each command answered
before the next is sent:

``Play(play_id, utterances)``
    Say the utterances in order (in ``dialogue.language``). Sensitive ones
    (``paymentd.speech.utterances.is_sensitive``) are composed into audio with an
    opaque one-time name: no card digit in any argument. When all of it has ended,
    feed ``PlaybackFinished(play_id, now)``, exactly once, whether it played out or
    was stopped. The dialogue never has more than one Play/PlayHold outstanding.
``PlayHold(play_id)``
    Hold audio in a loop until ``StopPlayback``; then ``PlaybackFinished``.
``StopPlayback(play_id)``
    Break that playback now (``uuid_break <uuid>``) if it is still playing;
    otherwise do nothing. ``PlaybackFinished`` is still expected for it.
``Charge(request)``
    Start the gateway charge concurrently (do not block the event loop) and feed
    ``ChargeAnswered(request.attempt_id, outcome, now)`` when it answers, **even after
    the caller hung up**. Each Charge is a new attempt with a new idempotency key;
    never send one twice (a retry of the same attempt reuses its key).
``Progress(...)``
    Masked progress for the agent desktop and logs; nothing to do on the call.
``SetVariables(variables)``
    Set each channel variable (an empty value unsets it). Not card data.
``Resume`` / ``Transfer`` / ``Hangup`` / ``ReturnToAgent``
    Where the call goes: close the socket so the dialplan continues after
    ``socket`` / ``transfer <ext> XML <context>`` / hang up / hand the caller back to
    the agent (agent mode).
``Finished(outcome)``
    The last action. ``dialogue.finished`` is now true; later inputs return nothing.

Inputs, besides ``Start``:

``DigitPressed(digit, now)``
    Every ``DTMF`` event, in arrival order, whatever is playing, never interpreted
    by the driver. A key may arrive after the ``CHANNEL_EXECUTE_COMPLETE`` of the
    playback it interrupted: forward it anyway; the dialogue accepts keys for the
    field it is collecting whether or not the prompt has finished.
``TimerExpired(now)``
    After every ``handle``, read ``next_deadline()`` (monotonic seconds, or None) and
    feed ``TimerExpired`` once the clock reaches it. Early or extra ticks are harmless.
``CallHungUp(now)``
    ``CHANNEL_HANGUP`` or a closed socket. If a charge is in flight the dialogue
    waits for its ``ChargeAnswered`` before ``Finished``; it emits no Play and no
    ``SetVariables`` after a hang-up.
``AgentCancelled`` / ``AgentLeft``
    From the agent API (agent mode): cancel the payment (a charge already in flight
    is still answered) / the agent hung up (the caller finishes, then goes to the
    ``agent_gone`` route).
``InternalFailure(error_type, now)``
    The driver cannot go on (a command failed, audio missing). The dialogue stops
    speaking and ends with ``internal-error``; if ``handle`` itself raises, the driver
    sets ``paymentd_result=internal-error`` and hangs up on its own.

``CallHungUp`` and ``InternalFailure`` may also come instead of ``Start`` (the call
could not be prepared): the session then ends at once. Any other input before
``Start`` raises :class:`UnexpectedInput`, as does an answer to a charge not in flight.

Timing: the first-digit timeout of a field runs from the end of its prompt; each key
restarts the inter-digit timeout; when that expires the entry is taken as keyed (as
``#`` would). ``#`` ends an entry early; an entry also ends itself at its longest valid
length. In a confirmation menu a stray ``#`` is ignored (callers press it after an
entry that completed itself).
"""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

import attrs

from paymentd.capture.actions import (
    Action,
    Charge,
    Finished,
    Hangup,
    Progress,
    ProgressKind,
    Resume,
    ReturnToAgent,
    SessionOutcome,
    SetVariables,
    Transfer,
)
from paymentd.capture.call import CallInfo
from paymentd.capture.config import CaptureConfig, Route
from paymentd.capture.entries import EntryRules, EntryValue, say_amount
from paymentd.capture.inputs import (
    AgentCancelled,
    AgentLeft,
    CallHungUp,
    ChargeAnswered,
    DigitPressed,
    Input,
    InternalFailure,
    PlaybackFinished,
    Start,
    TimerExpired,
)
from paymentd.capture.results import ErrorType, Field, Mode, Result
from paymentd.capture.speaker import Kind, Speaker
from paymentd.cards import (
    BRANDS,
    BrandTable,
    CardBrand,
    CardNumber,
    Expiry,
    SecurityCode,
)
from paymentd.money import InvalidAmount, Money
from paymentd.payments import (
    Approved,
    CardDetails,
    ChargeOutcome,
    ChargeRequest,
    Declined,
    DeclineReason,
    Failed,
    Unknown,
)
from paymentd.speech.utterances import (
    Prompt,
    SayCharacters,
    Utterance,
)

__all__ = ["OUTPUT_VARIABLES", "PaymentDialogue", "UnexpectedInput"]

#: The channel variables set before the call leaves paymentd, in this order.
OUTPUT_VARIABLES = (
    "paymentd_result",
    "paymentd_session_id",
    "paymentd_confirmation_code",
    "paymentd_card_brand",
    "paymentd_card_last4",
    "paymentd_amount",
    "paymentd_currency",
    "paymentd_decline_count",
    "paymentd_error_type",
)

_DECLINE_PROMPTS = {
    DeclineReason.INCORRECT_CVC: "declined_incorrect_cvc",
    DeclineReason.EXPIRED_CARD: "declined_expired",
    DeclineReason.INSUFFICIENT_FUNDS: "declined_insufficient_funds",
    DeclineReason.INVALID_NUMBER: "declined_invalid_number",
    DeclineReason.CARD_NOT_SUPPORTED: "declined_card_not_supported",
    # Generic, do-not-honor and suspected fraud get the generic prompt: telling a
    # caller that fraud is suspected helps only a fraudster.
}


class UnexpectedInput(RuntimeError):
    """The driver broke the contract (an input out of place); the message says which."""


# --- phases ---------------------------------------------------------------------------------


@attrs.frozen
class _Entry:
    """Collecting the keys of one field."""

    field: Field


@attrs.frozen
class _Confirm:
    """Read back ``value`` and wait for 1 (confirm) or 2 (re-enter)."""

    field: Field
    value: EntryValue


@attrs.frozen
class _AmountChoice:
    """A given amount: 1 pays it; with partial payments allowed, 2 keys another."""

    partial: bool


@attrs.frozen
class _Charging:
    attempt_id: str
    #: The request's copy of the card, wiped when the answer comes whatever the gateway did.
    card: CardDetails


@attrs.frozen
class _Ending:
    result: Result | None
    route: Route | None
    variables: tuple[tuple[str, str], ...]


class _Waiting:
    """Before Start, and after Finished."""


_Phase = _Waiting | _Entry | _Confirm | _AmountChoice | _Charging | _Ending


class PaymentDialogue:
    """One payment session on one call. See the module docstring for the driver contract."""

    def __init__(
        self, config: CaptureConfig, call: CallInfo, *, brands: BrandTable = BRANDS
    ) -> None:
        self._config = config
        self._call = call
        today = call.started_at.astimezone(ZoneInfo(config.time_zone)).date()
        self._rules = EntryRules(config, brands, today, config.default_currency)
        requested = call.variable("paymentd_language")
        self._language = requested if requested in config.languages else config.default_language
        self._speaker = Speaker()
        self._out: list[Action] = []
        self._phase: _Phase = _Waiting()
        self._started = False
        self._finished = False
        self._outcome: SessionOutcome | None = None
        self._now = 0.0
        self._deadline: float | None = None
        self._prompt_id: int | None = None
        self._intro: tuple[Utterance, ...] = ()
        # What the caller keys, as bytes that can be overwritten.
        self._keys = bytearray()
        self._attempts: dict[Field, int] = {}
        # Session facts.
        self._amount: Money | None = None
        self._card: CardNumber | None = None
        self._expiry: Expiry | None = None
        self._cvv: SecurityCode | None = None
        self._postal_code: str | None = None
        self._card_brand: str | None = None
        self._card_last4: str | None = None
        self._todo: list[Field] = []
        self._charge_attempts = 0
        self._declines = 0
        self._confirmation_code: str | None = None
        self._error_type: str | None = None
        # Things that happened while a charge was in flight, acted on at its answer.
        self._hung_up = False
        self._failure: str | None = None
        self._cancel_requested = False
        self._agent_gone = False

    # --- public API ------------------------------------------------------------------------

    @property
    def session_id(self) -> str:
        return self._call.session_id

    @property
    def language(self) -> str:
        """The language to speak: ``paymentd_language`` if configured, else the default."""
        return self._language

    @property
    def finished(self) -> bool:
        return self._finished

    @property
    def outcome(self) -> SessionOutcome | None:
        """How the session ended, once :attr:`finished`."""
        return self._outcome

    def next_deadline(self) -> float | None:
        """When the driver must feed :class:`TimerExpired` (monotonic seconds), if ever."""
        return self._deadline

    def handle(self, event: Input) -> list[Action]:
        """Take one input; return the actions to carry out, in order."""
        if self._finished:
            return []
        if not self._started and not isinstance(event, Start | CallHungUp | InternalFailure):
            raise UnexpectedInput(f"{type(event).__name__} before Start")
        self._out = []
        self._now = event.now
        match event:
            case Start(unavailable=unavailable):
                self._on_start(unavailable)
            case DigitPressed(digit=digit):
                self._on_key(digit)
            case PlaybackFinished(play_id=play_id):
                self._on_playback_finished(play_id)
            case TimerExpired():
                self._on_timer()
            case ChargeAnswered(attempt_id=attempt_id, outcome=outcome):
                self._on_charge_answered(attempt_id, outcome)
            case CallHungUp():
                self._on_hang_up()
            case AgentCancelled():
                self._on_agent_cancelled()
            case AgentLeft():
                self._agent_gone = True
            case InternalFailure(error_type=error_type):
                self._on_internal_failure(error_type)
        if isinstance(self._phase, _Ending) and self._speaker.idle:
            self._finish(self._phase)
        out, self._out = self._out, []
        return out

    # --- start -----------------------------------------------------------------------------

    def _on_start(self, unavailable: ErrorType | None) -> None:
        if self._started:
            raise UnexpectedInput("Start twice")
        self._started = True
        call = self._call
        problem = self._read_parameters() or unavailable
        self._emit(
            Progress(
                ProgressKind.STARTED,
                amount=self._rules.balance.decimal() if self._rules.balance else None,
                currency=self._rules.currency,
            )
        )
        if problem is not None:
            self._end(Result.INTERNAL_ERROR, [Prompt("technical_problem")], problem)
            return
        verified = call.variable("paymentd_customer_verified")
        if verified is None and self._config.require_identification:
            self._emit(Progress(ProgressKind.IDENTIFICATION_REQUIRED))
            self._hand_over_to_identification()
            return
        if verified is not None and verified.lower() == "false":
            self._end(
                Result.IDENTIFICATION_FAILED,
                [Prompt("identification_failed")],
                ErrorType.IDENTIFICATION_FAILED,
            )
            return
        intro = "secure_agent_intro" if call.mode is Mode.AGENT else "welcome"
        self._intro = (Prompt(intro),)
        self._ask_amount()

    def _read_parameters(self) -> ErrorType | None:
        """Take the session's channel variables; the reason they are unusable, if they are."""
        call = self._call
        currency = (call.variable("paymentd_currency") or self._rules.currency).upper()
        if currency not in self._config.currencies:
            return ErrorType.CURRENCY_NOT_ALLOWED
        self._rules = attrs.evolve(self._rules, currency=currency)
        verified = call.variable("paymentd_customer_verified")
        if verified is not None and verified.lower() not in ("true", "false"):
            return ErrorType.INVALID_CUSTOMER_VERIFIED
        text = call.variable("paymentd_amount")
        if text is not None:
            try:
                amount = Money.parse(text, currency)
            except InvalidAmount:
                return ErrorType.INVALID_AMOUNT_PARAMETER
            low, high = self._config.amount.bounds(currency)
            if amount < low or (high is not None and amount > high):
                return ErrorType.AMOUNT_PARAMETER_OUT_OF_LIMITS
            self._rules = attrs.evolve(self._rules, balance=amount)
        return None

    def _hand_over_to_identification(self) -> None:
        variables = [
            ("paymentd_result", ""),
            ("paymentd_session_id", self.session_id),
            ("paymentd_return_extension", self._call.return_extension or ""),
            ("paymentd_return_context", self._call.return_context or ""),
        ]
        routes = self._config.routes
        route = (
            routes.agent.identification if self._agent_routes() else routes.automated.identification
        )
        self._close(None, route, [Prompt("identification_required")], tuple(variables))

    # --- amount ----------------------------------------------------------------------------

    def _ask_amount(self) -> None:
        self._attempts[Field.AMOUNT] = 1
        if self._rules.balance is None:
            self._ask_entry(Field.AMOUNT)
        else:
            self._ask_amount_choice(partial=self._config.amount.allow_partial)

    def _ask_amount_choice(self, partial: bool, lead: Sequence[Utterance] = ()) -> None:
        balance = self._rules.balance
        assert balance is not None
        choice = "pay_full_or_other" if partial else "press_1_to_pay_amount"
        self._phase = _AmountChoice(partial)
        self._emit(self._field_requested(Field.AMOUNT))
        self._prompt([*lead, Prompt("amount_due_is"), say_amount(balance), Prompt(choice)])

    # --- asking ----------------------------------------------------------------------------

    def _ask_entry(self, field: Field, lead: Sequence[Utterance] = ()) -> None:
        self._phase = _Entry(field)
        self._emit(self._field_requested(field))
        self._prompt([*lead, self._rules.prompt(field, self._brand())])

    def _field_requested(self, field: Field) -> Progress:
        return Progress(
            ProgressKind.FIELD_REQUESTED,
            field=field,
            attempt=self._attempts[field],
            max_attempts=self._rules.field_config(field).max_attempts,
            fields_remaining=self._fields_remaining(field),
        )

    def _fields_remaining(self, current: Field) -> tuple[Field, ...]:
        """The field being asked and those still to come (before the card is known, the
        fields most brands need)."""
        if current in (Field.AMOUNT, Field.CARD_NUMBER):
            later = [Field(f) for f in self._config.card_fields]
            order = [Field.AMOUNT, Field.CARD_NUMBER, *sorted(later, key=list(Field).index)]
            return tuple(order[order.index(current) :])
        return (current, *self._todo)

    def _prompt(self, utterances: Sequence[Utterance]) -> None:
        """Ask for keys: the prompt (after the greeting, the first time) may be barged into."""
        self._clear_keys()
        self._deadline = None
        play_id, actions = self._speaker.say([*self._intro, *utterances], Kind.PROMPT)
        self._intro = ()
        self._prompt_id = play_id
        self._out.extend(actions)

    def _retry(self, field: Field, error: ErrorType | None, lead: Sequence[Utterance]) -> None:
        """Count a failed or abandoned entry of ``field``; ask again, or give up."""
        if error is not None:
            self._error_type = error
            self._emit(
                Progress(
                    ProgressKind.FIELD_REJECTED,
                    field=field,
                    error=error,
                    attempt=self._attempts[field],
                )
            )
        self._attempts[field] += 1
        if self._attempts[field] > self._rules.field_config(field).max_attempts:
            self._end(Result.TOO_MANY_FAILED_ATTEMPTS, [Prompt("too_many_attempts")], error)
            return
        phase = self._phase
        if isinstance(phase, _AmountChoice):
            self._ask_amount_choice(phase.partial, lead)
        elif isinstance(phase, _Confirm) and error is not None:
            # No answer or a wrong key: read the entry back again rather than re-enter it.
            self._ask_confirmation(phase.field, phase.value, lead)
        else:
            if isinstance(phase, _Confirm):
                self._wipe_value(phase.value)
            self._ask_entry(field, lead)

    # --- keys and timers -------------------------------------------------------------------

    def _on_key(self, key: str) -> None:
        phase = self._phase
        if not isinstance(phase, _Entry | _Confirm | _AmountChoice):
            return  # nothing is being asked: keys during processing or a goodbye mean nothing
        if key in self._config.escape_digits and not self._is_decimal_point(key, phase):
            self._out.extend(self._speaker.barge_in())
            self._cancel(ErrorType.CANCELLED_BY_CALLER)
            return
        if isinstance(phase, _Entry):
            self._on_entry_key(phase.field, key)
        else:
            self._on_menu_key(phase, key)

    def _is_decimal_point(self, key: str, phase: _Phase) -> bool:
        # "*" after some digits of an amount is its decimal point; "*" first still cancels.
        return (
            key == "*"
            and isinstance(phase, _Entry)
            and phase.field is Field.AMOUNT
            and self._config.amount.entry == "decimal_point"
            and bool(self._keys)
        )

    def _on_entry_key(self, field: Field, key: str) -> None:
        if key in "ABCD" or (key == "*" and not self._is_decimal_point(key, self._phase)):
            return
        self._out.extend(self._speaker.barge_in())
        if key == "#":
            self._submit(field)
            return
        self._keys.append(ord(key))
        self._emit(
            Progress(ProgressKind.DIGITS_ENTERED, field=field, digits_entered=len(self._keys))
        )
        self._deadline = self._now + self._rules.field_config(field).inter_digit_timeout
        if len(self._keys) >= self._rules.complete_length(field, self._keys, self._brand()):
            self._submit(field)

    def _on_menu_key(self, phase: _Confirm | _AmountChoice, key: str) -> None:
        if key == "#":
            return
        self._out.extend(self._speaker.barge_in())
        field = phase.field if isinstance(phase, _Confirm) else Field.AMOUNT
        if key == "1":
            if isinstance(phase, _Confirm):
                self._accept(phase.value)
            else:
                assert self._rules.balance is not None
                self._accept(self._rules.balance)
        elif key == "2" and isinstance(phase, _Confirm):
            self._retry(field, None, ())
        elif key == "2" and isinstance(phase, _AmountChoice) and phase.partial:
            self._ask_entry(Field.AMOUNT)
        else:
            self._retry(field, ErrorType.INVALID_CHOICE, [Prompt("invalid_choice")])

    def _on_playback_finished(self, play_id: int) -> None:
        self._out.extend(self._speaker.finished(play_id))
        phase = self._phase
        collecting = isinstance(phase, _Entry | _Confirm | _AmountChoice)
        if play_id == self._prompt_id and collecting and not self._keys:
            timeout = self._rules.field_config(self._asked_field()).first_digit_timeout
            self._deadline = self._now + timeout
        elif isinstance(phase, _Charging) and self._deadline is None and self._speaker.idle:
            # Hold audio ended by itself before the gateway answered: keep the caller company.
            self._start_hold()

    def _asked_field(self) -> Field:
        phase = self._phase
        if isinstance(phase, _Entry | _Confirm):
            return phase.field
        return Field.AMOUNT

    def _on_timer(self) -> None:
        if self._deadline is None or self._now < self._deadline:
            return
        self._deadline = None
        phase = self._phase
        if isinstance(phase, _Charging):
            self._start_hold()
        elif isinstance(phase, _Entry) and self._keys:
            self._submit(phase.field)
        elif isinstance(phase, _Entry | _Confirm | _AmountChoice):
            self._retry(self._asked_field(), ErrorType.NO_INPUT, [Prompt("no_input")])

    def _start_hold(self) -> None:
        _play_id, actions = self._speaker.hold()
        self._out.extend(actions)

    # --- entries ---------------------------------------------------------------------------

    def _submit(self, field: Field) -> None:
        """The entry is complete: check it, then read it back or take it."""
        self._deadline = None
        try:
            value = self._rules.parse(field, self._keys, self._brand())
        finally:
            self._clear_keys()
        if isinstance(value, ErrorType):
            self._retry(field, value, self._rules.refusal(value))
        elif self._rules.field_config(field).read_back == "none":
            self._accept(value)
        else:
            self._ask_confirmation(field, value)

    def _ask_confirmation(
        self,
        field: Field,
        value: EntryValue,
        lead: Sequence[Utterance] = (),
    ) -> None:
        self._phase = _Confirm(field, value)
        self._emit(Progress(ProgressKind.CONFIRMATION_REQUESTED, field=field))
        self._prompt([*lead, *self._rules.read_back(field, value), Prompt("confirm_or_reenter")])

    def _accept(self, value: EntryValue) -> None:
        if isinstance(value, Money):
            self._amount = value
            self._emit(
                Progress(
                    ProgressKind.FIELD_ACCEPTED,
                    field=Field.AMOUNT,
                    amount=value.decimal(),
                    currency=value.currency,
                )
            )
            self._todo = [Field.CARD_NUMBER]
        elif isinstance(value, CardNumber):
            self._card = value
            self._card_brand, self._card_last4 = value.brand.id, value.last4
            self._todo = [Field(f) for f in self._config.fields_for(value.brand.id)]
            self._emit(
                Progress(
                    ProgressKind.FIELD_ACCEPTED,
                    field=Field.CARD_NUMBER,
                    card_brand=self._card_brand,
                    card_last4=self._card_last4,
                    fields_remaining=tuple(self._todo),
                )
            )
        else:
            field = self._store_card_detail(value)
            self._emit(
                Progress(
                    ProgressKind.FIELD_ACCEPTED, field=field, fields_remaining=tuple(self._todo)
                )
            )
        self._next_field()

    def _store_card_detail(self, value: Expiry | SecurityCode | str) -> Field:
        if isinstance(value, Expiry):
            self._expiry = value
            return Field.EXPIRY
        if isinstance(value, SecurityCode):
            self._cvv = value
            return Field.CVV
        self._postal_code = value
        return Field.POSTAL_CODE

    def _next_field(self, lead: Sequence[Utterance] = ()) -> None:
        if not self._todo:
            self._charge()
            return
        field = self._todo.pop(0)
        self._attempts[field] = 1
        self._ask_entry(field, lead)

    # --- charge ----------------------------------------------------------------------------

    def _charge(self) -> None:
        assert self._card is not None
        assert self._amount is not None
        self._charge_attempts += 1
        number = self._charge_attempts
        attempt_id = f"{self.session_id}-{number}"
        card = CardDetails(
            # Copies: the gateway may wipe what it is given while a re-entry still needs ours.
            number=self._card.copy(),
            expiry=self._expiry,
            cvv=self._cvv.copy() if self._cvv else None,
            postal_code=self._postal_code,
        )
        request = ChargeRequest(
            attempt_id=attempt_id,
            idempotency_key=f"paymentd-{attempt_id}",
            session_id=self.session_id,
            call_uuid=self._call.call_uuid,
            amount=self._amount,
            card=card,
            account_id=self._call.label("paymentd_account_id"),
            reference=self._call.label("paymentd_reference"),
            mode=self._call.mode.value,
            moto=True,
        )
        self._phase = _Charging(attempt_id, card)
        self._prompt_id = None
        self._emit(Progress(ProgressKind.PROCESSING, attempt=number))
        self._say([Prompt("processing")])
        self._emit(Charge(request))
        self._deadline = self._now + self._config.hold_after_seconds

    def _on_charge_answered(self, attempt_id: str, outcome: ChargeOutcome) -> None:
        phase = self._phase
        if not isinstance(phase, _Charging) or phase.attempt_id != attempt_id:
            raise UnexpectedInput(f"an answer to attempt {attempt_id!r}, which is not in flight")
        phase.card.wipe()
        self._deadline = None
        self._out.extend(self._speaker.interrupt({Kind.HOLD}))
        if self._hung_up or self._failure is not None:
            self._answer_without_dialogue(outcome)
            return
        match outcome:
            case Approved(confirmation_code=code):
                self._confirmation_code = code
                self._end(
                    Result.SUCCESS,
                    [Prompt("payment_approved"), Prompt("your_reference_is"), SayCharacters(code)],
                )
            case Declined(reason=reason):
                self._on_declined(reason)
            case Failed():
                self._end(
                    Result.PAYMENT_CONNECTOR_ERROR,
                    [Prompt("payment_connector_error")],
                    ErrorType.GATEWAY_FAILED,
                )
            case Unknown():
                self._end(
                    Result.UNKNOWN_OUTCOME, [Prompt("outcome_unknown")], ErrorType.OUTCOME_UNKNOWN
                )

    def _answer_without_dialogue(self, outcome: ChargeOutcome) -> None:
        """The caller hung up or the driver failed while the charge was in flight: record the
        answer. The result never hides money that moved, or may have."""
        if isinstance(outcome, Approved):
            self._confirmation_code = outcome.confirmation_code
            self._end(Result.SUCCESS, [])
        elif isinstance(outcome, Unknown):
            self._end(Result.UNKNOWN_OUTCOME, [], ErrorType.OUTCOME_UNKNOWN)
        else:
            if isinstance(outcome, Declined):
                self._declines += 1
                self._error_type = outcome.reason.value
            result = Result.CALLER_HUNG_UP if self._hung_up else Result.INTERNAL_ERROR
            self._end(result, [], self._failure)

    def _on_declined(self, reason: DeclineReason) -> None:
        self._declines += 1
        self._error_type = reason.value
        self._emit(
            Progress(ProgressKind.DECLINED, error=reason.value, decline_count=self._declines)
        )
        said: list[Utterance] = [Prompt(_DECLINE_PROMPTS.get(reason, "payment_declined"))]
        if self._cancel_requested:
            self._end(
                Result.CALLER_CANCELLED,
                [*said, Prompt("payment_cancelled")],
                ErrorType.CANCELLED_BY_AGENT,
            )
            return
        if self._declines >= self._config.max_declines:
            self._end(Result.DECLINED, [*said, Prompt("max_declines")], reason.value)
            return
        assert self._card is not None
        fields = {Field(f) for f in self._config.fields_for(self._card.brand.id)}
        if reason is DeclineReason.INCORRECT_CVC and Field.CVV in fields:
            self._wipe_value(self._cvv)
            self._cvv = None
            self._todo = [Field.CVV]
        elif reason is DeclineReason.EXPIRED_CARD and Field.EXPIRY in fields:
            self._expiry = None
            self._todo = [Field.EXPIRY]
        else:
            self._wipe_card()
            said.append(Prompt("try_another_card"))
            self._todo = [Field.CARD_NUMBER]
        self._next_field(said)

    # --- endings ---------------------------------------------------------------------------

    def _cancel(self, error: ErrorType) -> None:
        self._end(Result.CALLER_CANCELLED, [Prompt("payment_cancelled")], error)

    def _on_agent_cancelled(self) -> None:
        phase = self._phase
        if isinstance(phase, _Charging):
            self._cancel_requested = True  # the charge cannot be called back; its answer decides
        elif isinstance(phase, _Entry | _Confirm | _AmountChoice):
            self._out.extend(self._speaker.interrupt(set(Kind)))
            self._cancel(ErrorType.CANCELLED_BY_AGENT)

    def _on_hang_up(self) -> None:
        self._hung_up = True
        self._speaker.silence()
        phase = self._phase
        if isinstance(phase, _Charging):
            self._deadline = None  # no hold audio for nobody; wait for the answer
        elif isinstance(phase, _Ending):
            pass  # the result is decided; the call just will not hear the last words
        else:
            self._end(Result.CALLER_HUNG_UP, [], self._error_type)

    def _on_internal_failure(self, error_type: str) -> None:
        self._speaker.silence()
        phase = self._phase
        if isinstance(phase, _Charging):
            self._failure = error_type
            self._deadline = None
        elif not isinstance(phase, _Ending):
            self._end(Result.INTERNAL_ERROR, [], error_type)

    def _end(self, result: Result, said: Sequence[Utterance], error: str | None = None) -> None:
        """The result is decided: say the last words, then set variables and leave."""
        if error is not None:
            self._error_type = error
        self._wipe_card()
        self._emit(Progress(ProgressKind.FINISHED, result=result, error=self._error_type))
        route = None if self._hung_up else self._route_for(result)
        self._close(result, route, said, self._output_variables(result))

    def _close(
        self,
        result: Result | None,
        route: Route | None,
        said: Sequence[Utterance],
        variables: tuple[tuple[str, str], ...],
    ) -> None:
        if isinstance(self._phase, _Confirm):
            self._wipe_value(self._phase.value)
        self._phase = _Ending(result, route, variables)
        self._deadline = None
        self._clear_keys()
        farewell = {"agent": "returning_to_agent", "transfer": "transferring", "hangup": "goodbye"}
        last_words = list(said)
        if route is not None and route.action in farewell:
            last_words.append(Prompt(farewell[route.action]))
        if last_words:
            self._say(last_words)

    def _finish(self, ending: _Ending) -> None:
        route = ending.route
        if not self._hung_up and route is not None:
            self._emit(SetVariables(ending.variables))
            self._emit(self._leave(route))
        self._phase = _Waiting()
        self._finished = True
        self._outcome = SessionOutcome(
            result=ending.result,
            session_id=self.session_id,
            variables=ending.variables,
            error_type=self._error_type,
            confirmation_code=self._confirmation_code,
            card_brand=self._card_brand,
            card_last4=self._card_last4,
            amount=self._amount,
            decline_count=self._declines,
            charge_attempts=self._charge_attempts,
            hung_up=self._hung_up,
            route=None if self._hung_up else route,
        )
        self._emit(Finished(self._outcome))

    @staticmethod
    def _leave(route: Route) -> Action:
        if route.action == "transfer":
            return Transfer(route.extension, route.context, route.dialplan)
        if route.action == "hangup":
            return Hangup()
        if route.action == "agent":
            return ReturnToAgent()
        return Resume()

    def _agent_routes(self) -> bool:
        return self._call.mode is Mode.AGENT and self._call.return_to_agent

    def _route_for(self, result: Result) -> Route:
        routes = self._config.routes
        if not self._agent_routes():
            route: Route = getattr(routes.automated, result.route_key)
            return route
        route = getattr(routes.agent, result.route_key)
        if route.action == "agent" and self._agent_gone:
            return routes.agent.agent_gone
        return route

    def _output_variables(self, result: Result) -> tuple[tuple[str, str], ...]:
        amount = self._amount or self._rules.balance
        values = {
            "paymentd_result": result.value,
            "paymentd_session_id": self.session_id,
            "paymentd_confirmation_code": self._confirmation_code or "",
            "paymentd_card_brand": self._card_brand or "",
            "paymentd_card_last4": self._card_last4 or "",
            "paymentd_amount": amount.decimal() if amount else "",
            "paymentd_currency": self._rules.currency,
            "paymentd_decline_count": str(self._declines),
            "paymentd_error_type": self._error_type or "",
        }
        return tuple((name, values[name]) for name in OUTPUT_VARIABLES)

    # --- helpers ---------------------------------------------------------------------------

    def _brand(self) -> CardBrand | None:
        return self._card.brand if self._card else None

    def _emit(self, action: Action) -> None:
        self._out.append(action)

    def _say(self, utterances: Sequence[Utterance]) -> None:
        _play_id, actions = self._speaker.say(utterances, Kind.INFO)
        self._out.extend(actions)

    def _clear_keys(self) -> None:
        self._keys[:] = bytes(len(self._keys))
        self._keys.clear()

    @staticmethod
    def _wipe_value(value: object) -> None:
        if isinstance(value, CardNumber | SecurityCode):
            value.wipe()

    def _wipe_card(self) -> None:
        """Forget the card (brand and last 4 stay: they are reported)."""
        for value in (self._card, self._cvv):
            self._wipe_value(value)
        self._card = self._expiry = self._cvv = self._postal_code = None
