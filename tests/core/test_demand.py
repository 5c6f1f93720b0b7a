"""The demand cap's measurement (``_core/demand.py``): Little's law on the results' busy time."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

try:
    import netpool._core.demand  # noqa: F401
except ImportError:  # a source checkout that is not installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

from netpool._core.demand import HOLD_PERIODS, Demand

pytestmark = pytest.mark.timeout(60)


def test_no_cap_until_a_period_of_results_is_measured():
    d = Demand(0.05, 2.0, 4)
    assert d.cap_at(0.0) is None
    d.observe(1.0, 0.001)
    d.observe(1.04, 0.001)
    assert d.cap_at(1.04) is None     # 40 ms of results: not a period yet
    d.observe(1.05, 0.001)            # 3 ms busy in 50 ms: L = 0.06
    assert d.cap_at(1.05) == 4 + 1 and d.load == pytest.approx(0.06)


def test_the_cap_lapses_without_results_and_moves_with_each_period():
    d = Demand(0.05, 2.0, 4)
    d.observe(0.0, 0.0)
    d.observe(0.05, 0.5)              # ten workers' worth of busy seconds in 50 ms
    assert d.cap_at(0.05) == 4 + 20
    until = 0.05 + HOLD_PERIODS * 0.05
    assert d.until == pytest.approx(until)
    assert d.cap_at(until - 1e-9) == 24 and d.cap_at(until) is None
    d.observe(0.11, 0.0)              # an idle period: the margin alone
    assert d.cap_at(0.11) == 4


@given(workers=st.integers(1, 10_000), secs=st.floats(0.05, 100.0))
def test_saturated_workers_raise_the_cap_past_their_number(workers, secs):
    """Each of ``workers`` busy all the time: the cap at least doubles (so a cap that binds
    busy workers lets go of them at the next measurement)."""
    d = Demand(0.05, 2.0, 1)
    d.observe(0.0, 0.0)
    d.observe(secs, workers * secs)
    assert d.cap_at(secs) >= 2 * workers


def test_bad_settings_are_refused():
    for args in ((0.0, 2.0, 4), (0.05, 0.5, 4), (0.05, 2.0, 0)):
        with pytest.raises(ValueError):
            Demand(*args)
