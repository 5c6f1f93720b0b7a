# Corpus program: a verbatim copy of a public program (a test input, not netpool code).
# Source: GitHub s3rvac/talks, 2024-11-15-Multithreading-and-Multiprocessing-in-Python/examples/06-6-pool-thread.py
#   (last changed in commit d072a62f73383bd9460d635034a847ce477e1a92; snapshot
#   4986623987fd576e0063764f9dfd46ad176fa5db),
#   https://github.com/s3rvac/talks/blob/4986623987fd576e0063764f9dfd46ad176fa5db/2024-11-15-Multithreading-and-Multiprocessing-in-Python/examples/06-6-pool-thread.py;
#   an example of the talk "Multithreading and Multiprocessing in Python" (2024-11-15).
#   `with multiprocessing.pool.ThreadPool(5) as pool:` at module level, no __main__ guard,
#   map over a range (the module imported as `import multiprocessing.pool`).
# Author: Petr Zemek.
# Licence: BSD 3-Clause (the repository's LICENSE), whose notice must be retained:
#   The BSD 3-Clause License
#
#   Copyright (c) 2017 by Petr Zemek <s3rvac@petrzemek.net>
#
#   All rights reserved.
#
#   Redistribution and use in source and binary forms, with or without
#   modification, are permitted provided that the following conditions are met:
#
#   * Redistributions of source code must retain the above copyright notice, this
#     list of conditions and the following disclaimer.
#
#   * Redistributions in binary form must reproduce the above copyright notice,
#     this list of conditions and the following disclaimer in the documentation
#     and/or other materials provided with the distribution.
#
#   * Neither the name of the {organization} nor the names of its
#     contributors may be used to endorse or promote products derived from
#     this software without specific prior written permission.
#
#   THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS"
#   AND ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE
#   IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE ARE
#   DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT HOLDER OR CONTRIBUTORS BE LIABLE
#   FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR CONSEQUENTIAL
#   DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF SUBSTITUTE GOODS OR
#   SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS INTERRUPTION) HOWEVER
#   CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY,
#   OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE USE
#   OF THIS SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.
# Changes: none.

#
# An example of using a thread pool via the multiprocessing module.
#

import multiprocessing.pool


def foo(i):
    # Do some work...
    return i, i * 2


# Create a pool of 5 threads and run foo in it.
with multiprocessing.pool.ThreadPool(5) as pool:
    results = pool.map(foo, range(10))
    for i, result in results:
        print(f"foo({i}) = {result}")
