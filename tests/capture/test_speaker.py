from paymentd.capture.actions import Play, PlayHold, StopPlayback
from paymentd.capture.speaker import Kind, Speaker
from paymentd.speech.utterances import Prompt

HELLO = (Prompt("welcome"),)
BYE = (Prompt("goodbye"),)


def test_one_playback_at_a_time() -> None:
    speaker = Speaker()
    first, actions = speaker.say(HELLO, Kind.PROMPT)
    assert actions == [Play(first, HELLO)]
    second, actions = speaker.say(BYE, Kind.INFO)
    assert actions == []
    assert not speaker.idle
    assert speaker.finished(first) == [Play(second, BYE)]
    assert speaker.finished(second) == []
    assert speaker.idle


def test_barge_in_stops_a_prompt_once_and_drops_waiting_prompts() -> None:
    speaker = Speaker()
    first, _ = speaker.say(HELLO, Kind.PROMPT)
    speaker.say(HELLO, Kind.PROMPT)
    info, _ = speaker.say(BYE, Kind.INFO)
    assert speaker.barge_in() == [StopPlayback(first)]
    assert speaker.barge_in() == []
    assert speaker.finished(first) == [Play(info, BYE)]


def test_information_is_not_barged_into() -> None:
    speaker = Speaker()
    speaker.say(BYE, Kind.INFO)
    assert speaker.barge_in() == []


def test_hold_is_interrupted_by_kind() -> None:
    speaker = Speaker()
    processing, _ = speaker.say(HELLO, Kind.INFO)
    hold, actions = speaker.hold()
    assert actions == []
    assert speaker.finished(processing) == [PlayHold(hold)]
    assert speaker.interrupt({Kind.HOLD}) == [StopPlayback(hold)]


def test_stale_finish_and_silence() -> None:
    speaker = Speaker()
    first, _ = speaker.say(HELLO, Kind.PROMPT)
    assert speaker.finished(first + 5) == []
    speaker.silence()
    assert speaker.idle
    assert speaker.say(BYE, Kind.INFO)[1] == []
    assert speaker.finished(first) == []
