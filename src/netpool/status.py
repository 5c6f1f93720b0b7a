"""``netpool status HOST:PORT``: watch a running pool or manager from another terminal.

It connects to the manager's own port (the one workers use: nothing else is opened), passes
the same HMAC challenge with the same key, and says in its HELLO that it is a *status*
client, so the manager never counts it as a worker and never sends it a task
(docs/protocol.md). It asks for ``stats()`` snapshots and shows them: refreshed in place on a
terminal, once with ``--once``, as JSON with ``--json`` (one object per line when live).

The key is found as ``netpool worker`` finds it: ``--authkey-file PATH`` (what
``pool.worker_command()`` prints), ``--authkey-stdin``, or ``$NETPOOL_AUTHKEY`` (hex).
"""

from __future__ import annotations

import argparse
import json
import os
import select
import shutil
import socket
import sys
import time
from typing import Any, Optional

from ._protocol import messages as M
from ._runtime.progress import Rate, format_line
from ._transport.handshake import client_connect
from .worker.main import read_authkey


class StatusClient:
    """A read-only link to a manager. ``snapshot()`` returns what ``stats()`` returns there.

    Raises (from the constructor) ``ConnectionRefusedError``/``OSError`` when nobody listens,
    ``multiprocessing.AuthenticationError`` for a wrong key, ``EOFError`` when the manager
    drops the link (it speaks another protocol version); ``snapshot`` raises ``EOFError`` or
    ``OSError`` once the manager has gone. One thread at a time.
    """

    def __init__(self, address: tuple[str, int], authkey: bytes, timeout: float = 10.0) -> None:
        hello = (M.HELLO, M.VERSION, -1, M.ROLE_STATUS, os.getpid(), socket.gethostname())
        self.address, self.timeout = address, timeout
        self._chan = client_connect(address, authkey, hello, timeout=timeout)

    def snapshot(self) -> dict:
        """The manager's ``stats()`` now. Raises ``TimeoutError`` if it does not answer
        within ``timeout`` seconds (a frozen manager), EOFError/OSError once it has gone."""
        chan = self._chan
        chan.send((M.STATUS,))
        deadline = time.monotonic() + self.timeout
        ready = chan.take_buffered()
        while not ready:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([chan.sock], [], [], left)[0]:
                raise TimeoutError(f"the manager at {self.address} did not answer "
                                   f"within {self.timeout:g}s")
            ready = chan.recv_ready()
        (msg, _), rest = ready[0], ready[1:]
        if rest:
            raise EOFError("the manager sent more than was asked for")
        if msg[0] != M.SNAPSHOT or len(msg) != 2 or not isinstance(msg[1], str):
            raise EOFError(f"the manager answered with message type {msg[0]!r}, not a snapshot")
        return json.loads(msg[1])

    def close(self) -> None:
        self._chan.close()


def add_parser(sub: Any) -> None:
    p = sub.add_parser("status", help="watch a running pool or manager: netpool status HOST:PORT",
                       description=__doc__.split("\n\n")[0])
    p.add_argument("address", help="the manager's HOST:PORT (pool.address)")
    key = p.add_mutually_exclusive_group()
    key.add_argument("--authkey-file", help="file holding the authkey in hex")
    key.add_argument("--authkey-stdin", action="store_true",
                     help="read the authkey (hex) from the first line of standard input")
    p.add_argument("--once", action="store_true", help="print one snapshot and exit")
    p.add_argument("--json", action="store_true", help="print stats() as JSON")
    p.add_argument("--interval", type=float, default=1.0,
                   help="seconds between refreshes (default 1)")


def main(args: argparse.Namespace) -> int:
    """Run ``netpool status``; 0 when done (the manager has gone, Ctrl-C), 2 on a usage
    error, 1 when the manager cannot be reached or refuses us."""
    host, _, port = args.address.rpartition(":")
    if not host or not port.isdigit():
        return _error(f"address must be HOST:PORT, got {args.address!r}", 2)
    try:
        authkey = read_authkey(args.authkey_file, args.authkey_stdin, consume=False)
    except (OSError, ValueError) as exc:
        return _error(str(exc), 2)
    address = (host.strip("[]"), int(port))
    try:
        client = StatusClient(address, authkey)
        first = client.snapshot()
    except EOFError:
        return _error(f"the manager at {args.address} closed the link: it may run another "
                      f"netpool version (this one speaks protocol {M.VERSION})", 1)
    except Exception as exc:  # refused, unreachable, wrong key (AuthenticationError)
        return _error(f"cannot watch {args.address}: {type(exc).__name__}: {exc}", 1)
    try:
        return _watch(client, first, args)
    except KeyboardInterrupt:
        return 0
    finally:
        client.close()


def _watch(client: StatusClient, snap: dict, args: argparse.Namespace) -> int:
    tty = sys.stdout.isatty() and not args.json
    rate = Rate()
    while True:
        r = rate.add(time.monotonic(), snap["totals"]["done"] + snap["totals"]["failed"])
        if args.json:
            text = json.dumps(snap)
        else:
            rows = shutil.get_terminal_size((100, 40)).lines - 8 if tty else None
            text = render(snap, r, "%s:%d" % client.address, rows)
        if tty and not args.once:
            sys.stdout.write("\x1b[H\x1b[2J" + text + "\n")
        else:
            sys.stdout.write(text + ("\n" if args.json or args.once else "\n\n"))
        sys.stdout.flush()
        if args.once:
            return 0
        time.sleep(max(args.interval, 0.05))  # pacing a display, not synchronisation
        try:
            snap = client.snapshot()
        except TimeoutError as exc:
            return _error(str(exc), 1)
        except (EOFError, OSError):
            print(f"netpool status: the manager at {args.address} has gone", file=sys.stderr)
            return 0


def render(snap: dict, rate: Optional[float], where: str, rows: Optional[int] = None) -> str:
    """The status view of one snapshot: the progress line, the workers, failures, queues."""
    t, f, q = snap["totals"], snap["failures"], snap["queues"]
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(snap["time"]))
    lines = [f"netpool manager at {where}, {when}", format_line(snap, rate), "",
             f"workers: {t['workers_live']} live, {t['workers_starting']} starting or "
             f"draining, {t['workers_departed']} gone",
             f"  {'id':>4}  {'state':<9} {'host':<16} {'pid':>7} {'done':>6} {'failed':>6}  "
             f"{'running':<18} {'heard':>6}"]
    workers = snap["workers"]
    shown = workers if rows is None else workers[:max(rows - len(lines), 1)]
    for w in shown:
        running = "-"
        if w["tasks"]:
            running = f"task {w['tasks'][0]}"
            if w["running_since"] is not None:
                running += f" {w['running_since']:.1f}s"
            if len(w["tasks"]) > 1:
                running += f" +{len(w['tasks']) - 1}"
        heard = "-" if w["heartbeat_age"] is None else f"{w['heartbeat_age']:.1f}s"
        lines.append(f"  {w['id']:>4}  {w['state']:<9} {str(w['host'] or '-')[:16]:<16} "
                     f"{str(w['pid'] or '-'):>7} {w['tasks_done']:>6} {w['tasks_failed']:>6}  "
                     f"{running:<18} {heard:>6}")
    if len(shown) < len(workers):
        lines.append(f"  ... and {len(workers) - len(shown)} more")
    causes = [f"{name} x{n}" for name, n in f["raised"].items()]
    causes += [f"unencodable x{f['unencodable']}"] if f["unencodable"] else []
    causes += [f"poison x{f['poison']}"] if f["poison"] else []
    causes += [f"{name} x{n}" for name, n in f["manager"].items()]
    deaths = [f"{how} x{n}" for how, n in f["worker_deaths"].items()]
    lines.append("failures: " + (", ".join(causes) or "none"))
    lines.append("worker deaths: " + (", ".join(deaths) or "none"))
    lines.append(f"queues: {q['pending']} pending, {q['on_workers']} on workers, "
                 f"{q['inbox']} in the inbox")
    return "\n".join(lines)


def _error(text: str, code: int) -> int:
    print(f"netpool status: error: {text}", file=sys.stderr)
    return code
