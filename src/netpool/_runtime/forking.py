"""Local workers forked from the manager: what the child does before it becomes a worker.

The child of ``os.fork()`` holds copies of every descriptor of the manager. The at-fork hook
of ``forks.py`` closes those of the parent's runtimes (listening socket, links, links still in
their handshake, wake-up pipe, selector). What it does not know of is closed here: when this
process is itself a worker whose task made the pool, its own link to its manager. A copy of a
link kept open in another process hides the link's end from both sides: the manager would not
see this worker die.
"""

from __future__ import annotations

import sys
from typing import Callable, Optional

from ..launchers.base import WorkerCommand


def forked_worker(setup: Optional[Callable[[], None]]) -> Callable[[WorkerCommand, bytes], int]:
    """What a forked child runs (``WorkerCommand.fork``): ``setup`` is the initializer call.

    What the child imports is imported here first, in the parent: an import that another
    thread of the parent is in the middle of when it forks (a handshake thread importing
    ``hmac``) holds that module's import lock for ever in the child.
    """
    import ctypes  # noqa: F401  (the child may need it, and the supervisor does)
    import hmac  # noqa: F401  (multiprocessing.connection's challenge imports it)
    import traceback  # noqa: F401
    from ..worker import execute, main, process  # noqa: F401
    try:
        import tblib  # noqa: F401  (encodes a task's exception)
    except ImportError:
        pass

    def child(command: WorkerCommand, authkey: bytes) -> int:
        close_inherited()
        import os
        process.forked_from = os.getppid()  # the manager: the worker's parent_process()
        from ..worker.main import run_worker
        return run_worker(command.address, authkey, command.worker_id, forked=True,
                          setup=setup, quiet=not command.output)

    return child


def close_inherited() -> None:
    """In a forked child: close the links of the worker we were forked from, if any."""
    worker = sys.modules.get("netpool.worker.main")
    if worker is None:
        return
    links, worker.own_links[:] = list(worker.own_links), []
    for chan in links:
        chan.close()  # through the socket object: it then knows, and never closes it again
