"""Run-folder file names and ``run.json`` fields are spelt in ``harness/records`` alone.

Everything else reaches a run's files through ``RunFolder`` and its provenance through the
attributes of ``RunInfo`` (or of the store row ``Result``), so renaming a file or a field is one
edit. The check reads the string constants of every shipped package (docstrings and ``help=``
texts are documentation and excepted); tests and docs may spell anything.
"""

from __future__ import annotations

import ast
import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path

from harness.records.folder import FILE_NAMES
from harness.records.info import RunInfo

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("harness", "leaderboard", "submissions", "baselines")
RECORDS = ROOT / "harness" / "records"
#: File names other code may spell because there they name another file.
OTHER_FILES = {
    ("harness/features/cache.py", "config.json"): "a feature cache's own config",
    # a Hugging Face model folder's own files (the transformers format), not a run's
    ("harness/features/huggingface/loading.py", "config.json"): "a model folder's config",
    ("harness/features/huggingface/audio.py", "config.json"): "a model folder's config",
}
#: Files not yet moved onto the records API (reads ``run.json`` as a dict). Drop an entry when
#: the file reads ``RunFolder.info()`` attributes; a new file in its place is checked.
TRANSITIONAL: dict[str, str] = {}
#: ``run.json`` fields that are also ordinary words of the code base, with other meanings there
#: (a baseline's registry name, a split's seed, a cache's version, a bench row's seconds, a
#: synth manifest's parameters, stage-1 metadata's best epoch, a post-processing recipe's
#: sources, StageClock's per-stage peak memory, the task registry's name...). They count
#: only where read off a run's record: ``info[...]``, ``info.get(...)``, ``extra[...]``,
#: ``"x" in info``.
ORDINARY_WORDS = frozenset({
    "kind", "baseline", "split", "dataset", "seed", "features", "window", "version", "torch",
    "seconds", "best_epoch", "parameters", "sources", "validation", "post", "stages",
    "peak_rss_anon_mb", "ranks", "recipe", "task"})
_RECORD = re.compile(r"(^|\.)(info|extra)(\(\))?$")
_DIRS = {"predictions", "logits", "timelines", "runs"}


def _files() -> Iterator[tuple[str, ast.AST]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if RECORDS in path.parents or rel in TRANSITIONAL:
                continue
            yield rel, ast.parse(path.read_text(encoding="utf-8"))


def _documentation(tree: ast.AST) -> set[int]:
    """Docstrings and command-line help texts (``help=...``): docs, which may name files."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                out.add(id(body[0].value))
        elif isinstance(node, ast.keyword) and node.arg == "help":
            out |= {id(n) for n in ast.walk(node.value)}
    return out


def _strings(tree: ast.AST) -> Iterator[ast.Constant]:
    skip = _documentation(tree)
    for node in ast.walk(tree):
        if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                and id(node) not in skip):
            yield node


def _path_segments(tree: ast.AST) -> set[int]:
    """Constants joined into a path with ``/``."""
    return {id(side) for node in ast.walk(tree)
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div)
            for side in (node.left, node.right) if isinstance(side, ast.Constant)}


def _record_keys(tree: ast.AST) -> Iterator[ast.Constant]:
    """Constants used as keys of something called ``info`` or ``extra``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and _RECORD.search(ast.unparse(node.value)):
            key = node.slice
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr in ("get", "pop", "setdefault") and node.args
              and _RECORD.search(ast.unparse(node.func.value))):
            key = node.args[0]
        elif (isinstance(node, ast.Compare) and isinstance(node.ops[0], (ast.In, ast.NotIn))
              and _RECORD.search(ast.unparse(node.comparators[0]))):
            key = node.left
        else:
            continue
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            yield key


def test_run_folder_file_names_are_spelt_in_records_alone():
    named = [n for n in FILE_NAMES if n not in _DIRS]
    pattern = re.compile(r"(?<![\w.-])(" + "|".join(map(re.escape, named)) + r")(?!\w)")
    dirs = re.compile(r"(?<![\w.-])(" + "|".join(sorted(_DIRS)) + r")/")
    found = []
    for rel, tree in _files():
        segments = _path_segments(tree)
        for node in _strings(tree):
            hits = {m.group(1) for m in pattern.finditer(node.value)}
            hits |= {m.group(1) for m in dirs.finditer(node.value)}
            if id(node) in segments and node.value in _DIRS:
                hits.add(node.value)
            found += [f"{rel}:{node.lineno}: {h!r}" for h in sorted(hits)
                      if (rel, h) not in OTHER_FILES]
    assert not found, "run-folder files spelt outside harness/records:\n" + "\n".join(found)


def test_run_json_fields_are_spelt_in_records_alone():
    fields = {f.name for f in dataclasses.fields(RunInfo)}
    distinctive = fields - ORDINARY_WORDS
    assert {"data_fingerprint", "validation_tuned", "config_hash"} <= distinctive
    found = []
    for rel, tree in _files():
        found += [f"{rel}:{n.lineno}: {n.value!r}" for n in _strings(tree)
                  if n.value in distinctive]
        found += [f"{rel}:{n.lineno}: {n.value!r} read off a run's record"
                  for n in _record_keys(tree) if n.value in fields]
    assert not found, "run.json fields spelt outside harness/records:\n" + "\n".join(found)


def test_the_checks_see_what_they_look_for():
    """The patterns above catch the ways run files and fields were spelt before records."""
    tree = ast.parse('def f(folder, r, workdir):\n'
                     '    """Reads run.json."""\n'
                     '    a = folder.info().get("data_fingerprint")\n'
                     '    b = r.extra["seed"], "seed" in r.extra\n'
                     '    return workdir / "runs" / "x" / "per_video_confusion.npz"\n')
    keys = [n.value for n in _record_keys(tree)]
    assert sorted(keys) == ["data_fingerprint", "seed", "seed"]
    strings = [n.value for n in _strings(tree)]
    assert "Reads run.json." not in strings and "per_video_confusion.npz" in strings
    assert {n.value for n in _strings(tree) if id(n) in _path_segments(tree)} >= {"runs"}


def test_the_leaderboard_reads_no_run_file_itself():
    """Rows and run folders come through ``harness.records``; the leaderboard opens nothing."""
    banned = re.compile(r"\b(np|numpy)\.load\b|\bjson\.loads?\b|\.read_(text|bytes)\(|"
                        r"(?<![\w.])open\(")
    found = [f"{p.name}:{i}" for p in sorted((ROOT / "leaderboard").glob("*.py"))
             for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
             if banned.search(line)]
    assert not found, found
