# Idiom program, written for netpool (not a copy of public code).
# What it does: an initializer that sets two module globals from initargs (plain data, no
# sync objects); the task function only reads them.
# Idiom as seen in: lithops-cloud/lithops examples/multiprocessing/pool_initializer.py (GitHub, by the
#   Lithops authors; Apache-2.0), whose first line offers `import multiprocessing as mp` in
#   place of Lithops' own multiprocessing.
# Written anew in the source's idiom, with the stdlib import; no code copied.
# Changes: the stdlib's multiprocessing, as that first line offers.
import multiprocessing as mp


def work(num):
    global param1, param2
    return param1, param2, num


def initializer_function(arg1, arg2):
    global param1, param2
    param1 = arg1
    param2 = arg2


if __name__ == '__main__':
    with mp.Pool(initializer=initializer_function, initargs=('important global arg', 123456)) as p:
        res = p.map(work, [0] * 3)
        print(res)
