# Corpus program: a verbatim copy of a public program (a test input, not netpool code).
# Source: CPython 3.11.2, Doc/whatsnew/2.6.rst lines 663-694, "What's New in Python 2.6",
#   section "PEP 371: The multiprocessing Package", the Pool and Manager example
#   (https://docs.python.org/3.11/whatsnew/2.6.html#pep-371-the-multiprocessing-package);
#   obtained from Debian's source package python3.11 3.11.2-6+deb12u8
#   (python3.11_3.11.2.orig.tar.gz, the CPython 3.11.2 release).
# Author: A.M. Kuchling ("What's New in Python 2.6", whose ":Author:" line names him).
# Licence: PSF License Version 2; code examples in the Python documentation are also
#   under the Zero-Clause BSD licence (https://docs.python.org/3/license.html).
# Changes: the reST literal block's indentation removed; the two Python 2 spellings that
#   Python 3 rejects made Python 3: `fact = 1L` -> `fact = 1`, `print k, v` -> `print(k, v)`.
# A Manager dict proxy passed as an argument of 100 apply_async tasks whose results are
# never kept (the workers write into the proxy); the Manager started after the Pool;
# close() + join(), then the proxy read in the parent.

import time
from multiprocessing import Pool, Manager

def factorial(N, dictionary):
    "Compute a factorial."
    # Calculate the result
    fact = 1
    for i in range(1, N+1):
        fact = fact * i

    # Store result in dictionary
    dictionary[N] = fact

if __name__ == '__main__':
    p = Pool(5)
    mgr = Manager()
    d = mgr.dict()         # Create shared dictionary

    # Run tasks using the pool
    for N in range(1, 1000, 10):
        p.apply_async(factorial, (N, d))

    # Mark pool as closed -- no more tasks can be added.
    p.close()

    # Wait for tasks to exit
    p.join()

    # Output results
    for k, v in sorted(d.items()):
        print(k, v)

