# Idiom program, written for netpool (not a copy of public code).
# What it does: the first example of the multiprocessing docs (Pool(5).map in a `with`).
# Idiom as seen in: CPython Doc/library/multiprocessing.rst, section "Introduction", the Pool example
#   https://docs.python.org/3/library/multiprocessing.html#introduction
#   Authors: the CPython documentation contributors. Licence: PSF / Zero-Clause BSD (doc examples).
# Written anew in the source's idiom (same calls and output); no code copied.
# Changes: none needed.
from multiprocessing import Pool


def square(x):
    return x * x


if __name__ == '__main__':
    with Pool(5) as p:
        print(p.map(square, [1, 2, 3]))
