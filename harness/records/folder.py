"""A run folder as one object: the only code that spells the files of a run.

```
<workdir>/runs/<run_id>/
  config.json              what was asked: a run's RunConfig, or a derived run's recipe
  run.json                 provenance (``harness.records.info.RunInfo``): kind (trained /
                           derived), baseline, split, data set and fingerprint, features,
                           training seed and recipe, version, git commit, seconds, sources
  split.json               the train and validation names
  epochs.csv               per-epoch training log (trained runs)
  last.pt                  training state while a run trains (gone once it finished)
  checkpoint.pt            best model, a state dict (trained runs)
  predictions/{val,test}/<name>.txt   per-video predictions, header + one line per frame
                           (EXPR labels; VA/AU in the task's annotation format: values, 0/1)
  logits/{val,test}.npz    per-frame outputs (float16) in frame order, names, offsets, flags;
                           task.output_size columns (EXPR/AU logits, VA values after tanh)
  per_video_confusion.npz  EXPR: (names, cms[n, 8, 8]) for bootstraps that resample videos
  per_video_stats.npz      VA/AU: names, task and the task's per-video statistics (VAStats'
                           CCC sums, AUStats' tp/fp/fn), for the same bootstraps
  confusion.png, per_class_f1.png     EXPR's plots
  scores.png               VA/AU: the task's figures (CCC per dimension, F1 per AU) and mean
  sweep.csv, sweep.png     derived runs with --sweep: macro F1 per filter and window
  timelines/{val,test}/<name>.png   derived runs: truth, raw and post-processed labels over time
  metrics.json             figures only (scores of the validation part), written last: it
                           marks the run finished
```

A run that was not trained (smoothed or ensembled predictions of other runs) is a run folder
too, with ``kind: derived`` in ``run.json``, its sources, and no checkpoint; everything that
reads runs (submit, leaderboard, bootstrap) treats both alike. Torch is imported only by the
methods that read or write model weights, so reading runs never loads it.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from harness.atomic import atomic_open, write_json, write_text
from harness.errors import HarnessError, reading
from harness.paths import safe_child
from harness.records.evaluation import (
    load_per_video_confusion,
    load_per_video_stats,
    save_per_video_confusion,
    save_per_video_stats,
)
from harness.records.info import RunInfo
from harness.records.outputs import FrameOutputs
from harness.tasks import Task, get_task

RUNS_DIR = "runs"
CONFIG, INFO, SPLIT, HISTORY = "config.json", "run.json", "split.json", "epochs.csv"
STATE, CHECKPOINT, METRICS = "last.pt", "checkpoint.pt", "metrics.json"
PREDICTIONS, LOGITS, PER_VIDEO = "predictions", "logits", "per_video_confusion.npz"
CONFUSION_PLOT, PER_CLASS_PLOT = "confusion.png", "per_class_f1.png"
PER_VIDEO_STATS, SCORES_PLOT = "per_video_stats.npz", "scores.png"
SWEEP_TABLE, SWEEP_PLOT, TIMELINES = "sweep.csv", "sweep.png", "timelines"
#: Every file and folder name a run folder may hold (the tests check nothing else spells them).
FILE_NAMES: tuple[str, ...] = (
    CONFIG, INFO, SPLIT, HISTORY, STATE, CHECKPOINT, METRICS, PREDICTIONS, LOGITS, PER_VIDEO,
    CONFUSION_PLOT, PER_CLASS_PLOT, SWEEP_TABLE, SWEEP_PLOT, TIMELINES, PER_VIDEO_STATS,
    SCORES_PLOT)
PARTS = ("val", "test")
#: What to do about a damaged file of a finished run.
_REDO = "copy the run folder again, or re-run it"


class RunFolder:
    """Reads and writes one run folder; see the module docstring for its files."""

    def __init__(self, path: Path):
        self.path = Path(path)

    @classmethod
    def create(cls, workdir: Path, run_id: str) -> RunFolder:
        path = safe_child(Path(workdir) / RUNS_DIR, run_id)
        path.mkdir(parents=True, exist_ok=False)
        return cls(path)

    @classmethod
    def open(cls, workdir: Path, run: str) -> RunFolder:
        """A finished run from its folder path or its id under ``workdir/runs``."""
        path = Path(run)
        if not path.is_dir():
            path = safe_child(Path(workdir) / RUNS_DIR, run)
        folder = cls(path)
        if not folder.is_finished:
            raise HarnessError(f"{path} is not a finished run folder (no {METRICS})")
        return folder

    @staticmethod
    def runs_dir(workdir: Path) -> Path:
        return Path(workdir) / RUNS_DIR

    @property
    def run_id(self) -> str:
        return self.path.name

    @property
    def is_finished(self) -> bool:
        return (self.path / METRICS).is_file()

    # ------------------------------------------------------------------ records

    def write_config(self, config: Mapping) -> None:
        write_json(self.path / CONFIG, config)

    def write_split(self, split: Mapping) -> None:
        write_json(self.path / SPLIT, split)

    def write_info(self, info: RunInfo) -> None:
        write_json(self.path / INFO, info.to_dict())

    def config(self) -> dict:
        return self._json(CONFIG)

    def split(self) -> dict:
        return self._json(SPLIT)

    def info(self) -> RunInfo:
        d = self._json(INFO)
        with reading(self.path / INFO, _REDO):
            return RunInfo.from_dict(d)

    @property
    def task(self) -> Task:
        """The run's task (``run.json``'s; EXPR for a run without one, or not yet finished)."""
        if not (self.path / INFO).is_file():
            return get_task(None)
        return get_task(self.info().task)

    def metrics(self) -> Any:
        """The task's scores (EXPR ``Scores``, VA ``VAScores``, AU ``AUScores``)."""
        task = self.task
        d = self._json(METRICS)
        with reading(self.path / METRICS, _REDO):
            return task.scores_from_dict(d)

    def mark_finished(self, scores: Any) -> None:
        """Write ``metrics.json`` (figures only: a re-run writes the same bytes) last, since it
        marks the run finished, and drop the training state."""
        write_json(self.path / METRICS, scores.to_dict())
        self.state_file.unlink(missing_ok=True)

    def _json(self, name: str) -> dict:
        path = self.path / name
        if not path.is_file():
            raise HarnessError(f"{self.path}: no {name}")
        with reading(path, _REDO):
            d = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(d, dict):
            raise HarnessError(f"{path}: damaged or unreadable (not a JSON object); {_REDO}")
        return d

    # ------------------------------------------------------------------ training

    @property
    def state_file(self) -> Path:
        """The per-epoch training state (``harness.train.TrainState``) of a run in progress."""
        return self.path / STATE

    def write_history(self, history: list[dict]) -> None:
        from harness.train import history_csv  # torch: only where a run trains

        if history:
            write_text(self.path / HISTORY, history_csv(history))

    def write_checkpoint(self, state_dict: Mapping[str, Any]) -> None:
        import torch

        with atomic_open(self.path / CHECKPOINT, "wb") as fh:
            torch.save(dict(state_dict), fh)

    def checkpoint(self) -> dict[str, Any]:
        """The model's state dict (tensors), read with ``weights_only``."""
        import torch

        path = self.path / CHECKPOINT
        if not path.is_file():
            raise HarnessError(f"{self.path} has no {CHECKPOINT} (a derived run has no model)")
        with reading(path, _REDO):
            return torch.load(path, map_location="cpu", weights_only=True)

    # ------------------------------------------------------------------ outputs

    def write_outputs(self, part: str, outputs: FrameOutputs, task: Task | str | None = None
                      ) -> dict[str, np.ndarray]:
        """Per-video prediction files and the outputs file of ``part``; returns the per-video
        predictions (``task.decisions``: EXPR labels, VA values, AU 0/1)."""
        task = get_task(task)
        if outputs.width != task.output_size:
            raise HarnessError(f"{part} outputs have {outputs.width} columns; task "
                               f"{task.name!r} has {task.output_size}")
        if task.classification:
            from submissions import write_prediction_folder

            labels = outputs.labels()
            write_prediction_folder(self._part_dir(PREDICTIONS, part), labels)
        else:
            labels = outputs.decisions(task)
            folder = self._part_dir(PREDICTIONS, part)
            targets = {n: safe_child(folder, f"{n}.txt") for n in labels}
            folder.mkdir(parents=True, exist_ok=True)
            for name, path in targets.items():
                write_text(path, task.annotation_text(labels[name]))
        with atomic_open(self._part_dir(LOGITS, part).with_suffix(".npz"), "wb") as fh:
            np.savez(fh, names=np.array(outputs.names, dtype=str), offsets=outputs.offsets,
                     logits=outputs.logits.astype(np.float16), imputed=outputs.imputed)
        return labels

    def has_outputs(self, part: str) -> bool:
        return self._part_dir(PREDICTIONS, part).is_dir()

    def predictions(self, part: str) -> dict[str, np.ndarray]:
        """Predictions of frames 1..n per name, read from the per-video files (EXPR labels;
        VA/AU arrays as the task's reader returns them)."""
        folder = self._part_dir(PREDICTIONS, part)
        if not folder.is_dir():
            raise HarnessError(f"{self.path} has no {part} predictions")
        task = self.task
        if task.classification:
            from submissions import read_prediction_folder

            return read_prediction_folder(folder)
        files = sorted(p for p in folder.iterdir() if p.suffix == ".txt" and p.is_file())
        return dict(zip((p.stem for p in files), task.read_files(files)))

    def has_logits(self, part: str) -> bool:
        return self._part_dir(LOGITS, part).with_suffix(".npz").is_file()

    def outputs(self, part: str) -> FrameOutputs:
        """The saved per-frame outputs of ``part`` (as float32; ``task.output_size`` columns)."""
        path = self._part_dir(LOGITS, part).with_suffix(".npz")
        if not path.is_file():
            raise HarnessError(f"{self.path} has no saved {part} logits: it was made before "
                               "logits were kept; re-run it to enable post-processing")
        with reading(path, _REDO), np.load(path, allow_pickle=False) as z:
            out = FrameOutputs(tuple(str(n) for n in z["names"]), z["offsets"].astype(np.int64),
                               z["logits"].astype(np.float32), z["imputed"].astype(bool))
        rows = int(out.offsets[-1]) if out.offsets.size else 0
        if (out.offsets.size != len(out.names) + 1
                or out.logits.shape != (rows, self.task.output_size)
                or out.imputed.shape != (rows,)):
            raise HarnessError(f"{path}: damaged or unreadable ({len(out.names)} names, "
                               f"offsets {out.offsets.shape}, logits {out.logits.shape}); "
                               f"{_REDO}")
        return out

    def _part_dir(self, kind: str, part: str) -> Path:
        if part not in PARTS:
            raise HarnessError(f"unknown part {part!r}; choose one of {', '.join(PARTS)}")
        return self.path / kind / part

    # ------------------------------------------------------------------ evaluation and plots

    def write_per_video_confusion(self, names: Sequence[str], cms: np.ndarray) -> None:
        save_per_video_confusion(self.path / PER_VIDEO, names, cms)

    def has_per_video_confusion(self) -> bool:
        return (self.path / PER_VIDEO).is_file()

    def per_video_confusion(self) -> tuple[list[str], np.ndarray]:
        """Video names and their confusion matrices: what the leaderboard's bootstraps
        resample."""
        return load_per_video_confusion(self.path / PER_VIDEO)

    def write_per_video_stats(self, names: Sequence[str], task: Task, stats: Any) -> None:
        save_per_video_stats(self.path / PER_VIDEO_STATS, names, task, stats)

    def has_per_video_stats(self) -> bool:
        """Whether the run keeps per-video statistics (either file: EXPR's or VA/AU's)."""
        return (self.path / PER_VIDEO).is_file() or (self.path / PER_VIDEO_STATS).is_file()

    def per_video_stats(self) -> tuple[list[str], Any]:
        """Video names and the run's per-video statistics, for any task: EXPR's ``ExprStats``
        (its confusions), VA's ``VAStats``, AU's ``AUStats``; each has ``scores(weights)``."""
        if (self.path / PER_VIDEO_STATS).is_file():  # the file names its task
            return load_per_video_stats(self.path / PER_VIDEO_STATS)
        names, cms = self.per_video_confusion()
        return names, get_task(None).stats_from_arrays({"cms": cms})

    @property
    def scores_plot(self) -> Path:
        """A VA/AU run's plot of its figures."""
        return self.path / SCORES_PLOT

    @property
    def plot_files(self) -> tuple[Path, Path]:
        """The run's confusion-matrix plot and its per-class F1 plot."""
        return self.path / CONFUSION_PLOT, self.path / PER_CLASS_PLOT

    @property
    def sweep_files(self) -> tuple[Path, Path]:
        """The sweep's table (CSV) and its plot."""
        return self.path / SWEEP_TABLE, self.path / SWEEP_PLOT

    def timeline_path(self, part: str, name: str) -> Path:
        """Where the timeline plot of one video goes (``timelines/<part>/<name>.png``)."""
        return safe_child(self._part_dir(TIMELINES, part), f"{name}.png")

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
