# Corpus program: a verbatim copy of a public program (a test input, not netpool code).
# Source: parallelbar 2.5, README.md section "Usage" (the package's long description,
#   https://github.com/dubovikmaster/parallelbar#usage); obtained with
#   `pip install parallelbar==2.5` (the wheel's METADATA).
# Author: Pavel Dubovik (dubovikmaster).
# Licence: MIT (the package's LICENSE, "Copyright (c) 2021 Pavel").
# Changes: the README's code blocks joined; `tasks = range(10000)` made range(2000) (50
#   seconds of CPU otherwise); `core_progress=False` dropped (parallelbar 2.5 no longer takes
#   it: TypeError); the results printed (the README shows only the bars).
# parallelbar runs a Pool(initializer=init_worker, initargs=(Manager().Queue(), ...)) whose
# tasks report their progress through the Manager queue to a tqdm bar on a thread.
# compat: requires parallelbar tqdm
# compat: progress-bars

from parallelbar import progress_imap, progress_map, progress_imapu
from parallelbar.tools import cpu_bench, fibonacci

tasks = range(2000)

if __name__=='__main__':
    print(progress_map(cpu_bench, tasks)[-3:])

if __name__=='__main__':
    tasks = [20 + i for i in range(15)]
    result = progress_imap(fibonacci, tasks, chunk_size=1)
    print(result)
