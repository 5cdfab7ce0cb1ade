"""The frame parser on hand-made frames: types, bodies, bounds and malformed input."""

from __future__ import annotations

import json

import pytest

from paymentd.esl import (
    ApiResponse,
    AuthRequest,
    BackgroundJob,
    ChannelExecute,
    ChannelExecuteComplete,
    ChannelHangup,
    ChannelHangupComplete,
    CommandReply,
    DisconnectNotice,
    Dtmf,
    Event,
    FrameParser,
    MappingHeaders,
    Message,
    RemoteProtocolError,
    UnknownMessage,
)


def plain_event(*lines: str, body: bytes | None = None) -> bytes:
    """An event as FreeSWITCH frames it: Content-Length counts the block's blank line."""
    inner = "".join(f"{line}\n" for line in lines).encode()
    if body is not None:
        inner += f"Content-Length: {len(body)}\n\n".encode() + body
    else:
        inner += b"\n"
    return b"Content-Length: %d\nContent-Type: text/event-plain\n\n" % len(inner) + inner


def json_event(data: object) -> bytes:
    body = json.dumps(data).encode()
    return b"Content-Length: %d\nContent-Type: text/event-json\n\n" % len(body) + body


def event_frame(inner: bytes) -> bytes:
    """A plain event whose body is exactly ``inner``."""
    return b"Content-Length: %d\nContent-Type: text/event-plain\n\n" % len(inner) + inner


def parse(data: bytes, **limits: int) -> list[Message]:
    parser = FrameParser(**limits)
    parser.feed(data)
    out = []
    while (message := parser.next_message()) is not None:
        out.append(message)
    return out


def one(data: bytes) -> Message:
    (message,) = parse(data)
    return message


def test_command_reply() -> None:
    reply = one(b"Content-Type: command/reply\nReply-Text: +OK Job-UUID: j1\nJob-UUID: j1\n\n")
    assert isinstance(reply, CommandReply)
    assert reply.ok
    assert reply.reply_text == "+OK Job-UUID: j1"
    assert reply.job_uuid == "j1"


def test_error_reply_is_not_ok() -> None:
    reply = one(b"Content-Type: command/reply\nReply-Text: -ERR command not found\n\n")
    assert isinstance(reply, CommandReply)
    assert not reply.ok


def test_api_response_body_is_exact_bytes() -> None:
    body = b"UP 0 years\n\nline after a blank line\nContent-Type: text/event-plain\n"
    message = one(b"Content-Type: api/response\nContent-Length: %d\n\n" % len(body) + body)
    assert isinstance(message, ApiResponse)
    assert message.body == body
    assert message.ok
    bare = one(b"Content-Type: api/response\nContent-Length: 5\n\nfalse")
    assert isinstance(bare, ApiResponse)
    assert bare.text == "false"
    error = one(b"Content-Type: api/response\nContent-Length: 18\n\n-USAGE: <uuid> x\n\n")
    assert isinstance(error, ApiResponse)
    assert not error.ok


def test_auth_request() -> None:
    assert isinstance(one(b"Content-Type: auth/request\n\n"), AuthRequest)


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("DTMF", Dtmf),
        ("CHANNEL_EXECUTE", ChannelExecute),
        ("CHANNEL_EXECUTE_COMPLETE", ChannelExecuteComplete),
        ("CHANNEL_HANGUP", ChannelHangup),
        ("CHANNEL_HANGUP_COMPLETE", ChannelHangupComplete),
        ("BACKGROUND_JOB", BackgroundJob),
        ("CHANNEL_STATE", Event),
        ("CUSTOM", Event),
    ],
)
def test_events_are_typed_by_name(name: str, cls: type[Event]) -> None:
    event = one(plain_event(f"Event-Name: {name}", "Unique-ID: u1"))
    assert type(event) is cls
    assert event.name == name
    assert event.unique_id == "u1"
    assert event.body is None


def test_an_encoded_event_name_is_decoded_before_typing() -> None:
    event = one(plain_event("Event-Name: CHANNEL%5FEXECUTE%5FCOMPLETE"))
    assert type(event) is ChannelExecuteComplete
    event = one(plain_event("Event-Name:  DTMF"))
    assert type(event) is Dtmf
    event = one(plain_event("Core-UUID: c", "event-name: DTMF"))
    assert type(event) is Dtmf


def test_event_without_event_name() -> None:
    # sendevent re-fired by the session arrives without Event-Name (corpus 07).
    event = one(plain_event("Event-Subclass: paymentd%3A%3Asegment", "Unique-ID: u"))
    assert type(event) is Event
    assert event.name == ""
    assert event.subclass == "paymentd::segment"


def test_typed_views() -> None:
    dtmf = one(plain_event("Event-Name: DTMF", "DTMF-Digit: %23", "DTMF-Duration: 2000"))
    assert isinstance(dtmf, Dtmf)
    assert (dtmf.digit, dtmf.duration, dtmf.source) == ("#", 2000, None)
    complete = one(
        plain_event(
            "Event-Name: CHANNEL_EXECUTE_COMPLETE",
            "Event-Sequence: 42",
            "Application: playback",
            "Application-Data: /tmp/a%20b.wav",
            "Application-Response: FILE%20PLAYED",
            "Application-UUID: 3f0c",
            "variable_playback_ms: 2048",
        )
    )
    assert isinstance(complete, ChannelExecuteComplete)
    assert complete.application == "playback"
    assert complete.application_data == "/tmp/a b.wav"
    assert complete.application_response == "FILE PLAYED"
    assert complete.application_uuid == "3f0c"
    assert complete.sequence == 42
    assert complete.variable("playback_ms") == "2048"
    hangup = one(plain_event("Event-Name: CHANNEL_HANGUP", "Hangup-Cause: NORMAL_CLEARING"))
    assert isinstance(hangup, ChannelHangup)
    assert hangup.hangup_cause == "NORMAL_CLEARING"


def test_numeric_views_ignore_what_is_not_an_ascii_number() -> None:
    # "²" and "٣" are str.isdigit() but int() refuses "²": a view must not raise.
    for value in ("%C2%B2", "%D9%A3", "12a", "", "-1", "%FF"):
        event = one(
            plain_event("Event-Name: DTMF", f"Event-Sequence: {value}", f"DTMF-Duration: {value}")
        )
        assert isinstance(event, Dtmf)
        assert event.sequence is None
        assert event.duration is None


def test_background_job_inner_body() -> None:
    output = b"+OK 7f4d\n"
    job = one(
        plain_event(
            "Event-Name: BACKGROUND_JOB", "Job-UUID: j1", "Job-Command: originate", body=output
        )
    )
    assert isinstance(job, BackgroundJob)
    assert job.body == output
    assert job.text == "+OK 7f4d\n"
    assert job.job_uuid == "j1"
    assert job.job_command == "originate"
    assert job.ok


def test_inner_body_cannot_add_or_override_headers() -> None:
    # An api output is raw text that may quote caller-controlled data.
    output = b"-ERR no\nJob-UUID: forged\nEvent-Name: DTMF\n\nDTMF-Digit: 1\n"
    job = one(plain_event("Event-Name: BACKGROUND_JOB", "Job-UUID: j1", body=output))
    assert isinstance(job, BackgroundJob)
    assert job.job_uuid == "j1"
    assert job.headers.get_all("Job-UUID") == ["j1"]
    assert job.headers.get("DTMF-Digit") is None
    assert not job.ok
    assert job.body == output


def test_inner_body_shorter_than_announced_is_taken_as_far_as_it_goes() -> None:
    # The frame around it was whole, so the stream is in step: failing the
    # connection would only drop a live call.  FreeSWITCH never does this.
    inner = b"Event-Name: BACKGROUND_JOB\nJob-UUID: j1\nContent-Length: 50\n\nshort"
    job, after = parse(event_frame(inner) + plain_event("Event-Name: HEARTBEAT"))
    assert isinstance(job, BackgroundJob)
    assert job.body == b"short"
    assert job.job_uuid == "j1"
    assert isinstance(after, Event)
    assert after.name == "HEARTBEAT"


def test_inner_body_longer_than_announced_is_cut_to_its_length() -> None:
    job = one(event_frame(b"Event-Name: BACKGROUND_JOB\nContent-Length: 2\n\n+OK"))
    assert isinstance(job, BackgroundJob)
    assert job.body == b"+O"


def test_inner_body_with_an_unreadable_length_is_what_follows() -> None:
    job = one(event_frame(b"Event-Name: BACKGROUND_JOB\nContent-Length: 2x\n\n+OK\n"))
    assert isinstance(job, BackgroundJob)
    assert job.body == b"+OK\n"


def test_a_blank_line_without_content_length_does_not_end_the_headers() -> None:
    # FreeSWITCH writes a blank line inside an event only before the body that its
    # Content-Length announces; elsewhere an empty line carries nothing.
    event = one(plain_event("Event-Name: CUSTOM", "A: 1", "", "B: 2"))
    assert isinstance(event, Event)
    assert event.headers.get("B") == "2"
    assert event.headers.keys() == ["Event-Name", "A", "B"]
    assert event.body is None


def test_the_block_ends_at_the_blank_line_after_content_length() -> None:
    output = b"Unique-ID: forged\n\nB: 3\n"
    job = one(plain_event("Event-Name: BACKGROUND_JOB", "A: 1", body=output))
    assert isinstance(job, BackgroundJob)
    assert job.unique_id is None
    assert job.headers.get("B") is None
    assert job.headers.keys() == ["Event-Name", "A", "Content-Length"]
    assert job.headers.raw.endswith(b"Content-Length: %d" % len(output))
    assert job.body == output


def test_crlf_event_with_a_body() -> None:
    inner = b"Event-Name: BACKGROUND_JOB\r\nJob-UUID: j1\r\nContent-Length: 4\r\n\r\n+OK\n"
    job = one(event_frame(inner))
    assert isinstance(job, BackgroundJob)
    assert job.job_uuid == "j1"
    assert job.headers.get("Content-Length") == "4"
    assert job.body == b"+OK\n"
    assert job.headers.keys() == ["Event-Name", "Job-UUID", "Content-Length"]


def test_an_event_body_is_found_only_when_asked_for() -> None:
    job = one(plain_event("Event-Name: BACKGROUND_JOB", "Job-UUID: j1", body=b"+OK\n"))
    assert isinstance(job, BackgroundJob)
    assert job.headers._end < 0  # nothing past the first line read yet
    assert job.body == b"+OK\n"
    assert job.body is job.body


def test_inner_block_without_its_blank_line() -> None:
    inner = b"Event-Name: HEARTBEAT\nUp-Time: 5"
    frame = b"Content-Length: %d\nContent-Type: text/event-plain\n\n" % len(inner) + inner
    event = one(frame)
    assert event.name == "HEARTBEAT"  # type: ignore[union-attr]
    assert event.headers.get("Up-Time") == "5"  # type: ignore[union-attr]


def test_json_event_with_body() -> None:
    event = one(json_event({"Event-Name": "BACKGROUND_JOB", "Job-UUID": "j", "_body": "+OK x\n"}))
    assert isinstance(event, BackgroundJob)
    assert isinstance(event.headers, MappingHeaders)
    assert event.body == b"+OK x\n"
    assert "_body" not in event.headers
    dtmf = one(json_event({"Event-Name": "DTMF", "DTMF-Digit": "#", "Unique-ID": "u"}))
    assert isinstance(dtmf, Dtmf)
    assert dtmf.digit == "#"
    assert dtmf.body is None


def test_json_event_with_invalid_utf8_and_lone_surrogates() -> None:
    body = b'{"Event-Name": "DTMF", "Caller-Caller-ID-Name": "caf\xe9 \\ud800"}'
    event = one(b"Content-Length: %d\nContent-Type: text/event-json\n\n" % len(body) + body)
    assert isinstance(event, Dtmf)
    assert event.headers.get("Caller-Caller-ID-Name") == "caf\ufffd \ufffd"
    assert event.headers.get_bytes("Caller-Caller-ID-Name") == b"caf\xe9 \xef\xbf\xbd"


@pytest.mark.parametrize("body", [b"{", b"[1, 2]", b'"x"', b"\xff", b"[" * 100_000])
def test_malformed_json_event_is_a_protocol_error(body: bytes) -> None:
    frame = b"Content-Length: %d\nContent-Type: text/event-json\n\n" % len(body) + body
    with pytest.raises(RemoteProtocolError, match="JSON event"):
        parse(frame)


def test_linger_notice() -> None:
    notice = one(
        b"Content-Type: text/disconnect-notice\nControlled-Session-UUID: u1\n"
        b"Content-Disposition: linger\nChannel-Name: loopback/7777-b\nLinger-Time: 30\n"
        b"Content-Length: 0\n\n"
    )
    assert isinstance(notice, DisconnectNotice)
    assert notice.disposition == "linger"
    assert notice.linger_time == 30
    assert notice.controlled_session_uuid == "u1"
    assert not notice.closing
    assert notice.body == b""


def test_linger_forever_notice() -> None:
    notice = one(
        b"Content-Type: text/disconnect-notice\nContent-Disposition: linger\n"
        b"Linger-Time: -1\nContent-Length: 0\n\n"
    )
    assert isinstance(notice, DisconnectNotice)
    assert notice.linger_time == -1
    assert not notice.closing


def test_disconnect_notice() -> None:
    goodbye = b"Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"
    notice = one(
        b"Content-Type: text/disconnect-notice\nControlled-Session-UUID: u1\n"
        b"Content-Disposition: disconnect\nContent-Length: 67\n\n" + goodbye
    )
    assert isinstance(notice, DisconnectNotice)
    assert notice.disposition == "disconnect"
    assert notice.closing
    assert notice.body == goodbye
    inbound = one(b"Content-Type: text/disconnect-notice\nContent-Length: 67\n\n" + goodbye)
    assert isinstance(inbound, DisconnectNotice)
    assert inbound.disposition is None
    assert inbound.closing
    assert inbound.linger_time is None


def test_unknown_content_type_is_kept() -> None:
    message = one(b"Content-Type: log/data\nContent-Length: 3\n\nabc")
    assert isinstance(message, UnknownMessage)
    assert message.content_type == "log/data"
    assert message.body == b"abc"


def test_content_type_is_case_insensitive() -> None:
    assert isinstance(one(b"content-type: Command/Reply\nreply-text: +OK\n\n"), CommandReply)


def test_message_without_content_type_is_an_error() -> None:
    with pytest.raises(RemoteProtocolError, match="without a Content-Type"):
        parse(b"Reply-Text: +OK\n\n")


def test_blank_lines_between_messages_are_skipped() -> None:
    reply = b"Content-Type: command/reply\nReply-Text: +OK\n\n"
    assert len(parse(b"\n\n" + reply + b"\r\n\n" + reply + b"\n")) == 2


def test_crlf_framing() -> None:
    message = one(b"Content-Type: api/response\r\nContent-Length: 4\r\n\r\n+OK\n")
    assert isinstance(message, ApiResponse)
    assert message.body == b"+OK\n"
    inner = b"Event-Name: DTMF\r\nDTMF-Digit: 5\r\n\r\n"
    event = one(
        b"Content-Type: text/event-plain\r\nContent-Length: %d\r\n\r\n" % len(inner) + inner
    )
    assert isinstance(event, Dtmf)
    assert event.digit == "5"


def test_header_block_is_bounded() -> None:
    parser = FrameParser(max_header_bytes=1024)
    parser.feed(b"Content-Type: command/reply\nX: " + b"a" * 900)
    assert parser.next_message() is None
    parser.feed(b"a" * 200)
    with pytest.raises(RemoteProtocolError, match="header block exceeds 1024 bytes"):
        parser.next_message()


def test_complete_but_oversized_header_block_is_refused() -> None:
    with pytest.raises(RemoteProtocolError, match="exceeds 64 bytes"):
        parse(
            b"Content-Type: command/reply\nReply-Text: " + b"x" * 100 + b"\n\n", max_header_bytes=64
        )


def test_default_header_limit_is_64_kib() -> None:
    block = b"Content-Type: command/reply\nX: " + b"a" * (64 * 1024 - 40) + b"\n\n"
    assert isinstance(one(block), CommandReply)
    with pytest.raises(RemoteProtocolError, match="65536"):
        parse(block[:-2] + b"a" * 100 + b"\n\n")


def test_a_100_mb_content_length_is_refused_before_the_body() -> None:
    parser = FrameParser()
    parser.feed(b"Content-Type: api/response\nContent-Length: 104857600\n\n" + b"x" * 1000)
    with pytest.raises(RemoteProtocolError, match="Content-Length 104857600 exceeds the limit"):
        parser.next_message()
    assert parser.buffered < 2000


def test_content_length_limit_is_configurable() -> None:
    frame = b"Content-Type: api/response\nContent-Length: 11\n\n" + b"x" * 11
    assert isinstance(one(frame), ApiResponse)
    with pytest.raises(RemoteProtocolError, match="exceeds the limit of 10 bytes"):
        parse(frame, max_content_length=10)


@pytest.mark.parametrize("value", [b"-1", b"abc", b"1e3", b"+5", b"0x10", b"9" * 13, b"\xd9\xa3"])
def test_invalid_content_length(value: bytes) -> None:
    with pytest.raises(RemoteProtocolError, match="invalid Content-Length"):
        parse(b"Content-Type: api/response\nContent-Length: " + value + b"\n\nabc")


def test_body_waits_for_every_byte() -> None:
    parser = FrameParser()
    parser.feed(b"Content-Type: api/response\nContent-Length: 10\n\n12345")
    assert parser.next_message() is None
    assert parser.in_message
    parser.feed(b"6789")
    assert parser.next_message() is None
    parser.feed(b"0Content-Type: command/reply\nReply-Text: +OK\n\n")
    message = parser.next_message()
    assert isinstance(message, ApiResponse)
    assert message.body == b"1234567890"
    assert isinstance(parser.next_message(), CommandReply)
    assert parser.buffered == 0


def test_eof_in_the_middle_of_a_message() -> None:
    parser = FrameParser()
    parser.feed(b"Content-Type: comm")
    parser.feed_eof()
    assert parser.at_eof
    assert parser.next_message() is None
    assert parser.in_message
    with pytest.raises(RemoteProtocolError, match="after end of stream"):
        parser.feed(b"and/reply\n\n")


def test_eof_between_messages() -> None:
    parser = FrameParser()
    parser.feed(b"Content-Type: command/reply\nReply-Text: +OK\n\n\n")
    parser.feed_eof()
    assert isinstance(parser.next_message(), CommandReply)
    assert parser.next_message() is None
    assert not parser.in_message


def test_a_long_stream_does_not_keep_what_it_has_returned() -> None:
    parser = FrameParser()
    frame = plain_event("Event-Name: HEARTBEAT", "X: " + "y" * 2000)
    for _ in range(200):
        parser.feed(frame + frame[:1000])
        while parser.next_message() is not None:
            pass
        parser.feed(frame[1000:])
        while parser.next_message() is not None:
            pass
    assert parser.buffered == 0


def test_event_frames_obey_the_content_length_limit_too() -> None:
    frame = plain_event("Event-Name: HEARTBEAT", "X: " + "y" * 100)
    with pytest.raises(RemoteProtocolError, match="exceeds the limit of 50 bytes"):
        parse(frame, max_content_length=50)


def test_the_parser_keeps_no_reference_to_the_callers_buffer() -> None:
    # The asyncio adapter may reuse its read buffer (readinto); fed bytes are copied.
    frame = plain_event("Event-Name: DTMF", "DTMF-Digit: 7")
    parser = FrameParser()
    for chunk in (frame[:20], frame[20:40], frame[40:]):
        data = bytearray(chunk)
        parser.feed(data)
        data[:] = b"\xff" * len(data)
    event = parser.next_message()
    assert isinstance(event, Dtmf)
    assert event.digit == "7"
    whole = bytearray(frame * 2)
    parser.feed(memoryview(whole))
    whole[:] = b"\x00" * len(whole)
    assert [m.digit for m in (parser.next_message(), parser.next_message())] == ["7", "7"]  # type: ignore[union-attr]
