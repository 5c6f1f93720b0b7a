#!/usr/bin/env python
"""What moving the journal's work off the manager's loop could give, at most: an ablation.

    python bench/bench_journal_bound.py [--variants plain,full,wkey,...] [--repeat N] [-n N]
    python bench/bench_journal_bound.py --apart [--variants full,wkey,...]

Each variant replaces parts of the journal's code in this process (``JournaledTasks.admit``,
``resolved``, ``end_of_round``, ``Journal.flush``) with what the manager would still do if
the worker that ran a task sent its key and its framed record (a protocol change), or less.
The variants take turns on a fresh pool of 2 local workers, the order flipping every
repetition; each runs ``imap_unordered(inc, range(n), 1)`` as ``bench_journal.py``'s tiny
workload does. Printed per variant: the median rate, the median of the rates paired with
``plain``'s of the same repetition (and their quartiles), the manager's CPU per task and the
loop thread's alone (``pthread_getcpuclockid``), and loop rounds per 1000 tasks.
``--apart`` prices the same variants without a pool (admit, resolve and commit 20,000 fake
tasks, 28 to a round, best of the repetitions, the loop thread's CPU).

Variants whose journal is not a working journal (they write no usable row) are for
measuring only:

- ``plain``   no journal;
- ``full``    the journal as it is;
- ``nohash``  no BLAKE2b on the manager: identical tasks in flight found by their pickled
  arguments, the payload standing for the key a worker would send; the rest as now;
- ``wkey``    what a worker-made key and record leave on the loop thread, every rule kept:
  the in-flight table by pickled arguments, a set of this run's finished arguments (a
  later identical task is still answered from the journal), each outcome's record (a
  worker-made header, the payload) appended, the commit one ``b"".join`` and ``INSERT``;
- ``floor``   ``wkey`` without the set of finished arguments (an identical task submitted
  after its twin finished would run again) and with no index in the row;
- ``floor0``  ``floor`` without the ``INSERT``: no SQLite at all;
- ``fullfile`` ``full`` with the ``INSERT`` replaced by one ``os.write`` of the same row,
  checksummed, to an append-only file (what a store of our own would cost; no ``fsync``,
  as SQLite's ``synchronous=NORMAL`` has none);
- ``floorfile`` ``floor`` with the same ``os.write`` instead of the ``INSERT``;
- ``hold0``   no table at all, only the hold (outcomes counted by task id, nothing written).
- ``noflush``  ``full`` whose commit does nothing (no row built, nothing written, the keys
  not marked committed): what the whole commit costs the loop;
- ``noinsert`` ``full`` whose commit builds the row and marks the keys but writes nothing
  (what a writer process taking the ``INSERT`` off the loop could save, at most);
- ``onlyupdate`` ``noflush`` that still marks the keys committed (``committed.update``);
- ``fromkeys``  ``noflush`` that builds ``dict.fromkeys`` of the batch's keys and drops it
  (``onlyupdate`` without the insertion into the run's large table of keys);
- ``bigleader`` ``noflush`` whose leaders' keys stay in the in-flight table, marked done
  (what a table of this run's keys kept at resolve time would cost, as marks for later
  twins instead of ``committed.update`` at commit time);
- ``lazy``, ``hold0lazy``  ``full`` and ``hold0`` with the loop woken for a hold only 20 ms
  after it began (``JournaledTasks.due``), not 2: a flood's own rounds end it sooner.

Measured and read in docs/journal.md ("Where the cost stands").

The variants other than ``plain``, ``full`` and ``lazy`` replace code written against the
journal's tables before the one table of keys (``Journal.table``, 2026-12-03): they need
that tree's netpool, e.g. ``PYTHONPATH=<a checkout of 0b79250>/src``, and refuse to run
on a newer one.
"""

from __future__ import annotations

import argparse
import datetime
import os
import pickle
import statistics
import sys
import tempfile
import time
import zlib
from math import inf

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import workloads as W  # noqa: E402
from bench_pool import DEADLINE, _drain, close_pool, wait_ready  # noqa: E402
from netpool import DistributedPool  # noqa: E402
from netpool._protocol import messages as M  # noqa: E402
from netpool._runtime import journal as JM  # noqa: E402
from netpool._runtime import journalformat as F  # noqa: E402
from netpool._runtime import journaled as JD  # noqa: E402
from netpool._runtime import loop as LP  # noqa: E402
from netpool._runtime.tasks import Task  # noqa: E402

JT = JD.JournaledTasks
ORIGINAL = {"admit": JT.admit, "resolved": JT.resolved, "end_of_round": JT.end_of_round,
            "due": JT.due, "flush": JM.Journal.flush}
HEADER = bytes(21)  # stands for a worker-made record header: key, status, length
ROUNDS = [0]
_round = LP.Runtime._round


def _counted_round(self, ready):
    ROUNDS[0] += 1
    return _round(self, ready)


LP.Runtime._round = _counted_round


def _admit_by_args(finished: bool):
    def admit(self, tasks, to_sink):
        if self.journal is None:
            return tasks
        run, leader_of, done = None, self._leader_of, self.journal.done_args
        for t in tasks:
            p = t.payload
            if finished and p in done:
                raise AssertionError("the workload repeats no task")
            leader = leader_of.get(p)
            if leader is not None:
                self._followers.setdefault(leader, []).append(t)
                if run is None:
                    run = tasks[:tasks.index(t)]
                continue
            leader_of[p] = t.id
            t.journal = p
            if run is not None:
                run.append(t)
        return tasks if run is None else run
    return admit


_by_args_only = _admit_by_args(False)


def _admit_nohash(self, tasks, to_sink):
    out = _by_args_only(self, tasks, to_sink)
    for t in tasks:
        if type(t.journal) is bytes:
            t.journal = t.journal, "inc"
    return out


def _resolved_record(self, task, status, payload, bufs):
    key = task.journal
    if key is None:
        return ()
    task.journal = None
    del self._leader_of[key]
    journal = self.journal
    pending = journal.pending_outcomes
    pending[key] = None
    journal.parts += (HEADER, payload)
    if len(pending) >= JM.BATCH_ROWS:
        journal.flush()
    return self._followers.pop(task.id, ()) if self._followers else ()


def _flush_joined(insert: bool, finished: bool):
    def flush(self):
        if not self.pending_outcomes or self.broken:
            return
        data = b"".join(self.parts)
        if insert:
            self._db.execute(
                "INSERT INTO batches(run, at, idx, data, counts, crc) VALUES (?,?,?,?,?,?)",
                (self.run, time.time(), b"", data, "[]", zlib.crc32(data)))
        if finished:
            self.done_args.update(self.pending_outcomes)
        self.parts = []
        self._clear_pending()
    return flush


def _appended(self, data: bytes) -> None:
    """An append-only file's commit: one ``os.write`` of a checksummed frame, no SQLite."""
    fd = getattr(self, "append_fd", None)
    if fd is None:
        fd = self.append_fd = os.open(self.path + ".append", os.O_WRONLY | os.O_CREAT
                                      | os.O_APPEND, 0o600)
    os.write(fd, len(data).to_bytes(8, "little") + zlib.crc32(data).to_bytes(4, "little")
             + data)


def _flush_packed_appended(self):
    if not self.pending_outcomes or self.broken:
        return
    idx, data, counts, crc = F.pack(self.pending_outcomes)
    _appended(self, b"".join((idx, data, counts.encode())))
    self.committed.update(dict.fromkeys(self.pending_outcomes, 1))
    self._clear_pending()


def _flush_joined_appended(self):
    if not self.pending_outcomes or self.broken:
        return
    _appended(self, b"".join(self.parts))
    self.parts = []
    self._clear_pending()


def _flush_clear(self, *args):
    self._clear_pending()


def _flush_noinsert(self, *args):
    if self.pending_outcomes:
        F.pack(self.pending_outcomes)
        self.committed.update(dict.fromkeys(self.pending_outcomes, 1))
    self._clear_pending()


def _flush_fromkeys(self, *args):
    dict.fromkeys(self.pending_outcomes, 1)
    self._clear_pending()


_DONE = object()


def _resolved_marked(self, task, status, payload, bufs):
    mine = task.journal
    twins = ORIGINAL["resolved"](self, task, status, payload, bufs)
    if mine is not None:
        self._leader_of[mine[0]] = _DONE
    return twins


def _flush_update(self, *args):
    self.committed.update(dict.fromkeys(self.pending_outcomes, 1))
    self._clear_pending()


def _due_lazy(self):
    """The loop wakes for a hold only 20 ms after it began: a flood's rounds end it sooner."""
    return inf if self._held_since is None else self._held_since + 0.020


def _admit_none(self, tasks, to_sink):
    return tasks


def _resolved_counted(self, task, status, payload, bufs):
    pending = self.journal.pending_outcomes
    pending[task.id] = None
    if len(pending) >= JM.BATCH_ROWS:
        self.journal.flush()
    return ()


def _flush_nothing(self):
    self._clear_pending()


VARIANTS = {
    "plain": None,
    "full": {},
    "nohash": {"admit": _admit_nohash},
    "wkey": {"admit": _admit_by_args(True), "resolved": _resolved_record,
             "flush": _flush_joined(True, True)},
    "floor": {"admit": _admit_by_args(False), "resolved": _resolved_record,
              "flush": _flush_joined(True, False)},
    "floor0": {"admit": _admit_by_args(False), "resolved": _resolved_record,
               "flush": _flush_joined(False, False)},
    "fullfile": {"flush": _flush_packed_appended},
    "floorfile": {"admit": _admit_by_args(False), "resolved": _resolved_record,
                  "flush": _flush_joined_appended},
    "noflush": {"flush": _flush_clear},
    "noinsert": {"flush": _flush_noinsert},
    "onlyupdate": {"flush": _flush_update},
    "fromkeys": {"flush": _flush_fromkeys},
    "bigleader": {"flush": _flush_clear, "resolved": _resolved_marked},
    "hold0": {"admit": _admit_none, "resolved": _resolved_counted, "flush": _flush_nothing},
    "lazy": {"due": _due_lazy},
    "hold0lazy": {"admit": _admit_none, "resolved": _resolved_counted, "flush": _flush_nothing,
                  "due": _due_lazy},
}


CURRENT = {"plain", "full", "lazy"}  # the variants that run on the one table of keys


def _install(name: str) -> None:
    if name not in CURRENT and hasattr(JM.Journal, "lookup") and hasattr(JM, "Batch"):
        raise SystemExit(f"variant {name!r} is written against the journal before its one "
                         "table of keys: run it with that netpool on PYTHONPATH (docstring)")
    for what, code in {**ORIGINAL, **(VARIANTS[name] or {})}.items():
        setattr(JM.Journal if what == "flush" else JT, what, code)


def _journal_extras(journal) -> None:
    journal.parts, journal.done_args = [], set()


def in_pool(name: str, folder: str, rep: int, n: int) -> tuple:
    _install(name)
    path = None if VARIANTS[name] is None else os.path.join(folder, f"{name}{rep}.db")
    pool = DistributedPool(2, journal=path)
    try:
        if path is not None:
            _journal_extras(pool._rt._tasks.journaled.journal)
        wait_ready(pool)
        _drain(pool.imap_unordered(W.inc, range(-500, 0), 1), 500, DEADLINE)
        clock = time.pthread_getcpuclockid(pool._rt._thread.ident)
        r0, l0 = ROUNDS[0], time.clock_gettime(clock)
        c0, t0 = time.process_time(), time.perf_counter()
        _drain(pool.imap_unordered(W.inc, range(n), 1), n, DEADLINE)
        t1, c1 = time.perf_counter(), time.process_time()
        l1 = time.clock_gettime(clock)
        return (n / (t1 - t0), (c1 - c0) / n * 1e6, (l1 - l0) / n * 1e6,
                (ROUNDS[0] - r0) / n * 1000)
    finally:
        close_pool(pool)
        _install("full")


class _Sink:
    def _deliver(self, *args):
        pass


def apart(name: str, folder: str, rep: int, n: int = 20_000, per_round: int = 28) -> float:
    """ns of the loop thread's CPU per task: admit, resolve, end the round, commit."""
    _install(name)
    try:
        if VARIANTS[name] is None:
            jt = JT(None)
        else:
            jt = JT(JD.Journal(os.path.join(folder, f"apart-{name}{rep}.db")))
            _journal_extras(jt.journal)
        jt.define(1, W.inc, "inc")
        sink = _Sink()
        tasks = [Task(i, M.CALL, 1, pickle.dumps(((i,), {})), [], sink) for i in range(n)]
        results = [pickle.dumps(i + 1) for i in range(n)]
        t0 = time.thread_time()
        for start in range(0, n, per_round):
            later = []
            for t in jt.admit(tasks[start:start + per_round], None):
                jt.resolved(t, M.OK, results[t.id], [])
                later.append(t)
            jt.end_of_round(later, 1000)
        jt.end_of_round([], 0, True)
        spent = time.thread_time() - t0
        jt.close()
        return spent / n * 1e9
    finally:
        _install("full")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variants", default="plain,full,nohash,wkey,floor,floor0,fullfile,floorfile,hold0")
    ap.add_argument("--repeat", type=int, default=11)
    ap.add_argument("-n", type=int, default=20_000)
    ap.add_argument("--apart", action="store_true", help="without a pool (best of --repeat)")
    args = ap.parse_args()
    names = args.variants.split(",")
    print(f"# bench_journal_bound {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M}"
          f" UTC, load {os.getloadavg()[0]:.2f}, repeat {args.repeat}, n {args.n}"
          f"{', apart' if args.apart else ''}")
    got: dict = {name: [] for name in names}
    with tempfile.TemporaryDirectory(prefix="netpool-bench-bound-") as folder:
        for rep in range(args.repeat):
            for name in (names if rep % 2 == 0 else names[::-1]):
                if args.apart:
                    got[name].append(apart(name, folder, rep))
                else:
                    got[name].append(in_pool(name, folder, rep, args.n))
    if args.apart:
        for name in names:
            print(f"{name:8} {min(got[name]):7.0f} ns a task")
    else:
        plain = got.get("plain")
        base = statistics.median(r[0] for r in plain) if plain else None
        for name in names:
            rows = got[name]
            line = f"{name:8} {statistics.median(r[0] for r in rows):9.0f} tasks/s"
            if plain:
                paired = sorted(r[0] / p[0] for r, p in zip(rows, plain))
                q = len(paired) // 4
                line += (f"  ratio {statistics.median(r[0] for r in rows) / base:.3f}, paired "
                         f"{statistics.median(paired):.3f} ({paired[q]:.2f}-{paired[-1 - q]:.2f})")
            line += (f"  manager CPU {statistics.median(r[1] for r in rows):6.2f} us a task, "
                     f"loop {statistics.median(r[2] for r in rows):6.2f}, "
                     f"rounds/1000 {statistics.median(r[3] for r in rows):5.1f}")
            print(line)
    print(f"# load after {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
