"""``--track mlflow``: one MLflow run per harness run, in a local store unless told otherwise.

Where: the tracking URI the user set (``MLFLOW_TRACKING_URI``), else a SQLite store in the
workdir, ``sqlite:///<workdir>/mlflow.db`` (MLflow 3's preferred local backend; the file store
is deprecated there), else, where SQLAlchemy is missing, a file store ``<workdir>/mlruns``.
Artifacts of runs the harness creates go to ``<workdir>/mlartifacts`` (MLflow would otherwise
write ``./mlruns`` in the current directory). No server is started; view with
``mlflow ui --backend-store-uri sqlite:///<workdir>/mlflow.db``.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from harness.tracking.base import Tracker, flatten, register_tracker

#: The MLflow experiment harness runs are logged under.
EXPERIMENT = "abaw-harness"
DB_FILE, FILE_STORE, ARTIFACT_DIR = "mlflow.db", "mlruns", "mlartifacts"
_BATCH = 100  # MLflow's log_batch takes at most 100 params per call


def tracking_uri(workdir: Path) -> str:
    """The user's ``MLFLOW_TRACKING_URI``, else the local store in ``workdir``."""
    if os.environ.get("MLFLOW_TRACKING_URI"):
        return os.environ["MLFLOW_TRACKING_URI"]
    workdir = Path(workdir).resolve()
    if importlib.util.find_spec("sqlalchemy") is not None:
        return f"sqlite:///{workdir / DB_FILE}"
    return (workdir / FILE_STORE).as_uri()


class MlflowTracker(Tracker):
    def __init__(self, workdir: Path):
        self.workdir = Path(workdir)
        self.client, self.run_id = None, None

    def start(self, run_dir: Path, params: Mapping) -> None:
        from mlflow import MlflowClient
        from mlflow.entities import Param

        self.workdir.mkdir(parents=True, exist_ok=True)
        self.client = MlflowClient(tracking_uri=tracking_uri(self.workdir))
        found = self.client.get_experiment_by_name(EXPERIMENT)
        experiment = found.experiment_id if found is not None else self.client.create_experiment(
            EXPERIMENT, artifact_location=(self.workdir.resolve() / ARTIFACT_DIR).as_uri())
        run = self.client.create_run(experiment, run_name=run_dir.name,
                                     tags={"run_dir": str(run_dir)})
        self.run_id = run.info.run_id
        flat = [Param(k[:250], v[:6000]) for k, v in flatten(params).items()]
        for i in range(0, len(flat), _BATCH):
            self.client.log_batch(self.run_id, params=flat[i:i + _BATCH])

    def log_epoch(self, epoch: int, values: Mapping[str, float]) -> None:
        self._metrics(values, epoch)

    def log_final(self, metrics: Mapping[str, float], artifacts: Sequence[Path]) -> None:
        self._metrics(metrics, 0)
        for path in artifacts:
            self.client.log_artifact(self.run_id, str(path))

    def end(self, status: str = "FINISHED") -> None:
        if self.run_id is not None:
            self.client.set_terminated(self.run_id, status)

    def _metrics(self, values: Mapping[str, float], step: int) -> None:
        import time

        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self.client.log_batch(self.run_id, metrics=[Metric(k, float(v), now, step)
                                                    for k, v in values.items()])


@register_tracker("mlflow", requires="mlflow", extra="mlflow")
def mlflow_tracker(workdir: Path) -> Tracker:
    return MlflowTracker(workdir)
