#!/usr/bin/env python
"""The pure scheduling core alone, in simulated time: events per second against the worker count.

    python bench/bench_core.py                       # W = 2, 100, 1000, 10000; 1,000,000 tasks
    python bench/bench_core.py --workers 2,1000 --tasks 200000 --repeat 3
    python bench/bench_core.py --rev 96d620c --budget 5   # an older core, 5 s of core time per W

No sockets, processes or clock sleeps: a simulator plays the shell and the workers. W workers
join, the tasks are submitted in batches of 1,000 (as the imap feeder does), and each worker runs
its queue first-in first-out, one task at a time, each task 100 us of simulated time (1 in
10,000 takes 0.2 s, so that slow heads get robbed), reporting every result on its own, with a
heartbeat every 15 simulated seconds. Revocations are answered at once; a Tick is delivered
whenever the core's ``next_deadline`` falls before the next event, as the shell's loop sleeps.

Only time spent inside the core (``handle`` and ``next_deadline``) is counted: events/s is
events handled divided by that. The figure that matters is the ratio between worker counts in
one run (the target: W=10,000 / W=2 >= 0.5); absolute figures move with the machine's load.
``--budget`` stops a run after that much core time, so an O(W) core finishes too.
"""

from __future__ import annotations

import argparse
import heapq
import importlib
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import deque

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(os.path.dirname(HERE), "src")

TASK_SECONDS = 1e-4
SLOW_SECONDS, SLOW_EVERY = 0.2, 10_000
BEAT_SECONDS = 15.0
BATCH = 1_000


def load_core(rev: str | None):
    """The scheduler module of the working tree, or of commit ``rev`` (via git archive)."""
    if rev is None:
        sys.path.insert(0, SRC)
        return importlib.import_module("netpool._core.scheduler"), "working tree"
    tmp = tempfile.mkdtemp(prefix="bench-core-")
    top = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=HERE, check=True,
                         capture_output=True, text=True).stdout.strip()
    archive = subprocess.run(["git", "archive", rev, "src/netpool/_core"], cwd=top,
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
    pkg = os.path.join(tmp, "src", "netpool")
    open(os.path.join(pkg, "__init__.py"), "w").close()  # the core alone, not the package
    sys.path.insert(0, os.path.join(tmp, "src"))
    commit = subprocess.run(["git", "rev-parse", "--short", rev], cwd=top, check=True,
                            capture_output=True, text=True).stdout.strip()
    return importlib.import_module("netpool._core.scheduler"), f"commit {commit}"


class Sim:
    """The shell and W workers around one Scheduler, in simulated time."""

    def __init__(self, S, workers: int, tasks: int, seed: int = 1) -> None:
        self.S = S
        self.pairs = "attempts" in S.ResultsArrived.__dataclass_fields__  # protocol 2 cores
        self.sched = S.Scheduler(S.Config(window=32, heartbeat_timeout=60.0,
                                          connect_timeout=60.0, steal_after=0.05))
        self.rng = random.Random(seed)
        self.n_workers, self.n_tasks = workers, tasks
        self.queues = {w: deque() for w in range(workers)}  # what each worker holds
        self.busy_until: dict = {}
        self.timeline: list = []  # (time, seq, kind, worker)
        self.seq = 0
        self.now = 0.0
        self.inbox: deque = deque()  # events decided by commands, delivered next
        self.resolved = self.events = 0
        self.core_seconds = 0.0
        self.deadline = None

    def at(self, t: float, kind: str, worker: int) -> None:
        self.seq += 1
        heapq.heappush(self.timeline, (t, self.seq, kind, worker))

    def deliver(self, event) -> None:
        t0 = time.perf_counter()
        commands = self.sched.handle(event)
        self.deadline = self.sched.next_deadline()
        self.core_seconds += time.perf_counter() - t0
        self.events += 1
        for c in commands:
            self.carry_out(c)

    def carry_out(self, c) -> None:
        S, name = self.S, type(c).__name__
        if name == "SendTasks":
            q = self.queues[c.worker]
            was_idle = not q
            q.extend(c.attempts if self.pairs else ((t, 0) for t in c.tasks))
            if was_idle:
                self.start_head(c.worker)
        elif name == "Resolve":
            self.resolved += 1
        elif name == "RevokeTasks":
            q = self.queues[c.worker]
            asked = set(c.attempts if self.pairs else ((t, 0) for t in c.tasks))
            back = [a for a in list(q)[1:] if a in asked]
            for a in back:
                q.remove(a)
            self.inbox.append(S.Revoked(c.worker, tuple(back) if self.pairs
                                        else tuple(t for t, _ in back), self.now))
        elif name == "StopWorker":
            self.inbox.append(S.WorkerLost(c.worker, graceful=True))

    def start_head(self, w: int) -> None:
        t, _ = self.queues[w][0]
        took = SLOW_SECONDS if t % SLOW_EVERY == SLOW_EVERY - 1 else TASK_SECONDS
        self.at(self.now + took * (0.5 + self.rng.random()), "done", w)

    def finish(self, w: int) -> None:
        q = self.queues[w]
        if not q:
            return
        t, n = q.popleft()
        self.deliver(self.S.ResultsArrived(w, ((t, n),) if self.pairs else (t,), self.now))
        if q:
            self.start_head(w)

    def run(self, budget: float) -> None:
        S = self.S
        for w in range(self.n_workers):
            self.deliver(S.WorkerLaunched(w, 0.0))
            self.deliver(S.WorkerJoined(w, 0.0))
            self.at(BEAT_SECONDS * (1 + w / self.n_workers), "beat", w)
        for start in range(0, self.n_tasks, BATCH):
            self.deliver(S.TasksSubmitted(tuple(range(start, min(start + BATCH, self.n_tasks)))))
        while self.resolved < self.n_tasks and self.core_seconds < budget:
            while self.inbox:
                self.deliver(self.inbox.popleft())
            t, _, kind, w = heapq.heappop(self.timeline)
            if self.deadline is not None and self.deadline < t:
                self.now = max(self.now, self.deadline)
                self.deliver(S.Tick(self.now))
                heapq.heappush(self.timeline, (t, 0, kind, w))
                continue
            self.now = t
            if kind == "done":
                self.finish(w)
            elif self.queues[w] or self.resolved < self.n_tasks:
                self.deliver(S.HeartbeatArrived(w, t))
                self.at(t + BEAT_SECONDS, "beat", w)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workers", default="2,100,1000,10000")
    ap.add_argument("--tasks", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=1, help="runs per worker count (median)")
    ap.add_argument("--budget", type=float, default=float("inf"),
                    help="stop each run after this many seconds of core time")
    ap.add_argument("--rev", help="benchmark the core of this git commit instead")
    args = ap.parse_args()
    S, what = load_core(args.rev)
    counts = [int(x) for x in args.workers.split(",")]
    print(f"netpool core ({what}), {args.tasks:,} tasks of ~{TASK_SECONDS * 1e6:.0f} us, "
          f"window 32, {args.repeat} run(s) per W, median events/s of core time")
    rates: dict = {}
    for _ in range(args.repeat):
        for w in counts:  # interleaved: each repetition visits every W once
            sim = Sim(S, w, args.tasks)
            t0 = time.perf_counter()
            sim.run(args.budget)
            wall = time.perf_counter() - t0
            rates.setdefault(w, []).append(sim.events / sim.core_seconds)
            done = "" if sim.resolved == args.tasks else f" (budget hit: {sim.resolved:,} done)"
            print(f"  W={w:>6,}: {sim.events:>9,} events in {sim.core_seconds:6.2f} s of core "
                  f"time ({wall:6.2f} s wall): {sim.events / sim.core_seconds:>9,.0f} "
                  f"events/s{done}", flush=True)
    med = {w: statistics.median(r) for w, r in rates.items()}
    print("W        median events/s   spread (min-max)      ratio to W=%d" % counts[0])
    for w in counts:
        print(f"{w:<8,} {med[w]:>16,.0f}   {min(rates[w]):>9,.0f}-{max(rates[w]):<9,.0f}"
              f"   {med[w] / med[counts[0]]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
