"""A run folder as one object: the only code that knows the files of a run.

```
<workdir>/runs/<run_id>/
  config.json              what was asked: a run's RunConfig, or a derived run's recipe
  run.json                 provenance: kind (trained / derived), baseline, split, data set and
                           fingerprint, features, training seed and recipe (the config hash
                           but the seed), version, git commit, seconds, sources
  split.json               the train and validation names
  epochs.csv               per-epoch training log (trained runs)
  last.pt                  training state while a run trains (gone once it finished)
  checkpoint.pt            best model, a state dict (trained runs)
  predictions/{val,test}/<name>.txt   per-video labels, header + one label per frame
  logits/{val,test}.npz    per-frame logits (float16) in frame order, names, offsets, flags
  per_video_confusion.npz  (names, cms[n, 8, 8]) for bootstraps that resample videos
  confusion.png, per_class_f1.png
  sweep.csv, sweep.png     derived runs with --sweep: macro F1 per filter and window
  timelines/{val,test}/<name>.png   derived runs: truth, raw and post-processed labels over time
  metrics.json             written last: marks the run finished
```

A run that was not trained (smoothed or ensembled predictions of other runs) is a run folder
too, with ``kind: derived`` and its sources in ``run.json`` and no checkpoint; everything that
reads runs (submit, leaderboard, bootstrap) treats both alike.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from harness.atomic import atomic_open, write_json, write_text
from harness.data.labels import NUM_CLASSES
from harness.errors import HarnessError, reading
from harness.metrics import Scores, confusion_matrix, scores_from_confusion
from harness.paths import safe_child
from harness.train import history_csv
from leaderboard.queries import PER_VIDEO_FILE

RUNS_DIR = "runs"
CONFIG, INFO, SPLIT, HISTORY = "config.json", "run.json", "split.json", "epochs.csv"
STATE, CHECKPOINT, METRICS = "last.pt", "checkpoint.pt", "metrics.json"
PREDICTIONS, LOGITS = "predictions", "logits"
CONFUSION_PLOT, PER_CLASS_PLOT = "confusion.png", "per_class_f1.png"
SWEEP_TABLE, SWEEP_PLOT, TIMELINES = "sweep.csv", "sweep.png", "timelines"
PARTS = ("val", "test")
#: What to do about a damaged file of a finished run.
_REDO = "copy the run folder again, or re-run it"


@dataclass(frozen=True)
class FrameOutputs:
    """Per-frame logits of one part: name ``names[i]`` holds rows ``offsets[i]:offsets[i+1]``,
    its frames 1..n in order. ``imputed`` marks frames whose face was copied from a neighbour."""

    names: tuple[str, ...]
    offsets: np.ndarray  # (n_names + 1,) int64
    logits: np.ndarray  # (frames, 8) float32
    imputed: np.ndarray  # (frames,) bool

    @classmethod
    def from_frames(cls, names: list[str], name_idx: np.ndarray, frames: np.ndarray,
                    logits: np.ndarray, imputed: np.ndarray) -> FrameOutputs:
        """Reorder rows given as (name index, 1-based frame) to name-major frame order."""
        order = np.lexsort((frames, name_idx))
        counts = np.bincount(name_idx, minlength=len(names))
        offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
        sorted_frames = frames[order]
        for i, name in enumerate(names):
            got = sorted_frames[offsets[i]:offsets[i + 1]]
            if not np.array_equal(got, np.arange(1, got.size + 1)):
                raise HarnessError(f"{name}: outputs do not cover frames 1..{got.size} once each")
        return cls(tuple(names), offsets, np.asarray(logits[order], np.float32),
                   np.asarray(imputed[order], bool))

    def labels(self) -> dict[str, np.ndarray]:
        """Argmax labels of frames 1..n per name."""
        pred = self.logits.argmax(1)
        return {n: pred[self.offsets[i]:self.offsets[i + 1]] for i, n in enumerate(self.names)}

    def rows(self, name: str) -> slice:
        """The rows of ``name`` (frames 1..n)."""
        try:
            return self._slices()[name]
        except KeyError:
            raise HarnessError(f"no outputs for {name!r}") from None

    def _slices(self) -> dict[str, slice]:
        o = self.offsets
        return {n: slice(int(o[i]), int(o[i + 1])) for i, n in enumerate(self.names)}

    def select(self, names: Sequence[str]) -> FrameOutputs:
        """The outputs of ``names`` only, in that order."""
        return FrameOutputs.concat([self], names)

    @staticmethod
    def concat(parts: Sequence[FrameOutputs], names: Sequence[str]) -> FrameOutputs:
        """``names`` in that order, each taken from the first part that holds it."""
        where: dict[str, tuple[FrameOutputs, slice]] = {}
        for part in reversed(parts):
            where.update({n: (part, s) for n, s in part._slices().items()})
        missing = [n for n in names if n not in where]
        if missing:
            raise HarnessError(f"no outputs for {missing[0]!r}")
        picked = [where[n] for n in names]
        counts = [s.stop - s.start for _, s in picked]
        offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
        logits = [p.logits[s] for p, s in picked] or [np.zeros((0, NUM_CLASSES), np.float32)]
        imputed = [p.imputed[s] for p, s in picked] or [np.zeros(0, bool)]
        return FrameOutputs(tuple(names), offsets, np.concatenate(logits),
                            np.concatenate(imputed))


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

    def write_info(self, info: Mapping) -> None:
        write_json(self.path / INFO, info)

    def config(self) -> dict:
        return self._json(CONFIG)

    def split(self) -> dict:
        return self._json(SPLIT)

    def info(self) -> dict:
        return self._json(INFO)

    def metrics(self) -> Scores:
        d = self._json(METRICS)
        with reading(self.path / METRICS, _REDO):
            return Scores(tuple(d["per_class_f1"]), d["accuracy"], d["macro_f1"],
                          tuple(tuple(r) for r in d["confusion"]), d["n_frames"])

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
        if history:
            write_text(self.path / HISTORY, history_csv(history))

    def write_checkpoint(self, state_dict: Mapping[str, torch.Tensor]) -> None:
        with atomic_open(self.path / CHECKPOINT, "wb") as fh:
            torch.save(dict(state_dict), fh)

    def checkpoint(self) -> dict[str, torch.Tensor]:
        path = self.path / CHECKPOINT
        if not path.is_file():
            raise HarnessError(f"{self.path} has no {CHECKPOINT} (a derived run has no model)")
        with reading(path, _REDO):
            return torch.load(path, map_location="cpu", weights_only=True)

    # ------------------------------------------------------------------ outputs

    def write_outputs(self, part: str, outputs: FrameOutputs) -> dict[str, np.ndarray]:
        """Per-video label files and the logits file of ``part``; returns the labels."""
        from submissions import write_prediction_folder

        labels = outputs.labels()
        write_prediction_folder(self._part_dir(PREDICTIONS, part), labels)
        with atomic_open(self._part_dir(LOGITS, part).with_suffix(".npz"), "wb") as fh:
            np.savez(fh, names=np.array(outputs.names, dtype=str), offsets=outputs.offsets,
                     logits=outputs.logits.astype(np.float16), imputed=outputs.imputed)
        return labels

    def has_outputs(self, part: str) -> bool:
        return self._part_dir(PREDICTIONS, part).is_dir()

    def predictions(self, part: str) -> dict[str, np.ndarray]:
        """Labels of frames 1..n per name, read from the per-video files."""
        from submissions import read_prediction_folder

        folder = self._part_dir(PREDICTIONS, part)
        if not folder.is_dir():
            raise HarnessError(f"{self.path} has no {part} predictions")
        return read_prediction_folder(folder)

    def has_logits(self, part: str) -> bool:
        return self._part_dir(LOGITS, part).with_suffix(".npz").is_file()

    def outputs(self, part: str) -> FrameOutputs:
        """The saved per-frame logits of ``part`` (as float32)."""
        path = self._part_dir(LOGITS, part).with_suffix(".npz")
        if not path.is_file():
            raise HarnessError(f"{self.path} has no saved {part} logits: it was made before "
                               "logits were kept; re-run it to enable post-processing")
        with reading(path, _REDO), np.load(path, allow_pickle=False) as z:
            out = FrameOutputs(tuple(str(n) for n in z["names"]), z["offsets"].astype(np.int64),
                               z["logits"].astype(np.float32), z["imputed"].astype(bool))
        rows = int(out.offsets[-1]) if out.offsets.size else 0
        if (out.offsets.size != len(out.names) + 1 or out.logits.shape != (rows, NUM_CLASSES)
                or out.imputed.shape != (rows,)):
            raise HarnessError(f"{path}: damaged or unreadable ({len(out.names)} names, "
                               f"offsets {out.offsets.shape}, logits {out.logits.shape}); "
                               f"{_REDO}")
        return out

    def timeline_path(self, part: str, name: str) -> Path:
        """Where the timeline plot of one video goes (``timelines/<part>/<name>.png``)."""
        return safe_child(self._part_dir(TIMELINES, part), f"{name}.png")

    @property
    def sweep_files(self) -> tuple[Path, Path]:
        """The sweep's table (CSV) and its plot."""
        return self.path / SWEEP_TABLE, self.path / SWEEP_PLOT

    def _part_dir(self, kind: str, part: str) -> Path:
        if part not in PARTS:
            raise HarnessError(f"unknown part {part!r}; choose one of {', '.join(PARTS)}")
        return self.path / kind / part

    # ------------------------------------------------------------------ evaluation

    def write_evaluation(self, truth: Mapping[str, np.ndarray],
                         predictions: Mapping[str, np.ndarray], title: str) -> Scores:
        """Per-video confusions (for bootstraps), pooled scores and their plots."""
        from leaderboard.bootstrap import save_per_video_confusion
        from leaderboard.plots import plot_confusion, plot_per_class_f1

        names = list(predictions)
        cms = np.stack([confusion_matrix(truth[n], predictions[n][:truth[n].size])
                        for n in names]) if names else np.zeros((0, NUM_CLASSES, NUM_CLASSES))
        save_per_video_confusion(self.path / PER_VIDEO_FILE, names, cms)
        final = scores_from_confusion(cms.sum(axis=0))
        plot_confusion(np.array(final.confusion), self.path / CONFUSION_PLOT)
        plot_per_class_f1(final.per_class_f1, self.path / PER_CLASS_PLOT,
                          f"{title}: macro F1 {final.macro_f1:.3f}")
        return final

    def per_video_confusion(self) -> tuple[list[str], np.ndarray]:
        from leaderboard.bootstrap import load_per_video_confusion

        return load_per_video_confusion(self.path / PER_VIDEO_FILE)

    def finish(self, final: Scores) -> None:
        """Write ``metrics.json`` last (it marks the run finished) and drop the training state."""
        write_json(self.path / METRICS, final.to_dict())
        self.state_file.unlink(missing_ok=True)

    def result(self):
        """This run's leaderboard row (``leaderboard.store.Result``), from its own files."""
        from leaderboard.store import result_from_scores

        info = self.info()
        row = result_from_scores(
            self.metrics(), run_id=self.run_id, baseline=info["baseline"], split=info["split"],
            dataset=info["dataset"], config_hash=info.get("config_hash", ""),
            data_fingerprint=info.get("data_fingerprint", ""), run_dir=str(self.path),
            extra={k: info[k] for k in ("seconds", "best_epoch", "kind", "seed", "recipe")
                   if k in info},
            features=info.get("features", {}))
        return replace(row, created=info.get("finished", row.created))

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def utc_now() -> str:
    """UTC time with microseconds: "latest run" logic compares these as text."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds")
