"""What a worker is to ``multiprocessing``: its process object, its main module.

A stdlib pool worker is a ``multiprocessing`` child: ``current_process()`` is a process named
``ForkPoolWorker-3`` (``SpawnPoolWorker-3`` under spawn) whose ``_identity`` is ``(3,)``, the
number the parent's ``multiprocessing.process._process_counter`` gave it, and it is daemonic.
Real code reads these (a tqdm ``position``, a GPU index), so netpool's workers have them too;
the number comes from the same counter in the manager (see the WELCOME message).

A worker that is a fresh interpreter loads the manager's main script the way the stdlib's
spawn start method does (``load_main``): as ``__mp_main__``, its ``if __name__ ==
"__main__":`` block not run, and installed as ``__main__`` too, so that what was pickled by
reference to ``__main__`` (instances of its classes, its functions) loads here.
"""

from __future__ import annotations

import itertools
import os
import sys
from typing import Optional


def become_pool_worker(identity: tuple, prefix: str, parent: Optional[tuple] = None) -> None:
    """Make ``multiprocessing.current_process()`` this worker's process object.

    ``identity`` is e.g. ``(3,)``; ``prefix`` ``"ForkPoolWorker"``; ``parent`` the manager's
    (name, pid), for ``multiprocessing.parent_process()``. As the stdlib's child bootstrap,
    the process counter starts again at 1, for pools made by the worker's own tasks.
    """
    from multiprocessing import context, process
    identity = tuple(identity)
    cls = context.ForkProcess if prefix.startswith("Fork") else context.SpawnProcess
    me = cls.__new__(cls)
    me._identity = identity
    me._config = dict(process._current_process._config)
    # As the stdlib's: pool workers are daemonic. netpool's own pools do not check it, so
    # a task may still make a pool of its own; multiprocessing.Process refuses, as there.
    me._config["daemon"] = True
    parent_name, parent_pid = parent or (process._current_process.name, os.getppid())
    me._parent_pid, me._parent_name = parent_pid, parent_name
    me._popen = None
    me._closed = False
    me._target, me._args, me._kwargs = None, (), {}
    me._name = f"{prefix}-{':'.join(str(i) for i in identity)}"
    process._current_process = me
    process._parent_process = process._ParentProcess(parent_name, parent_pid, None)
    process._process_counter = itertools.count(1)
    process._children = set()


def load_main(path: Optional[str]) -> bool:
    """Load the manager's main script as spawn does; False when it cannot be read here.

    Nothing is done when ``__main__`` already is that script (a forked worker).
    """
    if not path:
        return False
    current = sys.modules.get("__main__")
    if getattr(current, "__file__", None) == path:
        return True
    if not os.path.isfile(path):
        return False
    import runpy
    import types
    main = types.ModuleType("__mp_main__")
    main.__dict__.update(runpy.run_path(path, run_name="__mp_main__"))
    sys.modules["__main__"] = sys.modules["__mp_main__"] = main
    return True


def prepare(options: dict) -> None:
    """The setup a pool sends to workers that are fresh interpreters, run before any task.

    ``options``: ``authkey`` (the manager's multiprocessing authkey, for Manager proxies, or
    None), ``main`` (path of the main script, or None), ``init`` (the pickled initializer and
    its arguments, or None). The authkey is set before ``init`` is unpickled, as the
    initializer's arguments may hold proxies.
    """
    import multiprocessing
    if options.get("authkey") is not None:
        multiprocessing.current_process().authkey = options["authkey"]
    if options.get("main") and not load_main(options["main"]):
        print(f"netpool worker: the main script {options['main']} cannot be read here; "
              "objects defined in it travel by value", file=sys.stderr, flush=True)
    init = options.get("init")
    if init is not None:
        from .._protocol.codec import loads_callable
        func, args = loads_callable(init)
        func(*args)


class ParentFd:
    """A descriptor of the manager's process, for a worker on the same machine that is a
    fresh interpreter: what ``multiprocessing``'s spawn passes to its children (a shared
    value's memory, a queue's pipe), reopened here through ``/proc/PID/fd``."""

    def __init__(self, pid: int, fd: int) -> None:
        self.pid, self.fd = pid, fd

    def detach(self) -> int:
        return os.open(f"/proc/{self.pid}/fd/{self.fd}", os.O_RDWR)
