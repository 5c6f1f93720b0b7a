"""Pickling function-like objects: by reference where the receiver has them, by value
(cloudpickle) where it may not, with functions of ``__main__`` rebound to the receiver's
``__main__`` and their source file kept for tracebacks."""

from __future__ import annotations

import io
import pickle
import sys
import types
import weakref
from typing import Optional


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
    refused: Optional[Exception] = None
    spy = _MainSpy()
    try:
        ref: Optional[bytes] = spy.dumps(obj)
    except Exception as exc:  # lambdas, closures, local functions
        ref, refused = None, exc
    val = None
    if ref is None or spy.main:
        import cloudpickle
        try:
            val = cloudpickle.dumps(obj, 5)
        except Exception:
            # e.g. a global it reads is a lock, which only inheritance can share: then only
            # the reference goes, good for every worker that has the script.
            if refused is not None:
                # Neither can: pickle's error is the one the stdlib's pool raises (a method
                # of an object holding a file: "cannot pickle '_io.TextIOWrapper' object").
                raise refused from None
    return pickle.dumps((ref, val, _main_file(obj)), 5)


class _MainSpy(pickle.Pickler):
    """Plain pickle that notes whether it referred to anything of ``__main__``.

    Asked of each object it pickles that is not a plain container or scalar (functions,
    classes, instances): searching the pickle for ``b"__main__"`` afterwards cost ~0.4 ms a
    megabyte (a partial holding an array, pickled again for every call)."""

    def __init__(self) -> None:
        self._out = io.BytesIO()
        super().__init__(self._out, 5)
        self.main = False

    def dumps(self, obj: object) -> bytes:
        self.dump(obj)
        return self._out.getvalue()

    def reducer_override(self, obj: object) -> object:
        if not self.main:
            kind = type(obj)
            if (kind.__module__ == "__main__"
                    or (kind in _NAMED or isinstance(obj, type))
                    and getattr(obj, "__module__", None) == "__main__"):
                self.main = True
        return NotImplemented


_NAMED = frozenset({types.FunctionType, types.BuiltinFunctionType, types.MethodType})


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
    return loads_parts(pickle.loads(data))


def loads_parts(parts: tuple) -> object:
    """``loads_callable`` of ``pickle.loads(data)``: for a worker that loads the same
    callable again for every task (a callable object, whose state no task may see another
    task change), so that only its own pickle is read each time, not the envelope too."""
    ref, val, filename = parts
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
