# Corpus program: a verbatim copy of a public program (a test input, not netpool code).
# Source: CPython 3.11.2, Doc/library/multiprocessing.rst lines 313-329, section "Sharing state between processes", "Shared memory",
#   https://docs.python.org/3.11/library/multiprocessing.html#sharing-state-between-processes;
#   obtained from Debian's source package python3.11 3.11.2-6+deb12u8
#   (`apt-get source python3.11`: python3.11_3.11.2.orig.tar.gz, the CPython 3.11.2 release).
# Author: the CPython documentation authors (Python Software Foundation).
# Licence: PSF License Version 2; code examples in the Python documentation are also
#   under the Zero-Clause BSD licence (https://docs.python.org/3/license.html).
# Changes: the reST literal block's indentation removed.
# A program with Processes and no Pool: `netpool run` must leave it alone.

from multiprocessing import Process, Value, Array

def f(n, a):
    n.value = 3.1415927
    for i in range(len(a)):
        a[i] = -a[i]

if __name__ == '__main__':
    num = Value('d', 0.0)
    arr = Array('i', range(10))

    p = Process(target=f, args=(num, arr))
    p.start()
    p.join()

    print(num.value)
    print(arr[:])
