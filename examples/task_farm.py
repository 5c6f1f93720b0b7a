"""The IMP.parallel-style task farm: a setup run once per worker, tasks that use it."""

import netpool


def setup():
    """Runs once on each worker; what it returns is passed to every task there."""
    table = {n: n * n for n in range(100)}
    return (table,)


class Lookup:
    def __init__(self, n: int) -> None:
        self.n = n

    def __call__(self, table: dict) -> tuple:
        return self.n, table[self.n]


if __name__ == "__main__":
    m = netpool.Manager()
    m.add_worker(netpool.LocalWorker())
    m.add_worker(netpool.LocalWorker())
    # on a cluster: m.add_worker(netpool.SGEQsubWorkerArray(8, "-l h_rt=1:00:00"))
    ctx = m.get_context(setup)
    for i in range(10):
        ctx.add_task(Lookup(i))
    results = sorted(ctx.get_results_unordered())
    print(results)
    assert results == [(i, i * i) for i in range(10)]
