"""``harness bench --hf``: rows of tiny random Hugging Face models (built here, no network)."""

from __future__ import annotations

import socket
import warnings
from pathlib import Path

import pytest
import torch

transformers = pytest.importorskip("transformers")

from harness.errors import HarnessError  # noqa: E402
from harness.throughput import BenchConfig, bench_table, run_bench  # noqa: E402


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    t = transformers
    root = tmp_path_factory.mktemp("bench-hf")
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t.Dinov2Model(t.Dinov2Config(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                     intermediate_size=48, patch_size=14, image_size=28)
                      ).save_pretrained(root / "vit")
        t.BitImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 28, "width": 28},
                            do_center_crop=True).save_pretrained(root / "vit")
        t.Wav2Vec2Model(t.Wav2Vec2Config(hidden_size=32, num_hidden_layers=2,
                                         num_attention_heads=2, intermediate_size=48,
                                         conv_dim=(16,) * 7, num_conv_pos_embeddings=16,
                                         num_conv_pos_embedding_groups=2)
                        ).save_pretrained(root / "w2v")
        t.Wav2Vec2FeatureExtractor().save_pretrained(root / "w2v")
    return {"image": root / "vit", "audio": root / "w2v"}


@pytest.fixture(scope="module")
def result(folders) -> dict:
    cfg = BenchConfig(quick=True, baselines=["only_video"], batch_sizes=(8,), repeats=2,
                      warmup=1, backbones=[], data_path=False, paper_design=False,
                      profile=False, hf=[f"hf:{folders['image']}", f"hf:{folders['audio']}"])
    real = socket.socket.connect

    def connect(sock, address):  # the decoding workers talk over local (unix) sockets
        if sock.family != socket.AF_UNIX:
            pytest.fail(f"network access attempted: {address}")
        return real(sock, address)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket.socket, "connect", connect)
        return run_bench(cfg, progress=False)


def test_hf_rows_have_rates_flops_and_fractions_of_peak(result):
    rows = result["hf_rows"]
    image = [r for r in rows if r["kind"] == "image"]
    assert [(r["mode"], r["workers"]) for r in image] == [("model", None), ("extract", 0),
                                                          ("extract", 1)]
    for row in rows:
        assert "error" not in row, row
        assert 0 < row["fraction_of_peak"] <= 1.5
    flops = {r["flops_per_image"] for r in image}
    assert len(flops) == 1 and flops.pop() > 0  # per image: the same model in every row
    assert all(r["images_per_s"] > 0 and r["model"] == "hf:vit" for r in image)
    (audio,) = [r for r in rows if r["kind"] == "audio"]
    assert audio["model"] == "hf:w2v" and audio["audio_s"] == 2.0
    assert audio["audio_s_per_s"] > 0 and audio["flops_per_audio_s"] > 0
    assert audio["achieved_gflops"] == pytest.approx(
        audio["flops_per_audio_s"] * audio["audio_s_per_s"] / 1e9)


def test_image_flops_are_the_models_forward(result, folders):
    """FLOPs per image equal a count of a direct ``transformers`` forward on one image."""
    from torch.utils.flop_counter import FlopCounterMode

    model = transformers.AutoModel.from_pretrained(folders["image"], local_files_only=True)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(pixel_values=torch.zeros(1, 3, 28, 28))
    image = next(r for r in result["hf_rows"] if r["kind"] == "image")
    assert image["flops_per_image"] == counter.get_total_flops()


def test_hf_rows_render_and_bad_specs_are_refused(result, tmp_path):
    text = bench_table(result, "markdown")
    assert "hf:vit (112px faces) | extract, 1 workers" in text
    assert "hf:w2v (audio) | model" in text and "audio-s/s" in text
    from harness.api.bench import bench

    with pytest.raises(HarnessError, match="--hf takes hf:DIR"):
        bench(hf="light", json_out=None)
    with pytest.raises(HarnessError, match="no such model folder"):
        bench(hf=f"hf:{tmp_path / 'nothing'}", json_out=None)
