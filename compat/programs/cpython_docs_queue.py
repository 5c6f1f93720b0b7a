# Corpus program: a verbatim copy of a public program (a test input, not netpool code).
# Source: CPython 3.11.2, Doc/library/multiprocessing.rst lines 231-241, section "Exchanging objects between processes", "Queues",
#   https://docs.python.org/3.11/library/multiprocessing.html#exchanging-objects-between-processes;
#   obtained from Debian's source package python3.11 3.11.2-6+deb12u8
#   (`apt-get source python3.11`: python3.11_3.11.2.orig.tar.gz, the CPython 3.11.2 release).
# Author: the CPython documentation authors (Python Software Foundation).
# Licence: PSF License Version 2; code examples in the Python documentation are also
#   under the Zero-Clause BSD licence (https://docs.python.org/3/license.html).
# Changes: the reST literal block's indentation removed.
# A program with Processes and no Pool: `netpool run` must leave it alone.

from multiprocessing import Process, Queue

def f(q):
    q.put([42, None, 'hello'])

if __name__ == '__main__':
    q = Queue()
    p = Process(target=f, args=(q,))
    p.start()
    print(q.get())    # prints "[42, None, 'hello']"
    p.join()
