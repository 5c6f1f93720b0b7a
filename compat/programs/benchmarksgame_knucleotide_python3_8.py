# Corpus program: a verbatim copy of a public program (a test input, not netpool code).
# Source: The Computer Language Benchmarks Game, from GitHub Byron/benchmarksgame-cvs-mirror
#   (a mirror of the game's CVS), bench/knucleotide/knucleotide.python3-8.python3 (last changed in commit
#   547d3a2eb11371e6f9665cda426f552a85703063; snapshot 0077cab4253be9762f35b46bde22b331b3e9c2b4),
#   https://github.com/Byron/benchmarksgame-cvs-mirror/blob/0077cab4253be9762f35b46bde22b331b3e9c2b4/bench/knucleotide/knucleotide.python3-8.python3.
#   The tasks read a module global, `sequence`, that main() sets (`global sequence`) before
#   it makes `p = Pool()` (an inheritance only the fork start method gives; the program's
#   `init` initializer is never used); two map_async calls in flight at once, read with
#   get() in the other order; the pool never closed.
# Author: Ian Osgood, modified by Sokolov Yura, bearophile, xfm (parallelization) and Justin Peel
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
# http://benchmarksgame.alioth.debian.org/
#
# submitted by Ian Osgood
# modified by Sokolov Yura
# modified by bearophile
# modified by xfm for parallelization
# modified by Justin Peel 

from sys import stdin
from collections import defaultdict
from multiprocessing import Pool

def gen_freq(frame) :
    global sequence
    frequences = defaultdict(int)
    if frame != 1:
        for ii in range(len(sequence)-frame+1) :
            frequences[sequence[ii:ii+frame]] += 1
    else:
        for nucleo in sequence:
            frequences[nucleo] += 1
    return frequences


def sort_seq(length):
    frequences = gen_freq(length)
    n= sum(frequences.values())

    l = sorted(list(frequences.items()), reverse=True, key=lambda seq_freq: (seq_freq[1],seq_freq[0]))

    return '\n'.join("%s %.3f" % (st, 100.0*fr/n) for st,fr in l)


def find_seq(s):
    t = gen_freq(len(s))
    return (s,t.get(s,0))

def prepare(f=stdin) :
    for line in f:
        if line[0] in ">;":
            if line[1:3] == "TH":
                break

    seq = []
    app = seq.append
    for line in f:
        if line[0] in ">;":
            break
        app( line )
    return "".join(seq).upper().replace('\n','')

def init(arg):
    global sequence
    sequence = arg

def main():
    global sequence
    sequence = prepare()
    p=Pool()

    
    res2 = p.map_async(find_seq,reversed("GGT GGTA GGTATT GGTATTTTAATT GGTATTTTAATTTATAGT".split()))
    res1 = p.map_async(sort_seq,(1,2))
    
    for s in res1.get() : print (s+'\n')
    res2 = reversed([r for r in res2.get()])
    print ("\n".join("{1:d}\t{0}".format(*s) for s in res2))

if __name__=='__main__' :
    main()
