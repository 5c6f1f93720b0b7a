"""What a worker that is a fresh interpreter needs of the manager's main script.

A stdlib worker forked from the parent has the main module as it was at the fork: every
function, class and global defined by the statements that ran before ``Pool()``. netpool's
local workers are forked too; a worker on another host (ssh, batch jobs) is a fresh
interpreter, and gets the same in two ways (``netpool.worker.process`` does the loading):

* **from the script**, when it can read the very file (same path, same bytes: a shared
  filesystem, or the same machine). Under the fork start method (Linux's default) it runs the
  script's top-level statements that came before the one that made the pool, as
  ``__mp_main__``, with their output discarded: the state a forked child would have, from the
  real source (tracebacks name its lines), and a script without an ``if __name__ ==
  "__main__"`` guard does not make pools again on the worker. Under spawn or forkserver it
  runs the whole file as spawn does (its guarded block not run, nothing discarded).
* **by value**, for everything the first way did not give it: the script unreadable there (no
  shared filesystem, another version of the file), or names defined where loading stops (in
  the guarded block). The main module's functions, classes and other globals are pickled
  with cloudpickle once, when the pool is made, and installed in the worker's ``__main__``.
  A global that cannot be pickled (a lock, an open file) is left out.

Only the manager side is here; it runs on the thread that makes the pool.
"""

from __future__ import annotations

import ast
import gc
import hashlib
import os
import sys
import threading
import types
from typing import Any, Optional

# Globals of __main__ never sent by value: the interpreter's own, and netpool's state.
_SKIP = frozenset({"__builtins__", "__loader__", "__spec__", "__cached__", "__file__",
                   "__name__", "__package__", "__doc__", "__annotations__"})


def describe(fork_like: bool, with_values: bool) -> dict:
    """The main script's part of a fresh-interpreter worker's setup (``prepare``'s options).

    ``fork_like``: the pool emulates the fork start method (load only the statements before
    the pool's); ``with_values``: also carry the main module's globals by value (some worker
    may not read the script). Never raises: what cannot be described is left out (None).
    """
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    out: dict[str, Any] = {"main": None, "digest": None, "until": None, "values": None}
    if main is None:
        return out
    if path:
        path = os.path.abspath(path)
        out["main"] = path
        try:
            with open(path, "rb") as f:
                source = f.read()
        except OSError:
            source = None  # gone since it started: workers cannot load it either
        if source is not None:
            out["digest"] = hashlib.sha256(source).hexdigest()
            if fork_like:
                out["until"] = statement_index(source, path, _module_line(main))
    if with_values:
        out["values"] = dumps_values(vars(main))
    return out


def _module_line(main: types.ModuleType) -> Optional[int]:
    """The line of the main module's top-level code running now (on the main thread, which
    runs the script, whichever thread makes the pool); None once it has finished."""
    if threading.current_thread() is threading.main_thread():
        frame: Optional[types.FrameType] = sys._getframe()
    else:
        # Python 3.11's sys._current_frames() may start a garbage collection while it holds
        # the interpreter's thread-list lock, which the collection then waits for: a hang
        # seen making a pool (CPython gh-106883). No collection may start meanwhile.
        collecting = gc.isenabled()
        gc.disable()
        try:
            frame = sys._current_frames().get(threading.main_thread().ident or -1)
        finally:
            if collecting:
                gc.enable()
    line = None
    space = vars(main)
    while frame is not None:
        if frame.f_code.co_name == "<module>" and frame.f_globals is space:
            line = frame.f_lineno  # the outermost such frame wins
        frame = frame.f_back
    return line


# CPython 3.11's ast.parse is not safe in two threads at once: its AST constructor keeps one
# recursion counter per interpreter, and a parse in another thread upsets it ("SystemError:
# AST constructor recursion depth mismatch"). Pools made from several threads at once (CPython's
# own test_importlib/partial/pool_in_threads.py, in the corpus) parse here at the same time.
_PARSE_LOCK = threading.Lock()


def statement_index(source: bytes, path: str, line: Optional[int]) -> Optional[int]:
    """The index of the top-level statement that holds ``line`` (its decorators included),
    or None (no line, a line outside every statement, source that does not parse). Pure."""
    if line is None:
        return None
    try:
        with _PARSE_LOCK:
            body = ast.parse(source, path).body
    except (SyntaxError, ValueError):
        return None
    for i, stmt in enumerate(body):
        start = min([stmt.lineno] + [d.lineno for d in getattr(stmt, "decorator_list", ())])
        end = stmt.end_lineno if stmt.end_lineno is not None else stmt.lineno
        if start <= line <= end:
            return i
    return None


def dumps_values(space: dict) -> Optional[bytes]:
    """``space``'s globals, each pickled on its own by value (cloudpickle; modules and what
    they define by reference), as one blob of ``{name: pickle}``; what does not pickle is
    left out. None if nothing pickled."""
    import pickle

    import cloudpickle
    blobs = {}
    for name, value in list(space.items()):
        if name in _SKIP:
            continue
        owner = value if isinstance(value, (type, types.FunctionType)) else type(value)
        if str(getattr(owner, "__module__", "")).startswith("netpool"):
            continue  # a pool, a manager, `netpool run`'s Pool: never the workers' to have
        try:
            blobs[name] = cloudpickle.dumps(value, 5)
        except Exception:  # a lock, a file, a generator: not for other hosts
            continue
    return pickle.dumps(blobs, 5) if blobs else None
