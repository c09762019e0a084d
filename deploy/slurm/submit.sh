#!/bin/bash
# Submits a sharded mlssim sweep to Slurm: an array of N shard tasks
# (sweep.sbatch) and a merge job that runs when all of them succeeded
# (merge.sbatch, --dependency=afterok). Prints the two job IDs.
#
#   deploy/slurm/submit.sh N OUT SCENARIO [mlssim sweep flags...]
#
# Extra sbatch options for both jobs (partition, account, ...):
# SBATCH_ARGS="--partition=short --account=lab". MLSSIM (default bin/mlssim)
# is the binary the jobs run.
set -euo pipefail
if [ $# -lt 3 ]; then
	echo "usage: $0 N OUT SCENARIO [mlssim sweep flags...]" >&2
	exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
shards=$1 out=$2
case $shards in '' | *[!0-9]* | 0) echo "$0: N must be a positive integer, got '$shards'" >&2; exit 2 ;; esac
export MLSSIM=${MLSSIM:-bin/mlssim}
if [ ! -x "$MLSSIM" ]; then
	echo "$0: $MLSSIM is not an executable; build it first: go build -o bin/mlssim ./cmd/mlssim" >&2
	exit 2
fi
mkdir -p "$out"
# shellcheck disable=SC2086
array=$(sbatch --parsable ${SBATCH_ARGS:-} --array="0-$((shards - 1))" --output="$out/slurm-%A_%a.out" \
	"$here/sweep.sbatch" "$@")
array=${array%%;*}
# shellcheck disable=SC2086
merge=$(sbatch --parsable ${SBATCH_ARGS:-} --dependency="afterok:$array" --kill-on-invalid-dep=yes \
	--output="$out/slurm-merge-%j.out" "$here/merge.sbatch" "$out")
merge=${merge%%;*}
echo "array job $array ($shards shards) -> $out"
echo "merge job $merge (after every shard succeeds) -> $out/sweep.csv"
