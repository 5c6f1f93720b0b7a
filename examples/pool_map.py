"""multiprocessing.Pool code on netpool: the same calls, lambdas allowed, a lazy imap."""

import itertools

from netpool import DistributedPool as Pool


def collatz_steps(n: int) -> int:
    steps = 0
    while n != 1:
        n = n // 2 if n % 2 == 0 else 3 * n + 1
        steps += 1
    return steps


if __name__ == "__main__":
    with Pool(2) as pool:
        steps = pool.map(collatz_steps, range(1, 1001), chunksize=50)
        print("longest Collatz run below 1000 starts at", steps.index(max(steps)) + 1)
        print("squares:", pool.map(lambda x: x * x, range(8)))
        # imap reads an endless input lazily; buffersize bounds how far ahead it reads
        firsts = list(itertools.islice(pool.imap(collatz_steps, itertools.count(1),
                                                 buffersize=8), 10))
        print("steps for 1..10:", firsts)
    assert steps[26] == 111 and firsts[:4] == [0, 1, 7, 2]
