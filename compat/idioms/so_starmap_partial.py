# Idiom program, written for netpool (not a copy of public code).
# What it does: several ways to pass many arguments: starmap over zip with
# itertools.repeat, functools.partial with map, and a "star" wrapper with imap and chunksize.
# Idiom as seen in: Stack Overflow "How to use multiprocessing pool.map with multiple arguments",
#   https://stackoverflow.com/questions/5442910 (answers CC BY-SA).
# Written anew in the answers' idioms; no code copied.
# Changes: none needed.
import multiprocessing
from functools import partial
from itertools import repeat


def func(a, b):
    return a + b


def func_star(a_b):
    """Convert `f([1,2])` to `f(1,2)` call."""
    return func(*a_b)


def main():
    a_args = [1, 2, 3]
    second_arg = 1
    with multiprocessing.Pool() as pool:
        L = pool.starmap(func, [(1, 1), (2, 1), (3, 1)])
        M = pool.starmap(func, zip(a_args, repeat(second_arg)))
        N = pool.map(partial(func, b=second_arg), a_args)
        O = list(pool.imap(func_star, zip(a_args, repeat(second_arg)), chunksize=2))
        assert L == M == N == O
        print(L)


if __name__ == "__main__":
    main()
