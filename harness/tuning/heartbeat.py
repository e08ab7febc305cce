"""Heartbeats for trials in a journal file: a killed trial is found and marked failed.

Optuna's ``JournalStorage`` (the one storage safe on a shared file system without a database)
has no heartbeat of its own (Optuna 4-5 give one to ``RDBStorage`` only), so a process killed
mid-trial would leave it RUNNING for ever. Each trial here records the time every
``interval`` seconds (a system attribute in the journal); when a study starts, a RUNNING trial
whose last beat is older than ``grace`` is marked FAIL. Finished trials are never touched.
"""

from __future__ import annotations

import threading
import time

HEARTBEAT = "heartbeat"  # the trial's system attribute holding its last beat (UNIX seconds)


class Heartbeat:
    """Beats for one running trial from a daemon thread, until closed."""

    def __init__(self, storage, trial_id: int, interval: float):
        self.storage, self.trial_id, self.interval = storage, trial_id, interval
        self._stop = threading.Event()
        self._beat()
        self._thread = threading.Thread(target=self._run, name="tune-heartbeat", daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        self.storage.set_trial_system_attr(self.trial_id, HEARTBEAT, time.time())

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self._beat()
            except Exception:  # noqa: BLE001 - the trial finished meanwhile: nothing to beat
                return

    def close(self) -> None:
        self._stop.set()
        self._thread.join()

    def __enter__(self) -> Heartbeat:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def fail_stale_trials(study, grace: float, now: float | None = None) -> list[int]:
    """Mark FAIL each RUNNING trial not heard from for ``grace`` seconds; their numbers."""
    from optuna.trial import TrialState

    now = time.time() if now is None else now
    failed = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        last = trial.system_attrs.get(HEARTBEAT)
        if last is None and trial.datetime_start is not None:
            last = trial.datetime_start.timestamp()
        if last is not None and now - float(last) > grace:
            study._storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
            failed.append(trial.number)
    return failed
