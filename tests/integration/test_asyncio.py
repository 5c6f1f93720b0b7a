"""Awaiting netpool's results in a running event loop, without blocking it.

Each test runs a heartbeat coroutine beside the awaits: a loop that blocked while waiting
for a worker would not tick in the meantime."""

import asyncio
import concurrent.futures as cf
import time

import pytest

import netpool
from tests._tasks import sleep_then

pytestmark = pytest.mark.timeout(90)


def square(x):
    return x * x


def fail_on_three(x):
    if x == 3:
        raise ValueError("three")
    return x


class Heartbeat:
    """Ticks every 10 ms while the test awaits; ``during(coro)`` counts the ticks it spans."""

    def __init__(self):
        self.ticks = 0

    async def run(self):
        while True:
            await asyncio.sleep(0.01)
            self.ticks += 1

    async def during(self, awaitable):
        before = self.ticks
        value = await awaitable
        return value, self.ticks - before


def run(main):
    async def with_heartbeat():
        beat = Heartbeat()
        ticking = asyncio.ensure_future(beat.run())
        try:
            return await main(beat)
        finally:
            ticking.cancel()
    return asyncio.run(with_heartbeat())


@pytest.fixture(scope="module")
def pool():
    with netpool.DistributedPool(2) as p:
        yield p


def test_await_apply_async_keeps_the_loop_ticking(pool):
    async def main(beat):
        value, ticks = await beat.during(pool.apply_async(sleep_then, (0.4, "slept")))
        assert value == "slept"
        assert ticks >= 5, f"the event loop ticked {ticks} times in 0.4 s: it was blocked"
        assert await pool.map_async(square, range(5)) == [0, 1, 4, 9, 16]
        with pytest.raises(ValueError, match="three"):
            await pool.apply_async(fail_on_three, (3,))
        done = pool.apply_async(square, (4,))
        done.wait(30)
        assert await done == 16  # already finished: still awaitable
        return True
    assert run(main)


def test_many_awaits_at_once(pool):
    async def main(beat):
        values = await asyncio.gather(*(pool.apply_async(square, (i,)) for i in range(50)))
        assert values == [i * i for i in range(50)]
    run(main)


@pytest.mark.parametrize("method", ["imap", "imap_unordered"])
def test_async_for_over_imap_with_an_error_in_the_middle(pool, method):
    async def main(beat):
        got, errors = [], []
        it = getattr(pool, method)(fail_on_three, range(6))
        async for _ in _guard(it, got, errors):
            pass
        return got, errors
    got, errors = run(main)
    assert sorted(got) == [0, 1, 2, 4, 5]
    assert [str(e) for e in errors] == ["three"]
    if method == "imap":
        assert got == [0, 1, 2, 4, 5]


async def _guard(it, got, errors):
    """Iterate by hand: a failed item raises at its place, and iteration goes on after it."""
    ait = it.__aiter__()
    while True:
        try:
            got.append(await ait.__anext__())
        except StopAsyncIteration:
            return
        except ValueError as exc:
            errors.append(exc)
        yield


def test_async_for_waits_without_blocking_and_loses_nothing_on_cancel(pool):
    async def main(beat):
        ait = pool.imap(_sleep_value, [0.5, 0.0]).__aiter__()
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(ait.__anext__(), 0.05)  # the first is not there yet
        value, ticks = await beat.during(ait.__anext__())
        assert value == 0.5, "the result the cancelled await was waiting for was lost"
        assert ticks >= 3
        assert await ait.__anext__() == 0.0
        with pytest.raises(StopAsyncIteration):
            await ait.__anext__()
    run(main)


def _sleep_value(t):
    time.sleep(t)
    return t


def test_executor_futures_with_asyncio():
    with netpool.Executor(2) as ex:
        async def main(beat):
            loop = asyncio.get_running_loop()
            value, ticks = await beat.during(asyncio.wrap_future(ex.submit(sleep_then, 0.4, 7)))
            assert value == 7 and ticks >= 5
            assert await loop.run_in_executor(ex, square, 9) == 81
            futs = [asyncio.wrap_future(ex.submit(square, i)) for i in range(10)]
            assert sorted(await asyncio.gather(*futs)) == [i * i for i in range(10)]
            assert isinstance(ex.submit(square, 1), cf.Future)
        run(main)
