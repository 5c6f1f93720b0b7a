"""Awaiting netpool results inside an asyncio program, while the event loop keeps running."""

import asyncio
import time

import netpool


def slow_double(x: int) -> int:
    time.sleep(0.2)
    return 2 * x


async def ticker(counter: list) -> None:
    while True:
        await asyncio.sleep(0.02)
        counter[0] += 1


async def main() -> None:
    ticks = [0]
    tick_task = asyncio.ensure_future(ticker(ticks))
    with netpool.DistributedPool(2) as pool:
        value = await pool.apply_async(slow_double, (21,))
        print("apply_async:", value, "- the event loop ticked", ticks[0], "times meanwhile")
        doubled = [x async for x in pool.imap_unordered(slow_double, range(6))]
        print("imap_unordered:", sorted(doubled))
    with netpool.Executor(2) as executor:
        futures = [asyncio.wrap_future(executor.submit(slow_double, i)) for i in range(4)]
        print("executor:", await asyncio.gather(*futures))
    tick_task.cancel()
    assert value == 42 and sorted(doubled) == [0, 2, 4, 6, 8, 10] and ticks[0] > 3


if __name__ == "__main__":
    asyncio.run(main())
