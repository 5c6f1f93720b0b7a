# Corpus program: a verbatim copy of a public program (a test input, not netpool code).
# Source: CPython 3.11.2, Doc/library/multiprocessing.rst lines 78-95, section "The Process class", the expanded example,
#   https://docs.python.org/3.11/library/multiprocessing.html#the-process-class;
#   obtained from Debian's source package python3.11 3.11.2-6+deb12u8
#   (`apt-get source python3.11`: python3.11_3.11.2.orig.tar.gz, the CPython 3.11.2 release).
# Author: the CPython documentation authors (Python Software Foundation).
# Licence: PSF License Version 2; code examples in the Python documentation are also
#   under the Zero-Clause BSD licence (https://docs.python.org/3/license.html).
# Changes: the reST literal block's indentation removed.
# A program with Processes and no Pool: `netpool run` must leave it alone.

from multiprocessing import Process
import os

def info(title):
    print(title)
    print('module name:', __name__)
    print('parent process:', os.getppid())
    print('process id:', os.getpid())

def f(name):
    info('function f')
    print('hello', name)

if __name__ == '__main__':
    info('main line')
    p = Process(target=f, args=('bob',))
    p.start()
    p.join()
