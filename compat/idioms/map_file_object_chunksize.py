# Idiom program, written for netpool (not a copy of public code).
# What it does: pool.map straight over an open file object, chunksize given positionally (4
# lines per task).
# Idiom as seen in: Sagar5885/PythonRef newproject/multiprocessingPool.py (GitHub, by Sagar5885); the
#   same idiom as dungtran211096/DNS alternative-polaris/polaris_common/readfile.py.
# Written anew in the source's idiom; no code copied.
# Changes: the program first writes its own test1.csv (10 lines) in the working directory.
from multiprocessing import Pool


def process_line(line):
    return "FOO: %s" % line


if __name__ == "__main__":
    with open('test1.csv', 'w') as f:
        for i in range(10):
            f.write("%d,%d\n" % (i, i * i))
    pool = Pool(4)
    with open('test1.csv') as source_file:
        # chunk the work into batches of 4 lines at a time
        results = pool.map(process_line, source_file, 4)

    for res in results:
        print(res, end="")
