"""Message table of the wire protocol (see docs/protocol.md).

Every message is one *envelope* frame: a tuple of plain data (ints, floats, strings, bytes,
lists, tuples, None, bools), whose first item is the type code, in the byte layout of
``envelope.py``, which can build nothing but plain data and checks every length against the
bytes present before it builds anything. User objects never appear in an envelope directly:
they travel as opaque pickled ``bytes`` inside it, decoded only where they are used, so a bad
payload fails one task and not the link. Large buffers (pickle protocol 5, out of band) follow
the envelope as raw frames of their own; the envelope lists their sizes so the reader can
receive each straight into its final, writable memory.

Envelopes are read only after the peer has passed the HMAC challenge. Neither ``marshal``
(which preallocates containers from a length field) nor pickle (whose memo opcodes grow the
memo to any index a stream names) is safe on a peer's bytes; ``envelope.py`` says more.
"""

from __future__ import annotations

import struct

from ..errors import ProtocolError
from . import envelope

# 3: tasks, results, revocations name the attempt; 4: task_timeout, BEAT why; 5: the envelope
# is envelope.py's layout, no longer a pickle; 6: the status role, STATUS, SNAPSHOT, OUTPUT;
# 7: FORGET; 8: each result says how long its task ran
VERSION = 8
# A task or result this big goes out at once, on either side: sharing a message with others
# saves about a microsecond, while held back it waits for as long as the others take.
BIG_MESSAGE = 64 * 1024

# worker -> manager
HELLO = 1      # (HELLO, version, worker_id or -1, role, pid, hostname)
RESULTS = 2    # (RESULTS, [(task_id, attempt, status, payload, nbufs, seconds), ...], [sizes])
               # seconds: how long the worker spent running that task (its wall clock)
REVOKED = 3    # (REVOKED, [(task_id, attempt), ...])
READY = 4      # (READY, seconds left or None, supervisor pid)  initializer done: the worker
               # takes tasks; its batch job ends that many seconds from now (None: no
               # walltime known); the manager kills a local worker's supervisor first
OUTPUT = 5     # (OUTPUT, [(1 or 2, line), ...])  lines tasks wrote to stdout (1) or stderr (2)
# status client -> manager (role "status": never a worker, never sent a task)
STATUS = 6     # (STATUS,)  asks for a snapshot
# manager -> worker
WELCOME = 10   # (WELCOME, worker_id, beat_interval, heartbeat_timeout, [sys.path], init or None,
               #  identity, task_timeout or None, forward output: bool)
DEFINE = 11    # (DEFINE, blob_id, pickled callable)
TASKS = 12     # (TASKS, [(task_id, attempt, kind, blob_id, payload, nbufs), ...], [sizes])
REVOKE = 13    # (REVOKE, [(task_id, attempt), ...])
STOP = 14      # (STOP,)  finish the queue, then exit
SNAPSHOT = 15  # (SNAPSHOT, JSON text of stats())  to a status client, once per STATUS
FORGET = 16    # (FORGET, [blob_id, ...])  no task uses these callables any more: drop them
# both ways, on the heartbeat link
BEAT = 20      # (BEAT,)

ROLE_MAIN, ROLE_BEAT, ROLE_STATUS = "main", "beat", "status"

# task kinds: how the worker calls the function named by blob_id
CALL = 0       # payload (args, kwds)            -> func(*args, **kwds)
MAP = 1        # payload [x, ...]                -> [func(x) ...]
STARMAP = 2    # payload [args, ...]             -> [func(*args) ...]
CONTEXT = 3    # payload task; blob_id = startup -> task(*startup())

# result status
OK = 0         # payload: the pickled value
RAISED = 1     # payload: pickled (pickled exception or None, tblib dict or None, text lines, type name)
UNENCODABLE = 2  # payload: pickled (repr of the pickling error, repr of the value)

# Messages that carry out-of-band buffers after the envelope.
WITH_BUFFERS = frozenset((RESULTS, TASKS))


# The messages of every task and result have fixed layouts (``envelope.Rows``), packed by one
# ``struct`` call; the rest, rare, take the general form. A message that does not fit its
# layout (an int past 64 bits, say) takes the general form too: the reader accepts both.
_ROWS = {code: envelope.Rows(code, fields, at, sizes) for code, fields, at, sizes in (
    (TASKS, "qqBqII", 4, True),    # task id, attempt, kind, blob id, len(payload), nbufs
    (RESULTS, "qqBIId", 3, True),  # task id, attempt, status, len(payload), nbufs, seconds
    (REVOKE, "qq", None, False),   # task id, attempt
    (REVOKED, "qq", None, False),
)}
_BARE = {code: bytes((envelope.ROWS_MAGIC, code)) for code in (STOP, BEAT)}


def encode(msg: tuple) -> bytes:
    """The envelope frame of ``msg``. Raises ``TypeError`` if it is not plain data."""
    rows = _ROWS.get(msg[0])
    if rows is not None:
        try:
            return rows.encode(msg)
        except (TypeError, ValueError, OverflowError, struct.error):
            pass
    elif len(msg) == 1 and msg[0] in _BARE:
        return _BARE[msg[0]]
    return envelope.encode(msg)


def decode(frame) -> tuple:
    """The message in an envelope frame. Raises ``ProtocolError`` for a malformed one."""
    if frame[:1] == _ROWS_FIRST:
        data = frame if type(frame) is bytes else bytes(frame)
        rows = _ROWS.get(data[1]) if len(data) > 2 else None
        if rows is not None:
            return rows.decode(data)
        if len(data) == 2 and data[1] in _BARE:
            return (data[1],)
        raise ProtocolError(f"malformed envelope: no row layout for {data[1:2]!r}")
    msg = envelope.decode(frame)
    if not isinstance(msg, tuple) or not msg or type(msg[0]) is not int:
        raise ProtocolError(f"malformed envelope of type {type(msg).__name__}")
    return msg


_ROWS_FIRST = bytes((envelope.ROWS_MAGIC,))
