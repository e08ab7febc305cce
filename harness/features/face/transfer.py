"""``--face-from TASK``: a task's face features from the stage-1 model of another task.

Many teams share one visual backbone across challenges: the VA or AU run reads the face
features of the model fine-tuned on (say) EXPR's training names, instead of fine-tuning its own.
The task sets hold partly different videos, so a name can be a training name of the source
task and a validation or test name of the target: its features would come from a model that
saw its frames with labels, and the target's validation and test figures would be optimistic.
``check_transfer`` lists such names and refuses; nothing is trained or extracted before it.
"""

from __future__ import annotations

from harness.data.release import Release, load_release
from harness.data.splits import Split, get_split
from harness.errors import HarnessError


def source_of(release: Release, split: Split, task: str) -> tuple[Release, Split]:
    """The source task's release (same root, same image set) and its split of the same name
    (official, or fold k of the source task's own folds)."""
    source = load_release(release.root, task=task)
    if source.task is release.task:
        raise HarnessError(f"--face-from {task}: the run's own task; leave --face-from out "
                           "to use its own stage 1")
    return source, get_split(source, split.name)


def leaked_names(release: Release, split: Split, source_split: Split) -> list[str]:
    """The target's validation and test names that the source model trained on."""
    trained = set(source_split.train)
    test = release.test_names if release.layout.template is not None else []
    return sorted(n for n in {*split.val, *test} if n in trained)


def check_transfer(release: Release, split: Split, source: Release, source_split: Split
                   ) -> None:
    """Refuse features of a source model that trained on a target validation or test name."""
    leaked = leaked_names(release, split, source_split)
    if leaked:
        shown = ", ".join(leaked[:20]) + (f" ... ({len(leaked)} in all)" if len(leaked) > 20
                                          else "")
        raise HarnessError(
            f"--face-from {source.task.name}: {len(leaked)} {release.task.name} validation or "
            f"test name(s) were training names of the {source.task.name} stage-1 model on "
            f"split {source_split.name}: {shown}. Their face features would leak labels; use "
            f"the task's own stage 1 (no --face-from) or another split")
