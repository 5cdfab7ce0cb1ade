# cython: language_level=3, boundscheck=True, wraparound=False, initializedcheck=True
"""The ESL codec's hot path, compiled: an optional accelerator, never the reference.

The pure-Python code in :mod:`paymentd.esl.headers` and :mod:`paymentd.esl.parser`
says what every function here must return; ``tests/esl/test_speedups.py`` checks
that they agree, and ``PAYMENTD_PURE_PYTHON=1`` turns this module off.  What it
adds is speed only:

* :class:`WireFields` and :class:`ParserFields` hold the state of ``WireHeaders``
  and ``FrameParser`` (the same attribute names as their pure-Python slots), so
  that compiled code reads it without attribute look-ups;
* :func:`wire_get`, :func:`wire_find` and :func:`event_block_end` replace the
  header look-ups: the case-insensitive search for a name at a line start is a
  scan of line starts, with no lower-cased copy of the block;
* :func:`next_message` takes FreeSWITCH's own event frames whole and builds their
  typed events, and hands every other case to the pure-Python method.

Memory: every read of a buffer is of a ``bytes`` (or ``bytearray``) object held
for the whole call, at an index checked against its length first; no Python code
runs between taking a buffer's address and the last read through it.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.bytearray cimport PyByteArray_AS_STRING, PyByteArray_GET_SIZE
from cpython.dict cimport PyDict_GetItem
from cpython.object cimport PyObject, PyTypeObject, Py_TYPE
from cpython.unicode cimport PyUnicode_DecodeUTF8
from libc.string cimport memchr, memcmp

cdef extern from "Python.h":
    bint PyBytes_CheckExact(object)
    bint PyByteArray_CheckExact(object)


cdef class WireFields:
    """The state of a ``WireHeaders`` (see its pure-Python twin, ``_PyWireFields``)."""

    cdef public object _data
    cdef public Py_ssize_t _end
    cdef public object _encoded
    cdef public object _lower
    cdef public Py_ssize_t _body_start
    cdef public Py_ssize_t _length_at


cdef class ParserFields:
    """The state of a ``FrameParser`` (see its pure-Python twin, ``_PyParserFields``)."""

    cdef public object _buf
    cdef public Py_ssize_t _pos
    cdef public Py_ssize_t _scan
    cdef public object _pending
    cdef public object _eof
    cdef public Py_ssize_t max_header_bytes
    cdef public Py_ssize_t max_content_length


# What the pure-Python modules hand over at import (see bind_headers, bind_parser).
cdef dict _NEEDLES = {}
cdef object _needle = None
cdef object _pure_get = None
cdef object _pure_find = None
cdef object _pure_block_end = None
cdef object _pure_get_bytes = None
cdef object _pure_value_at = None
cdef type _EventHeaders = None
cdef object _pure_next_message = None
cdef dict _BY_RAW_NAME = {}
cdef object _event_class = None
cdef object _BODY = None
cdef object _HEADERS_SLOT = None
cdef object _BODY_SLOT = None
cdef object _NAME_SLOT = None
cdef tuple _NO_ARGS = ()


def bind_headers(dict needles, needle, type wire_headers, type event_headers):
    """Called once by ``paymentd.esl.headers``: its name cache, and its classes, whose
    pure-Python methods still serve data that is not a ``bytes`` object."""
    global _NEEDLES, _needle, _pure_get, _pure_get_bytes, _pure_find, _pure_value_at
    global _pure_block_end, _EventHeaders
    if not issubclass(event_headers, wire_headers) or not issubclass(wire_headers, WireFields):
        raise TypeError("WireHeaders must keep its state in WireFields")
    _NEEDLES, _needle = needles, needle
    _pure_get, _pure_get_bytes = wire_headers.get, wire_headers.get_bytes
    _pure_find, _pure_value_at = wire_headers._find, wire_headers._value_at
    _pure_block_end = event_headers._block_end
    _EventHeaders = event_headers


def bind_parser(pure_next_message, dict by_raw_name, event_class, body, slots):
    """Called once by ``paymentd.esl.parser``: the pure ``next_message`` (every case
    but a whole event frame), and what ``event_from_plain`` builds events with."""
    global _pure_next_message, _BY_RAW_NAME, _event_class, _BODY
    global _HEADERS_SLOT, _BODY_SLOT, _NAME_SLOT
    headers_slot, body_slot, name_slot = slots
    for slot in slots:
        # Member descriptors of the attrs class: their __set__ checks the instance's type.
        if Py_TYPE(slot).tp_descr_set == NULL:
            raise TypeError(f"{slot!r} cannot be set")
    _pure_next_message, _BY_RAW_NAME, _event_class, _BODY = (
        pure_next_message, by_raw_name, event_class, body
    )
    _HEADERS_SLOT, _BODY_SLOT, _NAME_SLOT = headers_slot, body_slot, name_slot


cdef inline unsigned char _lower(unsigned char c) noexcept nogil:
    # bytes.lower(): ASCII A-Z only.
    return c + 32 if 65 <= c <= 90 else c


cdef Py_ssize_t _line_value(
    const unsigned char* data, Py_ssize_t limit, const unsigned char* name, Py_ssize_t n,
    Py_ssize_t after,
) noexcept nogil:
    """Where the value starts of the first line of ``data[:limit]`` that starts after
    ``after`` with ``name`` (lower case, its colon included, ``n`` bytes) in any case,
    or -1.  A line starts at 0 and after every ``\\n``; the name must end by ``limit``."""
    cdef Py_ssize_t s, i
    cdef const unsigned char* q
    cdef unsigned char first
    if n <= 0:
        return -1
    first = name[0]
    if after < 0:
        s = 0
    else:
        # The first line start >= after + 1: just after a newline at >= after.
        if after >= limit:
            return -1
        q = <const unsigned char*>memchr(data + after, 10, <size_t>(limit - after))
        if q == NULL:
            return -1
        s = (q - data) + 1
    while s + n <= limit:
        if _lower(data[s]) == first:
            i = 1
            while i < n and _lower(data[s + i]) == name[i]:
                i += 1
            if i == n:
                return s + n
        q = <const unsigned char*>memchr(data + s, 10, <size_t>(limit - s))
        if q == NULL:
            return -1
        s = (q - data) + 1
    return -1


cdef Py_ssize_t _find2(
    const unsigned char* data, Py_ssize_t start, Py_ssize_t stop, unsigned char a, unsigned char b
) noexcept nogil:
    """``data.find(bytes([a, b]), start, stop)`` for ``0 <= start``, ``stop <= len(data)``."""
    cdef const unsigned char* q
    while start + 2 <= stop:
        q = <const unsigned char*>memchr(data + start, a, <size_t>(stop - 1 - start))
        if q == NULL:
            return -1
        start = q - data
        if data[start + 1] == b:
            return start
        start += 1
    return -1


cdef Py_ssize_t _find_crlf_blank(
    const unsigned char* data, Py_ssize_t start, Py_ssize_t stop
) noexcept nogil:
    """``data.find(b"\\n\\r\\n", start, stop)`` for ``0 <= start``, ``stop <= len(data)``."""
    cdef const unsigned char* q
    while start + 3 <= stop:
        q = <const unsigned char*>memchr(data + start, 10, <size_t>(stop - 2 - start))
        if q == NULL:
            return -1
        start = q - data
        if data[start + 1] == 13 and data[start + 2] == 10:
            return start
        start += 1
    return -1


cdef Py_ssize_t _block_end(WireFields self) except -2:
    """``EventHeaders._block_end``: the block ends at the first blank line after a
    Content-Length header, or at the end of the data; found once, then kept."""
    if not PyBytes_CheckExact(self._data):
        raise TypeError("EventHeaders data must be bytes")
    cdef bytes data = self._data
    cdef const unsigned char* p = <const unsigned char*>PyBytes_AS_STRING(data)
    cdef Py_ssize_t size = PyBytes_GET_SIZE(data)
    cdef Py_ssize_t end = size, value, blank, crlf
    value = _line_value(p, size, <const unsigned char*>b"content-length:", 15, -1)
    if value >= 0:
        self._length_at = value
        blank = _find2(p, value, size, 10, 10)
        crlf = _find_crlf_blank(p, value, size if blank < 0 else blank + 2)
        if crlf >= 0:
            end = crlf
            self._body_start = crlf + 3
        elif blank >= 0:
            end = blank
            self._body_start = blank + 2
    self._end = end
    return end


cdef inline Py_ssize_t _end_of(WireFields self) except -2:
    cdef Py_ssize_t end = self._end
    if end >= 0:
        return end
    if type(self) is _EventHeaders and PyBytes_CheckExact(self._data):
        return _block_end(self)
    return self._block_end()


def event_block_end(WireFields self):
    """``EventHeaders._block_end``, compiled."""
    if self._end >= 0:
        return self._end
    if not PyBytes_CheckExact(self._data):
        return _pure_block_end(self)
    return _block_end(self)


cdef inline int _hex(unsigned char c) noexcept nogil:
    if 48 <= c <= 57:
        return c - 48
    if 65 <= c <= 70:
        return c - 55
    if 97 <= c <= 102:
        return c - 87
    return -1


cdef bytes _unquote(const unsigned char* p, Py_ssize_t n):
    """``urllib.parse.unquote_to_bytes``: ``%XX`` with two hex digits is a byte,
    any other ``%`` stays; the result is never longer than the input."""
    cdef bytes out = PyBytes_FromStringAndSize(NULL, n)
    cdef unsigned char* o = <unsigned char*>PyBytes_AS_STRING(out)
    cdef Py_ssize_t i = 0, k = 0
    cdef int hi, lo
    while i < n:
        if p[i] == 37 and i + 2 < n:
            hi = _hex(p[i + 1])
            lo = _hex(p[i + 2])
            if hi >= 0 and lo >= 0:
                o[k] = <unsigned char>(hi * 16 + lo)
                k += 1
                i += 3
                continue
        o[k] = p[i]
        k += 1
        i += 1
    if k == n:
        return out
    return PyBytes_FromStringAndSize(<const char*>o, k)


cdef object _value(bytes data, object encoded, Py_ssize_t start, Py_ssize_t end, bint text):
    """``_value_at`` (and ``get``'s inlined copy of it): the value from ``start`` to
    its line's end, spaces before it and one CR after it dropped, percent-decoded
    when the block is encoded; text (lenient UTF-8) or bytes."""
    cdef const unsigned char* p = <const unsigned char*>PyBytes_AS_STRING(data)
    cdef Py_ssize_t size = PyBytes_GET_SIZE(data)
    cdef Py_ssize_t stop
    cdef const unsigned char* q
    if end > size:
        end = size
    if not 0 <= start <= end:
        raise IndexError(f"value at {start} outside the block [0, {end}]")
    q = <const unsigned char*>memchr(p + start, 10, <size_t>(end - start))
    stop = end if q == NULL else q - p
    while start < stop and p[start] == 32:
        start += 1
    if stop > start and p[stop - 1] == 13:
        stop -= 1
    if encoded and memchr(p + start, 37, <size_t>(stop - start)) != NULL:
        raw = _unquote(p + start, stop - start)
        if text:
            return PyUnicode_DecodeUTF8(PyBytes_AS_STRING(raw), PyBytes_GET_SIZE(raw), "replace")
        return raw
    if text:
        return PyUnicode_DecodeUTF8(<const char*>p + start, stop - start, "replace")
    return PyBytes_FromStringAndSize(<const char*>p + start, stop - start)


cdef inline bint _plain_block(WireFields self, object data):
    """The block is a ``bytes`` object that ends inside it (where the pure-Python
    methods' slicing and the compiled scans agree); otherwise they are used."""
    return PyBytes_CheckExact(data) and self._end <= PyBytes_GET_SIZE(data)


cdef inline object _needle_of(name):
    cdef PyObject* found = PyDict_GetItem(_NEEDLES, name)
    if found != NULL and <object>found is not None:
        return <object>found
    return _needle(name)


cdef Py_ssize_t _find(
    WireFields self, bytes data, bytes needle, Py_ssize_t after, Py_ssize_t* end
) except -2:
    """``_find``: where the value starts of the first line named by ``needle``
    (``b"\\n<name lower-cased>:"``) that starts after ``after``, if it starts by the
    block's end, or -1; and in ``end``, an end for that value's line."""
    cdef const unsigned char* p = <const unsigned char*>PyBytes_AS_STRING(data)
    cdef const unsigned char* name = <const unsigned char*>PyBytes_AS_STRING(needle) + 1
    cdef Py_ssize_t n = PyBytes_GET_SIZE(needle) - 1
    cdef Py_ssize_t size = PyBytes_GET_SIZE(data)
    cdef Py_ssize_t s = 0, i, e
    cdef const unsigned char* q
    cdef const unsigned char* length_name = <const unsigned char*>b"content-length:"
    if self._end < 0 and after < 0 and n > 0 and type(self) is _EventHeaders:
        # An event whose block's end is not known yet: a line before its first
        # Content-Length header is in the block, so look for both in one pass, and
        # find the end only when that header comes first.
        while s + n <= size:
            if _lower(p[s]) == name[0]:
                i = 1
                while i < n and _lower(p[s + i]) == name[i]:
                    i += 1
                if i == n:
                    end[0] = size
                    return s + n
            if _lower(p[s]) == 99 and s + 15 <= size:
                i = 1
                while i < 15 and _lower(p[s + i]) == length_name[i]:
                    i += 1
                if i == 15:
                    e = _block_end(self)
                    end[0] = e
                    return _line_value(p, e if e < size else size, name, n, s - 1)
            q = <const unsigned char*>memchr(p + s, 10, <size_t>(size - s))
            if q == NULL:
                # Every line seen, none of them Content-Length: the block is the data.
                self._end = size
                return -1
            s = (q - p) + 1
        return -1
    e = _end_of(self)
    end[0] = e
    if e < 0:
        return -1
    return _line_value(p, e if e < size else size, name, n, after)


def wire_get(WireFields self, name, default=None):
    """``WireHeaders.get``, compiled: the first value of ``name``, or ``default``."""
    cdef Py_ssize_t end = -1, start
    data = self._data
    if not _plain_block(self, data):
        return _pure_get(self, name, default)
    needle = _needle_of(name)
    if needle is None:
        return default
    start = _find(self, <bytes>data, <bytes?>(<tuple?>needle)[0], -1, &end)
    if start < 0:
        return default
    return _value(<bytes>data, self._encoded, start, end, True)


def wire_get_bytes(WireFields self, name):
    """``WireHeaders.get_bytes``, compiled: the first value of ``name`` as bytes, or ``None``."""
    cdef Py_ssize_t end = -1, start
    data = self._data
    if not _plain_block(self, data):
        return _pure_get_bytes(self, name)
    needle = _needle_of(name)
    if needle is None:
        return None
    start = _find(self, <bytes>data, <bytes?>(<tuple?>needle)[0], -1, &end)
    if start < 0:
        return None
    return _value(<bytes>data, self._encoded, start, end, False)


def wire_value_at(WireFields self, Py_ssize_t start):
    """``WireHeaders._value_at``, compiled (the block's end found first if need be,
    since the compiled ``_find`` may answer without it)."""
    cdef Py_ssize_t end
    data = self._data
    if not _plain_block(self, data) or start < 0:
        return _pure_value_at(self, start)
    end = _end_of(self)
    if end < 0 or self._data is not data:
        return _pure_value_at(self, start)
    return _value(<bytes>data, self._encoded, start, end, False)


def wire_find(WireFields self, needle, Py_ssize_t after=-1):
    """``WireHeaders._find``, compiled: where the value of the first line named by
    ``needle`` whose value starts after ``after`` starts, or -1."""
    cdef Py_ssize_t end = -1
    data = self._data
    if not _plain_block(self, data):
        return _pure_find(self, needle, after)
    return _find(self, <bytes>data, <bytes?>needle[0], after, &end)


# The frame FreeSWITCH writes in front of every plain event (parser._EVENT_FRAME).
cdef bytes _LENGTH = b"Content-Length: "
cdef bytes _TYPE = b"\nContent-Type: text/event-plain\n\n"
cdef bytes _NAME = b"Event-Name: "


cdef inline bint _plain(unsigned char c) noexcept nogil:
    # [!-$&-~]: printable ASCII but space and "%".
    return 33 <= c <= 126 and c != 37


cdef object _event(bytes body, object raw_name):
    """``messages.event_from_plain(body, raw_name)``."""
    cdef WireFields headers = <WireFields>WireFields.__new__(_EventHeaders)
    headers._data = body
    headers._end = -1
    headers._encoded = True
    headers._lower = None
    headers._body_start = -1
    headers._length_at = -1
    cdef PyObject* found = NULL
    if raw_name is not None:
        found = PyDict_GetItem(_BY_RAW_NAME, raw_name)
    if found != NULL and <object>found:
        known = <tuple?>(<object>found)
    else:
        known = <tuple?>_event_class(headers, body, raw_name)
    cdef type cls = <type?>known[0]
    if (<PyTypeObject*>cls).tp_new == NULL:
        raise TypeError(f"cannot create {cls!r} instances")
    event = (<PyTypeObject*>cls).tp_new(cls, <PyObject*>_NO_ARGS, NULL)
    Py_TYPE(_HEADERS_SLOT).tp_descr_set(_HEADERS_SLOT, event, headers)
    Py_TYPE(_BODY_SLOT).tp_descr_set(_BODY_SLOT, event, _BODY)
    Py_TYPE(_NAME_SLOT).tp_descr_set(_NAME_SLOT, event, known[1])
    return event


def next_message(ParserFields self):
    """``FrameParser.next_message``, compiled for an event in FreeSWITCH's own framing;
    every other case is the pure-Python method's."""
    cdef const unsigned char* p
    cdef Py_ssize_t size, pos, i, digits, start, stop, name_end
    cdef long long length
    cdef bint whole_bytes
    if _pure_next_message is None or _HEADERS_SLOT is None:
        raise RuntimeError("paymentd.esl.parser has not bound the accelerator")
    if self._pending is not None:
        return _pure_next_message(self)
    buf = self._buf
    if PyBytes_CheckExact(buf):
        p = <const unsigned char*>PyBytes_AS_STRING(buf)
        size = PyBytes_GET_SIZE(buf)
        whole_bytes = True
    elif PyByteArray_CheckExact(buf):
        p = <const unsigned char*>PyByteArray_AS_STRING(buf)
        size = PyByteArray_GET_SIZE(buf)
        whole_bytes = False
    else:
        return _pure_next_message(self)
    pos = self._pos
    # Content-Length: ([0-9]{1,12})\nContent-Type: text/event-plain\n\n
    if pos < 0 or size - pos < 16 + 1 + 33:
        return _pure_next_message(self)
    if memcmp(p + pos, PyBytes_AS_STRING(_LENGTH), 16) != 0:
        return _pure_next_message(self)
    i = pos + 16
    length = 0
    digits = 0
    while i < size and digits < 13 and 48 <= p[i] <= 57:
        length = length * 10 + (p[i] - 48)
        i += 1
        digits += 1
    if digits == 0 or digits > 12 or size - i < 33:
        return _pure_next_message(self)
    if memcmp(p + i, PyBytes_AS_STRING(_TYPE), 33) != 0:
        return _pure_next_message(self)
    start = i + 33
    if length > size - start or length > self.max_content_length:
        return _pure_next_message(self)
    stop = start + <Py_ssize_t>length
    # (?:Event-Name: ([!-$&-~]{1,64})\n)?, kept only when that line ends inside the event.
    raw_name = None
    if stop - start > 12 and memcmp(p + start, PyBytes_AS_STRING(_NAME), 12) == 0:
        name_end = start + 12
        while name_end < stop and name_end - start - 12 < 65 and _plain(p[name_end]):
            name_end += 1
        if (
            name_end < stop
            and p[name_end] == 10
            and 1 <= name_end - start - 12 <= 64
        ):
            raw_name = PyBytes_FromStringAndSize(<const char*>p + start + 12, name_end - start - 12)
    body = PyBytes_FromStringAndSize(<const char*>p + start, stop - start)
    # Nothing above ran Python code, so the buffer has not moved; it is not read again.
    if stop < size and whole_bytes:
        self._pos = stop
        if self._scan < stop:
            self._scan = stop
    else:
        self._consume(stop)
    return _event(body, raw_name)
