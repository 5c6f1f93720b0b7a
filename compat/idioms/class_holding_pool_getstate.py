# Idiom program, written for netpool (not a copy of public code).
# What it does: an object that owns a Pool and a Manager queue submits one of its own bound
# methods; __getstate__ drops the pool so that the object can be pickled for the worker.
# Idiom as seen in: hackroad/LinuxHostManager HostManager/t23.py (GitHub, by hackroad), the recipe of
#   Stack Overflow answers on "pool objects cannot be passed between processes or pickled"
#   (CC BY-SA).
# Written anew in the source's idiom; no code copied.
# Changes: 3 rounds sleeping 0.01 s, not 10 of 1 s; the queue is used (one message per round)
#   and read at the end; the task's prints flush, so they come before the parent's last line.
import multiprocessing
import time


class Test:
    def __init__(self):
        self.pool = multiprocessing.Pool()
        m = multiprocessing.Manager()
        self.queue = m.Queue()

    def subprocess(self):
        for i in range(3):
            print("Running", flush=True)
            time.sleep(0.01)
            self.queue.put(i)
            print("Subprocess Completed", flush=True)
        return "finished"

    def start(self):
        result = self.pool.apply_async(func=self.subprocess)
        print("Subprocess has been started", flush=True)
        self.pool.close()
        self.pool.join()
        print(result.get(), [self.queue.get() for _ in range(3)])

    def __getstate__(self):
        self_dict = self.__dict__.copy()
        del self_dict['pool']
        return self_dict

    def __setstate__(self, state):
        self.__dict__.update(state)


if __name__ == '__main__':
    test = Test()
    test.start()
