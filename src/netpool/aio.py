"""asyncio: netpool's results, awaited without blocking the event loop.

* ``await pool.apply_async(f, args)`` (or ``map_async``/``starmap_async``): the value, or
  the task's exception, as ``get()`` gives them;
* ``async for x in pool.imap(f, xs)`` (and ``imap_unordered``): results as ``next()``
  gives them; a failed task's exception comes at its place and iteration may go on;
* the Executor's futures are ``concurrent.futures.Future``s: ``asyncio.wrap_future(f)`` and
  ``loop.run_in_executor(executor, f, *args)`` work as for the stdlib's executors.

How, and on which threads: an awaited result registers a hook that the pool's loop thread
calls when the result is finished; the hook only schedules (``call_soon_threadsafe``) the
setting of an asyncio future on the event loop, so no user code runs on the loop thread.
``async for`` takes every result already there without blocking; when none is, it waits for
the next one on a thread of the event loop's default executor. Results an ``async for``
was waiting for when its ``await`` was cancelled (``asyncio.wait_for``) are kept for its
next step, not lost. Importing this module is what needs asyncio: ``netpool.pool`` imports
it only when a result is awaited.
"""

from __future__ import annotations

import asyncio
from multiprocessing import TimeoutError as _MPTimeout
from typing import Any, AsyncIterator, Optional

__all__ = ["wrap", "aiterate"]

_END = object()


def wrap(result: Any, loop: Optional[asyncio.AbstractEventLoop] = None) -> asyncio.Future:
    """An asyncio future for a pool's ``ApplyResult``/``MapResult``, set from its outcome.

    Cancelling the asyncio future does not cancel the task (a Pool has no such thing).
    """
    loop = loop or asyncio.get_running_loop()
    fut = loop.create_future()

    def settle() -> None:  # on the event loop; may run twice (see below): idempotent
        if fut.done():
            return
        try:
            value = result.get(0)
        except BaseException as exc:
            fut.set_exception(exc)
        else:
            fut.set_result(value)

    def hook() -> None:  # on the pool's loop thread, or here
        try:
            loop.call_soon_threadsafe(settle)
        except RuntimeError:
            pass  # the event loop is closed: nobody awaits this any more

    # Appended before looking at ready(), and ApplyResult._finish sets done before it reads
    # the hooks: whichever way the two interleave, the hook runs at least once.
    result.__dict__.setdefault("_hooks", []).append(hook)
    if result.ready():
        hook()
    return fut


class aiterate:
    """``async for`` over an ``IMapIterator``/``IMapUnorderedIterator``."""

    def __init__(self, results: Any) -> None:
        self._results = results
        self._waiting: Optional[asyncio.Future] = None

    def __aiter__(self) -> "aiterate":
        return self

    async def __anext__(self) -> Any:
        if self._waiting is not None:  # a step whose await was cancelled: its outcome is ours
            waiting = self._waiting
        else:
            outcome = _step(self._results, 0)
            if outcome[0] != "timeout":
                return _unpack(outcome)
            loop = asyncio.get_running_loop()
            waiting = self._waiting = asyncio.ensure_future(
                loop.run_in_executor(None, _step, self._results, None))
        # shield: a cancelled await leaves the thread's step running; its outcome is kept
        outcome = await asyncio.shield(waiting)
        self._waiting = None
        return _unpack(outcome)


def _step(results: Any, timeout: Optional[float]) -> tuple:
    """One ``next()``, its outcome as data: StopIteration cannot cross a Future."""
    try:
        return ("value", results.next(timeout))
    except StopIteration:
        return ("end", None)
    except _MPTimeout:
        if timeout is not None:
            return ("timeout", None)
        raise  # a task's own exception of that type, raised at its place
    except BaseException as exc:
        return ("error", exc)


def _unpack(outcome: tuple) -> Any:
    kind, value = outcome
    if kind == "value":
        return value
    if kind == "end":
        raise StopAsyncIteration
    raise value
