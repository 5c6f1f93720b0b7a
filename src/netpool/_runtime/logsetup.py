"""``NETPOOL_LOG``: the one way netpool configures logging, and only when it is set.

A library leaves logging to its application: without ``NETPOOL_LOG`` nothing here touches
the ``logging`` module's configuration. With ``NETPOOL_LOG=debug|info|warning|error`` the
``netpool`` logger gets one stderr handler at that level (once per process, however often
this runs), and stops propagating so that an application's root handler does not print each
line twice. A value that is none of those is a one-line warning on stderr, never an error.
Run when ``netpool._runtime`` is first imported (the manager side; workers do not import it).
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Mapping, Optional

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
          "error": logging.ERROR}
FORMAT = "%(asctime)s %(levelname)s %(message)s"  # messages begin "netpool: "


class _Handler(logging.StreamHandler):
    """Ours, so that a second call finds it instead of adding another."""


def configure(environ: Optional[Mapping[str, str]] = None) -> Optional[int]:
    """Apply ``NETPOOL_LOG`` from ``environ`` (default ``os.environ``); the level set, if any."""
    value = (os.environ if environ is None else environ).get("NETPOOL_LOG")
    if value is None or not value.strip():
        return None
    level = LEVELS.get(value.strip().lower())
    if level is None:
        print(f"netpool: ignoring NETPOOL_LOG={value!r}: use one of {', '.join(LEVELS)}",
              file=sys.stderr)
        return None
    logger = logging.getLogger("netpool")
    handler = next((h for h in logger.handlers if isinstance(h, _Handler)), None)
    if handler is None:
        handler = _Handler(sys.stderr)
        handler.setFormatter(logging.Formatter(FORMAT))
        logger.addHandler(handler)
    handler.setLevel(level)
    logger.setLevel(level)
    logger.propagate = False
    return level


def keep_to_itself() -> None:
    """``netpool run``: the program was written for the stdlib, whose ``multiprocessing``
    logger does not propagate, so a script's own ``logging.basicConfig(level=INFO)`` shows
    nothing of its pools. Ours then stops propagating too: its INFO lines go nowhere, and its
    warnings and errors to stderr through ``logging.lastResort``, as an unconfigured
    library's do. ``NETPOOL_LOG`` (our own handler) still shows what it asks for."""
    logging.getLogger("netpool").propagate = False
