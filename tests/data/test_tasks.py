"""The task registry: one object per challenge, each saying everything about it in one place."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import harness
from harness.errors import HarnessError
from harness.tasks import TASKS, UnknownTaskError, get_task, task_names


def test_the_four_tasks_are_registered_with_expr_the_default():
    assert task_names() == ["expr", "va", "au", "mtl"]
    assert get_task() is get_task("expr") is get_task(get_task("expr"))
    with pytest.raises(UnknownTaskError, match="did you mean 'va'"):
        get_task("vaa")
    assert all(TASKS.owner(n) == f"harness.tasks.{n}" for n in task_names())


@pytest.mark.parametrize("name, size, dtype, invalid, columns", [
    ("expr", 8, np.int8, -1, ("Neutral", "Anger", "Disgust", "Fear", "Happiness", "Sadness",
                              "Surprise", "Other", "Acc", "Avg(F1)")),
    ("va", 2, np.float32, -5, ("CCC-V", "CCC-A", "P_VA")),
    ("au", 12, np.int8, -1, ("AU1", "AU2", "AU4", "AU6", "AU7", "AU10", "AU12", "AU15", "AU23",
                             "AU24", "AU25", "AU26", "P_AU")),
])
def test_each_task_states_head_values_and_columns(name, size, dtype, invalid, columns):
    task = get_task(name)
    assert task.output_size == size and task.dtype == np.dtype(dtype)
    assert task.invalid == invalid and task.leaderboard_columns == columns
    assert task.selection_metric in task.leaderboard_columns


def test_post_processing_per_task():
    expr, va, au = (get_task(n) for n in ("expr", "va", "au"))
    assert "mode" in expr.smoothing and "mode" not in va.smoothing and "mode" not in au.smoothing
    assert (expr.bias_tuning, va.bias_tuning, au.bias_tuning) == (True, False, False)
    assert (expr.threshold_tuning, va.threshold_tuning, au.threshold_tuning) == (
        False, False, True)
    assert va.outputs == "values" and au.outputs == expr.outputs == "logits"


def test_every_edition_folder_the_reference_lists():
    roots = {"Third ABAW Annotations", "5th_ABAW_Annotations", "6th ABAW Annotations",
             "6th_ABAW_Annotations", "annotations"}
    for name, challenge in (("va", "VA_Estimation_Challenge"), ("au", "AU_Detection_Challenge")):
        folders = get_task(name).annotation_folders
        assert roots <= {f.root for f in folders}
        assert {f.challenge for f in folders} == {challenge}
    expr = {(f.root, f.challenge) for f in get_task("expr").annotation_folders}
    assert {("annotations", "EXPR_Recognition_Challenge"),
            ("6th ABAW Annotations", "EXPR_Recognition_Challenge"),
            ("5th_ABAW_Annotations", "EXPR_Classification_Challenge")} <= expr


@pytest.mark.parametrize("name, test_list, headers", [
    ("va", "Valence_Arousal_Estimation_Challenge_test_set_release.txt",
     "image_location,valence,arousal"),
    ("au", "Action_Unit_Detection_Challenge_test_set_release.txt",
     "image_location,AU1,AU2,AU4,AU6,AU7,AU10,AU12,AU15,AU23,AU24,AU25,AU26"),
])
def test_test_material_names(name, test_list, headers):
    task = get_task(name)
    assert task.test_lists == (test_list,) and task.template_header == headers
    for template in task.template_names:
        assert task.template_pattern.match(template), template
    others = [t for n in task_names() if n != name for t in get_task(n).template_names]
    assert not any(task.template_pattern.match(t) for t in others)


def test_collaborators_are_named_by_import_path_and_imported_on_use():
    assert get_task("va").metric_module == "harness.metrics.va"
    assert get_task("au").submission_module == "submissions.au"
    assert get_task("va").loss_module == get_task("au").loss_module == "harness.losses"
    assert get_task("expr").module("metric").__name__ == "harness.metrics"

    class Missing(type(get_task("va"))):
        metric_module = "harness.no_such_module_here"

    with pytest.raises(HarnessError, match="no_such_module_here"):
        Missing().module("metric")


def test_nothing_outside_the_task_modules_tests_a_task_name():
    pattern = re.compile(r"""(==|!=|\bin\b)\s*\(?["'](expr|va|au|mtl)["']""")
    root = Path(harness.__file__).parent.parent
    offenders = []
    for folder in ("harness", "baselines", "submissions", "leaderboard"):
        for path in (root / folder).rglob("*.py"):
            if "tasks" in path.relative_to(root).parts[:2]:
                continue
            for i, line in enumerate(path.read_text().splitlines(), start=1):
                if pattern.search(line):
                    offenders.append(f"{path}:{i}: {line.strip()}")
    assert not offenders
