"""Payload codec: pickle protocol 5 with out-of-band buffers, cloudpickle where pickle fails.

Plain pickle is 5x faster than cloudpickle, so arguments and results try it first; functions,
initializers and startup callables go through cloudpickle (lambdas, closures, ``__main__``),
once per worker (``callables.py``). Buffers of at least ``OOB_MIN`` bytes (numpy arrays,
``PickleBuffer``) travel out of band as frames of their own, so they are never copied into
the pickle stream.

So do ``bytes`` and ``bytearray`` objects of at least ``BLOB_MIN`` bytes ("blobs"), wherever
they are in the value. Pickle writes them in-band and has no hook for exact ``bytes``, so a
stream that holds one (seen from its layout, not by walking the object) is pickled again with a
``persistent_id`` that takes them out. The channel receives them in place, a ``bytes`` blob
straight into a ``bytes`` object. A blob that is the value itself is taken out without the
first pickling; blobs next to something only cloudpickle can pickle stay in-band.
"""

from __future__ import annotations

import io
import pickle
import struct

# Callables have a module of their own; callers know them as codec's.
from .callables import dumps_callable, loads_callable, value_stamp  # noqa: F401

OOB_MIN = 64 * 1024
BLOB_MIN = 1 << 20

_BLOB_MARK = b"\x00"  # first byte of a payload with blobs; a pickle stream starts with \x80
_COUNT = struct.Struct("<I")


def _keep_small_in_band(buf: pickle.PickleBuffer) -> bool:
    # A true return value keeps the buffer inside the pickle stream.
    return buf.raw().nbytes < OOB_MIN


def dumps(obj: object, by_value: bool = True) -> tuple[bytes, list]:
    """Pickle ``obj``; returns the stream and the out-of-band buffers.

    With ``by_value``, what plain pickle refuses (a lambda inside the arguments) is retried
    with cloudpickle. Results are sent without it, as multiprocessing does: an unpicklable
    result becomes ``MaybeEncodingError`` rather than a function the caller did not expect.
    Raises what pickle raises for an object nothing can pickle.
    """
    bufs: list = []

    def collect(buf: pickle.PickleBuffer) -> bool:
        if _keep_small_in_band(buf):
            return True
        bufs.append(buf.raw())
        return False

    try:
        t = type(obj)
        if (t is bytes or t is bytearray) and len(obj) >= BLOB_MIN:  # type: ignore[arg-type]
            return _dumps_blobs(obj, collect, bufs)  # before pickling copies it
        data = pickle.dumps(obj, 5, buffer_callback=collect)
        if len(data) >= BLOB_MIN and _holds_blobs(data):
            bufs.clear()
            return _dumps_blobs(obj, collect, bufs)
        return data, bufs
    except (pickle.PicklingError, AttributeError, TypeError):
        if not by_value:
            raise
        bufs.clear()
        out = io.BytesIO()
        _by_value_pickler()(out, 5, buffer_callback=collect).dump(obj)
        return out.getvalue(), bufs


_BY_VALUE: "type | None" = None


def _by_value_pickler() -> type:
    """cloudpickle's pickler, minus its copy of files opened for reading.

    An open file in the arguments is refused with the stdlib's TypeError, as under
    multiprocessing: a copy of its contents would be a different program (no shared offset,
    writes lost), and code that tests for the error would take the other branch.
    """
    global _BY_VALUE
    if _BY_VALUE is None:
        import collections
        import cloudpickle

        def refuse(obj: object) -> None:
            t = type(obj)
            raise TypeError(f"cannot pickle '{t.__module__}.{t.__qualname__}' object")

        class Pickler(cloudpickle.Pickler):
            dispatch_table = collections.ChainMap({io.TextIOWrapper: refuse},
                                                  cloudpickle.Pickler.dispatch_table)

        _BY_VALUE = Pickler
    return _BY_VALUE


# Pickle writes a payload of 64 KiB or more outside its frames, right after its opcode and
# length: opcode -> (width of the length field, whether it is a bytes or bytearray payload).
_LARGE = {0x42: (4, True), 0x8E: (8, True), 0x96: (8, True),   # BINBYTES(8), BYTEARRAY8
          0x58: (4, False), 0x8D: (8, False)}                  # BINUNICODE(8)
_FRAME = 0x95
_U4, _U8 = struct.Struct("<I"), struct.Struct("<Q")


def dumps_in_band(obj: object) -> bytes:
    """Pickle ``obj`` into one stream, buffers and blobs included (cloudpickle if need be).

    For payloads that travel without buffers of their own (an exception inside RAISED).
    Raises what pickle raises for an object nothing can pickle.
    """
    try:
        return pickle.dumps(obj, 5)
    except (pickle.PicklingError, AttributeError, TypeError):
        import cloudpickle
        return cloudpickle.dumps(obj, 5)


def _holds_blobs(data: bytes) -> bool:
    """Whether a protocol-5 stream holds a bytes or bytearray payload of ``BLOB_MIN`` or more.

    Reads only the stream's layout: frames, and large payloads between them (a frame of
    under 4 bytes is written without its header), about one step per 64 KiB. A stream laid
    out otherwise counts as holding one: the slow path then decides, and is always right.
    """
    n, pos = len(data), 2
    while pos < n:
        for skip in range(4):
            if pos + skip >= n:
                return False
            segment = _segment(data, pos + skip, n)
            if segment is not None:
                break
        else:
            return True
        pos, blob = segment
        if blob:
            return True
    return False


def _segment(data: bytes, pos: int, n: int) -> "tuple[int, bool] | None":
    """(end, is a blob) of the frame or large payload at ``pos``, or None if it is neither."""
    op = data[pos]
    if op == _FRAME:
        if pos + 9 > n:
            return None
        end = pos + 9 + _U8.unpack_from(data, pos + 1)[0]
        return (end, False) if end <= n else None
    spec = _LARGE.get(op)
    if spec is None:
        return None
    width, is_bytes = spec
    if pos + 1 + width > n:
        return None
    size = (_U4 if width == 4 else _U8).unpack_from(data, pos + 1)[0]
    end = pos + 1 + width + size
    if size < 65536 or end > n:
        return None
    return end, is_bytes and size >= BLOB_MIN


class _BlobPickler(pickle.Pickler):
    """Writes blobs as persistent ids: their index in ``blobs``, ``~index`` for ``bytes``."""

    def __init__(self, file: io.BytesIO, collect, blobs: list) -> None:
        super().__init__(file, 5, buffer_callback=collect)
        self._blobs = blobs
        self._seen: dict = {}  # id(blob) -> its persistent id: a blob shared is sent once

    def persistent_id(self, obj: object):
        t = type(obj)
        if (t is not bytes and t is not bytearray) or len(obj) < BLOB_MIN:  # type: ignore
            return None
        pid = self._seen.get(id(obj))
        if pid is None:
            self._blobs.append(obj)
            index = len(self._blobs) - 1
            pid = self._seen[id(obj)] = ~index if t is bytes else index
        return pid


def _dumps_blobs(obj: object, collect, bufs: list) -> tuple[bytes, list]:
    """``MARK, count, stream``; the buffers are the stream's own, then the blobs."""
    out, blobs = io.BytesIO(), []
    out.write(_BLOB_MARK)
    out.write(_COUNT.pack(0))
    _BlobPickler(out, collect, blobs).dump(obj)
    data = out.getbuffer()
    _COUNT.pack_into(data, 1, len(blobs))
    del data
    return out.getvalue(), bufs + blobs


def loads(data, buffers=()) -> object:
    """Unpickle what ``dumps`` made; ``buffers`` are its out-of-band buffers as received.

    A blob comes back as the very buffer received when it has the right type (the channel
    delivers ``bytes`` blobs as ``bytes``), else as a copy of it. Raises what pickle raises.
    """
    if data[:1] != _BLOB_MARK:
        return pickle.loads(data, buffers=buffers)
    (count,) = _COUNT.unpack_from(data, 1)
    buffers = list(buffers)
    split = len(buffers) - count
    if count > len(buffers):
        raise pickle.UnpicklingError(f"{count} blobs announced, {len(buffers)} buffers given")
    blobs = buffers[split:]
    unpickler = pickle.Unpickler(io.BytesIO(memoryview(data)[_COUNT.size + 1:]),
                                 buffers=buffers[:split])

    def blob(pid: object) -> object:
        if type(pid) is not int or not -len(blobs) <= pid < len(blobs):
            raise pickle.UnpicklingError(f"no blob {pid!r}")
        if pid < 0:
            b = blobs[~pid]
            return b if type(b) is bytes else bytes(b)
        b = blobs[pid]
        return b if type(b) is bytearray else bytearray(b)

    unpickler.persistent_load = blob
    return unpickler.load()


def loads_raised(data) -> tuple[BaseException | None, Exception | None, object, list, str,
                                str | None]:
    """A RAISED payload: (exception, error rebuilding it, tblib frames, text lines, type name,
    why it did not pickle on the worker).

    The exception is None when it did not pickle on the worker (the last item then says
    why, as the pickling error's repr), or when rebuilding it here failed (that error is
    then the second item).

    The exception is a pickle of its own inside the payload, so one that cannot be rebuilt
    here (a required constructor argument, a module only the worker has) still leaves the
    remote type name and traceback text. Raises only for a payload that is not RAISED's.
    """
    blob, frames, text, name = loads(data)
    if type(blob) is not bytes:  # it did not pickle there: why
        return None, None, frames, text, name, blob
    try:
        return loads(blob), None, frames, text, name, None
    except Exception as exc:
        return None, exc, frames, text, name, None
