# Idiom program, written for netpool (not a copy of public code).
# What it does: no `if __name__ == "__main__"` guard; workers name their tqdm line from
# current_process()._identity[0]; the parent polls starmap_async's private _number_left to
# drive an outer bar; numpy arrays as arguments.
# Idiom as seen in: SK1Y101/TransitProject Source/old_code/multiproctest.py (GitHub, by SK1Y101).
# Written anew in the source's idiom; no code copied.
# Changes: 8 jobs on 4 processes (not 100 on 8); steps sleep 0.01 s (not 0.25 s); seeded
#   random data; the last line prints whether every result is a worker number 1..4 instead of
#   the list itself, which depends on scheduling. The bars are cleared when done (leave=False/
#   None), so whether a last 100% refresh shows depends on timing: they are not compared.
# compat: progress-bars drop
from multiprocessing import Pool
from time import sleep as wait
import multiprocessing

import numpy as np
from tqdm import tqdm, trange


def testfunc(sim, tstep, transits=1000):
    workerId = multiprocessing.current_process()._identity[0]
    for x in trange(5 + workerId, leave=None, position=workerId, smoothing=1):
        wait(.01)
    return workerId


sim = np.random.default_rng(0).random((8, 10))
itterable = [(sim[x], 100, 1000) for x in range(len(sim))]
maxjobs = len(itterable)
_complete = 0

with tqdm(total=maxjobs, position=0, leave=False, desc="Multiprocessing pool", smoothing=0) as bar:
    with Pool(4) as p:
        r = p.starmap_async(testfunc, itterable, chunksize=1)
        while not r.ready():
            completed = maxjobs - r._number_left
            bar.update(completed - _complete)
            _complete = completed
            wait(0.02)
        print(all(1 <= w <= 4 for w in r.get()), len(r.get()))
