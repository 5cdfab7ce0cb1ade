"""The fixed prompts' texts, per language, from ``catalog.toml`` (the single source)."""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Mapping
from importlib import resources

import attrs

__all__ = ["Catalog", "prompt_catalog"]


@attrs.frozen
class Catalog:
    """Prompt name -> language tag -> the text recorded for it."""

    texts: Mapping[str, Mapping[str, str]]

    @property
    def names(self) -> frozenset[str]:
        """Every prompt name."""
        return frozenset(self.texts)

    def text(self, name: str, tag: str) -> str:
        """What prompt ``name`` says in language ``tag``; ``KeyError`` if it has no text there."""
        return self.texts[name][tag]

    def for_language(self, tag: str) -> dict[str, str]:
        """Prompt name -> text of every prompt that has a text in ``tag``."""
        return {name: texts[tag] for name, texts in self.texts.items() if tag in texts}


@functools.cache
def prompt_catalog() -> Catalog:
    """The catalog shipped in the package."""
    data = tomllib.loads(resources.files(__package__).joinpath("catalog.toml").read_text("utf-8"))
    return Catalog({name: dict(texts) for name, texts in data.items()})
