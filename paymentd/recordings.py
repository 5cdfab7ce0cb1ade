"""Masking a channel's recordings while card data is keyed and read back.

FreeSWITCH lists what runs on a channel's media with ``uuid_buglist <uuid>``: one
``<media-bug>`` per bug, a recording being function ``session_record`` with its path
as target (switch_core_media_bug.c).  ``uuid_record <uuid> mask <path>`` writes
silence into that recording, keeping its timeline, until ``unmask`` (the path is
the key, exactly as listed).  A path with spaces cannot be passed as one argument,
so such a recording cannot be masked: the capture must not go on over it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable

from paymentd.esl import Reply

__all__ = [
    "RecordingNotMaskable",
    "mask_recording",
    "mask_recordings",
    "recordings",
    "unmask_recordings",
]

log = logging.getLogger("paymentd.recordings")

_RECORDING = re.compile(r"<function>session_record</function>\s*<target>([^<]*)</target>")


#: ``api <command>`` on some connection to FreeSWITCH (a call's socket, the inbound one).
Api = Callable[[str], Awaitable[Reply]]


class RecordingNotMaskable(Exception):
    """A recording of the call could not be masked (the message names no path)."""


def recordings(buglist: str) -> list[str]:
    """The paths of the recordings in a ``uuid_buglist`` listing."""
    return _RECORDING.findall(buglist)


async def mask_recordings(api: Api, uuid: str) -> list[str]:
    """Mask every recording running on ``uuid``; return their paths (to unmask later).

    Raises :class:`RecordingNotMaskable` when one cannot be masked, after unmasking
    those already masked.
    """
    reply = await api(f"uuid_buglist {uuid}")
    masked: list[str] = []
    try:
        for path in recordings(reply.text if reply.ok else ""):
            await mask_recording(api, uuid, path)
            masked.append(path)
    except Exception:
        await unmask_recordings(api, uuid, masked)
        raise
    return masked


async def mask_recording(api: Api, uuid: str, path: str) -> None:
    """Mask the recording of ``path`` on ``uuid`` (:class:`RecordingNotMaskable` if not)."""
    if not path or any(c.isspace() for c in path):
        raise RecordingNotMaskable("a recording of the call has a path with spaces")
    if not (await api(f"uuid_record {uuid} mask {path}")).ok:
        raise RecordingNotMaskable("FreeSWITCH refused to mask a recording of the call")


async def unmask_recordings(api: Api, uuid: str, paths: list[str]) -> None:
    """Unmask ``paths`` on ``uuid``, best effort: a recording (or the call) may have
    ended meanwhile, and whatever went wrong is what the caller reports."""
    for path in paths:
        try:
            await api(f"uuid_record {uuid} unmask {path}")
        except Exception as exc:  # the connection or the call is gone: nothing to unmask
            log.info("recording not unmasked (%s)", type(exc).__name__)
