"""The variables FreeSWITCH writes when a channel is reported (its CDR data).

``digits_dialed`` is the PCI-relevant one: every key the channel read that was
not sensitive, masked by ``digits_dialed_filter`` the way ``switch_channel.c``
masks it.  The regex is matched once; the text of the whole match and of each
capture group is then replaced by ``X`` *wherever it occurs* in the string.  So
``(\\d+)`` on ``2#4111111111111111#`` masks only the ``2`` and leaves the card in
clear, while ``.+`` masks everything, ``#`` and ``*`` included.
"""

from __future__ import annotations

import re
import time

from paymentd.testing.profile import CallerProfile

__all__ = ["HANGUP_CAUSES", "cdr_variables", "mask_digits_dialed", "q850"]

# Hang-up causes and their Q.850 codes (``switch_channel.c``'s cause table).
HANGUP_CAUSES: dict[str, int] = {
    "NONE": 0,
    "UNALLOCATED_NUMBER": 1,
    "NO_ROUTE_TRANSIT_NET": 2,
    "NO_ROUTE_DESTINATION": 3,
    "CHANNEL_UNACCEPTABLE": 6,
    "CALL_AWARDED_DELIVERED": 7,
    "NORMAL_CLEARING": 16,
    "USER_BUSY": 17,
    "NO_USER_RESPONSE": 18,
    "NO_ANSWER": 19,
    "SUBSCRIBER_ABSENT": 20,
    "CALL_REJECTED": 21,
    "NUMBER_CHANGED": 22,
    "REDIRECTION_TO_NEW_DESTINATION": 23,
    "EXCHANGE_ROUTING_ERROR": 25,
    "DESTINATION_OUT_OF_ORDER": 27,
    "INVALID_NUMBER_FORMAT": 28,
    "FACILITY_REJECTED": 29,
    "RESPONSE_TO_STATUS_ENQUIRY": 30,
    "NORMAL_UNSPECIFIED": 31,
    "NORMAL_CIRCUIT_CONGESTION": 34,
    "NETWORK_OUT_OF_ORDER": 38,
    "NORMAL_TEMPORARY_FAILURE": 41,
    "SWITCH_CONGESTION": 42,
    "ACCESS_INFO_DISCARDED": 43,
    "REQUESTED_CHAN_UNAVAIL": 44,
    "BEARERCAPABILITY_NOTAVAIL": 58,
    "SERVICE_UNAVAILABLE": 63,
    "BEARERCAPABILITY_NOTIMPL": 65,
    "CHAN_NOT_IMPLEMENTED": 66,
    "FACILITY_NOT_IMPLEMENTED": 69,
    "SERVICE_NOT_IMPLEMENTED": 79,
    "INCOMPATIBLE_DESTINATION": 88,
    "RECOVERY_ON_TIMER_EXPIRE": 102,
    "MANDATORY_IE_MISSING": 96,
    "INTERWORKING": 127,
    "ORIGINATOR_CANCEL": 487,
    "ALLOTTED_TIMEOUT": 602,
    "USER_CHALLENGE": 603,
    "MEDIA_TIMEOUT": 604,
    "PICKED_OFF": 605,
    "USER_NOT_REGISTERED": 606,
    "PROGRESS_TIMEOUT": 607,
    "LOSE_RACE": 502,
    "MANAGER_REQUEST": 503,
    "BLIND_TRANSFER": 600,
    "ATTENDED_TRANSFER": 601,
}


def q850(cause: str) -> int:
    """The Q.850 code of a hang-up cause (0 for unknown names)."""
    return HANGUP_CAUSES.get(cause, 0)


def mask_digits_dialed(digits: str, pattern: str | None) -> str:
    """``digits_dialed`` for the keys read, masked as FreeSWITCH masks it."""
    if not digits:
        return "none"
    if not pattern:
        return digits
    try:
        match = re.search(pattern, digits)
    except re.error:
        return digits
    if match is None:
        return digits
    masked = digits
    for index in range(len(match.groups()) + 1):
        text = match.group(index)
        if text:
            masked = masked.replace(text, "X" * len(text))
    return masked or digits


def _stamp(micros: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(micros / 1_000_000))


def cdr_variables(profile: CallerProfile, last_app: str, last_arg: str) -> list[tuple[str, str]]:
    """Timestamps and durations, in the order FreeSWITCH sets them at reporting."""
    t = profile.times
    out: list[tuple[str, str]] = [
        ("start_stamp", _stamp(t.created)),
        ("profile_start_stamp", _stamp(t.profile_created)),
    ]
    for name, value in (
        ("answer_stamp", t.answered),
        ("bridge_stamp", t.bridged),
        ("hold_stamp", t.last_hold),
        ("resurrect_stamp", t.resurrected),
        ("progress_stamp", t.progress),
        ("progress_media_stamp", t.progress_media),
    ):
        if value:
            out.append((name, _stamp(value)))
    out.append(("end_stamp", _stamp(t.hungup)))
    for name, value in (
        ("start", t.created),
        ("profile_start", t.profile_created),
        ("answer", t.answered),
        ("bridge", t.bridged),
        ("last_hold", t.last_hold),
    ):
        out += [(f"{name}_epoch", str(value // 1_000_000)), (f"{name}_uepoch", str(value))]
    out += [
        ("hold_accum_seconds", str(t.hold_accum // 1_000_000)),
        ("hold_accum_usec", str(t.hold_accum)),
        ("hold_accum_ms", str(t.hold_accum // 1000)),
    ]
    for name, value in (
        ("resurrect", t.resurrected),
        ("progress", t.progress),
        ("progress_media", t.progress_media),
        ("end", t.hungup),
    ):
        out += [(f"{name}_epoch", str(value // 1_000_000)), (f"{name}_uepoch", str(value))]

    def since(start: int, end: int) -> int:
        return end - start if start and end else 0

    uduration = since(t.created, t.hungup)
    billusec = since(t.answered, t.hungup)
    legbillusec = uduration if t.answered else 0
    answerusec = since(t.created, t.answered)
    waitusec = since(t.created, t.bridged) if t.bridged > t.created else 0
    progressusec = since(t.created, t.progress)
    mediausec = since(t.created, t.progress_media)
    cid = (
        f'"{profile.caller_id_name}" <{profile.caller_id_number}>'
        if profile.caller_id_name
        else profile.caller_id_number
    )
    out += [("last_app", last_app), ("last_arg", last_arg), ("caller_id", cid)]
    seconds = (
        ("duration", uduration),
        ("billsec", billusec),
        ("progresssec", progressusec),
        ("answersec", answerusec),
        ("waitsec", waitusec),
        ("progress_mediasec", mediausec),
        ("flow_billsec", legbillusec),
    )
    out += [(name, str(value // 1_000_000)) for name, value in seconds]
    millis = (
        ("mduration", uduration),
        ("billmsec", billusec),
        ("progressmsec", progressusec),
        ("answermsec", answerusec),
        ("waitmsec", waitusec),
        ("progress_mediamsec", mediausec),
        ("flow_billmsec", legbillusec),
    )
    out += [(name, str(value // 1000)) for name, value in millis]
    micros = (
        ("uduration", uduration),
        ("billusec", billusec),
        ("progressusec", progressusec),
        ("answerusec", answerusec),
        ("waitusec", waitusec),
        ("progress_mediausec", mediausec),
        ("flow_billusec", legbillusec),
    )
    out += [(name, str(value)) for name, value in micros]
    return out
