"""What ``netpool run`` puts in place of the multiprocessing module's Pool."""

from __future__ import annotations

import inspect
import multiprocessing
import multiprocessing.context
import multiprocessing.pool
import types
from typing import Any, Callable, Optional

from . import _taskqueue as taskqueue
from .pool import DistributedPool

__all__ = ["redirect_pools"]


def redirect_pools(launchers: Callable[[], Any], host: Optional[str]) -> None:
    """Make every way to create a multiprocessing Pool create a ``DistributedPool``.

    ``multiprocessing.Pool``, ``multiprocessing.pool.Pool`` (so that subclasses and
    ``isinstance`` checks work) and every context's ``Pool`` (a spawn context gets
    fresh-interpreter workers); ``launchers()`` gives the ``workers=`` to use (None: local).
    Thread pools stay the stdlib's.
    """

    class Pool(DistributedPool, metaclass=_AlsoStdlib):
        """Stands for multiprocessing.pool.Pool, so subclasses and isinstance checks work."""

        def __init__(self, processes: Optional[int] = None, *a: Any, **kw: Any) -> None:
            chosen = launchers()
            if chosen is not None:
                kw["workers"] = chosen
            if host is not None:
                kw.setdefault("host", host)
            super().__init__(processes, *a, **kw)

        def __repr__(self) -> str:
            return (f"<{type(self).__module__}.{type(self).__qualname__} "
                    f"state={self._state} pool_size={len(self._pool)}>")  # as the stdlib

        # What the istarmap recipe uses of the stdlib's internals (see _taskqueue.py).
        _get_tasks = staticmethod(taskqueue.get_tasks)

        def _guarded_task_generation(self, job: int, func: Callable, iterable: Any) -> Any:
            return taskqueue.guarded_tasks(job, func, iterable)

        @property
        def _taskqueue(self) -> taskqueue.TaskQueue:
            return taskqueue.TaskQueue(self)

    Pool.__module__, Pool.__qualname__ = "multiprocessing.pool", "Pool"  # prints as the stdlib's
    _named_as_the_stdlibs(Pool, multiprocessing.pool.Pool)

    # The stdlib's signature (BaseContext.Pool), and its name in a TypeError. Bound to the
    # default context, as the stdlib's multiprocessing.Pool is: it prints as a bound method,
    # and a class that subclasses it (Stack Overflow's LoggingPool(Pool) recipe) fails with
    # the stdlib's TypeError ("method expected 2 arguments, got 3").
    def make_pool(self: Any, processes: Optional[int] = None,
                  initializer: Optional[Callable] = None, initargs: Any = (),
                  maxtasksperchild: Optional[int] = None) -> Any:
        return Pool(processes, initializer, initargs, maxtasksperchild)

    def context_pool(self: Any, processes: Optional[int] = None,
                     initializer: Optional[Callable] = None, initargs: Any = (),
                     maxtasksperchild: Optional[int] = None) -> Any:
        return Pool(processes, initializer, initargs, maxtasksperchild, context=self)

    make_pool.__qualname__ = context_pool.__qualname__ = "BaseContext.Pool"
    # inspect.signature() as the stdlib's: theirs carry no annotations, and the class's
    # arguments are the stdlib Pool's (a library may pick the keywords it passes by them).
    make_pool.__annotations__, context_pool.__annotations__ = {}, {}
    _AlsoStdlib.signatures[Pool] = inspect.signature(multiprocessing.pool.Pool)

    _AlsoStdlib.also[Pool] = (multiprocessing.pool.Pool,)  # a ThreadPool is one, as there
    _pin_stdlib_pool(multiprocessing.pool)
    default_context = multiprocessing.Pool.__self__  # the stdlib's (or ours, made before)
    multiprocessing.Pool = types.MethodType(make_pool, default_context)  # type: ignore
    multiprocessing.pool.Pool = Pool  # type: ignore[misc]
    multiprocessing.context.BaseContext.Pool = context_pool  # type: ignore[method-assign]
    _redirect_results(multiprocessing.pool)


RESULTS = ("ApplyResult", "MapResult", "IMapIterator", "IMapUnorderedIterator")
_PATCHED_TOGETHER: set = set()  # the stand-ins: what is set on one is set on its classes
# Methods of the stdlib's Pool that netpool's never calls: its queues and worker handling,
# and ``Process``, what it makes each worker with (the nestable-pool recipe's non-daemonic
# workers, Stack Overflow 6974695).
STDLIB_MACHINERY = frozenset({
    "Process", "_setup_queues", "_repopulate_pool", "_repopulate_pool_static", "_maintain_pool",
    "_join_exited_workers", "_handle_workers", "_handle_tasks", "_handle_results"})


class _AlsoStdlib(type):
    """A class that also counts the classes ``also[cls]`` (the stdlib's class it stands for,
    netpool's) and their subclasses as its own in ``isinstance``/``issubclass``:
    ``ThreadPool()`` is a ``multiprocessing.pool.Pool`` and its results ``ApplyResult``s, as
    in the stdlib, and so are netpool's."""

    also: dict = {}
    signatures: dict = {}  # stand-in -> the signature of the stdlib class it stands for

    def __new__(mcs, name: str, bases: tuple, ns: dict, **kw: Any) -> Any:
        # A subclass of the redirected Pool that replaces the stdlib's queues or worker
        # machinery (its Process; joblib's PicklingPool, the base of MemmappingPool, pickles through
        # queues of its own) relies on what netpool's pool does not have: it is built on the
        # stdlib's Pool instead, and works as it does there (local processes only).
        if STDLIB_MACHINERY & set(ns):
            swapped = tuple(_AlsoStdlib.also[b][0] if b in _AlsoStdlib.also
                            and issubclass(b, DistributedPool) else b for b in bases)
            if swapped != bases:
                return type(name, swapped, ns, **kw)
        return super().__new__(mcs, name, bases, ns, **kw)

    def __instancecheck__(cls, obj: Any) -> bool:
        return (type.__instancecheck__(cls, obj)
                or isinstance(obj, _AlsoStdlib.also.get(cls, ())))

    def __subclasscheck__(cls, sub: type) -> bool:
        return (type.__subclasscheck__(cls, sub)
                or issubclass(sub, _AlsoStdlib.also.get(cls, ())))

    @property
    def __signature__(cls) -> Optional[inspect.Signature]:
        # What inspect.signature() gives: the stdlib class's for a stand-in itself; None (the
        # class's own __init__, as usual) for a program's subclass.
        return _AlsoStdlib.signatures.get(cls)

    def __setattr__(cls, name: str, value: Any) -> None:
        # A program that patches a result class (Stack Overflow's Ctrl-C recipe:
        # `IMapIterator.next = wrapper(IMapIterator.next)`) patches every result of that
        # kind, as there: the stdlib's and netpool's too. The wrapped original is the
        # stand-in's method, which runs the classes' own originals (no loop).
        type.__setattr__(cls, name, value)
        if cls in _PATCHED_TOGETHER and not (name.startswith("_") and name not in
                                             ("__iter__", "__next__")):
            for target in _AlsoStdlib.also[cls]:
                type.__setattr__(target, name, value)


def _redirect_results(module: Any) -> None:
    """``multiprocessing.pool.ApplyResult`` (and ``AsyncResult``), ``MapResult``,
    ``IMapIterator``, ``IMapUnorderedIterator``: names that ``isinstance`` accepts netpool's
    results and the stdlib's (thread pools') for, and that still make the stdlib's object
    when called; netpool's results print as the stdlib's
    (``<multiprocessing.pool.ApplyResult object at 0x...>``, also in "... not ready")."""
    from . import pool as ours
    for name in RESULTS:
        theirs, mine = getattr(module, name), getattr(ours, name)
        mine.__module__ = module.__name__

        def make(cls: Any, *a: Any, _theirs: type = theirs, **kw: Any) -> Any:
            if _AlsoStdlib.also.get(cls, (None,))[0] is _theirs:  # the stand-in itself
                return _theirs(*a, **kw)
            return object.__new__(cls)  # a subclass (parmap's): the stdlib's, as before
        # A subclass of the stdlib's, so that a program's subclass inherits what it did.
        stand_in = _AlsoStdlib(name, (theirs,), {
            "__module__": module.__name__, "__qualname__": name, "__doc__": theirs.__doc__,
            "__new__": make, **_either_methods(theirs, mine)})
        _AlsoStdlib.also[stand_in] = (theirs, mine)
        _AlsoStdlib.signatures[stand_in] = inspect.signature(theirs)
        _PATCHED_TOGETHER.add(stand_in)
        setattr(module, name, stand_in)
    module.AsyncResult = module.ApplyResult


def _either_methods(theirs: type, mine: type) -> dict:
    """The public methods of a stand-in result class: called through the class
    (``IMapIterator.next(it)``, ``ApplyResult.get(r)``, as a library that wraps results
    does), each runs netpool's method on netpool's result and the stdlib's on the others
    (a thread pool's, a program's subclass)."""
    methods = {}
    for name in dir(theirs):
        if ((name.startswith("_") and name not in ("__iter__", "__next__"))
                or not callable(getattr(mine, name, None))):
            continue

        def method(self: Any, *a: Any, _mine: Callable = getattr(mine, name),
                   _theirs: Callable = getattr(theirs, name), **kw: Any) -> Any:
            return (_mine if isinstance(self, mine) else _theirs)(self, *a, **kw)
        method.__name__ = name
        method.__qualname__ = f"{theirs.__qualname__}.{name}"
        method.__doc__ = getattr(theirs, name).__doc__
        methods[name] = method
    return methods


def _pin_stdlib_pool(module: Any) -> None:
    """Keep the stdlib's own Pool code on the stdlib's Pool once the module's ``Pool`` is ours.

    Its methods name the module global (``Pool._get_tasks``, ``Pool._handle_workers``), and
    ``ThreadPool.__init__`` calls ``Pool.__init__``: replaced, ``ThreadPool`` and
    ``multiprocessing.dummy.Pool``, thread pools, would break. Their functions get a copy
    of the module's globals in which ``Pool`` stays the stdlib's class.
    """
    scope = dict(vars(module))
    for cls in (module.Pool, module.ThreadPool, *(getattr(module, n) for n in RESULTS)):
        for name, attr in list(vars(cls).items()):
            wrap = type(attr) if isinstance(attr, (staticmethod, classmethod)) else None
            fn = attr.__func__ if wrap else attr
            if not isinstance(fn, types.FunctionType) or fn.__globals__ is not vars(module):
                continue
            pinned = _copy_function(fn, scope)
            setattr(cls, name, wrap(pinned) if wrap else pinned)


def _copy_function(fn: types.FunctionType, space: dict) -> types.FunctionType:
    """``fn`` reading the globals ``space``: the same code, defaults, names and attributes."""
    new = types.FunctionType(fn.__code__, space, fn.__name__, fn.__defaults__, fn.__closure__)
    new.__kwdefaults__, new.__qualname__, new.__doc__ = (fn.__kwdefaults__, fn.__qualname__,
                                                         fn.__doc__)
    new.__dict__.update(fn.__dict__)
    new.__annotations__ = fn.__annotations__
    return new


def _named_as_the_stdlibs(cls: type, stdlib: type) -> None:
    """``cls``'s methods that the stdlib's Pool has, named as there (``Pool.map``): a call with
    wrong arguments then fails with the stdlib's ``TypeError: Pool.map() missing 1 required
    positional argument: 'iterable'``, not ``DistributedPool.map()`` (Python names the
    function by its ``__qualname__``). Inherited methods get copies on ``cls``, so that
    ``DistributedPool``'s own keep their names."""
    for name, theirs in vars(stdlib).items():
        if not isinstance(theirs, types.FunctionType):
            continue
        fn = getattr(cls, name, None)
        if not isinstance(fn, types.FunctionType):
            continue
        if name not in vars(cls):
            fn = _copy_function(fn, fn.__globals__)
            setattr(cls, name, fn)
        fn.__qualname__, fn.__module__ = theirs.__qualname__, stdlib.__module__
