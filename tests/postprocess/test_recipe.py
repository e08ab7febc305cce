"""The post-processing recipe's fold bookkeeping: out-of-fold choices."""

from __future__ import annotations

import numpy as np

from harness.postprocess import PostConfig
from harness.postprocess import recipe as recipe_mod
from tests.postprocess.frame_logits import one_hot_logits, outputs


def test_out_of_fold_choices_never_see_the_held_out_fold(monkeypatch):
    rng = np.random.default_rng(4)
    names = [f"v{i}" for i in range(6)]
    truth = {n: rng.integers(0, 8, 50) for n in names}
    val = outputs({n: one_hot_logits(truth[n], 1.0) + rng.normal(size=(50, 8)) for n in names})
    folds = {"fold1": ("v0", "v1"), "fold2": ("v2",), "fold3": ("v3", "v4"), "fold4": ("v5",)}
    seen: list[tuple[str, ...]] = []
    real = recipe_mod.choose

    def spy(cfg, v, *args):
        seen.append(v.names)
        return real(cfg, v, *args)

    monkeypatch.setattr(recipe_mod, "choose", spy)
    cfg = PostConfig(sweep=True, methods=("median", "mean"), windows=(0.2, 1.0), tune_bias=True)
    done = recipe_mod.post_process(cfg, val, None, truth, dict.fromkeys(names, 25.0), folds,
                                   quiet=True)
    assert seen[0] == tuple(names)  # the test choice: every out-of-fold name
    for (fold, held), tuned_on in zip(folds.items(), seen[1:]):
        assert not set(held) & set(tuned_on) and set(held) | set(tuned_on) == set(names), fold
    assert set(done.fold_choices) == set(folds) and not done.validation_tuned
    for fold, held in folds.items():  # each fold's rows are its own choice applied to it
        mine = done.fold_choices[fold].apply(val.select(list(held)), dict.fromkeys(names, 25.0))
        np.testing.assert_array_equal(done.val.select(list(held)).logits, mine.logits)
    same_split = recipe_mod.post_process(cfg, val, None, truth, dict.fromkeys(names, 25.0),
                                         None, quiet=True)
    assert same_split.validation_tuned and not same_split.fold_choices


