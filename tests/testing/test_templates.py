"""The simulator's package data and test fixtures are what the captures say."""

from __future__ import annotations

import json
from pathlib import Path

from paymentd.testing.events import load_json
from tests.testing.derive_templates import derive_layouts, derive_loopback_call, derive_shapes

HERE = Path(__file__).parent


def test_shipped_layouts_are_derived_from_the_captures(shared_esl: Path) -> None:
    corpus = shared_esl / "corpus"
    assert load_json("event_layouts.json") == json.loads(json.dumps(derive_layouts(corpus)))
    assert load_json("loopback_call.json") == json.loads(json.dumps(derive_loopback_call(corpus)))


def test_capture_shapes_are_derived_from_the_captures(shared_esl: Path) -> None:
    shipped = json.loads((HERE / "capture_shapes.json").read_text())
    assert shipped == json.loads(json.dumps(derive_shapes(shared_esl / "corpus")))


def test_every_modelled_event_has_a_source_and_a_layout() -> None:
    events = load_json("event_layouts.json")["events"]
    for name, entry in events.items():
        file, function, line = entry["source"]
        assert file.endswith(".c")
        assert function
        assert line > 0
        if "/" not in name:
            assert "@base" in entry["layout"], name
