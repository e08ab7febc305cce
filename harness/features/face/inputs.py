"""What face features are computed from, for the cache to tell a changed input from a copy.

A face entry depends on its name's face images; a fine-tuned one also on the stage-1 model,
which depends on the faces of the split's training and validation names. Each is summarised by
which frames have an image and each image's size (``FaceIndex.digest``: no image opened), so a
restored or replaced face folder is recomputed and a copied release is not.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterable

from harness.data.release import Release
from harness.data.splits import Split
from harness.features.inputs import Inputs

FACES = "faces"
MODEL_FACES = "face model's training faces"


def faces_of(release: Release, names: Iterable[str]) -> tuple[str, str]:
    """(digest, description) of the face images of ``names`` together."""
    h, count, size, names = hashlib.sha256(), 0, 0, sorted(set(names))
    for name in names:
        h.update(f"{name}\0{release.faces.digest(name)}\n".encode())
        count += int(release.faces.frames(name).size)
        size += int(release.faces.sizes(name).clip(min=0).sum())
    return h.hexdigest()[:16], f"{count} face images of {len(names)} name(s), {size / 1e6:.1f} MB"


def training_faces(release: Release, split: Split) -> tuple[str, str]:
    """The faces a stage-1 model of ``split`` learns from (training) and is chosen on (val)."""
    return faces_of(release, (*split.train, *split.val))


def face_inputs(release: Release, split: Split | None) -> Callable[[str], Inputs]:
    """Per name: its own faces and, for a fine-tuned model (``split`` given), the model's."""
    model = functools.cache(lambda: training_faces(release, split))  # on first use only

    def inputs(name: str) -> Inputs:
        own = (release.faces.digest(name), release.faces.summary(name))
        return Inputs({FACES: own} | ({MODEL_FACES: model()} if split is not None else {}))
    return inputs
