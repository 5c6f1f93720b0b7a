# Idiom program, written for netpool (not a copy of public code).
# What it does: immutable records (a namedtuple defined in the script) mapped over a pool with
# maxtasksperchild=1, at module level, no __main__ guard; pprint of dict results.
# Idiom as seen in: Dan Bader's Real Python video series "Functional Programming in Python" (parallel
#   processing with multiprocessing), as transcribed in bglynch/code_scratchpad
#   python/general/real_python/functional-programming/parallel.py (GitHub, by bglynch).
# Written anew in the source's idiom; no code copied.
# Changes: tasks sleep 0.05 s, not 1 s; the workers' prints flush (the pool is never closed:
#   at exit the stdlib terminates its workers, losing unflushed lines at random); their racing
#   lines compared sorted.
# compat: sort-lines
# compat: mask completion: [\d.]+ => completion: <T>
import collections
import multiprocessing
import os
import time
from pprint import pprint

Scientist = collections.namedtuple('Scientist', ['name', 'field', 'born', 'nobel'])

scientists = (
    Scientist(name='Ada Lovelace', field='math', born=1815, nobel=False),
    Scientist(name='Emmy Noether', field='math', born=1882, nobel=False),
    Scientist(name='Marie Curie', field='physics', born=1867, nobel=True),
    Scientist(name='Tu Youyou', field='chemistry', born=1930, nobel=True),
    Scientist(name='Ada Yonath', field='chemistry', born=1939, nobel=True),
    Scientist(name='Vera Rubin', field='astronomy', born=1928, nobel=False),
    Scientist(name='Sally Ride', field='physics', born=1951, nobel=False),
)

pprint(scientists)
print()


def transform(x):
    print(f'Process {os.getpid()} working on record {x.name}', flush=True)
    time.sleep(0.05)
    result = {'name': x.name, 'age': 2017 - x.born}
    print(f'Process {os.getpid()} done processing record {x.name}', flush=True)
    return result


start = time.time()
pool = multiprocessing.Pool(processes=len(scientists), maxtasksperchild=1)
result = pool.map(transform, scientists)
end = time.time()

print(f'\nTime to completion: {end - start:.2f}')
pprint(result)
