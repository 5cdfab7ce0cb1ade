"""Write ``paymentd config-example`` into README.md between its markers (``make readme``)."""

from __future__ import annotations

import sys
from pathlib import Path

from paymentd.config_doc import config_example

README = Path(__file__).resolve().parent.parent / "README.md"
START = "<!-- config-example:start -->"
END = "<!-- config-example:end -->"


def readme_with_config(text: str) -> str:
    """``text`` with the configuration block between the markers replaced by the current one."""
    head, found, rest = text.partition(START)
    _old, found_end, tail = rest.partition(END)
    if not (found and found_end):
        raise SystemExit(f"README.md lacks the markers {START} / {END}")
    return f"{head}{START}\n```toml\n{config_example()}```\n{END}{tail}"


if __name__ == "__main__":
    README.write_text(readme_with_config(README.read_text()))
    sys.exit(0)
