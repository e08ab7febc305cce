"""What a task's labels hold, per part of a split: the data behind ``harness data info --task``.

Per part (the split's train and validation names, and the release's test names): how many
names, frames and valid frames, and the task's own label summary (EXPR: frames per class; VA:
mean and standard deviation of valence and arousal; AU: positives and rate per AU), all from
valid frames only. Test names have no labels in a release; only their names and template frames
are counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.data.release import Release
from harness.data.splits import Split, official_split


@dataclass(frozen=True)
class PartSummary:
    part: str  # "train", "validation" or "test"
    names: int
    frames: int  # annotation lines (test: template rows)
    valid_frames: int | None  # None for the test part (no labels)
    labels: dict = field(default_factory=dict)  # the task's ``summary`` (without valid_frames)

    def to_dict(self) -> dict:
        return {"part": self.part, "names": self.names, "frames": self.frames,
                "valid_frames": self.valid_frames, **self.labels}


def task_summary(release: Release, split: Split | None = None) -> list[PartSummary]:
    """Train and validation of ``split`` (default: the official one), then the test names."""
    split = official_split(release) if split is None else split
    out = []
    for part, names in (("train", split.train), ("validation", split.val)):
        arrays = [release.labels(n) for n in names]
        labels = release.task.summary(arrays)
        valid = labels.pop("valid_frames")
        out.append(PartSummary(part, len(names), sum(len(a) for a in arrays), valid, labels))
    if release.layout.template is not None:
        names = release.test_names
        frames = sum(release.template.n_frames[n] for n in names)
        out.append(PartSummary("test", len(names), frames, None))
    return out
