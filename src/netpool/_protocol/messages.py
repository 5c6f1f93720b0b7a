"""Message table of the wire protocol (see docs/protocol.md).

Every message is one *envelope* frame: a tuple of plain data (ints, floats, strings, bytes,
lists, tuples, None), whose first item is the type code, pickled and read back by an unpickler
that refuses every global, so it can build nothing but plain data. User objects
never appear in an envelope directly: they travel as opaque pickled ``bytes`` inside it, decoded
only where they are used, so a bad payload fails one task and not the link. Large buffers
(pickle protocol 5, out of band) follow the envelope as raw frames of their own; the envelope
lists their sizes so the reader can receive each straight into its final, writable memory.

Envelopes are read only after the peer has passed the HMAC challenge. ``marshal`` would be a
little faster, but it preallocates containers from a length field, so twelve bytes can ask it
for gigabytes; pickle builds containers item by item from data that is really there.
"""

from __future__ import annotations

import io
import pickle

from ..errors import ProtocolError

VERSION = 4  # 3: tasks, results, revocations name the attempt; 4: task_timeout, BEAT why

# worker -> manager
HELLO = 1      # (HELLO, version, worker_id or -1, role, pid, hostname)
RESULTS = 2    # (RESULTS, [(task_id, attempt, status, payload, nbufs), ...], [buffer sizes])
REVOKED = 3    # (REVOKED, [(task_id, attempt), ...])
READY = 4      # (READY, seconds left or None, supervisor pid)  initializer done: the worker
               # takes tasks; its batch job ends that many seconds from now (None: no
               # walltime known); the manager kills a local worker's supervisor first
# manager -> worker
WELCOME = 10   # (WELCOME, worker_id, beat_interval, heartbeat_timeout, [sys.path], init or None)
DEFINE = 11    # (DEFINE, blob_id, pickled callable)
TASKS = 12     # (TASKS, [(task_id, attempt, kind, blob_id, payload, nbufs), ...], [sizes])
REVOKE = 13    # (REVOKE, [(task_id, attempt), ...])
STOP = 14      # (STOP,)  finish the queue, then exit
# both ways, on the heartbeat link
BEAT = 20      # (BEAT,)

ROLE_MAIN, ROLE_BEAT = "main", "beat"

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


class _PlainUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        raise ProtocolError(f"envelopes hold plain data only, not {module}.{name}")


def encode(msg: tuple) -> bytes:
    return pickle.dumps(msg, 5)


def decode(frame) -> tuple:
    try:
        msg = _PlainUnpickler(io.BytesIO(frame)).load()
    except ProtocolError:
        raise
    except Exception as exc:  # any malformed stream: UnpicklingError, EOFError, ValueError...
        raise ProtocolError(f"malformed envelope: {type(exc).__name__}: {exc}") from None
    if not isinstance(msg, tuple) or not msg or not isinstance(msg[0], int):
        raise ProtocolError(f"malformed envelope of type {type(msg).__name__}")
    return msg
