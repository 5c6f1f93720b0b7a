# Corpus program: a verbatim copy of a public program (a test input, not netpool code).
# Source: mpire 2.10.2, README.rst lines 90-98, the multiprocessing.Pool example that the
#   README then rewrites with mpire (https://github.com/sybrenjansen/mpire); obtained with
#   `pip download --no-binary :all: mpire==2.10.2`.
# Author: Sybren Jansen.
# Licence: MIT (mpire's LICENSE).
# Changes: the reST code block's indentation removed.
# No __main__ guard, ten one-second tasks on five workers, nothing printed.

import time
from multiprocessing import Pool

def time_consuming_function(x):
    time.sleep(1)  # Simulate that this function takes long to complete
    return ...

with Pool(processes=5) as pool:
    results = pool.map(time_consuming_function, range(10))
