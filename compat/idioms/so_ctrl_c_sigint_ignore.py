# Idiom program, written for netpool (not a copy of public code).
# What it does: the classic Ctrl-C recipe: ignore SIGINT while the pool forks its workers,
# restore it, wait with map_async(...).get(timeout) so the main thread can be interrupted,
# then terminate() on KeyboardInterrupt.
# Idiom as seen in: Stack Overflow answer to "Catch Ctrl+C / SIGINT and exit multiprocesses gracefully in
#   python", https://stackoverflow.com/questions/11312525 (an answer there, CC BY-SA); the same program as
#   ybdesire/pylearn multi_process/multi_process_ctrl_c_end.py.
# Written anew in the answer's idiom and output; no code copied.
# Changes: the jobs sleep 3 s, not 5; Ctrl-C is played by a thread that, once both workers
#   have said they run (a file each in the working directory), sends SIGINT to the program's
#   process group as a terminal does; the workers print with flush=True so that terminate()
#   cannot swallow their line under either pool.
# compat: sort-lines
import glob
import multiprocessing
import os
import signal
import threading
import time


def run_worker(delay):
    print("In a worker process", os.getpid(), flush=True)
    open("started-%d" % os.getpid(), "w").close()
    time.sleep(delay)


def press_ctrl_c():
    deadline = time.monotonic() + 30
    while len(glob.glob("started-*")) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    if os.getpgid(0) == os.getpid():
        os.killpg(os.getpid(), signal.SIGINT)  # the whole group, as the terminal does
    else:
        os.kill(os.getpid(), signal.SIGINT)


def main():
    print("Initializng 2 workers")
    original_sigint_handler = signal.signal(signal.SIGINT, signal.SIG_IGN)
    pool = multiprocessing.Pool(2)
    signal.signal(signal.SIGINT, original_sigint_handler)
    threading.Thread(target=press_ctrl_c, daemon=True).start()
    try:
        print("Starting 2 jobs of 3 seconds each")
        res = pool.map_async(run_worker, [3, 3])
        print("Waiting for results")
        res.get(60)  # Without the timeout this blocking call ignores all signals.
    except KeyboardInterrupt:
        print("Caught KeyboardInterrupt, terminating workers")
        pool.terminate()
    else:
        print("Normal termination")
        pool.close()
    pool.join()


if __name__ == "__main__":
    main()
