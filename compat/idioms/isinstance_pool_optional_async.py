# Idiom program, written for netpool (not a copy of public code).
# What it does: a library function that takes an optional pool and works asynchronously
# only if isinstance(pool, multiprocessing.pool.Pool): pool.apply_async(subprocess.run,
# [argv], {keyword arguments}), else synchronously.
# Idiom as seen in: Guymer/PyGuymer3 pyguymer3/image/optipng.py at 8630038a0811f1ea485b1c4e9c740fc2d4f50b66
#   (GitHub, by Thomas Guymer), driven by a script that makes a pool, calls it for a few files,
#   then close() and join().
# Written anew in the source's idiom; no code copied.
# Changes: the command run is this interpreter appending a line to the file (not optipng, which
#   is not installed here); the function says which way it went, which the source only shows
#   by being slower when the check fails; the script prints the files at the end.
import multiprocessing
import multiprocessing.pool
import subprocess
import sys

SCRIPT = "import sys; open(sys.argv[2], 'a').write('optimised\\n')"


def optimise(fname, /, *, pool=None, timeout=60.0):
    if isinstance(pool, multiprocessing.pool.Pool):
        print("asynchronously:", fname)
        pool.apply_async(
            subprocess.run,
            [[sys.executable, "-c", SCRIPT, "--", fname]],
            {"check": True, "encoding": "utf-8", "stderr": subprocess.DEVNULL,
             "stdout": subprocess.DEVNULL, "timeout": timeout},
        )
    else:
        print("synchronously:", fname)
        subprocess.run([sys.executable, "-c", SCRIPT, "--", fname], check=True,
                       encoding="utf-8", stderr=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, timeout=timeout)


if __name__ == "__main__":
    names = ["image%d.png" % i for i in range(3)]
    for name in names:
        with open(name, "w") as f:
            f.write("png\n")
    with multiprocessing.Pool(2) as pool:
        for name in names:
            optimise(name, pool=pool)
        pool.close()
        pool.join()
    for name in names:
        with open(name) as f:
            print(name, f.read().split())
