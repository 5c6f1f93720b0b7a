# Corpus program: a verbatim copy of a public program (a test input, not netpool code).
# Source: coverage.py 7.17.5, tests/test_concurrency.py: the multi.py of test_bug_890
#   (line 640), dedented as the test's make_file does (https://github.com/nedbat/coveragepy);
#   obtained with `pip download --no-binary :all: coverage==7.17.5`.
# Author: Ned Batchelder and the coverage.py contributors.
# Licence: Apache-2.0.
# Changes: none beyond that dedent.
# A Manager started after a chdir, and no Pool: `netpool run` must leave it alone.

import multiprocessing, os, os.path
if __name__ == "__main__":
    if not os.path.exists("./tmp"): os.mkdir("./tmp")
    os.chdir("./tmp")
    with multiprocessing.Manager():
        pass
    print("ok")
