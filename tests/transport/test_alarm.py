"""The worker reader thread's timer (worker/alarm.py), both kinds: it rings while armed,
at once when rung, and never once disarmed."""

import threading
import time

import pytest

from netpool.worker import alarm

pytestmark = pytest.mark.timeout(60)


def _kinds():
    a = alarm.Alarm(0.01)
    kinds = [a]
    b = alarm.Alarm(0.01)
    b._timer = alarm._CondTimer()  # the fallback where there is no timerfd
    kinds.append(b)
    return kinds


def _waiter(a):
    rang = threading.Event()

    def run():
        a.wait()
        rang.set()
    threading.Thread(target=run, daemon=True).start()
    return rang


@pytest.mark.parametrize("a", _kinds(), ids=lambda a: type(a._timer).__name__)
def test_an_alarm_rings_when_armed_or_rung_and_not_when_disarmed(a):
    rang = _waiter(a)
    assert not rang.wait(0.2), "rang before it was armed"
    began = time.monotonic()
    a.arm()
    assert rang.wait(10), "an armed alarm never rang"
    assert time.monotonic() - began >= 0.009
    rang = _waiter(a)
    assert rang.wait(10), "an armed alarm rang once, not every period"
    a.disarm()
    rang = _waiter(a)
    assert not rang.wait(0.2), "a disarmed alarm rang"
    a.ring()
    assert rang.wait(10), "a rung alarm did not wake its sleeper"
    a.disarm()
