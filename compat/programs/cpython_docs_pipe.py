# Corpus program: a verbatim copy of a public program (a test input, not netpool code).
# Source: CPython 3.11.2, Doc/library/multiprocessing.rst lines 250-261, section "Exchanging objects between processes", "Pipes",
#   https://docs.python.org/3.11/library/multiprocessing.html#exchanging-objects-between-processes;
#   obtained from Debian's source package python3.11 3.11.2-6+deb12u8
#   (`apt-get source python3.11`: python3.11_3.11.2.orig.tar.gz, the CPython 3.11.2 release).
# Author: the CPython documentation authors (Python Software Foundation).
# Licence: PSF License Version 2; code examples in the Python documentation are also
#   under the Zero-Clause BSD licence (https://docs.python.org/3/license.html).
# Changes: the reST literal block's indentation removed.
# A program with Processes and no Pool: `netpool run` must leave it alone.

from multiprocessing import Process, Pipe

def f(conn):
    conn.send([42, None, 'hello'])
    conn.close()

if __name__ == '__main__':
    parent_conn, child_conn = Pipe()
    p = Process(target=f, args=(child_conn,))
    p.start()
    print(parent_conn.recv())   # prints "[42, None, 'hello']"
    p.join()
