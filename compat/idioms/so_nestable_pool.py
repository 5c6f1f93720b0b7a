# Idiom program, written for netpool (not a copy of public code).
# What it does: the "NestablePool" recipe: a Pool subclass whose context makes non-daemonic
# processes, so that tasks can create pools of their own.
# Idiom as seen in: Stack Overflow "Python Process Pool non-daemonic?",
#   https://stackoverflow.com/questions/6974695, the answer for Python 3.8+ with
#   NoDaemonProcess/NoDaemonContext/NestablePool (CC BY-SA); the same recipe as
#   oliverester/valuing-vicinity src/lib/NestablePool/nestable_pool.py.
# Written anew in the recipe's idiom; no code copied.
# Changes: the demo tasks are small sums.
import multiprocessing
import multiprocessing.pool


class NoDaemonProcess(multiprocessing.Process):
    @property
    def daemon(self):
        return False

    @daemon.setter
    def daemon(self, value):
        pass


class NoDaemonContext(type(multiprocessing.get_context())):
    Process = NoDaemonProcess


# We sub-class multiprocessing.pool.Pool instead of multiprocessing.Pool
# because the latter is only a wrapper function, not a proper class.
class NestablePool(multiprocessing.pool.Pool):
    def __init__(self, *args, **kwargs):
        kwargs['context'] = NoDaemonContext()
        super(NestablePool, self).__init__(*args, **kwargs)


def square(x):
    return x * x


def inner_work(n):
    with multiprocessing.Pool(2) as inner:
        return n, sum(inner.map(square, range(n)))


if __name__ == '__main__':
    with NestablePool(2) as outer:
        print(outer.map(inner_work, [3, 4, 5]))
