"""Writing and validating full-size VA and AU submissions (target: validation < 3 s each).

Sizes from ``aff-wild2-tasks.md`` (ABAW5/6 test templates): VA 927,210 rows over 162 videos,
AU 729,736 rows over 141 videos. Quick mode (CI): a tenth of the rows.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harness.data.testset import Template
from submissions import (
    AU_FORMAT,
    VA_FORMAT,
    read_values_submission,
    validate_values_submission,
    write_values_submission,
)

REAL = {"va": (927_210, 162), "au": (729_736, 141)}
FORMATS = {"va": VA_FORMAT, "au": AU_FORMAT}


def _template(task: str, real_scale: bool) -> Template:
    rows, videos = REAL[task]
    if not real_scale:
        rows, videos = rows // 10, videos // 3
    rng = np.random.default_rng(len(task))
    w = rng.random(videos) + 0.2
    n = np.floor(w / w.sum() * rows).astype(int)
    n[0] += rows - n.sum()
    names = tuple(f"{i}-{rng.integers(10, 99)}-1920x1080" + ("_left" if i % 9 == 0 else "")
                  for i in range(videos))
    return Template(Path(f"{task}_template.txt"), FORMATS[task].header, names,
                    dict(zip(names, map(int, n))))


def _predictions(task: str, template: Template) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    if task == "va":
        return {n: rng.uniform(-1, 1, (k, 2)) for n, k in template.n_frames.items()}
    return {n: (rng.random((k, 12)) < 0.2).astype(np.int8) for n, k in template.n_frames.items()}


@pytest.fixture(scope="module", params=["va", "au"])
def case(request, sizes, tmp_path_factory):
    task = request.param
    template = _template(task, sizes.real_scale)
    preds = _predictions(task, template)
    path = write_values_submission(template, preds, tmp_path_factory.mktemp(task) / "s.txt",
                                   FORMATS[task])
    return task, template, preds, path


def test_validate_values_submission(benchmark, case):
    task, template, _, path = case
    assert benchmark(validate_values_submission, path, template, FORMATS[task]) == []
    if template.n_rows == REAL[task][0]:
        assert sum(1 for _ in path.open("rb")) == REAL[task][0] + 1


def test_write_values_submission(benchmark, case, tmp_path):
    task, template, preds, _ = case
    out = benchmark(write_values_submission, template, preds, tmp_path / "w.txt", FORMATS[task])
    back = read_values_submission(out, template, FORMATS[task])
    name = template.names[-1]
    want = preds[name] if task == "au" else np.round(preds[name], 6)
    assert np.allclose(back[name], want, atol=1e-12)


def test_validate_values_submission_listing_problems(benchmark, case, tmp_path):
    """Five bad values spread over the file: found on their lines, the rest parsed in bulk."""
    task, template, _, path = case
    data = np.frombuffer(path.read_bytes(), dtype=np.uint8).copy()
    row_ends = np.flatnonzero(data == ord("\n"))[1:]
    picked = row_ends[:: max(row_ends.size // 5, 1)][:5]
    data[picked - 1] = ord("x")  # the last value of five rows is no number
    bad = tmp_path / "bad.txt"
    bad.write_bytes(data.tobytes())
    problems = benchmark(validate_values_submission, bad, template, FORMATS[task])
    assert [p.line for p in problems] == [int(np.searchsorted(row_ends, k)) + 2 for k in picked]
