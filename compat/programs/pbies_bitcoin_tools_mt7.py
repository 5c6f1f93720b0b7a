# Corpus program: a verbatim copy of a public program (a test input, not netpool code).
# Source: GitHub pbies/bitcoin-tools, mt-7.py (commit 975cd956ecd9b3952b52653f09b2f958a9b6751a),
#   https://github.com/pbies/bitcoin-tools/blob/975cd956ecd9b3952b52653f09b2f958a9b6751a/mt-7.py;
#   obtained from the stored copy of that repository in the code index this survey used.
#   `with Pool(processes=8) as p, tqdm(total=...) as pbar:` over imap_unordered with
#   chunksize=1000, a bell printed to stderr at the end.
# Author: pbies (the repository's owner).
# Licence: MIT (the repository's LICENSE: "MIT License, Copyright (c) 2024-2025").
# Changes: none.
# compat: progress-bars
# compat: requires tqdm

#!/usr/bin/env python3

from multiprocessing import Pool
from tqdm import tqdm
import sys

max_ = int(1e4)
th = 8

def go(i):
	pass

if __name__ == "__main__":
	with Pool(processes=th) as p, tqdm(total=max_) as pbar:
		for result in p.imap_unordered(go, range(0, max_), chunksize=1000):
			pbar.update()
			pbar.refresh()

	print('\a', end='', file=sys.stderr)
