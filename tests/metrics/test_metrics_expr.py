import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import accuracy_score, f1_score

from harness.metrics import confusion_matrix, f1_from_confusion, scores


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(-1, 7), st.integers(0, 7)), min_size=1, max_size=300))
def test_equals_sklearn(pairs):
    t = np.array([p[0] for p in pairs])
    p = np.array([p[1] for p in pairs])
    s = scores(t, p)
    keep = t >= 0
    if not keep.any():
        assert s.n_frames == 0 and s.macro_f1 == 0.0
        return
    ref = f1_score(t[keep], p[keep], labels=range(8), average="macro", zero_division=0)
    assert abs(s.macro_f1 - ref) < 1e-12
    ref_each = f1_score(t[keep], p[keep], labels=range(8), average=None, zero_division=0)
    assert np.allclose(s.per_class_f1, ref_each, atol=1e-12)
    assert abs(s.accuracy - accuracy_score(t[keep], p[keep])) < 1e-12


def test_invalid_frames_are_excluded_not_class_7():
    # the seed release turned -1 into "Other": here -1 frames simply do not count
    s = scores(np.array([-1, -1, 7]), np.array([7, 7, 7]))
    assert s.n_frames == 1 and s.per_class_f1[7] == 1.0


def test_absent_class_scores_zero():
    s = scores(np.array([0, 0]), np.array([0, 0]))
    assert s.per_class_f1[0] == 1.0 and s.macro_f1 == pytest.approx(1 / 8)


def test_stacked_confusions():
    a = confusion_matrix(np.array([0, 1]), np.array([0, 0]))
    stack = np.stack([a, a * 2])
    assert np.allclose(f1_from_confusion(stack)[1], f1_from_confusion(a))


def test_rejects_bad_predictions():
    with pytest.raises(ValueError, match="predicted label 8"):
        scores(np.array([0]), np.array([8]))
    with pytest.raises(ValueError, match="frames"):
        scores(np.array([0, 1]), np.array([0]))
