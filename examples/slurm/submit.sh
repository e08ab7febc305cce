#!/bin/bash
# Submit the whole study: stage-1 models (one task per split, which also extracts shard 1),
# then every feature shard, then the runs. Set ABAW_DATA, ABAW_HARNESS_HOME (shared caches)
# and HARNESS_WORKDIR (shared runs and leaderboard) on a file system every node sees.
set -euo pipefail
cd "$(dirname "$0")"
SHARDS=${SHARDS:-8}
last=$((6 * SHARDS - 1))
first=$(sbatch --parsable --array=0-${last}:${SHARDS} extract.sbatch)
all=$(sbatch --parsable --array=0-${last} --dependency=afterok:${first} extract.sbatch)
sbatch --dependency=afterok:${all} runs.sbatch
