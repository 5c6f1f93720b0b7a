"""Running one task on the worker and encoding its outcome, failures included."""

from __future__ import annotations

from collections.abc import Callable

import pickle
import types
from itertools import starmap

from .._protocol import callables, codec
from .._protocol import messages as M


class Blobs:
    """Callables the manager defined once (DEFINE) and tasks refer to by id."""

    def __init__(self) -> None:
        self._raw: dict[int, "bytes | tuple"] = {}  # as sent, or unpacked (``get``)
        self._loaded: dict[int, object] = {}

    def define(self, blob_id: int, data: bytes) -> None:
        self._raw[blob_id] = data

    def forget(self, blob_ids: list) -> None:
        """FORGET: no task of the manager's uses these any more (a task running one keeps
        its own reference)."""
        for bid in blob_ids:
            self._raw.pop(bid, None)
            self._loaded.pop(bid, None)

    def __len__(self) -> int:
        return len(self._raw) + len(self._loaded)

    def get(self, blob_id: int) -> object:
        """The callable, loaded once if it has no state a task could change (a function, a
        class, a builtin), afresh for each task otherwise (a bound method, a callable
        instance, a partial): the stdlib pickles the callable with every task, so no task
        sees what an earlier one did to it. A class that wants to be kept says so with a
        true ``__netpool_keep__``."""
        try:
            return self._loaded[blob_id]
        except KeyError:
            raw = self._raw[blob_id]
            if type(raw) is tuple:  # a callable object's, unpacked by an earlier task
                return callables.loads_parts(raw)
            parts = pickle.loads(raw)
            obj = callables.loads_parts(parts)
            if type(obj) in _STATELESS or isinstance(obj, type) or getattr(
                    type(obj), "__netpool_keep__", False):
                self._loaded[blob_id] = obj
                del self._raw[blob_id]
            else:
                self._raw[blob_id] = parts
            return obj


_STATELESS = frozenset({types.FunctionType, types.BuiltinFunctionType})


class Runner:
    """Executes tasks; keeps the current context's startup value between tasks."""

    def __init__(self, blobs: Blobs) -> None:
        self.blobs = blobs
        self._context = None  # blob id of the context whose startup ran last
        self._setup: tuple = ()
        self.in_task = False  # the main thread runs a task's code: SIGINT interrupts it

    def run(self, kind: int, blob_id: int, payload: bytes, bufs: list) -> tuple[int, bytes, list]:
        """Run one task; returns (status, payload, buffers). Never raises for task errors."""
        try:
            self.in_task = True
            arg = codec.loads_callable(payload) if kind == M.CONTEXT else codec.loads(payload, bufs)
            value = self._call(kind, blob_id, arg)
        except BaseException as exc:  # even SystemExit: the task's failure is its result
            self.in_task = False
            return encode_error(exc)
        self.in_task = False
        return encode_value(value)

    def on_sigint(self, signum: int, frame: object) -> None:
        """SIGINT (Ctrl-C reaches every process of the terminal): a ``KeyboardInterrupt``
        inside a task, as in a stdlib worker, so a task that catches it (to save its work)
        does so; between tasks it is ignored, and the manager decides what stops."""
        if self.in_task:
            raise KeyboardInterrupt

    def _call(self, kind: int, blob_id: int, arg: object) -> object:
        if kind == M.CONTEXT:
            return arg(*self._setup_for(blob_id))
        func: Callable = self.blobs.get(blob_id)
        if kind == M.CALL:
            args, kwds = arg
            return func(*args, **kwds)
        if kind == M.MAP:
            return list(map(func, arg))
        if kind == M.STARMAP:
            return list(starmap(func, arg))
        raise ValueError(f"unknown task kind {kind}")

    def _setup_for(self, blob_id: int) -> tuple:
        if blob_id != self._context:
            self._context = None  # a failed startup is retried by the next task
            startup = self.blobs.get(blob_id) if blob_id else None
            self._setup = tuple(startup()) if startup is not None else ()
            self._context = blob_id
        return self._setup


def encode_value(value: object) -> tuple[int, bytes, list]:
    try:
        data, bufs = codec.dumps(value, by_value=False)
        return M.OK, data, bufs
    except Exception as exc:  # the value cannot be pickled: say why, keep the worker
        return M.UNENCODABLE, pickle.dumps((repr(exc), _safe_repr(value))), []


def encode_error(exc: BaseException) -> tuple[int, bytes, list]:
    frames = exc.__traceback__
    while frames is not None and frames.tb_frame.f_code.co_filename == __file__:
        frames = frames.tb_next  # the user's frames only, not ours
    import traceback  # only on failure: it costs 5 ms at start-up
    text = traceback.format_exception(type(exc), exc, frames)
    if frames is None and text[0] != "Traceback (most recent call last):\n":
        # Raised by a builtin called as the task (pool.map(int, ...)): no frame of the user's,
        # but the stdlib's text still has its header, above its pool.py frames.
        text.insert(0, "Traceback (most recent call last):\n")
    tb = None
    try:
        from tblib import Traceback
        tb = Traceback(frames).as_dict()
    except Exception:
        pass
    name = f"{type(exc).__module__}.{type(exc).__qualname__}"
    exc.__traceback__ = None  # frames hold locals that may not pickle
    exc.__context__ = exc.__cause__ = None
    # The exception travels pickled on its own, inside: one the manager cannot rebuild (a
    # required constructor argument, a module only we have) still leaves it the type name
    # and the traceback text. One that does not pickle here sends why instead, with those.
    try:
        blob: bytes | str = codec.dumps_in_band(exc)
    except Exception as err:
        blob = repr(err)
    for frames in (tb, None):
        try:
            return M.RAISED, codec.dumps_in_band((blob, frames, text, name)), []
        except Exception:
            continue
    raise AssertionError("unreachable: strings always pickle")


def _safe_repr(value: object) -> str:
    try:
        return repr(value)
    except Exception as exc:
        return f"<unrepresentable {type(value).__name__}: {exc!r}>"
