# Corpus program: a verbatim copy of a public program (a test input, not netpool code).
# Source: flake8 7.5.0, src/flake8/__main__.py (https://github.com/PyCQA/flake8, same
#   path), what `python -m flake8` runs; obtained with
#   `pip download --no-binary :all: flake8==7.5.0`.
# Author: Tarek Ziade, Ian Stapleton Cordasco and the flake8 contributors (PyCQA).
# Licence: MIT (flake8's LICENSE).
# Changes: above the import, four files with style errors written to the working directory
#   and `sys.argv[1:]` set to `-j 2` and their names (what a user types after
#   `python -m flake8`).
# The Pool is flake8's (src/flake8/checker.py): `multiprocessing.Pool(jobs, _mp_init,
# initargs=(argv,))` made while a module global holds the parsed plugins (forked workers
# inherit it; the initializer ignores SIGINT and parses argv again only where it is
# missing), `list(pool.imap_unordered(_mp_run, filenames))`, close() + join(), and
# terminate() + join() in a `finally` if anything failed; results sorted by file in the
# parent, exit status 1 for the errors found.
# compat: requires flake8

"""Module allowing for ``python -m flake8 ...``."""
from __future__ import annotations

import sys
for _i in range(4):
    with open("mod%d.py" % _i, "w") as _f:
        _f.write("import os\nx=1\ndef f( a ):\n    return a  \n" * (_i + 1))
sys.argv[1:] = ["-j", "2", "mod0.py", "mod1.py", "mod2.py", "mod3.py"]

from flake8.main.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
