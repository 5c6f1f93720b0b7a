"""The envelope format: plain data in a byte layout of netpool's own, read with ``struct``.

Why not pickle: an envelope comes from a peer, and the unpickler trusts the stream more than
an envelope may be trusted. Six bytes (``NEWTRUE``, ``LONG_BINPUT 2**24``) make the C
unpickler grow its memo to that index, zeroed, before it looks at anything else (~1 s, and
gigabytes for a larger index); checking the opcodes first (``pickletools.genops``) costs
1.7 ms an envelope. Here every length is checked against the bytes that are really there
before anything is built, so a frame can cost no more time or memory than its own size.

Rules of this file:

* Values are plain data only: None, bool, int, float, str, bytes, list, tuple. Anything else
  raises ``TypeError`` when encoding (a bug of the sender), ``ProtocolError`` when decoding.
* Decoding never recurses deeper than ``MAX_DEPTH`` and never trusts a count: each item takes
  at least one byte, and a count or length is checked against the bytes left before
  anything is built or allocated.
* The messages of tasks and results have fixed layouts of their own (:class:`Rows`), so that
  one ``struct`` call packs or unpacks a whole batch; ``messages.py`` says which. What does
  not fit its layout takes the general form, which the reader accepts too.

General form (little-endian): ``MAGIC`` then one value. A value is a tag byte and its data:
``N``/``T``/``F`` (None, True, False); ``i`` int64; ``L`` u32 length and a signed integer of
that many bytes; ``d`` float64; ``s`` u32 length and UTF-8; ``b`` u32 length and the bytes;
``l``/``t`` u32 count and that many values (list, tuple).

Cost, measured against the pickle it replaces (one result or task: about 1 us more to encode
and to decode on these machines, 2-3x pickle's; a batch of 64 results, 0.3 us more per
result): the price of a reader that a frame cannot make allocate more than its size.
"""

from __future__ import annotations

import struct
from itertools import accumulate, chain
from typing import Any

from ..errors import ProtocolError

MAGIC = 0xE5  # not 0x80, the first byte of a pickle stream: an old peer's frame is refused
ROWS_MAGIC = 0xE6  # a message of rows (``Rows``), its type code next
MAX_DEPTH = 16

_U32, _I64, _F64 = struct.Struct("<I"), struct.Struct("<q"), struct.Struct("<d")
_ONE = _U32.pack(1)
_NO_SIZES = _U32.pack(0)


def encode(msg: Any) -> bytes:
    """The envelope of ``msg``. Raises ``TypeError`` for a value that is not plain data."""
    out = [bytes((MAGIC,))]
    _put(msg, out, 0)
    return b"".join(out)


def _put(v: Any, out: list, depth: int) -> None:
    t = type(v)
    if t is int:
        if -(1 << 63) <= v < (1 << 63):
            out += (b"i", _I64.pack(v))
        else:
            data = v.to_bytes((v.bit_length() + 8) // 8, "little", signed=True)
            out += (b"L", _U32.pack(len(data)), data)
    elif t is bytes:
        out += (b"b", _U32.pack(len(v)), v)
    elif t is str:
        data = v.encode("utf-8", "surrogatepass")
        out += (b"s", _U32.pack(len(data)), data)
    elif v is None:
        out.append(b"N")
    elif t is bool:
        out.append(b"T" if v else b"F")
    elif t is float:
        out += (b"d", _F64.pack(v))
    elif t is list or t is tuple:
        if depth >= MAX_DEPTH:
            raise TypeError(f"an envelope nests at most {MAX_DEPTH} deep")
        out += (b"l" if t is list else b"t", _U32.pack(len(v)))
        for x in v:
            _put(x, out, depth + 1)
    else:
        raise TypeError(f"an envelope holds plain data only, not {t.__name__}")


def decode(frame: Any) -> Any:
    """The value of an envelope. Raises ``ProtocolError`` for anything malformed."""
    data = frame if type(frame) is bytes else bytes(frame)
    if not data or data[0] != MAGIC:
        raise ProtocolError("malformed envelope: not netpool's envelope format "
                            "(a peer of another netpool version?)")
    try:
        value, pos = _get(data, 1, 0)
    except ProtocolError:
        raise
    except (struct.error, UnicodeDecodeError, IndexError) as exc:
        raise ProtocolError(f"malformed envelope: {type(exc).__name__}: {exc}") from None
    if pos != len(data):
        raise ProtocolError(f"malformed envelope: {len(data) - pos} bytes after its value")
    return value


def _length(data: bytes, pos: int) -> tuple[int, int]:
    """A u32 length at ``pos`` that the rest of ``data`` can hold, and where its data starts."""
    (n,) = _U32.unpack_from(data, pos)
    pos += 4
    if n > len(data) - pos:
        raise ProtocolError(f"malformed envelope: {n} announced, {len(data) - pos} bytes left")
    return n, pos


def _get(data: bytes, pos: int, depth: int) -> tuple[Any, int]:
    tag = data[pos]
    pos += 1
    if tag == 0x69:  # i
        return _I64.unpack_from(data, pos)[0], pos + 8
    if tag == 0x62:  # b
        n, pos = _length(data, pos)
        return data[pos:pos + n], pos + n
    if tag == 0x73:  # s
        n, pos = _length(data, pos)
        return data[pos:pos + n].decode("utf-8", "surrogatepass"), pos + n
    if tag == 0x4E:  # N
        return None, pos
    if tag == 0x54 or tag == 0x46:  # T, F
        return tag == 0x54, pos
    if tag == 0x64:  # d
        return _F64.unpack_from(data, pos)[0], pos + 8
    if tag == 0x4C:  # L
        n, pos = _length(data, pos)
        return int.from_bytes(data[pos:pos + n], "little", signed=True), pos + n
    if tag == 0x6C or tag == 0x74:  # l, t
        if depth >= MAX_DEPTH:
            raise ProtocolError(f"malformed envelope: nested deeper than {MAX_DEPTH}")
        n, pos = _length(data, pos)  # each item takes a byte at least
        items = []
        for _ in range(n):
            x, pos = _get(data, pos, depth + 1)
            items.append(x)
        return (items if tag == 0x6C else tuple(items)), pos
    raise ProtocolError(f"malformed envelope: unknown tag {tag:#04x} at {pos - 1}")


class Rows:
    """The fixed layout of one message type made of rows: ``(code, [row, ...][, [size, ...]])``.

    ``fields`` is the ``struct`` code of each field of a row, ``at`` the index of its one
    bytes field (None if it has none; its place in ``fields`` says how its length is
    written), ``sizes`` whether the message ends with a list of buffer sizes. Layout:
    ``ROWS_MAGIC``, the code, u32 rows, the rows' fixed fields, the bytes fields one after
    the other, then (with ``sizes``) u32 count and that many int64s. One ``struct`` call
    packs or unpacks all the rows, so a message of 64 results costs a few microseconds.
    """

    def __init__(self, code: int, fields: str, at: "int | None", sizes: bool) -> None:
        self.code, self.k, self.at, self.sizes = code, len(fields), at, sizes
        self.fields, self.width = fields, struct.calcsize("<" + fields)
        self.prefix = bytes((ROWS_MAGIC, code))
        self._structs: dict[int, struct.Struct] = {}
        # A lone row (a lone task or result, the common case) with the prefix and count:
        # packed or unpacked by one call.
        self._one = struct.Struct("<BBI" + fields)

    def _struct(self, n: int) -> struct.Struct:
        s = self._structs.get(n)
        if s is None:
            s = struct.Struct("<" + self.fields * n)
            if n <= 256:  # the batches that really occur; a peer's odd counts are not kept
                self._structs[n] = s
        return s

    def encode(self, msg: tuple) -> bytes:
        """The frame of ``msg``; raises ``TypeError``/``ValueError``/``struct.error`` if it
        does not fit the layout (the caller then writes it in the general form). The sender
        is our own code: a row of the wrong length is caught by the count ``struct`` checks,
        and its decoder checks everything again."""
        if len(msg) != 2 + self.sizes:
            raise ValueError("not this layout")
        rows, k, at = msg[1], self.k, self.at
        if len(rows) == 1:  # the common case of a lone task or result: no list built
            row = rows[0]
            if at is None:
                parts = [self._one.pack(ROWS_MAGIC, self.code, 1, *row)]
            else:
                blob = row[at]
                parts = [self._one.pack(ROWS_MAGIC, self.code, 1, *row[:at], len(blob),
                                        *row[at + 1:]), blob]
                if self.sizes and not msg[2]:  # and no buffers
                    parts.append(_NO_SIZES)
                    return b"".join(parts)
        else:
            flat = list(chain.from_iterable(rows))
            parts = [self.prefix, _U32.pack(len(rows)), b""]
            if at is not None:
                blobs = flat[at::k]
                flat[at::k] = [len(b) for b in blobs]
                parts += blobs
            parts[2] = self._struct(len(rows)).pack(*flat)
        if self.sizes:
            sizes = msg[2]
            parts += (_U32.pack(len(sizes)), struct.pack(f"<{len(sizes)}q", *sizes)
                      if sizes else b"")
        return b"".join(parts)

    def decode(self, data: bytes) -> tuple:
        """The message in ``data`` (a frame of this layout). Raises ``ProtocolError``."""
        try:
            one = self._one
            if self.at is not None and len(data) >= one.size and data[2:6] == _ONE:
                return self._decode_one(data, one.unpack_from(data))
            (n,), pos = _U32.unpack_from(data, 2), 6
            if n * self.width > len(data) - pos:
                raise ProtocolError(f"malformed envelope: {n} rows in {len(data) - pos} bytes")
            s = self._struct(n)
            flat: Any = s.unpack_from(data, pos)
            pos += s.size
            at = self.at
            if at is not None:
                if n == 1:
                    end = pos + flat[at]
                    rows = [(*flat[:at], data[pos:end], *flat[at + 1:])]
                else:
                    ends = list(accumulate(flat[at::self.k], initial=pos))
                    end = ends[-1]
                    flat = list(flat)
                    flat[at::self.k] = [data[a:b] for a, b in zip(ends, ends[1:])]
                    rows = list(zip(*[iter(flat)] * self.k))
                if end > len(data):
                    raise ProtocolError("malformed envelope: its rows' bytes run past its end")
                pos = end
            else:
                rows = list(zip(*[iter(flat)] * self.k))
            return self._tail(data, pos, rows)
        except struct.error as exc:
            raise ProtocolError(f"malformed envelope: {exc}") from None

    def _decode_one(self, data: bytes, head: tuple) -> tuple:
        """``decode`` for a message of one row, its fields unpacked in ``head``."""
        at, pos = self.at + 3, self._one.size  # (head has the prefix and count first)
        end = pos + head[at]
        if end > len(data):
            raise ProtocolError("malformed envelope: its rows' bytes run past its end")
        rows = [(*head[3:at], data[pos:end], *head[at + 1:])]
        if self.sizes and data[end:] == _NO_SIZES:
            return (self.code, rows, [])
        return self._tail(data, end, rows)

    def _tail(self, data: bytes, pos: int, rows: list) -> tuple:
        """The message of ``rows``, with the buffer sizes that follow them at ``pos`` if the
        layout has them; nothing may follow."""
        if not self.sizes:
            msg: tuple = (self.code, rows)
        else:
            m, pos = _length(data, pos)
            if m * 8 > len(data) - pos:
                raise ProtocolError(f"malformed envelope: {m} sizes announced")
            msg = (self.code, rows, list(struct.unpack_from(f"<{m}q", data, pos)) if m else [])
            pos += m * 8
        if pos != len(data):
            raise ProtocolError(f"malformed envelope: {len(data) - pos} bytes after its rows")
        return msg
