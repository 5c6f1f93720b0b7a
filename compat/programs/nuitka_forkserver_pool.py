# Corpus program: a verbatim copy of a public program (a test input, not netpool code).
# Source: Nuitka 4.3.3, tests/standalone/MultiprocessingForkserverUsing32.py
#   (https://github.com/Nuitka/Nuitka); obtained with
#   `pip download --no-binary :all: Nuitka==4.3.3`.
# Author: Kay Hayen.
# Licence: Apache-2.0 (its own header and footer, kept below).
# Changes: none.

#     Copyright 2026, Kay Hayen, mailto:kay.hayen@gmail.com find license text at end of file


"""Standalone regression test for multiprocessing forkserver worker start."""

# nuitka-project: --mode=standalone

# nuitka-skip-unless-expression: os.name != "nt"

from __future__ import print_function

import multiprocessing as mp


def poolTask(value):
    return value + 1


if __name__ == "__main__":
    context = mp.get_context("forkserver")
    pool = context.Pool(1)

    try:
        async_result = pool.apply_async(poolTask, (9,))
        result = async_result.get(timeout=10)
    finally:
        pool.close()
        pool.join()

    assert result == 10, result
    print("OK")

#     Python test originally created or extracted from other peoples work. The
#     parts from me are licensed as below. It is at least Free Software where
#     it's copied from other people. In these cases, that will normally be
#     indicated.
#
#     Licensed under the Apache License, Version 2.0 (the "License");
#     you may not use this file except in compliance with the License.
#     You may obtain a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#     Unless required by applicable law or agreed to in writing, software
#     distributed under the License is distributed on an "AS IS" BASIS,
#     WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
#     See the License for the specific language governing permissions and
#     limitations under the License.
