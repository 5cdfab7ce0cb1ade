"""The configuration reference: every key with its default and its documentation.

``paymentd config-example`` prints it as a commented TOML file that loads back
into the defaults; the README's configuration section is the same text, and a
test keeps the two equal.  The documentation of a key is the ``#:`` comment
above its field in the section class, so code and reference cannot drift.
"""

from __future__ import annotations

import argparse
import inspect
import json
import re
import textwrap
from typing import Any

import attrs

from paymentd.config import Config, ListenAddress

__all__ = ["SUBCOMMAND", "config_example"]

_FIELD = re.compile(r"^\s+(\w+)\s*:")


def _field_comments(cls: type) -> dict[str, str]:
    """``#:`` comments directly above each field of ``cls`` (and its bases)."""
    comments: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not attrs.has(klass):
            continue
        try:
            lines = inspect.getsource(klass).splitlines()
        except (OSError, TypeError):
            continue
        pending: list[str] = []
        for line in lines:
            stripped = line.strip()
            if stripped.startswith("#:"):
                pending.append(stripped[2:].strip())
                continue
            match = _FIELD.match(line)
            if match and pending:
                comments[match.group(1)] = " ".join(pending)
            if not stripped.startswith("#"):
                pending = []
    return comments


def _doc(cls: type) -> str:
    doc = inspect.getdoc(cls) or ""
    return doc.split("\n\n", 1)[0].replace("\n", " ")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, ListenAddress):
        return json.dumps(str(value))
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        items = ", ".join(f"{_key(k)} = {_toml_value(v)}" for k, v in value.items())
        return "{ " + items + " }" if items else "{}"
    if attrs.has(type(value)):
        fields = attrs.asdict(value, recurse=False)
        return _toml_value({k: v for k, v in fields.items() if v is not None})
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def _key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else json.dumps(name)


def _is_section(value: Any) -> bool:
    return (
        attrs.has(type(value)) and not isinstance(value, ListenAddress) and _is_table(type(value))
    )


def _is_table(cls: type) -> bool:
    # Small value classes (a route) read better inline; sections with many keys get a table.
    return len(attrs.fields(cls)) > 4 or cls.__name__.endswith(("Config", "Routes"))


def _section(path: str, obj: Any, out: list[str]) -> None:
    cls = type(obj)
    comments = _field_comments(cls)
    header_doc = _doc(cls)
    if path:
        out.append("")
        if header_doc:
            out.extend("# " + line for line in textwrap.wrap(header_doc, 96))
        out.append(f"[{path}]")
    nested: list[tuple[str, Any]] = []
    for field in attrs.fields(cls):
        value = getattr(obj, field.name)
        if _is_section(value):
            nested.append((field.name, value))
            continue
        comment = comments.get(field.name)
        if comment:
            out.extend("# " + line for line in textwrap.wrap(comment, 96))
        if value is None:
            out.append(f"# {field.name} = (not set)")
        else:
            out.append(f"{field.name} = {_toml_value(value)}")
    for name, value in nested:
        _section(f"{path}.{name}" if path else name, value, out)


def config_example(config: Config | None = None) -> str:
    """The whole configuration as commented TOML (the defaults unless ``config`` is given)."""
    out = [
        "# paymentd configuration: every key, with its default.",
        "# Every key is optional; paymentd runs with no file at all.",
    ]
    _section("", config or Config(), out)
    return "\n".join(out).strip() + "\n"


def _run(_args: argparse.Namespace) -> int:
    print(config_example(), end="")
    return 0


SUBCOMMAND = (
    "config-example",
    "print every configuration key with its default, as a commented TOML file",
    lambda parser: None,
    _run,
)
