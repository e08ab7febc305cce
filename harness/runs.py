"""``harness run``: every stage a baseline needs, reusing cached ones, into one run folder.

Stages: load the release -> split -> stage-1 face model (cached per split) -> features of the
modalities the baseline declares (cached) -> windows -> train with the one trainer (or, for a
baseline that ``trains=False``, take its weights from stage 1) -> validation metrics and
predictions for every frame -> test predictions for every template frame -> run folder ->
one row in the leaderboard store.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from baselines import count_parameters, create_baseline, get_baseline
from harness import __version__
from harness.atomic import atomic_open, write_json, write_text
from harness.console import err
from harness.data.release import Release, load_release
from harness.data.splits import FOLD_SEED, SPLIT_NAMES, get_split
from harness.device import seed_everything
from harness.errors import HarnessError
from harness.features.cache import config_hash
from harness.features.extract import FeatureConfig, all_names, extract_all
from harness.features.face import load_face_model
from harness.features.windows import WindowSet, build_windows
from harness.metrics import Scores, confusion_matrix, scores
from harness.train import TrainConfig, history_csv, predict, train


@dataclass
class RunConfig:
    baseline: str
    split: str = "official"
    data: Path | None = None
    out: Path = Path("harness-out")
    features: FeatureConfig = field(default_factory=FeatureConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    fold_seed: int = FOLD_SEED
    resume: bool = False
    quiet: bool = False
    threads: int | None = None  # CPU threads; None: torch's default (1 can win on busy hosts)

    def identity(self) -> dict:
        """What the results depend on (for the config hash and resume matching)."""
        d = dataclasses.asdict(self)
        for k in ("out", "resume", "quiet", "data", "threads"):
            d.pop(k)
        d["features"]["face"] = self.features.face.identity()
        for k in ("device",):
            d["features"].pop(k)
            d["train"].pop(k)
        return d


@dataclass
class RunResult:
    run_dir: Path
    baseline: str
    split: str
    scores: Scores
    seconds: float
    best_epoch: int | None
    n_test_frames: int


def run(baseline: str, split: str = "official", **kwargs) -> RunResult:
    """Run one baseline on one split. ``kwargs`` are ``RunConfig`` fields.

    >>> result = run("attention_fusion", split="official")   # doctest: +SKIP
    >>> round(result.scores.macro_f1, 3)                      # doctest: +SKIP
    """
    return run_config(RunConfig(baseline=baseline, split=split, **kwargs))


def run_config(cfg: RunConfig, release: Release | None = None) -> RunResult:
    """Run as configured; pass ``release`` to reuse one already loaded from ``cfg.data``."""
    t0 = time.perf_counter()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    spec = get_baseline(cfg.baseline)
    cfg.train.device = cfg.features.device
    release = release if release is not None else load_release(cfg.data)
    split = get_split(release, cfg.split, seed=cfg.fold_seed)
    caches, stage = extract_all(release, split, _needed(spec.modalities), cfg.features,
                                names=all_names(release), quiet=cfg.quiet)
    caches = {m: caches[m] for m in spec.modalities}
    train_ws = build_windows(release, split.train, caches, labelled_only=True)
    val_ws = build_windows(release, split.val, caches, labelled_only=False)
    seed_everything(cfg.train.seed)  # initial weights must not depend on what ran before
    model = create_baseline(cfg.baseline, val_ws.dims)
    run_dir = _run_dir(cfg, release)
    history, best_epoch = [], None
    if spec.init_from == "face_head":
        face = load_face_model(cfg.features.face, stage.checkpoint, torch.device("cpu"))
        model.head.load_state_dict(face.head.state_dict())
        history, best_epoch = stage.history, stage.best_epoch
    if spec.trains:
        result = train(model, train_ws, val_ws, cfg.train, log_path=run_dir / "epochs.csv",
                       quiet=cfg.quiet, checkpoint_hook=_saver(run_dir),
                       resume=_resume_state(run_dir) if cfg.resume else None)
        history, best_epoch = result.history, result.best_epoch
    else:
        model.to(torch.device("cpu"))
        _write_history(run_dir / "epochs.csv", history)
    val_pred = predict(model, val_ws, cfg.train)
    test_ws = _test_windows(release, caches)
    test_pred = predict(model, test_ws, cfg.train) if test_ws is not None else None
    final = scores(val_ws.labels, val_pred)
    _write_run(run_dir, cfg, release, split, model, final, val_ws, val_pred, test_ws, test_pred,
               best_epoch, time.perf_counter() - t0)
    result = RunResult(run_dir, cfg.baseline, split.name, final, time.perf_counter() - t0,
                       best_epoch, 0 if test_ws is None else len(test_ws))
    _record(cfg, release, result)
    return result


def run_all_splits(baseline: str, **kwargs) -> list[RunResult]:
    """Official split and the five folds, in order (the paper's Table 1)."""
    return [run(baseline, split=s, **kwargs) for s in SPLIT_NAMES]


def _needed(modalities: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(m for m in ("face", "audio", "pose") if m in modalities or m == "face")


def _test_windows(release: Release, caches) -> WindowSet | None:
    if release.layout.template is None:
        return None
    release.test_names  # noqa: B018 - checks the test list against the template first
    return build_windows(release, release.template.names, caches, labelled_only=False)


# --------------------------------------------------------------------------- run folder

def _run_dir(cfg: RunConfig, release: Release) -> Path:
    runs = Path(cfg.out) / "runs"
    key = config_hash(cfg.identity() | {"data": release.fingerprint})[:8]
    if cfg.resume:
        for d in sorted(runs.glob(f"{cfg.baseline}-{cfg.split}-{key}-*"), reverse=True):
            if (d / "last.pt").is_file() and not (d / "metrics.json").is_file():
                err.print(f"Resuming {d}")
                return d
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    d = runs / f"{cfg.baseline}-{cfg.split}-{key}-{stamp}"
    d.mkdir(parents=True, exist_ok=False)
    return d


def _saver(run_dir: Path):
    def save(state: dict) -> None:
        with atomic_open(run_dir / "last.pt", "wb") as fh:
            torch.save(state, fh)
    return save


def _resume_state(run_dir: Path) -> dict | None:
    path = run_dir / "last.pt"
    if not path.is_file():
        return None
    return torch.load(path, map_location="cpu", weights_only=True)


def _write_history(path: Path, history: list[dict]) -> None:
    if history:
        write_text(path, history_csv(history))


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                             cwd=Path(__file__).parent, timeout=5)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def _write_run(run_dir, cfg, release, split, model, final, val_ws, val_pred, test_ws, test_pred,
               best_epoch, seconds) -> None:
    from leaderboard.bootstrap import save_per_video_confusion
    from leaderboard.plots import plot_confusion, plot_per_class_f1
    from submissions import write_prediction_folder

    val_by_name = _by_name(val_ws, val_pred)
    write_prediction_folder(run_dir / "predictions" / "val", val_by_name)
    if test_ws is not None:
        write_prediction_folder(run_dir / "predictions" / "test", _by_name(test_ws, test_pred))
    names = list(val_by_name)
    cms = np.stack([confusion_matrix(release.labels(n), val_by_name[n]) for n in names])
    save_per_video_confusion(run_dir / "per_video_confusion.npz", names, cms)
    with atomic_open(run_dir / "checkpoint.pt", "wb") as fh:
        torch.save(model.state_dict(), fh)
    write_json(run_dir / "config.json", dataclasses.asdict(cfg))
    write_json(run_dir / "split.json", split.to_dict())
    write_json(run_dir / "run.json", {
        "baseline": cfg.baseline, "split": split.name, "dataset": release.dataset,
        "data_root": str(release.root), "data_fingerprint": release.fingerprint,
        "config_hash": config_hash(cfg.identity()), "version": __version__,
        "git_commit": _git_commit(), "seconds": round(seconds, 2), "best_epoch": best_epoch,
        "parameters": count_parameters(model), "torch": torch.__version__,
        "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    })
    plot_confusion(np.array(final.confusion), run_dir / "confusion.png")
    plot_per_class_f1(final.per_class_f1, run_dir / "per_class_f1.png",
                      f"{cfg.baseline} on {split.name}: macro F1 {final.macro_f1:.3f}")
    write_json(run_dir / "metrics.json", final.to_dict())  # written last: marks the run done
    (run_dir / "last.pt").unlink(missing_ok=True)


def _by_name(ws: WindowSet, pred: np.ndarray) -> dict[str, np.ndarray]:
    order = np.argsort(ws.name_idx, kind="stable")
    bounds = np.searchsorted(ws.name_idx[order], np.arange(len(ws.names) + 1))
    out = {}
    for i, name in enumerate(ws.names):
        sel = order[bounds[i]:bounds[i + 1]]
        frames = ws.frames[sel]
        if frames.size != (frames.max() if frames.size else 0):
            raise HarnessError(f"{name}: predictions do not cover frames 1..{frames.max()}")
        labels = np.empty(frames.size, dtype=np.int64)
        labels[frames - 1] = pred[sel]
        out[name] = labels
    return out


def _record(cfg: RunConfig, release: Release, result: RunResult) -> None:
    from leaderboard.store import Result, append_result

    s = result.scores
    append_result(Path(cfg.out) / "leaderboard.jsonl", Result(
        run_id=result.run_dir.name, baseline=cfg.baseline, split=result.split,
        dataset=release.dataset, per_class_f1=list(s.per_class_f1), accuracy=s.accuracy,
        macro_f1=s.macro_f1, confusion=[list(r) for r in s.confusion],
        config_hash=config_hash(cfg.identity()), data_fingerprint=release.fingerprint,
        created=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        run_dir=str(result.run_dir), n_frames=s.n_frames,
        extra={"seconds": round(result.seconds, 1), "best_epoch": result.best_epoch},
    ))


def load_run_metrics(run_dir: Path) -> dict:
    path = Path(run_dir) / "metrics.json"
    if not path.is_file():
        raise HarnessError(f"{run_dir} is not a finished run (no metrics.json)")
    return json.loads(path.read_text())
