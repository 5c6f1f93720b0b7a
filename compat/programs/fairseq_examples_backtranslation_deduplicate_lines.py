# Corpus program: a verbatim copy of a public program (a test input, not netpool code).
# Source: GitHub facebookresearch/fairseq, examples/backtranslation/deduplicate_lines.py (last
#   changed in commit a48f235636557b8d3bc4922a6fa90f3a0fa57955; the same text at the snapshot
#   3d262bb25690e4eb2e7d3c1309b1e9c406ca4b99),
#   https://github.com/facebookresearch/fairseq/blob/3d262bb25690e4eb2e7d3c1309b1e9c406ca4b99/examples/backtranslation/deduplicate_lines.py.
#   An argparse main() that makes `pool = Pool(args.workers)` (10) inside a `with
#   fileinput.input(files, mode='rb')` and never closes it; imap_unordered over the lines of
#   the input files (the FileInput object itself as the iterable) with chunksize 1000, the
#   first line of each md5 written to sys.stdout.buffer, progress dots to stderr.
# Author: Facebook, Inc. and its affiliates (fairseq's authors; the file's history names
#   Myle Ott).
# Licence: MIT (the repository's LICENSE: "MIT License, Copyright (c) Facebook, Inc. and its
#   affiliates."; the file's own header says so).
# Changes: none to the program; above it, a block (under `if __name__ == '__main__':`) that
#   writes two input files, a.txt and b.txt (250,000 lines in all drawn from 3,000 distinct
#   ones by random.Random(2020); the script is meant for a corpus's files given on the
#   command line), in the current directory and sets `sys.argv[1:] = ['a.txt', 'b.txt']`.
# The unique lines come in imap_unordered's order, which varies between runs.
# compat: sort-lines stdout

# -- added for the corpus: the input files the script is given on the command line --
if __name__ == '__main__':
    import random as _random, sys as _sys
    _rng = _random.Random(2020)
    for _name, _count in (('a.txt', 150000), ('b.txt', 100000)):
        with open(_name, 'w') as _f:
            for _ in range(_count):
                _f.write('sentence number %d of the corpus\n' % _rng.randrange(3000))
    _sys.argv[1:] = ['a.txt', 'b.txt']
# -- the program, verbatim --
#!/usr/bin/python3
# Copyright (c) Facebook, Inc. and its affiliates.
#
# This source code is licensed under the MIT license found in the
# LICENSE file in the root directory of this source tree.

import argparse
import fileinput
import hashlib
import sys
from multiprocessing import Pool


def get_hashes_and_lines(raw_line):
    hash = hashlib.md5(raw_line).hexdigest()
    return hash, raw_line


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=10)
    parser.add_argument("files", nargs="*", help="input files")
    args = parser.parse_args()

    seen = set()
    with fileinput.input(args.files, mode="rb") as h:
        pool = Pool(args.workers)
        results = pool.imap_unordered(get_hashes_and_lines, h, 1000)
        for i, (hash, raw_line) in enumerate(results):
            if hash not in seen:
                seen.add(hash)
                sys.stdout.buffer.write(raw_line)
            if i % 1000000 == 0:
                print(i, file=sys.stderr, end="", flush=True)
            elif i % 100000 == 0:
                print(".", file=sys.stderr, end="", flush=True)
    print(file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
