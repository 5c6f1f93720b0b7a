# Idiom program, written for netpool (not a copy of public code).
# What it does: a large read-only numpy array made in the __main__ block as a module global,
# read by the tasks without being passed to them: on Linux the stdlib's fork shares it with the
# workers (copy-on-write).
# Idiom as seen in: Stack Overflow "Share Large, Read-Only Numpy Array Between Multiprocessing
#   Processes", https://stackoverflow.com/questions/17785275 (answers CC BY-SA): "if you are on
#   Linux (fork), a global array defined before the pool is created is shared".
# Written anew in the answers' idiom; no code copied.
# Changes: a 200 x 1000 array (not gigabytes), seeded.
from multiprocessing import Pool

import numpy as np

data = None


def row_sum(i):
    return round(float(data[i].sum()), 6)


if __name__ == "__main__":
    data = np.random.default_rng(3).random((200, 1000))
    with Pool(2) as p:
        sums = p.map(row_sum, range(0, 200, 40))
    print(sums)
    print(sums == [round(float(data[i].sum()), 6) for i in range(0, 200, 40)])
