# Idiom program, written for netpool (not a copy of public code).
# What it does: a Pool and a tqdm bar in one `with`, imap_unordered with a large chunksize,
# pbar.update() per result.
# Idiom as seen in: pbies/bitcoin-tools mt-7.py (GitHub, by pbies).
# Written anew in the source's idiom; no code copied.
# Changes: 4 processes, not 8 (this machine has 2 cores).
# compat: progress-bars
from multiprocessing import Pool
import sys

from tqdm import tqdm

max_ = int(1e4)
th = 4


def go(i):
    pass


if __name__ == "__main__":
    with Pool(processes=th) as p, tqdm(total=max_) as pbar:
        for result in p.imap_unordered(go, range(0, max_), chunksize=1000):
            pbar.update()
            pbar.refresh()
    print('\a', end='', file=sys.stderr)
