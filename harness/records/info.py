"""``run.json``: where a run's numbers came from, as one typed record for every kind of run.

A trained run (``harness run``) and a derived run (``harness smooth`` / ``ensemble``: the
post-processed or combined outputs of other runs) share one class, ``RunInfo``, told apart by
``kind``; each field says which kinds write it, and ``run.json`` holds exactly the fields of its
kind. Files written before a field existed still load: a missing field takes its default, and
keys this version does not know are left alone (a newer harness may have written them).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from harness.tasks import DEFAULT_TASK

#: ``RunInfo.kind`` of a run that trained (or loaded) a model.
TRAINED = "trained"
#: ``RunInfo.kind`` of a run made from other runs' saved outputs (no model, no checkpoint).
DERIVED = "derived"
_BOTH = (TRAINED, DERIVED)
#: The fields a row of the results store carries in ``Result.extra`` (if the kind has them).
ROW_EXTRA = ("seconds", "best_epoch", "kind", "seed", "recipe", "stage1_model",
             "feature_sets")


def utc_now() -> str:
    """UTC time with microseconds: "latest run" logic compares these as text."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds")


def _of(*kinds: str, default: Any = None, factory: Any = None, optional: bool = False) -> Any:
    """A field written by runs of ``kinds`` (``optional``: only when it is not empty, so the
    records of runs that have nothing to say there read as before it existed)."""
    meta = {"kinds": kinds, "optional": optional}
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class SourceRun:
    """One run a derived run was made from."""

    run_id: str
    run_dir: str
    baseline: str  # its label (a baseline, or a derived run's label)
    split: str

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SourceRun:
        return cls(str(d["run_id"]), str(d["run_dir"]), str(d["baseline"]), str(d["split"]))


@dataclass(frozen=True)
class RunInfo:
    """The provenance of one run folder (its ``run.json``)."""

    #: ``TRAINED`` or ``DERIVED``; files older than the field are trained runs.
    kind: str = _of(*_BOTH, default=TRAINED)
    #: The baseline's name, or a derived run's label (``attention_fusion+median(1.7s)``).
    baseline: str = _of(*_BOTH, default="")
    #: The split the validation figure is on (``official``, ``fold1``.., or ``cv-oof``).
    split: str = _of(*_BOTH, default="")
    #: The release's data-set name (every real release is called ``affwild2``).
    dataset: str = _of(*_BOTH, default="")
    #: The challenge the run is on (``harness.tasks``). Written only when it is not the
    #: default, so EXPR's ``run.json`` is as before; a file without it is an EXPR run.
    task: str = _of(*_BOTH, default=DEFAULT_TASK)
    #: Where the release was read from (informative only: a copy elsewhere is the same data).
    data_root: str | None = _of(*_BOTH)
    #: What the release's labels and template hashed to: runs on other data never compare.
    data_fingerprint: str | None = _of(*_BOTH)
    #: Hash of what the results depend on (a trained run's config, a derived run's recipe).
    config_hash: str = _of(*_BOTH, default="")
    #: The training seed.
    seed: int | None = _of(TRAINED)
    #: The config hash without the seed: runs that differ only in their seed share it.
    recipe: str | None = _of(TRAINED)
    #: What made each feature set, e.g. ``{"face": "light", "audio": "logmel", "pose":
    #: "coco18", "face_fit": "in-sample"}``, plus ``training`` off the default recipe; a
    #: derived run copies its first source's (None if that source had none).
    features: dict[str, str] | None = _of(*_BOTH)
    #: The baseline's time window, e.g. ``12 steps of 0.5 s``.
    window: str | None = _of(TRAINED)
    #: The runs a derived run was made from.
    sources: tuple[SourceRun, ...] = _of(DERIVED, default=())
    #: What a derived run's validation figure covers (one split, or pooled out of fold).
    validation: str | None = _of(DERIVED)
    #: True when the validation figure was optimised on itself (``[val-tuned]``).
    validation_tuned: bool = _of(DERIVED, default=False)
    #: The post-processing applied (filter, window, class offsets), as chosen.
    post: dict[str, Any] | None = _of(DERIVED)
    #: Per fold, the choice made on the other folds (fold sets tuned out of fold).
    fold_choices: dict[str, Any] = _of(DERIVED, factory=dict)
    #: The harness version that finished the run (``finish`` stamps it).
    version: str = _of(*_BOTH, default="")
    #: The git commit of the harness's source, when it is a checkout.
    git_commit: str | None = _of(TRAINED)
    #: The torch version that trained the model.
    torch: str | None = _of(TRAINED)
    #: Wall-clock seconds of the whole run.
    seconds: float | None = _of(*_BOTH)
    #: The epoch whose weights were kept (None when nothing was trained).
    best_epoch: int | None = _of(TRAINED)
    #: Trainable parameters of the model.
    parameters: int | None = _of(TRAINED)
    #: UTC time the run finished (``finish`` stamps it); the store row's ``created``.
    finished: str = _of(*_BOTH, default="")
    #: Wall time and peak memory per stage (``harness.measure.StageClock.records``).
    stages: tuple[dict[str, Any], ...] = _of(TRAINED, default=())
    #: Peak anonymous memory (RssAnon) of the run, in MB; None where it cannot be read.
    peak_rss_anon_mb: float | None = _of(TRAINED)
    #: Processes that trained it (torchrun ranks; 1 without torchrun).
    ranks: int = _of(TRAINED, default=1)
    #: The stage-1 face model the run read (its features, or its head): ``{"key", "digest",
    #: "made_by"}`` (``harness.provenance``; ``made_by`` None for a model trained before it was
    #: recorded). Runs that read models of different digests are different systems. A derived
    #: run holds its sources' where they all read the same one.
    stage1_model: dict[str, Any] | None = _of(*_BOTH, optional=True)
    #: Per modality slot, the feature set read: ``{"cache", "entries", "digest", "made_by"}``
    #: (``made_by``: each distinct maker of its entries).
    feature_sets: dict[str, dict[str, Any]] = _of(*_BOTH, factory=dict, optional=True)

    def __post_init__(self) -> None:
        if self.kind not in _BOTH:
            raise ValueError(f"kind must be {TRAINED!r} or {DERIVED!r}, not {self.kind!r}")
        if not isinstance(self.task, str) or not self.task:
            raise ValueError(f"task must be a task's name, not {self.task!r}")

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``run.json``: the fields of this run's kind."""
        out = {}
        for f in fields(self):
            if self.kind in f.metadata["kinds"]:
                if f.name == "task" and self.task == DEFAULT_TASK:
                    continue
                value = getattr(self, f.name)
                if f.metadata["optional"] and not value:
                    continue
                if f.name == "sources":
                    value = [asdict(s) for s in value]
                elif f.name == "stages":
                    value = list(value)
                out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RunInfo:
        """A record from a ``run.json`` object; baseline, split and data set are required."""
        for name in ("baseline", "split", "dataset"):
            if not isinstance(d[name], str):
                raise TypeError(f"{name} is {d[name]!r}, not a string")
        kw = {f.name: d[f.name] for f in fields(cls) if f.name in d}
        if "sources" in kw:
            kw["sources"] = tuple(SourceRun.from_dict(s) for s in kw["sources"] or ())
        if "stages" in kw:
            kw["stages"] = tuple(kw["stages"] or ())
        if kw.get("features") is not None:
            kw["features"] = dict(kw["features"])
        if kw.get("feature_sets") is not None:
            kw["feature_sets"] = dict(kw["feature_sets"])
        if "fold_choices" in kw:
            kw["fold_choices"] = dict(kw["fold_choices"] or {})
        return cls(**kw)

    def row_extra(self) -> dict[str, Any]:
        """What the results-store row carries besides scores and identity (``Result.extra``)."""
        d = self.to_dict()
        return {k: d[k] for k in ROW_EXTRA if k in d}


def shared_provenance(infos: list[RunInfo]) -> dict[str, Any]:
    """The provenance fields (stage-1 model, feature sets) that all ``infos`` hold alike, as
    ``RunInfo`` keyword arguments: what a run derived from them read (none where they differ)."""
    return {name: getattr(infos[0], name) for name in ("stage1_model", "feature_sets")
            if infos and all(getattr(i, name) == getattr(infos[0], name) for i in infos)}
