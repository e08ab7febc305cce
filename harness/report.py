"""``harness report results``: the docs' results tables, regenerated from runs it makes.

A figure in the docs is one run of one seed on one machine unless it says otherwise, and on a
validation set of a few dozen videos one seed moves macro F1 by points. So the report runs each
baseline over seeds and writes mean ± sample std (ddof=1) per cell, with the machine (CPU
model, torch's CPU capability, cores, threads), the versions and the exact commands beside each
table, and how much of the spread comes from the fusion seed, the stage-1 seed and the corpus.

One task's baselines per report (``task``, default ``expr``): its tables show that task's
leaderboard columns (per-class F1 and macro F1; CCC and P_VA; F1 per AU and P_AU), on
validation and on the hidden test, as ``harness leaderboard --task`` shows them.

Modes: ``quick`` (one corpus, one stage-1 seed, three fusion seeds: a first check, minutes) and
``full`` (three corpus seeds x three stage-1 seeds x three fusion seeds: hours on 2 cores; it
says how long before it starts). Every run uses one thread count (``threads``, default 1): a
cached stage-1 model and every figure depend on it (docs/results.md). Finished runs are kept in
``<workdir>/report.jsonl``: a killed report, started again with the same settings, goes on
where it stopped.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness.atomic import write_text
from harness.config_files import require
from harness.errors import HarnessError
from harness.features.cache import config_hash
from harness.tasks import DEFAULT_TASK, Task, get_task
from leaderboard.views import view_of

#: The seed paper's four baselines and the harness's dense temporal model.
REPORT_BASELINES = ("current_face", "only_video", "concat_fusion", "attention_fusion",
                    "dense_temporal")
MODES = ("quick", "full")
#: What the time a report announces is estimated from: on this project's machine (2 idle
#: cores, the embedded corpus, default epochs) the README's first command took 119 s cold
#: (stage 1, features, attention_fusion) and 68 s warm (docs/results.md).
STAGE1_SECONDS = 119.0 - 68.0
RUN_SECONDS = 68.0
#: The generated block of a file that holds more than the report (``--out docs/results.md``).
BEGIN = "<!-- begin: harness report results -->"
END = "<!-- end: harness report results -->"


@dataclass
class ReportConfig:
    """What ``harness report results`` runs; empty seed lists take the mode's defaults."""

    out: Path = Path("results.md")
    mode: str = "quick"
    data: Path | None = None  # quick: the corpus (default: the embedded one)
    workdir: Path = Path("harness-report")
    baselines: tuple[str, ...] = REPORT_BASELINES
    fusion_seeds: tuple[int, ...] = ()  # default (0, 1, 2)
    face_seeds: tuple[int, ...] = ()  # stage-1 seeds; quick (0,), full (0, 1, 2)
    corpus_seeds: tuple[int, ...] = ()  # full only: corpora made by harness data synth
    threads: int = 1
    epochs: int | None = None  # fusion and stage-1 epochs: None keeps the defaults
    face_epochs: int | None = None
    batch_size: int | None = None
    videos: int | None = None  # size of the corpora full mode makes (None: the embedded's)
    seconds: float | None = None
    task: str = DEFAULT_TASK  # the challenge whose baselines run (expr, va, au, mtl)

    def __post_init__(self) -> None:
        self.task = view_of(self.task).task  # one the leaderboard has no tables for: refused
        if self.mode not in MODES:
            raise HarnessError(f"--mode takes quick or full, not {self.mode!r}")
        if self.mode == "full" and self.data is not None:
            raise HarnessError("--data names one corpus: the quick mode's; the full mode makes "
                               "its corpora itself (harness data synth --seed 0, 1, 2)")
        for name, value in (("--threads", self.threads), ("--epochs", self.epochs),
                            ("--face-epochs", self.face_epochs),
                            ("--batch-size", self.batch_size), ("--videos", self.videos)):
            require(name, value, minimum=1)
        require("--seconds", self.seconds, positive=True)
        if not self.baselines:
            raise HarnessError("--baseline: name at least one")
        from baselines import get_baseline

        for name in self.baselines:  # one that needs inputs the task lacks (MTL: audio)
            get_baseline(name).slots(self.task)
        full = self.mode == "full"
        self.fusion_seeds = tuple(self.fusion_seeds) or (0, 1, 2)
        self.face_seeds = tuple(self.face_seeds) or ((0, 1, 2) if full else (0,))
        self.corpus_seeds = tuple(self.corpus_seeds) or ((0, 1, 2) if full else (0,))
        if not full and len(self.corpus_seeds) > 1:
            raise HarnessError("the quick mode reads one corpus; --mode full for corpus seeds")

    @property
    def task_obj(self) -> Task:
        return get_task(self.task)

    @property
    def settings(self) -> dict[str, Any]:
        """What a run's numbers depend on besides its seeds (finished runs are reused only
        under the same)."""
        return {"threads": self.threads, "epochs": self.epochs, "face_epochs": self.face_epochs,
                "batch_size": self.batch_size, "videos": self.videos, "seconds": self.seconds,
                "data": str(self.data) if self.data else None}

    def n_runs(self) -> tuple[int, int]:
        """Stage-1 fine-tunes and runs the report makes."""
        stage1 = len(self.corpus_seeds) * len(self.face_seeds)
        return stage1, stage1 * len(self.fusion_seeds) * len(self.baselines)

    def estimate_seconds(self) -> float:
        stage1, runs = self.n_runs()
        return stage1 * STAGE1_SECONDS + runs * RUN_SECONDS


@dataclass
class Cell:
    """One run of the report: its seeds, validation figures and the hidden-test figure."""

    corpus_seed: int
    face_seed: int
    baseline: str
    seed: int
    #: The task's leaderboard figures on validation (fractions or CCC), in the order of its
    #: ``leaderboard_columns`` (EXPR: per-class F1, accuracy, macro F1).
    values: list[float]
    #: The task's ``selection_metric`` on the hidden test labels (EXPR: macro F1), None
    #: where the corpus has none.
    test: float | None
    run_dir: str
    seconds: float
    settings: str = ""
    task: str = DEFAULT_TASK

    @property
    def key(self) -> tuple:
        return (self.settings, self.task, self.corpus_seed, self.face_seed, self.baseline,
                self.seed)


@dataclass
class Report:
    """What was written: the file, the cells, how long it took and the load around it."""

    out: Path
    cells: list[Cell]
    seconds: float
    load: tuple[list[float] | None, list[float] | None]
    markdown: str = ""
    reused: int = 0
    machine: dict[str, Any] = field(default_factory=dict)


def machine() -> dict[str, Any]:
    """The machine the numbers were made on: CPU model, torch's CPU capability, cores."""
    import platform

    import torch

    from harness.provenance import git_commit
    from harness.throughput.timing import cpu_model
    from harness.version import __version__

    return {"cpu_model": cpu_model(), "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "cpu_count": os.cpu_count(), "torch": torch.__version__,
            "python": platform.python_version(), "harness": __version__,
            "commit": git_commit(), "cuda": torch.cuda.is_available()}


def _load_average() -> list[float] | None:
    from harness.throughput.timing import load_average

    return load_average()


def make_report(cfg: ReportConfig, *, say: Callable[[str], None] = print,
                command: str = "") -> Report:
    """Run every (corpus, stage-1 seed, baseline, fusion seed) not yet in ``report.jsonl``,
    then write ``cfg.out`` (or its generated block)."""
    stage1, runs = cfg.n_runs()
    view = view_of(cfg.task)
    say(f"harness report results, {cfg.mode} mode: {stage1} stage-1 model(s) and {runs} runs "
        f"of task {cfg.task} with {cfg.threads} thread(s); estimated "
        f"{_duration(cfg.estimate_seconds())} on an idle 2-core machine like this project's "
        "(less where runs are already done, more on a busy one)")
    t0, load0 = time.perf_counter(), _load_average()
    cfg.workdir.mkdir(parents=True, exist_ok=True)
    journal = cfg.workdir / "report.jsonl"
    settings = config_hash(cfg.settings)
    done = {c.key: c for c in _read_journal(journal)}
    cells, reused = [], 0
    for corpus_seed in cfg.corpus_seeds:
        data = _corpus(cfg, corpus_seed, say)
        from harness.api.common import load_release

        release = load_release(data, task=cfg.task)
        for face_seed in cfg.face_seeds:
            for baseline in cfg.baselines:
                for seed in cfg.fusion_seeds:
                    key = (settings, cfg.task, corpus_seed, face_seed, baseline, seed)
                    if key in done and Path(done[key].run_dir).is_dir():
                        cells.append(done[key])
                        reused += 1
                        continue
                    cell = _one_run(cfg, release, data, corpus_seed, face_seed, baseline, seed)
                    cell.settings = settings
                    _append(journal, cell)
                    cells.append(cell)
                    metric = cfg.task_obj.selection_metric
                    say(f"  corpus {corpus_seed}, stage-1 seed {face_seed}, {baseline} seed "
                        f"{seed}: val {metric} {view.shown(_selected(cfg.task_obj, cell))}"
                        + (f", test {view.shown(cell.test)}" if cell.test is not None
                           else "") + f" ({cell.seconds:.0f} s)")
    seconds = time.perf_counter() - t0
    rep = Report(cfg.out, cells, seconds, (load0, _load_average()), reused=reused,
                 machine=machine())
    rep.markdown = render(cfg, rep, command)
    write_into(cfg.out, rep.markdown)
    return rep


def _corpus(cfg: ReportConfig, corpus_seed: int, say: Callable[[str], None]) -> Path | None:
    """The quick mode's corpus (``data``; None: the embedded one); in full mode corpus seed 0
    at the default size is the embedded corpus, any other is made once in the workdir."""
    if cfg.mode == "quick":
        return cfg.data
    if corpus_seed == 0 and cfg.videos is None and cfg.seconds is None:
        return None
    path = cfg.workdir / f"corpus-s{corpus_seed}"
    if not (path / "synth.json").is_file():
        from harness.api.data import data_synth

        say(f"  making corpus seed {corpus_seed} in {path}")
        data_synth(path, seed=corpus_seed, videos=cfg.videos, seconds=cfg.seconds)
    return path


def _run_options(cfg: ReportConfig) -> dict[str, Any]:
    return {k: v for k, v in (("epochs", cfg.epochs), ("face_epochs", cfg.face_epochs),
                              ("batch_size", cfg.batch_size)) if v is not None}


def _one_run(cfg: ReportConfig, release, data: Path | None, corpus_seed: int, face_seed: int,
             baseline: str, seed: int) -> Cell:
    from harness.api.run import run
    from harness.api.submit import submit

    work = cfg.workdir / f"corpus-{corpus_seed}"
    t = time.perf_counter()
    task = cfg.task_obj
    result = run(baseline, "official", data=data, workdir=work, seed=seed, face_seed=face_seed,
                 threads=cfg.threads, quiet=True, release=release, task=cfg.task,
                 **_run_options(cfg)).results[0]
    test = None
    if release.layout.template is not None:
        sub = submit(str(result.run_dir), task=cfg.task, data=data, workdir=work,
                     release=release, out=work / "submissions" / f"{result.run_dir.name}.txt")
        if sub.test_scores is not None:
            test = task.figures(sub.test_scores)[task.selection_metric]
    return Cell(corpus_seed, face_seed, baseline, seed,
                [float(v) for v in task.figures(result.scores).values()], test,
                str(result.run_dir), round(time.perf_counter() - t, 1), task=task.name)


def _selected(task: Task, cell: Cell) -> float:
    """A cell's validation figure of the task's ``selection_metric`` (EXPR: macro F1)."""
    return cell.values[task.leaderboard_columns.index(task.selection_metric)]


def _read_journal(path: Path) -> list[Cell]:
    if not path.is_file():
        return []
    cells = []
    for line in path.read_text().splitlines():
        try:
            row = json.loads(line)
            if "test_f1" in row:  # journals written before --task: EXPR's macro F1
                row["test"] = row.pop("test_f1")
            cells.append(Cell(**row))
        except (ValueError, TypeError):  # a line cut by a kill: that run is made again
            continue
    return cells


def _append(path: Path, cell: Cell) -> None:
    old = path.read_text() if path.is_file() else ""
    write_text(path, old + json.dumps(dataclasses.asdict(cell)) + "\n")


def write_into(path: Path, block: str) -> None:
    """``block`` between the markers of an existing file that has them, else the whole file."""
    path = Path(path)
    text = path.read_text() if path.is_file() else ""
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        write_text(path, f"{head}{BEGIN}\n{block}{END}{tail}")
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text(path, block)


# -- rendering ---------------------------------------------------------------------------


def _pm(values: list[float | None], scale: float = 100.0, decimals: int = 1) -> str:
    """``mean ± std`` (ddof=1) as the leaderboard shows the figure (in %: ``scale`` 100; CCC:
    1 and 3 decimals), or ``–`` when there are none."""
    x = scale * np.asarray([v for v in values if v is not None], dtype=float)
    if x.size == 0:
        return "–"
    d = decimals
    return f"{x.mean():.{d}f}" if x.size == 1 else f"{x.mean():.{d}f} ± {x.std(ddof=1):.{d}f}"


def _table(cells: list[Cell], baselines: tuple[str, ...], task: Task) -> list[str]:
    """The task's leaderboard columns on validation, then its metric on the hidden test."""
    view = view_of(task.name)
    columns = (*task.leaderboard_columns, f"test {task.selection_metric}")
    lines = ["| Modal | " + " | ".join(columns) + " |",
             "|:---|" + "---:|" * len(columns)]
    for b in baselines:
        mine = [c for c in cells if c.baseline == b]
        if not mine:
            continue
        cols = [_pm([c.values[j] for c in mine], view.scale, view.decimals)
                for j in range(len(task.leaderboard_columns))]
        cols.append(_pm([c.test for c in mine], view.scale, view.decimals))
        lines.append(f"| {b} | " + " | ".join(cols) + " |")
    return lines


def spreads(cells: list[Cell], baseline: str, index: int = -1,
            scale: float = 100.0) -> dict[str, float | None]:
    """Std of the validation figure ``values[index]`` (the task's metric; shown as ``scale``
    says: points of macro F1 by default) from each source: fusion seeds (mean over the groups
    of one corpus and stage-1 seed), stage-1 seeds (of the fusion-seed means, per corpus,
    averaged), corpus seeds (of the corpus means); None where a source was not varied."""
    mine = [c for c in cells if c.baseline == baseline]

    def std(xs: list[float]) -> float | None:
        return float(np.std(xs, ddof=1)) * scale if len(xs) > 1 else None

    def mean(xs: list[float | None]) -> float | None:
        xs = [x for x in xs if x is not None]
        return float(np.mean(xs)) if xs else None

    groups: dict[tuple[int, int], list[float]] = {}
    for c in mine:
        groups.setdefault((c.corpus_seed, c.face_seed), []).append(c.values[index])
    fusion = mean([std(v) for v in groups.values()])
    corpora = sorted({k[0] for k in groups})
    per_face = {k: float(np.mean(v)) for k, v in groups.items()}
    stage1 = mean([std([m for (cs, _), m in per_face.items() if cs == c]) for c in corpora])
    corpus = std([float(np.mean([m for (cs, _), m in per_face.items() if cs == c]))
                  for c in corpora])
    return {"fusion": fusion, "stage1": stage1, "corpus": corpus}


def _commands(cfg: ReportConfig, corpus_seed: int, data: str | None) -> list[str]:
    from harness.records import RunFolder

    work = cfg.workdir / f"corpus-{corpus_seed}"
    opts = "".join(f" --{k.replace('_', '-')} {v}" for k, v in _run_options(cfg).items())
    data_opt = f" --data {shlex.quote(data)}" if data else ""
    seeds = " ".join(map(str, cfg.fusion_seeds))
    faces = " ".join(map(str, cfg.face_seeds))
    task = f" --task {cfg.task}" if cfg.task != DEFAULT_TASK else ""
    lines = ["```bash"]
    if data and cfg.mode == "full":
        size = "".join(f" --{k} {v}" for k, v in (("videos", cfg.videos),
                                                    ("seconds", cfg.seconds)) if v)
        lines.append(f"harness data synth --out {data} --seed {corpus_seed}{size}")
    lines += [f"for f in {faces}; do for b in {' '.join(cfg.baselines)}; do for s in {seeds}; do",
              f"  harness run $b{task} --split official --seed $s --face-seed $f --threads "
              f"{cfg.threads}{opts} --workdir {work}{data_opt} --quiet",
              f"  harness submit \"$(ls -td {RunFolder.runs_dir(work)}/$b-official-* | head -1)\""
              f"{task} --workdir {work}{data_opt}   "
              f"# prints the hidden-test {cfg.task_obj.selection_metric}",
              "done; done; done", "```"]
    return lines


def render(cfg: ReportConfig, rep: Report, command: str = "") -> str:
    """The Markdown of the report: per corpus a table, then the spreads by source."""
    m, task = rep.machine, cfg.task_obj
    view, metric = view_of(task.name), task.selection_metric
    index = task.leaderboard_columns.index(metric)
    when = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    load0, load1 = rep.load
    commit = f", commit {m['commit'][:10]}" if m.get("commit") else ""
    out = [f"Generated by `{command or 'harness report results'}` ({cfg.mode} mode, task "
           f"{task.name}: {task.title}) on {when}: do not edit by hand, run it again.", "",
           f"Machine: {m['cpu_model']}, CPU capability {m['cpu_capability']}, "
           f"{m['cpu_count']} cores, {cfg.threads} thread(s) per run"
           + (", CUDA present (runs on the GPU)" if m.get("cuda") else ", no GPU")
           + f"; torch {m['torch']}, Python {m['python']}, harness {m['harness']}{commit}. "
           f"It took {_duration(rep.seconds)} ({len(rep.cells) - rep.reused} runs made, "
           f"{rep.reused} reused); load average {_load(load0)} at the start, {_load(load1)} "
           "at the end.", "",
           f"Each cell: mean ± sample std (ddof=1), {view.what[:1].lower()}{view.what[1:]}, over "
           f"{len(cfg.face_seeds)} stage-1 seed(s) ({_seeds(cfg.face_seeds)}) x "
           f"{len(cfg.fusion_seeds)} fusion seed(s) ({_seeds(cfg.fusion_seeds)}), official "
           f"split; {metric} and the columns before it on its validation names, test {metric} "
           "on the test names' hidden labels (where the corpus has them).", ""]
    for corpus_seed in cfg.corpus_seeds:
        cells = [c for c in rep.cells if c.corpus_seed == corpus_seed]
        data = _data_label(cfg, corpus_seed)
        out += [f"### Corpus seed {corpus_seed}" if cfg.mode == "full"
                else f"### {data or 'The embedded corpus'}", ""]
        out += _table(cells, cfg.baselines, task) + ["", "Made with:", ""]
        out += _commands(cfg, corpus_seed, data) + [""]
    if cfg.mode == "full":
        out += ["### All corpus seeds", "", *_table(rep.cells, cfg.baselines, task), ""]
    unit = "points" if view.unit == "%" else view.unit
    out += ["### Where the spread comes from", "",
            f"Std of validation {metric} ({unit}) from each source, the others held: fusion "
            "seeds (within one corpus and stage-1 model), stage-1 seeds (of the fusion-seed "
            "means), corpus seeds (of the corpus means); – where it was not varied.", "",
            "| Modal | fusion seeds | stage-1 seeds | corpus seeds |", "|:---|---:|---:|---:|"]
    for b in cfg.baselines:
        sp = spreads(rep.cells, b, index, view.scale)
        out.append(f"| {b} | " + " | ".join(
            "–" if sp[k] is None else f"{sp[k]:.{view.decimals}f}"
            for k in ("fusion", "stage1", "corpus")) + " |")
    return "\n".join(out) + "\n"


def _data_label(cfg: ReportConfig, corpus_seed: int) -> str | None:
    if cfg.mode == "quick":
        return str(cfg.data) if cfg.data else None
    if corpus_seed == 0 and cfg.videos is None and cfg.seconds is None:
        return None
    return str(cfg.workdir / f"corpus-s{corpus_seed}")


def _seeds(seeds: tuple[int, ...]) -> str:
    return ", ".join(map(str, seeds))


def _load(load: list[float] | None) -> str:
    return "unknown" if not load else " / ".join(f"{x:.1f}" for x in load)


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
