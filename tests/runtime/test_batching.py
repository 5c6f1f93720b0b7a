"""The imap feeder's and map's batches (``_batching.Batch``): small tasks wait a little to
share a submission, big ones go out at once."""

import pytest

from netpool import _batching

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def long_hold(monkeypatch):
    # Nothing falls due during the test: a submission seen came from add() itself.
    monkeypatch.setattr(_batching, "HOLD_SECONDS", 3600.0)


def test_small_tasks_wait_to_share_a_submission(long_hold):
    sent = []
    batch = _batching.Batch(sent.append)
    batch.add("a", 100)
    batch.add("b", 100)
    assert sent == []
    batch.flush()
    assert sent == [["a", "b"]]


def test_a_batch_that_reaches_big_bytes_is_submitted_at_once(long_hold):
    """A big map chunk waiting for the next one to be pickled kept its worker waiting."""
    sent = []
    batch = _batching.Batch(sent.append)
    batch.add("small", 1000)
    batch.add("big", _batching.BIG_MESSAGE - 1000)
    assert sent == [["small", "big"]]
    batch.add("alone", _batching.BIG_MESSAGE)
    assert sent == [["small", "big"], ["alone"]]
    batch.add("after", 10)  # the count starts again after each submission
    assert len(sent) == 2
    batch.flush()
    assert sent[-1] == ["after"]
