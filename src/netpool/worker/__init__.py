"""The worker process: ``python -m netpool.worker HOST:PORT`` (also ``netpool worker``).

It imports neither the scheduling core nor the manager runtime, so it starts fast.
"""

from .main import main, run_worker

__all__ = ["main", "run_worker"]
