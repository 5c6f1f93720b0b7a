# Idiom program, written for netpool (not a copy of public code).
# What it does: the same pool under every start method: get_context(method).Pool(4) as a
# context manager, apply_async(os.getpid) and get(timeout=1).
# Idiom as seen in: the multiprocessing docs, "Contexts and start methods" and "Using a pool of workers"
#   (https://docs.python.org/3/library/multiprocessing.html, PSF), combined as in several
#   public scripts that loop over ['spawn', 'fork', 'forkserver'].
# Written anew in that idiom; no code copied.
# Changes: pids are not printed (they differ run to run): only how many distinct workers
#   answered, at most 4; get() waits up to 10 s, not 1 (a fresh spawn pool on a loaded
#   machine took longer than 1 s to answer, under python too).
import multiprocessing
import os

METHODS = ['spawn', 'fork', 'forkserver']

if __name__ == '__main__':
    for method in METHODS:
        context = multiprocessing.get_context(method)
        with context.Pool(processes=4) as pool:
            results = [pool.apply_async(os.getpid, ()) for i in range(4)]
            pids = [res.get(timeout=10) for res in results]
            print(1 <= len(set(pids)) <= 4, os.getpid() not in pids, method)
