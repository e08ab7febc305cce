"""The baseline registry and the four RT-IAI baselines: contracts, shapes, attention that works."""

from __future__ import annotations

import dataclasses
import sys
import textwrap
from pathlib import Path

import pytest
import torch

import baselines
from baselines import (
    CURRENT_STEP,
    BaselineSpec,
    FaceHead,
    create_baseline,
    get_baseline,
    list_baselines,
    load_baseline_module,
    register_baseline,
    unregister_baseline,
)
from harness.errors import HarnessError
from harness.train import count_parameters

PAPER_DIMS = {"face": 256, "audio": 1024, "pose": 36}
SMALL_DIMS = {"face": 64, "audio": 128, "pose": 36}
BUILT_INS = {
    "current_face": ("face",),
    "only_video": ("face",),
    "concat_fusion": ("face", "audio", "pose"),
    "attention_fusion": ("face", "audio", "pose"),
}


def make_batch(dims: dict[str, int], b: int = 4, t: int = 12, seed: int = 0,
               pad_left: int = 0) -> dict[str, torch.Tensor]:
    """A random batch; the first ``pad_left`` steps are padded copies flagged False in the mask."""
    g = torch.Generator().manual_seed(seed)
    batch = {m: torch.randn(b, t, d, generator=g) for m, d in dims.items()}
    for m in dims:
        batch[m][:, :pad_left] = batch[m][:, pad_left:pad_left + 1]
    mask = torch.ones(b, t, dtype=torch.bool)
    mask[:, :pad_left] = False
    batch["mask"] = mask
    return batch


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def test_registry_lists_the_four_with_modalities_and_parameters() -> None:
    specs = {s.name: s for s in list_baselines()}
    assert set(BUILT_INS) <= set(specs)
    for name, modalities in BUILT_INS.items():
        spec = specs[name]
        assert isinstance(spec, BaselineSpec)
        assert spec.modalities == modalities
        assert spec.module == f"baselines.{name}"
        assert spec.description
        assert count_parameters(spec.create(PAPER_DIMS)) > 0
    assert [s.name for s in list_baselines("*_fusion")] == ["attention_fusion", "concat_fusion"]


def test_specs_tell_the_runner_how_to_treat_each_baseline() -> None:
    face = get_baseline("current_face")
    assert (face.trains, face.init_from) == (False, "face_head")
    for name in ("only_video", "concat_fusion", "attention_fusion"):
        spec = get_baseline(name)
        assert (spec.trains, spec.init_from) == (True, None)


def test_unknown_name_lists_known_names() -> None:
    with pytest.raises(HarnessError) as info:
        get_baseline("attention_fusoin")
    assert isinstance(info.value, KeyError)
    message = str(info.value)
    assert "attention_fusoin" in message
    for name in BUILT_INS:
        assert name in message


def test_missing_dims_are_refused_with_the_modality() -> None:
    with pytest.raises(HarnessError, match="face"):
        create_baseline("attention_fusion", {"audio": 128, "pose": 36})


@pytest.mark.parametrize("name", ["attention_fusion", "concat_fusion"])
def test_fusion_runs_on_the_face_alone_where_a_task_has_nothing_else(name: str) -> None:
    """Audio and pose are optional: MTL's s-Aff-Wild2 has face images only."""
    spec = get_baseline(name)
    assert spec.optional == ("audio", "pose")
    assert spec.slots("mtl") == ("face",) and spec.slots("expr") == spec.modalities
    model = spec.for_task({"face": 32}, "mtl")
    out = model(make_batch({"face": 32}, pad_left=2))
    assert out.shape == (4, 22) and torch.all(out[:, :2].abs() <= 1)  # VA through tanh
    pose_only = dataclasses.replace(get_baseline("only_video"), modalities=("pose",))
    with pytest.raises(HarnessError, match="needs pose input"):
        pose_only.slots("mtl")  # a required input the task lacks is refused, not dropped


@pytest.mark.parametrize("name", sorted(BUILT_INS))
@pytest.mark.parametrize("dims", [PAPER_DIMS, SMALL_DIMS], ids=["paper", "small"])
def test_forward_gives_finite_logits(name: str, dims: dict[str, int]) -> None:
    model = create_baseline(name, dims)
    batch = make_batch({m: dims[m] for m in BUILT_INS[name]}, pad_left=2)
    for train in (True, False):
        model.train(train)
        logits = model(batch)
        assert logits.shape == (4, 8)
        assert torch.isfinite(logits).all()


def test_eval_mode_is_deterministic() -> None:
    for name in BUILT_INS:
        model = create_baseline(name, PAPER_DIMS).eval()
        batch = make_batch(PAPER_DIMS, pad_left=3)
        with torch.no_grad():
            assert torch.equal(model(batch), model(batch)), name


def test_num_classes_is_honoured() -> None:
    model = create_baseline("attention_fusion", SMALL_DIMS, num_classes=5).eval()
    assert model(make_batch(SMALL_DIMS)).shape == (4, 5)


def test_custom_baseline_from_module_path(tmp_path, monkeypatch) -> None:
    (tmp_path / "mymodel.py").write_text(textwrap.dedent('''
        from torch import nn
        from baselines import register_baseline

        class Probe(nn.Module):
            def __init__(self, d, k):
                super().__init__()
                self.fc = nn.Linear(d, k)

            def forward(self, batch):
                return self.fc(batch["audio"][:, 6])

        @register_baseline("my_probe", modalities=("audio",), description="audio probe")
        def my_probe(dims, num_classes=8):
            return Probe(dims["audio"], num_classes)
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "mymodel", raising=False)
    try:
        assert load_baseline_module("mymodel") == ["my_probe"]
        spec = get_baseline("my_probe")
        assert (spec.module, spec.modalities) == ("mymodel", ("audio",))
        model = create_baseline("my_probe", PAPER_DIMS)
        assert model(make_batch({"audio": 1024})).shape == (4, 8)
        assert load_baseline_module("mymodel") == ["my_probe"]  # already imported: same answer
    finally:
        unregister_baseline("my_probe")
        sys.modules.pop("mymodel", None)
    assert "my_probe" not in {s.name for s in list_baselines()}


def test_custom_baseline_from_file_path(tmp_path) -> None:
    path = tmp_path / "other.py"
    path.write_text(textwrap.dedent('''
        from torch import nn
        from baselines import register_baseline

        @register_baseline(modalities=("face",))
        def file_probe(dims, num_classes=8):
            """A linear probe loaded from a file."""
            return nn.Linear(dims["face"], num_classes)
    '''))
    try:
        assert load_baseline_module(str(path)) == ["file_probe"]
        assert load_baseline_module(str(path)) == ["file_probe"]  # reload: same module, allowed
        assert get_baseline("file_probe").description == "A linear probe loaded from a file."
    finally:
        unregister_baseline("file_probe")


def test_bad_modules_give_one_clear_error(tmp_path) -> None:
    with pytest.raises(HarnessError, match="no_such_baseline_module"):
        load_baseline_module("no_such_baseline_module")
    with pytest.raises(HarnessError, match="no such baseline file"):
        load_baseline_module(str(tmp_path / "missing.py"))
    broken = tmp_path / "broken.py"
    broken.write_text("raise RuntimeError('boom')\n")
    with pytest.raises(HarnessError, match="boom"):
        load_baseline_module(str(broken))
    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n")
    with pytest.raises(HarnessError, match="registered no baseline"):
        load_baseline_module(str(empty))


def test_duplicate_name_from_another_module_is_refused() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register_baseline("attention_fusion", modalities=("face",))(lambda dims, **kw: None)
    assert get_baseline("attention_fusion").module == "baselines.attention_fusion"


def test_registration_is_validated() -> None:
    with pytest.raises(ValueError, match="modalities must be distinct names"):
        register_baseline("bad_mod", modalities=("face", "face_mask"))(lambda dims, **kw: None)
    with pytest.raises(ValueError, match="modalities must be distinct names"):
        register_baseline("bad_mod", modalities=("face", "face"))(lambda dims, **kw: None)
    with pytest.raises(ValueError, match="init_from"):
        register_baseline("bad_init", modalities=("face",), trains=False)(lambda d, **kw: None)
    assert not list_baselines("bad_*")


def test_attention_weights_cover_valid_steps_only() -> None:
    model = create_baseline("attention_fusion", PAPER_DIMS).eval()
    with torch.no_grad():
        _, weights = model(make_batch(PAPER_DIMS, pad_left=3), return_attention=True)
    assert set(weights) == {"face", "audio", "pose"}
    for m, w in weights.items():
        assert w.shape == (4, 12), m
        assert torch.allclose(w[:, 3:].sum(dim=1), torch.ones(4), atol=1e-5), m
        assert w[:, :3].abs().max() < 1e-6, m
        assert torch.equal(w, model.last_attention[m])


def test_current_face_steers_attention_over_audio() -> None:
    """The release's one-key attention made the query irrelevant; with T keys it is not."""
    model = create_baseline("attention_fusion", PAPER_DIMS).eval()
    batch = make_batch(PAPER_DIMS)
    changed = {k: v.clone() for k, v in batch.items()}
    changed["face"][:, CURRENT_STEP] = torch.randn(4, 256) * 3
    with torch.no_grad():
        model(batch)
        before = model.last_attention["audio"]
        model(changed)
        after = model.last_attention["audio"]
    assert (before - after).abs().max() > 1e-4
    assert before.std(dim=1).min() > 0  # not uniform either


def test_gradients_reach_every_attention_fusion_parameter() -> None:
    model = create_baseline("attention_fusion", SMALL_DIMS).train()
    logits = model(make_batch(SMALL_DIMS, pad_left=2))
    torch.nn.functional.cross_entropy(logits, torch.tensor([0, 3, 5, 7])).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, name
    assert all(p.grad.abs().sum() > 0 for p in model.parameters())


def test_current_face_loads_a_face_head_state_dict() -> None:
    model = create_baseline("current_face", {"face": 256})
    keys = set(model.state_dict())
    assert {"head.0.weight", "head.1.running_mean", "head.3.bias"} <= keys
    stage1 = FaceHead(256, 8)
    with torch.no_grad():
        for p in stage1.parameters():
            p.normal_()
    model.head.load_state_dict(stage1.state_dict())
    model.load_state_dict({f"head.{k}": v for k, v in stage1.state_dict().items()})
    stage1.eval()
    model.eval()
    batch = make_batch({"face": 256})
    with torch.no_grad():
        assert torch.equal(model(batch), stage1(batch["face"][:, CURRENT_STEP]))


def test_current_face_reads_only_the_current_step() -> None:
    model = create_baseline("current_face", {"face": 64}).eval()
    batch = make_batch({"face": 64})
    other = {k: v.clone() for k, v in batch.items()}
    other["face"][:, :CURRENT_STEP] = 0
    other["face"][:, CURRENT_STEP + 1:] = 0
    with torch.no_grad():
        assert torch.equal(model(batch), model(other))


def test_wrong_feature_size_names_the_shape() -> None:
    model = create_baseline("only_video", {"face": 64})
    with pytest.raises(ValueError, match=r"\(B, 12, 64\)"):
        model(make_batch({"face": 32}))


def test_package_exports() -> None:
    assert baselines.CURRENT_STEP == 6
    assert baselines.MODALITIES == ("face", "audio", "pose")


@pytest.mark.parametrize("name", ["only_video", "concat_fusion", "attention_fusion"])
def test_unobserved_steps_are_masked_not_read(name: str) -> None:
    """A step whose modality was not observed (no face, no audio stream, no person) must not
    reach the model as a copied or silent feature: changing it changes nothing."""
    model = create_baseline(name, SMALL_DIMS).eval()
    modalities = BUILT_INS[name]
    batch = make_batch({m: SMALL_DIMS[m] for m in modalities})
    for m in modalities:
        observed = torch.ones(4, 12, dtype=torch.bool)
        observed[:, 8:] = False  # e.g. no audio past the stream's end
        observed[1] = False  # e.g. a video without an audio stream
        observed[1, CURRENT_STEP] = m == "face"
        batch[f"{m}_mask"] = observed
    changed = {k: v.clone() for k, v in batch.items()}
    for m in modalities:
        hidden = ~batch[f"{m}_mask"]
        changed[m][hidden] = torch.randn(int(hidden.sum()), SMALL_DIMS[m]) * 5
    with torch.no_grad():
        assert torch.allclose(model(batch), model(changed), atol=1e-5)
        changed[modalities[0]][0, 2] += 5  # an observed step does matter
        assert not torch.allclose(model(batch), model(changed), atol=1e-5)


def test_single_modality_example_registers_audio_and_pose_ablations():
    """examples/single_modality.py: only_audio / only_pose read their own slot and nothing else."""
    path = Path(__file__).parents[2] / "examples" / "single_modality.py"
    names = load_baseline_module(str(path))
    try:
        assert sorted(names) == ["only_audio", "only_pose"]
        assert get_baseline("only_audio").modalities == ("audio",)
        assert get_baseline("only_pose").modalities == ("pose",)
        model = create_baseline("only_pose", {"pose": 36})
        model.eval()
        logits = model({"pose": torch.randn(4, 12, 36)})
        assert logits.shape == (4, 8) and torch.isfinite(logits).all()
        with pytest.raises(ValueError, match="no 'pose' tensor"):
            model({"audio": torch.randn(4, 12, 36)})
    finally:
        for name in names:
            unregister_baseline(name)


def test_release_defects_example_puts_back_softmax_and_one_key_attention():
    """examples/release_defects.py: defect 12 (softmax before the loss) and defect 4 (one key)."""
    path = Path(__file__).parents[2] / "examples" / "release_defects.py"
    names = load_baseline_module(str(path))
    try:
        assert sorted(names) == ["attention_fusion_release", "concat_fusion_release"]
        batch = make_batch(PAPER_DIMS, pad_left=2)
        concat = create_baseline("concat_fusion_release", PAPER_DIMS).eval()
        with torch.no_grad():
            probs = concat(batch)
        assert torch.allclose(probs.sum(dim=1), torch.ones(4), atol=1e-5)  # probabilities
        fixed = create_baseline("concat_fusion", PAPER_DIMS).eval()
        fixed.load_state_dict(concat.state_dict())
        with torch.no_grad():
            assert torch.equal(fixed(batch).argmax(1), probs.argmax(1))  # same predictions

        attention = create_baseline("attention_fusion_release", PAPER_DIMS).eval()
        batch = make_batch(PAPER_DIMS)
        face = batch["face"][:, CURRENT_STEP]
        with torch.no_grad():
            logits, weights = attention(batch, return_attention=True)
            assert all(torch.equal(w, torch.ones(4, 1)) for w in weights.values())
            parts = [face]
            for m, enc in attention.encoders.items():
                _, (h_n, _) = enc.lstm(enc.proj(batch[m]))  # nn.LSTM's own final state
                key = torch.cat([h_n[-2], h_n[-1]], dim=1).unsqueeze(1)
                parts.append(attention.attention[m](face, key)[0])
                other = attention.attention[m](torch.randn(4, 256) * 3, key)[0]
                assert torch.allclose(parts[-1], other, atol=1e-5)  # the query has no effect
            assert torch.allclose(logits, attention.classifier(torch.cat(parts, 1)), atol=1e-5)
    finally:
        for name in names:
            unregister_baseline(name)
