# Idiom program, written for netpool (not a copy of public code).
# What it does: a progress bar over pool.imap: list(tqdm.tqdm(p.imap(f, xs), total=n)).
# Idiom as seen in: Stack Overflow "Multiprocessing : use tqdm to display a progress bar",
#   https://stackoverflow.com/questions/41920124 (answers CC BY-SA); the same program as
#   AurelienNioche/ActiveTeachingModel learner/trials/mp.py and
#   Kirrito-k423/BHive-Prediction-Compare test/testTQDM.py.
# Written anew in the answer's idiom and output; no code copied.
# Changes: each task sleeps 0.01 s, not 0.1 s.
# compat: progress-bars
from multiprocessing import Pool
import time

import tqdm


def _foo(my_number):
    square = my_number * my_number
    time.sleep(0.01)
    return square


if __name__ == '__main__':
    with Pool(2) as p:
        r = list(tqdm.tqdm(p.imap(_foo, range(30)), total=30))
        print(r)
