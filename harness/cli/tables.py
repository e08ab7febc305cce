"""The rich tables the ``harness`` command prints for the API's results: a release and its
coverage, splits, baselines, one finished run. (The leaderboard's tables are
``leaderboard.output``, post-processing's ``harness.postprocess.comparison``, the bench's
``harness.throughput.tables``.)"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table

from harness.data.labels import SHORT

if TYPE_CHECKING:
    from harness.data.coverage import PartCoverage
    from harness.data.release import Release
    from harness.data.splits import Split


def release_table(release: Release) -> Table:
    lay = release.layout
    t = Table(title=f"Release at {lay.root} ({lay.edition}, data set {release.dataset})",
              show_header=False)
    t.add_row("Train_Set", f"{len(release.train)} names, "
              f"{sum(len(v) for v in release.train.values()):,} lines")
    t.add_row("Validation_Set", f"{len(release.val)} names, "
              f"{sum(len(v) for v in release.val.values()):,} lines")
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


def _label_columns(labels: dict) -> dict[str, float | int]:
    """A task's label summary as flat columns: ``{"class_counts": {"Neutral": n}}`` ->
    "Neutral", ``{"valence": {"mean": m}}`` -> "valence mean" (a name two dicts share keeps
    its dict's name). Where fractions exist, only they are kept (AU's rates, not its counts)."""
    leaves = [(key, sub, leaf) for key, value in labels.items()
              for sub, leaf in (value.items() if isinstance(value, dict) else [(key, value)])
              if isinstance(leaf, int | float) and not isinstance(leaf, bool)]
    if any(isinstance(leaf, float) for *_, leaf in leaves):
        leaves = [item for item in leaves if isinstance(item[2], float)]
    subs = [sub for _, sub, _ in leaves]
    return {sub if subs.count(sub) == 1 else f"{key} {sub}": leaf for key, sub, leaf in leaves}


def task_table(release: Release, parts) -> Table:
    """``harness data info --task``: names, frames and valid frames per part of the official
    split and the test set, with the task's label summary (valid frames only)."""
    task = release.task
    t = Table(title=f"{task.title.capitalize()} ({task.name}) labels of {release.dataset}, "
              "official split (valid frames only)")
    columns = {}
    for p in parts:
        columns |= _label_columns(p.labels)
    for col in ("part", "names", "frames", "valid frames", *columns):
        t.add_column(col, justify="left" if col == "part" else "right")
    for p in parts:
        values = _label_columns(p.labels)
        t.add_row(p.part, f"{p.names:,}", f"{p.frames:,}",
                  "" if p.valid_frames is None else f"{p.valid_frames:,}",
                  *("" if c not in values else f"{values[c]:,}" if isinstance(values[c], int)
                    else f"{values[c]:.3f}" for c in columns))
    return t


def coverage_tables(release: Release, parts: list[PartCoverage]) -> list:
    """Per part: how many frames have a face, which videos have audio, which names poses;
    then one line per part naming the names with no face image at all.

    What a user must see before spending GPU hours: a wrong ``ABAW_IMAGES`` or a partial
    download shows up here as names without faces, videos without files or streams.
    """
    from harness.data.coverage import LOW_FACE_COVERAGE

    t = Table(title=f"Coverage of {release.dataset} (faces listed, videos probed, no image "
              "opened)")
    for col in ("part", "names", "frames with a face", "names with no face",
                f"names < {100 * LOW_FACE_COVERAGE:.0f} % faces", "videos with audio",
                "without audio", "no video file", "names with poses"):
        t.add_column(col, justify="left" if col == "part" else "right")
    for c in parts:
        t.add_row(
            c.part, f"{c.names:,}", f"{c.face_frames:,} of {c.frames:,} "
            f"({100 * c.face_frames / max(c.frames, 1):.1f} %)",
            _named(c.without_face), _named(c.low_face), f"{c.with_audio:,} of {c.videos:,}",
            _flagged(c.without_audio), _flagged(c.no_video_file),
            f"{c.pose_names:,} of {c.names:,}" + (
                f" ({c.pose_files / c.pose_seconds:.1f} files/s)" if c.pose_seconds else ""))
    notes = [f"[red]{c.part}: no face image for {len(c.without_face)} name(s):[/red] "
             + ", ".join(c.without_face) for c in parts if c.without_face]
    return [t, *notes]


def _named(names: list[str], shown: int = 3) -> str:
    if not names:
        return "0"
    more = f", +{len(names) - shown}" if len(names) > shown else ""
    return f"[red]{len(names)}[/red]: " + ", ".join(names[:shown]) + more


def _flagged(count: int) -> str:
    return f"[yellow]{count:,}[/yellow]" if count else "0"


def splits_table(release: Release, splits: list[Split]) -> Table:
    from harness.data.splits import split_summary

    if not release.task.classification:
        return _task_splits_table(release, splits)
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


_SPLIT_COUNTS = ("videos", "underlying_videos", "recordings", "frames", "labelled_frames")


def _task_splits_table(release: Release, splits: list[Split]) -> Table:
    """VA/AU splits: names, frames, valid frames and the task's label summary per part."""
    from harness.data.splits import split_summary

    task = release.task
    t = Table(title=f"Splits of {release.dataset} for {task.name} (valid frames; "
              f"{task.title})")
    rows, columns = [], {}
    for split in splits:
        summary = split_summary(release, split)
        for part in ("train", "val"):
            s = summary[part]
            values = _label_columns({k: v for k, v in s.items() if k not in _SPLIT_COUNTS})
            columns |= {c: None for c in values if isinstance(values[c], float)}
            rows.append((split.name if part == "train" else "", part, s, values))
    for col in ("split", "part", "videos", "frames", "labelled", *columns):
        t.add_column(col, justify="left" if col in ("split", "part") else "right")
    for name, part, s, values in rows:
        t.add_row(name, part, str(s["videos"]), f"{s['frames']:,}",
                  f"{s['labelled_frames']:,}",
                  *(f"{values[c]:.3f}" if c in values else "" for c in columns))
    return t


def baselines_table(infos) -> Table:
    """``harness.baselines()``'s list: name, modalities, parameters, where it is defined."""
    t = Table(title="Registered baselines (parameters at face 256, audio 1024, pose 36)")
    for col in ("name", "modalities", "parameters", "trains", "defined in", "description"):
        t.add_column(col, justify="right" if col == "parameters" else "left")
    for info in infos:
        spec = info.spec
        t.add_row(spec.name, "+".join(spec.modalities), f"{info.parameters:,}",
                  "yes" if spec.trains else f"no ({spec.init_from})", spec.module,
                  spec.description)
    return t


def run_report(result) -> Table:
    """Per-class F1 of one finished run, and where its files went."""
    from harness.data.labels import CLASSES
    from harness.tasks import get_task

    s = result.scores
    task = get_task(getattr(result, "task", None))
    if not task.classification:  # VA, AU: the task's figures, shown as the leaderboard does
        from leaderboard.views import view_of

        view, figures = view_of(task.name), task.figures(s)

        def shown(f: float) -> str:
            return f"{view.scale * f:.{view.decimals}f}"

        t = Table(title=f"{result.baseline} on {result.split} ({task.name}): "
                  f"{task.selection_metric} {shown(figures[task.selection_metric])} "
                  f"({s.n_frames:,} validation "
                  f"{'images' if task.sparse_images else 'frames'}, {result.seconds:.0f} s)",
                  caption=f"run folder: {result.run_dir}")
        for c in figures:
            t.add_column(c, justify="right")
        t.add_row(*(shown(f) for f in figures.values()))
        return t
    t = Table(title=f"{result.baseline} on {result.split}: macro F1 {100 * s.macro_f1:.1f}, "
              f"accuracy {100 * s.accuracy:.1f} ({s.n_frames:,} validation frames, "
              f"{result.seconds:.0f} s)", caption=f"run folder: {result.run_dir}")
    for c in (*CLASSES, "Acc", "Avg(F1)"):
        t.add_column(c, justify="right")
    t.add_row(*(f"{100 * f:.1f}" for f in s.per_class_f1), f"{100 * s.accuracy:.1f}",
              f"{100 * s.macro_f1:.1f}")
    return t
