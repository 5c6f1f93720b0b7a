# Idiom program, written for netpool (not a copy of public code).
# What it does: one pool task is a listener that drains a Manager queue and writes a file,
# the others put their results on the queue; then 'kill' ends the listener.
# Idiom as seen in: Stack Overflow "Processing single file from multiple processes" / "Python
#   multiprocessing safely writing to a file", https://stackoverflow.com/questions/13446445,
#   the accepted answer (CC BY-SA).
# Written anew in the answer's idiom; no code copied.
# Changes: 20 jobs, not 80; the file is temp.txt in the working directory (not c:/temp),
#   printed at the end (sorted, since the arrival order depends on timing); Python 3 text mode.
import multiprocessing as mp

fn = 'temp.txt'


def worker(arg, q):
    '''stupidly simulates long running process'''
    s = 'this is a test'
    txt = s * (arg + 1)
    res = 'Process' + str(arg), str(len(txt))
    q.put(res)
    return res


def listener(q):
    '''listens for messages on the q, writes to file. '''
    with open(fn, 'w') as f:
        while 1:
            m = q.get()
            if m == 'kill':
                f.write('killed')
                break
            f.write(str(m) + '\n')
            f.flush()


def main():
    # must use Manager queue here, or will not work
    manager = mp.Manager()
    q = manager.Queue()
    pool = mp.Pool(mp.cpu_count() + 2)

    # put listener to work first
    watcher = pool.apply_async(listener, (q,))

    # fire off workers
    jobs = []
    for i in range(20):
        job = pool.apply_async(worker, (i, q))
        jobs.append(job)

    # collect results from the workers through the pool result queue
    for job in jobs:
        job.get()

    # now we are done, kill the listener
    q.put('kill')
    watcher.get()
    pool.close()
    pool.join()
    with open(fn) as f:
        lines = f.read().splitlines()
    print(lines[-1])
    print(sorted(lines[:-1]))


if __name__ == "__main__":
    main()
