# Idiom program, written for netpool (not a copy of public code).
# What it does: a task raises and nobody catches it: pool.map re-raises in the parent, the
# program dies with the remote traceback ("The above exception was the direct cause") and
# exit status 1.
# Idiom as seen in: Stack Overflow "Exception thrown in multiprocessing Pool not detected",
#   https://stackoverflow.com/questions/6728236 (CC BY-SA), in its Python 3 form, where the
#   exception does propagate.
# Written anew in the question's idiom; no code copied.
# Changes: the last item fails, not the third, so every task has printed before the error
#   ends the program (else which lines appear depends on timing); the task prints a line,
#   flushed, so the output shows which tasks ran.
from multiprocessing import Pool


def go(x):
    print("working on", x, flush=True)
    if x == 3:
        raise Exception("foobar")
    return x


if __name__ == "__main__":
    p = Pool(1)
    print(p.map(go, range(4)))
    p.close()
    p.join()
