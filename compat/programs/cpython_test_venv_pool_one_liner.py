# Corpus program: a verbatim copy of a public program (a test input, not netpool code).
# Source: CPython 3.11.2, Lib/test/test_venv.py, test_multiprocessing (bpo-36342): the
#   program it runs with `python -c`, at module level with no __main__ guard;
#   obtained from Debian's source package python3.11 3.11.2-6+deb12u8
#   (python3.11_3.11.2.orig.tar.gz, the CPython 3.11.2 release).
# Author: CPython contributors.
# Licence: PSF License Version 2.
# Changes: the -c string's four pieces written as one line of a file.

from multiprocessing import Pool; pool = Pool(1); print(pool.apply_async("Python".lower).get(3)); pool.terminate()
