"""Reports and dashboards of pools and managers: when the page is drawn, and from what.

A ``Reporting`` belongs to one ``DistributedPool`` or ``Manager`` (``start`` makes it when a
report, a dashboard or ``netpool run --report/--dashboard`` asks for one). Its runtime is
``attach``-ed when it exists (a Manager starts its runtime late), which turns the timeline
recorder on. ``finish`` (the pool joined or terminated, the manager closed, the
with-block left; at interpreter exit for the others) freezes the pool's last snapshot,
writes the report file and stops the dashboard. ``finish`` runs on the caller's thread;
called on the loop thread (a callback terminating the pool), it leaves the work to a
thread that waits for the runtime to end.

``netpool run`` sets a ``Run`` with ``set_run``: every pool and manager the script makes
then joins it, and ``end_run`` writes one page with a section for each (the last
``MAX_SECTIONS``), at the script's end.
"""

from __future__ import annotations

import atexit
import logging
import threading
from typing import Any, Optional

from .stats import empty_snapshot

log = logging.getLogger("netpool")

MAX_SECTIONS = 20  # sections one `netpool run` page keeps (the latest pools)

_unfinished: "set[Reporting]" = set()  # strong: a dropped pool still gets its report


class Run:
    """What ``netpool run --report PATH --dashboard`` collects: every pool of the script."""

    def __init__(self, path: Optional[str], dashboard: bool) -> None:
        self.path = path
        self.members: list[Reporting] = []
        self.dropped = 0
        self.made = 0
        self._lock = threading.Lock()
        self.dashboard = _dashboard(self.page) if dashboard else None

    def add(self, member: "Reporting") -> None:
        with self._lock:
            self.made += 1
            member.title = f"{member.title} #{self.made}"  # in the order the script made them
            self.members.append(member)
            if len(self.members) > MAX_SECTIONS:
                self.members.pop(0)
                self.dropped += 1

    def page(self) -> tuple[list[dict], int]:
        with self._lock:
            members, dropped = list(self.members), self.dropped
        return [m.section() for m in members], dropped

    def end(self) -> None:
        for m in list(self.members):
            m.finish()
        if self.path is not None:
            sections, dropped = self.page()
            _write(self.path, sections, dropped)
        if self.dashboard is not None:
            self.dashboard.close()


_run: Optional[Run] = None


def set_run(path: Optional[str], dashboard: bool) -> Optional[Run]:
    """``netpool run``: collect every pool the script makes (None, None: nothing to do).

    Raises ``OSError`` if the dashboard cannot listen."""
    global _run
    _run = Run(path, dashboard) if path is not None or dashboard else None
    return _run


def end_run() -> None:
    """``netpool run``, after the script: write its page, stop its dashboard."""
    global _run
    run, _run = _run, None
    if run is not None:
        run.end()


class Reporting:
    """One pool's or manager's report file and dashboard (thread-safe)."""

    def __init__(self, title: str, path: Optional[str], dashboard: bool) -> None:
        self.title, self.path = title, path
        self._rt: Any = None
        self._frozen: Optional[dict] = None  # the last section, once finished
        self._lock = threading.Lock()
        self.dashboard = _dashboard(lambda: ([self.section()], 0)) if dashboard else None
        _unfinished.add(self)
        if _run is not None:
            _run.add(self)

    def attach(self, rt: Any) -> None:
        """Its runtime now exists: record its timeline from now on."""
        rt.record_timeline()
        self._rt = rt

    def section(self) -> dict:
        """What ``report.render`` draws for it, now (its final state once finished)."""
        if self._frozen is not None:
            return self._frozen
        rt = self._rt
        if rt is None:
            return {"title": self.title, "stats": empty_snapshot(), "timeline": None}
        return {"title": self.title, "stats": rt.stats(), "timeline": rt.timeline()}

    def finish(self) -> None:
        """Freeze its last snapshot, write its file, stop its dashboard; once (idempotent).

        A report that cannot be written is logged (a WARNING), never raised: the work the
        pool did is not lost for it."""
        rt = self._rt
        if rt is not None and rt.alive and rt.on_loop_thread():
            threading.Thread(target=self._finish_after, args=(rt,), daemon=True,
                             name="netpool-report").start()
            return
        with self._lock:
            if self._frozen is not None:
                return
            self._frozen = self.section()
            self._rt = None  # a finished pool's runtime is not kept alive by its report
        _unfinished.discard(self)
        if self.path is not None:
            _write(self.path, [self._frozen], 0)
        if self.dashboard is not None:
            self.dashboard.close()

    def at_exit(self) -> None:
        """At interpreter exit: stop its runtime as the loop's own exit hook does (whichever
        runs first), so that the report shows how the run ended, then finish."""
        rt = self._rt
        if rt is not None and rt.alive:
            rt.terminate(wait=1.0)
        self.finish()

    def _finish_after(self, rt: Any) -> None:
        rt.join(30.0)
        self.finish()


def dashboard_url(reporting: Optional[Reporting]) -> Optional[str]:
    """The live dashboard's address, token included, if ``reporting`` serves one."""
    if reporting is None or reporting.dashboard is None:
        return None
    return reporting.dashboard.url


def start(title: str, path: Optional[str], dashboard: bool) -> Optional[Reporting]:
    """A ``Reporting`` if anything asks for one, else None. Raises ``TypeError`` for a
    ``path`` that is not a string, ``OSError`` if the dashboard cannot listen."""
    if path is not None and not isinstance(path, str):
        import os
        path = os.fspath(path)  # TypeError for what is no path at all
    if path is None and not dashboard and _run is None:
        return None
    return Reporting(title, path, bool(dashboard))


def _dashboard(page: Any) -> Any:
    from .dashboard import Dashboard  # http.server only for those who ask for it
    return Dashboard(page)


def _write(path: str, sections: list[dict], dropped: int) -> None:
    from .. import report  # html and the page's template: for those who ask for a report
    try:
        report.write(path, sections, dropped=dropped)
    except OSError as exc:
        log.warning("netpool: could not write the report %s: %s", path, exc)


@atexit.register
def _finish_all() -> None:
    """Pools never joined nor terminated get their report at interpreter exit."""
    for r in list(_unfinished):
        try:
            r.at_exit()
        except Exception:  # at exit, one report must not keep the others from being written
            log.exception("netpool: writing a report at exit failed")
