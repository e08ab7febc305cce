"""The Python API behind ``harness smooth`` and ``harness ensemble``.

>>> from harness.postprocess import PostConfig, smooth, ensemble          # doctest: +SKIP
>>> smooth("attention_fusion-official-...", PostConfig(sweep=True))      # doctest: +SKIP
>>> ensemble(baselines=["attention_fusion"], split="all",                # doctest: +SKIP
...          post=PostConfig(method="median", window=1.7))
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from harness.errors import HarnessError
from harness.postprocess.derived import Derived, Inputs, Where, derive
from harness.postprocess.ensemble import COMBINE, ensemble_outputs, raw_outputs
from harness.postprocess.recipe import DEFAULT_METHOD, PostConfig
from harness.postprocess.source_runs import SourceSet, load_sources, pick_runs, source_set
from harness.postprocess.spaces import output_space

#: Label prefix of a combination that is not the task's default (which reads ``ensemble``).
_PREFIX = {"logits": "ensemble-logits", "probs": "ensemble-probs", "vote": "vote"}


def smooth(run: str | Path, post: PostConfig | None = None, where: Where | None = None
           ) -> Derived:
    """Post-process one run's saved logits into a derived run (default: median, 3.4 s)."""
    where = where or Where()
    post = post or PostConfig(method=DEFAULT_METHOD)
    if post.method is None and not post.tunes:
        raise HarnessError("nothing to do: choose a filter (--method), --sweep, --tune-bias "
                           "or --tune-thresholds")
    release = where.load()
    post.check(release.task)
    sources = load_sources([run], where.workdir, release)
    sset = source_set(sources, release)
    src = sources[0]
    val, test = src.outputs("val"), src.outputs("test")
    recipe = {"command": "smooth", "sources": [src.folder.run_id]}
    inputs = Inputs(src.label, val, test, {"val": val, "test": test}, src.label)
    return derive(sset, inputs, post, recipe, where)


def ensemble(runs: Sequence[str | Path] = (), *, baselines: Sequence[str] = (),
             split: str = "all", combine: str | None = None, post: PostConfig | None = None,
             where: Where | None = None) -> Derived:
    """Combine runs (given, or picked from the store by baseline and split), then
    post-process; a fold set gives the pooled out-of-fold validation (split ``cv-oof``).

    ``combine``: how runs are combined, by default the task's first way (EXPR ``logits``, VA
    ``mean`` of values, AU ``probs``: each AU's mean probability, stored back as logits)."""
    where = where or Where()
    post = post or PostConfig()
    release = where.load()
    space = output_space(release.task)
    combine = combine or space.default_combination
    if space.has_labels and combine not in COMBINE:
        raise HarnessError(f"unknown combination {combine!r}; choose one of {', '.join(COMBINE)}")
    space.check_combination(combine)
    post.check(release.task)
    if bool(runs) == bool(baselines):
        raise HarnessError("give either runs or --baseline (with --split), not both or neither")
    sources = (load_sources(runs, where.workdir, release) if runs
               else pick_runs(where.workdir, release, baselines, split))
    sset = source_set(sources, release)
    if not sset.fold_set and len(sources) < 2:
        raise HarnessError("an ensemble needs two or more runs of one split, or runs of "
                           "fold1..fold5")
    how = None if space.has_labels else space  # EXPR: the class-logit path as it always was
    val = ensemble_outputs(sset, "val", combine, how)
    test = ensemble_outputs(sset, "test", combine, how)
    raw = {p: raw_outputs(sset, p) for p in ("val", "test")}
    first = sources[0].label
    raw_label = f"{first} (its fold's model)" if sset.fold_set else first
    recipe = {"command": "ensemble", "combine": combine,
              "sources": [s.folder.run_id for s in sources]}
    name = ensemble_name(sset, combine, space.default_combination)
    return derive(sset, Inputs(name, val, test, raw, raw_label), post, recipe, where)


def ensemble_name(sset: SourceSet, combine: str, default: str = "logits") -> str:
    """``ensemble(attention_fusion x5 folds, OOF)``, ``ensemble(attention_fusion x3)``,
    ``vote(attention_fusion,current_face x5 folds, OOF)``; a task's default combination is
    plain ``ensemble`` (AU's mean probabilities; ``ensemble-logits`` for AU's mean logits)."""
    prefix = "ensemble" if combine == default else _PREFIX.get(combine, f"ensemble-{combine}")
    if sset.fold_set:
        labels = list(dict.fromkeys(s.label for s in sset.sources))
        return f"{prefix}({','.join(labels)} x{len(sset.by_fold())} folds, OOF)"
    counts = Counter(s.label for s in sset.sources)
    parts = [f"{label} x{k}" if k > 1 else label for label, k in counts.items()]
    return f"{prefix}({','.join(parts)})"
