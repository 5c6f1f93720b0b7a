"""Results count only for the attempt they belong to, through the real protocol (issue 14).

A hand-made worker joins a pool with ``netpool worker``'s handshake and answers each task with
a stray result (an unknown task id), a forged attempt number and a REVOKED naming the task
twice before the real result, then the same result again: the caller gets the real value
once, and the pool goes on working.
"""

import threading

import pytest

import netpool
from netpool._protocol import codec
from netpool._protocol import messages as M
from netpool._transport.handshake import client_connect, finish

pytestmark = pytest.mark.timeout(60)


def fake_worker(address, authkey, replies, ready):
    """Serve ``apply(f, (x,))`` and ``map(f, xs)`` as if ``f`` were ``x + 1``."""
    hello = (M.HELLO, M.VERSION, -1, M.ROLE_MAIN, None, "fake")
    chan = client_connect(address, authkey, hello)
    welcome, _ = chan.recv()
    assert welcome[0] == M.WELCOME
    finish(chan)
    chan.send((M.READY, None))
    ready.set()
    try:
        while True:
            msg, bufs = chan.recv()
            if msg[0] != M.TASKS:
                continue
            pos = 0
            for tid, attempt, kind, blob, payload, nbufs in msg[1]:
                arg = codec.loads(payload, bufs[pos:pos + nbufs])
                pos += nbufs
                value = [x + 1 for x in arg] if kind == M.MAP else arg[0][0] + 1
                for status, value, at in replies(tid, attempt, value):
                    if status == "revoked":
                        chan.send((M.REVOKED, value))
                        continue
                    data, out = codec.dumps(value)
                    chan.send((M.RESULTS, [(at[0], at[1], M.OK, data, len(out), 0.0)],
                               [memoryview(b).nbytes for b in out]), out)
    except (EOFError, OSError):
        pass


def lying(tid, attempt, value):
    yield "ok", "stray", (tid + 1000, attempt)          # a task nobody sent
    yield "ok", "forged", (tid, attempt + 1)             # the right task, not this attempt
    yield "ok", "forged", (tid, attempt - 1)
    yield "revoked", [(tid, attempt + 1), (tid + 5, 1), (tid + 5, 1)], None
    yield "ok", value, (tid, attempt)                    # the real result
    yield "ok", "duplicate", (tid, attempt)              # ... and again


def test_strays_forgeries_and_duplicates_never_resolve_a_task():
    with netpool.DistributedPool(workers=[]) as pool:
        ready = threading.Event()
        host, port = pool.address
        t = threading.Thread(target=fake_worker, args=((host, port), pool.authkey, lying, ready),
                             daemon=True)
        t.start()
        assert ready.wait(20)
        results = [pool.apply_async(abs, (i,)) for i in range(20)]
        assert [r.get(timeout=20) for r in results] == [i + 1 for i in range(20)]
        assert pool.map(abs, range(50)) == [i + 1 for i in range(50)]
