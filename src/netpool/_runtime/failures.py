"""A loop that dies is never silent: what callers get once the loop thread has failed.

The loop thread records what killed it in ``Runtime.failure``. From then on nobody will ever
read the inbox, so a submission fails at once, on the submitting thread, with
:func:`error`; one that raced with the death (posted just as the loop made its last pass) is
failed by whichever thread sees the failure first, each item popped once.
"""

from __future__ import annotations

from typing import Any

from .. import errors
from . import inbox


def error(failure: BaseException) -> errors.Error:
    """What every call on a runtime whose loop died raises, with ``failure`` as its cause."""
    err = errors.Error(f"the netpool manager loop failed ({type(failure).__name__}: {failure}); "
                       "its workers were stopped: see the log, and start a new pool")
    err.__cause__ = failure
    return err


def refuse(tasks: list, failure: BaseException) -> None:
    """Fail ``tasks``' sinks now, on this thread (there is no loop thread left to do it)."""
    exc = error(failure)
    for t in tasks:
        t.sink._fail(t.id, exc)


def refuse_posted(waker: inbox.Waker, failure: BaseException) -> None:
    """Fail what was posted to the dead loop's inbox (any thread)."""
    while True:
        item: Any = waker.pop()
        if item is None:
            return
        if isinstance(item, inbox.Submit):
            refuse(item.tasks, failure)
