"""netpool.Executor: concurrent.futures on netpool's workers, with cancellation."""

import concurrent.futures
import time

import netpool


def slow_square(x: int) -> int:
    time.sleep(0.05)
    return x * x


if __name__ == "__main__":
    with netpool.Executor(max_workers=2) as executor:
        futures = {executor.submit(slow_square, i): i for i in range(8)}
        for future in concurrent.futures.as_completed(futures, timeout=60):
            print(futures[future], "->", future.result())
        results = list(executor.map(slow_square, range(20), chunksize=5, timeout=60))
        print("map:", results)
        late = [executor.submit(slow_square, i) for i in range(200)]
        cancelled = sum(f.cancel() for f in late)  # no worker has most of them yet
        print(f"cancelled {cancelled} of {len(late)} queued futures")
    assert results == [i * i for i in range(20)] and cancelled > 0
