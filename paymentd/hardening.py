"""Process hardening for a process that holds card data in memory.

A core dump or a ptrace attach would expose PANs: disable both (PROTOCOL.md,
"core dumps").  Failures are logged, never fatal: the daemon still runs on
platforms without ``prctl``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import resource

__all__ = ["harden_process"]

log = logging.getLogger("paymentd")

_PR_SET_DUMPABLE = 4


def harden_process() -> dict[str, bool]:
    """Set RLIMIT_CORE to 0 and PR_SET_DUMPABLE to 0; report what took effect."""
    done = {"core_limit": False, "not_dumpable": False}
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        done["core_limit"] = True
    except (OSError, ValueError) as exc:
        log.warning("could not disable core dumps: %s", exc)
    libc_name = ctypes.util.find_library("c")
    if libc_name:
        try:
            libc = ctypes.CDLL(libc_name, use_errno=True)
            if libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0) == 0:
                done["not_dumpable"] = True
            else:
                log.warning("prctl(PR_SET_DUMPABLE, 0) failed: errno %d", ctypes.get_errno())
        except (OSError, AttributeError) as exc:
            log.warning("prctl unavailable: %s", exc)
    return done
