# Corpus program: a verbatim copy of a public program (a test input, not netpool code).
# Source: viztracer 1.1.1, tests/test_multiprocess.py, the string file_pool_with_pickle (line 228): a spawn-context Pool whose task returns an instance of a class defined in the script, the program the test writes
#   out and runs under viztracer (https://github.com/gaogaotiantian/viztracer); obtained with
#   `pip download --no-binary :all: viztracer==1.1.1`.
# Author: Tian Gao and the viztracer contributors.
# Licence: Apache-2.0.
# Changes: the string's leading newline dropped.

from multiprocessing import get_context

class Bar:
    pass

def foo(args):
    return Bar()

if __name__ == '__main__':
    with get_context('spawn').Pool(1) as pool:
        _ = list(pool.imap_unordered(foo, [1]))
