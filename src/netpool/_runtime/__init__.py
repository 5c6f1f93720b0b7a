"""The I/O shell around the pure core: the loop thread, the listener, the worker table."""

from .logsetup import configure as _configure_logging

_configure_logging()  # NETPOOL_LOG, if set (logsetup.py); nothing otherwise
