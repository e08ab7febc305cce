"""Tables as text: every format paste-ready, Markdown and CSV pinned to the byte."""

from __future__ import annotations

import csv
import io
import json

import pytest

from harness.errors import HarnessError
from leaderboard import FORMATS, render_table, rich_table, table1, table2
from tests.leaderboard.stores import sample_results
from tests.records.row_factory import make_result, with_


def test_renders_paste_ready():
    t1, t2 = table1(sample_results(), "only_video"), table2(sample_results())
    for fmt in FORMATS:
        assert render_table(t2, fmt).strip() and render_table(t1, fmt).strip()
    md = render_table(t2, "markdown").splitlines()
    assert md[0].startswith("| Modal | Neutral |") and md[0].endswith("| Acc | Avg(F1) |")
    best = t2.values[:, -1].argmax()
    assert f"**{t2.values[best, -1]:.1f}**" in md[2 + best]
    tex = render_table(t1, "latex")
    assert tex.startswith(r"\begin{tabular}{l" + "r" * 10 + "}")
    assert r"\toprule" in tex and r"\bottomrule" in tex and r"\textbf{" in tex
    assert r"Folds mean $\pm$ std" in tex and "±" not in tex
    assert r"only\_video" not in tex and r"current\_face" in render_table(t2, "latex")
    rows = list(csv.reader(io.StringIO(render_table(t2, "csv"))))
    assert rows[0][0] == "Modal" and float(rows[1][1]) == round(t2.values[0, 0], 1)
    doc = json.loads(render_table(t1, "json"))
    assert doc["rows"][-1]["std"]["Avg(F1)"] == pytest.approx(t1.stds[-1, -1], abs=1e-5)
    assert rich_table(t2).row_count == 3
    with pytest.raises(HarnessError, match="unknown table format"):
        render_table(t2, "html")


def test_markdown_and_csv_text_is_pinned():
    """The exports are pandas/tabulate now; their text is exactly what it was by hand."""
    r1 = with_(make_result("a"), per_class_f1=[0.5] * 8, accuracy=0.25, macro_f1=0.5)
    r2 = with_(make_result("b|c", created="2030-01-01T00:00:00"), per_class_f1=[0.125] * 8,
               accuracy=0.75, macro_f1=0.125)
    t = table2([r1, r2])
    cells = " | ".join(["**50.0**"] * 8)
    assert render_table(t, "markdown") == (
        "| Modal | Neutral | Anger | Disgust | Fear | Happiness | Sadness | Surprise | Other "
        "| Acc | Avg(F1) |\n|:---|" + "---:|" * 10 + "\n"
        f"| a | {cells} | 25.0 | **50.0** |\n"
        f"| b\\|c | {' | '.join(['12.5'] * 8)} | **75.0** | 12.5 |\n")
    assert render_table(t, "csv").splitlines()[1] == "a," + ",".join(["50.0"] * 8) + ",25.0,50.0"


def test_rich_table_shows_a_label_in_brackets_as_text():
    """A derived run's "[val-tuned]" was taken for a rich style tag and vanished from the table."""
    from rich.console import Console

    rows = [make_result("attention_fusion"),
            make_result("attention_fusion+median(1.0s)[val-tuned]")]
    console = Console(width=400, record=True, file=io.StringIO())
    console.print(rich_table(table2(rows, "official")))
    assert "attention_fusion+median(1.0s)[val-tuned]" in console.export_text()
