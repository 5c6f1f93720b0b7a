# Idiom program, written for netpool (not a copy of public code).
# What it does: a bound method of an object of a class defined in the script, mapped over a
# pool created inside that method; no __main__ guard.
# Idiom as seen in: gnourtel/ML test.py (GitHub, by gnourtel).
# Written anew in the source's idiom; no code copied.
# Changes: the result is printed (the source computes it and drops it).
from multiprocessing import Pool


class A():
    def __init__(self, vl):
        self.vl = vl

    def cal(self, nb):
        return nb * self.vl

    def run(self, dt):
        t = Pool(processes=4)
        rs = t.map(self.cal, dt)
        t.close()
        return rs


a = A(2)
print(a.run(list(range(10))))
