"""Header blocks: lazy, ordered, case-insensitive multi-maps; split into lines before decoding."""

from __future__ import annotations

import pytest

from paymentd.esl import MappingHeaders, WireHeaders


def wire(*lines: str | bytes, encoded: bool = True) -> WireHeaders:
    raw = [line.encode() if isinstance(line, str) else line for line in lines]
    return WireHeaders(b"\n".join(raw), encoded=encoded)


def test_lookup_is_case_insensitive() -> None:
    h = wire("Unique-ID: abc", "Event-Name: DTMF")
    assert h.get("unique-id") == h.get("UNIQUE-ID") == h["Unique-Id"] == "abc"
    assert "EVENT-name" in h
    assert h.get("Missing") is None
    assert h.get("Missing", "x") == "x"
    with pytest.raises(KeyError):
        h["Missing"]


def test_duplicates_keep_their_order_and_the_first_wins() -> None:
    h = wire("A: 1", "b: 2", "a: 3", "B: 4", "A: 5")
    assert h.get("a") == "1"
    assert h.get_all("A") == ["1", "3", "5"]
    assert h.get_all("B") == ["2", "4"]
    assert h.items() == [("A", "1"), ("b", "2"), ("a", "3"), ("B", "4"), ("A", "5")]
    assert h.keys() == ["A", "b", "a", "B", "A"]
    assert list(h) == h.keys()
    assert len(h) == 5
    assert h.to_dict() == {"A": "1", "b": "2", "a": "3", "B": "4"}


def test_a_later_exact_case_name_does_not_hide_an_earlier_other_case() -> None:
    h = wire("Event-Name: X", "unique-id: first", "Unique-ID: second", "UNIQUE-ID: third")
    assert h.get("Unique-ID") == "first"
    assert h.get_all("Unique-ID") == ["first", "second", "third"]


def test_first_line_in_another_case() -> None:
    h = wire("event-name: DTMF", "Event-Name: other")
    assert h.get("Event-Name") == "DTMF"


def test_values_are_unquoted_not_unquote_plussed() -> None:
    h = wire(
        "Plus: %2B",
        "Raw-Plus: a+b",
        "Mixed: a+b%20c%2B",
        "Space: a%20b",
        "Hash: %23",
        "Percent: 100%25",
    )
    assert h.get("Plus") == "+"
    assert h.get("Raw-Plus") == "a+b"
    assert h.get("Mixed") == "a+b c+"
    assert h.get("Space") == "a b"
    assert h.get("Hash") == "#"
    assert h.get("Percent") == "100%"


def test_bad_percent_escapes_stay_as_they_are() -> None:
    h = wire("A: %zz%4", "B: %")
    assert h.get("A") == "%zz%4"
    assert h.get("B") == "%"


def test_split_first_an_encoded_newline_cannot_create_a_header() -> None:
    # A caller sets their caller-ID name to "x\nvariable_x: y"; FreeSWITCH encodes it.
    for value in ("x%0Avariable_x: y", "x%0Avariable_x%3A%20y", "x%0D%0Avariable_x: y"):
        h = wire("Event-Name: CHANNEL_DATA", f"Caller-Caller-ID-Name: {value}", "Unique-ID: u")
        assert h.get("variable_x") is None
        assert "variable_x" not in h
        assert h.get_all("variable_x") == []
        assert [k for k, _ in h.items()] == ["Event-Name", "Caller-Caller-ID-Name", "Unique-ID"]
        decoded = h.get("Caller-Caller-ID-Name")
        assert decoded is not None
        assert "\n" in decoded
        assert decoded.replace("\r", "").endswith("variable_x: y")


def test_invalid_utf8_is_replaced_and_the_raw_bytes_stay_available() -> None:
    h = wire(b"Name: caf%E9 %FF", b"Raw: caf\xe9")
    assert h.get("Name") == "caf\ufffd \ufffd"
    assert h.get_bytes("Name") == b"caf\xe9 \xff"
    assert h.get("Raw") == "caf\ufffd"
    assert h.get_bytes("Raw") == b"caf\xe9"
    assert h.get_all_bytes("name") == [b"caf\xe9 \xff"]
    assert h.items_bytes()[0] == ("Name", b"caf\xe9 \xff")


def test_utf8_values_decode() -> None:
    h = wire("Caller-Caller-ID-Name: Jos%C3%A9%20%E6%9D%9C")
    assert h.get("Caller-Caller-ID-Name") == "José 杜"


def test_crlf_lines_are_accepted() -> None:
    h = WireHeaders(b"Content-Type: command/reply\r\nReply-Text: +OK\r\nX: a%0Db", encoded=True)
    assert h.get("Content-Type") == "command/reply"
    assert h.get("Reply-Text") == "+OK"
    assert h.get("X") == "a\rb"
    assert h.items() == [("Content-Type", "command/reply"), ("Reply-Text", "+OK"), ("X", "a\rb")]


def test_spaces_after_the_colon_are_skipped() -> None:
    h = wire("A:v", "B:   v", "C: ", "D:")
    assert [h.get(k) for k in "ABCD"] == ["v", "v", "", ""]


def test_the_first_colon_splits_name_and_value() -> None:
    h = wire("Name: a: b", "URL: http://x")
    assert h.get("Name") == "a: b"
    assert h.items() == [("Name", "a: b"), ("URL", "http://x")]


def test_a_name_that_no_line_can_carry_is_never_found() -> None:
    # "a:b: x" is the header "a" with the value "b: x"; "a:b" is not a header name.
    h = wire("a:b: x", "c", "d: 1")
    assert h.get("a:b") is None
    assert h.get("a") == "b: x"
    assert h.get("c\nd") is None
    assert h.get("c") is None
    assert h.get("É") is None
    assert h.get("\u2603") is None
    assert h.get("") is None


def test_lines_without_a_name_or_colon_are_ignored() -> None:
    h = wire("no colon here", ": no name", "A: 1")
    assert h.items() == [("A", "1")]
    assert h.get("no colon here") is None


def test_command_reply_values_are_not_decoded() -> None:
    h = wire("Reply-Text: +OK 50%25 %2B", encoded=False)
    assert h.get("Reply-Text") == "+OK 50%25 %2B"
    assert not h.encoded


def test_reinterpret_switches_the_encoding_rule() -> None:
    h = wire("Content-Type: command/reply", "Reply-Text: %2BOK%0A", encoded=False)
    assert h.get("Reply-Text") == "%2BOK%0A"
    decoded = h.reinterpret(encoded=True)
    assert decoded.get("Reply-Text") == "+OK\n"
    assert decoded.raw == h.raw


def test_raw_is_the_block_as_received() -> None:
    block = b"A: %20x\nB: y"
    assert WireHeaders(block, encoded=True).raw == block


@pytest.mark.parametrize("tail", [b"\n\n", b"\nB: 2", b"B:", b"\n\nB: 2\n"])
def test_a_block_that_ends_before_its_data(tail: bytes) -> None:
    # Plain events keep the blank line and their own body after the block.
    h = WireHeaders(b"A: 1" + tail, encoded=True, end=4)
    assert h.raw == b"A: 1"
    assert h.items() == [("A", "1")]
    assert h.get("A") == "1"
    assert h.get("B") is None
    assert h.get_all("B") == []
    assert h.reinterpret(encoded=False).get("B") is None


def test_a_name_cut_by_the_end_of_the_block_is_not_found() -> None:
    # The block is "A: 1\nB": its last line has no colon, whatever follows it.
    for data in (b"A: 1\nB:", b"A: 1\nB: ", b"A: 1\nB: 2"):
        h = WireHeaders(data, encoded=True, end=6)
        assert h.get("B") is None
        assert h.get_all("B") == []
        assert h.items() == [("A", "1")]


def test_empty_block() -> None:
    h = WireHeaders(b"", encoded=True)
    assert h.items() == []
    assert h.get("A") is None
    assert len(h) == 0


def test_repr_does_not_print_values() -> None:
    h = wire("Caller-Caller-ID-Number: 4111111111111111")
    assert "4111" not in repr(h)


def test_mapping_headers_from_json() -> None:
    h = MappingHeaders.from_mapping({"Event-Name": "DTMF", "Multi": ["a", "b"], "Num": 5})
    assert h.get("event-name") == "DTMF"
    assert h.get_all("multi") == ["a", "b"]
    assert h.get("Num") == "5"
    assert h.items() == [("Event-Name", "DTMF"), ("Multi", "a"), ("Multi", "b"), ("Num", "5")]


def test_mapping_headers_never_fail_on_odd_strings() -> None:
    # json.loads turns "\ud800" into a lone surrogate and invalid UTF-8 (read with
    # surrogateescape) into U+DC80..U+DCFF: neither may break a lookup.
    h = MappingHeaders([("Lone", "\ud800x"), ("Escaped", "caf\udce9")])
    assert h.get("Lone") == "\ufffdx"
    assert h.get_bytes("Escaped") == b"caf\xe9"
    assert h.get("Escaped") == "caf\ufffd"
    assert [k for k, _ in h.items()] == ["Lone", "Escaped"]
