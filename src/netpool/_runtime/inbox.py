"""The loop thread's inbox and wake-up pipe, and the typed items other threads post to it.

Other threads (users submitting, the accept thread, launchers) never touch the core: they
append an item to the inbox and wake the loop through a pipe registered in its selector. The
pipe is written only when the loop is not already awake, so a burst of posts costs one
system call.
"""

from __future__ import annotations

import os
from collections import deque
from typing import Any, Optional


class Waker:
    """An inbox (a deque: ``append`` and ``popleft`` are thread-safe) plus a wake-up pipe.

    Any thread: ``post``, ``wake``. Loop thread only: ``drain_pipe``, ``pop``, ``close``.
    """

    def __init__(self) -> None:
        self.items: deque = deque()
        self.fd, self.write_fd = os.pipe()
        os.set_blocking(self.fd, False)
        self._woken = False

    def __bool__(self) -> bool:
        return bool(self.items)

    def post(self, item: Any) -> None:
        self.items.append(item)
        self.wake()

    def wake(self) -> None:
        if not self._woken:
            self._woken = True
            try:
                os.write(self.write_fd, b"x")
            except OSError:
                pass  # closed: the loop has ended, nobody is there to wake

    def drain_pipe(self) -> None:
        # Empty the pipe *before* clearing the flag: a post that finds the flag still set
        # wrote nothing, but its item is in the inbox, which the loop drains right after this.
        # The other order loses wake-ups: the flag stays set over an empty pipe, and every
        # later post waits for the next tick.
        try:
            while os.read(self.fd, 4096):
                pass
        except BlockingIOError:
            pass
        self._woken = False

    def pop(self) -> Optional[Any]:
        """The oldest item, or None when the inbox is empty (only the loop pops)."""
        return self.items.popleft() if self.items else None

    def close(self) -> None:
        # Links authenticated but not yet admitted are closed too (a forked child's copies
        # would keep them open after the parent closes them).
        for item in list(self.items):
            if isinstance(item, Hello):
                item.chan.close()
        # Forgotten before closing, so that a second close (a forked child's, then ours)
        # never closes a descriptor number the process has since reused.
        fds, self.fd, self.write_fd = (self.fd, self.write_fd), -1, -1
        for fd in fds:
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass


# -- what other threads post -------------------------------------------------------------
# Plain classes with __slots__: a Submit is built on every submission that finds the loop busy.

class Submit:
    __slots__ = ("tasks",)

    def __init__(self, tasks: list) -> None:
        self.tasks = tasks


class Hello:
    """An authenticated peer, from a handshake thread."""
    __slots__ = ("chan", "hello", "peer")

    def __init__(self, chan: Any, hello: tuple, peer: Any = None) -> None:
        self.chan, self.hello, self.peer = chan, hello, peer


class Launched:
    """Worker records registered before their launcher starts them (``array`` or None)."""
    __slots__ = ("array", "recs")

    def __init__(self, array: Any, recs: list) -> None:
        self.array, self.recs = array, recs


class Started:
    """Their launcher's ``_start`` returned: local processes exist, and may be watched."""
    __slots__ = ("recs",)

    def __init__(self, recs: list) -> None:
        self.recs = recs


class LaunchFailed:
    __slots__ = ("recs",)

    def __init__(self, recs: list) -> None:
        self.recs = recs


class CoreEvent:
    """An event for the core as it is (e.g. ``Configured``)."""
    __slots__ = ("event",)

    def __init__(self, event: Any) -> None:
        self.event = event


class Close:
    __slots__ = ()


class Terminate:
    __slots__ = ("why",)

    def __init__(self, why: str) -> None:
        self.why = why


class Deferred:
    """What a thread that submitted directly left to the loop: sink calls, links a send
    failed on, commands that kill or launch."""
    __slots__ = ("sinks", "broken", "commands")

    def __init__(self, sinks: list, broken: list, commands: list) -> None:
        self.sinks, self.broken, self.commands = sinks, broken, commands
