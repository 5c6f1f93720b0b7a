"""The main script is parsed by one thread at a time, whichever threads make pools."""

from __future__ import annotations

import ast
import threading
import time

import pytest

from netpool import _mainscript

pytestmark = pytest.mark.timeout(60)


def test_statement_index_never_parses_in_two_threads_at_once(monkeypatch):
    # CPython 3.11's ast.parse fails at random ("SystemError: AST constructor recursion depth
    # mismatch") when two threads parse at once; CPython's pool_in_threads.py (20 threads
    # each making a Pool) hit it under netpool run. A parse that lingers shows any overlap.
    real_parse, inside, most = ast.parse, [0], [0]
    count = threading.Lock()

    def slow_parse(*args, **kwargs):
        with count:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        time.sleep(0.01)
        try:
            return real_parse(*args, **kwargs)
        finally:
            with count:
                inside[0] -= 1

    monkeypatch.setattr(_mainscript.ast, "parse", slow_parse)
    source = b"import os\n\ndef f(x):\n    return x\n\nprint(f(1))\n"
    results: list = []
    threads = [threading.Thread(target=lambda: results.append(
        _mainscript.statement_index(source, "prog.py", 6))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == [2] * 8
    assert most[0] == 1
