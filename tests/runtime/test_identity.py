"""Fingerprints of callables: the same in every run of a program, different when code changes."""

import functools
import os
import subprocess
import sys
import textwrap
import threading

import pytest

from netpool._runtime.identity import fingerprint

pytestmark = pytest.mark.timeout(120)

SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                   "src")

PROGRAM = textwrap.dedent("""
    import functools, sys
    sys.path.insert(0, {src!r})
    import cloudpickle
    from netpool._runtime.identity import fingerprint
    K = 3
    def helper(x):
        return x * K
    class Task:
        def __init__(self, i):
            self.i, self.tags = i, {{"a", "b", str(i)}}
        def __call__(self):
            return helper(self.i)
    def member(x):
        return x in {{"red", "green", "blue"}}
    def fib(n):
        return n if n < 2 else fib(n - 1) + fib(n - 2)
    objs = [lambda x: helper(x) + 1, Task(3), member, (lambda k: (lambda x: x + k))(5), fib,
            functools.partial(helper, 2), pow, Task(4).__call__]
    print(" ".join(fingerprint(o).hex() for o in objs))
    print(" ".join(cloudpickle.dumps(o).hex() for o in objs))
""")


def run_program(tmp_path, seed):
    script = tmp_path / "prog.py"
    script.write_text(PROGRAM.format(src=SRC))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=60, check=True, env=dict(os.environ, PYTHONHASHSEED=str(seed)))
    fps, pickles = out.stdout.splitlines()
    return fps.split(), pickles.split()


def test_fingerprints_are_the_same_in_every_run(tmp_path):
    runs = [run_program(tmp_path, seed) for seed in (1, 2, 3)]
    assert runs[0][0] == runs[1][0] == runs[2][0]
    # ... which cloudpickle's bytes are not: a __main__ class gets a random id every run,
    # a set constant pickles in hash-seed order. That is why fingerprints exist.
    differ = [i for i in range(len(runs[0][1])) if len({r[1][i] for r in runs}) > 1]
    assert 1 in differ and 2 in differ


def make(source, name="f", **namespace):
    ns = dict(namespace, __name__="__main__")
    exec(compile(source, "<test>", "exec"), ns)
    return ns[name]


def test_a_changed_function_has_another_fingerprint():
    base = fingerprint(make("def f(x):\n    return x + 1"))
    assert base == fingerprint(make("def f(x):\n    return x + 1"))
    assert base == fingerprint(make("\n\n\ndef f(x):\n    return x + 1"))  # moved: same code
    assert base != fingerprint(make("def f(x):\n    return x + 2"))
    assert base != fingerprint(make("def f(y):\n    return y + 1"))
    assert base != fingerprint(make("def f(x, d=1):\n    return x + 1"))
    assert fingerprint(make("def f(x, d=1):\n    return x + d")) != fingerprint(
        make("def f(x, d=2):\n    return x + d"))


def test_what_a_main_function_reads_counts():
    src = "def f(x):\n    return helper(x) * K"
    helper = make("def helper(x):\n    return x", "helper")
    other_helper = make("def helper(x):\n    return -x", "helper")
    assert fingerprint(make(src, helper=helper, K=2)) == fingerprint(make(src, helper=helper, K=2))
    assert fingerprint(make(src, helper=helper, K=2)) != fingerprint(make(src, helper=helper, K=3))
    assert fingerprint(make(src, helper=helper, K=2)) != fingerprint(
        make(src, helper=other_helper, K=2))


def test_closures_classes_and_partials():
    adder = make("def adder(k):\n    return lambda x: x + k", "adder")
    assert fingerprint(adder(1)) == fingerprint(adder(1)) != fingerprint(adder(2))
    cls_src = "class T:\n    def __init__(self, i):\n        self.i = i\n" \
              "    def __call__(self):\n        return self.i {op} 1"
    T, T2 = make(cls_src.format(op="+"), "T"), make(cls_src.format(op="-"), "T")
    assert fingerprint(T(1)) == fingerprint(T(1)) != fingerprint(T(2))
    assert fingerprint(T(1)) != fingerprint(T2(1))  # a changed method of a __main__ class
    assert fingerprint(functools.partial(pow, 2)) != fingerprint(functools.partial(pow, 3))


def test_a_recursive_function_and_an_unpicklable_capture_still_get_one():
    fib = make("def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)", "fib")
    fib.__globals__["fib"] = fib
    assert fingerprint(fib) is not None
    lock = threading.Lock()
    assert fingerprint(lambda: lock) is not None  # the lock counts by its type


def test_what_cannot_be_pickled_at_all_has_none():
    assert fingerprint((x for x in range(3))) is None
