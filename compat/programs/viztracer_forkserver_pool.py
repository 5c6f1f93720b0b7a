# Corpus program: a verbatim copy of a public program (a test input, not netpool code).
# Source: viztracer 1.1.1, tests/test_multiprocess.py, test_multiprocessing_forkserver, the string script_pool (line 470): a forkserver-context Pool, the program the test writes
#   out and runs under viztracer (https://github.com/gaogaotiantian/viztracer); obtained with
#   `pip download --no-binary :all: viztracer==1.1.1`.
# Author: Tian Gao and the viztracer contributors.
# Licence: Apache-2.0.
# Changes: the string dedented as textwrap.dedent would, its leading newline dropped.

from multiprocessing import get_context
def foo(arg):
    pass
if __name__ == '__main__':
    with get_context('forkserver').Pool(1) as pool:
        _ = list(pool.imap_unordered(foo, [1]))
