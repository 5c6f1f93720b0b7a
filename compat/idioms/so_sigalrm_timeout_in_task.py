# Idiom program, written for netpool (not a copy of public code).
# What it does: a per-task time limit made inside the task with a SIGALRM handler that
#   raises and signal.setitimer (the task's main thread is the worker's main thread, where
#   signal handlers may be set); tasks that finish in time return their value, the others
#   the handler's message.
# Idiom as seen in: Stack Overflow answers on timing out a function in a Pool task with
#   signal.alarm (CC BY-SA), as in the "timeout decorator" recipes.
# Written anew in the answers' idiom; no code copied.
# Changes: a 0.2 s limit (setitimer), not whole seconds (signal.alarm).
import multiprocessing
import signal
import time


class TaskTimeout(Exception):
    pass


def handler(signum, frame):
    raise TaskTimeout(f'timed out ({signum})')


def task(seconds):
    signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, 0.2)
    try:
        time.sleep(seconds)
        return f'finished {seconds}'
    except TaskTimeout as e:
        return str(e)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


if __name__ == '__main__':
    with multiprocessing.Pool(2) as pool:
        print(pool.map(task, [0.01, 1, 0.02, 2]))
        print(pool.apply(signal.getsignal, (signal.SIGALRM,)) is signal.SIG_DFL)
