"""``harness.submit`` and ``harness.validate``: from a finished run to a valid ABAW file.

The file formats live in ``submissions``; which run is the default is a question for the
results store (``leaderboard.best_run``). Neither function imports torch or scikit-learn at
import time: ``harness validate`` of a real-size file is a read of one text file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from harness.api.common import check_workdir, load_release, protected_inputs
from harness.errors import HarnessError

if TYPE_CHECKING:
    from harness.data.release import Release
    from harness.metrics import Scores
    from harness.metrics.au import AUScores
    from harness.metrics.va import VAScores
    from submissions import Problem


@dataclass
class Submitted:
    path: Path
    run_dir: Path
    n_rows: int
    #: Only where hidden truth exists (the embedded corpus): the task's scores (EXPR
    #: ``Scores``, VA ``VAScores``, AU ``AUScores``).
    test_scores: Scores | VAScores | AUScores | None
    zip_path: Path | None = None  # with zip=True
    task: str = "expr"


@dataclass
class Validation:
    """A submission file's problems against its template (none: it is valid)."""

    path: Path
    problems: list[Problem] = field(default_factory=list)
    task: str = "expr"

    @property
    def valid(self) -> bool:
        return not self.problems


def find_run(workdir: Path, run: str | None, release: Release, split: str = "official") -> Path:
    """A run folder from a path or id; by default the best finished run on ``split`` of the
    release's data (its fingerprint: a run on other data is never picked silently) and task."""
    from harness.records import RunFolder
    from leaderboard import best_run

    task = release.task.name
    if run is not None:
        folder = RunFolder.open(workdir, run)
        info = folder.info()
        if info.task != task:
            raise HarnessError(f"{folder.path} is a run of task {info.task}, not {task}: pass "
                               f"--task {info.task}")
        made_on = info.data_fingerprint
        if made_on != release.fingerprint:
            raise HarnessError(f"{folder.path} was made on other data (fingerprint {made_on}) "
                               f"than the release given ({release.fingerprint}, "
                               f"{release.root}); pass the release it was trained on")
        return folder.path
    usable = best_run(workdir, release.fingerprint, split, usable=_honest, task=task)
    return Path(usable.run_dir)


def _honest(row) -> bool:
    """A finished run whose validation figure was not tuned on validation itself: the default
    submission is chosen by that figure, so a [val-tuned] one would win by construction."""
    from harness.records import RunFolder

    folder = RunFolder(Path(row.run_dir))
    return folder.is_finished and not folder.info().validation_tuned


def submit(run: str | None = None, *, task: str | None = None, data: Path | None = None,
           workdir: Path = Path("harness-out"), template: Path | None = None,
           out: Path | None = None, zip: bool = False, release: Release | None = None
           ) -> Submitted:
    """Write the ABAW submission of a run's test predictions (default: the best honest run of
    ``task`` on the official split), then validate it; scored where hidden test labels exist.

    ``task``: ``expr`` (default), ``va`` or ``au``; the file follows that challenge's format
    (``submissions.SUBMISSION_FORMATS``) for every row of its template."""
    from harness.data.testset import hidden_test_labels
    from harness.paths import check_output_file
    from harness.records import RunFolder
    from submissions import SUBMISSION_FORMATS, zip_path

    check_workdir(workdir)
    rel = load_release(data, release, task)
    fmt = SUBMISSION_FORMATS.get(rel.task.name)
    if out is not None:  # before any work: never over the release, a template or a run
        guarded = protected_inputs(rel, workdir) + ([Path(template)] if template else [])
        check_output_file(out, "--out", guarded)
        if zip:
            check_output_file(zip_path(Path(out)), "--out (its .zip)", guarded)
    folder = RunFolder(find_run(Path(workdir), run, rel))
    tpl = rel.task.read_template(template) if template else rel.template
    if not folder.has_outputs("test"):
        raise HarnessError(f"{folder.path} has no test predictions (was there a test template?)")
    # the task's: EXPR labels, VA values, AU 0/1; MTL's three heads at the test-list images
    preds = rel.task.submission_predictions(tpl, folder.predictions("test"))
    out = out or Path(workdir) / "submissions" / f"{folder.run_id}.txt"
    path = fmt.write(tpl, preds, out, zip=zip)
    problems = fmt.validate(path, tpl)
    if problems:
        raise HarnessError(f"{path} failed validation: line {problems[0].line}: "
                           f"{problems[0].message}")
    truth = hidden_test_labels(rel)
    test_scores = fmt.score(path, truth, tpl) if truth is not None else None
    return Submitted(path, folder.path, tpl.n_rows, test_scores, zip_path(path) if zip else None,
                     rel.task.name)


def validate(file: Path, *, task: str | None = None, template: Path | None = None,
             data: Path | None = None, release: Release | None = None) -> Validation:
    """Every problem of a submission file of ``task`` (header, rows, order, names, values:
    EXPR labels 0..7, VA two numbers in [-1, 1], AU 12 decisions 0/1; duplicates) against
    ``template``, else the release's (``data``; None: embedded corpus)."""
    from harness.data.testset import read_template
    from harness.tasks import get_task
    from submissions import SUBMISSION_FORMATS

    t = get_task(task) if release is None else release.task
    tpl = read_template(template, t.template_header) if template is not None \
        else load_release(data, release, t.name).template
    return Validation(Path(file), SUBMISSION_FORMATS.get(t.name).validate(file, tpl), t.name)
