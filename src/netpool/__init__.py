"""netpool: multiprocessing.Pool and IMP.parallel's task farm, over many processes and machines.

Re-exports only. Names are loaded on first use, so that ``python -m netpool.worker`` does
not pay for importing the manager side.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "DistributedPool": "pool", "Pool": "pool", "Executor": "executor",
    "Manager": "manager", "Context": "manager",
    "Slave": "manager", "SlaveArray": "manager", "LocalSlave": "manager",
    "SGEQsubSlaveArray": "manager", "SGEPESlaveArray": "manager",
    "Worker": "launchers", "WorkerArray": "launchers", "LocalWorker": "launchers",
    "SSHWorker": "launchers", "SGEQsubWorkerArray": "launchers", "SGEPEWorkerArray": "launchers",
    "SLURMWorkerArray": "launchers", "SLURMStepWorkerArray": "launchers",
    "PBSWorkerArray": "launchers", "LSFWorkerArray": "launchers",
    "Error": "errors", "RemoteError": "errors", "NetworkError": "errors",
    "NoMoreWorkersError": "errors", "NoMoreSlavesError": "errors",
    "WorkerStartError": "errors", "PoisonTaskError": "errors", "LauncherError": "errors",
    "ProtocolError": "errors", "ForkedPoolError": "errors", "JournalError": "errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> object:
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'netpool' has no attribute {name!r}") from None
    if name == "NoMoreSlavesError":  # not cached: it warns on every use (errors.py)
        import warnings
        warnings.warn("NoMoreSlavesError is deprecated; use NoMoreWorkersError (the same class)",
                      DeprecationWarning, stacklevel=2)
        return importlib.import_module(".errors", __name__).NoMoreWorkersError
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
