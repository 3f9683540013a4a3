#!/usr/bin/env bash
# A sweep as a Slurm job array: one shard per array task, then one merge.
#
#   sbatch --array=0-3 scripts/slurm-sweep.sh configs/sweep-width.toml 4
#   # when every task has finished:
#   target/release/plstar merge --out results/merged results/shards/*/sweep-width
#
# Shards are 0-based: --shard I/N runs shard I of N, for I = 0 … N−1, so the array is
# 0-(N−1). The grid is split by estimated cost (most costly points first, each into the
# least-loaded shard), the same way on every task. Build once first (cargo build --release); every task
# runs the same binary. Each shard writes results/shards/<I>/<sweep name>/ and resumes if the
# task is restarted.
#SBATCH --job-name=plstar-sweep
#SBATCH --cpus-per-task=2
#SBATCH --time=02:00:00
set -euo pipefail
config=${1:?usage: sbatch --array=0-(N-1) scripts/slurm-sweep.sh CONFIG N}
shards=${2:?usage: sbatch --array=0-(N-1) scripts/slurm-sweep.sh CONFIG N}
index=${SLURM_ARRAY_TASK_ID:?run this under sbatch --array=0-$((shards - 1))}
exec target/release/plstar sweep --config "$config" --shard "$index/$shards" \
    --out "results/shards/$index" --quiet
