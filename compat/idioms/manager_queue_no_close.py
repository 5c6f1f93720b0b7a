# Idiom program, written for netpool (not a copy of public code).
# What it does: a Manager().Queue() proxy as a task argument; the parent reads the queue;
# the pool is never closed (it is cleaned up at exit).
# Idiom as seen in: asevans48/CompAktor test/mess_around.py (GitHub, by asevans48).
# Written anew in the source's idiom; no code copied.
# Changes: none needed.
import multiprocessing


def worker(name, que):
    que.put("%d is done" % name)


if __name__ == '__main__':
    pool = multiprocessing.Pool(processes=3)
    m = multiprocessing.Manager()
    q = m.Queue()
    workers = pool.apply_async(worker, (33, q))
    print(q.get())
