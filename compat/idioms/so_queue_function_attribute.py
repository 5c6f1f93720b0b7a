# Idiom program, written for netpool (not a copy of public code).
# What it does: a multiprocessing.Queue handed to the workers by the initializer, which
# stores it as an attribute of the task function (f.q = q); the parent reads the queue and the
# imap results in turn; Pool(None, f_init, [q]) given positionally.
# Idiom as seen in: Stack Overflow "Can I use a multiprocessing Queue in a function called by
#   Pool.imap?", https://stackoverflow.com/questions/3827065, accepted answer (CC BY-SA);
#   the same program as thearikdan/MyExperimentalProjects
#   Python/multiprocessing/multiprocessing_basic_queue.py.
# Written anew in the answer's idiom; no code copied.
# Changes: the queue's messages are compared as sorted lines, since which task reports first
#   depends on timing.
# compat: sort-lines
import multiprocessing as mp


def f(x):
    f.q.put('Doing: ' + str(x))
    return x * x


def f_init(q):
    f.q = q


def main():
    jobs = range(1, 6)
    q = mp.Queue()
    p = mp.Pool(None, f_init, [q])
    results = p.imap(f, jobs)
    p.close()
    for i in range(len(jobs)):
        print(q.get())
        print(results.next())
    p.join()


if __name__ == '__main__':
    main()
