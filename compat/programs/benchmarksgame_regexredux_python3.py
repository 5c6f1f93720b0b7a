# Corpus program: a verbatim copy of a public program (a test input, not netpool code).
# Source: The Computer Language Benchmarks Game, from GitHub Byron/benchmarksgame-cvs-mirror
#   (a mirror of the game's CVS), bench/regexredux/regexredux.python3 (last changed in commit
#   9be1c13fa38ddb6a2fec33ab2624d5a5407db5c7; snapshot 0077cab4253be9762f35b46bde22b331b3e9c2b4),
#   https://github.com/Byron/benchmarksgame-cvs-mirror/blob/0077cab4253be9762f35b46bde22b331b3e9c2b4/bench/regexredux/regexredux.python3.
#   `Pool(initializer=init, initargs=(seq,))` handing each worker a large string it keeps
#   in a global, zip() over pool.imap, the pool never closed.
# Author: Dominique Wahli (regex-dna), Ahmad Syukri (mp), Justin Peel, converted from regex-dna
#   (the file's own credits).
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
# Changes: none to the program; above it, a block (under `if __name__ == '__main__':`) that
#   writes a small deterministic FASTA file (sections >ONE, >TWO, >THREE of 200, 300 and 2000
#   lines of 60 letters from random.Random(20130411); the game pipes the output of its fasta
#   program, megabytes, to stdin) to input.fasta in the current directory and makes
#   `sys.stdin` that file, before the program's `from sys import stdin`.

# -- added for the corpus: the FASTA input the game pipes to stdin, generated here --
if __name__ == '__main__':
    import random as _random, sys as _sys
    _rng = _random.Random(20130411)
    with open('input.fasta', 'w') as _f:
        for _name, _alphabet, _lines in (('ONE Homo sapiens alu', 'acgt', 200),
                                          ('TWO IUB ambiguity codes', 'acgtBDHKMNRSVWY', 300),
                                          ('THREE Homo sapiens frequency', 'acgt', 2000)):
            _f.write('>' + _name + '\n')
            for _ in range(_lines):
                _f.write(''.join(_rng.choice(_alphabet) for _ in range(60)) + '\n')
    _sys.stdin = open('input.fasta')
# -- the program, verbatim --
# The Computer Language Benchmarks Game
# http://shootout.alioth.debian.org/
#
# regex-dna program contributed by Dominique Wahli
# 2to3
# mp by Ahmad Syukri
# modified by Justin Peel
# converted from regex-dna program

from sys import stdin
from re import sub, findall
from multiprocessing import Pool

def init(arg):
    global seq
    seq = arg

def var_find(f):
    return len(findall(f, seq))

def main():
    seq = stdin.read()
    ilen = len(seq)

    seq = sub('>.*\n|\n', '', seq)
    clen = len(seq)

    pool = Pool(initializer = init, initargs = (seq,))

    variants = (
          'agggtaaa|tttaccct',
          '[cgt]gggtaaa|tttaccc[acg]',
          'a[act]ggtaaa|tttacc[agt]t',
          'ag[act]gtaaa|tttac[agt]ct',
          'agg[act]taaa|ttta[agt]cct',
          'aggg[acg]aaa|ttt[cgt]ccct',
          'agggt[cgt]aa|tt[acg]accct',
          'agggta[cgt]a|t[acg]taccct',
          'agggtaa[cgt]|[acg]ttaccct')
    for f in zip(variants, pool.imap(var_find, variants)):
        print(f[0], f[1])

    subst = {
          'tHa[Nt]' : '<4>', 'aND|caN|Ha[DS]|WaS' : '<3>', 'a[NSt]|BY' : '<2>',
          '<[^>]*>' : '|', '\\|[^|][^|]*\\|' : '-'}
    for f, r in list(subst.items()):
        seq = sub(f, r, seq)

    print()
    print(ilen)
    print(clen)
    print(len(seq))

if __name__=="__main__":
    main()
