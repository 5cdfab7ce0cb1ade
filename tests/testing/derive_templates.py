"""Derive the simulator's package data from the real FreeSWITCH captures.

Usage::

    .venv/bin/python tests/testing/derive_templates.py /work/shared/esl/corpus

writes ``paymentd/testing/data/event_layouts.json`` and
``paymentd/testing/data/loopback_call.json``.  ``test_templates.py`` runs the same
derivation in memory and fails when the shipped files drift from the captures.

A layout is the order in which FreeSWITCH composes an event: ``@base`` (the
headers every fired event gets), ``@packet`` (the raw command packet, for
PRIVATE_COMMAND), ``@channel`` (channel state, caller and other-leg profiles),
``@variables`` (``variable_*``, only for the event types FreeSWITCH gives
"extended" data) and plain header names for what the event adds itself.  A few
headers that no capture shows but FreeSWITCH's source adds (``Playback-File-Type``,
``Application-UUID-Name`` on the complete event, ...) are listed in ``SOURCE_ONLY``.
"""

from __future__ import annotations

import json
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import unquote

BASE = (
    "Event-Name",
    "Core-UUID",
    "FreeSWITCH-Hostname",
    "FreeSWITCH-Switchname",
    "FreeSWITCH-IPv4",
    "FreeSWITCH-IPv6",
    "Event-Date-Local",
    "Event-Date-GMT",
    "Event-Date-Timestamp",
    "Event-Calling-File",
    "Event-Calling-Function",
    "Event-Calling-Line-Number",
    "Event-Sequence",
)
CHANNEL_BASIC = {
    "Channel-State",
    "Channel-Call-State",
    "Channel-State-Number",
    "Channel-Name",
    "Unique-ID",
    "Session-External-ID",
    "Call-Direction",
    "Presence-Call-Direction",
    "Channel-HIT-Dialplan",
    "Channel-Presence-ID",
    "Channel-Presence-Data",
    "Channel-Call-UUID",
    "Answer-State",
    "Hangup-Cause",
    "Channel-Read-Codec-Name",
    "Channel-Read-Codec-Rate",
    "Channel-Read-Codec-Bit-Rate",
    "Channel-Write-Codec-Name",
    "Channel-Write-Codec-Rate",
    "Channel-Write-Codec-Bit-Rate",
    "Other-Type",
}
# Events whose layout is written by hand from FreeSWITCH's source, because the
# captures show user headers in them (sendevent) or none at all.
SOURCE_ONLY: dict[str, dict[str, Any]] = {
    "PRIVATE_COMMAND": {
        "source": ["switch_ivr.c", "switch_ivr_parse_next_event", 804],
        "layout": ["@packet", "@base", "@channel"],
    },
    "COMMAND": {
        "source": ["switch_ivr_async.c", "switch_ivr_broadcast", 5732],
        "layout": ["@base", "@packet"],
    },
    "CUSTOM": {
        "source": ["mod_event_socket.c", "parse_command", 2283],
        "layout": ["Event-Subclass", "@packet", "Event-UUID", "@base"],
    },
}
# Headers FreeSWITCH adds only in cases no capture exercised (see its source).
EXTRA_HEADERS: dict[str, list[tuple[str, str]]] = {
    # (header, the header it follows)
    "CHANNEL_EXECUTE_COMPLETE": [("Application-UUID-Name", "Application-UUID")],
    "PLAYBACK_START": [("Playback-File-Type", "@variables")],
    "PLAYBACK_STOP": [("Playback-File-Type", "@variables")],
}
SKIPPED_EVENTS = {"CODEC", "HEARTBEAT", "RE_SCHEDULE", "CALL_UPDATE", "CUSTOM", "PRIVATE_COMMAND"}


def frames(data: bytes) -> list[tuple[dict[str, str], bytes]]:
    """Split a FreeSWITCH byte stream into (outer headers, body) pairs."""
    out = []
    i = 0
    while i < len(data):
        j = data.find(b"\n\n", i)
        if j < 0:
            break
        head = data[i:j].decode("latin-1")
        headers = dict(line.split(": ", 1) for line in head.split("\n") if ": " in line)
        i = j + 2
        length = int(headers.get("Content-Length", "0"))
        out.append((headers, data[i : i + length]))
        i += length
    return out


def event_headers(body: bytes) -> list[tuple[str, str]]:
    head = body.decode("latin-1").partition("\n\n")[0]
    return [
        (line.split(": ", 1)[0], line.split(": ", 1)[1]) if ": " in line else (line, "")
        for line in head.split("\n")
    ]


def _is_channel_data(name: str) -> bool:
    return name in CHANNEL_BASIC or name.startswith(("Caller-", "Other-Leg-"))


def tokens(headers: list[tuple[str, str]]) -> list[str]:
    """Collapse an event's header names into its layout tokens.

    ``@profile`` is the caller profile under the ``Channel-`` prefix that heads
    the connect reply (before the channel's own data).
    """
    out: list[str] = []
    in_channel = False
    seen_state = False
    for name, _ in headers:
        seen_state = seen_state or name == "Channel-State"
        if name in BASE:
            token = "@base"
        elif name.startswith("Channel-") and not seen_state and name not in CHANNEL_BASIC:
            token = "@profile"
        elif name.startswith("variable_"):
            token = "@variables"
        elif name == "Channel-State" or (in_channel and _is_channel_data(name)):
            token = "@channel"
        else:
            token = name
        in_channel = token == "@channel"
        if not out or out[-1] != token or not token.startswith("@"):
            out.append(token)
    return out


def merge(sequences: list[list[str]]) -> list[str]:
    """Union of token sequences that keeps every sequence's order."""
    merged: list[str] = []
    for seq in sorted(sequences, key=len, reverse=True):
        for index, token in enumerate(seq):
            if token in merged:
                continue
            before = next((t for t in reversed(seq[:index]) if t in merged), None)
            merged.insert(merged.index(before) + 1 if before else 0, token)
    return merged


def derive_layouts(corpus: Path) -> dict[str, Any]:
    """The event layouts and their Event-Calling-* sources, from every capture."""
    seqs: dict[str, list[list[str]]] = defaultdict(list)
    sources: dict[str, Counter[tuple[str, str, int]]] = defaultdict(Counter)
    for path in sorted(corpus.glob("*.rx.bin")):
        for outer, body in frames(path.read_bytes()):
            if outer.get("Event-Name") == "CHANNEL_DATA":
                headers = [(key, value) for key, value in outer.items()]
            elif outer.get("Content-Type") != "text/event-plain":
                continue
            else:
                headers = event_headers(body)
            values = dict(headers)
            name = values.get("Event-Name")
            if name is None or name in SKIPPED_EVENTS:
                continue
            seqs[name].append(tokens(headers))
            variant = name
            if name == "CHANNEL_EXECUTE" and values.get("Application") == "uuid_bridge":
                variant = "CHANNEL_EXECUTE/uuid_bridge"
            sources[variant][
                (
                    values["Event-Calling-File"],
                    values["Event-Calling-Function"],
                    int(values["Event-Calling-Line-Number"]),
                )
            ] += 1
    events: dict[str, Any] = {}
    for name in sorted(seqs):
        layout = merge(seqs[name])
        for header, after in EXTRA_HEADERS.get(name, []):
            if header not in layout:
                layout.insert(layout.index(after) + 1, header)
        events[name] = {"source": list(sources[name].most_common(1)[0][0]), "layout": layout}
    for variant in sorted(v for v in sources if "/" in v):
        events[variant] = {"source": list(sources[variant].most_common(1)[0][0])}
    events.update(SOURCE_ONLY)
    return {
        "comment": "Derived from the FreeSWITCH 1.11 captures by tests/testing/derive_templates.py",
        "events": dict(sorted(events.items())),
    }


def _placeholders(value: str, known: dict[str, str]) -> str:
    value = unquote(value)
    for real, placeholder in known.items():
        value = value.replace(real, placeholder)
    return value


def _leg(values: dict[str, str], known: dict[str, str]) -> dict[str, Any]:
    """A leg's caller profile (times left out) and creation variables."""
    destination = values["Caller-Destination-Number"]
    profile = {}
    for key, value in values.items():
        if key.startswith("Caller-") and "Time" not in key and "Hold" not in key:
            text = _placeholders(value, known)
            profile[key.removeprefix("Caller-")] = "{destination}" if text == destination else text
    variables = {}
    for key, value in values.items():
        if key.startswith("variable_"):
            name = key.removeprefix("variable_")
            # What follows call_uuid in a connect reply was set by the socket app itself.
            if name.startswith("current_application") or name == "socket_host":
                continue
            variables[name] = (
                "{session_id}" if name == "session_id" else _placeholders(value, known)
            )
    return {"profile": profile, "variables": variables}


def derive_loopback_call(corpus: Path) -> dict[str, Any]:
    """Identity, caller profiles and creation variables of a loopback call pair."""
    connect = frames((corpus / "01_basic_linger30.rx.bin").read_bytes())[0][0]
    known_b = {
        connect["Unique-ID"]: "{uuid}",
        connect["variable_other_loopback_leg_uuid"]: "{other_uuid}",
        connect["Channel-Name"]: "{channel_name}",
    }
    a_create: dict[str, str] = {}
    for outer, body in frames(
        (corpus / "13_a_playback_default_filter_set.lst_all.rx.bin").read_bytes()
    ):
        if outer.get("Content-Type") != "text/event-plain":
            continue
        values = dict(event_headers(body))
        if values.get("Event-Name") == "CHANNEL_CREATE" and values["Channel-Name"].endswith("-a"):
            a_create = values
            break
    known_a = {
        a_create["Unique-ID"]: "{uuid}",
        a_create["variable_other_loopback_leg_uuid"]: "{other_uuid}",
        a_create["Channel-Name"]: "{channel_name}",
    }
    status = ""
    show_channels_columns: list[str] = []
    for outer, body in frames((corpus / "09_inbound_bridge_ops.rx.bin").read_bytes()):
        text = body.decode("latin-1")
        if outer.get("Content-Type") == "api/response" and text.startswith("UP ") and not status:
            status = text
        if outer.get("Content-Type") == "api/response" and text.startswith("uuid,"):
            show_channels_columns = text.split("\n", 1)[0].split(",")
    version_line = status.split("\n")[1]
    return {
        "comment": "Derived from the FreeSWITCH 1.11 captures by tests/testing/derive_templates.py",
        "identity": {
            "hostname": connect["FreeSWITCH-Hostname"],
            "switchname": connect["FreeSWITCH-Switchname"],
            "ipv4": connect["FreeSWITCH-IPv4"],
            "ipv6": connect["FreeSWITCH-IPv6"].replace("%3A", ":"),
            "version": version_line.split("(Version ", 1)[1].split(")", 1)[0],
        },
        "b_leg": _leg(connect, known_b),
        "a_leg": _leg(a_create, known_a),
        "show_channels_columns": show_channels_columns,
    }


# The outbound captures test_captures.py replays against the simulator.
SHAPE_SCENARIOS = (
    "01_basic_linger30",
    "01_basic_nolinger",
    "05_event_lock_event_uuid_body",
    "06_caller_hangup_mid_playback",
    "08_transfer_app",
    "11_myevents_json",
    "13_c_playback_terminators_any",
    "13_d_barge_sendmsg_break",
)


def message_key(outer: dict[str, str], headers: list[tuple[str, str]]) -> list[str]:
    """What a message is, for lining up a simulated run with a capture."""
    values = dict(headers)
    if outer.get("Content-Type") in ("text/event-plain", "text/event-json"):
        detail = values.get("Application") or values.get("DTMF-Digit") or ""
        if values.get("Event-Name") == "CHANNEL_STATE":
            detail = values["Channel-State"]
        return ["event", values.get("Event-Name", "?"), unquote(detail)]
    if "Event-Name" in outer:
        return ["connect", "", ""]
    return [
        outer.get("Content-Type", "?"),
        outer.get("Content-Disposition", ""),
        outer.get("Reply-Text", ""),
    ]


# Headers whose values a faithful simulation reproduces exactly (no ids, no times).
STABLE_VALUES = (
    "Channel-State",
    "Channel-Call-State",
    "Channel-State-Number",
    "Answer-State",
    "Hangup-Cause",
    "Application-Data",
    "Application-Response",
    "Caller-Destination-Number",
    "Caller-Profile-Index",
    "DTMF-Duration",
    "DTMF-Source",
    "Content-Disposition",
    "Linger-Time",
    "Socket-Mode",
    "Control",
    "variable_current_application",
    "variable_current_application_response",
    "variable_playback_terminator_used",
    "variable_playback_ms",
    "variable_digits_dialed",
    "variable_digits_dialed_filter",
    "variable_hangup_cause_q850",
    "variable_last_app",
)


def derive_shapes(corpus: Path) -> dict[str, Any]:
    """Every message of some outbound captures: its key, header names, stable values."""
    vocabulary: list[str] = []
    scenarios: dict[str, list[Any]] = {}
    for scenario in SHAPE_SCENARIOS:
        messages = []
        for outer, body in frames((corpus / f"{scenario}.rx.bin").read_bytes()):
            if outer.get("Content-Type") == "text/event-plain":
                headers = event_headers(body)
            elif outer.get("Content-Type") == "text/event-json":
                headers = list(json.loads(body, object_pairs_hook=list))
                headers = [(str(k), str(v)) for k, v in headers]
            else:
                headers = list(outer.items())
            names = []
            for name, _ in headers:
                if name not in vocabulary:
                    vocabulary.append(name)
                names.append(vocabulary.index(name))
            decode = outer.get("Content-Type") == "text/event-plain"
            values = {
                name: unquote(value) if decode else value
                for name, value in headers
                if name in STABLE_VALUES
            }
            messages.append([message_key(outer, headers), names, values])
        scenarios[scenario] = messages
    return {
        "comment": "Header names of the messages FreeSWITCH sent, by derive_templates.py",
        "vocabulary": vocabulary,
        "scenarios": scenarios,
    }


def main(argv: list[str]) -> None:
    corpus = Path(argv[1] if len(argv) > 1 else "/work/shared/esl/corpus")
    here = Path(__file__).resolve().parent
    data = here.parents[1] / "paymentd" / "testing" / "data"
    for path, content in (
        (data / "event_layouts.json", derive_layouts(corpus)),
        (data / "loopback_call.json", derive_loopback_call(corpus)),
        (here / "capture_shapes.json", derive_shapes(corpus)),
    ):
        indent = None if path.name == "capture_shapes.json" else 1
        path.write_text(json.dumps(content, indent=indent) + "\n")


if __name__ == "__main__":
    main(sys.argv)
