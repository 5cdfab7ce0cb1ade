"""The simulator's wire layer: FreeSWITCH's packet reader and its encodings."""

from __future__ import annotations

import json

import pytest

from paymentd.testing.wire import (
    ContentLengthRejected,
    PacketReader,
    api_response,
    disconnect_notice,
    event_frame,
    linger_notice,
    serialize_json,
    serialize_plain,
    url_encode,
)


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        # Values as they appear in the captures.
        ("+OK\n", "%2BOK%0A"),
        ("fd00::2", "fd00%3A%3A2"),
        ("127.0.0.1:8084 async full", "127.0.0.1%3A8084%20async%20full"),
        ("(\\d+)", "(%5Cd%2B)"),
        ("{loopback_bowout=false}loopback/7778", "%7Bloopback_bowout%3Dfalse%7Dloopback/7778"),
        (
            "/usr/freeswitch/share/freeswitch/sounds/esl_test/hello_8k.wav",
            "/usr/freeswitch/share/freeswitch/sounds/esl_test/hello_8k.wav",
        ),
        ("Fri, 27 Nov 2026 14:20:16 GMT", "Fri,%2027%20Nov%202026%2014%3A20%3A16%20GMT"),
        ("#", "%23"),
        ("*", "*"),
        # An existing upper-case escape is kept; a lower-case one is not an escape.
        ("100%41", "100%41"),
        ("100%4a", "100%254a"),
        ("50%", "50%25"),
        # Bytes above ASCII and control bytes.
        ("café", "caf%C3%A9"),
        ("a\rb\x7f", "a%0Db%7F"),
    ],
)
def test_url_encode_like_freeswitch(value: str, encoded: str) -> None:
    assert url_encode(value) == encoded


def test_plain_event_serialization() -> None:
    headers = [("Event-Name", "DTMF"), ("DTMF-Digit", "#"), ("Empty", "")]
    assert (
        serialize_plain(headers, None) == b"Event-Name: DTMF\nDTMF-Digit: %23\nEmpty: _undef_\n\n"
    )
    # With a body the inner Content-Length comes last and no blank line follows the body.
    assert (
        serialize_plain([("Job-UUID", "x")], "+OK\n") == b"Job-UUID: x\nContent-Length: 4\n\n+OK\n"
    )


def test_json_keeps_duplicate_headers_and_raw_values() -> None:
    headers = [
        ("Hangup-Cause", "NORMAL_CLEARING"),
        ("Caller-Callee-ID-Name", "Outbound Call"),
        ("Hangup-Cause", "NORMAL_CLEARING"),
    ]
    data = serialize_json(headers, "body")
    assert data.count(b'"Hangup-Cause"') == 2
    assert json.loads(data, object_pairs_hook=list) == [
        *headers,
        ("Content-Length", "4"),
        ("_body", "body"),
    ]


def test_frames_and_notices() -> None:
    assert (
        event_frame(b"X: y\n\n", "plain")
        == b"Content-Length: 6\nContent-Type: text/event-plain\n\nX: y\n\n"
    )
    assert api_response("") == b"Content-Type: api/response\nContent-Length: 14\n\n-ERR no reply\n"
    assert linger_notice("u", "loopback/7777-b", -1) == (
        b"Content-Type: text/disconnect-notice\nControlled-Session-UUID: u\n"
        b"Content-Disposition: linger\nChannel-Name: loopback/7777-b\nLinger-Time: -1\n"
        b"Content-Length: 0\n\n"
    )
    assert disconnect_notice(None) == (
        b"Content-Type: text/disconnect-notice\nContent-Length: 67\n\n"
        b"Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"
    )


SENDMSG = (
    b"sendmsg\ncall-command: execute\nexecute-app-name: set\ncontent-type: text/plain\n"
    b"content-length: 13\n\npay_ref=a b c"
)


@pytest.mark.parametrize("split", range(1, len(SENDMSG)))
def test_packet_reader_at_every_split_point(split: int) -> None:
    reader = PacketReader()
    reader.feed(SENDMSG[:split])
    first = reader.next_packet()
    reader.feed(SENDMSG[split:])
    packet = first or reader.next_packet()
    assert packet is not None
    assert packet.line == "sendmsg"
    assert packet.get("EXECUTE-APP-NAME") == "set"
    assert packet.body == "pay_ref=a b c"
    # The whole header block is the Command, as FreeSWITCH keeps it.
    assert packet.command.startswith("sendmsg\ncall-command: execute\n")
    assert packet.command.endswith("content-length: 13\n\n")


def test_packet_reader_quirks() -> None:
    reader = PacketReader()
    # CR/LF before a packet are skipped; values keep everything after the leading spaces;
    # a line without a colon is ignored; CRLF works.
    reader.feed(b"\r\n\nsendmsg\r\ncall-command:   execute \r\nno colon here\r\nx: a: b\r\n\r\n")
    packet = reader.next_packet()
    assert packet is not None
    assert packet.headers == (("call-command", "execute "), ("x", "a: b"))
    assert reader.idle
    # Mixed endings: FreeSWITCH looks for the next CR before any LF, so every line
    # ending in LF before a later CR is swallowed (here: all of them).
    reader.feed(b"sendmsg\ncall-command: execute\nexecute-app-name: answer\r\n\r\n")
    packet = reader.next_packet()
    assert packet is not None
    assert packet.line == "sendmsg"
    assert packet.headers == ()


@pytest.mark.parametrize("length", [b"-1", b"16777217"])
def test_content_length_out_of_range_is_rejected(length: bytes) -> None:
    reader = PacketReader()
    reader.feed(b"sendevent CUSTOM\nContent-Length: " + length + b"\n\n")
    with pytest.raises(ContentLengthRejected):
        reader.next_packet()


def test_body_waits_for_all_its_bytes() -> None:
    reader = PacketReader()
    reader.feed(b"sendevent CUSTOM\ncontent-length: 5\n\nab")
    assert reader.next_packet() is None
    assert not reader.idle
    reader.feed(b"cde\n\nexit\n\n")
    packet = reader.next_packet()
    assert packet is not None
    assert packet.body == "abcde"
    follow = reader.next_packet()
    assert follow is not None
    assert follow.line == "exit"
