"""Opening a journal's file: created or found, its header checked, written or upgraded.

Raises ``JournalError`` for a path that cannot hold a journal, for another program's file, a
newer netpool's journal, or one that cannot be read or written (docs/journal.md, "Bad
journals"). An older netpool's SQLite journal is converted first (``journallegacy.py``).
"""

from __future__ import annotations

import fcntl
import os

from ..errors import JournalError
from . import journalformat as F
from . import journallegacy
from .journalformat import FORMAT


def open_file(path: str, readonly: bool) -> int:
    """The journal's file descriptor (created, unless ``readonly``; opened ``O_APPEND``), an
    older netpool's SQLite journal converted first. Raises ``JournalError``."""
    journallegacy.convert_if_older(path, readonly)
    if os.path.isdir(path):
        raise JournalError(f"the journal {path} is a directory; give a file name")
    if readonly:
        if not os.path.exists(path):
            raise JournalError(f"there is no journal at {path}")
        flags = os.O_RDONLY
    else:
        folder = os.path.dirname(path)
        if not os.path.isdir(folder):
            raise JournalError(f"cannot create the journal {path}: {folder} is not a folder")
        flags = os.O_RDWR | os.O_CREAT | os.O_APPEND
    try:
        return os.open(path, flags | os.O_CLOEXEC, 0o666)
    except OSError as exc:
        raise JournalError(f"cannot {'read' if readonly else 'write'} the journal "
                           f"{path}: {exc.strerror}; choose another journal path or "
                           "change the permissions") from None


def validate(fd: int, path: str, readonly: bool) -> tuple[int, bool]:
    """Checks the header, writes it into a new file; returns (format, every key a digest).
    Raises ``JournalError``."""
    if not readonly:
        fcntl.flock(fd, fcntl.LOCK_EX)  # two runs creating one journal write one header
    try:
        head = os.pread(fd, F.HEADER.size, 0)
        why = F.check_header(head)
        if why == "empty":
            if readonly:
                raise JournalError(f"{path} is an empty file, not a netpool journal yet")
            os.ftruncate(fd, 0)  # a header cut short: its creator was killed
            os.write(fd, F.header())
            return FORMAT, False
    finally:
        if not readonly:
            fcntl.flock(fd, fcntl.LOCK_UN)
    if why == "other":
        raise JournalError(f"{path} is not a netpool journal (another program's "
                           "file?): it is left untouched; choose another journal path")
    _, version, flags = F.HEADER.unpack_from(head)
    if why == "newer":
        raise JournalError(
            f"the journal {path} was written by a newer netpool (journal format "
            f"{version}; this one reads format {FORMAT}): use that netpool, or start "
            "afresh with another journal path")
    if version < FORMAT and not readonly:  # format 3: what is added is format 4's
        _upgrade_header(path, flags)
        version = FORMAT
    return version, bool(flags & F.DIGESTS)


def _upgrade_header(path: str, flags: int) -> None:
    """The header says format ``FORMAT``, so that an older netpool, which cannot read
    the frames this one adds, says so rather than skip them. Raises ``JournalError``."""
    # Through a descriptor of its own: a write to one opened O_APPEND lands at the end.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
        try:
            os.pwrite(fd, F.header(flags), 0)
        finally:
            os.close(fd)
    except OSError as exc:
        raise JournalError(f"cannot write the journal {path}: {exc.strerror}") from None
