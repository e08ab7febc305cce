"""From finished runs to what leaves the lab: the submission file and the leaderboard tables.

This is the Python API behind ``harness submit``, ``harness validate`` and
``harness leaderboard``; the file formats live in ``submissions``, the store and tables in
``leaderboard``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.data.release import Release
from harness.data.testset import Template, read_template
from harness.errors import HarnessError
from harness.metrics import Scores
from harness.runfolder import RunFolder
from leaderboard import (
    Result,
    bootstrap_ci,
    load_per_video_confusion,
    paired_bootstrap,
    read_results,
    store_path,
)
from submissions import (
    score_submission,
    validate_submission,
    write_submission,
)


@dataclass
class Submitted:
    path: Path
    run_dir: Path
    n_rows: int
    test_scores: Scores | None  # only where hidden truth exists (the embedded corpus)


def find_run(workdir: Path, run: str | None, release: Release, split: str = "official") -> Path:
    """A run folder from a path or id; by default the best finished run on ``split``."""
    if run is not None:
        return RunFolder.open(workdir, run).path
    rows = read_results(store_path(workdir), dataset=release.dataset, split=split)
    rows = [r for r in rows if RunFolder(Path(r.run_dir)).is_finished]
    if not rows:
        raise HarnessError(f"no finished run on split {split!r} for data set {release.dataset} "
                           f"in {workdir}; run one first (harness run attention_fusion)")
    return Path(max(rows, key=lambda r: r.macro_f1).run_dir)


def submit(release: Release, workdir: Path, run: str | None = None, *,
           template: Path | None = None, out: Path | None = None, zip: bool = False
           ) -> Submitted:
    """Write the ABAW5 submission of a run's test predictions, then validate it."""
    folder = RunFolder(find_run(workdir, run, release))
    tpl = read_template(template) if template else release.template
    if not folder.has_outputs("test"):
        raise HarnessError(f"{folder.path} has no test predictions (was there a test template?)")
    preds = folder.predictions("test")
    out = out or Path(workdir) / "submissions" / f"{folder.run_id}.txt"
    path = write_submission(tpl, preds, out, zip=zip)
    problems = validate_submission(path, tpl)
    if problems:
        raise HarnessError(f"{path} failed validation: line {problems[0].line}: "
                           f"{problems[0].message}")
    truth = release.root / "synth_truth" / "Test_Set"
    test_scores = score_submission(path, truth, tpl) if truth.is_dir() else None
    return Submitted(path, folder.path, tpl.n_rows, test_scores)


def validate(path: Path, release: Release | None, template: Path | None = None):
    """Problems of any submission file against the template (ours or the release's)."""
    if template is not None:
        tpl: Template = read_template(template)
    elif release is not None:
        tpl = release.template
    else:
        raise HarnessError("no template: pass --template or --data")
    return validate_submission(path, tpl)


# --------------------------------------------------------------------------- leaderboard

def results(workdir: Path, *, dataset: str | None = None, baseline: str | None = None,
            split: str | None = None) -> list[Result]:
    rows = read_results(store_path(workdir), dataset=dataset, baseline=baseline, split=split)
    if not rows:
        raise HarnessError(f"no results in {store_path(workdir)}"
                           + (f" for data set {dataset}" if dataset else "")
                           + "; run a baseline first (harness run attention_fusion)")
    return rows


def default_dataset(rows: list[Result]) -> str:
    """The data set of the newest row: tables never mix data sets."""
    return max(rows, key=lambda r: r.created).dataset


def interval(result: Result, n_boot: int = 2000) -> tuple[float, float] | None:
    """95 % bootstrap CI of a run's macro F1, resampling videos; None if the run is gone."""
    path = Path(result.run_dir) / "per_video_confusion.npz"
    if not path.is_file():
        return None
    _, cms = load_per_video_confusion(path)
    return bootstrap_ci(cms, n_boot=n_boot)


def compare(rows: list[Result], a: str, b: str, split: str, n_boot: int = 2000
            ) -> tuple[float, float, Result, Result]:
    """Paired bootstrap of baseline ``a`` minus ``b`` on the same videos of ``split``."""
    picked = []
    for name in (a, b):
        mine = [r for r in rows if r.baseline == name and r.split == split]
        if not mine:
            raise HarnessError(f"no result for baseline {name!r} on split {split!r}")
        picked.append(max(mine, key=lambda r: r.created))
    loaded = []
    for r in picked:
        path = Path(r.run_dir) / "per_video_confusion.npz"
        if not path.is_file():
            raise HarnessError(f"run folder {r.run_dir} is gone: cannot resample its videos")
        loaded.append(load_per_video_confusion(path))
    (names_a, cms_a), (names_b, cms_b) = loaded
    delta, p = paired_bootstrap(cms_a, cms_b, n_boot=n_boot, names_a=names_a, names_b=names_b)
    return delta, p, picked[0], picked[1]
