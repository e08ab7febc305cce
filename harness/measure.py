"""Wall time and peak anonymous memory of each stage of a run, written into ``run.json``.

Anonymous memory (``RssAnon`` in ``/proc/self/status``) is what a process cannot give back to a
file: arrays, tensors, Python objects. Memory-mapped feature tables add file-backed pages
(``RssFile``) that the kernel drops under pressure, so RssAnon is the figure that must stay
bounded at real scale, and the one recorded here. Linux only; elsewhere the memory fields are
None and the times are still kept.

A background thread samples RssAnon every ``interval_s`` (20 ms), so a spike shorter than that
can be missed: the figures are close lower bounds of the true peaks.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

_STATUS = Path("/proc/self/status")


def rss_anon_mb() -> float | None:
    """This process's anonymous resident memory now, in MiB (None where not Linux)."""
    try:
        with open(_STATUS, "rb") as fh:
            for line in fh:
                if line.startswith(b"RssAnon:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


class StageClock:
    """Records ``{"stage", "seconds", "peak_rss_anon_mb"}`` per ``with clock.stage(name):``.

    >>> clock = StageClock()
    >>> with clock.stage("windows"):
    ...     pass
    >>> clock.records[0]["stage"]
    'windows'
    """

    def __init__(self, interval_s: float = 0.02):
        self.records: list[dict] = []
        self.interval_s = interval_s
        self._peak: float | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        self._start_sampler()
        with self._lock:
            self._peak = rss_anon_mb()
        start = time.perf_counter()
        try:
            yield
        finally:
            seconds = time.perf_counter() - start
            self._sample()
            with self._lock:
                peak = self._peak
            self.records.append({"stage": name, "seconds": round(seconds, 3),
                                 "peak_rss_anon_mb": None if peak is None else round(peak, 1)})

    def peak_mb(self) -> float | None:
        """The highest peak over every stage recorded."""
        peaks = [r["peak_rss_anon_mb"] for r in self.records if r["peak_rss_anon_mb"] is not None]
        return max(peaks) if peaks else None

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _start_sampler(self) -> None:
        if self._thread is None and rss_anon_mb() is not None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="rss-anon", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._sample()

    def _sample(self) -> None:
        now = rss_anon_mb()
        if now is None:
            return
        with self._lock:
            self._peak = now if self._peak is None else max(self._peak, now)


def stage(clock: StageClock | None, name: str) -> contextlib.AbstractContextManager:
    """``clock.stage(name)``, or nothing when there is no clock."""
    return clock.stage(name) if clock is not None else contextlib.nullcontext()
