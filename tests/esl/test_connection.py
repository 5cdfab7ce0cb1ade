"""The connection state machine: connect reply, socket mode, FIFO reply slots, states."""

from __future__ import annotations

import pytest

from paymentd.esl import (
    Api,
    ApiResponse,
    Auth,
    AuthRequest,
    BgApi,
    ChannelData,
    Closed,
    CommandReply,
    Connect,
    Connection,
    DisconnectNotice,
    Dtmf,
    Execute,
    Exit,
    Hangup,
    Linger,
    LocalProtocolError,
    MyEvents,
    RemoteProtocolError,
    Reply,
    Role,
    SocketModeError,
    State,
)

CONNECT_REPLY = (
    b"Event-Name: CHANNEL_DATA\n"
    b"Unique-ID: b0afdbc8-2334-47e6-91d0-d637e67eb749\n"
    b"Channel-Name: loopback/7777-b\n"
    b"Caller-Caller-ID-Name: Jos%C3%A9%20%2B1\n"
    b"Caller-Caller-ID-Number: 0000000000\n"
    b"Caller-Destination-Number: 7777\n"
    b"variable_pay_ref: REF%200001\n"
    b"Content-Type: command/reply\n"
    b"Reply-Text: %2BOK%0A\n"
    b"Socket-Mode: async\n"
    b"Control: full\n\n"
)
OK = b"Content-Type: command/reply\nReply-Text: +OK\n\n"
LINGER_NOTICE = (
    b"Content-Type: text/disconnect-notice\nControlled-Session-UUID: u\n"
    b"Content-Disposition: linger\nChannel-Name: loopback/7777-b\nLinger-Time: 30\n"
    b"Content-Length: 0\n\n"
)
GOODBYE = (
    b"Content-Type: text/disconnect-notice\nControlled-Session-UUID: u\n"
    b"Content-Disposition: disconnect\nContent-Length: 67\n\n"
    b"Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"
)


def reply_text(text: str) -> bytes:
    return f"Content-Type: command/reply\nReply-Text: {text}\n\n".encode()


def drain(conn: Connection) -> list[object]:
    out = []
    while (incoming := conn.next_event()) is not None:
        out.append(incoming)
    return out


def connected() -> Connection:
    conn = Connection(Role.OUTBOUND)
    conn.send(Connect())
    conn.receive_data(CONNECT_REPLY)
    drain(conn)
    assert conn.state is State.CONNECTED
    return conn


def test_the_first_outbound_command_must_be_connect() -> None:
    # FreeSWITCH runs the first command but never answers it: every later reply
    # would reach the wrong caller.
    conn = Connection(Role.OUTBOUND)
    with pytest.raises(
        LocalProtocolError, match="first command on an outbound socket must be connect"
    ):
        conn.send(MyEvents())
    assert conn.pending_replies == 0
    slot, data = conn.send(Connect())
    assert (slot, data) == (0, b"connect\n\n")
    assert conn.send(MyEvents())[0] == 1


def test_connect_reply_is_decoded_as_encoded_headers() -> None:
    conn = Connection(Role.OUTBOUND)
    conn.send(Connect())
    assert conn.state is State.AWAITING_CONNECT
    conn.receive_data(CONNECT_REPLY)
    (reply,) = drain(conn)
    assert isinstance(reply, Reply)
    data = reply.message
    assert isinstance(data, ChannelData)
    assert data.reply_text == "+OK\n"
    assert data.ok
    assert reply.ok
    assert reply.text == "+OK\n"
    assert data.unique_id == "b0afdbc8-2334-47e6-91d0-d637e67eb749"
    assert data.channel_name == "loopback/7777-b"
    assert data.headers.get("Caller-Caller-ID-Name") == "José +1"
    assert data.caller_id_number == "0000000000"
    assert data.destination_number == "7777"
    assert data.variable("pay_ref") == "REF 0001"
    assert (data.socket_mode, data.control) == ("async", "full")
    assert conn.channel_data is data
    assert conn.state is State.CONNECTED


@pytest.mark.parametrize(
    ("mode", "control", "what"),
    [
        ("static", "full", "static mode"),
        ("async", "single-channel", "single-channel control"),
        ("Static", "single-channel", "static mode"),
    ],
)
def test_socket_not_opened_async_full_is_a_configuration_error(
    mode: str, control: str, what: str
) -> None:
    conn = Connection(Role.OUTBOUND)
    conn.send(Connect())
    conn.receive_data(
        CONNECT_REPLY.replace(b"Socket-Mode: async", b"Socket-Mode: " + mode.encode()).replace(
            b"Control: full", b"Control: " + control.encode()
        )
    )
    with pytest.raises(SocketModeError) as error:
        conn.next_event()
    message = str(error.value)
    assert what in message
    assert 'data="HOST:PORT async full"' in message
    assert conn.channel_data is None


def test_a_refused_connect_is_a_protocol_error() -> None:
    conn = Connection(Role.OUTBOUND)
    conn.send(Connect())
    conn.receive_data(reply_text("-ERR command not found"))
    with pytest.raises(RemoteProtocolError, match="connect refused"):
        conn.next_event()


def test_replies_are_matched_first_in_first_out() -> None:
    conn = connected()
    commands = [MyEvents(), Linger(30), Execute("answer"), Api("status")]
    slots = [conn.send(c)[0] for c in commands]
    assert slots == [1, 2, 3, 4]
    assert conn.pending_replies == 4
    conn.receive_data(
        reply_text("+OK Events Enabled")
        + reply_text("+OK will linger 30 seconds")
        + OK
        + b"Content-Type: api/response\nContent-Length: 6\n\nUP 0\n\n"
    )
    replies = drain(conn)
    assert [(r.slot, r.command, r.text) for r in replies] == [  # type: ignore[attr-defined]
        (1, commands[0], "+OK Events Enabled"),
        (2, commands[1], "+OK will linger 30 seconds"),
        (3, commands[2], "+OK"),
        (4, commands[3], "UP 0\n\n"),
    ]
    assert isinstance(replies[3].message, ApiResponse)  # type: ignore[attr-defined]
    assert conn.pending_replies == 0


def test_a_waiter_that_gives_up_keeps_its_slot() -> None:
    # The caller of slot 1 timed out and went away.  Its late reply must still
    # fill slot 1, and the next reply must reach slot 2's caller, not slot 1's.
    conn = connected()
    given_up, _ = conn.send(Api("uuid_getvar u card_digits"))
    waiting, _ = conn.send(Api("uuid_exists u"))
    conn.receive_data(b"Content-Type: api/response\nContent-Length: 7\n\n_undef_")
    (late,) = drain(conn)
    assert isinstance(late, Reply)
    assert late.slot == given_up
    conn.receive_data(b"Content-Type: api/response\nContent-Length: 4\n\ntrue")
    (answer,) = drain(conn)
    assert isinstance(answer, Reply)
    assert (answer.slot, answer.text) == (waiting, "true")


def test_a_reply_with_no_command_waiting_is_a_protocol_error() -> None:
    conn = connected()
    conn.receive_data(OK)
    with pytest.raises(RemoteProtocolError, match=r"reply with no command waiting.*\+OK"):
        conn.next_event()


def test_an_api_response_with_no_command_waiting_is_a_protocol_error() -> None:
    conn = connected()
    conn.receive_data(b"Content-Type: api/response\nContent-Length: 3\n\n+OK")
    with pytest.raises(RemoteProtocolError, match="no command waiting"):
        conn.next_event()


def test_an_api_response_to_another_command_is_a_protocol_error() -> None:
    # The replies no longer line up with the commands (a reply was lost or invented).
    conn = connected()
    conn.send(MyEvents())
    conn.receive_data(b"Content-Type: api/response\nContent-Length: 3\n\n+OK")
    with pytest.raises(RemoteProtocolError, match="api/response for MyEvents"):
        conn.next_event()


def test_api_may_be_answered_by_a_command_reply() -> None:
    # Before auth, or on a socket without "full", FreeSWITCH refuses api that way.
    conn = Connection(Role.INBOUND)
    conn.send(Api("status"))
    conn.receive_data(reply_text("-ERR command not found"))
    (reply,) = drain(conn)
    assert isinstance(reply, Reply)
    assert isinstance(reply.message, CommandReply)
    assert not reply.ok
    assert reply.text == "-ERR command not found"


def test_events_between_replies_do_not_take_slots() -> None:
    conn = connected()
    conn.send(Execute("answer", event_uuid="a1"))
    dtmf = b"Event-Name: DTMF\nDTMF-Digit: 4\n\n"
    conn.receive_data(
        b"Content-Length: %d\nContent-Type: text/event-plain\n\n" % len(dtmf) + dtmf + OK
    )
    event, reply = drain(conn)
    assert isinstance(event, Dtmf)
    assert event.digit == "4"
    assert isinstance(reply, Reply)
    assert reply.slot == 1


def test_bgapi_reply_carries_the_job_uuid() -> None:
    conn = Connection(Role.INBOUND)
    conn.receive_data(b"Content-Type: auth/request\n\n")
    assert isinstance(conn.next_event(), AuthRequest)
    conn.send(Auth("ClueCon"))
    conn.receive_data(reply_text("+OK accepted"))
    drain(conn)
    assert conn.state is State.CONNECTED
    conn.send(BgApi("status", job_uuid="j1"))
    conn.receive_data(reply_text("+OK Job-UUID: j1").replace(b"\n\n", b"\nJob-UUID: j1\n\n"))
    (reply,) = drain(conn)
    assert isinstance(reply, Reply)
    assert isinstance(reply.message, CommandReply)
    assert reply.message.job_uuid == "j1"


def test_inbound_wrong_password() -> None:
    conn = Connection(Role.INBOUND)
    assert conn.state is State.AWAITING_AUTH
    conn.receive_data(b"Content-Type: auth/request\n\n")
    drain(conn)
    conn.send(Auth("wrong"))
    conn.receive_data(
        reply_text("-ERR invalid")
        + b"Content-Type: text/disconnect-notice\nContent-Length: 67\n\n"
        + b"Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"
    )
    reply, notice = drain(conn)
    assert isinstance(reply, Reply)
    assert not reply.ok
    assert isinstance(notice, DisconnectNotice)
    assert conn.state is State.CLOSED
    with pytest.raises(LocalProtocolError, match="closed"):
        conn.send(Api("status"))


def test_connect_is_only_for_outbound_sockets() -> None:
    with pytest.raises(LocalProtocolError, match="only for outbound"):
        Connection(Role.INBOUND).send(Connect())


def test_auth_request_on_an_outbound_socket_is_a_protocol_error() -> None:
    conn = Connection(Role.OUTBOUND)
    conn.receive_data(b"Content-Type: auth/request\n\n")
    with pytest.raises(RemoteProtocolError, match="auth/request on an outbound socket"):
        conn.next_event()


def test_states_through_hangup_linger_and_close() -> None:
    conn = connected()
    conn.send(Hangup())
    conn.receive_data(OK + LINGER_NOTICE)
    reply, notice = drain(conn)
    assert isinstance(reply, Reply)
    assert isinstance(notice, DisconnectNotice)
    assert notice.linger_time == 30
    assert conn.state is State.LINGERING
    # FreeSWITCH still takes commands while lingering.
    conn.send(Exit())
    conn.receive_data(reply_text("+OK bye") + GOODBYE)
    bye, goodbye = drain(conn)
    assert isinstance(bye, Reply)
    assert bye.text == "+OK bye"
    assert isinstance(goodbye, DisconnectNotice)
    assert goodbye.closing
    assert conn.state is State.CLOSED
    conn.receive_data(b"")
    assert conn.next_event() == Closed(clean=True)
    assert conn.next_event() is None


def test_peer_closing_mid_message_is_unclean() -> None:
    conn = connected()
    conn.receive_data(b"Content-Length: 500\nContent-Type: text/event-plain\n\nEvent-Na")
    assert conn.next_event() is None
    conn.receive_data(b"")
    assert conn.next_event() == Closed(clean=False)
    assert conn.state is State.CLOSED


def test_messages_before_eof_come_out_first() -> None:
    conn = connected()
    conn.send(Exit())
    conn.receive_data(reply_text("+OK bye") + GOODBYE)
    conn.receive_data(b"")
    incoming = drain(conn)
    assert [type(i).__name__ for i in incoming] == ["Reply", "DisconnectNotice", "Closed"]


def test_a_command_that_cannot_be_encoded_takes_no_slot() -> None:
    conn = connected()
    with pytest.raises(LocalProtocolError):
        conn.send(Api("status\nexit"))
    assert conn.pending_replies == 0
    assert conn.send(Api("status"))[0] == 1
