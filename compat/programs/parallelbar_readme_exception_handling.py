# Corpus program: a verbatim copy of a public program (a test input, not netpool code).
# Source: parallelbar 2.5, README.md section "Exception handling" (the package's long
#   description, https://github.com/dubovikmaster/parallelbar#exception-handling); obtained
#   with `pip install parallelbar==2.5` (the wheel's METADATA).
# Author: Pavel Dubovik (dubovikmaster).
# Licence: MIT (the package's LICENSE, "Copyright (c) 2021 Pavel").
# Changes: the README's code blocks joined, with `import time` and the import of the
#   "Usage" section; `error_behavior='coerce'` added to both calls (the README's results are
#   those of parallelbar before 2.0, whose default it was; 2.5's default raises at n == 5).
# A task that runs past `process_timeout` is stopped by a threading.Timer in the worker that
# sends SIGINT to its own process (parallelbar.wrappers.stopit_after_timeout), caught as
# KeyboardInterrupt in the task and returned as a TimeoutError.
# compat: requires parallelbar tqdm
# compat: progress-bars drop
import time
from parallelbar import progress_imap, progress_map, progress_imapu

def foo(n):
    if n==5 or n==17:
        1/0
    elif n==10:
        time.sleep(2)
    else:
        time.sleep(1)
    return n
if __name__=='__main__':
	res = progress_map(foo, range(20), process_timeout=5, n_cpu=8, error_behavior='coerce')
print(res)
if __name__=='__main__':
	res = progress_map(foo, range(20), process_timeout=1.5, n_cpu=8, error_behavior='coerce')
print(res)
