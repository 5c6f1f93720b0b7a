"""The shape of every message a manager accepts from a peer, checked in one place.

An envelope is plain data (``messages.decode`` guarantees that much), but an authenticated
peer may still send a RESULTS with no entries, an entry of the wrong length, a task id that
is a list, a HELLO whose worker id is a string. Each ``check_*`` raises ``ProtocolError``
saying what was wrong; the caller drops that one link. Nothing here imports the manager's
modules: the checks are the protocol's own.

Entry shapes live in ``RESULT_ENTRY`` and friends: a field added to an entry (an attempt
number, say) is added there and in ``result_entry``.
"""

from __future__ import annotations

from typing import Any, Optional

from ..errors import ProtocolError
from . import messages as M

STATUSES = frozenset((M.OK, M.RAISED, M.UNENCODABLE))
ROLES = frozenset((M.ROLE_MAIN, M.ROLE_BEAT, M.ROLE_STATUS))
MAX_ENTRIES = 1 << 20  # more results in one message than any worker batches
MAX_SECONDS = 1e9      # a task's run time past this (31 years) is a lie


def _is_int(x: Any) -> bool:
    return type(x) is int  # not bool, not a subclass that could hash oddly


def _fail(what: str, msg: Any) -> ProtocolError:
    text = repr(msg)
    return ProtocolError(f"malformed {what}: {text[:120]}{'...' if len(text) > 120 else ''}")


def result_entry(entry: Any) -> tuple[int, int, int, bytes, int, float]:
    """(task_id, attempt, status, payload, nbufs, seconds) of one RESULTS entry, or
    ProtocolError. ``seconds`` (how long the task ran) is a finite float or int >= 0."""
    if type(entry) not in (tuple, list) or len(entry) != 6:
        raise _fail("RESULTS entry", entry)
    tid, attempt, status, payload, nbufs, seconds = entry
    if not (_is_int(tid) and _is_int(attempt) and status in STATUSES and _is_int(status)
            and type(payload) is bytes and _is_int(nbufs) and nbufs >= 0
            and type(seconds) in (float, int) and 0 <= seconds <= MAX_SECONDS):
        raise _fail("RESULTS entry", entry)  # (NaN fails the comparison too)
    return tid, attempt, status, payload, nbufs, seconds


def _attempt(entry: Any) -> tuple[int, int]:
    if type(entry) not in (tuple, list) or len(entry) != 2 or not all(map(_is_int, entry)):
        raise _fail("attempt", entry)
    return entry[0], entry[1]


def check_results(msg: tuple, nbufs: int) -> list[tuple[int, int, int, bytes, int, float]]:
    """The entries of a RESULTS message that came with ``nbufs`` out-of-band buffers."""
    if len(msg) not in (2, 3) or type(msg[1]) not in (tuple, list) or not msg[1]:
        raise _fail("RESULTS", msg)
    if len(msg[1]) > MAX_ENTRIES:
        raise ProtocolError(f"RESULTS with {len(msg[1])} entries")
    entries = [result_entry(e) for e in msg[1]]
    if sum(e[4] for e in entries) != nbufs:
        raise ProtocolError(f"RESULTS entries account for {sum(e[4] for e in entries)} "
                            f"buffers, {nbufs} came")
    if len({e[0] for e in entries}) != len(entries):
        raise _fail("RESULTS (a task twice)", msg)
    return entries


def check_lone_result(msg: tuple, nbufs: int) -> Optional[tuple[int, int, int, bytes, int,
                                                                float]]:
    """The entry of a RESULTS message of one result, checked as ``check_results`` checks it,
    for less; None if ``msg`` is not a RESULTS of one entry (``check_results`` judges it)."""
    if (msg[0] != M.RESULTS or len(msg) not in (2, 3) or type(msg[1]) not in (tuple, list)
            or len(msg[1]) != 1):
        return None
    entry = result_entry(msg[1][0])
    if entry[4] != nbufs:
        raise ProtocolError(f"RESULTS entries account for {entry[4]} buffers, {nbufs} came")
    return entry


def check_revoked(msg: tuple) -> tuple[tuple[int, int], ...]:
    """The (task id, attempt) pairs a REVOKED message gives back (possibly none)."""
    if len(msg) != 2 or type(msg[1]) not in (tuple, list) or len(msg[1]) > MAX_ENTRIES:
        raise _fail("REVOKED", msg)
    return tuple(_attempt(e) for e in msg[1])


def check_hello(msg: tuple) -> tuple:
    """A HELLO: (HELLO, version, worker id, role, pid, host, ...); extra fields are allowed
    for later versions. The version is checked by the caller, which can say more."""
    if len(msg) < 6:
        raise _fail("HELLO", msg)
    _, version, wid, role, pid, host = msg[:6]
    if not (_is_int(version) and _is_int(wid) and wid >= -1 and role in ROLES
            and type(role) is str and (pid is None or _is_int(pid))
            and (host is None or (type(host) is str and len(host) <= 1024))):
        raise _fail("HELLO", msg)
    return msg


MAX_LINE = 16 * 1024   # characters of one forwarded line (a worker cuts longer ones)
MAX_LINES = 4096       # lines in one OUTPUT message


def check_output(msg: tuple) -> list[tuple[int, str]]:
    """(OUTPUT, [(stream, line), ...]): lines a worker's tasks printed; stream 1 or 2."""
    if len(msg) != 2 or type(msg[1]) not in (tuple, list) or len(msg[1]) > MAX_LINES:
        raise _fail("OUTPUT", msg)
    for entry in msg[1]:
        if (type(entry) not in (tuple, list) or len(entry) != 2 or entry[0] not in (1, 2)
                or not _is_int(entry[0]) or type(entry[1]) is not str
                or len(entry[1]) > MAX_LINE):
            raise _fail("OUTPUT entry", entry)
    return [(e[0], e[1]) for e in msg[1]]


def check_bare(msg: tuple, what: str) -> None:
    """BEAT carries nothing."""
    if len(msg) != 1:
        raise _fail(what, msg)


def check_beat(msg: tuple) -> Optional[str]:
    """(BEAT,) or, from a supervisor about to kill its worker, (BEAT, why in words)."""
    why = msg[1] if len(msg) > 1 else None
    if len(msg) > 2 or not (why is None or type(why) is str):
        raise _fail("BEAT", msg)
    return why


def check_ready(msg: tuple) -> tuple[Optional[float], Optional[int]]:
    """(READY, seconds left or None[, supervisor pid]): how long the worker's batch job has
    left, if known, and the pid of its supervisor (which a local worker's manager kills
    before the worker, so that the worker reaps it)."""
    left = msg[1] if len(msg) > 1 else None
    sup = msg[2] if len(msg) > 2 else None
    if (len(msg) > 3 or not (left is None or type(left) in (int, float))
            or not (sup is None or type(sup) is int)):
        raise _fail("READY", msg)
    return left, sup
