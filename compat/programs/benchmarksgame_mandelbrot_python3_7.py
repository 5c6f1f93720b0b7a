# Corpus program: a verbatim copy of a public program (a test input, not netpool code).
# Source: The Computer Language Benchmarks Game, from GitHub Byron/benchmarksgame-cvs-mirror
#   (a mirror of the game's CVS), bench/mandelbrot/mandelbrot.python3-7.python3 (last changed in commit
#   9ebef42e41436557eca905874ee9534e055515fa; snapshot 0077cab4253be9762f35b46bde22b331b3e9c2b4),
#   https://github.com/Byron/benchmarksgame-cvs-mirror/blob/0077cab4253be9762f35b46bde22b331b3e9c2b4/bench/mandelbrot/mandelbrot.python3-7.python3.
#   `with Pool() as pool:` inside a generator (yield from over imap_unordered, the rows put
#   back in order by a second generator), closed early by contextlib.closing; the rows written
#   as binary (a PBM image) to sys.stdout.buffer; no pool at all when os.cpu_count() < 2.
# Author: Joerg Baumann ("contributed by Joerg Baumann").
# Licence: Revised BSD (the repository's bench/LICENSE, the same text in each bench/<name>/LICENSE),
#   whose notice must be retained in copies of the source:
#   Copyright (c) 2004-2008 Brent Fulgham, 2005-2017 Isaac Gouy
#   All rights reserved.
#   Redistribution and use in source and binary forms, with or without modification, are
#   permitted provided that the following conditions are met:
#   Redistributions of source code must retain the above copyright notice, this list of
#   conditions and the following disclaimer.
#   Redistributions in binary form must reproduce the above copyright notice, this list of
#   conditions and the following disclaimer in the documentation and/or other materials
#   provided with the distribution.
#   Neither the name of "The Computer Language Benchmarks Game" nor the name of "The Computer
#   Language Shootout Benchmarks" nor the names of its contributors may be used to endorse or
#   promote products derived from this software without specific prior written permission.
#   THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS" AND ANY EXPRESS
#   OR IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE IMPLIED WARRANTIES OF
#   MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE ARE DISCLAIMED. IN NO EVENT SHALL THE
#   COPYRIGHT OWNER OR CONTRIBUTORS BE LIABLE FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL,
#   EXEMPLARY, OR CONSEQUENTIAL DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF
#   SUBSTITUTE GOODS OR SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS INTERRUPTION)
#   HOWEVER CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY, OR
#   TORT (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE USE OF THIS
#   SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.
# Changes: none to the program; above it, `sys.argv[1:] = ["200"]` (the game passes the image size N
#   on the command line; the corpus runs programs without arguments).

# -- added for the corpus: the size the game passes on the command line --
import sys
sys.argv[1:] = ["200"]
# -- the program, verbatim --
# The Computer Language Benchmarks Game
# http://benchmarksgame.alioth.debian.org/
#
# contributed by Joerg Baumann

from contextlib import closing
from itertools import islice
from os import cpu_count
from sys import argv, stdout

def pixels(y, n, abs):
    range7 = bytearray(range(7))
    pixel_bits = bytearray(128 >> pos for pos in range(8))
    c1 = 2. / float(n)
    c0 = -1.5 + 1j * y * c1 - 1j
    x = 0
    while True:
        pixel = 0
        c = x * c1 + c0
        for pixel_bit in pixel_bits:
            z = c
            for _ in range7:
                for _ in range7:
                    z = z * z + c
                if abs(z) >= 2.: break
            else:
                pixel += pixel_bit
            c += c1
        yield pixel
        x += 8

def compute_row(p):
    y, n = p

    result = bytearray(islice(pixels(y, n, abs), (n + 7) // 8))
    result[-1] &= 0xff << (8 - n % 8)
    return y, result

def ordered_rows(rows, n):
    order = [None] * n
    i = 0
    j = n
    while i < len(order):
        if j > 0:
            row = next(rows)
            order[row[0]] = row
            j -= 1

        if order[i]:
            yield order[i]
            order[i] = None
            i += 1

def compute_rows(n, f):
    row_jobs = ((y, n) for y in range(n))

    if cpu_count() < 2:
        yield from map(f, row_jobs)
    else:
        from multiprocessing import Pool
        with Pool() as pool:
            unordered_rows = pool.imap_unordered(f, row_jobs)
            yield from ordered_rows(unordered_rows, n)

def mandelbrot(n):
    write = stdout.buffer.write

    with closing(compute_rows(n, compute_row)) as rows:
        write("P4\n{0} {0}\n".format(n).encode())
        for row in rows:
            write(row[1])

if __name__ == '__main__':
    mandelbrot(int(argv[1]))
