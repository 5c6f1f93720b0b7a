# Idiom program, written for netpool (not a copy of public code).
# What it does: a script that prints at its top level, outside the main guard, and then
# uses spawn and forkserver pools: each worker re-runs the top level as __mp_main__ and
# prints the line again; the parent's own lines, buffered in a pipe, come out first
# because the stdlib flushes stdout before it starts each child.
# Idiom as seen in: tutorials on the spawn start method ("why does my print run N+1
#   times?"), e.g. the multiprocessing docs' "Safe importing of main module".
# Written anew; no code copied.
# Changes: none.
import multiprocessing as mp

print("module loaded as", __name__)


def double(x):
    return x * 2


if __name__ == "__main__":
    for method in ("spawn", "forkserver"):
        print("a", method, "pool of one")
        pool = mp.get_context(method).Pool(1)
        print(pool.map(double, range(3)))
        pool.close()
        pool.join()
