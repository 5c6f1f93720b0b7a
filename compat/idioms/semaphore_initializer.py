# Idiom program, written for netpool (not a copy of public code).
# What it does: a multiprocessing.Semaphore limiting how many tasks do the "expensive" part
# at once, given to workers through the initializer; a shared Value records the peak.
# Idiom as seen in: no single program: the multiprocessing docs' advice (PSF) to hand synchronisation
#   objects to pool workers through initializer/initargs, as the Lock and Value recipes of
#   this corpus do, applied to a Semaphore.
# Written anew in that idiom; no code copied.
# Changes: none needed.
import multiprocessing
import time


def init(sem_, active_, peak_):
    global sem, active, peak
    sem, active, peak = sem_, active_, peak_


def task(i):
    with sem:
        with active.get_lock():
            active.value += 1
            peak.value = max(peak.value, active.value)
        time.sleep(0.02)
        with active.get_lock():
            active.value -= 1
    return i


if __name__ == '__main__':
    sem = multiprocessing.Semaphore(2)
    active = multiprocessing.Value('i', 0)
    peak = multiprocessing.Value('i', 0)
    with multiprocessing.Pool(4, initializer=init, initargs=(sem, active, peak)) as pool:
        print(pool.map(task, range(12)))
    print('peak at most 2:', 1 <= peak.value <= 2)
