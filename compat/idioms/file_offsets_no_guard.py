# Idiom program, written for netpool (not a copy of public code).
# What it does: no __main__ guard; one apply_async per line of a file, each task given the
# line's byte offset, re-opening the file and seeking there; get() on every job; close()
# without join().
# Idiom as seen in: lirenlin/DSA mp_file.py (GitHub, by lirenlin), the byte-offset recipe of Stack
#   Overflow answers on processing one file from several processes (CC BY-SA).
# Written anew in the source's idiom; no code copied.
# Changes: Python 3; the program first writes its own 8-line input.txt in the working
#   directory; the task returns the line and the parent prints it (the source prints in the
#   worker, whose order depends on timing).
import multiprocessing as mp

with open("input.txt", "w") as f:
    for i in range(8):
        f.write("line %d of the input\n" % i)


def process(line):
    return line.rstrip("\n").upper()


def process_wrapper(lineByte):
    with open("input.txt") as f:
        f.seek(lineByte)
        line = f.readline()
        return process(line)


# init objects
pool = mp.Pool()
jobs = []

# create jobs
with open("input.txt") as f:
    nextLineByte = f.tell()
    for line in iter(f.readline, ""):
        jobs.append(pool.apply_async(process_wrapper, (nextLineByte,)))
        nextLineByte = f.tell()

# wait for all jobs to finish
for job in jobs:
    print(job.get())

# clean up
pool.close()
