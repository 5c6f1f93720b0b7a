# Idiom program, written for netpool (not a copy of public code).
# What it does: an instance of a class defined in the main script passed as a task argument.
# Idiom as seen in: RobinChen121/Python-Practices junior_practices/multi-process/multiprocess-pickle.py
#   (GitHub, by Zhen Chen).
# Written anew in the source's idiom; no code copied.
# Changes: none needed.
class MyClass:
    def __init__(self, value):
        self.value = value


def worker(obj):
    return obj.value * 2


if __name__ == "__main__":
    from multiprocessing import Pool

    obj = MyClass(10)
    with Pool(2) as p:
        result = p.map(worker, [obj])
    print(result)
