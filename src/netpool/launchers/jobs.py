"""Per-job settings that every batch launcher understands, and their pure translations.

Real sites need more than a worker count: a walltime, memory and cores per job, a partition
or queue, an account to charge, a job name, where the scheduler's own log goes, and shell lines
that prepare the environment (``module load``, ``conda activate``) or site directives that
netpool has no name for. :class:`JobSettings` holds them once; each scheduler module turns them
into its own submit options (``settings_argv``) and job-script lines (``directives`` are
written as ``#SBATCH``/``#$``/``#PBS``/``#BSUB`` lines, ``prologue`` runs before the worker).

Everything here is pure and golden-tested. Bad values raise ``ValueError`` at construction,
before anything is submitted.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Optional, Sequence, Union

Walltime = Union[int, float, str]
Memory = Union[int, str]

_UNITS = {"": 1, "K": 1 / 1024, "M": 1, "G": 1024, "T": 1024 * 1024}


def walltime_seconds(value: Walltime) -> int:
    """Seconds from a number of seconds or ``[D-]H:MM[:SS]`` / ``M:SS``-style text.

    ``"1:30:00"`` -> 5400, ``"2-00:00:00"`` -> 172800, ``"90:00"`` -> 5400 (minutes:seconds,
    as SLURM reads two fields), ``3600`` -> 3600. Raises ValueError for anything else or <= 0.
    """
    if isinstance(value, bool):
        raise ValueError(f"walltime must be seconds or [D-]H:MM:SS, not {value!r}")
    if isinstance(value, (int, float)):
        seconds = math.ceil(value)
    else:
        match = re.fullmatch(r"\s*(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?\s*", str(value))
        if match is None:
            raise ValueError(f"walltime must be seconds or [D-]H:MM:SS, not {value!r}")
        days, a, b, c = (int(g) if g is not None else None for g in match.groups())
        if c is not None:          # H:MM:SS
            seconds = a * 3600 + b * 60 + c
        elif b is not None:        # M:SS, or D-H:MM with a day part
            seconds = a * 3600 + b * 60 if days is not None else a * 60 + b
        else:                      # a bare number: seconds (D-H with a day part)
            seconds = a * 3600 if days is not None else a
        seconds += (days or 0) * 86400
    if seconds <= 0:
        raise ValueError(f"walltime must be positive, not {value!r}")
    return seconds


def memory_mb(value: Memory) -> int:
    """Megabytes from a number of MB or text with a unit: ``"4G"`` -> 4096, ``"512M"`` -> 512,
    ``"2GB"`` -> 2048. Raises ValueError for anything else or <= 0."""
    if isinstance(value, bool):
        raise ValueError(f"memory must be MB or a size like '4G', not {value!r}")
    if isinstance(value, int):
        mb = value
    else:
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?\s*", str(value), re.IGNORECASE)
        if match is None:
            raise ValueError(f"memory must be MB or a size like '4G', not {value!r}")
        mb = math.ceil(float(match.group(1)) * _UNITS[match.group(2).upper()])
    if mb <= 0:
        raise ValueError(f"memory must be positive, not {value!r}")
    return mb


def hms(seconds: int) -> str:
    """``H:MM:SS`` (hours may pass 24), the walltime format SGE and PBS read."""
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _lines(value: Union[str, Sequence[str]], what: str) -> tuple[str, ...]:
    lines = (value,) if isinstance(value, str) else tuple(value)
    for line in lines:
        if not isinstance(line, str):
            raise TypeError(f"{what} must be strings, not {type(line).__name__}")
        if "\n" in line or "\r" in line:
            raise ValueError(f"{what} are one line each; split {line!r}")
    return lines


@dataclass(frozen=True)
class JobSettings:
    """What a batch job asks of the scheduler. Every field is optional.

    ``walltime``: seconds or ``[D-]H:MM:SS``; ``memory``: per worker, MB or ``"4G"``;
    ``cores``: per worker; ``queue``: partition (SLURM) or queue; ``account``: the account
    or project charged; ``job_name``: default ``netpool``; ``log``: the scheduler's own output
    file for the job script (each worker still writes its ``worker%d.output``);
    ``directives``: extra scheduler header lines without their prefix (``"--qos=long"`` for
    SLURM, ``"-l gpu=1"`` for SGE); ``prologue``: shell lines run before the worker starts
    (``"module load python/3.11"``), written verbatim: they are yours, not quoted.
    """

    walltime: Optional[Walltime] = None
    memory: Optional[Memory] = None
    cores: Optional[int] = None
    queue: Optional[str] = None
    account: Optional[str] = None
    job_name: Optional[str] = None
    log: Optional[str] = None
    directives: Sequence[str] = field(default=())
    prologue: Sequence[str] = field(default=())

    def __post_init__(self) -> None:
        if self.walltime is not None:
            walltime_seconds(self.walltime)
        if self.memory is not None:
            memory_mb(self.memory)
        if self.cores is not None and (isinstance(self.cores, bool)
                                       or not isinstance(self.cores, int) or self.cores < 1):
            raise ValueError(f"cores must be a positive int, not {self.cores!r}")
        for name in ("queue", "account", "job_name", "log"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value.strip()
                                      or "\n" in value):
                raise ValueError(f"{name} must be a non-empty one-line string, not {value!r}")
        object.__setattr__(self, "directives", _lines(self.directives, "directives"))
        object.__setattr__(self, "prologue", _lines(self.prologue, "prologue lines"))

    @property
    def seconds(self) -> Optional[int]:
        """The walltime in seconds, or None."""
        return None if self.walltime is None else walltime_seconds(self.walltime)

    @property
    def mb(self) -> Optional[int]:
        """The memory in MB, or None."""
        return None if self.memory is None else memory_mb(self.memory)

    @property
    def name(self) -> str:
        return self.job_name or "netpool"


SETTING_NAMES = tuple(f for f in JobSettings.__dataclass_fields__)
