"""With a journal, results wait for a shared commit; the workers must not wait with them.

An imap reads its input only as its results are taken, within a window. Results a journal
holds back for a commit are done but not yet taken: unless the window has room for them on
top of the workers' share (the read-ahead every pool of small chunks gets, pool.py's
``READ_AHEAD``), holding them shrinks what is in flight, and the workers' queues drain
while the results wait (docs/journal.md, "Crash safety and cost").
"""

import pytest

import netpool
from netpool._runtime import journaled

from _tasks import inc

pytestmark = pytest.mark.timeout(120)

N = 3000


def test_results_held_for_a_commit_leave_the_imap_window_full(tmp_path, monkeypatch):
    # Held until as many results wait as tasks are in flight (or HOLD_OUTCOMES): never for
    # the time, so that what is measured does not depend on the machine's speed.
    monkeypatch.setattr(journaled, "HOLD_SECONDS", 60.0)
    seen = []  # (inputs read so far, tasks in flight) at each round that holds results
    read = [0]
    end_of_round = journaled.JournaledTasks.end_of_round

    def spy(self, later, in_flight, final=False):
        out = end_of_round(self, later, in_flight, final)
        if self.journal is not None and self.journal.pending:  # results held
            seen.append((read[0], in_flight))
        return out

    monkeypatch.setattr(journaled.JournaledTasks, "end_of_round", spy)

    def inputs():
        for x in range(N):
            read[0] += 1
            yield x

    window = 4
    base = 8 + 2 * 1 * window  # an imap's window without a journal: 1 worker of 4 slots
    with netpool.DistributedPool(1, window=window, journal=str(tmp_path / "j.db")) as pool:
        assert sorted(pool.imap_unordered(inc, inputs())) == list(range(1, N + 1))
    # While the input lasts (the feeder has not read it all), what is held is on top of
    # what the workers have, not taken from it. Without that, held plus in flight could
    # never exceed the window, so whenever something was held fewer than ``base`` tasks
    # were in flight. The median, not the minimum: a reader descheduled on a loaded
    # machine lets the tasks in flight run down for a while, with or without the fix.
    steady = sorted(f for r, f in seen if 2 * (base + journaled.HOLD_OUTCOMES) < r < N)
    assert steady, seen[:20]
    assert steady[len(steady) // 2] >= base, steady[:20]
