"""Fingerprints of callables that stay the same from one run of a program to the next.

The journal (``journal.py``) recognises a task it has seen before by a digest of its function
and its pickled arguments. The function cannot be identified by the bytes it travels as:
cloudpickle gives a class defined in ``__main__`` a fresh random id in every process, a set
constant pickles in hash-seed order, and how ``__main__`` functions travel depends on the
launcher (by value, or by reference to forked workers). So a callable is identified here by
what it *is*:

* a Python function by its module, qualified name and code (bytecode, constants, names;
  not its file or line numbers, so moving it in the file keeps its results), its defaults and
  the values its closure captured;
* a function or class that cannot be imported by name (from ``__main__``, or local to another
  function) also by the module-level functions, classes and values its code refers to, as
  cloudpickle would carry them;
* a lock, a semaphore, a condition, an event or a barrier (``threading``'s or
  ``multiprocessing``'s) by its type: it holds no data, and pickles only in a process
  being started;
* anything else (builtins, instances, ``functools.partial``...) by its ordinary pickle, in
  which the functions and classes above are replaced by their fingerprints.

A change that none of these see (the code of an *imported* module-level function's callees,
a module-level constant read by an importable function) is not noticed: the journal's
documented assumption is that tasks are deterministic functions of their inputs and code.
"""

from __future__ import annotations

import _thread
import hashlib
import io
import pickle
import sys
from types import CodeType, FunctionType, ModuleType
from typing import Any, Optional

_LOCKS = (_thread.LockType, _thread.RLock)

# Class attributes every class has, which say nothing of what it does.
_SKIP_ATTRS = frozenset(("__dict__", "__weakref__", "__module__", "__doc__", "__qualname__",
                        "__slotnames__"))  # the last, a cache copyreg adds on first pickle


def fingerprint(obj: Any) -> Optional[bytes]:
    """A 16-byte digest of ``obj`` that a later run of the same program reproduces.

    None when ``obj`` (or something it holds) cannot be pickled at all: such a task is never
    journaled, and simply runs.
    """
    try:
        return hashlib.blake2b(_dumps(obj, set()), digest_size=16).digest()
    except Exception:
        return None


def _fp(*parts: Any) -> None:
    """Stands in the fingerprint stream for a function or class; never called."""


def _dumps(obj: Any, active: set) -> bytes:
    out = io.BytesIO()
    _Pickler(out, active).dump(obj)
    return out.getvalue()


class _Pickler(pickle._Pickler):  # type: ignore[name-defined]
    """Plain pickle, with functions and non-importable classes replaced by what they are.

    The pure-Python pickler, because the C one never consults us for sets, whose order
    follows the hash seed and so changes from one run to the next.
    """

    dispatch = pickle._Pickler.dispatch.copy()  # type: ignore[attr-defined]

    def __init__(self, file: io.BytesIO, active: set) -> None:
        super().__init__(file, 5)
        self._active = active  # ids being fingerprinted: a recursive function refers to itself

    def reducer_override(self, obj: Any) -> Any:
        if obj is _fp:
            return NotImplemented  # by reference, as any importable function
        if type(obj) is FunctionType:
            return self._guarded(obj, _function_parts)
        if isinstance(obj, type) and not _importable(obj):
            return self._guarded(obj, _class_parts)
        if isinstance(obj, ModuleType):
            return _fp, ("module", obj.__name__)
        if type(obj) in _LOCKS or type(obj).__module__ == "multiprocessing.synchronize":
            # A lock, a semaphore, an event... holds no data a result could depend on, and
            # pickles only in a process being started: it counts by its type.
            return _fp, ("sync", type(obj).__qualname__)
        if isinstance(obj, (staticmethod, classmethod)):
            return _fp, (type(obj).__name__, _value_digest(obj.__func__, self._active))
        if isinstance(obj, property):
            return _fp, ("property", *(_value_digest(f, self._active)
                                       for f in (obj.fget, obj.fset, obj.fdel)))
        return NotImplemented

    def _guarded(self, obj: Any, parts: Any) -> Any:
        if id(obj) in self._active:
            return _fp, ("again", obj.__module__, obj.__qualname__)
        self._active.add(id(obj))
        try:
            return _fp, parts(obj, self._active)
        finally:
            self._active.discard(id(obj))


    def _save_set(self, obj: Any) -> None:
        self.save_reduce(_fp, (type(obj).__name__,
                               sorted(_value_digest(v, self._active) for v in obj)), obj=obj)

    dispatch[set] = dispatch[frozenset] = _save_set


def _function_parts(func: FunctionType, active: set) -> tuple:
    cells = tuple(_cell_value(c, active) for c in func.__closure__ or ())
    parts: tuple = ("function", func.__module__, func.__qualname__, code_digest(func.__code__),
                    _value_digest(func.__defaults__, active),
                    _value_digest(func.__kwdefaults__, active), cells)
    if not _importable(func):
        parts += (_globals_digest(func, active),)
    return parts


def _class_parts(cls: type, active: set) -> tuple:
    attrs = tuple(sorted((name, _value_digest(value, active))
                         for name, value in vars(cls).items() if name not in _SKIP_ATTRS))
    bases = tuple(_value_digest(b, active) for b in cls.__bases__)
    return ("class", cls.__module__, cls.__qualname__, bases, attrs)


def _cell_value(cell: Any, active: set) -> bytes:
    try:
        value = cell.cell_contents
    except ValueError:  # a cell not filled yet
        return b"empty"
    return _value_digest(value, active)


def _value_digest(value: Any, active: set) -> bytes:
    """The digest of one value; a value that cannot be pickled counts by its type's name."""
    try:
        data = _dumps(value, active)
    except Exception:
        t = type(value)
        data = f"unpicklable {t.__module__}.{t.__qualname__}".encode()
    return hashlib.blake2b(data, digest_size=16).digest()


def _globals_digest(func: FunctionType, active: set) -> bytes:
    """The module-level names the function's code reads, as cloudpickle would carry them."""
    g = func.__globals__
    names = sorted(n for n in _code_names(func.__code__) if n in g)
    return hashlib.blake2b(b"".join(n.encode() + b"=" + _value_digest(g[n], active)
                                    for n in names), digest_size=16).digest()


def _code_names(code: CodeType) -> set:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, CodeType):
            names |= _code_names(const)
    return names


def code_digest(code: CodeType) -> bytes:
    """What the code does, not where it is: line numbers and file names are left out."""
    h = hashlib.blake2b(digest_size=16)
    for part in (code.co_code, getattr(code, "co_exceptiontable", b""),
                 repr((code.co_argcount, code.co_posonlyargcount, code.co_kwonlyargcount,
                       code.co_flags, code.co_names, code.co_varnames, code.co_freevars,
                       code.co_cellvars)).encode()):
        h.update(len(part).to_bytes(8, "little"))
        h.update(part)
    for const in code.co_consts:
        h.update(_const_digest(const))
    return h.digest()


def _const_digest(const: Any) -> bytes:
    if isinstance(const, CodeType):
        return code_digest(const)
    if isinstance(const, (tuple, frozenset)):
        parts = [_const_digest(c) for c in const]
        if isinstance(const, frozenset):
            parts.sort()  # iteration order follows the hash seed, which changes every run
        return hashlib.blake2b(type(const).__name__.encode() + b"".join(parts),
                               digest_size=16).digest()
    # The remaining constants are str, bytes, numbers, None, Ellipsis: repr is exact.
    return hashlib.blake2b(f"{type(const).__name__}:{const!r}".encode(), digest_size=16).digest()


def _importable(obj: Any) -> bool:
    """True when ``module.qualname`` names this very object in a module other than __main__."""
    module_name = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", "")
    if not module_name or module_name in ("__main__", "__mp_main__") or "<locals>" in qualname:
        return False
    found: Any = sys.modules.get(module_name)
    for part in qualname.split("."):
        found = getattr(found, part, None)
    return found is obj
