"""Builds the ESL codec's optional accelerator (paymentd/esl/_speedups.pyx).

Everything else is in pyproject.toml.  The extension is optional twice over: when
Cython or a C compiler is missing, or the compiler fails, the package installs
without it and runs the pure-Python code (``PAYMENTD_PURE_PYTHON=1`` forces that
at run time), and ``PAYMENTD_NO_EXTENSIONS=1`` skips the build altogether.
"""

from __future__ import annotations

import os
import sys

from setuptools import Extension, setup


def extensions() -> list[Extension]:
    if os.environ.get("PAYMENTD_NO_EXTENSIONS", "") not in ("", "0"):
        return []
    try:
        from Cython.Build import cythonize
    except ImportError:
        print("paymentd: Cython is not installed; using the pure-Python ESL codec", file=sys.stderr)
        return []
    modules = cythonize(
        [Extension("paymentd.esl._speedups", ["paymentd/esl/_speedups.pyx"])],
        compiler_directives={"language_level": "3"},
        quiet=True,
    )
    for module in modules:
        # build_ext then warns and goes on when the compiler is missing or fails.
        module.optional = True
    return modules


setup(ext_modules=extensions())
