# Idiom program, written for netpool (not a copy of public code).
# What it does: a shared multiprocessing.Value counter passed through initializer/initargs,
# incremented by every task; map_async with chunksize=1, wait(), get().
# Idiom as seen in: Stack Overflow "Python multiprocessing and a shared counter",
#   https://stackoverflow.com/questions/2080660 (answers CC BY-SA); the same program as
#   noobsmaster/fyp-sagemath-simulation thhradtest2.py.
# Written anew in the answer's idiom; no code copied.
# Changes: the increment holds the Value's own lock (the source's bare `+= 1` can lose
#   updates even under python); the task's print flushes; the parent prints the final count,
#   showing it is shared, then closes and joins the pool (the source just exits).
# compat: sort-lines
from multiprocessing import Pool, Value

counter = None


def init(args):
    ''' store the counter for later use '''
    global counter
    counter = args


def analyze_data(args):
    ''' increment the global counter, do something with the input '''
    with counter.get_lock():
        counter.value += 1
        print(counter.value, flush=True)
    return args * 10


if __name__ == '__main__':
    counter = Value('i', 0)
    p = Pool(initializer=init, initargs=(counter,))
    i = p.map_async(analyze_data, range(4), chunksize=1)
    i.wait()
    print(i.get())
    print("counter:", counter.value)
    p.close()
    p.join()
