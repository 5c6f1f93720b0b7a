"""The ``netpool`` command: ``demo``, ``run SCRIPT``, ``doctor``, ``worker HOST:PORT``,
``status HOST:PORT``, ``journal PATH``."""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import NoReturn, Optional, Sequence

from ._runmain import (UsageError, exit_as_interrupted, interrupted, main_of_file,
                       main_of_module, run_main)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """The command; as the program itself (``argv`` None: the ``netpool`` script, ``python -m
    netpool``), a script left by an uncaught KeyboardInterrupt ends us as it ends python."""
    code = _command(list(sys.argv[1:] if argv is None else argv))
    if interrupted and argv is None:
        exit_as_interrupted()
    return code


def _command(argv: list) -> int:
    parser = _Parser(prog="netpool", description=__doc__)
    from . import __version__
    parser.add_argument("--version", action="version", version=f"netpool {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="a task farm on local workers, to see netpool work")
    demo.add_argument("--workers", type=int, default=2, help="local workers (default 2)")
    demo.add_argument("--tasks", type=int, default=12, help="tasks to run (default 12)")
    run = sub.add_parser("run", help="run a multiprocessing.Pool script on netpool",
                         usage="netpool run [--workers SPEC] [--host HOST] [--journal PATH] "
                               "[--report PATH] [--dashboard] [--[no-]progress] "
                               "(script.py | -m module) [args ...]")
    run.add_argument("--workers", metavar="SPEC", default=None, help=WORKERS_HELP)
    run.add_argument("--host", default=None,
                     help="the address or interface (e.g. ib0) workers connect back to; "
                          "default: loopback for local workers, else this machine's "
                          "network addresses, each tried in turn")
    run.add_argument("--journal", metavar="PATH", default=None, help=JOURNAL_HELP)
    run.add_argument("--report", metavar="PATH", default=None,
                     help="write an HTML report of the run to PATH when the script ends: "
                          "summary, failures by cause, a timeline of each worker's tasks "
                          "(see docs/observability.md)")
    run.add_argument("--dashboard", action="store_true",
                     help="serve the same page live on 127.0.0.1 while the script runs; its "
                          "URL, with a random token, is printed on stderr")
    run.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                     help="a live progress line on stderr (default: when stderr is a "
                          "terminal); --no-progress for none, e.g. under your own tqdm")
    run.add_argument("-m", dest="module", metavar="MODULE",
                     help="run the module MODULE as python -m does (what follows is its "
                          "arguments)")
    run.add_argument("script", nargs="?")
    run.add_argument("args", nargs=argparse.REMAINDER)
    doc = sub.add_parser("doctor", help="run one tiny task through the real launcher and say "
                                        "what was found (address, job id, time, output)")
    doc.add_argument("--workers", metavar="SPEC", default="1", help=WORKERS_HELP)
    doc.add_argument("--host", default=None, help="as for `netpool run`")
    doc.add_argument("--python", default=None,
                     help="the command that starts Python on the workers (default: this one)")
    doc.add_argument("--timeout", type=float, default=300.0,
                     help="seconds to wait for the worker to connect and run (default 300)")
    sub.add_parser("worker", help="join a running manager: netpool worker HOST:PORT",
                   add_help=False)
    from .status import add_parser as add_status_parser
    add_status_parser(sub)
    jrn = sub.add_parser("journal", help="print what a journal holds (see docs/journal.md)")
    jrn.add_argument("path")
    if argv[:1] == ["worker"]:
        from .worker.main import main as worker_main
        return worker_main(argv[1:])
    argv, module, module_args = _split_module(argv)
    args = parser.parse_args(argv)
    if args.command == "demo":
        return demo_main(args.workers, args.tasks)
    if args.command == "doctor":
        from .doctor import doctor
        try:
            return doctor(args.workers, args.host, args.timeout, args.python)
        except ValueError as exc:
            print(f"netpool doctor: error: {exc}", file=sys.stderr)
            return 2
    if args.command == "journal":
        return journal_main(args.path)
    if args.command == "status":
        from .status import main as status_main
        return status_main(args)
    try:
        if module is not None:
            args.module, args.args = module, module_args
        elif args.script is None:
            run.error("the following arguments are required: script (or -m module)")
        return run_script(args.script, args.args, args.workers, args.host, args.journal,
                          args.report, args.dashboard, args.progress, args.module)
    except UsageError as exc:
        print(f"netpool run: error: {exc}", file=sys.stderr)
        return 2


_RUN_VALUES = frozenset({"--workers", "--host", "--journal", "--report"})


def _split_module(argv: list) -> tuple[list, Optional[str], list]:
    """``run [options] -m MODULE ARGS``: (``run [options]``, MODULE, ARGS), as python takes
    whatever follows ``-m MODULE`` as the module's own, options or not; else (argv, None,
    [])."""
    if argv[:1] != ["run"]:
        return argv, None, []
    i = 1
    while i < len(argv):
        token = argv[i]
        if token.startswith("-m") and token != "-m" and not token.startswith("--"):
            return argv[:i], token[2:], argv[i + 1:]  # -mNAME, as python takes it
        if token == "-m":
            if i + 1 == len(argv):
                return argv, None, []  # argparse then says -m needs its argument
            return argv[:i], argv[i + 1], argv[i + 2:]
        if not token.startswith("-") or token == "--":
            break  # the script: what follows it is its own
        i += 2 if token in _RUN_VALUES else 1
    return argv, None, []


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line, with where to look, and exit status 2 (argparse's)."""

    def error(self, message: str) -> "NoReturn":
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


# -- netpool demo ----------------------------------------------------------------------------

def _count_primes(lo: int, hi: int) -> tuple[int, int, int]:
    """A small CPU-bound task: how many primes lie in [lo, hi)."""
    count = 0
    for n in range(max(lo, 2), hi):
        if all(n % d for d in range(2, int(n ** 0.5) + 1)):
            count += 1
    return lo, hi, count


def demo_main(workers: int, tasks: int) -> int:
    import tempfile

    from .launchers.local import LocalWorker
    from .manager import Manager

    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="netpool-demo-") as tmp:
        m = Manager(output=os.path.join(tmp, "worker%d.output"))
        for _ in range(workers):
            m.add_worker(LocalWorker())
        ctx = m.get_context()
        step = 20000
        for i in range(tasks):
            ctx.add_task(lambda lo=i * step, hi=(i + 1) * step: _count_primes(lo, hi))
        total = 0
        for lo, hi, count in ctx.get_results_unordered():
            total += count
            print(f"primes in [{lo:>7}, {hi:>7}): {count}", flush=True)
        m.close()
    print(f"netpool demo: {tasks} tasks on {workers} workers in "
          f"{time.monotonic() - start:.2f} s ({total} primes below {tasks * step})")
    return 0


# -- netpool run -----------------------------------------------------------------------------

WORKERS_HELP = """where pools get their workers, '+'-separated: N or local:N (N local workers),
ssh:HOST[,HOST...] (one worker per host; HOST may be user@host), slurm:N, slurm-step:N,
sge:N, sge-pe, pbs:N, lsf:N. A batch array takes job settings after its count, comma-separated:
slurm:8,walltime=2:00:00,memory=4G,cores=2,queue=debug,account=A,job_name=X,log=PATH,
directive=LINE,prologue=LINE (directive and prologue may repeat), options=STRING.
Default: local workers, as many as the script asks for."""

_BATCH = {"slurm": "SLURMWorkerArray", "sge": "SGEQsubWorkerArray", "pbs": "PBSWorkerArray",
          "lsf": "LSFWorkerArray"}


def parse_workers(spec: str) -> list:
    """Turn a ``--workers`` SPEC into launcher objects. Raises ValueError on a bad spec."""
    from . import launchers as L

    out: list = []
    for part in filter(None, (p.strip() for p in spec.split("+"))):
        kind, _, arg = part.partition(":")
        if kind.isdigit() and not arg:
            kind, arg = "local", kind
        try:
            if kind == "local":
                out += [L.LocalWorker() for _ in range(_positive(arg))]
            elif kind == "ssh":
                for host in filter(None, arg.split(",")):
                    user, _, name = host.rpartition("@")
                    out.append(L.SSHWorker(name, user=user or None))
            elif kind in _BATCH:
                count, _, rest = arg.partition(",")
                options, settings = _job_settings(rest)
                out.append(getattr(L, _BATCH[kind])(_positive(count), options, **settings))
            elif kind == "slurm-step":
                out.append(L.SLURMStepWorkerArray(_positive(arg) if arg else None))
            elif kind == "sge-pe":
                out.append(L.SGEPEWorkerArray())
            else:
                raise ValueError(f"unknown worker kind {kind!r}")
        except (ValueError, TypeError) as exc:
            raise ValueError(f"bad --workers part {part!r}: {exc}") from None
    if not out:
        raise ValueError(f"--workers {spec!r} names no workers")
    return out


def _job_settings(text: str) -> tuple[str, dict]:
    """``walltime=1:00:00,queue=debug,directive=A,directive=B`` -> (options, settings)."""
    from .launchers.jobs import SETTING_NAMES

    options, settings, lists = "", {}, {"directive": "directives", "prologue": "prologue"}
    for item in filter(None, text.split(",")):
        key, eq, value = item.partition("=")
        key = key.strip()
        if not eq:
            raise ValueError(f"job settings are key=value, got {item!r}")
        if key == "options":
            options = value
        elif key in lists:
            settings.setdefault(lists[key], []).append(value)
        elif key in SETTING_NAMES and key not in lists.values():
            settings[key] = int(value) if key == "cores" and value.isdigit() else value
        else:
            known = sorted({*SETTING_NAMES, *lists, "options"} - set(lists.values()))
            raise ValueError(f"unknown job setting {key!r}; known: {', '.join(known)}")
    return options, settings


def _positive(text: str) -> int:
    n = int(text)
    if n < 1:
        raise ValueError("the count must be at least 1")
    return n


JOURNAL_HELP = """keep every finished task's outcome in the file PATH; run again with the same
PATH to skip the tasks already done (see docs/journal.md). Delete PATH to start afresh."""


def run_script(script: Optional[str], args: list[str], workers: Optional[str] = None,
               host: Optional[str] = None, journal: Optional[str] = None,
               report: Optional[str] = None, dashboard: bool = False,
               progress: Optional[bool] = None, module: Optional[str] = None) -> int:
    """Run ``script`` (or with ``module``, that module as ``python -m`` does) as ``__main__``
    with every way to make a multiprocessing Pool redirected.

    With ``journal``, every pool and Manager the script makes uses that journal; with
    ``report`` and ``dashboard``, they all go into one report page (written when the script
    ends) and one live dashboard (``_runtime.reporting``); ``progress`` (None: when stderr is
    a terminal) is their default for ``progress=``. Returns the exit status python would
    have (``_runmain.run_main``). A script or module that cannot be found or read, a bad
    ``workers`` spec or journal is a ``UsageError``.
    """
    from ._redirect import redirect_pools
    from ._runtime import journaled, logsetup
    from ._runtime import progress as progress_line
    from .errors import JournalError

    if module is None:
        main, code = main_of_file(script or "")
    launchers = (lambda: parse_workers(workers)) if workers is not None else (lambda: None)
    try:
        launchers()  # a bad spec fails before the script starts
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if journal is not None:
        try:
            # A bad journal fails now, before the script starts; the pools record the runs.
            journaled.Journal(journal, register=False).close()
        except JournalError as exc:
            raise UsageError(str(exc)) from None
        journaled.set_default(journal)
    progress_line.DEFAULT = "auto" if progress is None else progress

    redirect_pools(launchers, host)
    logsetup.keep_to_itself()  # the script's logging config shows no pool lines, as there
    if module is not None:  # found after the redirection: finding it imports its packages
        main, code = main_of_module(module)
    sys.argv = [script if module is None else main.__file__, *args]
    if report is None and not dashboard:
        return run_main(main, code)
    from ._runtime import reporting
    try:
        reporting.set_run(report, dashboard)
    except OSError as exc:
        raise UsageError(f"can't start the dashboard: {exc}") from None
    try:
        return run_main(main, code)
    finally:
        reporting.end_run()


# -- netpool journal ---------------------------------------------------------------------

def journal_main(path: str) -> int:
    """Print what the journal at ``path`` holds; 2 (and a message) if it cannot be read."""
    from ._runtime.journal import Journal
    from .errors import JournalError

    try:
        j = Journal(path, readonly=True)
    except JournalError as exc:
        print(f"netpool journal: {exc}", file=sys.stderr)
        return 2
    try:
        print(format_summary(j.summary()))
    finally:
        j.close()
    return 0


def format_summary(s: dict) -> str:
    def when(t: Optional[float]) -> str:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) if t else "-"

    lines = [f"journal {s['path']} (format {s['format']}, {_size(s['file_bytes'])} on disk)",
             f"tasks: {s['done']} done, {s['failed']} failed (raised), "
             f"{_size(s['result_bytes'])} of outcomes"]
    lines.append(f"runs: {len(s['runs'])}")
    for rid, program, argv, host, pid, started, ended, n in s["runs"]:
        end = when(ended) if ended else "did not finish (killed, or still running)"
        lines.append(f"  #{rid} {when(started)} .. {end}: {n} outcomes kept; {program} "
                     f"(pid {pid} on {host}; argv: {argv})")
    if s["names"]:
        lines.append("by function:")
        for name, done, failed in s["names"]:
            lines.append(f"  {name}: {done} done, {failed} failed")
    return "\n".join(lines)


def _size(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} bytes"


if __name__ == "__main__":
    sys.exit(main())
