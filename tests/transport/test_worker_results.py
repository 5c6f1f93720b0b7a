"""A worker holds small results back to share a message, but sends a big one at once."""

import os

import pytest

from netpool._protocol import messages as M
from netpool.worker import serve

pytestmark = pytest.mark.timeout(30)


class Recorded:
    def __init__(self):
        self.sent = []

    def send(self, msg, bufs=()):
        self.sent.append(msg)


@pytest.fixture
def serving():
    made = []

    def make(chan):
        made.append(serve.Serve(chan, runner=None))  # no threads start before run()
        return made[-1]
    yield make
    for s in made:
        os.close(s.recall_r)
        os.close(s.recall_w)


def _entry(tid, data):
    return (tid, 1, 0, data, 0, 0.0)  # as Serve.run posts it: (id, attempt, status, data, ...)


def test_a_small_result_with_tasks_queued_behind_it_is_held(serving):
    chan = Recorded()
    s = serving(chan)
    s._post(_entry(1, b"x" * 100), [], flush=False)
    assert chan.sent == []
    s._post(_entry(2, b"y" * 100), [], flush=True)
    assert [[e[0] for e in m[1]] for m in chan.sent] == [[1, 2]]


def test_a_big_result_is_sent_without_waiting_for_the_next_task(serving):
    """Held, a big chunk's result reached the manager only with the next one's (or after
    the flusher's hold), while the manager waited for it."""
    chan = Recorded()
    s = serving(chan)
    s._post(_entry(1, b"x" * 100), [], flush=False)
    s._post(_entry(2, b"z" * serve.M.BIG_MESSAGE), [], flush=False)
    assert [m[0] for m in chan.sent] == [M.RESULTS]
    assert [e[0] for e in chan.sent[0][1]] == [1, 2]  # the one held goes with it, in order
