"""Payload codec: pickle protocol 5 with out-of-band buffers, cloudpickle where pickle fails.

Plain pickle is 5x faster than cloudpickle, so arguments and results try it first; functions,
initializers and startup callables go through cloudpickle (lambdas, closures, ``__main__``),
once per worker. Buffers of at least ``OOB_MIN`` bytes (numpy arrays, bytearrays) travel out
of band as frames of their own, so they are never copied into the pickle stream.
"""

from __future__ import annotations

import pickle

OOB_MIN = 64 * 1024


def _keep_small_in_band(buf: pickle.PickleBuffer) -> bool:
    # A true return value keeps the buffer inside the pickle stream.
    return buf.raw().nbytes < OOB_MIN


def dumps(obj: object, by_value: bool = True) -> tuple[bytes, list]:
    """Pickle ``obj``; returns the stream and the out-of-band buffers (memoryviews).

    With ``by_value``, what plain pickle refuses (a lambda inside the arguments) is retried
    with cloudpickle. Results are sent without it, as multiprocessing does: an unpicklable
    result becomes ``MaybeEncodingError`` rather than a function the caller did not expect.
    """
    bufs: list = []

    def collect(buf: pickle.PickleBuffer) -> bool:
        if _keep_small_in_band(buf):
            return True
        bufs.append(buf.raw())
        return False

    try:
        return pickle.dumps(obj, 5, buffer_callback=collect), bufs
    except (pickle.PicklingError, AttributeError, TypeError):
        if not by_value:
            raise
        bufs.clear()
        import cloudpickle
        return cloudpickle.dumps(obj, 5, buffer_callback=collect), bufs


def dumps_callable(obj: object) -> bytes:
    """Pickle a function-like object by value where needed (lambdas, closures, __main__).

    cloudpickle replaces the source file of functions it pickles by value with
    ``<dynamic-code>``; we carry the real one along so remote tracebacks name it.
    """
    import cloudpickle
    code = getattr(getattr(obj, "__func__", obj), "__code__", None)
    return cloudpickle.dumps((obj, getattr(code, "co_filename", None)), 5)


def loads_callable(data) -> object:
    obj, filename = pickle.loads(data)
    func = getattr(obj, "__func__", obj)  # a bound method or classmethod: its function
    code = getattr(func, "__code__", None)
    if filename and code is not None and code.co_filename != filename:
        try:
            func.__code__ = code.replace(co_filename=filename)
        except (AttributeError, TypeError, ValueError):
            pass  # a builtin or an unusual callable: the traceback shows <dynamic-code>
    return obj


def loads(data, buffers=()) -> object:
    return pickle.loads(data, buffers=buffers)


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
