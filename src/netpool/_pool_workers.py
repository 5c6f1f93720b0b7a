"""The part of ``DistributedPool`` about its workers: growing and shrinking, where more can
join, what they are doing (``stats()``), and ``_pool`` as the stdlib's list of processes.

``PoolWorkers`` is mixed into the pool, which provides ``_rt``, ``_launchers``,
``_processes``, ``_forking``, ``_start``, ``_pid`` and ``_reporting``.
"""

from __future__ import annotations

import time
from typing import Any, Optional

from ._compat import WorkerProcess
from ._runtime import forks, reporting
from .launchers.base import WorkerArray

START_GRACE = 2.0  # seconds terminate() lets forked workers still starting finish their start


class PoolWorkers:
    """Worker-facing methods of ``DistributedPool``."""

    def adapt(self, minimum: int = 0, maximum: Optional[int] = None,
              idle_after: float = 30.0) -> None:
        """Grow and shrink the pool with its queue, between ``minimum`` and ``maximum``
        workers (default: as many as the pool was made with).

        More workers are launched, like the pool's own (a one-worker job like a batch array,
        another local or SSH worker), for tasks that no worker, running or still in a batch
        queue, could take; a worker idle for ``idle_after`` seconds with nothing pending is
        retired gracefully, never below ``minimum``. Workers still starting count as
        capacity, and a worker younger than ``idle_after`` is never retired, so the pool does
        not oscillate (docs/launchers.md). Call again to change the bounds.

        Raises ``ValueError`` for bad bounds or when a launcher cannot start more workers of
        its kind (an SGE parallel environment, an srun step), ``ValueError("Pool not
        running")`` after close.
        """
        from ._core.adapt import Adaptive

        self._check_running()
        if not self._rt.config.replace:
            raise ValueError("adapt needs launchers that can start more workers of their kind "
                             "(local, SSH, batch arrays); these cannot: "
                             f"{[w for w in self._launchers if not can_grow(w)]}")
        policy = Adaptive(minimum, self._processes if maximum is None else maximum, idle_after)
        self._processes = policy.maximum  # what default chunk sizes are planned for
        self._rt.adapt(policy, self._launchers)

    def _keep_arguments(self, initializer: Any, initargs: Any, maxtasksperchild: Any,
                        context: Any) -> None:
        """Where programs read the pool's arguments back on the stdlib's pool: as given, and
        the context it was made with (else the default one)."""
        import multiprocessing
        self._initializer, self._initargs = initializer, initargs
        self._maxtasksperchild = maxtasksperchild
        self._ctx = context or multiprocessing.get_context()

    # -- where other workers can join ----------------------------------------------------
    @property
    def address(self) -> tuple[str, int]:
        """(host, port) the pool listens on: ``netpool worker HOST:PORT`` joins it."""
        return self._rt.address

    @property
    def addresses(self) -> list[str]:
        """Every address workers are told to try, best first (``address`` has the first)."""
        return list(self._rt.addresses)

    @property
    def authkey(self) -> bytes:
        return self._rt.authkey

    def worker_command(self) -> str:
        """The exact shell command that joins one more worker to this pool.

        The key goes in a 0600 file (never on the command line), removed when the pool
        stops; the file must be readable where the command runs.
        """
        forks.check(self._pid, "DistributedPool")
        return self._rt.worker_command()

    def status_command(self) -> str:
        """The shell command that shows this pool live from another terminal (``netpool
        status HOST:PORT --authkey-file PATH``; the key file as for ``worker_command``)."""
        forks.check(self._pid, "DistributedPool")
        return self._rt.status_command()

    @property
    def dashboard_url(self) -> Optional[str]:
        """The live dashboard's address, token included, with ``dashboard=True``; else None."""
        return reporting.dashboard_url(self._reporting)

    def stats(self) -> dict:
        """A snapshot of the pool now, as plain values (JSON-serialisable): every worker
        (id, host, pid, launcher, state, tasks done and failed, tasks on it, how long its
        running task has run, seconds since it was last heard from), the totals (submitted,
        done, failed, pending, running), failures by cause (exception type, worker deaths by
        how they ended, poison tasks) and queue lengths. Every field: docs/observability.md.

        Cheap enough to call often (O(workers), no I/O); any thread, a callback included.
        Raises ``ForkedPoolError`` in a forked child.
        """
        forks.check(self._pid, "DistributedPool")
        return self._rt.stats()

    # -- the stdlib surface ----------------------------------------------------------------
    def _let_workers_start(self, grace: float) -> None:
        """Let local workers still starting run their initializer before they are stopped.

        The stdlib's ``Pool()`` forks every worker before it returns, and each runs the
        initializer at once: what it prints is there even when a short map ends before our
        workers (a fork, a supervisor, a handshake) have all started. At most ``grace``
        seconds, and only for forked workers with an initializer; not from a callback.
        """
        if not (self._forking and getattr(self, "_initializer", None) is not None) or \
                self._rt.on_loop_thread():
            return
        try:
            deadline = time.monotonic() + grace
            while (self._rt.alive and self._rt.worker_count(starting=True)
                   and time.monotonic() < deadline):
                time.sleep(0.005)
        except Exception:  # __del__ at interpreter exit: module globals may be gone
            pass

    @property
    def _pool(self) -> list:
        """One entry per worker (``WorkerProcess``: pid, name, is_alive(), exitcode), as
        ``multiprocessing.pool.Pool._pool``; ``len(pool._pool)`` is the number of workers."""
        start = "fork" if self._forking else self._start
        return [WorkerProcess(w, start) for w in current_workers(self._launchers)]


def can_grow(w: Any) -> bool:
    return w._can_replace() if isinstance(w, WorkerArray) else w._replacement() is not None


def current_workers(launchers: list) -> list:
    """The Worker objects of now: each launcher, or the one that replaced it (in turn)."""
    out: list = []
    for launcher in launchers:
        for w in (launcher._get_workers() if isinstance(launcher, WorkerArray) else [launcher]):
            while getattr(w, "replaced_by", None) is not None:
                w = w.replaced_by
            if isinstance(w, WorkerArray):  # a batch member is replaced by a one-job array
                out += current_workers([w])
            else:
                out.append(w)
    return out
