"""What programs print of the pool's objects and errors, as the stdlib's print it.

Each case came from a program that printed something different under ``netpool run`` than
under ``python``: the remote traceback of a builtin called as the task, and the like.
"""

from __future__ import annotations

import math
import multiprocessing
import multiprocessing.pool

import pytest

from netpool import DistributedPool

pytestmark = pytest.mark.timeout(60)


def test_a_builtin_that_raises_has_a_traceback_header():
    # pool.map(int, lines) with a bad line: no frame of the user's, but the stdlib's text
    # still starts with the header (above its own pool.py frames).
    with DistributedPool(1) as pool:
        for func, arg, last in ((int, "x", "ValueError: invalid literal for int() with base "
                                            "10: 'x'"),
                                (math.sqrt, -1, "ValueError: math domain error")):
            with pytest.raises(ValueError) as info:
                pool.map(func, [arg])
            text = str(info.value.__cause__)
            assert text.startswith('\n"""\nTraceback (most recent call last):\n'), text
            assert text.endswith(f'{last}\n"""'), text
            assert text.count("Traceback (most recent call last):") == 1, text
    with multiprocessing.Pool(1) as pool:  # the stdlib's, for comparison
        with pytest.raises(ValueError) as info:
            pool.map(int, ["x"])
        assert str(info.value.__cause__).startswith(
            '\n"""\nTraceback (most recent call last):\n')
