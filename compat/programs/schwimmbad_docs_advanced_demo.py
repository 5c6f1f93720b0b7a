# Corpus program: a verbatim copy of a public program (a test input, not netpool code).
# Source: schwimmbad 0.3.2, docs/examples/files/advanced-demo.py (the "Advanced usage"
#   example of docs/examples/index.rst; https://github.com/adrn/schwimmbad, same path, the
#   file is unchanged in 0.4.2); obtained with `pip download --no-deps schwimmbad==0.3.2`
#   (the sdist).
# Author: Adrian Price-Whelan (adrn) and the schwimmbad contributors.
# Licence: MIT (schwimmbad's LICENSE, "Copyright (c) 2016 Adrian Price-Whelan").
# Changes: the `--ncores` default 1 made 4 (the test passes no arguments; with 1 core
#   choose_pool returns a SerialPool, no multiprocessing at all); two lines appended that
#   print what the callback wrote to output_file.txt (the program prints nothing itself).
# schwimmbad 0.3.x's MultiPool subclasses multiprocessing.pool.Pool (later versions use the
# `multiprocess` package): a wrapped initializer that ignores SIGINT, `map` done as
# map_async + get(timeout) with a callback, a callable class instance as the task function,
# 16384 small tasks, and close() without join() before the interpreter exits.
# compat: requires schwimmbad

import schwimmbad


class Worker(object):

    def __init__(self, output_path):
        self.output_path = output_path

    def work(self, a, b):
        # For example, all we do is compute a third value
        c = 2*a*b - b**2
        return c

    def callback(self, result):
        with open(self.output_path, 'a') as f:
            f.write("{0}\n".format(result))

    def __call__(self, task):
        a, b = task
        return self.work(a, b)


def main(pool):
    worker = Worker('output_file.txt')

    tasks = list(zip(range(16384), range(16384)[::-1]))

    for r in pool.map(worker, tasks, callback=worker.callback):
        pass


if __name__ == "__main__":
    from argparse import ArgumentParser
    parser = ArgumentParser(description="")

    group = parser.add_mutually_exclusive_group()
    group.add_argument("--ncores", dest="n_cores", default=4,
                       type=int, help="Number of processes (uses multiprocessing).")
    group.add_argument("--mpi", dest="mpi", default=False,
                       action="store_true", help="Run with MPI.")
    args = parser.parse_args()

    pool = schwimmbad.choose_pool(mpi=args.mpi, processes=args.n_cores)
    main(pool)
    pool.close()
    lines = open('output_file.txt').read().split()
    print(type(pool).__name__, len(lines), lines[:3], lines[-3:], sum(map(int, lines)))
