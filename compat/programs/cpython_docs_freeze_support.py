# Corpus program: a verbatim copy of a public program (a test input, not netpool code).
# Source: CPython 3.11.2, Doc/library/multiprocessing.rst lines 1016-1023, the example of freeze_support(),
#   https://docs.python.org/3.11/library/multiprocessing.html#multiprocessing.freeze_support;
#   obtained from Debian's source package python3.11 3.11.2-6+deb12u8
#   (`apt-get source python3.11`: python3.11_3.11.2.orig.tar.gz, the CPython 3.11.2 release).
# Author: the CPython documentation authors (Python Software Foundation).
# Licence: PSF License Version 2; code examples in the Python documentation are also
#   under the Zero-Clause BSD licence (https://docs.python.org/3/license.html).
# Changes: the reST literal block's indentation removed.
# A program with Processes and no Pool: `netpool run` must leave it alone.

from multiprocessing import Process, freeze_support

def f():
    print('hello world!')

if __name__ == '__main__':
    freeze_support()
    Process(target=f).start()
