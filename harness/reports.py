"""Human-readable summaries of a release and its splits (rich tables), and the audit file."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from harness.atomic import write_json
from harness.data.labels import SHORT
from harness.data.release import Release
from harness.data.splits import Split, split_summary


def release_table(release: Release) -> Table:
    lay = release.layout
    t = Table(title=f"Release at {lay.root} ({lay.edition}, data set {release.dataset})",
              show_header=False)
    t.add_row("Train_Set", f"{len(release.train)} names, "
              f"{sum(v.size for v in release.train.values()):,} lines")
    t.add_row("Validation_Set", f"{len(release.val)} names, "
              f"{sum(v.size for v in release.val.values()):,} lines")
    t.add_row("in both splits", ", ".join(release.duplicates) or "none")
    t.add_row("image roots", "\n".join(map(str, lay.image_roots)) or "none")
    t.add_row("videos", f"{len(release.videos)} in {len(lay.video_dirs)} folder(s)")
    t.add_row("poses", str(lay.pose_dir or "none"))
    t.add_row("test list", str(lay.test_list or "none"))
    t.add_row("template", str(lay.template or "none"))
    if lay.template is not None:
        tpl = release.template
        t.add_row("test set", f"{len(release.test_names)} names listed, {len(tpl.names)} in "
                  f"the template, {tpl.n_rows:,} template rows")
    t.add_row("fingerprint", release.fingerprint)
    return t


def splits_table(release: Release, splits: list[Split]) -> Table:
    t = Table(title=f"Splits of {release.dataset} (frames with a valid label per class)")
    for col in ("split", "part", "videos", "frames", "labelled", *SHORT):
        t.add_column(col, justify="left" if col in ("split", "part") else "right")
    for split in splits:
        summary = split_summary(release, split)
        for part in ("train", "val"):
            s = summary[part]
            t.add_row(split.name if part == "train" else "", part, str(s["videos"]),
                      f"{s['frames']:,}", f"{s['labelled_frames']:,}",
                      *(f"{c:,}" for c in s["class_counts"]))
    return t


def write_membership(path: Path, release: Release, splits: list[Split]) -> None:
    write_json(path, {
        "dataset": release.dataset,
        "fingerprint": release.fingerprint,
        "duplicates_kept_in_validation": list(release.duplicates),
        "splits": [s.to_dict() for s in splits],
    })


def baselines_table() -> Table:
    from baselines import create_baseline, list_baselines
    from harness.features.modalities import PAPER_DIMS
    from harness.train import count_parameters

    dims = PAPER_DIMS
    t = Table(title="Registered baselines (parameters at face 256, audio 1024, pose 36)")
    for col in ("name", "modalities", "parameters", "trains", "defined in", "description"):
        t.add_column(col, justify="right" if col == "parameters" else "left")
    for spec in list_baselines():
        n = count_parameters(create_baseline(spec.name, dims))
        t.add_row(spec.name, "+".join(spec.modalities), f"{n:,}",
                  "yes" if spec.trains else f"no ({spec.init_from})", spec.module,
                  spec.description)
    return t


def run_report(result) -> Table:
    """Per-class F1 of one finished run, and where its files went."""
    from harness.data.labels import CLASSES

    s = result.scores
    t = Table(title=f"{result.baseline} on {result.split}: macro F1 {100 * s.macro_f1:.1f}, "
              f"accuracy {100 * s.accuracy:.1f} ({s.n_frames:,} validation frames, "
              f"{result.seconds:.0f} s)", caption=f"run folder: {result.run_dir}")
    for c in (*CLASSES, "Acc", "Avg(F1)"):
        t.add_column(c, justify="right")
    t.add_row(*(f"{100 * f:.1f}" for f in s.per_class_f1), f"{100 * s.accuracy:.1f}",
              f"{100 * s.macro_f1:.1f}")
    return t
