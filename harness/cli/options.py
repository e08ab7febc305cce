"""Options several commands share, and how a command hands what the user typed to the API."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from harness.console import out

DataOpt = Annotated[Path | None, typer.Option(
    "--data", envvar="ABAW_DATA",
    help="Root of an Aff-Wild2 release; default: the embedded synthetic corpus.")]


def _workdir(value: Path | None) -> Path | None:
    """A ``--workdir`` that is a file is a usage error (exit 2) before anything runs."""
    from harness.api.common import check_workdir
    from harness.errors import HarnessError

    try:
        return check_workdir(value)
    except HarnessError as exc:
        raise typer.BadParameter(str(exc)) from None


OutOpt = Annotated[Path, typer.Option(
    "--workdir", envvar="HARNESS_WORKDIR", callback=_workdir,
    help="Working folder for runs, leaderboard, submissions.")]
DeviceOpt = Annotated[str, typer.Option(help="auto (CUDA if present), cpu or cuda[:N].")]
QuietOpt = Annotated[bool, typer.Option(help="No progress bars.")]
ConfigOpt = Annotated[Path | None, typer.Option(
    "--config", exists=True, dir_okay=False,
    help="TOML or JSON file of this command's settings (a run folder's config.json works); "
    "options typed on the command line override its keys.")]
FoldsOpt = Annotated[Path | None, typer.Option(
    "--folds", help="Split membership file (harness splits --write): splits are rebuilt from "
    "it, never recomputed.")]
FaceOofOpt = Annotated[int | None, typer.Option(
    "--face-oof", metavar="K", min=0, help="Training names' face features cross-fitted over K "
    "recording groups (0: in-sample, the paper's and the default).")]
AllowMissingFacesOpt = Annotated[bool, typer.Option(
    "--allow-missing-faces", help="Run even if some names have no face image (their face "
    "features are zeros, flagged; one warning per name) instead of stopping.")]
BackboneOpt = Annotated[str, typer.Option(
    "--backbone", help="Face backbone: light (default), emonet, onnx:PATH (a frozen ONNX "
    "model run with ONNX Runtime; needs abaw-harness\\[onnx]), or hf:DIR (a frozen Hugging "
    "Face vision model folder; needs abaw-harness\\[hf]).")]
FinetuneOpt = Annotated[bool | None, typer.Option(
    "--finetune/--no-finetune", help="Fine-tune the face backbone in stage 1, or use it "
    "frozen (features straight from it; --no-finetune needs --face-weights). Default: "
    "fine-tune light and emonet; an onnx: backbone is always frozen, an hf: one frozen unless "
    "--finetune.")]
FinetuneBlocksOpt = Annotated[str, typer.Option(
    "--finetune-blocks", help="With --backbone hf:DIR --finetune: all (default) or lastK "
    "(the last K blocks and the final norm train; the rest stays frozen).")]
LayerDecayOpt = Annotated[float, typer.Option(
    "--layer-decay", help="With --backbone hf:DIR --finetune: block d below the top trains at "
    "the backbone lr x DECAY^d (e.g. 0.75); 1 (default): one lr.")]
ImageSetOpt = Annotated[str, typer.Option(
    "--image-set", help="Face images: cropped_aligned (default) or cropped (the release's "
    "non-aligned crops).")]
OnnxSizeOpt = Annotated[int | None, typer.Option(
    "--onnx-size", help="onnx: input side in pixels (default: the model's static side, "
    "else 224).")]
OnnxChannelsOpt = Annotated[str, typer.Option(
    "--onnx-channels", help="onnx: channel order the model expects, rgb or bgr.")]
OnnxMeanOpt = Annotated[str | None, typer.Option(
    "--onnx-mean", help="onnx: per-channel mean of pixels/255, e.g. 0.485,0.456,0.406 "
    "(the default, ImageNet's).")]
OnnxStdOpt = Annotated[str | None, typer.Option(
    "--onnx-std", help="onnx: per-channel std, e.g. 0.229,0.224,0.225 (the default).")]
FaceWeightsOpt = Annotated[Path | None, typer.Option(
    "--face-weights", help="Local EmoNet-style state dict (e.g. emonet_8.pth).")]
AudioOpt = Annotated[str, typer.Option("--audio", help="logmel (default), deepspectrum, egemaps, "
                                        "or hf:DIR (a Hugging Face speech model folder).")]
HfPoolOpt = Annotated[str | None, typer.Option(
    "--hf-pool", help="hf: face feature: cls, mean or pooler; default: pooler where the model "
    "has one, else cls.")]
HfLayersOpt = Annotated[str, typer.Option(
    "--hf-layers", help="hf: face hidden states: last (default), lastN (the mean of the last "
    "N, e.g. last4) or a layer number K.")]
HfAudioLayersOpt = Annotated[str, typer.Option(
    "--hf-audio-layers", help="hf: audio hidden states: last (default), lastN or K.")]
HfAudioRowsOpt = Annotated[str, typer.Option(
    "--hf-audio-rows", help="hf: audio rows: frames (timed, at the model's frame rate; "
    "default) or windows (the mean per 1 s window).")]
AudioWeightsOpt = Annotated[Path | None, typer.Option(
    "--audio-weights", help="Local DenseNet121 ImageNet state dict for deepspectrum.")]
WorkersOpt = Annotated[int | None, typer.Option(
    "--workers", min=0, help="Face-image decoding processes (0: decode in the main process; "
    "default: the CPUs available, at most 8, shared among torchrun ranks).")]
TaskOpt = Annotated[str | None, typer.Option(
    "--task", help="The challenge: expr (default), va (valence-arousal), au (action units) or "
    "mtl (multi-task, s-Aff-Wild2): its labels, splits, head, loss, metric and test template.")]
VaLossOpt = Annotated[str | None, typer.Option(
    "--va-loss", help="--task va: the fusion stage's loss, ccc (1 - CCC per dimension, "
    "default) or mse.")]
MtlWeightingOpt = Annotated[str | None, typer.Option(
    "--mtl-weighting", help="--task mtl: how the VA, EXPR and AU losses are summed: fixed "
    "(weights 1, 1, 1; default) or uncertainty (learned per task, CPRL's).")]
FaceFromOpt = Annotated[str | None, typer.Option(
    "--face-from", help="Read face features of another task's stage-1 model (e.g. expr), "
    "fine-tuned on its training names of the same split; refused while a validation or test "
    "name of this task was one of them.")]
TrackOpt = Annotated[str | None, typer.Option(
    "--track", help="Send curves, params, final metrics and plots to an experiment tracker: "
    "tensorboard (event files in the run folder) or mlflow (a local store in the workdir, "
    "or MLFLOW_TRACKING_URI); needs abaw-harness\\[tensorboard] or \\[mlflow].")]
FaceSeedOpt = Annotated[int | None, typer.Option(
    "--face-seed", help="Seed of the stage-1 face fine-tune (default 0). Another seed is "
    "another stage-1 model (its own cache key) and another system in the leaderboard.")]
FeatureThreadsOpt = Annotated[int | None, typer.Option(
    "--feature-threads", min=0, help="CPU threads of what is cached: the stage-1 fine-tune "
    "and feature extraction (default 1, whatever --threads: a cached model is then the same "
    "whichever run trained it; 0: --threads').")]
ThreadsOpt = Annotated[int | None, typer.Option(
    min=1, help="CPU threads (default: torch's; 1 is often faster on a shared machine).")]
BaselineModuleOpt = Annotated[list[str] | None, typer.Option(
    help="Import this module (or .py file) first to register your own baselines.")]

#: Where an option's value counts as given: typed, or from its environment variable. A value
#: left at its default is not passed on, so a --config file's key is not overridden by it.
#: By name: typer may bring its own click, whose enum is another class.
_GIVEN = ("COMMANDLINE", "ENVIRONMENT", "PROMPT")


def given(ctx: typer.Context) -> dict[str, Any]:
    """The command's parameters the user gave, by their Python names (the API's keywords)."""
    return {name: value for name, value in ctx.params.items()
            if getattr(ctx.get_parameter_source(name), "name", None) in _GIVEN}


def say(text: str) -> None:
    """One line of output, never wrapped (paths stay whole)."""
    out.print(text, soft_wrap=True)
