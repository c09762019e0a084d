#!/bin/bash
# Interleaved before/after benchmark of batch leaf-signature verification
# (issue 17, item 1): BenchmarkJoin, BenchmarkValidateTree and
# BenchmarkCryptoFloor/validate at 2^16 leaves, suite 0x0001.
#
#   bench/batchverify.sh BASE_REV OUT_DIR [ROUNDS]
#
# Builds the mls/core test binary of BASE_REV (with this tree's
# group_bench_test.go, so that BenchmarkJoin reports cpu-ns/op there too;
# the implementation is BASE_REV's) and of the working tree, then runs
# ROUNDS (default 5) rounds of base-then-new, one process per benchmark set
# and round (-benchtime=1x), appending to OUT_DIR/base.txt and
# OUT_DIR/new.txt, with the load average of each round in OUT_DIR/rounds.log.
# Summaries: benchstat OUT_DIR/base.txt OUT_DIR/new.txt and
# python3 bench/batchverify-ratios.py OUT_DIR/base.txt OUT_DIR/new.txt.
set -euo pipefail
base_rev=$1
out=$(realpath -m "$2")
rounds=${3:-5}
root=$(git rev-parse --show-toplevel)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
git -C "$root" archive "$base_rev" | tar -x -C "$tmp"
cp "$root/mls/core/group_bench_test.go" "$tmp/mls/core/group_bench_test.go"
(cd "$tmp" && go test -c -o "$tmp/base.test" ./mls/core)
(cd "$root" && go test -c -o "$tmp/new.test" ./mls/core)
cd "$root/mls/core"
for i in $(seq "$rounds"); do
	for v in base new; do
		echo "# round $i $v $(date -u +%FT%T) nproc $(nproc) load $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/rounds.log"
		"$tmp/$v.test" -test.run '^$' -test.bench '^(BenchmarkJoin|BenchmarkValidateTree)$/cs=0x0001/n=65536/tree=full' \
			-test.benchtime 1x -test.count 1 -test.timeout 0 >>"$out/$v.txt"
		"$tmp/$v.test" -test.run '^$' -test.bench '^BenchmarkCryptoFloor$/cs=0x0001/n=65536/tree=full/validate$' \
			-test.benchtime 1x -test.count 1 -test.timeout 0 >>"$out/$v.txt"
	done
done
