"""Large ``bytes`` and ``bytearray`` values travel out of band and are received in place.

A 300 MB ``bytes`` result used to peak the manager at 926 MB: the pickle stream held a copy,
the message envelope another, and unpickling made the third. Each case runs in a fresh
interpreter, whose high-water mark of resident memory (``VmHWM``) is then read.
"""

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.timeout(120)

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
N = 96 << 20

SCRIPT = r"""
import json, resource, sys
sys.path.insert(0, sys.argv[1])
import netpool
from _tasks import blob_size, make_blob

def rss():  # resident now, in bytes
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()

def peak():  # the high-water mark so far, in bytes
    # VmHWM, not ru_maxrss: Linux carries the peak of the process that exec'd us into
    # ru_maxrss, so under a big pytest process it read as growth that was never ours.
    with open("/proc/self/status") as f:
        return int(f.read().split("VmHWM:")[1].split()[0]) * 1024

n, case = int(sys.argv[2]), sys.argv[3]
with netpool.DistributedPool(1) as pool:
    pool.apply(make_blob, (2 << 20,))  # workers up, every code path warm
    if case == "argument":
        arg = make_blob(n)
        base = rss()
        size, head, kind = pool.apply(blob_size, (arg,))
        out = {"len": size, "head": head.decode(), "type": kind}
    else:
        base = rss()
        if case == "list":
            value = pool.starmap(make_blob, [(n, "list")], 1)[0]
            size = sum(map(len, value))
            out = {"len": size, "type": type(value[0]).__name__, "head": value[0][:16].decode()}
        else:
            value = pool.apply(make_blob, (n, case))
            out = {"len": len(value), "type": type(value).__name__,
                   "head": bytes(value[:16]).decode(), "tail": bytes(value[-16:]).decode()}
            if case == "bytearray":
                value.extend(b"!")  # writable and resizable: no view is left on it
    out["growth"] = peak() - base
print(json.dumps(out))
"""


def run_case(case: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", SCRIPT, TESTS, str(N), case],
                          capture_output=True, text=True, timeout=100,
                          env=dict(os.environ, NETPOOL_QUIET="1"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("case", ["bytes", "bytearray", "list"])
def test_a_large_result_is_received_once(case):
    got = run_case(case)
    assert got["len"] == N and got["head"] == "0123456789abcdef"
    assert got["type"] == ("bytearray" if case == "bytearray" else "bytes")
    # One copy of the value, plus slack for everything else a call allocates (today's code
    # needed three copies).
    assert got["growth"] < 1.4 * N, f"{case}: manager grew by {got['growth'] / N:.2f}x the value"


def test_a_large_argument_is_not_copied_into_messages():
    got = run_case("argument")
    assert (got["len"], got["head"], got["type"]) == (N, "0123456789abcdef", "bytes")
    # The argument existed before; pickling it in-band and framing it took two more copies.
    assert got["growth"] < 1.4 * N, f"manager grew by {got['growth'] / N:.2f}x the argument"


def test_an_exception_carrying_large_buffers_arrives_whole():
    sys.path.insert(0, TESTS)
    import netpool
    from _tasks import raise_with_blob
    with netpool.DistributedPool(1) as pool:
        with pytest.raises(ValueError) as info:
            pool.apply(raise_with_blob, (2 << 20,))
    data, array = info.value.args
    assert type(data) is bytes and len(data) == 2 << 20 and data[:16] == b"0123456789abcdef"
    assert array.shape == ((2 << 20) // 8,) and array[-1] == (2 << 20) // 8 - 1
