"""What a worker is to ``multiprocessing``: its process object, its main module.

A stdlib pool worker is a ``multiprocessing`` child: ``current_process()`` is a process named
``ForkPoolWorker-3`` (``SpawnPoolWorker-3`` under spawn) whose ``_identity`` is ``(3,)``, the
number the parent's ``multiprocessing.process._process_counter`` gave it, and it is daemonic.
Real code reads these (a tqdm ``position``, a GPU index), so netpool's workers have them too;
the number comes from the same counter in the manager (see the WELCOME message).

A worker that is a fresh interpreter loads the manager's main script the way the stdlib's
spawn start method does (``load_main``): as ``__mp_main__``, its ``if __name__ ==
"__main__":`` block not run, and installed as ``__main__`` too, so that what was pickled by
reference to ``__main__`` (instances of its classes, its functions) loads here.
"""

from __future__ import annotations

import itertools
import os
import sys
import types
from typing import Any, Optional


# The pid of the manager that forked this worker's supervisor (``_runtime.forking``), or None:
# what ``multiprocessing.parent_process()`` is to a forked worker, as to a stdlib one.
forked_from: Optional[int] = None


def become_pool_worker(identity: tuple, prefix: str, parent: Optional[tuple] = None) -> None:
    """Make ``multiprocessing.current_process()`` this worker's process object.

    ``identity`` is e.g. ``(3,)``; ``prefix`` ``"ForkPoolWorker"``; ``parent`` the manager's
    (name, pid), for ``multiprocessing.parent_process()``. As the stdlib's child bootstrap,
    the process counter starts again at 1, for pools made by the worker's own tasks.
    """
    from multiprocessing import context, process
    identity = tuple(identity)
    me = process_class(prefix).__new__(process_class(prefix))
    me._identity = identity
    me._config = dict(process._current_process._config)
    # As the stdlib's: pool workers are daemonic. netpool's own pools do not check it, so
    # a task may still make a pool of its own; multiprocessing.Process refuses, as there.
    me._config["daemon"] = True
    parent_name, parent_pid = parent or (process._current_process.name,
                                         forked_from or os.getppid())
    me._parent_pid, me._parent_name = parent_pid, parent_name
    me._popen = None
    me._closed = False
    me._target, me._args, me._kwargs = None, (), {}
    me._name = f"{prefix}-{':'.join(str(i) for i in identity)}"
    process._current_process = me
    process._parent_process = _parent_class()(parent_name, parent_pid, None)
    process._process_counter = itertools.count(1)
    process._children = set()
    _take_start_method(prefix)
    from multiprocessing import util
    util.info("child process calling self.run()")  # as the stdlib's bootstrap logs it


def _take_start_method(prefix: str) -> None:
    """As the stdlib's ``Process._bootstrap``: a child's default start method is its own
    (``get_start_method()`` in a spawn pool's task is ``'spawn'``, in a fork pool's
    ``'fork'`` whatever the parent's default)."""
    import multiprocessing
    method = {"SpawnPoolWorker": "spawn", "ForkServerPoolWorker": "forkserver"}.get(prefix,
                                                                                  "fork")
    multiprocessing.set_start_method(method, force=True)


def _parent_class() -> type:
    """``multiprocessing.parent_process()``'s class for a worker: the stdlib's, whose
    ``is_alive()``/``join()`` wait on a sentinel our workers do not have; theirs ask the
    kernel whether the parent's pid is still there (a forked worker's parent is the pool's
    process, on this host)."""
    from multiprocessing import process

    class ParentProcess(process._ParentProcess):
        def is_alive(self) -> bool:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                return False
            except OSError:
                pass  # there, but not ours to signal
            return True

        def join(self, timeout: Optional[float] = None) -> None:
            import time
            deadline = None if timeout is None else time.monotonic() + timeout
            while self.is_alive() and (deadline is None or time.monotonic() < deadline):
                time.sleep(0.05)

    return ParentProcess


def process_class(prefix: str) -> type:
    """The class of a stdlib pool worker named ``prefix``-N: ``ForkProcess`` and the like."""
    from multiprocessing import context
    return {"SpawnPoolWorker": context.SpawnProcess,
            "ForkServerPoolWorker": getattr(context, "ForkServerProcess",
                                            context.SpawnProcess)}.get(prefix, context.ForkProcess)


def begin_forked_child() -> None:
    """What the stdlib's fork bootstrap does first in a child (``Process._bootstrap``).

    The manager's finalizers are not ours to run (one would shut down the user's
    ``multiprocessing.Manager()``), and the objects registered for it are reset for this
    process: a ``Queue`` inherited from the manager gets its own feeder thread, a recursive
    lock its own count, a Manager proxy its own connection.
    """
    from multiprocessing import util
    util._finalizer_registry.clear()
    util._run_after_forkers()


def end_of_worker(exitcode: Optional[int] = None) -> None:
    """What the stdlib's bootstrap does as a child ends: run ``multiprocessing``'s exit hooks.

    Among them each ``Queue``'s flush: a worker that put items on one and then stopped would
    otherwise lose those its feeder thread had not written yet. With ``exitcode`` (a worker
    that was told to stop), log that it exits, as the bootstrap does
    (``multiprocessing.log_to_stderr()`` shows it).
    """
    from multiprocessing import util
    util._exit_function()
    if exitcode is not None:
        util.info("process exiting with exitcode %d" % exitcode)


def load_main(path: Optional[str], digest: Optional[str] = None, until: Optional[int] = None,
              quiet: bool = False) -> Optional[str]:
    """Load the manager's main script as ``__mp_main__`` (and ``__main__``); None once done,
    else why it could not be (then objects defined in it travel by value).

    ``digest``: the sha256 of the manager's file, which this one must match (a different
    version at the same path is not loaded). ``until``: run only the top-level statements
    before that index (the fork start method's state: the statement that made the pool and
    what follows it not run), else the whole file as spawn does. ``quiet``: discard what the
    statements print, as a forked child never prints it again. Nothing is done when
    ``__main__`` already is that script (a forked worker).
    """
    if not path:
        return "the manager has no main script file"
    current = sys.modules.get("__main__")
    if getattr(current, "__file__", None) == path:
        return None
    try:
        with open(path, "rb") as f:
            source = f.read()
    except OSError as exc:
        return f"it cannot be read here ({exc.strerror or exc})"
    if digest is not None:
        import hashlib
        if hashlib.sha256(source).hexdigest() != digest:
            return "the file here differs from the manager's"
    import ast
    import builtins
    import io
    import types
    main = types.ModuleType("__mp_main__")
    main.__dict__.update(__file__=path, __builtins__=builtins, __cached__=None,
                         __loader__=None, __package__=None, __spec__=None)
    saved = {name: sys.modules.get(name) for name in ("__main__", "__mp_main__")}
    sys.modules["__main__"] = sys.modules["__mp_main__"] = main
    out, err = sys.stdout, sys.stderr
    captured = io.StringIO()
    try:
        tree = ast.parse(source, path)
        if until is not None:
            tree.body = tree.body[:until]
        code = compile(tree, path, "exec", dont_inherit=True)
        if quiet:
            sys.stdout = sys.stderr = captured
        exec(code, main.__dict__)
    except (Exception, SystemExit) as exc:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
        return f"running it here failed ({type(exc).__name__}: {exc}){_tail(captured)}"
    finally:
        sys.stdout, sys.stderr = out, err
    return None


def _tail(captured: "Any") -> str:
    text = captured.getvalue().strip()
    return f"; it printed: {text[-500:]}" if text else ""


_DEFINITIONS = (type, types.FunctionType, types.BuiltinFunctionType, types.ModuleType)


def install_values(blob: bytes, filename: Optional[str] = None) -> list[str]:
    """Put the main module's globals that travelled by value (``netpool._mainscript``) into
    this process's ``__main__``, where it lacks them; the names that failed to load.

    Functions, classes and modules the script defined here stay; other globals take the
    manager's values (a global the guarded block set before making the pool, as a forked
    worker has it). Functions, and the methods of classes, are rebound to this ``__main__``'s namespace, so
    that they and the tasks see one set of globals (those an initializer sets), as in a
    forked worker. Their code names ``filename`` (the script's path), for tracebacks.
    """
    import pickle
    import types
    main = sys.modules.get("__main__")
    if main is None or main.__name__ != "__mp_main__":  # not loaded: netpool.worker's own
        import builtins
        main = types.ModuleType("__mp_main__")
        # As a module's: C code (numpy's, for one) looks builtins up in a frame's globals.
        main.__builtins__ = builtins  # type: ignore[attr-defined]
        sys.modules["__main__"] = sys.modules["__mp_main__"] = main
    space = vars(main)
    failed, fresh = [], []
    for name, data in pickle.loads(blob).items():
        if name in space and isinstance(space[name], _DEFINITIONS):
            continue  # loaded from the script: the real thing, its source and lines
        try:
            space[name] = pickle.loads(data)
        except Exception:  # a module this host lacks, say: the tasks that need it fail there
            failed.append(name)
            continue
        fresh.append(name)
    for name in fresh:
        value = space[name]
        if isinstance(value, types.FunctionType):
            space[name] = _rebound(value, space, filename)
        elif isinstance(value, type) and value.__module__ in ("__main__", "__mp_main__"):
            for attr, member in list(vars(value).items()):
                new = _rebound_member(member, space, filename)
                if new is not member:
                    setattr(value, attr, new)
    return failed


def _rebound(func: "Any", space: dict, filename: Optional[str]) -> "Any":
    if func.__module__ not in ("__main__", "__mp_main__") or func.__globals__ is space:
        return func
    import types
    code = func.__code__
    if filename:
        try:
            code = _code_in(code, filename)
        except (TypeError, ValueError):
            pass  # an unusual code object: its traceback names <dynamic-code>
    new = types.FunctionType(code, space, func.__name__, func.__defaults__, func.__closure__)
    new.__kwdefaults__, new.__qualname__ = func.__kwdefaults__, func.__qualname__
    new.__dict__.update(func.__dict__)
    new.__doc__, new.__module__ = func.__doc__, func.__module__
    new.__annotations__ = func.__annotations__
    return new


def _code_in(code: "Any", filename: str) -> "Any":
    """``code`` and the code objects nested in it, in ``filename``."""
    consts = tuple(_code_in(c, filename) if isinstance(c, type(code)) else c
                   for c in code.co_consts)
    return code.replace(co_filename=filename, co_consts=consts)


def _rebound_member(member: "Any", space: dict, filename: Optional[str]) -> "Any":
    import types
    if isinstance(member, types.FunctionType):
        return _rebound(member, space, filename)
    if isinstance(member, (staticmethod, classmethod)):
        inner = _rebound(member.__func__, space, filename) if isinstance(
            member.__func__, types.FunctionType) else member.__func__
        return member if inner is member.__func__ else type(member)(inner)
    return member


# The pool's authkey, which this worker authenticated with (set by worker.main before the
# setup runs): the key that opens what the manager sealed for us.
link_key: list = []


def keystream(key: bytes, nonce: bytes, size: int) -> bytes:
    """``size`` bytes of HMAC-SHA256(key, nonce + counter) blocks. Pure."""
    import hashlib
    import hmac
    blocks = [hmac.new(key, nonce + i.to_bytes(4, "big"), hashlib.sha256).digest()
              for i in range((size + 31) // 32)]
    return b"".join(blocks)[:size]


def unseal(sealed: tuple, key: bytes) -> bytes:
    """The secret ``netpool._compat.seal`` sealed for ``key``."""
    nonce, data = sealed
    return bytes(a ^ b for a, b in zip(data, keystream(key, nonce, len(data))))


def prepare(options: dict) -> None:
    """The setup a pool sends to workers that are fresh interpreters, run before any task.

    ``options`` (``netpool._compat.worker_setup``): ``authkey`` (the manager's
    multiprocessing authkey, for Manager proxies, or None; ``sealed_authkey``, the same sealed
    with the pool's key for workers on other hosts), ``argv`` (the manager's ``sys.argv``),
    ``cwd`` (the manager's working
    directory, entered when it exists here), ``main``/``digest``/``until``/``quiet`` (the
    main script, see ``load_main``), ``values`` (its globals by value, or None), ``prefix``
    (``ForkPoolWorker`` or ``SpawnPoolWorker``, as the stdlib would name this worker),
    ``parent`` (the pool's process (name, pid) when on this host: ``parent_process()``),
    ``daemon`` (False when the pool's context makes non-daemonic workers, as NestablePool's),
    ``verbose`` (say on stderr how the main script was had), ``init`` (the pickled
    initializer and its arguments, or None). The authkey is set before ``init`` is
    unpickled, as the initializer's arguments may hold proxies.
    """
    import multiprocessing
    if options.get("authkey") is not None:
        multiprocessing.current_process().authkey = options["authkey"]
    elif options.get("sealed_authkey") and link_key:
        multiprocessing.current_process().authkey = unseal(options["sealed_authkey"],
                                                           link_key[0])
    prefix = options.get("prefix")
    me = multiprocessing.current_process()
    if prefix and getattr(me, "_identity", ()):
        me.name = f"{prefix}-{':'.join(str(i) for i in me._identity)}"
        me.__class__ = process_class(prefix)  # a ForkServerProcess under forkserver
        _take_start_method(prefix)
    if options.get("parent"):  # the pool's process, on this host
        from multiprocessing import process
        process._parent_process = _parent_class()(*options["parent"], None)
    if options.get("daemon") is False:
        me._config["daemon"] = False  # its pool's context makes non-daemonic workers
    if options.get("argv") is not None:
        sys.argv = list(options["argv"])  # as spawn's children have it (argparse at top level)
    cwd = options.get("cwd")
    if cwd and os.path.isdir(cwd):
        try:
            os.chdir(cwd)  # as a forked child's; a host without that folder keeps its own
        except OSError:
            pass
    why = None
    if options.get("main"):
        why = load_main(options["main"], options.get("digest"), options.get("until"),
                        bool(options.get("quiet")))
    failed = (install_values(options["values"], options.get("main")) if options.get("values")
              else [])
    if options.get("verbose") and (why or failed):
        print(f"netpool worker: the main script {options.get('main')}: {why or 'loaded'}; "
              f"objects defined in it travel by value"
              + (f" (these did not load here: {', '.join(failed)})" if failed else ""),
              file=sys.stderr, flush=True)
    init = options.get("init")
    if init is not None:
        from .._protocol.codec import loads_callable
        func, args = loads_callable(init)
        func(*args)


class ParentFd:
    """A descriptor of the manager's process, for a worker on the same machine that is a
    fresh interpreter: what ``multiprocessing``'s spawn passes to its children (a shared
    value's memory, a queue's pipe), reopened here through ``/proc/PID/fd``."""

    def __init__(self, pid: int, fd: int) -> None:
        self.pid, self.fd = pid, fd

    def detach(self) -> int:
        return os.open(f"/proc/{self.pid}/fd/{self.fd}", os.O_RDWR)
