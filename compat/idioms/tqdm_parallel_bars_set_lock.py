# Idiom program, written for netpool (not a copy of public code).
# What it does: tqdm's documented recipe for bars in pool workers:
# Pool(initializer=tqdm.set_lock, initargs=(tqdm.get_lock(),)), one trange per task at its
# own position.
# Idiom as seen in: the tqdm README, "Nested progress bars" / examples/parallel_bars.py in tqdm/tqdm
#   (authors: tqdm developers; licence MPL-2.0 and MIT); the same program as
#   edgarmuyomba/cinema test.py and iTNTPiston/botw-recipe dump/test.py.
# Written anew in the recipe's idiom; no code copied.
# Changes: 4 tasks of 50 steps (not 9 of 5000), sleeping 0.002 s per step.
# compat: progress-bars
from time import sleep
from multiprocessing import Pool, RLock, freeze_support

from tqdm import tqdm, trange

L = list(range(4))


def progresser(n):
    interval = 0.002
    total = 50
    text = "#{}, est. {:<04.2}s".format(n, interval * total)
    for _ in trange(total, desc=text, position=n):
        sleep(interval)


if __name__ == '__main__':
    freeze_support()  # for Windows support
    tqdm.set_lock(RLock())  # for managing output contention
    p = Pool(initializer=tqdm.set_lock, initargs=(tqdm.get_lock(),))
    p.map(progresser, L)
    print("done")
