"""A forked worker whose stdout was caught mid-write by the fork (its lock held by a thread
that no longer exists) gets a fresh stream on the same descriptor instead of hanging."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.timeout(60)

CHILD = r'''
import sys, threading
from netpool.launchers.local import _unstick_std_streams

class Stuck:                      # a stream whose flush never returns, as with a held lock
    encoding, errors, line_buffering = "utf-8", "strict", True
    def flush(self):
        threading.Event().wait()
    def write(self, text):
        raise AssertionError("the stuck stream must not be used")

sys.stdout = Stuck()
_unstick_std_streams()
print("fresh stream works", flush=True)
'''


def test_a_stuck_stdout_is_replaced_by_a_working_one():
    proc = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True,
                          timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "fresh stream works\n"
