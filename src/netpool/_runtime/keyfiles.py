"""Where the authkey file lives, and how a killed manager's leftovers go away.

Batch workers read the authkey from a 0600 file, so the file must be on a filesystem that
the manager and the nodes share, at the same path. It is kept out of the user's project: in
``$NETPOOL_KEY_DIR`` if set, else ``~/.netpool/keys`` (the home directory is the one
filesystem clusters almost always share; it is ours, so the folder is private to us). Each
manager gets a 0700 folder ``HOST-PID-RANDOM`` there, removed when it stops. A manager killed
with SIGKILL cannot remove its own, so every manager that creates a key folder first removes
those of its siblings that name this host and a pid that no longer runs.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile

KEY_DIR_ENV = "NETPOOL_KEY_DIR"


def key_root() -> str:
    """The folder that holds every manager's key folder (created 0700 if missing)."""
    root = os.environ.get(KEY_DIR_ENV) or os.path.join(os.path.expanduser("~"), ".netpool", "keys")
    os.makedirs(root, mode=0o700, exist_ok=True)
    return root


def new_key_folder() -> str:
    """A fresh 0700 folder for this manager's key file, after sweeping dead managers' ones."""
    root = key_root()
    host = socket.gethostname().replace("-", "_")
    sweep(root, host)
    return tempfile.mkdtemp(prefix=f"{host}-{os.getpid()}-", dir=root)


def sweep(root: str, host: str) -> list[str]:
    """Remove the key folders of managers on ``host`` that are gone; returns what it removed."""
    removed = []
    try:
        names = os.listdir(root)
    except OSError:
        return removed
    for name in names:
        parts = name.split("-")
        if len(parts) != 3 or parts[0] != host or not parts[1].isdigit():
            continue  # another host's (it sweeps its own), or not ours
        if _running(int(parts[1])):
            continue
        shutil.rmtree(os.path.join(root, name), ignore_errors=True)
        removed.append(name)
    return removed


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process now has that pid: keep the folder, harmlessly
    return True
