"""Payload codec: pickle protocol 5 with out-of-band buffers, cloudpickle where pickle fails.

Plain pickle is 5x faster than cloudpickle, so arguments and results try it first; functions,
initializers and startup callables go through cloudpickle (lambdas, closures, ``__main__``),
once per worker. Buffers of at least ``OOB_MIN`` bytes (numpy arrays, ``PickleBuffer``) travel
out of band as frames of their own, so they are never copied into the pickle stream.

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
import sys
import types
import weakref
from typing import Optional

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


def dumps_callable(obj: object) -> bytes:
    """Pickle a function-like object (a function, a bound method, ``(func, args)``).

    By reference when plain pickle can, as multiprocessing does: a worker forked from the
    manager, or one that loaded the main script as spawn does, then runs the very function
    with the very module globals the initializer set. Whatever refers to ``__main__`` also
    travels by value (cloudpickle), for the worker that lacks it (a function defined after
    the workers started, a worker that cannot read the script); what plain pickle refuses
    (lambdas, closures) travels by value only. The source file of by-value functions goes
    along so remote tracebacks name it, never ``<dynamic-code>``.
    """
    try:
        ref: Optional[bytes] = pickle.dumps(obj, 5)
    except Exception:  # lambdas, closures, local functions
        ref = None
    val = None
    if ref is None or b"__main__" in ref:
        import cloudpickle
        try:
            val = cloudpickle.dumps(obj, 5)
        except Exception:
            # e.g. a global it reads is a lock, which only inheritance can share: then only
            # the reference goes, good for every worker that has the script.
            if ref is None:
                raise
    return pickle.dumps((ref, val, _main_file(obj)), 5)


def value_stamp(func: types.FunctionType) -> Optional[tuple]:
    """What ``dumps_callable(func)`` depends on, to compare by identity; ``None``: it may
    depend on more, pickle it every time.

    A function of another module without a closure travels by reference: its stamp is
    ``()``. One of ``__main__`` also travels by value, with the globals its code names: its
    stamp holds its code, its defaults and those globals (the same again for the functions
    of ``__main__`` among them), and it is ``None`` if any of these could change in place
    (a list, a dict, an array, a class of ``__main__``), since then only pickling again sees
    the change. So a cached pickle is one that pickling again would give.
    """
    if func.__closure__ is not None:
        return None
    if func.__module__ != "__main__":
        return ()
    out: list = []
    return tuple(out) if _stamp(func, out, set()) else None


_FIXED = frozenset({int, float, complex, bool, str, bytes, type(None), type(Ellipsis)})


def _stamp(func: types.FunctionType, out: list, seen: set) -> bool:
    seen.add(id(func))
    if func.__closure__ is not None or func.__dict__:
        return False
    code, space = func.__code__, func.__globals__
    out += (code, func.__defaults__)
    values = list(func.__defaults__ or ()) + list((func.__kwdefaults__ or {}).values())
    for name in _global_names(code):
        value = space.get(name, _stamp)  # _stamp: "not bound", never a global's value
        out.append(value)
        values.append(value)
    for item in (func.__kwdefaults__ or {}).items():
        out += item
    for value in values:
        t = type(value)
        if t in _FIXED or value is _stamp:
            continue
        if t is tuple or t is frozenset:
            if all(type(v) in _FIXED for v in value):
                continue
            return False
        if t is types.FunctionType:
            if value.__module__ != "__main__":
                if value.__closure__ is None:
                    continue
                return False
            if id(value) in seen or _stamp(value, out, seen):
                continue
            return False
        if t is types.ModuleType:
            if value.__name__ != "__main__" and sys.modules.get(value.__name__) is value:
                continue  # by reference
            return False
        if t is types.BuiltinFunctionType and type(value.__self__) is types.ModuleType:
            continue  # math.sqrt, not a bound method of some list
        if isinstance(value, type) and value.__module__ != "__main__":
            continue  # by reference
        return False
    return True


def _global_names(code: types.CodeType) -> tuple:
    names = _NAMES.get(code)
    if names is None:
        found = set(code.co_names)
        for c in code.co_consts:
            if isinstance(c, types.CodeType):
                found.update(_global_names(c))
        names = _NAMES[code] = tuple(sorted(found))
    return names


_NAMES: "weakref.WeakKeyDictionary[types.CodeType, tuple]" = weakref.WeakKeyDictionary()


def loads_callable(data) -> object:
    """The object ``dumps_callable`` pickled: by reference where this process has it, else
    by value, with functions of ``__main__`` rebound to this process's ``__main__`` module,
    so that tasks see the globals the initializer set (one namespace, as in the stdlib)."""
    ref, val, filename = pickle.loads(data)
    if ref is not None:
        try:
            return pickle.loads(ref)
        except (AttributeError, ImportError, pickle.UnpicklingError):
            if val is None:
                raise
    obj = pickle.loads(val)
    if isinstance(obj, tuple):
        return tuple(_rebind(item, filename) for item in obj)
    return _rebind(obj, filename)


def _main_file(obj: object) -> Optional[str]:
    func = obj[0] if isinstance(obj, tuple) and obj else obj
    func = getattr(func, "__func__", func)
    code = getattr(func, "__code__", None)
    return getattr(code, "co_filename", None)


def _rebind(obj: object, filename: Optional[str]) -> object:
    """A by-value function of ``__main__``, made to live in this process's ``__main__``.

    Names the function uses that ``__main__`` lacks here are added from what travelled
    with it; names it has (a global the initializer set) are kept.
    """
    func = getattr(obj, "__func__", obj)
    if type(func) is not types.FunctionType:
        return obj
    if filename:
        _set_filename(func, filename)
    main = sys.modules.get("__main__")
    if func.__module__ != "__main__" or main is None or func.__globals__ is vars(main):
        return obj
    space = vars(main)
    for name, value in func.__globals__.items():
        if name not in space:
            if filename and type(value) is types.FunctionType and value.__module__ == "__main__":
                _set_filename(value, filename)
            space[name] = value
    new = types.FunctionType(func.__code__, space, func.__name__, func.__defaults__,
                             func.__closure__)
    new.__kwdefaults__ = func.__kwdefaults__
    new.__dict__.update(func.__dict__)
    new.__qualname__, new.__doc__ = func.__qualname__, func.__doc__
    new.__module__, new.__annotations__ = func.__module__, func.__annotations__
    if func is obj:
        return new
    return types.MethodType(new, obj.__self__)  # type: ignore[attr-defined]


def _set_filename(func: types.FunctionType, filename: str) -> None:
    if func.__code__.co_filename != filename:
        try:
            func.__code__ = _code_in(func.__code__, filename)
        except (AttributeError, TypeError, ValueError):
            pass  # an unusual callable: its traceback names <dynamic-code>


def _code_in(code: types.CodeType, filename: str) -> types.CodeType:
    """``code`` and the code objects nested in it (inner functions, lambdas), in ``filename``."""
    consts = tuple(_code_in(c, filename) if isinstance(c, types.CodeType) else c
                   for c in code.co_consts)
    return code.replace(co_filename=filename, co_consts=consts)


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


def loads_raised(data) -> tuple[BaseException | None, Exception | None, object, list, str]:
    """A RAISED payload: (exception, error rebuilding it, tblib frames, text lines, type name).

    The exception is None when it did not pickle on the worker, or when rebuilding it here
    failed (that error is then the second item).

    The exception is a pickle of its own inside the payload, so one that cannot be rebuilt
    here (a required constructor argument, a module only the worker has) still leaves the
    remote type name and traceback text. Raises only for a payload that is not RAISED's.
    """
    blob, frames, text, name = loads(data)
    if blob is None:
        return None, None, frames, text, name
    try:
        return loads(blob), None, frames, text, name
    except Exception as exc:
        return None, exc, frames, text, name
