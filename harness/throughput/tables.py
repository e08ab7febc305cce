"""Rendering a bench result: atomic JSON for comparison, and one table (rich or markdown).

The table has three sections: baseline rows (windows/s), backbone rows (images/s) and the
seed-design comparison (seconds per epoch); the caption carries what a reader needs to trust
the numbers: device, matmul peak, thread count, load average and what "peak mem" measures.
"""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from harness.atomic import write_json

COLUMNS = ("item", "mode", "batch", "rate /s", "p10–p90 /s", "ms/batch", "MFLOP/item",
           "GFLOP/s", "% peak", "peak MB", "note")


def write_bench_json(result: dict, path: Path) -> None:
    """Write ``result`` atomically (temp file + rename): a killed bench never leaves half a file."""
    write_json(Path(path), result)


def bench_table(result: dict, fmt: str = "rich") -> Table | str:
    """The result as a rich ``Table`` (``fmt="rich"``) or GitHub markdown text (``"markdown"``)."""
    sections = [[_baseline_cells(r) for r in result.get("rows", [])],
                [_backbone_cells(r) for r in result.get("backbone_rows", [])],
                [_hf_cells(r) for r in result.get("hf_rows", [])],
                [_data_path_cells(r) for r in result.get("data_path_rows", [])],
                _paper_cells(result.get("paper_design"))]
    if fmt == "rich":
        return _rich(sections, _caption(result), _title(result))
    if fmt == "markdown":
        return _markdown(sections, _caption(result), _title(result))
    raise ValueError(f"fmt must be 'rich' or 'markdown', got {fmt!r}")


def _title(result: dict) -> str:
    return (f"harness bench: {result.get('device_name', result.get('device', '?'))}, "
            f"torch {result.get('torch_version', '?')}")


def _caption(result: dict) -> str:
    m = result.get("machine", {})
    parts = [f"fp32 matmul peak {result.get('matmul_peak_gflops', 0):.1f} GFLOP/s",
             f"{m.get('torch_threads', '?')} torch threads on {m.get('cpu_count', '?')} CPUs",
             f"load avg {m.get('load_average_start')} -> {m.get('load_average_end')}"
             + (" (CONTENDED: other jobs were running; rates are lower bounds)"
                if m.get("contended") else ""),
             f"peak MB = {result.get('memory_kind', '?')}",
             f"FLOPs: {result.get('flop_convention', '?')}", f"amp: {result.get('amp', 'off')}"]
    seed = result.get("paper_design") or {}
    if "ratio" in seed:
        parts.append(f"paper design ({seed['backbone']} in the loop, batch "
                     f"{seed['in_loop_batch']}) / cached features (batch {seed['cached_batch']})"
                     f": {seed['ratio']:.0f}x slower per epoch")
    return "; ".join(parts)


def _num(x: float | None, digits: int = 0) -> str:
    if x is None:
        return "-"
    return f"{x:,.{digits}f}"


def _rate_cells(row: dict, unit: str) -> list[str]:
    return [_num(row.get(f"{unit}_per_s"), 1),
            f"{_num(row.get(f'{unit}_per_s_p10'), 1)}–{_num(row.get(f'{unit}_per_s_p90'), 1)}",
            _num(row.get("ms_per_batch"), 2)]


def _flop_cells(row: dict, key: str) -> list[str]:
    flops = row.get(key)
    frac = row.get("fraction_of_peak")
    return [_num(flops / 1e6 if flops else None, 2), _num(row.get("achieved_gflops"), 2),
            _num(frac * 100 if frac is not None else None, 1)]


def _note(row: dict) -> str:
    if "error" in row:
        return f"ERROR {row['error']}"
    if "skipped" in row:
        return f"skipped: {row['skipped']}"
    return (f"{row.get('repeats', '?')} reps" + (f", amp {row['amp']}" if row.get("amp", "off")
                                                  != "off" else "")
            + (f", {row['note']}" if row.get("note") else ""))


def _baseline_cells(row: dict) -> list[str]:
    if "error" in row or "skipped" in row:
        return [row["baseline"], row["mode"], str(row["batch"])] + ["-"] * 7 + [_note(row)]
    return ([row["baseline"], row["mode"], str(row["batch"])] + _rate_cells(row, "windows")
            + _flop_cells(row, "flops_per_window") + [_num(row.get("peak_mem_mb")), _note(row)])


def _backbone_cells(row: dict) -> list[str]:
    head = [f"backbone {row['backbone']} ({row['input_size']}px)", row["mode"], str(row["batch"])]
    if "error" in row:
        return head + ["-"] * 7 + [_note(row)]
    return (head + _rate_cells(row, "images") + _flop_cells(row, "flops_per_image")
            + [_num(row.get("peak_mem_mb")), _note(row) + " (images/s)"])


def _hf_cells(row: dict) -> list[str]:
    """An ``hf:`` model: images/s (in memory, or jpgs through W decoding workers) or audio
    seconds per second, with FLOPs per image or per second of audio."""
    audio = row.get("kind") == "audio"
    what = "audio" if audio else f"{row.get('input_size', '?')}px faces"
    mode = row["mode"] if row.get("workers") is None else f"{row['mode']}, {row['workers']} workers"
    head = [f"{row['model']} ({what})", mode, str(row["batch"])]
    if "error" in row:
        return head + ["-"] * 7 + [_note(row)]
    unit = "audio_s" if audio else "images"
    cells = _rate_cells(row, unit) + _flop_cells(row, "flops_per_audio_s" if audio
                                                 else "flops_per_image")
    note = (f"{row['audio_s']:g} s tracks (audio-s/s; MFLOP per audio second)" if audio
            else f"{row['images']:,} jpgs a pass (images/s)" if "images" in row
            else "uint8 faces in memory (images/s)")
    return head + cells + [_num(row.get("peak_mem_mb")), _note(row) + f", {note}"]


def _data_path_cells(row: dict) -> list[str]:
    """jpgs -> device batches: the previous path (``legacy``) or the workers' path."""
    if "error" in row:
        return ["face data path", "-", "-"] + ["-"] * 7 + [_note(row)]
    mode = "legacy" if row["mode"] == "legacy" else f"{row['mode']}, {row['workers']} workers"
    return ([f"face data path -> {row['input_size']}px", mode, str(row["batch"])]
            + _rate_cells(row, "images")[:2] + ["-"] * 5
            + [f"{row['repeats']} passes of {row['images']:,} jpgs (images/s)"])


def _paper_cells(seed: dict | None) -> list[list[str]]:
    if not seed:
        return []
    if "error" in seed:
        return [[f"paper design ({seed.get('backbone')})", "-", "-"] + ["-"] * 7
                + [f"ERROR {seed['error']}"]]
    n = seed["epoch_windows"]
    return [
        [f"seed: {seed['backbone']} in the loop + fusion", "train", str(seed["in_loop_batch"]),
         _num(seed["in_loop_batch"] / seed["in_loop_step_s"], 1), "-",
         _num(seed["in_loop_step_s"] * 1e3, 2), "-", "-", "-", "-",
         f"{_num(seed['in_loop_epoch_s'])} s/epoch of {n:,} windows"],
        ["ours: attention_fusion on cached features", "train", str(seed["cached_batch"]),
         _num(seed["cached_batch"] / seed["cached_step_s"], 1), "-",
         _num(seed["cached_step_s"] * 1e3, 2), "-", "-", "-", "-",
         f"{_num(seed['cached_epoch_s'])} s/epoch; ratio {seed['ratio']:.1f}x"],
    ]


def _rich(sections: list[list[list[str]]], caption: str, title: str) -> Table:
    table = Table(title=title, caption=caption, caption_justify="left")
    for i, name in enumerate(COLUMNS):
        table.add_column(name, justify="right" if 2 <= i <= 9 else "left")
    for section in (s for s in sections if s):
        for cells in section:
            table.add_row(*cells)
        table.add_section()
    return table


def _markdown(sections: list[list[list[str]]], caption: str, title: str) -> str:
    lines = [f"**{title}**", "", "| " + " | ".join(COLUMNS) + " |",
             "|" + "|".join("---:" if 2 <= i <= 9 else "---" for i in range(len(COLUMNS))) + "|"]
    for section in sections:
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"
                  for cells in section]
    lines += ["", caption.replace("; ", "  \n")]
    return "\n".join(lines) + "\n"
