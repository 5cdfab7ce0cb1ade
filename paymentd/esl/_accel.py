"""Whether the ESL codec runs its compiled accelerator, and the switch between the two.

``paymentd/esl/_speedups.pyx`` is compiled when the package is installed with a C
compiler (``pip install -e .``); without one, or with ``PAYMENTD_PURE_PYTHON=1``
in the environment at import, the pure-Python code runs alone.  The pure-Python
methods are the reference: the accelerator replaces a few of them on their classes
(see :func:`replace`), and ``tests/esl/test_speedups.py`` checks that both agree.
"""

from __future__ import annotations

import os
from types import ModuleType

__all__ = ["compiled", "replace", "speedups", "use_compiled"]

PURE_ENV = "PAYMENTD_PURE_PYTHON"


def _load() -> ModuleType | None:
    if os.environ.get(PURE_ENV, "") not in ("", "0"):
        return None
    try:
        from paymentd.esl import _speedups
    except ImportError:
        return None
    return _speedups


speedups = _load()

# (class, attribute, pure-Python method, compiled method), in the order replaced.
_REPLACED: list[tuple[type, str, object, object]] = []


def replace(cls: type, name: str, compiled_method: object) -> None:
    """Use ``compiled_method`` for ``cls.name`` from now on."""
    _REPLACED.append((cls, name, cls.__dict__[name], compiled_method))
    setattr(cls, name, compiled_method)


def compiled() -> bool:
    """True when the compiled methods are in use."""
    return bool(_REPLACED) and all(cls.__dict__[name] is c for cls, name, _, c in _REPLACED)


def use_compiled(on: bool) -> None:
    """Switch every replaced method to its compiled (``True``) or pure-Python form.

    For tests, which compare the two in one process; not thread-safe.
    """
    for cls, name, pure, compiled_method in _REPLACED:
        setattr(cls, name, compiled_method if on else pure)
