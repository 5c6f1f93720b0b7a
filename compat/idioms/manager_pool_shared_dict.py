# Idiom program, written for netpool (not a copy of public code).
# What it does: a Manager's dict shared with pool workers, the pool being the manager's own
# (manager.Pool()), both as context managers; pool.map over itertools.repeat(d).
# Idiom as seen in: Stack Overflow "How to share a dictionary between multiple processes",
#   https://stackoverflow.com/a/55816091 (CC BY-SA); the same program as
#   diegomartinez2/DMG multiprocess_dictionary.py.
# Written anew in the answer's idiom; no code copied.
# Changes: the dict is keyed by pid, so how many entries it has depends on scheduling; the
#   program prints what is fixed (that each entry names its writer) instead of the dict.
from itertools import repeat
import multiprocessing as mp
import os


def f(d: dict) -> None:
    pid = os.getpid()
    d[pid] = "Hi, I was written by process %d" % pid


if __name__ == '__main__':
    with mp.Manager() as manager:
        d = manager.dict()
        with manager.Pool() as pool:
            pool.map(f, repeat(d, 10))
        # `d` is a DictProxy object that can be converted to dict
        entries = dict(d)
        print(len(entries) >= 1, all(v.endswith(str(k)) for k, v in entries.items()))
