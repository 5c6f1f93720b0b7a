# Corpus program: a verbatim copy of a public program (a test input, not netpool code).
# Source: CPython 3.11.2, Lib/test/test_multiprocessing_main_handling.py, the string
#   test_source_main_skipped_in_children (line 76): a pool used at module level, no
#   `if __name__ == '__main__'` guard; obtained from Debian's source package python3.11 3.11.2-6+deb12u8
#   (python3.11_3.11.2.orig.tar.gz, the CPython 3.11.2 release).
# Author: CPython contributors (Nick Coghlan, bpo-19946).
# Licence: PSF License Version 2.
# Changes: `start_method = sys.argv[1]` reads 'fork' when no argument is given (the test
#   passes the start method on the command line; this corpus runs programs without one).

# __main__.py files have an implied "if __name__ == '__main__'" so
# multiprocessing should always skip running them in child processes

# This means we can't use __main__ defined functions in child processes,
# so we just use "int" as a passthrough operation below

if __name__ != "__main__":
    raise RuntimeError("Should only be called as __main__!")

import sys
import time
from multiprocessing import Pool, set_start_method

start_method = sys.argv[1] if len(sys.argv) > 1 else 'fork'
set_start_method(start_method)
results = []
with Pool(5) as pool:
    pool.map_async(int, [1, 4, 9], callback=results.extend)
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
