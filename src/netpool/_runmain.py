"""Running the user's program as ``__main__`` for ``netpool run``, as ``python`` would:
``python script.py`` (``main_of_file``) or ``python -m module`` (``main_of_module``), then
``run_main`` and, after an uncaught KeyboardInterrupt, ``exit_as_interrupted``."""

from __future__ import annotations

import os
import sys
import types
from typing import Any, NoReturn


class UsageError(Exception):
    """A mistake on the command line: reported in one line, exit status 2."""


def main_of_file(script: str) -> tuple[types.ModuleType, Any]:
    """The ``__main__`` module and code of ``python script``; ``sys.argv[0]`` stays as given.

    Raises UsageError when the file cannot be read (SyntaxError comes out of ``run_main``,
    printed as python prints it)."""
    from importlib.machinery import SourceFileLoader
    path = os.path.abspath(script)
    try:
        with open(path, "rb") as f:
            source = f.read()
    except OSError as exc:
        raise UsageError(f"can't open file {script!r}: {exc.strerror}") from None
    main = _fresh_main(__file__=path, __cached__=None, __package__=None, __spec__=None,
                       __loader__=SourceFileLoader("__main__", path))  # as python's
    sys.path[0] = os.path.dirname(path)
    return main, source


def main_of_module(name: str) -> tuple[types.ModuleType, Any]:
    """The ``__main__`` module and code of ``python -m name``: found on ``sys.path`` with
    the current directory first; a package runs its ``__main__`` submodule, as python's.

    Raises UsageError with python's words for a module that is not there or cannot run."""
    import importlib.util
    sys.path[0] = os.getcwd()
    try:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations is not None:
            name = f"{name}.__main__"
            spec = importlib.util.find_spec(name)
    except (ImportError, ValueError) as exc:  # a parent package that fails to import
        raise UsageError(f"error while finding module specification for {name!r} "
                         f"({type(exc).__name__}: {exc})") from None
    if spec is None:
        if name.endswith(".__main__"):
            package = name[:-len(".__main__")]
            raise UsageError(f"No module named {name}; {package!r} is a package and cannot "
                             "be directly executed")
        raise UsageError(f"No module named {name}")
    code = spec.loader.get_code(name) if spec.loader is not None else None
    if code is None:
        raise UsageError(f"No code object available for {name}")
    main = _fresh_main(__file__=spec.origin, __cached__=spec.cached, __spec__=spec,
                       __package__=spec.parent, __loader__=spec.loader)
    return main, code


def _fresh_main(**attrs: Any) -> types.ModuleType:
    import builtins
    main = types.ModuleType("__main__")
    main.__dict__.update(__builtins__=builtins, **attrs)
    if sys.version_info < (3, 14):
        # Before 3.14 the interpreter's __main__ starts with an empty __annotations__ (for
        # annotations typed at the prompt), whether the script annotates anything or not:
        # `print(__annotations__)` works and `globals()` lists it. 3.14 dropped it (PEP 649,
        # CPython gh-119180: "No longer set __annotations__ in __main__").
        main.__dict__["__annotations__"] = {}
    return main


def run_main(main: types.ModuleType, code: Any) -> int:
    """Run ``code`` (source or a code object) in ``main`` as ``__main__``; the exit status
    python would have: the ``sys.exit`` code, 1 after an uncaught exception (its traceback
    printed as python prints it, without our frames), 130 after a KeyboardInterrupt.

    The module stays ``sys.modules["__main__"]`` (and ``__mp_main__``, the name the
    multiprocessing module gives it) until we exit, so that what the script's pools pickle
    by reference to it, and their results, load here as in a plain run.
    """
    path = main.__file__
    sys.modules["__main__"] = sys.modules["__mp_main__"] = main
    try:
        if not isinstance(code, types.CodeType):
            code = compile(code, path, "exec", dont_inherit=True)
        exec(code, main.__dict__)
    except SystemExit as exc:
        status = exc.code
        if status is None or isinstance(status, int):
            return status or 0
        print(status, file=sys.stderr)
        return 1
    except BaseException as exc:
        tb = exc.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename != path:
            tb = tb.tb_next  # our frames: a plain run has none of them
        # None: the script did not start (a SyntaxError), which python prints without frames.
        exc = exc.with_traceback(tb)
        sys.excepthook(type(exc), exc, exc.__traceback__)
        if isinstance(exc, KeyboardInterrupt):
            interrupted[:] = [True]  # python -m netpool then dies of SIGINT, as python does
            return 130  # what the shell reports for python killed by Ctrl-C
        return 1
    return 0


interrupted: list = []  # [True] once the script ended with an uncaught KeyboardInterrupt


def exit_as_interrupted() -> NoReturn:
    """End as python does after an uncaught KeyboardInterrupt: as at any exit (threads
    joined, atexit handlers run, output flushed), then killed by SIGINT, so that the parent
    sees that status (-2 from subprocess, 130 in a shell), not an exit code."""
    import atexit
    import signal
    import threading
    threading._shutdown()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):
            pass
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGINT)
    os._exit(130)  # the signal did not end us (blocked): the shell's number for it
