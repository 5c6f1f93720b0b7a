# Corpus program: a verbatim copy of a public program (a test input, not netpool code).
# Source: CPython 3.11.2, Lib/test/test_multiprocessing_main_handling.py, the string
#   test_source (line 32), which the test writes to a script and runs;
#   obtained from Debian's source package python3.11 3.11.2-6+deb12u8
#   (python3.11_3.11.2.orig.tar.gz, the CPython 3.11.2 release).
# Author: CPython contributors (Nick Coghlan, bpo-19946).
# Licence: PSF License Version 2.
# Changes: `start_method = sys.argv[1]` reads 'fork' when no argument is given (the test
#   passes the start method on the command line; this corpus runs programs without one).

# multiprocessing includes all sorts of shenanigans to make __main__
# attributes accessible in the subprocess in a pickle compatible way.

# We run the "doesn't work in the interactive interpreter" example from
# the docs to make sure it *does* work from an executed __main__,
# regardless of the invocation mechanism

import sys
import time
from multiprocessing import Pool, set_start_method

# We use this __main__ defined function in the map call below in order to
# check that multiprocessing in correctly running the unguarded
# code in child processes and then making it available as __main__
def f(x):
    return x*x

# Check explicit relative imports
if "check_sibling" in __file__:
    # We're inside a package and not in a __main__.py file
    # so make sure explicit relative imports work correctly
    from . import sibling

if __name__ == '__main__':
    start_method = sys.argv[1] if len(sys.argv) > 1 else 'fork'
    set_start_method(start_method)
    results = []
    with Pool(5) as pool:
        pool.map_async(f, [1, 2, 3], callback=results.extend)
        start_time = time.monotonic()
        while not results:
            time.sleep(0.05)
            # up to 1 min to report the results
            dt = time.monotonic() - start_time
            if dt > 60.0:
                raise RuntimeError("Timed out waiting for results (%.1f sec)" % dt)

    results.sort()
    print(start_method, "->", results)

    pool.join()
