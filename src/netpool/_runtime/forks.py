"""A pool belongs to the process that made it: what a forked child does with its parent's.

After ``fork()`` the child holds copies of the manager's sockets and state but none of its
threads. If it used them, its tasks would travel on the parent's links with a copy of the
parent's task-id counter, and the workers' answers would resolve the parent's tasks with the
child's values. So, as the stdlib's own pool cannot be used after fork either, every call on
an inherited ``DistributedPool`` or ``Manager`` raises :class:`~netpool.errors.ForkedPoolError`
at once, and nothing is ever sent on the parent's links.

One at-fork hook (``os.register_at_fork``) serves every kind of child: a user's ``os.fork()``,
``multiprocessing``'s fork start method, a local worker forked from the manager process. In
the child it records the new pid (what the facades compare against, without a system call)
and closes the child's copies of every descriptor of the parent's runtimes: a plain close,
never ``shutdown``, so the parent's links are untouched and a forked worker inherits no
netpool descriptor. It takes no lock: the parent's threads may have held any of them.
"""

from __future__ import annotations

import os
import weakref
from typing import Any

from ..errors import ForkedPoolError

pid = os.getpid()  # this process's pid, kept current by the at-fork hook below

_owned: "weakref.WeakSet[Any]" = weakref.WeakSet()  # objects with a _disown() method


def own(obj: Any) -> None:
    """Have ``obj._disown()`` called in every forked child (it must not take locks)."""
    _owned.add(obj)


def release(obj: Any) -> None:
    """``obj`` has closed its descriptors itself: a child must not close those numbers again."""
    _owned.discard(obj)


def check(owner: int, what: str) -> None:
    """Raise ``ForkedPoolError`` unless this is process ``owner``, the one that made ``what``."""
    if owner != pid:
        raise ForkedPoolError(
            f"this {what} belongs to process {owner} and cannot be used in process {pid}, "
            f"a child forked from it: create a new {what} in the child (as with "
            f"multiprocessing.Pool); nothing was sent")


def close_copies(socks: list, selector: Any, waker: Any) -> None:
    """In a forked child: close its copies of a runtime's descriptors.

    No lock (the parent's threads may have held it) and no ``shutdown``, which would cut the
    parent's links too. Closing through the objects leaves them knowing they are closed, so
    nothing closes a descriptor number reused since.
    """
    for sock in socks:
        sock.close()
    selector.close()
    waker.close()


def _after_fork_in_child() -> None:
    global pid
    pid = os.getpid()
    for obj in list(_owned):
        try:
            obj._disown()
        except Exception:  # never fail a fork over our own cleanup
            pass
    _owned.clear()


os.register_at_fork(after_in_child=_after_fork_in_child)
