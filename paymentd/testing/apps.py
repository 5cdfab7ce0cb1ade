"""Dialplan applications, as ``mod_dptools`` implements them.

Each app takes the session and its (already variable-expanded) argument and
sets ``current_application_response`` when it has one (``FILE PLAYED``...).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from paymentd.testing.fslog import LEVELS
from paymentd.testing.session import PlayStatus

if TYPE_CHECKING:
    from paymentd.testing.channel import Dtmf
    from paymentd.testing.session import App, Session

__all__ = ["DPTOOLS"]

_RESPONSES = {
    PlayStatus.SUCCESS: "FILE PLAYED",
    PlayStatus.BREAK: "FILE PLAYED",
    PlayStatus.NOTFOUND: "FILE NOT FOUND",
    PlayStatus.FALSE: "PLAYBACK ERROR",
}


async def app_answer(session: Session, data: str | None) -> None:
    """``answer``."""
    session.answer()


async def app_pre_answer(session: Session, data: str | None) -> None:
    """``pre_answer``: early media."""
    session.pre_answer()


async def app_playback(session: Session, data: str | None) -> None:
    """``playback FILE``: ``FILE PLAYED`` whether it ended, was terminated or broken."""
    channel = session.channel
    channel.set_variable("playback_terminator_used", None)
    if not data:
        status = PlayStatus.FALSE
    else:
        status = await session.play_file(data, app="playback", on_key=session.is_terminator)
    channel.set_variable("current_application_response", _RESPONSES[status])


async def app_endless_playback(session: Session, data: str | None) -> None:
    """``endless_playback FILE``: loops until hang-up or transfer; keys stay queued."""
    channel = session.channel
    status = PlayStatus.FALSE
    while data and channel.ready and channel.transfer_to is None:
        status = await session.play_file(data, app="endless_playback", read_keys=False)
        if status not in (PlayStatus.SUCCESS, PlayStatus.BREAK):
            break
    channel.set_variable("current_application_response", _RESPONSES[status])


async def app_set(session: Session, data: str | None) -> None:
    """``set VAR=VALUE`` (``VAR`` alone, or an empty value, unsets)."""
    if not data:
        session.log("ERR", "mod_dptools.c:1649", "No variable name specified.")
        return
    separator = "=" if "=" in data else ","
    name, found, value = data.partition(separator)
    expanded = session.expand(value) if found and value else None
    session.log(
        "DEBUG",
        "mod_dptools.c:1671",
        f"SET {session.channel.name} [{name}]=[{expanded or 'UNDEF'}]",
    )
    session.channel.set_variable(name, expanded)


async def app_unset(session: Session, data: str | None) -> None:
    """``unset VAR``."""
    if not data:
        session.log("ERR", "mod_dptools.c:1814", "No variable name specified.")
        return
    session.log("DEBUG", "mod_dptools.c:1816", f"UNSET [{data}]")
    session.channel.set_variable(data, None)


async def app_record_session(session: Session, data: str | None) -> None:
    """``record_session PATH``: record the channel until it ends (a media bug; the app
    itself returns at once)."""
    if not data:  # mod_dptools.c:3325: nothing said, nothing done
        return
    session.switch.media.start_recording(session, data.split(" ")[0])


async def app_export(session: Session, data: str | None) -> None:
    """``export VAR=VALUE``: set it and list it in ``export_vars``."""
    if not data:
        session.log("ERR", "mod_dptools.c:1775", "No variable name specified.")
        return
    channel = session.channel
    name, _, value = data.partition("=")
    session.log(
        "DEBUG", "switch_channel.c:1335", f"EXPORT (export_vars) [{name}]=[{value or 'UNDEF'}]"
    )
    channel.set_variable(name, value or None)
    exported = [item for item in (channel.get_variable("export_vars") or "").split(",") if item]
    if name not in exported:
        channel.set_variable("export_vars", ",".join([*exported, name]))


async def app_break(session: Session, data: str | None) -> None:
    """``break``: stop what the channel is playing (runs nested inside it)."""
    # FreeSWITCH flushes queued commands when given any argument other than "all".
    if data and data.lower() != "all":
        session.private_events.clear()
    session.channel.break_flag = 1


async def app_sleep(session: Session, data: str | None) -> None:
    """``sleep MS``: a key ends it early unless ``sleep_eat_digits`` is set."""
    if not data:
        session.log("ERR", "mod_dptools.c:2395", "No timeout specified.")
        return
    match = re.match(r"\s*(\d+)", data)
    millis = int(match.group(1)) if match else 0
    await session.sleep(millis, eat_digits=session.channel.variable_true("sleep_eat_digits"))


async def app_park(session: Session, data: str | None) -> None:
    """``park``."""
    await session.park()


async def app_transfer(session: Session, data: str | None) -> None:
    """``transfer DEST [DIALPLAN [CONTEXT]]``."""
    words = (data or "").split()
    if words and words[0] in ("-bleg", "-both"):
        words = words[1:]
    if not words:
        session.log("ERR", "mod_dptools.c:1993", "No extension specified.")
        return
    destination = words[0]
    dialplan = words[1] if len(words) > 1 else "XML"
    context = words[2] if len(words) > 2 else session.channel.profile.context
    session.log(
        "NOTICE",
        "switch_ivr.c:2335",
        f"Transfer {session.channel.name} to {dialplan}[{destination}@{context}]",
    )
    session.transfer(destination, dialplan, context)


async def app_hangup(session: Session, data: str | None) -> None:
    """``hangup [CAUSE]``."""
    session.hangup(data.upper() if data else "NORMAL_CLEARING")


async def app_log(session: Session, data: str | None) -> None:
    """``log [LEVEL] MESSAGE`` (a first word that is no level is dropped, as in FreeSWITCH)."""
    if not data:
        return
    level, space, message = data.partition(" ")
    if not space:
        level, message = "DEBUG", data
    elif level.upper() not in LEVELS:
        level = "DEBUG"
    session.log(level.upper(), "mod_dptools.c:1865", message)


async def app_play_and_get_digits(session: Session, data: str | None) -> None:
    """``play_and_get_digits MIN MAX TRIES TIMEOUT TERMINATORS FILE INVALID [VAR [REGEX [T]]]``.

    Here for fidelity: the digits it collects land in a channel variable that
    every later event carries, which is why paymentd must not use it for cards.
    """
    args = (data or "").split(" ")
    if len(args) < 7:
        session.log(
            "ERR",
            "mod_dptools.c:2196",
            "Usage: <min> <max> <tries> <timeout> <terminators> <file> ...",
        )
        return
    channel = session.channel
    minimum, maximum, tries, timeout = (int(arg) if arg.isdigit() else 0 for arg in args[:4])
    terminators, prompt, invalid = args[4], args[5], args[6]
    variable = args[7] if len(args) > 7 else "pagd_input"
    regex = args[8] if len(args) > 8 else None
    digit_timeout = int(args[9]) if len(args) > 9 and args[9].isdigit() else timeout
    for _ in range(max(tries, 1)):
        channel.set_variable(variable, None)
        digits, terminator = await _collect(
            session, prompt, maximum, terminators, timeout, digit_timeout
        )
        channel.set_variable("read_terminator_used", terminator)
        if len(digits) < max(minimum, 1):
            # Too few keys (or none): a failure, and the partial input stays in the variable.
            channel.set_variable("read_result", "failure")
            channel.set_variable(variable, digits or None)
        else:
            # A regex mismatch is still "success" in read_result, as in FreeSWITCH.
            channel.set_variable("read_result", "success")
            if not regex or re.search(regex, digits):
                channel.set_variable(variable, digits)
                return
            channel.set_variable(f"{variable}_invalid", digits)
        if not channel.ready:
            return
        # The invalid prompt follows every failed try, the last one included.
        await session.play_file(invalid, app="play_and_get_digits", read_keys=False)


async def _collect(
    session: Session, prompt: str, maximum: int, terminators: str, timeout: int, digit_timeout: int
) -> tuple[str, str | None]:
    keys: list[str] = []
    ended: list[str] = []

    def on_key(key: Dtmf) -> bool:
        if key.digit in terminators:
            ended.append(key.digit)
        else:
            keys.append(key.digit)
        return True

    await session.play_file(prompt, app="play_and_get_digits", on_key=on_key)
    clock = session.switch.clock
    while not ended and len(keys) < maximum and session.channel.ready:
        wait = (digit_timeout if keys else timeout) / 1000
        deadline = clock.now() + wait
        key = None
        while key is None and clock.now() < deadline and session.channel.ready:
            await session.next_frame(deadline - clock.now())
            await session.parse_all_events()
            key = session.dequeue_dtmf()
        if key is None:
            break
        on_key(key)
    return "".join(keys), (ended[0] if ended else None)


DPTOOLS: dict[str, App] = {
    "answer": app_answer,
    "pre_answer": app_pre_answer,
    "playback": app_playback,
    "endless_playback": app_endless_playback,
    "set": app_set,
    "unset": app_unset,
    "export": app_export,
    "record_session": app_record_session,
    "break": app_break,
    "sleep": app_sleep,
    "park": app_park,
    "transfer": app_transfer,
    "hangup": app_hangup,
    "log": app_log,
    "play_and_get_digits": app_play_and_get_digits,
}
