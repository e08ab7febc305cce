"""From a finished run to what leaves the lab: the validated ABAW submission file.

This is the Python API behind ``harness submit`` and ``harness validate``; the file formats
live in ``submissions``, and which run is the default is a question for the results store
(``leaderboard.best_run``). ``harness leaderboard`` is ``leaderboard.report``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.data.release import Release
from harness.data.testset import Template, read_template
from harness.errors import HarnessError
from harness.metrics import Scores
from harness.runfolder import RunFolder
from leaderboard import best_run
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
    """A run folder from a path or id; by default the best finished run on ``split`` of the
    release's data (its fingerprint: a run on other data is never picked silently)."""
    if run is not None:
        folder = RunFolder.open(workdir, run)
        made_on = folder.info().get("data_fingerprint")
        if made_on != release.fingerprint:
            raise HarnessError(f"{folder.path} was made on other data (fingerprint {made_on}) "
                               f"than the release given ({release.fingerprint}, "
                               f"{release.root}); pass the release it was trained on")
        return folder.path
    usable = best_run(workdir, release.fingerprint, split, usable=_honest)
    return Path(usable.run_dir)


def _honest(row) -> bool:
    """A finished run whose validation figure was not tuned on validation itself: the default
    submission is chosen by that figure, so a [val-tuned] one would win by construction."""
    folder = RunFolder(Path(row.run_dir))
    return folder.is_finished and not folder.info().get("validation_tuned", False)


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
