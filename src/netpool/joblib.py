"""A joblib backend on netpool's workers: ``import netpool.joblib`` registers ``"netpool"``.

::

    import joblib
    import netpool.joblib  # registers the backend

    with joblib.parallel_config(backend="netpool", n_jobs=4):
        results = joblib.Parallel()(joblib.delayed(f)(x) for x in xs)

scikit-learn's ``n_jobs`` (``GridSearchCV``, ``cross_val_score``...) runs on joblib, so it runs
on netpool's workers too. Extra ``parallel_config`` arguments go to ``netpool.Executor``:
``workers=[SSHWorker("node1"), SLURMWorkerArray(8)]`` (then ``n_jobs`` is the number of those
workers), ``python=``, ``host=``, ``max_attempts=``, ``journal=`` (to resume a crashed run;
give ``Parallel`` a fixed ``batch_size``, docs/journal.md)...

Large read-only arguments: joblib's process backends memory-map numpy arrays over 1 MB to a
local file, which workers on other hosts cannot open. Here every argument of a call that is
a numpy array of at least ``max_nbytes`` bytes (``"1M"`` by default, joblib's default too) is
sent once to each worker, with the first task that needs it there, and shared by the later
tasks; each task carries only a reference. Workers get a read-only array, as joblib's memmaps
are.

Each ``Parallel`` call starts its own workers and stops them at its end, as joblib's
``multiprocessing`` backend does (use ``with Parallel(...) as parallel:`` to keep them for
several calls). Callbacks joblib registers run on the executor's loop thread. A worker that
dies has its batch rerun elsewhere; a batch that kills workers ``max_attempts`` times fails
the call with ``netpool.PoisonTaskError``.

This module imports joblib (the ``netpool[joblib]`` extra); nothing else in netpool does.
"""

from __future__ import annotations

import copy
import os
import pickle
from typing import Any, Optional

import joblib
from joblib._parallel_backends import AutoBatchingMixin, ParallelBackendBase

from ._protocol import codec
from .executor import Executor, submit_prepickled

__all__ = ["NetpoolBackend"]


def _parse_nbytes(value: "int | str | None") -> Optional[int]:
    if value is None or isinstance(value, int):
        return value
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    text = str(value).strip().upper()
    if text[-1:] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


class _Ref:
    """Stands in a task's arguments for a shared array (``_Shared.arrays[index]``)."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index

    def __reduce__(self) -> Any:
        return (_Ref, (self.index,))


class _Shared:
    """The function of every task of one call: it holds the shared arrays.

    netpool sends a task's function once per worker and keeps it there, so the arrays in it
    travel once per worker; ``__call__`` puts them back in place of their ``_Ref``s. It
    asks to be kept (``__netpool_keep__``): a callable object is otherwise loaded afresh for
    each task, arrays and all, as the stdlib's pool would; the tasks never change it.
    """

    __netpool_keep__ = True

    def __init__(self, arrays: list) -> None:
        self.arrays = arrays

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        for a in self.arrays:
            a.flags.writeable = False  # read-only, as joblib's memmaps

    def __call__(self, payload: bytes) -> Any:
        batch, arrays = pickle.loads(payload), self.arrays

        def put(v: Any) -> Any:
            return arrays[v.index] if type(v) is _Ref else v

        batch.items = [(f, tuple(put(a) for a in args), {k: put(v) for k, v in kw.items()})
                       for f, args, kw in batch.items]
        return batch()


def _call(payload: bytes) -> Any:
    return pickle.loads(payload)()


def _dumps(batch: Any) -> bytes:
    # By value, as loky does: the batch's functions are often the user's own, from a
    # __main__ that workers do not have (plain pickle would name them, and fail there).
    import cloudpickle
    return cloudpickle.dumps(batch, protocol=5)


class NetpoolBackend(AutoBatchingMixin, ParallelBackendBase):
    """joblib's backend interface over ``netpool.Executor``.

    ``n_jobs`` local workers (``-1``: one per CPU, ``-2``: all but one...), or the workers
    given as ``workers=``. ``max_nbytes`` (joblib's own setting, from ``Parallel`` or
    ``parallel_config``) is the size from which an array argument is shared (sent once per
    worker); ``None`` shares nothing. Other keyword arguments go to ``netpool.Executor``.
    Raises ``ValueError`` for ``n_jobs == 0``.
    """

    supports_retrieve_callback = True
    supports_inner_max_num_threads = False
    default_n_jobs = -1

    def __init__(self, nesting_level: Optional[int] = None,
                 inner_max_num_threads: Optional[int] = None,
                 max_nbytes: "int | str | None" = "1M", **executor_kwargs: Any) -> None:
        super().__init__(nesting_level=nesting_level,
                         inner_max_num_threads=inner_max_num_threads)
        self._max_nbytes = _parse_nbytes(max_nbytes)
        self._executor_kwargs = executor_kwargs
        self._executor: Optional[Executor] = None
        self._shared: dict[int, int] = {}   # id(array) -> index in self._arrays
        self._arrays: list = []
        self._holder_bytes: Optional[bytes] = None

    def effective_n_jobs(self, n_jobs: int) -> int:
        if n_jobs == 0:
            raise ValueError("n_jobs == 0 in Parallel has no meaning")
        workers = self._executor_kwargs.get("workers")
        if workers is not None:
            return self._count(workers)
        if n_jobs is None:
            n_jobs = self.default_n_jobs
        if n_jobs < 0:
            return max((os.cpu_count() or 1) + 1 + n_jobs, 1)
        return n_jobs

    @staticmethod
    def _count(workers: Any) -> int:
        workers = workers if isinstance(workers, (list, tuple)) else [workers]
        return sum(len(w._get_workers()) if hasattr(w, "_get_workers") else 1 for w in workers)

    def configure(self, n_jobs: int = 1, parallel: Any = None, prefer: Any = None,
                  require: Any = None, **backend_kwargs: Any) -> int:
        n = self.effective_n_jobs(n_jobs)
        self.parallel = parallel
        if "max_nbytes" in backend_kwargs:  # Parallel's (or parallel_config's) own setting
            self._max_nbytes = _parse_nbytes(backend_kwargs["max_nbytes"])
        if self._executor is None:
            self._executor = Executor(n, **self._executor_kwargs)
        return n

    def submit(self, func: Any, callback: Any = None) -> Any:
        assert self._executor is not None, "configure() first"
        batch, holder = self._share(func)
        if holder is None:
            future = self._executor.submit(_call, _dumps(batch))
        else:
            future = submit_prepickled(self._executor, holder, self._holder_bytes,
                                       _dumps(batch))
        if callback is not None:
            future.add_done_callback(callback)
        return future

    def retrieve_result_callback(self, future: Any) -> Any:
        return future.result()

    def retrieve_result(self, out: Any, timeout: Optional[float] = None) -> Any:
        return out.result(timeout)

    def terminate(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        self._shared.clear()
        self._arrays = []
        self._holder_bytes = None

    def abort_everything(self, ensure_ready: bool = True) -> None:
        self.terminate()
        if ensure_ready:
            self.configure(n_jobs=self.parallel.n_jobs, parallel=self.parallel)

    # -- sharing large arrays ----------------------------------------------------------
    def _share(self, batch: Any) -> tuple[Any, Optional[_Shared]]:
        """The batch with its large arrays replaced by references, and their holder."""
        limit = self._max_nbytes
        items = getattr(batch, "items", None)
        if limit is None or items is None:
            return batch, None
        found = False

        def ref(v: Any) -> Any:
            nonlocal found
            if getattr(v, "nbytes", 0) < limit or type(v).__module__.split(".")[0] != "numpy":
                return v
            found = True
            index = self._shared.get(id(v))
            if index is None or self._arrays[index] is not v:
                index = self._shared[id(v)] = len(self._arrays)
                self._arrays.append(v)  # kept alive: its id stays its own
                self._holder_bytes = None
            return _Ref(index)

        new_items = [(f, tuple(ref(a) for a in args), {k: ref(v) for k, v in kw.items()})
                     for f, args, kw in items]
        if not found:
            return batch, None
        holder = _Shared(self._arrays)
        if self._holder_bytes is None:  # a new array: a new holder, sent again once
            self._holder_bytes = codec.dumps_callable(_Shared(list(self._arrays)))
        shallow = copy.copy(batch)
        shallow.items = new_items
        return shallow, holder


joblib.register_parallel_backend("netpool", NetpoolBackend)
