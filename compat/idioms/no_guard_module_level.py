# Idiom program, written for netpool (not a copy of public code).
# What it does: the whole program at module level, no __main__ guard: with Pool(4) as p:
# print(p.map(square, ...)).
# Idiom as seen in: eurostat/Pysco src/accessibility/test.py (GitHub, by Eurostat / gaffuri; MIT).
# Written anew in the source's idiom; no code copied.
# Changes: none needed.
from multiprocessing import Pool


def square(x):
    return x * x


with Pool(4) as p:
    print(p.map(square, [1, 2, 3, 4, 5]))
