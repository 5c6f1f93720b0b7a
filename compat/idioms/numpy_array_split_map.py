# Idiom program, written for netpool (not a copy of public code).
# What it does: a numpy array cut into chunks with np.array_split, one chunk per process,
# pool.map over the chunks, np.concatenate of the results; pool size from cpu_count().
# Idiom as seen in: no single program: the common "split a numpy array, map the chunks, concatenate"
#   pattern of tutorials, with imap_unordered and a chunksize as in Doc/includes/mp_pool.py.
# Written anew in that idiom; no code copied.
# Changes: none needed.
import multiprocessing as mp

import numpy as np


def process_chunk(chunk):
    return np.sqrt(chunk) * 2.0


def total(chunk):
    return float(chunk.sum())


if __name__ == '__main__':
    data = np.arange(100000, dtype=np.float64)
    n = mp.cpu_count()
    chunks = np.array_split(data, n * 4)
    with mp.Pool(n) as pool:
        out = np.concatenate(pool.map(process_chunk, chunks))
        sums = sorted(pool.imap_unordered(total, chunks, chunksize=3))
    print(out.shape, out.dtype, np.allclose(out, np.sqrt(data) * 2.0))
    print(round(sum(sums), 3), round(float(data.sum()), 3))
