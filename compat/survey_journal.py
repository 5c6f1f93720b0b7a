#!/usr/bin/env python
"""The corpus under ``netpool run --journal``: a survey, not part of CI.

    python compat/survey_journal.py [PROGRAM ...]

Each program (default: all of ``compat/programs/`` and ``compat/idioms/``) runs once with
``python`` and twice with ``netpool run --journal J``, the same fresh journal both times,
each run compared with python's as ``test_programs.py`` compares them:

* the *first* run with a journal must match: a run computes what it computes without one
  (docs/journal.md, "What is assumed"). A difference there is a bug, except the journal's
  own warning for a pool whose initargs cannot be pickled;
* the *replay* (the second run, every task answered from the journal) differs wherever a
  task does more than return its result: its prints, its files, its shared counters are
  not done again, and results that come at once change what timeouts see.

Printed: each program's verdict, then its differences. Runs four programs at a time.
"""

from __future__ import annotations

import concurrent.futures
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_programs as T  # noqa: E402


def survey(name: str, folder: str) -> tuple[str, list[str]]:
    prog = T.load_program(name)
    missing = T.missing_modules(prog)
    if missing:
        return "skipped (missing " + " ".join(missing) + ")", []
    runner = f"journal-{name}"
    T.RUNNERS[runner] = [sys.executable, "-m", "netpool", "run", "--journal",
                         os.path.join(folder, name + ".journal")]
    python = T.run_program(prog, "python")
    found = []
    for leg in ("first", "replay"):
        problems = T.compare(prog, {"python": python, "netpool": T.run_program(prog, runner)})
        if problems:
            found.append(f"--- {leg} run:\n" + "\n".join(problems))
    verdict = "same" if not found else "first run differs" if found[0].startswith(
        "--- first") else "replay differs"
    return verdict, found


def main() -> int:
    names = sys.argv[1:] or T.PROGRAMS
    with tempfile.TemporaryDirectory(prefix="netpool-journal-survey-") as folder, \
            concurrent.futures.ThreadPoolExecutor(4) as pool:
        verdicts: dict[str, int] = {}
        for name, (verdict, found) in zip(names, pool.map(survey, names, [folder] * len(names))):
            verdicts[verdict] = verdicts.get(verdict, 0) + 1
            print(f"=== {name}: {verdict}", flush=True)
            for text in found:
                print(text[:4000], flush=True)
    print("; ".join(f"{v}: {n}" for v, n in sorted(verdicts.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
