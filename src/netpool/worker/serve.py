"""Serving the manager's link inside a worker: tasks in, results out, batched.

The link is read by whichever thread is free to. While the main thread has nothing to run it
reads the link itself, so a task reaches it without a hand-over between threads (a wake-up and
a GIL hand-over, the costliest step of a short round trip: without it a worker spends about a
quarter less CPU per trivial task, and a bare round trip is ~18% shorter). Once the main thread
has been away from the link for ``HANDOVER_SECONDS`` (a long task or a long stretch of work),
or at once when it has a message of ``BIG_MESSAGE`` (messages.py) or more to take or send,
the reader thread takes the link over, so that more tasks, revocations, STOP and a closed
link are seen meanwhile and the manager's sends to us never wait on ours to it; the main thread
calls the link back (a byte on a pipe) when it is idle again. Results wait up to
``HOLD_SECONDS`` for others to share their message; a flusher thread sends them if the next
task is slow. A result of ``BIG_MESSAGE`` or more is sent at once: company saves it nothing,
while held it waits for the next result or for the flusher, up to ``HOLD_SECONDS``, with the
manager waiting on it.
"""

from __future__ import annotations

import os
import sys
import select
import threading
import time
from collections import deque

from .._protocol import messages as M
from . import alarm, forkguard, forward, procfs
from .execute import Runner

BATCH_MAX = 64           # results per RESULTS message at most
HOLD_SECONDS = 0.002     # a result waits this long at most for others to share its message
HANDOVER_SECONDS = 0.01  # a task running longer has the reader thread watch the link
# A task that took this long by the clock may have spent most of it waiting for a CPU (on a
# crowded machine a worker is preempted for milliseconds): procfs.TaskClock says how long it
# really ran, from a reading taken when the main thread left the link (or after the last such
# task). Shorter ones are reported as timed.
SUSPECT_SECONDS = 0.0001
_MAIN, _READER = "main", "reader"  # who reads the link (Serve.holder)


class Serve:
    """Runs the tasks the manager sends, in order, and sends their results back in batches.

    ``run`` is the main thread's loop; it returns 0 after STOP once the queue is empty, and
    the process exits at once (``os._exit``) when the link closes or breaks. Only one thread
    at a time reads the channel: ``holder`` says which, under ``cond``.
    """

    def __init__(self, chan, runner: Runner, status=None, flush_each: bool = True) -> None:
        self.chan, self.runner = chan, runner
        # Flush what each task printed before its result (a worker whose output nobody reads
        # live: a file, ssh, forwarding), or, as a stdlib worker, only when a buffer fills and
        # at the end (a forked local worker, writing to the parent's own streams: its lines
        # then come where python's come, after what the parent flushed meanwhile).
        self.flush_each = flush_each
        self.status = status  # the supervisor's view: are we in a task (supervisor.py)
        self.lock = threading.RLock()  # cond's: taken bare where nothing waits or is woken
        self.cond = threading.Condition(self.lock)
        self.queue: deque = deque()
        self.stopping = False
        self.holder: str | None = None           # _MAIN, _READER, or None: nobody reads
        self.away_since: float | None = None  # when the main thread last left the link
        # The main thread's TaskClock and its reading taken as it last went to wait on the
        # link: the start of the stretch of work that follows (``run``). Taken before the
        # wait, not after it, so that its two system calls (~5 us here) are not on a round
        # trip's path: the manager is busy with our last result meanwhile. (The wait for a
        # CPU on waking then counts as waited: on a crowded machine the first task of a
        # stretch may be reported shorter by that much, never shorter than its CPU time.)
        self.clock: procfs.TaskClock | None = None
        self.idle_reading: tuple = ()
        # The reader thread sleeps on it: armed (under cond) while the main thread is away
        # from the link, so that a stretch of work shorter than HOLD_SECONDS wakes nobody.
        self.alarm = alarm.Alarm(HOLD_SECONDS)
        self.kicked = False                       # the reader must look now
        self.recall_r, self.recall_w = os.pipe()
        self.recalled = False
        self.out_lock = threading.Lock()
        self.out_cond = threading.Condition(self.out_lock)
        self.outbox: list = []
        self.outbufs: list = []
        self.held_since = 0.0

    def run(self) -> int:
        threading.Thread(target=self._read, name="netpool-reader", daemon=True).start()
        threading.Thread(target=self._flusher, name="netpool-flusher", daemon=True).start()
        clock = self.clock = procfs.TaskClock()
        at = self.idle_reading = clock.start()
        page, runner, monotonic = self.status, self.runner.run, time.monotonic
        while True:
            task = self._next_task()
            if task is None:
                break
            (tid, attempt, kind, blob, payload, bufs), more = task
            if self.idle_reading:  # the clock's readings cost ~5 us: once a stretch of work
                at, self.idle_reading = self.idle_reading, ()
            began = monotonic()
            if page is not None:
                page.begin(began)
            status, data, out = runner(kind, blob, payload, bufs)
            ended = monotonic()
            took = ended - began  # the manager sizes our window by it (protocol 8)
            if took >= SUSPECT_SECONDS:  # (the tasks before it in the stretch were short)
                took, at = clock.ran(at, took), clock.start()
            if forkguard.forked():  # a child the task forked came back here: not a worker
                os._exit(0)
            if page is not None:
                page.end(ended)
            if self.flush_each:
                flush_output()
            if out or len(data) >= M.BIG_MESSAGE:
                self._kick()  # sending it may block: the manager may be sending to us too
            self._post((tid, attempt, status, data, len(out), took), out, not more)
        self._flush()
        return 0

    def _next_task(self) -> tuple | None:
        """The next task and whether more are queued, reading the link while there is none;
        None once STOP came and the queue is empty. Two lock round trips per lone task: one
        to take the link, one to give it back and take the task it brought."""
        lock, queue = self.lock, self.queue
        on_link = False
        while True:
            with lock:
                if on_link:
                    self.holder, on_link = None, False
                if queue:
                    item = queue.popleft()
                    if self.away_since is None:
                        self.away_since = time.monotonic()
                        self.alarm.arm()  # the reader looks if we are not back in time
                    more = bool(queue)
                    if item[5] or len(item[4]) >= M.BIG_MESSAGE:
                        # Big messages: the link must be read meanwhile, or the manager's
                        # sends to us (and ours to it) stall. Work in a row no longer hands
                        # the link over at once: a stretch of short tasks is done before the
                        # reader's first poll, and the hand-over and recall cost 4 workers
                        # about a sixth of their tiny-task throughput (issue 9).
                        self._kick()
                    return item, more
                if self.stopping:
                    return None
                if self.holder is not None:  # the reader thread has the link: call it back
                    if not self.recalled:
                        self.recalled = True
                        os.write(self.recall_w, b"x")
                    self._note_idle()
                    self.cond.wait()
                    continue
                self.holder, on_link = _MAIN, True
                # The alarm stays armed: the reader disarms it when it rings and finds us
                # here. Disarming and arming it around every lone task cost two system
                # calls each (~9 us of a ~150 us round trip); now a run of round trips
                # pays them and one wake-up of the reader once every HOLD_SECONDS.
                self.away_since = None
            self._note_idle()
            try:
                if self.outbox:  # held for a next task that was revoked: nobody else looks now
                    self._flush()
                self._receive(block=True)
            except BaseException:
                with lock:
                    self.holder = None
                raise

    def _read(self) -> None:
        """Reader thread: holds the link while a task runs long, until it is called back."""
        cond, wait = self.cond, self.alarm.wait
        while True:
            while True:
                # Woken by the alarm or a kick, and never by waiting on cond: a notify meant
                # for the main thread would wake this one, and every task would pay for a GIL
                # hand-over. The alarm rings every HOLD_SECONDS while the main thread is away
                # from the link, not at all while it is on it (polling all the time, 256 idle
                # workers took a third of 2 cores).
                # Its polls send the results held back meanwhile (the flusher's job only
                # while we hold the link): a stretch of short tasks wakes nobody but us.
                wait()
                with cond:
                    kicked, self.kicked = self.kicked, False
                    took = self._main_is_away(kicked)
                    if took:
                        self.holder = _READER
                        self.alarm.disarm()  # we watch the link now, not the clock
                    elif self.away_since is None:  # the main thread is back (_next_task)
                        self.alarm.disarm()
                if self.outbox:
                    self._flush()
                if took:
                    break
            try:
                self._watch()
            finally:
                with cond:
                    self.holder = None
                    cond.notify_all()  # the main thread may wait to read

    def _note_idle(self) -> None:
        """The main thread is about to wait for work: the stretch that follows starts here."""
        if not self.idle_reading and self.clock is not None:
            self.idle_reading = self.clock.start()

    def _main_is_away(self, kicked: bool) -> bool:
        since = self.away_since
        return (self.holder is None and since is not None
                and (kicked or time.monotonic() - since >= HANDOVER_SECONDS))

    def _kick(self) -> None:
        """Have the reader thread take the link now (main thread, under cond or not)."""
        with self.cond:
            if not self.kicked and self.holder is None:
                self.kicked = True
                self.alarm.ring()

    def _watch(self) -> None:
        sock, recall = self.chan.sock, self.recall_r
        while True:
            ready, _, _ = select.select([sock, recall], [], [])
            if sock in ready:
                self._receive(block=False)
            if recall in ready:
                os.read(recall, 64)
                with self.cond:
                    self.recalled = False
                return

    def _receive(self, block: bool) -> None:
        try:
            for msg, bufs in self.chan.recv_ready(block=block):
                self._handle(msg, bufs)
        except (EOFError, OSError, Exception):
            # The manager closed the link (or broke the protocol): it is gone or has dropped
            # us, and reruns whatever we hold. Leave at once, even mid-task.
            flush_output()
            os._exit(0)

    def _handle(self, msg: tuple, bufs: list) -> None:
        cond, queue = self.cond, self.queue
        kind = msg[0]
        if kind == M.TASKS:
            rows = msg[1]
            if not bufs and len(rows) == 1:  # a lone task, the common case
                tid, attempt, tkind, blob, payload, _ = rows[0]
                items: list = [(tid, attempt, tkind, blob, payload, ())]
            else:
                items, pos = [], 0
                for tid, attempt, tkind, blob, payload, nbufs in rows:
                    items.append((tid, attempt, tkind, blob, payload, bufs[pos:pos + nbufs]))
                    pos += nbufs
            if self.holder is _MAIN:  # we are the main thread: nobody else touches the queue
                queue.extend(items)
                return
            with cond:
                queue.extend(items)
                cond.notify()  # the main thread may wait for it
        elif kind == M.DEFINE:
            self.runner.blobs.define(msg[1], msg[2])
        elif kind == M.FORGET:
            self.runner.blobs.forget(msg[1])
        elif kind == M.REVOKE:  # by (task id, attempt), which the manager checks on return
            wanted = {tuple(sent) for sent in msg[1]}
            with cond:
                kept = [item for item in queue if item[:2] not in wanted]
                gone = [item[:2] for item in queue if item[:2] in wanted]
                queue.clear()
                queue.extend(kept)
            self.chan.send((M.REVOKED, gone))
        elif kind == M.STOP:
            with cond:
                self.stopping = True
                cond.notify()

    def _post(self, entry: tuple, bufs: list, flush: bool) -> None:
        with self.out_lock:
            outbox = self.outbox
            outbox.append(entry)
            if bufs:
                self.outbufs += bufs
            elif not (flush or len(outbox) >= BATCH_MAX or len(entry[3]) >= M.BIG_MESSAGE):
                # Held back: the reader's next poll sends it if we are slow (it polls while
                # we are away from the link), or, once it holds the link, the flusher. Waking
                # the flusher for every stretch of work cost two thread wake-ups per batch.
                if len(outbox) == 1 and self.holder is _READER:
                    self.held_since = time.monotonic()
                    self.out_cond.notify()
                return
            self._send_out()

    def _flush(self) -> None:
        with self.out_lock:
            if self.outbox:
                self._send_out()

    def _send_out(self) -> None:
        """Send the results held (under out_lock)."""
        entries, bufs = self.outbox, self.outbufs
        self.outbox, self.outbufs = [], []
        try:  # (without buffers, Channel.send takes its short way by itself)
            self.chan.send((M.RESULTS, entries, [memoryview(b).nbytes for b in bufs]), bufs)
        except OSError:
            flush_output()
            os._exit(0)  # the manager is gone; it will rerun what we did not report

    def _flusher(self) -> None:
        """Sends results held back for batching when the next task turns out to be slow."""
        while True:
            with self.out_cond:
                while not self.outbox or self.holder is not _READER:
                    self.out_cond.wait()
                wait = self.held_since + HOLD_SECONDS - time.monotonic()
                if wait > 0:
                    self.out_cond.wait(wait)
                    continue
            self._flush()


def flush_output() -> None:
    """What tasks printed reaches the file or pipe (before their result, when ``flush_each``)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, ValueError, OSError):
            pass
    forward.flush()
