"""The worker process.

Data flow inside one worker::

    manager ──TASKS/DEFINE/REVOKE/STOP──> main thread while idle ──> queue ──> main thread
                                      └──> reader thread during a long task ──┘   runs tasks
    manager <──────────────RESULTS (batched)────────────────────────────────────────┘
    manager <──BEAT──> supervisor process (the parent of this one, its own connection)

The process a launcher starts is the *supervisor*; the worker that serves is its child
(supervisor.py says why and who watches whom). Heartbeats come from the supervisor, not a
thread: a task that holds the GIL in a long C call would starve a heartbeat thread, and the
manager would wrongly declare the worker dead.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
from typing import Callable, Optional

from .._protocol import messages as M
from .._transport.handshake import client_connect, finish, retrying
from .execute import Blobs, Runner
from . import forkguard, supervisor
from .serve import Serve, flush_output

AUTHKEY_ENV = "NETPOOL_AUTHKEY"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    fast = _parse_fast(args)
    if fast is not None:  # what launchers pass: no argparse to import (~10 ms of start-up)
        address, worker_id, key_file, key_stdin, alternatives, quiet = fast
        try:
            authkey = read_authkey(key_file, key_stdin)
        except (OSError, ValueError) as exc:
            print(f"netpool worker: error: {exc}", file=sys.stderr)
            return 2
        return run_worker(address, authkey, worker_id, alternatives, quiet=quiet or None)
    return _main_argparse(args)


def _parse_fast(args: list[str]) -> tuple | None:
    """``HOST:PORT [--id N] [--alt HOST]... [--quiet] [--authkey-file PATH | --authkey-stdin]``,
    or None for argparse."""
    if not args or args[0].startswith("-"):
        return None
    host, _, port = args[0].rpartition(":")
    if not host or not port.isdigit():
        return None
    worker_id, key_file, key_stdin, quiet, rest = -1, None, False, False, args[1:]
    alternatives: list[str] = []
    while rest:
        if rest[0] == "--id" and len(rest) > 1 and rest[1].lstrip("-").isdigit():
            worker_id, rest = int(rest[1]), rest[2:]
        elif rest[0] == "--alt" and len(rest) > 1 and not rest[1].startswith("-"):
            alternatives.append(rest[1].strip("[]"))
            rest = rest[2:]
        elif rest[0] == "--quiet":
            quiet, rest = True, rest[1:]
        elif rest[0] == "--authkey-file" and len(rest) > 1 and not key_stdin and not key_file:
            key_file, rest = rest[1], rest[2:]
        elif rest[0] == "--authkey-stdin" and not key_file:
            key_stdin, rest = True, rest[1:]
        else:
            return None
    return ((host.strip("[]"), int(port)), worker_id, key_file, key_stdin, tuple(alternatives),
            quiet)


def _main_argparse(argv: list[str]) -> int:
    import argparse
    parser = argparse.ArgumentParser(prog="netpool worker",
                                     description="Run a netpool worker that connects to a manager.")
    parser.add_argument("address", help="the manager's HOST:PORT (see pool.address)")
    parser.add_argument("--id", type=int, default=-1, help=argparse.SUPPRESS)
    parser.add_argument("--alt", action="append", default=[], metavar="HOST",
                        help="another address of the manager, tried in turn if HOST fails")
    key = parser.add_mutually_exclusive_group()
    key.add_argument("--authkey-file", help="file holding the authkey in hex (keep it 0600)")
    key.add_argument("--authkey-stdin", action="store_true",
                     help="read the authkey (hex) from the first line of standard input")
    parser.add_argument("--quiet", action="store_true",
                        help="no greeting line; failures are still reported on stderr")
    args = parser.parse_args(argv)
    host, _, port = args.address.rpartition(":")
    if not host or not port.isdigit():
        parser.error(f"address must be HOST:PORT, got {args.address!r}")
    try:
        authkey = read_authkey(args.authkey_file, args.authkey_stdin)
    except (OSError, ValueError) as exc:
        parser.error(str(exc))
    return run_worker((host.strip("[]"), int(port)), authkey, args.id,
                      tuple(a.strip("[]") for a in args.alt), quiet=args.quiet or None)


def read_authkey(path: Optional[str], stdin: bool, consume: bool = True) -> bytes:
    """The key from a file, stdin, or ``$NETPOOL_AUTHKEY`` (removed from the environment if
    ``consume``, so that what tasks start does not inherit it). Raises OSError (the file) or
    ValueError (none given, not hex)."""
    if path:
        with open(path) as f:
            text = f.read()
    elif stdin:
        text = sys.stdin.readline()
    else:
        text = (os.environ.pop if consume else os.environ.get)(AUTHKEY_ENV, "")
        if not text:
            raise ValueError(f"no authkey: use --authkey-file, --authkey-stdin or ${AUTHKEY_ENV}")
    return bytes.fromhex(text.strip())


def run_worker(address: tuple[str, int], authkey: bytes, worker_id: int = -1,
               alternatives: tuple[str, ...] = (), *, forked: bool = False,
               setup: Optional[Callable[[], None]] = None, quiet: Optional[bool] = None) -> int:
    """Connect to the manager at ``address`` (or, failing that, at each of ``alternatives``
    on the same port, in turn) and serve it until it stops us or goes away.

    ``forked``: this process was forked from the manager (``launchers.local``), so it has
    the manager's ``sys.path`` and ``__main__`` already, and ``setup`` (the pool's
    initializer, called with the very objects the manager holds) replaces the pickled one
    the manager sends to fresh interpreters.

    This process becomes the supervisor; the worker that serves is its child (supervisor.py).
    """
    # Ctrl-C is for the manager, which stops us; the worker's tasks see it (Runner.on_sigint).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    return supervisor.run(
        lambda status, info_fd: _serve(address, authkey, worker_id, alternatives, forked, setup,
                                       quiet, status, info_fd), authkey)


def _serve(address: tuple[str, int], authkey: bytes, worker_id: int,
           alternatives: tuple[str, ...], forked: bool, setup: Optional[Callable[[], None]],
           quiet: Optional[bool], status: "supervisor.StatusPage", info_fd: int) -> int:
    """The worker, in the supervisor's child: connect, tell the supervisor, serve."""
    from .process import begin_forked_child, end_of_worker
    if forked:
        begin_forked_child()
    hello = (M.HELLO, M.VERSION, worker_id, M.ROLE_MAIN, os.getpid(), socket.gethostname())
    if quiet is None:
        quiet = bool(os.environ.get("NETPOOL_QUIET"))
    def join() -> tuple:
        chan, where = _connect_any(address, alternatives, authkey, hello, worker_id, quiet)
        try:
            return chan, where, chan.recv()[0]
        except BaseException:
            chan.close()  # cut before WELCOME: a manager busy admitting others, or leaving
            raise

    def say(text: str) -> None:
        print(f"netpool worker {worker_id}: {text}", file=sys.stderr, flush=True)
    try:  # the manager forking us is on this host: refusing us, it has gone
        chan, address, msg = retrying(join, refused=not forked, say=None if quiet else say)
        own_links.append(chan)
    except (EOFError, ConnectionResetError, BrokenPipeError) as exc:
        # Reached, then dropped as we joined: the manager is shutting down (a pool left at
        # once). Not a traceback in the program's stderr; one line where we may speak.
        if not forked and not quiet:
            print(f"netpool worker {worker_id}: the manager closed the connection as we "
                  f"joined ({exc or type(exc).__name__}); exiting", file=sys.stderr, flush=True)
        return 3
    except OSError:
        if not forked:
            raise  # refused, unreachable: the output file (or stderr) says why
        return 3  # our parent, the manager, dropped us as we joined: it is shutting down
    if msg[0] != M.WELCOME:
        raise SystemExit(f"netpool worker: expected WELCOME from the manager, got {msg[0]}")
    _, worker_id, beat_interval, heartbeat_timeout, paths, init = msg[:6]
    finish(chan)
    if len(msg) > 6 and msg[6]:  # the multiprocessing identity the manager gave us
        from .process import become_pool_worker
        become_pool_worker(msg[6], "ForkPoolWorker" if forked else "SpawnPoolWorker")
    if not forked:
        for path in reversed(paths):
            if path not in sys.path and os.path.isdir(path):
                sys.path.insert(0, path)
    forwarding = len(msg) > 8 and bool(msg[8])
    if forwarding:  # our output goes to a file: the manager shows it too
        from . import forward
        forward.install(chan)
    forkguard.guard_children(chan, status)
    status.tick_every = supervisor.tick_seconds(heartbeat_timeout)
    supervisor.send_info(info_fd, address, worker_id, beat_interval, heartbeat_timeout,
                         msg[7] if len(msg) > 7 else None)
    blobs = Blobs()
    # The pool's initializer: a failure here is a failed start.
    if forked:
        if setup is not None:
            setup()
    elif init is not None:
        from .process import link_key
        link_key[:] = [authkey]
        from .._protocol.codec import loads_callable
        func, args = loads_callable(init)
        func(*args)
    signal.signal(signal.SIGTERM, _ending(status))
    from .walltime import remaining
    if not supervisor.supervised(info_fd):
        return 3  # no heartbeat link: our supervisor is ending us
    chan.send((M.READY, remaining(), os.getppid()))  # our supervisor, above us
    runner = Runner(blobs)
    signal.signal(signal.SIGINT, runner.on_sigint)
    code = Serve(chan, runner, status, flush_each=not forked or forwarding).run()
    # Stopped gracefully: flush what the tasks left in multiprocessing queues.
    end_of_worker(code if isinstance(code, int) else None)
    return code


def _ending(status: "supervisor.StatusPage") -> Callable:
    """The SIGTERM handler: ``terminate()`` asks idle workers to end this way.

    Idle, the worker ends as a stdlib process does (``multiprocessing``'s exit hooks flush
    what tasks put on queues); inside a task, or in a task's child, it dies of the signal.
    """
    def handler(signum: int, frame: object) -> None:
        if status.read()[0] == 0.0 and not forkguard.forked():
            flush_output()
            end_of_worker()
            flush_output()
            os._exit(0)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
    from .process import end_of_worker
    return handler


# This process's own links to a manager: a child forked from it (a pool made by a task) closes
# them, or the manager would not see this worker's link close when it dies.
own_links: list = []


ALT_CONNECT_TIMEOUT = 5.0  # per address that is not the last: a dead network fails fast


def _connect_any(address: tuple[str, int], alternatives: tuple[str, ...], authkey: bytes,
                 hello: tuple, worker_id: int, quiet: bool):
    """The first of the manager's addresses that accepts us, as (channel, address).

    A manager on several networks offers each of its addresses; this worker may reach only
    some. Connection failures move on to the next; the last one's error is raised. A wrong
    key is not a connection failure: it ends the search at once.
    """
    host, port = address
    tries = [host, *(a for a in alternatives if a != host)]
    for n, candidate in enumerate(tries):
        last = n == len(tries) - 1
        if not quiet:
            # stderr: a worker's stdout may be the user program's (ssh relays it there)
            print(f"netpool worker {worker_id} (pid {os.getpid()} on {socket.gethostname()}) "
                  f"connecting to {candidate}:{port}", file=sys.stderr, flush=True)
        try:
            kwargs = {} if last else {"timeout": ALT_CONNECT_TIMEOUT}
            return client_connect((candidate, port), authkey, hello, **kwargs), (candidate, port)
        except OSError as exc:
            if last:
                raise
            print(f"netpool worker {worker_id}: {candidate}:{port} failed ({exc}); "
                  "trying the next address", file=sys.stderr, flush=True)
    raise AssertionError("unreachable: the last try returns or raises")


