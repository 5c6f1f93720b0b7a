# Idiom program, written for netpool (not a copy of public code).
# What it does: tasks print without flushing (stdout is a pipe, so buffered) while the
#   parent prints with flush=True between two map calls, then close() and join(). A stdlib
#   worker writes its lines when it ends, so they come after both of the parent's lines and
#   before "joined"; one worker, so their order is fixed.
# Idiom as seen in: the PyMOTW and SuperFastPython Pool examples (Doug Hellmann's print in
#   tasks without flush; Jason Brownlee's tutorials print with flush=True, and explain why),
#   tried in the survey of 6 Dec 2026.
# Written anew for that survey; no code copied. It found a difference, fixed: netpool's
#   forked workers flushed after every task, so the task lines came first.
# Changes: none needed.
from multiprocessing import Pool


def task(i):
    print('task', i)
    return i * i


if __name__ == '__main__':
    pool = Pool(1)
    print(pool.map(task, range(3)), flush=True)
    print('first map done', flush=True)
    print(pool.map(task, range(3, 6)))
    print('second map done', flush=True)
    pool.close()
    pool.join()
    print('joined')
