"""The callable registry: one id per distinct pickled callable, shared by every task using it."""

from __future__ import annotations

import itertools
import threading
import weakref
from types import FunctionType as _FunctionType
from typing import Any, Callable, Optional

from .._protocol import codec


class Blobs:
    """Callables by id. Thread-safe: any thread defines, the loop thread reads.

    Id 0 means "no callable" (a Context without a startup).
    """

    def __init__(self, on_new: Optional[Callable[[int, Any, str], None]] = None) -> None:
        self._on_new = on_new  # told (id, callable, name) of each new one: the journal
        self._ids = itertools.count(1)
        self._data: dict[int, bytes] = {}
        self._by_bytes: dict[bytes, int] = {}
        self._names: dict[int, str] = {}  # for error messages: which function
        self._by_func: "weakref.WeakKeyDictionary[Any, int]" = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def define(self, obj: Any, data: Optional[bytes] = None) -> int:
        """A blob id for a callable (same bytes, same id); raises what pickling it raises.

        A plain module-level function pickles by reference to the same bytes every time, so
        its id is cached by identity: cloudpickle costs ~25 us, a third of a small ``apply``.
        """
        cacheable = (data is None and type(obj) is _FunctionType and obj.__closure__ is None
                     and obj.__module__ != "__main__")
        if cacheable:
            bid = self._by_func.get(obj)
            if bid is not None:
                return bid
        data = codec.dumps_callable(obj) if data is None else data
        with self._lock:
            bid = self._by_bytes.get(data)
            if bid is None:
                bid = self._by_bytes[data] = next(self._ids)
                self._data[bid] = data
                self._names[bid] = getattr(obj, "__qualname__", None) or type(obj).__name__
                if self._on_new is not None:
                    self._on_new(bid, obj, self._names[bid])
            if cacheable:
                self._by_func[obj] = bid
            return bid

    def data(self, bid: int) -> bytes:
        return self._data[bid]

    def name(self, bid: int) -> str:
        """What the callable is called, for error messages ('' if unknown)."""
        return self._names.get(bid, "")
