# The compiled accelerator (paymentd/esl/_speedups.pyx); see paymentd/esl/_accel.py.
from collections.abc import Callable
from typing import Any

class WireFields:
    _data: bytes
    _end: int
    _encoded: object
    _lower: bytes | None
    _body_start: int
    _length_at: int

class ParserFields:
    _buf: bytes | bytearray
    _pos: int
    _scan: int
    _pending: tuple[Any, int] | None
    _eof: object
    max_header_bytes: int
    max_content_length: int

def bind_headers(
    needles: dict[str, tuple[bytes, int] | None],
    needle: Callable[[str], tuple[bytes, int] | None],
    wire_headers: type[WireFields],
    event_headers: type[WireFields],
) -> None: ...
def bind_parser(
    pure_next_message: Callable[..., object],
    by_raw_name: dict[Any, tuple[type, str]],
    event_class: Callable[..., tuple[type, str]],
    body: object,
    slots: tuple[object, object, object],
) -> None: ...
def wire_get(self: WireFields, name: str, default: str | None = None) -> str | None: ...
def wire_get_bytes(self: WireFields, name: str) -> bytes | None: ...
def wire_value_at(self: WireFields, start: int) -> bytes: ...
def wire_find(self: WireFields, needle: tuple[bytes, int], after: int = -1) -> int: ...
def event_block_end(self: WireFields) -> int: ...
def next_message(self: ParserFields) -> Any: ...
