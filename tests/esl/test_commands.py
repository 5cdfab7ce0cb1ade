"""The serializer: exact bytes of every command; CR/LF refused wherever it would inject."""

from __future__ import annotations

import pytest

from paymentd.esl import (
    Api,
    Auth,
    BgApi,
    Command,
    Connect,
    DivertEvents,
    Events,
    Execute,
    Exit,
    Filter,
    FilterDelete,
    GetVar,
    Hangup,
    Linger,
    LocalProtocolError,
    MyEvents,
    NixEvent,
    NoEvents,
    NoLinger,
    Resume,
    SendEvent,
    SendMsg,
)

UUID = "3f0c6ad4-1b7e-4c1d-9a55-5c3c1f2e8d10"

EXACT: list[tuple[Command, bytes]] = [
    (Connect(), b"connect\n\n"),
    (MyEvents(), b"myevents plain\n\n"),
    (MyEvents(format="json"), b"myevents json\n\n"),
    (MyEvents(uuid=UUID), f"myevents {UUID} plain\n\n".encode()),
    (Linger(30), b"linger 30\n\n"),
    (Linger(), b"linger\n\n"),
    (NoLinger(), b"nolinger\n\n"),
    (DivertEvents(), b"divert_events on\n\n"),
    (DivertEvents(on=False), b"divert_events off\n\n"),
    (Events(("BACKGROUND_JOB",)), b"event plain BACKGROUND_JOB\n\n"),
    (
        Events(("CHANNEL_PARK", "DTMF"), format="json"),
        b"event json CHANNEL_PARK DTMF\n\n",
    ),
    (Events(("CUSTOM", "paymentd::segment")), b"event plain CUSTOM paymentd::segment\n\n"),
    (NixEvent(("DTMF",)), b"nixevent DTMF\n\n"),
    (NoEvents(), b"noevents\n\n"),
    (Filter("Unique-ID", UUID), f"filter Unique-ID {UUID}\n\n".encode()),
    (Filter("variable_x", "a b"), b"filter variable_x a b\n\n"),
    (FilterDelete("Unique-ID", UUID), f"filter delete Unique-ID {UUID}\n\n".encode()),
    (FilterDelete("Unique-ID"), b"filter delete Unique-ID\n\n"),
    (
        Execute("answer"),
        b"sendmsg\ncall-command: execute\nexecute-app-name: answer\n\n",
    ),
    (
        Execute("playback", "/usr/share/sounds/pay/hello.wav", event_uuid=UUID),
        b"sendmsg\ncall-command: execute\nexecute-app-name: playback\n"
        + f"Event-UUID: {UUID}\n".encode()
        + b"content-type: text/plain\ncontent-length: 31\n\n/usr/share/sounds/pay/hello.wav",
    ),
    (
        Execute("playback", "a.wav", event_uuid="u1", event_lock=True, loops=2, uuid=UUID),
        f"sendmsg {UUID}\n".encode()
        + b"call-command: execute\nexecute-app-name: playback\nloops: 2\nevent-lock: true\n"
        b"Event-UUID: u1\ncontent-type: text/plain\ncontent-length: 5\n\na.wav",
    ),
    (
        # The argument is a body: newlines and non-ASCII travel safely, counted in bytes.
        Execute("set", "pay_ref=REF 0001 & x=;\nnext é"),
        b"sendmsg\ncall-command: execute\nexecute-app-name: set\ncontent-type: text/plain\n"
        b"content-length: 30\n\npay_ref=REF 0001 & x=;\nnext \xc3\xa9",
    ),
    (
        Execute("set", ""),
        b"sendmsg\ncall-command: execute\nexecute-app-name: set\n"
        b"content-type: text/plain\ncontent-length: 0\n\n",
    ),
    (Hangup(), b"sendmsg\ncall-command: hangup\nhangup-cause: NORMAL_CLEARING\n\n"),
    (
        Hangup("USER_BUSY", uuid=UUID),
        f"sendmsg {UUID}\n".encode() + b"call-command: hangup\nhangup-cause: USER_BUSY\n\n",
    ),
    (
        SendMsg((("call-command", "unicast"), ("local-ip", "127.0.0.1"))),
        b"sendmsg\ncall-command: unicast\nlocal-ip: 127.0.0.1\n\n",
    ),
    (Resume(), b"resume\n\n"),
    (Exit(), b"exit\n\n"),
    (Auth("ClueCon"), b"auth ClueCon\n\n"),
    (Api("uuid_getvar u x"), b"api uuid_getvar u x\n\n"),
    (Api(""), b"api \n\n"),
    (BgApi("status"), b"bgapi status\n\n"),
    (
        BgApi("originate loopback/1 &park", job_uuid=UUID),
        b"bgapi originate loopback/1 &park\n" + f"Job-UUID: {UUID}\n\n".encode(),
    ),
    (
        SendEvent("CUSTOM", (("Event-Subclass", "paymentd::segment"), ("Payment-Segment", "card"))),
        b"sendevent CUSTOM\nEvent-Subclass: paymentd::segment\nPayment-Segment: card\n\n",
    ),
    (
        SendEvent("CUSTOM", (("Event-Subclass", "paymentd::segment"),), b"result=ok\n"),
        b"sendevent CUSTOM\nEvent-Subclass: paymentd::segment\ncontent-length: 10\n\nresult=ok\n",
    ),
    (GetVar("card_digits"), b"getvar card_digits\n\n"),
]


@pytest.mark.parametrize(("command", "wire"), EXACT, ids=[type(c).__name__ for c, _ in EXACT])
def test_exact_bytes(command: Command, wire: bytes) -> None:
    assert command.encode() == wire


def test_only_api_expects_an_api_response() -> None:
    assert Api("status").expects_api_response
    assert not BgApi("status").expects_api_response
    assert not Execute("answer").expects_api_response


BREAKS = ["\n", "\r", "\r\n", "a\nb", "x\rcontent-length: 0"]


def line_builders() -> list[tuple[str, object]]:
    """Every place a caller's text lands in a command line or header."""

    def header_name(s: str) -> Command:
        return SendMsg(((s, "v"),))

    def header_value(s: str) -> Command:
        return SendMsg((("call-command", s),))

    def event_header_name(s: str) -> Command:
        return SendEvent("CUSTOM", ((s, "v"),))

    def event_header_value(s: str) -> Command:
        return SendEvent("CUSTOM", (("Event-Subclass", s),))

    return [
        ("sendmsg header name", header_name),
        ("sendmsg header value", header_value),
        ("sendevent header name", event_header_name),
        ("sendevent header value", event_header_value),
        ("api command", lambda s: Api("uuid_getvar " + s)),
        ("bgapi command", lambda s: BgApi("status " + s)),
        ("bgapi job uuid", lambda s: BgApi("status", job_uuid=s)),
        ("auth password", lambda s: Auth("pw" + s)),
        ("filter header", lambda s: Filter("Unique-ID" + s, "v")),
        ("filter value", lambda s: Filter("Unique-ID", "v" + s)),
        ("filter delete header", lambda s: FilterDelete("Unique-ID" + s)),
        ("filter delete value", lambda s: FilterDelete("Unique-ID", "v" + s)),
        ("execute app", lambda s: Execute("playback" + s)),
        ("execute event uuid", lambda s: Execute("playback", event_uuid="u" + s)),
        ("execute target uuid", lambda s: Execute("playback", uuid="u" + s)),
        ("hangup cause", lambda s: Hangup("NORMAL_CLEARING" + s)),
        ("hangup target uuid", lambda s: Hangup(uuid="u" + s)),
        ("sendmsg target uuid", lambda s: SendMsg((), uuid="u" + s)),
        ("myevents uuid", lambda s: MyEvents(uuid="u" + s)),
        ("myevents format", lambda s: MyEvents(format="plain" + s)),
        ("event name", lambda s: Events(("DTMF" + s,))),
        ("event format", lambda s: Events(("DTMF",), format="plain" + s)),
        ("nixevent name", lambda s: NixEvent(("DTMF" + s,))),
        ("sendevent name", lambda s: SendEvent("CUSTOM" + s)),
        ("getvar name", lambda s: GetVar("x" + s)),
    ]


@pytest.mark.parametrize("brk", BREAKS, ids=repr)
@pytest.mark.parametrize(("where", "build"), line_builders(), ids=[w for w, _ in line_builders()])
def test_cr_and_lf_are_refused_everywhere(where: str, build: object, brk: str) -> None:
    assert callable(build)
    with pytest.raises(LocalProtocolError) as error:
        build(brk).encode()
    assert str(error.value)


def test_refusal_names_the_place_but_not_the_value() -> None:
    # A value may be card data; the error (which ends up in logs) must not carry it.
    with pytest.raises(LocalProtocolError, match="must not contain CR or LF") as error:
        Api("uuid_setvar u x 4111111111111111\n").encode()
    assert "4111" not in str(error.value)
    with pytest.raises(LocalProtocolError) as error:
        SendMsg((("X-Card", "4111111111111111\r\n"),)).encode()
    assert "4111" not in str(error.value)
    assert "X-Card" in str(error.value)


@pytest.mark.parametrize("name", ["content-length", "Content-Length", "CONTENT-LENGTH"])
def test_a_caller_supplied_content_length_is_refused(name: str) -> None:
    # The serializer owns Content-Length: a second one with another value would make
    # FreeSWITCH read part of the body as the next command.
    with pytest.raises(LocalProtocolError, match="Content-Length"):
        SendMsg(((name, "3"),), b"hello\n\nexit\n\n").encode()
    with pytest.raises(LocalProtocolError, match="Content-Length"):
        SendEvent("CUSTOM", ((name, "0"),)).encode()


@pytest.mark.parametrize("name", ["", " lead", "trail ", "a:b"])
def test_invalid_header_names(name: str) -> None:
    with pytest.raises(LocalProtocolError, match="invalid header name"):
        SendMsg(((name, "v"),)).encode()


def test_filter_header_cannot_contain_a_space() -> None:
    with pytest.raises(LocalProtocolError, match="spaces"):
        Filter("Unique ID", "v").encode()


def test_linger_needs_a_positive_time() -> None:
    for seconds in (0, -5):
        with pytest.raises(LocalProtocolError, match="positive"):
            Linger(seconds).encode()


def test_event_needs_a_name() -> None:
    with pytest.raises(LocalProtocolError, match="at least one event name"):
        Events(()).encode()


def test_auth_repr_hides_the_password() -> None:
    assert "ClueCon" not in repr(Auth("ClueCon"))
