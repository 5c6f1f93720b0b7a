# Idiom program, written for netpool (not a copy of public code).
# What it does: a progress tracker that looks an async map up in the pool's cache by its job
# number (`pool._cache[result._job]`) and polls `_number_left * _chunksize` until it is done,
# after `close()` and before `join()`.
# Idiom as seen in: GitHub code found by searching for `._job]`: a `ProgressBar.track(job)`
#   class polling `self.pool._cache[job._job]._number_left`, and a data-reduction pipeline
#   that feeds `pool._cache[r._job]` of a `starmap_async` to a tqdm bar.
# Written anew in this idiom; no code copied.
# Changes: none (written for this corpus).
import multiprocessing
import time


def combine(x, y):
    time.sleep(0.02)
    return x + y


if __name__ == "__main__":
    pool = multiprocessing.Pool(2)
    result = pool.starmap_async(combine, [(i, i) for i in range(40)], chunksize=4)
    pool.close()
    task = pool._cache[result._job]
    remaining = []
    while task._number_left > 0:
        remaining.append(task._number_left * task._chunksize)
        time.sleep(0.01)
    print("tasks remaining went down:", remaining == sorted(remaining, reverse=True),
          "started at most at 40:", remaining[0] <= 40 if remaining else True)
    print(result.get()[:5], result._job in pool._cache)
    pool.join()
    with multiprocessing.Pool(1) as p:
        jobs = [p.apply_async(abs, (-1,))._job, p.map_async(abs, [])._job, p.imap(abs, [1])._job]
        print("job numbers increase:", jobs == sorted(jobs), len(set(jobs)))
