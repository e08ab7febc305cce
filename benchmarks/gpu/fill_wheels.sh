#!/usr/bin/env bash
# Fill benchmarks/gpu/wheels/ (git-ignored) with cp312 wheels of what check.sh installs: the
# harness's dependencies that the GPU machine lacks (it has PyTorch, pandas, scikit-learn,
# OpenCV, ONNX Runtime and transformers). Run it on a machine with an index, then copy the
# repository (wheels included) to the GPU machine.
#
#   bash benchmarks/gpu/fill_wheels.sh [PLATFORM]     # default manylinux2014_x86_64
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PLATFORM="${1:-manylinux2014_x86_64}"
mkdir -p "$HERE/wheels"
python3 -m pip download --dest "$HERE/wheels" --python-version 3.12 --only-binary=:all: \
  --platform "$PLATFORM" --platform manylinux_2_28_x86_64 --platform any \
  typer rich librosa av tabulate filelock matplotlib platformdirs jinja2 soundfile
ls "$HERE/wheels" | wc -l
