# Corpus program: a verbatim copy of a public program (a test input, not netpool code).
# Source: tqdm 4.70.1, README.rst lines 838-855, section "Nested progress bars"
#   (https://github.com/tqdm/tqdm#nested-progress-bars): Pool(initializer=tqdm.set_lock,
#   initargs=(tqdm.get_lock(),)) with an RLock; obtained with
#   `pip download --no-binary :all: tqdm==4.70.1`.
# Author: the tqdm developers (Casper da Costa-Luis et al.).
# Licence: MPL-2.0 (tqdm's LICENCE: "files: * MPL-2.0 2015- (c) Casper da Costa-Luis"), with
#   contributions under MIT.
# Changes: the reST code block's indentation removed.
# Each bar's last refresh depends on timing; each finished bar is compared once.
# compat: progress-bars

from time import sleep
from tqdm import trange, tqdm
from multiprocessing import Pool, RLock, freeze_support

L = list(range(9))

def progresser(n):
    interval = 0.001 / (n + 2)
    total = 5000
    text = f"#{n}, est. {interval * total:<04.2}s"
    for _ in trange(total, desc=text, position=n):
        sleep(interval)

if __name__ == '__main__':
    freeze_support()  # for Windows support
    tqdm.set_lock(RLock())  # for managing output contention
    p = Pool(initializer=tqdm.set_lock, initargs=(tqdm.get_lock(),))
    p.map(progresser, L)
