"""``--track tensorboard``: event files in the run folder (``<run>/tensorboard/``).

Open them with ``tensorboard --logdir <workdir>/runs``: every run is one TensorBoard run, its
curves under ``train/`` and ``val/``, its final figures under ``final/``, its plots as images and
its config as text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from harness.tracking.base import Tracker, register_tracker

#: The run folder's sub-folder holding the event files.
EVENTS_DIR = "tensorboard"
#: Tag of each per-epoch value of a training-history row.
EPOCH_TAGS = {"train_loss": "train/loss", "lr": "train/lr", "val_macro_f1": "val/macro_f1"}


class TensorBoardTracker(Tracker):
    def __init__(self, workdir: Path):
        self.writer = None

    def start(self, run_dir: Path, params: Mapping) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(run_dir / EVENTS_DIR))
        text = json.dumps(params, indent=2, default=str)
        self.writer.add_text("config", f"```\n{text}\n```")

    def log_epoch(self, epoch: int, values: Mapping[str, float]) -> None:
        for key, value in values.items():
            self.writer.add_scalar(EPOCH_TAGS.get(key, f"train/{key}"), value, epoch)
        self.writer.flush()

    def log_final(self, metrics: Mapping[str, float], artifacts: Sequence[Path]) -> None:
        import matplotlib.image

        for key, value in metrics.items():
            self.writer.add_scalar(f"final/{key}", value, 0)
        for path in artifacts:
            if path.suffix == ".png":
                image = matplotlib.image.imread(path)[..., :3]  # RGBA -> RGB, floats in 0..1
                self.writer.add_image(f"plots/{path.stem}", image, 0, dataformats="HWC")
            else:
                self.writer.add_text(f"files/{path.name}", path.read_text(encoding="utf-8"))

    def end(self, status: str = "FINISHED") -> None:
        if self.writer is not None:
            self.writer.close()


@register_tracker("tensorboard", requires="tensorboard", extra="tensorboard")
def tensorboard_tracker(workdir: Path) -> Tracker:
    return TensorBoardTracker(workdir)
