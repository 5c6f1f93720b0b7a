"""One manager, many workers: throughput, join time and memory as the worker count grows.

Part 1, the swarm: ``--swarm N`` lightweight workers (default 1,000) speak the real protocol
to one ``DistributedPool`` manager: handshake (HMAC, HELLO), WELCOME, READY, then TASKS in
and RESULTS out, the callable loaded from its DEFINE and run on the decoded arguments. They
are many per process (``--per-process``, 100 by default, one selector each), so 1,000 fit on
2 cores; they open no heartbeat link (the manager's heartbeat timeout is set long). Reported:
the time from starting the swarm processes until all N have joined (a join storm); the
manager's resident memory per connected worker; tiny tasks per second (``map_async`` of
``abs`` with ``chunksize=1``) with all N connected, and, in the same run, with 4 of the same
lightweight workers, as the yardstick.

Part 2, real workers: ``--real 256`` ``netpool worker`` processes (each with its supervisor)
joined with the command ``worker_command()`` gives, against 4 of them, in one run: tiny
tasks/s and the ratio, and the time for all of them to join.

Not a test: it prints what it measures. Targets (issue 9): >= 20,000 tiny tasks/s with 1,000
connected; >= 0.6 of the 4-worker throughput with 256 real workers; 1,000 joins within 20 s.

    python bench/bench_swarm.py                       # both parts
    python bench/bench_swarm.py --skip-real           # the swarm only
    python bench/bench_swarm.py --swarm 200 --real 32 --tasks 20000   # a quick look
"""

from __future__ import annotations

import argparse
import os
import selectors
import shlex
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


# -- a process of lightweight workers ---------------------------------------------------------

def swarm_process(host: str, port: int, authkey_hex: str, count: int) -> None:
    """``count`` workers in one process, each a real protocol peer, served by one selector."""
    from netpool._protocol import codec
    from netpool._protocol import messages as M
    from netpool._transport.handshake import client_connect, finish

    authkey = bytes.fromhex(authkey_hex)
    sel = selectors.DefaultSelector()
    funcs: dict = {}
    hello = (M.HELLO, M.VERSION, -1, M.ROLE_MAIN, os.getpid(), socket.gethostname())
    for _ in range(count):
        for attempt in range(50):  # a refused or cut handshake in the storm: try again
            try:
                chan = client_connect((host, port), authkey, hello, timeout=30)
                chan.recv()  # WELCOME
                break
            except (OSError, EOFError):
                time.sleep(0.05 * (attempt + 1))
        else:
            raise SystemExit("could not join")
        finish(chan)
        chan.send((M.READY, None))
        sel.register(chan.sock, selectors.EVENT_READ, chan)
    while True:
        for key, _ in sel.select():
            chan = key.data
            try:
                msgs = chan.recv_ready()
            except (EOFError, OSError):
                sel.unregister(chan.sock)
                chan.close()
                if not sel.get_map():
                    return
                continue
            out = []
            for msg, bufs in msgs:
                if msg[0] == M.DEFINE:
                    funcs[msg[1]] = codec.loads_callable(msg[2])
                elif msg[0] == M.TASKS:
                    for tid, attempt, kind, blob, payload, _ in msg[1]:
                        began = time.monotonic()
                        items = codec.loads(payload)
                        value = [funcs[blob](x) for x in items] if kind == M.MAP else \
                            [funcs[blob](*x) for x in items]
                        data, _b = codec.dumps(value)
                        out.append((tid, attempt, M.OK, data, 0, time.monotonic() - began))
                elif msg[0] == M.REVOKE:
                    chan.send((M.REVOKED, []))
                elif msg[0] == M.STOP:
                    chan.close()
            if out:
                try:
                    chan.send((M.RESULTS, out, []))
                except OSError:
                    pass


def start_swarm(pool, n: int, per: int) -> list:
    host, port = pool.address
    procs = []
    for i in range(0, n, per):
        code = ("import sys; sys.path.insert(0, %r); import bench_swarm as b; "
                "b.swarm_process(%r, %d, %r, %d)" % (HERE, host, port, pool.authkey.hex(),
                                                     min(per, n - i)))
        procs.append(subprocess.Popen([sys.executable, "-c", code]))
    return procs


def wait_joined(pool, n: int, timeout: float, procs: list = ()) -> tuple[float, list]:
    """Seconds until all ``n`` have joined, or until every one of ``procs`` has either joined
    or exited (one that exited will never join: the run goes on without it, and says so);
    and the exit codes of those that exited."""
    t0 = time.monotonic()
    while True:
        joined = pool._rt.worker_count()  # private: netpool workers connect back by themselves
        gone = [p.returncode for p in procs if p.poll() is not None]
        if joined >= n - len(gone) and joined:
            return time.monotonic() - t0, gone
        if time.monotonic() - t0 > timeout:
            raise SystemExit(f"only {joined} of {n} joined in {timeout}s"
                             f" ({len(gone)} exited)")
        if len(gone) == n:
            raise SystemExit(f"all {n} worker processes exited (exit codes "
                             f"{sorted(set(gone))}); none joined")
        time.sleep(0.01)


def tiny_rate(pool, tasks: int) -> float:
    pool.map(abs, range(2000), chunksize=1)  # warm: DEFINE sent, every worker has run
    t0 = time.perf_counter()
    out = pool.map_async(abs, range(tasks), chunksize=1).get(timeout=600)
    took = time.perf_counter() - t0
    assert out[-1] == tasks - 1
    return tasks / took


def swarm_run(n: int, per: int, tasks: int) -> dict:
    import netpool
    pool = netpool.DistributedPool(workers=[], heartbeat_timeout=3600.0)
    procs = []
    try:
        base = _rss()
        t0 = time.monotonic()
        procs = start_swarm(pool, n, per)
        joined, _ = wait_joined(pool, n, timeout=300)
        per_worker = (_rss() - base) / n
        rate = tiny_rate(pool, tasks)
        return {"workers": n, "join_s": joined, "rss_per_worker_kib": per_worker / 1024,
                "tasks_per_s": rate, "started_to_joined_s": time.monotonic() - t0 - 0}
    finally:
        pool.terminate()
        for p in procs:
            p.kill()
            p.wait()


def real_run(n: int, tasks: int, logs: str | None = None) -> dict:
    import netpool
    pool = netpool.DistributedPool(workers=[])
    procs, files = [], []
    try:
        cmd = shlex.split(pool.worker_command())
        argv = [sys.executable, "-m", "netpool.worker"] + cmd[2:] if cmd[0] == "netpool" else cmd
        env = dict(os.environ, NETPOOL_QUIET="1")
        if logs:
            os.makedirs(logs, exist_ok=True)
            files = [open(os.path.join(logs, f"worker-{n}-{i}.err"), "w") for i in range(n)]
        procs = [subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL,
                                  stderr=files[i] if files else subprocess.DEVNULL)
                 for i in range(n)]
        joined, gone = wait_joined(pool, n, timeout=600, procs=procs)
        rate = tiny_rate(pool, tasks)
        gone = [p.returncode for p in procs if p.poll() is not None]  # during the run too
        return {"workers": n, "join_s": joined, "tasks_per_s": rate, "lost": gone,
                "connected": pool._rt.worker_count()}
    finally:
        pool.terminate()
        for p in procs:
            p.kill()
            p.wait()
        for f in files:
            f.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--swarm", type=int, default=1000)
    ap.add_argument("--per-process", type=int, default=100)
    ap.add_argument("--real", type=int, default=256)
    ap.add_argument("--tasks", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--skip-real", action="store_true")
    ap.add_argument("--skip-swarm", action="store_true")
    ap.add_argument("--worker-logs", metavar="DIR",
                    help="keep each real worker's stderr in DIR (to see why one left)")
    args = ap.parse_args()
    sys.path.insert(0, HERE)
    if not args.skip_swarm:
        for _ in range(args.repeat):  # interleaved: the yardstick right after the swarm
            big = swarm_run(args.swarm, args.per_process, args.tasks)
            small = swarm_run(4, 4, args.tasks)
            print(f"swarm: {big['workers']} lightweight workers joined in {big['join_s']:.2f}s; "
                  f"manager +{big['rss_per_worker_kib']:.0f} KiB per connected worker; "
                  f"{big['tasks_per_s']:,.0f} tiny tasks/s with {big['workers']} vs "
                  f"{small['tasks_per_s']:,.0f} with 4 (ratio "
                  f"{big['tasks_per_s'] / small['tasks_per_s']:.2f})", flush=True)
    if not args.skip_real:
        for _ in range(args.repeat):
            big = real_run(args.real, args.tasks, args.worker_logs)
            small = real_run(4, args.tasks, args.worker_logs)
            lost = "".join(f"; {len(r['lost'])} of {r['workers']} lost (exit codes "
                           f"{sorted(set(r['lost']))}), {r['connected']} connected at the end"
                           for r in (big, small) if r["lost"])
            print(f"real: {big['workers']} `netpool worker` processes joined in "
                  f"{big['join_s']:.1f}s; {big['tasks_per_s']:,.0f} tiny tasks/s vs "
                  f"{small['tasks_per_s']:,.0f} with 4 (ratio "
                  f"{big['tasks_per_s'] / small['tasks_per_s']:.2f}){lost}", flush=True)


if __name__ == "__main__":
    main()
