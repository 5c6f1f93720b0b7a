"""The parts of multiprocessing.Pool's behaviour that come from how its workers start.

* ``start_method``: whether a pool's local workers are forked (the stdlib's default on Linux)
  or fresh interpreters (``python=`` given, a ``spawn``/``forkserver`` context).
* ``worker_setup``: what fresh-interpreter workers run before any task (load the main script
  as spawn does, take the authkey, call the initializer), and the checks on ``initargs``
  that hold ``multiprocessing`` synchronisation objects (locks, shared values), which only
  reach a worker by inheritance (fork) or while it is being spawned on this machine.
* ``call_arguments``: ``apply_async``'s ``args``/``kwds`` as the worker's ``func(*args,
  **kwds)`` takes them, with its errors.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import pickle
import signal
import sys
import types
from typing import Any, Callable, Mapping, Optional, Sequence

from ._protocol import codec

_LOOPBACK = ("127.0.0.1", "::1", "localhost")


def start_method(context: Any) -> str:
    """How the stdlib would start this pool's workers: a ``context`` given, else the default."""
    if not hasattr(os, "fork"):
        return "spawn"
    if context is not None and hasattr(context, "get_start_method"):
        return context.get_start_method()
    return multiprocessing.get_start_method(allow_none=True) or "fork"


NO_KWDS: Mapping = types.MappingProxyType({})  # apply's default kwds: {} (read-only), as there


def call_arguments(func: Callable, args: Any, kwds: Any) -> tuple[tuple, dict]:
    """``(tuple(args), dict(kwds))``, or the ``TypeError`` that ``func(*args, **kwds)`` raises
    in a stdlib worker when ``args`` is not iterable (``apply_async(f, (5))``, a missing comma)
    or ``kwds`` not a mapping: ``__main__.f() argument after * must be an iterable, not int``.
    """
    def where() -> str:
        qualname = getattr(func, "__qualname__", None)
        if not isinstance(qualname, str):
            return str(func)
        module = getattr(func, "__module__", None)
        return f"{module}.{qualname}()" if module not in (None, "builtins") else f"{qualname}()"
    try:
        args = tuple(args)
    except TypeError:
        if hasattr(type(args), "__iter__") or hasattr(type(args), "__getitem__"):
            raise  # iterable, its own TypeError: as the call would give it
        raise TypeError(f"{where()} argument after * must be an iterable, not "
                        f"{type(args).__name__}") from None
    if not hasattr(kwds, "keys"):  # None too: the stdlib's default is {}, not None
        raise TypeError(f"{where()} argument after ** must be a mapping, not "
                        f"{type(kwds).__name__}")
    return args, dict(kwds)


def worker_setup(initializer: Optional[Callable], initargs: Sequence, host: str,
                 launchers: list, forking: bool, start: str = "fork",
                 link_key: Optional[bytes] = None, context: Any = None) -> Optional[bytes]:
    """The setup for workers that are fresh interpreters (``worker.process.prepare``).

    A forked or spawned stdlib worker has the parent's authkey, which is what lets Manager
    proxies passed to it connect back. Ours get it too. Our links are authenticated, not
    encrypted: when the pool listens on loopback (every worker on this machine) the key goes
    as it is; otherwise it is sealed with ``link_key``, the pool's own authkey, which every
    worker has and which never travels (``seal``). The setup travels by reference to a
    function of netpool.worker, so that loading it needs neither netpool.pool nor
    cloudpickle (unless the main module's globals travel by value, see _mainscript.py).

    Raises ``RuntimeError`` at once when ``initargs`` hold what cannot reach such a worker.
    """
    from .launchers.local import LocalWorker
    from .worker.process import prepare
    init = None
    all_local = all(isinstance(w, LocalWorker) for w in launchers)
    if initializer is not None:
        try:
            init = _dumps_init(initializer, tuple(initargs), spawning=all_local and not forking)
        except Exception as exc:
            if not (forking and all_local):
                if _needs_inheritance(exc):
                    raise RuntimeError(
                        f"the pool's initargs hold a multiprocessing synchronisation object or "
                        f"shared memory ({exc}), which processes share only on one machine, by "
                        f"fork or spawn; workers on other hosts cannot have it. Use "
                        f"multiprocessing.Manager() proxies instead (manager.Lock(), "
                        f"manager.Value(...), manager.Queue()), from a manager those hosts can "
                        f"reach") from exc
                raise
            # Forked workers call the initializer with our own objects; this blob is only for
            # a worker that joins by itself (`netpool worker`), which gets the error instead.
            init = pickle.dumps((None, pickle.dumps((_refuse, (
                f"the pool's initargs cannot be sent to a worker that joined by itself: "
                f"{exc}",)), 5), None), 5)
    from . import _mainscript
    fork_like = start == "fork"
    if not fork_like:
        # Spawn's preparation data reads the default start method, which fixes it: after
        # a spawn or forkserver pool, set_start_method() without force raises, as there.
        multiprocessing.get_start_method()
    options = _mainscript.describe(fork_like, with_values=fork_like and not (forking
                                                                         and all_local))
    mp_key = bytes(multiprocessing.current_process().authkey)
    options.update(
        authkey=mp_key if host in _LOOPBACK else None,
        sealed_authkey=seal(mp_key, link_key) if host not in _LOOPBACK and link_key else None,
        init=init, cwd=os.getcwd(), argv=list(sys.argv), quiet=fork_like,
        prefix=worker_prefix(start),
        # What parent_process() is in a stdlib child, spawned too: this process, here.
        parent=((multiprocessing.current_process().name, os.getpid())
                if host in _LOOPBACK else None),
        daemon=worker_daemon(context),
        verbose=_shows_info())
    return pickle.dumps((None, pickle.dumps((prepare, (options,)), 5), None), 5)


def _shows_info() -> bool:
    """Would a line the ``netpool`` logger logs at INFO be shown (to a handler of its own or,
    propagating, the application's)? Not under ``netpool run`` without ``NETPOOL_LOG``."""
    log = logging.getLogger("netpool")
    return log.isEnabledFor(logging.INFO) and (log.propagate or bool(log.handlers))


def worker_prefix(start: str) -> str:
    """How the stdlib names a pool's workers with this start method (``ForkPoolWorker``-3)."""
    return {"spawn": "SpawnPoolWorker", "forkserver": "ForkServerPoolWorker"}.get(
        start, "ForkPoolWorker")


def worker_daemon(context: Any) -> bool:
    """The daemon flag the stdlib's Pool would give its workers with this ``context``: True,
    unless the context's Process ignores it (the "NestablePool" recipe's NoDaemonProcess,
    whose tasks may then make pools of their own)."""
    try:
        cls = (context or multiprocessing.get_context()).Process
        # Not cls(): that would take a number from multiprocessing's process counter,
        # which names the workers (ForkPoolWorker-N).
        proc = cls.__new__(cls)
        proc._config, proc._popen, proc._parent_pid = {}, None, os.getpid()
        proc.daemon = True  # what multiprocessing.pool.Pool does to each worker
        return bool(proc.daemon)
    except Exception:
        return True


def seal(secret: bytes, key: bytes) -> tuple[bytes, bytes]:
    """``secret`` encrypted for a holder of ``key``: (nonce, ciphertext), the secret XORed
    with HMAC-SHA256(key, nonce + counter) blocks, a fresh random nonce each time. Opened by
    ``netpool.worker.process.unseal``."""
    from .worker.process import keystream
    nonce = os.urandom(16)
    return nonce, bytes(a ^ b for a, b in zip(secret, keystream(key, nonce, len(secret))))


def _dumps_init(initializer: Callable, initargs: tuple, spawning: bool) -> bytes:
    """The pickled initializer call; with ``spawning`` (fresh interpreters on this machine),
    as multiprocessing pickles a spawned child's arguments: locks, semaphores, shared values
    and queues of a spawn context may then be in ``initargs``, as under spawn."""
    if not spawning:
        return codec.dumps_callable((initializer, initargs))
    from multiprocessing import context
    from multiprocessing.reduction import ForkingPickler
    previous = context.get_spawning_popen()
    context.set_spawning_popen(_LocalSpawn())
    try:
        # By reference (the worker loads the main script first), with multiprocessing's own
        # reducers (shared memory, connections); what that refuses (a lambda) goes as usual.
        ref = bytes(ForkingPickler.dumps((initializer, initargs), 5))
    except Exception as refused:
        try:
            return codec.dumps_callable((initializer, initargs))
        except Exception:
            raise refused from None  # what spawn itself raises, at Pool()
    finally:
        context.set_spawning_popen(previous)
    return pickle.dumps((ref, None, None), 5)


class _LocalSpawn:
    """What multiprocessing's reducers ask of the Popen of a child being spawned: here, a
    worker on this machine that reopens our descriptors through /proc (ParentFd)."""

    def duplicate_for_child(self, fd: int) -> int:
        return fd

    def DupFd(self, fd: int) -> Any:  # noqa: N802 (the name multiprocessing calls)
        from .worker.process import ParentFd
        return ParentFd(os.getpid(), fd)


def _needs_inheritance(exc: BaseException) -> bool:
    """Whether pickling failed on what only inheritance can share (multiprocessing's words)."""
    text = str(exc)
    return ("through inheritance" in text or "forking was enabled" in text
            or "fork context" in text
            or "cannot pickle 'mmap.mmap'" in text)  # RawArray/RawValue: shared memory


def _refuse(message: str) -> None:
    raise RuntimeError(message)


class WorkerProcess:
    """One entry of ``pool._pool``: what code reads of a stdlib pool's worker processes.

    ``pid``, ``name`` (``ForkPoolWorker-3``), ``_identity``, ``daemon``, ``is_alive()``,
    ``exitcode`` (None while it runs, or when the launcher cannot tell), ``terminate()``,
    ``kill()`` and ``join(timeout)``. A compatibility surface for code that reads these
    private attributes of ``multiprocessing.pool.Pool`` (progress bars, Ctrl-C handlers).
    """

    daemon = True

    def __init__(self, worker: Any, start: str) -> None:
        self._worker = worker
        self._identity = tuple(worker.identity)
        prefix = worker_prefix(start)
        self.name = f"{prefix}-{':'.join(str(i) for i in self._identity)}"
        self._kind = prefix.replace("PoolWorker", "Process")  # ForkProcess, SpawnProcess, ...
        self._parent_pid = os.getpid()

    @property
    def pid(self) -> Optional[int]:
        return getattr(self._worker, "pid", None)  # a child process's; else unknown

    ident = pid

    @property
    def exitcode(self) -> Optional[int]:
        return self._worker._exit_status()

    def is_alive(self) -> bool:
        return self.pid is not None and self.exitcode is None

    def terminate(self) -> None:
        self._signal(signal.SIGTERM)

    def kill(self) -> None:
        self._signal(signal.SIGKILL)

    def _signal(self, sig: int) -> None:
        from .launchers.local import LocalWorker
        if isinstance(self._worker, LocalWorker) and self.is_alive():
            try:
                os.kill(self.pid, sig)  # type: ignore[arg-type]
            except ProcessLookupError:
                pass

    def join(self, timeout: Optional[float] = None) -> None:
        reap = getattr(self._worker, "_reap", None)
        if reap is not None and self.pid is not None:
            reap(timeout)

    def __repr__(self) -> str:
        # The stdlib's Process repr, which `print(pool._pool)` shows: the class of the pool's
        # start method, its pid and parent, its state and exit code (by signal name).
        from multiprocessing.process import _exitcode_to_name  # type: ignore[attr-defined]
        info = [self._kind, f"name={self.name!r}"]
        if self.pid is not None:
            info.append(f"pid={self.pid}")
        info.append(f"parent={self._parent_pid}")
        code = self.exitcode
        info.append("started" if self.is_alive() else "stopped")
        if code is not None:
            info.append(f"exitcode={_exitcode_to_name.get(code, code)}")
        if self.daemon:
            info.append("daemon")
        return f"<{' '.join(info)}>"
