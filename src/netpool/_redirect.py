"""What ``netpool run`` puts in place of the multiprocessing module's Pool."""

from __future__ import annotations

import multiprocessing
import multiprocessing.context
import multiprocessing.pool
import types
from typing import Any, Callable, Optional

from .pool import DistributedPool

__all__ = ["redirect_pools"]


def redirect_pools(launchers: Callable[[], Any], host: Optional[str]) -> None:
    """Make every way to create a multiprocessing Pool create a ``DistributedPool``.

    ``multiprocessing.Pool``, ``multiprocessing.pool.Pool`` (so that subclasses and
    ``isinstance`` checks work) and every context's ``Pool`` (a spawn context gets
    fresh-interpreter workers); ``launchers()`` gives the ``workers=`` to use (None: local).
    Thread pools stay the stdlib's.
    """

    class Pool(DistributedPool):
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
                    f"state={self._state} pool_size={self._processes}>")

    Pool.__module__, Pool.__qualname__ = "multiprocessing.pool", "Pool"  # prints as the stdlib's

    def make_pool(processes: Optional[int] = None, *a: Any, **kw: Any) -> DistributedPool:
        return Pool(processes, *a, **kw)

    def context_pool(self: Any, processes: Optional[int] = None, *a: Any, **kw: Any) -> Any:
        kw.setdefault("context", self)
        return Pool(processes, *a, **kw)

    _pin_stdlib_pool(multiprocessing.pool)
    multiprocessing.Pool = make_pool  # type: ignore[assignment]
    multiprocessing.pool.Pool = Pool  # type: ignore[misc]
    multiprocessing.context.BaseContext.Pool = context_pool  # type: ignore[method-assign]


def _pin_stdlib_pool(module: Any) -> None:
    """Keep the stdlib's own Pool code on the stdlib's Pool once the module's ``Pool`` is ours.

    Its methods name the module global (``Pool._get_tasks``, ``Pool._handle_workers``), and
    ``ThreadPool.__init__`` calls ``Pool.__init__``: replaced, ``ThreadPool`` and
    ``multiprocessing.dummy.Pool``, thread pools, would break. Their functions get a copy
    of the module's globals in which ``Pool`` stays the stdlib's class.
    """
    scope = dict(vars(module))
    for cls in (module.Pool, module.ThreadPool):
        for name, attr in list(vars(cls).items()):
            wrap = type(attr) if isinstance(attr, (staticmethod, classmethod)) else None
            fn = attr.__func__ if wrap else attr
            if not isinstance(fn, types.FunctionType) or fn.__globals__ is not vars(module):
                continue
            pinned = types.FunctionType(fn.__code__, scope, fn.__name__, fn.__defaults__,
                                        fn.__closure__)
            pinned.__kwdefaults__, pinned.__qualname__ = fn.__kwdefaults__, fn.__qualname__
            pinned.__doc__, pinned.__dict__ = fn.__doc__, fn.__dict__
            setattr(cls, name, wrap(pinned) if wrap else pinned)
