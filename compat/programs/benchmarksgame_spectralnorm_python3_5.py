# Corpus program: a verbatim copy of a public program (a test input, not netpool code).
# Source: The Computer Language Benchmarks Game, from GitHub Byron/benchmarksgame-cvs-mirror
#   (a mirror of the game's CVS), bench/spectralnorm/spectralnorm.python3-5.python3 (last changed in commit
#   9e7b763a8eea6c52ea4f6330cd3f05537addb6f8; snapshot 0077cab4253be9762f35b46bde22b331b3e9c2b4),
#   https://github.com/Byron/benchmarksgame-cvs-mirror/blob/0077cab4253be9762f35b46bde22b331b3e9c2b4/bench/spectralnorm/spectralnorm.python3-5.python3.
#   A module-global `pool = Pool(processes=4)` made in the __main__ block, used by plain
#   functions (40 pool.map calls over generators of (i, list) tuples), never closed.
# Author: Sebastien Loisel, fixed by Isaac Gouy, sped up by Josh Goldfoot and Simon Descarpentries,
#   concurrency by Jason Stitt (the file's own credits).
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
# Changes: none to the program; above it, `sys.argv[1:] = ["100"]` (the game passes N
#   on the command line; the corpus runs programs without arguments).

# -- added for the corpus: the size the game passes on the command line --
import sys
sys.argv[1:] = ["100"]
# -- the program, verbatim --
# The Computer Language Benchmarks Game
# http://benchmarksgame.alioth.debian.org/

# Contributed by Sebastien Loisel
# Fixed by Isaac Gouy
# Sped up by Josh Goldfoot
# Dirtily sped up by Simon Descarpentries
# Concurrency by Jason Stitt
# 2to3

from multiprocessing import Pool
from math            import sqrt

from sys             import argv

def eval_A (i, j):
    return 1.0 / ((i + j) * (i + j + 1) / 2 + i + 1)

def eval_A_times_u (u):
    args = ((i,u) for i in range(len(u)))
    return pool.map(part_A_times_u, args)

def eval_At_times_u (u):
    args = ((i,u) for i in range(len(u)))
    return pool.map(part_At_times_u, args)

def eval_AtA_times_u (u):
    return eval_At_times_u (eval_A_times_u (u))

def part_A_times_u(xxx_todo_changeme):
    (i,u) = xxx_todo_changeme
    partial_sum = 0
    for j, u_j in enumerate(u):
        partial_sum += eval_A (i, j) * u_j
    return partial_sum

def part_At_times_u(xxx_todo_changeme1):
    (i,u) = xxx_todo_changeme1
    partial_sum = 0
    for j, u_j in enumerate(u):
        partial_sum += eval_A (j, i) * u_j
    return partial_sum

def main():
    n = int(argv[1])
    u = [1] * n

    for dummy in range (10):
        v = eval_AtA_times_u (u)
        u = eval_AtA_times_u (v)

    vBv = vv = 0

    for ue, ve in zip (u, v):
        vBv += ue * ve
        vv  += ve * ve

    print("%0.9f" % (sqrt(vBv/vv)))

if __name__ == '__main__':
    pool = Pool(processes=4)
    main()
    
