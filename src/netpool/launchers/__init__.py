"""Launchers: they start worker processes that connect back to the manager.

* :class:`LocalWorker`: a child process on this machine.
* :class:`SSHWorker`: a process on another host, over ssh.
* :class:`SGEQsubWorkerArray`, :class:`SGEPEWorkerArray`: Grid Engine array job / PE slots.
* :class:`SLURMWorkerArray`, :class:`SLURMStepWorkerArray`: SLURM array job / srun step.
* :class:`PBSWorkerArray`, :class:`LSFWorkerArray`: PBS Pro (Torque) and LSF array jobs
  (not tested against real servers).

Each module's docstring says what it assumes; all raise :class:`netpool.errors.LauncherError`.
"""

from .base import Worker, WorkerArray, WorkerCommand
from .local import LocalWorker
from .lsf import LSFWorkerArray
from .pbs import PBSWorkerArray
from .sge import SGEPEWorkerArray, SGEQsubWorkerArray
from .slurm import SLURMStepWorkerArray, SLURMWorkerArray
from .ssh import SSHWorker

__all__ = [
    "Worker", "WorkerArray", "WorkerCommand", "LocalWorker", "SSHWorker",
    "SGEQsubWorkerArray", "SGEPEWorkerArray", "SLURMWorkerArray", "SLURMStepWorkerArray",
    "PBSWorkerArray", "LSFWorkerArray",
]
