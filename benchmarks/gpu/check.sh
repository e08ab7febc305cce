#!/usr/bin/env bash
# GPU check: every CUDA path of the harness, timed, on a bare machine, in under 8 minutes.
#
#   bash benchmarks/gpu/check.sh [--device cuda|cpu] OUT_DIR
#
# The machine has PyTorch (Python 3.12), pandas, scikit-learn, OpenCV, ONNX Runtime and
# transformers, and may reach no package index: what else the harness needs is installed from
# the cp312 wheels in benchmarks/gpu/wheels/ (git-ignored; fill it beforehand with
# benchmarks/gpu/fill_wheels.sh). Each figure is written to OUT_DIR as soon as it is measured
# (the machine may be taken back at any time): bench-<baseline>.json (inference and training at
# batch sizes up to 4,096 with the fraction of the bf16 matmul peak), bench-face.json (face data
# path and EmoNet extraction in images/s by worker count), run-<baseline>.json (a real-size
# features-only training epoch and test prediction: each stage's wall time and peak memory),
# torchrun.json (a 1-GPU torchrun run), and progress.log (each step's start, end and status).
# A step that fails is logged and the next one runs.
#
# --device cpu runs the same steps at tiny sizes (tests/throughput/test_gpu_check.py, so it cannot rot),
# with time limits 6x longer (CHECK_SLOW): a shared CPU is slow. On the GPU every step has a
# hard limit and the whole check a deadline of 420 s after the script starts (CHECK_DEADLINE;
# later steps are skipped and logged), leaving a minute for the machine's start within 8.
set -uo pipefail

DEVICE=cuda
if [[ "${1:-}" == "--device" ]]; then DEVICE="$2"; shift 2; fi
OUT="${1:?usage: check.sh [--device cuda|cpu] OUT_DIR}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
PY="${PYTHON:-python3}"
WORK="${CHECK_WORK:-$(mktemp -d)}"
export ABAW_HARNESS_HOME="$WORK/home" HARNESS_WORKDIR="$WORK/out" COLUMNS=200
START=$(date +%s)

log() { echo "$(( $(date +%s) - START ))s $*" | tee -a "$OUT/progress.log" >&2; }
# step NAME SECONDS CMD...: run with a time limit, log its status; never stops the script
# (each step's limit is cut to what is left of DEADLINE seconds; past it, steps are skipped)
step() {
  local name="$1" limit=$(( $2 * SLOW )) left=$(( DEADLINE - $(date +%s) + START )); shift 2
  if (( left < 10 )); then log "skip $name (deadline)"; return 0; fi
  (( limit > left )) && limit=$left
  log "start $name (limit ${limit}s)"
  timeout --kill-after=5 "$limit" "$@" >"$OUT/$name.out" 2>&1
  local rc=$?
  log "end $name rc=$rc"
  return 0
}

if [[ "$DEVICE" == cpu ]]; then   # tiny sizes: the script's own test
  BATCHES=2; REPEATS=1; QUICK=--quick; SCALE=(); EPOCHS=1; CHUNK=(--chunk-frames 64)
  AMP=(); BASELINES="${CHECK_BASELINES:-only_video,dense_sequence}"; SLOW="${CHECK_SLOW:-6}"
  DEADLINE="${CHECK_DEADLINE:-3600}"
else
  BATCHES=1,32,256,1024,4096; REPEATS=5; QUICK=; SCALE=(--real-scale); EPOCHS=1; CHUNK=()
  AMP=(--amp); BASELINES="${CHECK_BASELINES:-}"; SLOW="${CHECK_SLOW:-1}"
  DEADLINE="${CHECK_DEADLINE:-420}"
fi

# --- 1. install what is missing, from the wheels folder only (no index)
log "python $($PY -c 'import sys; print(sys.version.split()[0])'), device $DEVICE"
if ! $PY -c "import harness, typer, rich, librosa, av, filelock, platformdirs" 2>/dev/null; then
  step install 240 $PY -m pip install --no-index --find-links "$HERE/wheels" \
    typer rich librosa av tabulate filelock matplotlib platformdirs jinja2 soundfile
  step install-harness 60 $PY -m pip install --no-index --no-deps --no-build-isolation -e "$REPO"
fi
$PY - <<PYEOF >"$OUT/device.json" 2>>"$OUT/progress.log"
import json, torch
d = {"torch": torch.__version__, "cuda": torch.cuda.is_available()}
if d["cuda"]:
    p = torch.cuda.get_device_properties(0)
    d |= {"name": p.name, "memory_gb": round(p.total_memory / 2**30, 1),
          "bf16": torch.cuda.is_bf16_supported()}
print(json.dumps(d))
PYEOF
log "device $(cat "$OUT/device.json")"

# --- 2. every baseline: inference and training at each batch size, one file per baseline
if [[ -z "$BASELINES" ]]; then
  BASELINES=$($PY -c "from baselines import list_baselines; print(','.join(s.name for s in list_baselines()))")
fi
for b in ${BASELINES//,/ }; do
  step "bench-$b" 40 $PY - "$b" "$DEVICE" "$BATCHES" "$REPEATS" "${AMP[*]:-}" "$OUT/bench-$b.json" <<'PYEOF'
import sys
from harness.throughput import BenchConfig, run_bench, write_bench_json
name, device, batches, repeats, amp, out = sys.argv[1:7]
cfg = BenchConfig(baselines=[name], batch_sizes=tuple(int(b) for b in batches.split(",")),
                  device=device, amp=amp == "--amp", repeats=int(repeats), backbones=[],
                  data_path=False, paper_design=False, profile=False, quick=device == "cpu")
write_bench_json(run_bench(cfg), out)
PYEOF
done

# --- 3. the face data path and EmoNet extraction, images/s by worker count
step bench-face 75 $PY -m harness bench --baselines only_video --batch-sizes 256 \
  --device "$DEVICE" ${AMP[@]+"${AMP[@]}"} --repeats 2 $QUICK \
  --backbones "$([[ $DEVICE == cpu ]] && echo light || echo emonet)" --json "$OUT/bench-face.json"

# --- 4. real-size features-only corpus: one epoch and the test prediction of two baselines
step synth 90 $PY -m harness data synth ${SCALE[@]+"${SCALE[@]}"} --features-only --out "$WORK/big"
for m in face:face256 audio:audio1024 pose:pose36; do
  step "import-${m%%:*}" 45 $PY -m harness extract --data "$WORK/big" \
    --from "$WORK/big/features/${m%%:*}" --as "${m##*:}" --quiet
done
FEATS=(--data "$WORK/big" --face-features face256 --audio-features audio1024
       --pose-features pose36 --epochs "$EPOCHS" --device "$DEVICE" --quiet)
record_run() {  # the newest run folder of $1 -> OUT/run-$1.json (stages, memory, F1)
  local d
  d=$(ls -td "$HARNESS_WORKDIR"/runs/"$1"-* 2>/dev/null | head -1)
  [[ -n "$d" && -f "$d/run.json" ]] && cp "$d/run.json" "$OUT/run-$1.json" \
    && cp "$d/metrics.json" "$OUT/metrics-$1.json"
  log "recorded run $1: ${d:-none}"
}
step run-dense_sequence 80 $PY -m harness run dense_sequence "${FEATS[@]}" ${CHUNK[@]+"${CHUNK[@]}"}
record_run dense_sequence
step run-attention_fusion 120 $PY -m harness run attention_fusion "${FEATS[@]}"
record_run attention_fusion

# --- 5. torchrun with one process per GPU (one here)
step torchrun 60 $PY -m torch.distributed.run --standalone --nproc_per_node 1 -m harness run \
  only_video "${FEATS[@]}" --workdir "$WORK/torchrun"
d=$(ls -td "$WORK"/torchrun/runs/only_video-* 2>/dev/null | head -1)
[[ -n "$d" && -f "$d/run.json" ]] && cp "$d/run.json" "$OUT/torchrun.json"
log "done in $(( $(date +%s) - START ))s"
