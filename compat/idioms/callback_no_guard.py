# Idiom program, written for netpool (not a copy of public code).
# What it does: no __main__ guard; Pool(5), apply_async with func=/args=/callback= keywords,
# close() and join() straight after; the task prints in the worker, the callback in the parent.
# Idiom as seen in: Jiede1/working_build pool.py (GitHub, by Jiede1), a common tutorial form (also
#   konyac/oldboy 10/Pool.py).
# Written anew in the source's idiom; no code copied.
# Changes: tasks sleep 0.05 s, not 2 s.
# compat: sort-lines
from multiprocessing import Pool
import time


def Foo(i):
    time.sleep(0.05)
    print('Foo: ', i)
    return i + 100


def Bar(arg):
    print('-->exec done:', arg)


pool = Pool(5)

for i in range(10):
    pool.apply_async(func=Foo, args=(i,), callback=Bar)

print('end')
pool.close()
pool.join()
