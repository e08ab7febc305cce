"""Loading a Hugging Face ``transformers`` model from a local folder, never from the network.

``hf:PATH`` names a model folder (``config.json`` + weights, as ``save_pretrained`` writes it),
or a model id (``org/name``) already in the local Hugging Face cache; the library's offline mode
is forced and every call passes ``local_files_only``, so nothing is ever downloaded. Weights are
read as safetensors, or as ``pytorch_model.bin`` through ``torch.load(weights_only=True)`` (what
``transformers`` does); a pickled whole model is refused by that. Every problem (no folder, no
config, unreadable or truncated weights, weights that do not fit the model, a model of the wrong
kind) is a ``HarnessError`` naming the folder.
"""

from __future__ import annotations

import inspect
import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError
from harness.paths import files_digest

PREFIX = "hf:"
INSTALL_HINT = "pip install 'abaw-harness[hf]' (or: pip install transformers safetensors)"
#: Files whose content decides what the model computes (weights are found by extension).
CONFIG_FILES = ("config.json", "preprocessor_config.json")
WEIGHT_SUFFIXES = (".safetensors", ".bin")
#: Keys a checkpoint may lack without changing the hidden states (a head put on by the class).
OPTIONAL_PREFIXES = ("pooler.",)
_OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
WHERE_HINT = ("put the model folder (config.json + model.safetensors, as save_pretrained or "
              "`huggingface-cli download ORG/NAME --local-dir DIR` on a machine with network "
              "writes it) on this machine and pass hf:DIR; the harness never downloads")


def is_hf(spec: str | None) -> bool:
    """Whether a ``--backbone`` or ``--audio`` value names a Hugging Face model (``hf:PATH``)."""
    return bool(spec) and spec.startswith(PREFIX)


def force_offline() -> None:
    """The library's offline mode, set before ``transformers`` is imported (and again after:
    ``local_files_only`` on every call is what guarantees it whatever was imported first)."""
    os.environ.update(_OFFLINE)


def import_transformers():
    """``transformers`` in offline mode, or an error saying how to install it."""
    force_offline()
    try:
        import transformers
    except ImportError:
        raise HarnessError(f"hf: models need the transformers package, which is not "
                           f"installed: {INSTALL_HINT}") from None
    transformers.logging.set_verbosity_error()  # its warnings are ours to give
    transformers.utils.logging.disable_progress_bar()  # the harness shows its own
    return transformers


def resolve_folder(spec: str) -> Path:
    """The local folder of ``hf:PATH`` (a folder, or a model id in the local HF cache)."""
    raw = spec[len(PREFIX):] if is_hf(spec) else spec
    if not raw:
        raise HarnessError(f"{spec!r}: hf: needs a model folder, e.g. hf:models/dinov2-small")
    path = Path(raw).expanduser()
    if path.is_dir():
        return path.resolve()
    if path.exists():
        raise HarnessError(f"{path}: not a folder; {WHERE_HINT}")
    cached = _from_local_cache(raw)
    if cached is not None:
        return cached
    raise HarnessError(f"{path}: no such model folder, and no model {raw!r} in the local "
                       f"Hugging Face cache; {WHERE_HINT}")


def _from_local_cache(model_id: str) -> Path | None:
    """The snapshot folder of ``model_id`` in the local cache, looked up offline; else None."""
    if model_id.count("/") != 1 or model_id.startswith(("/", ".", "~")):
        return None
    force_offline()
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        return None
    try:
        return Path(snapshot_download(model_id, local_files_only=True)).resolve()
    except Exception:  # LocalEntryNotFoundError, bad id, ...: not in the cache
        return None


def weight_files(folder: Path) -> list[Path]:
    """The weight files of ``folder`` (safetensors preferred, as ``transformers`` reads them)."""
    safe = sorted(folder.glob("*.safetensors"))
    return safe or sorted(p for p in folder.glob("*.bin") if p.name != "training_args.bin")


def read_config_json(folder: Path, name: str = "config.json", required: bool = True) -> dict:
    path = folder / name
    if not path.is_file():
        if required:
            raise HarnessError(f"{folder}: no {name}; not a transformers model folder "
                               f"({WHERE_HINT})")
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise HarnessError(f"{path}: unreadable ({exc}); the model folder is damaged") from None
    if not isinstance(data, dict):
        raise HarnessError(f"{path}: not a JSON object; the model folder is damaged")
    return data


def folder_digest(folder: Path) -> str:
    """Content digest of the weights and configuration of ``folder`` (a changed file: new key).

    Hashing gigabytes of weights takes seconds to minutes, and ``identity()`` is asked for often
    (every config hash, cache key and run): the digest is kept per process, keyed by each
    file's path, size, inode, mtime and ctime (``os.stat``), and hashed again only when one of
    those changed (a rewritten, replaced, touched or added file).
    """
    files = [p for p in [*weight_files(folder), *(folder / n for n in CONFIG_FILES)]
             if p.is_file()]
    stamp = (str(folder), tuple(_stamp(p) for p in files))
    digest = _DIGESTS.get(stamp)
    if digest is None:
        digest = _DIGESTS[stamp] = files_digest(files)
    return digest


#: (folder, file stamps) -> digest: see ``folder_digest``.
_DIGESTS: dict[tuple, str] = {}


def _stamp(path: Path) -> tuple:
    st = path.stat()
    return path.name, st.st_size, st.st_ino, st.st_mtime_ns, st.st_ctime_ns


@dataclass
class LoadedModel:
    """A model ready for inference, with what its features depend on."""

    folder: Path
    model: object  # a transformers PreTrainedModel (or a vision tower of one)
    config: object
    digest: str
    missing: tuple[str, ...]  # optional keys the checkpoint lacked (e.g. a pooler)


def load_model(spec: str, kind: str) -> LoadedModel:
    """Load the model of ``hf:PATH`` for ``kind`` (``"vision"`` or ``"audio"``), frozen, eval.

    ``vision`` models take ``pixel_values``, ``audio`` ones ``input_values``; a folder of another
    kind (a text model, a speech model given as a face backbone) is refused.
    """
    folder = resolve_folder(spec)
    read_config_json(folder)
    if not weight_files(folder):
        raise HarnessError(f"{folder}: no weights (*.safetensors or pytorch_model.bin) next to "
                           "config.json; the model folder is incomplete")
    transformers = import_transformers()
    try:
        config = transformers.AutoConfig.from_pretrained(folder, local_files_only=True)
    except Exception as exc:
        raise HarnessError(f"{folder}: config.json is not a transformers configuration "
                           f"({_short(exc)})") from None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            model, info = transformers.AutoModel.from_pretrained(
                folder, local_files_only=True, output_loading_info=True)
        except Exception as exc:
            raise HarnessError(f"{folder}: the weights do not load ({_short(exc)}); the folder "
                               "is damaged or not a complete transformers model") from None
    missing = tuple(info.get("missing_keys", ()))
    bad = [k for k in missing if not _optional(k)]
    if bad:
        raise HarnessError(f"{folder}: the weights lack {len(bad)} key(s) of the model, e.g. "
                           f"{bad[:3]}; wrong or damaged weights file")
    model = _tower(model, kind, folder)
    model.eval().requires_grad_(False)
    return LoadedModel(folder, model, getattr(model, "config", config), folder_digest(folder),
                       missing)


def _optional(key: str) -> bool:
    return any(key.startswith(p) or f".{p}" in key for p in OPTIONAL_PREFIXES)


INPUTS = {"vision": "pixel_values", "audio": "input_values"}
OTHER = {"vision": "--audio hf:PATH", "audio": "--backbone hf:PATH"}


def _tower(model, kind: str, folder: Path):
    """The model itself, or its vision tower (CLIP, SigLIP...), if it takes ``kind``'s input."""
    if _takes(model, INPUTS[kind]) and not _takes(model, "input_ids"):
        return model
    tower = getattr(model, "vision_model", None) if kind == "vision" else None
    if tower is not None and _takes(tower, INPUTS[kind]):
        return tower
    other = "audio" if kind == "vision" else "vision"
    if _takes(model, INPUTS[other]):
        raise HarnessError(f"{folder}: a {other} model ({type(model).__name__}); use it with "
                           f"{OTHER[kind]}")
    raise HarnessError(f"{folder}: {type(model).__name__} takes no {INPUTS[kind]} (a text-only "
                       f"model?); a {kind} model is needed here")


def _takes(model, name: str) -> bool:
    try:
        return name in inspect.signature(model.forward).parameters
    except (TypeError, ValueError):
        return False


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]
