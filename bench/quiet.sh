#!/bin/bash
# The quiet-machine run behind bench/README.md's issue-17 tables: every
# headline case at 2^16 leaves (suite 0x0001, full tree) next to its crypto
# floor, the GOMAXPROCS 1 vs 2 scaling cases, the tree-growth pair, the
# make bench-quick cases, and grow-50k at `sampled` on 1 and 2 cores.
#
#   bench/quiet.sh OUT_DIR [STEP ...]     (steps: head join scale grow quick sim interleave ceiling;
#                                         default all but interleave and ceiling;
#                                         SIM_PROCS="2 1" the GOMAXPROCS values of sim)
#
# Run it with nothing else on the machine (about 25 minutes on 2 cores).
# Each step is its own process; OUT_DIR/load.log has the load average
# before each. Outputs: OUT_DIR/{head,join,scale-1,grow,quick}.txt
# (benchstat-ready), OUT_DIR/sim-{2,1}.{log,json} (/usr/bin/time -v and
# the run's summary.json; the run itself in OUT_DIR/g50-{2,1}/, to compare
# with results/grow-50k).
set -euo pipefail
out=$(realpath -m "$1")
shift
steps=${*:-head join scale grow quick sim}
root=$(git rev-parse --show-toplevel)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
export GOFLAGS=${GOFLAGS:--buildvcs=false}
(cd "$root" && go test -c -o "$tmp/core.test" ./mls/core && go test -c -o "$tmp/suite.test" ./mls/internal/suite &&
	go build -o "$tmp/mlssim" ./cmd/mlssim)
cd "$root/mls/core"
b() { "$tmp/core.test" -test.run '^$' -test.benchmem -test.timeout 0 "$@"; }
logload() { echo "$(date -u +%FT%TZ) $1 $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/load.log"; }
big='cs=0x0001/n=65536/tree=full'
for s in $steps; do
	logload "$s"
	case $s in
	head) # commit create/process, UpdatePath create/apply and their floors
		b -test.bench "^Benchmark(Commit|CommitFloor)\$/^(create|process)\$/$big" -test.benchtime 20x -test.count 5 | tee "$out/head.txt"
		b -test.bench "^Benchmark(UpdatePath|CryptoFloor)\$/$big/^(create|create-par|create-split-par|apply|create-seq|create-par|create2phase-seq|create2phase-par|apply-seq|apply-par)\$" -test.benchtime 20x -test.count 5 | tee -a "$out/head.txt" ;;
	interleave) # item 3: UpdatePath create on 2 cores, overlapped vs two-phase vs the floors,
		# each case its own process, the order rotated every round (ROUNDS, default 6)
		cases="UpdatePath:create-seq UpdatePath:create-par UpdatePath:create2phase-par CryptoFloor:create-par"
		for r in $(seq 1 "${ROUNDS:-6}"); do
			logload "interleave-$r"
			for c in $cases; do
				b -test.bench "^Benchmark${c%%:*}\$/$big/^${c#*:}\$" -test.benchtime 20x -test.count 3 |
					grep '^Benchmark' | tee -a "$out/interleave.txt"
			done
			cases="${cases#* } ${cases%% *}"
		done ;;
	ceiling) # item 3: how much slower one vCPU runs while the other is busy. Per round
		# (ROUNDS, default 6): create-seq on one core alone ("solo"), then again while a
		# one-core X25519 loop (EncryptWithLabel, another process) keeps the other vCPU busy
		# ("loaded"), then create-par on 2 cores ("par"). The three are seconds apart, so
		# they pair only loosely on a VM that drifts.
		for r in $(seq 1 "${ROUNDS:-6}"); do
			logload "ceiling-$r"
			GOMAXPROCS=1 b -test.bench "^BenchmarkUpdatePath\$/$big/^create-seq\$" -test.benchtime 20x -test.count 3 |
				grep '^Benchmark' | sed 's/^/solo /' | tee -a "$out/ceiling.txt"
			# The loop runs from before create-seq's fixture build to after its
			# measurement (100M operations: hours; killed below).
			GOMAXPROCS=1 "$tmp/suite.test" -test.run '^$' -test.bench '^BenchmarkEncryptWithLabel$/^cs=0x0001$' \
				-test.benchtime 100000000x > /dev/null &
			loop=$!
			sleep 1
			GOMAXPROCS=1 b -test.bench "^BenchmarkUpdatePath\$/$big/^create-seq\$" -test.benchtime 20x -test.count 3 |
				grep '^Benchmark' | sed 's/^/loaded /' | tee -a "$out/ceiling.txt"
			kill "$loop"; wait "$loop" 2> /dev/null || true
			b -test.bench "^BenchmarkUpdatePath\$/$big/^create-par\$" -test.benchtime 20x -test.count 3 |
				grep '^Benchmark' | sed 's/^/par /' | tee -a "$out/ceiling.txt"
		done ;;
	join) # Welcome join and the joiner's tree validation, with floors
		b -test.bench "^Benchmark(Join|ValidateTree)\$/$big" -test.benchtime 1x -test.count 3 | tee "$out/join.txt"
		b -test.bench "^BenchmarkCryptoFloor\$/$big/^validate\$" -test.benchtime 1x -test.count 3 | tee -a "$out/join.txt" ;;
	scale) # the same cases on one core (the 2-core numbers are head and join)
		export GOMAXPROCS=1
		b -test.bench "^Benchmark(Join)\$/$big\$" -test.benchtime 1x -test.count 3 | tee "$out/scale-1.txt"
		b -test.bench "^Benchmark(ValidateTree)\$/$big/^(par|join-par)\$" -test.benchtime 1x -test.count 3 | tee -a "$out/scale-1.txt"
		b -test.bench "^BenchmarkCommit\$/^create\$/$big" -test.benchtime 20x -test.count 5 | tee -a "$out/scale-1.txt"
		b -test.bench "^BenchmarkUpdatePath\$/$big/^create-par\$" -test.benchtime 20x -test.count 5 | tee -a "$out/scale-1.txt"
		unset GOMAXPROCS ;;
	grow) # add=1 into a full 2^16 tree vs into a blank leaf
		b -test.bench '^BenchmarkAddGrow$' -test.count 6 | tee "$out/grow.txt" ;;
	quick) # make bench-quick
		b -test.bench '^Benchmark(Commit|CommitFloor|Join|ValidateTree|UpdatePath|CryptoFloor)$/^(create|process|cs=0x0001)$/^(cs=0x0001|n=1024)$/^(n=1024|tree=full)$' \
			-test.benchtime 5x -test.count 6 -test.cpu 1 | tee "$out/quick.txt" ;;
	sim) # grow-50k at sampled, 2 cores then 1
		for p in ${SIM_PROCS:-2 1}; do
			logload "sim-$p"
			(cd "$root" && GOMAXPROCS=$p /usr/bin/time -v "$tmp/mlssim" run --quiet workloads/grow-50k.yaml \
				--set output.events=false --out "$out/g50-$p") 2> "$out/sim-$p.log"
			cp "$out/g50-$p/summary.json" "$out/sim-$p.json"
		done ;;
	*) echo "quiet.sh: unknown step $s" >&2; exit 2 ;;
	esac
done
logload done
