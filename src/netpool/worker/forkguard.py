"""In the worker: a child it forks (in a task) never acts as the worker."""

from __future__ import annotations

import os
import signal
import threading

from . import procfs
from .statuspage import StatusPage

_forked = False  # True in a process forked from the worker (by a task)
_main_thread_forking = False


def guard_children(chan, status: StatusPage) -> None:
    """After ``fork()`` in a task, the child closes its copy of the worker's link (so the
    manager sees EOF when the worker dies, and the child can never send on it) and no longer
    writes the status page; a child forked by the main thread dies with the worker
    (PDEATHSIG; not from other threads, whose end would kill it). ``Serve`` makes a child
    that returns into the worker's loop exit at once (:func:`forked`)."""
    main = threading.main_thread().ident

    def before() -> None:
        global _main_thread_forking
        _main_thread_forking = threading.get_ident() == main

    def after_in_child() -> None:
        global _forked
        _forked = True
        status.enabled = False
        try:
            chan.sock.close()
        except Exception:
            pass
        if _main_thread_forking:
            procfs.prctl(procfs.PR_SET_PDEATHSIG, signal.SIGKILL)

    os.register_at_fork(before=before, after_in_child=after_in_child)


def forked() -> bool:
    """Is this a child forked from the worker, come back from its task into the loop?"""
    return _forked


def reset() -> None:
    """A new worker starts here (forked by a supervisor that a task's pool started)."""
    global _forked
    _forked = False
