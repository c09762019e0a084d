# mlslab — see README.md.
GO        ?= go
VECTORS   ?= $(or $(MLS_TEST_VECTORS),../shared/test-vectors)
FUZZTIME  ?= 60s
BENCHTIME ?= 1s
COUNT     ?= 6
BENCHCPU  ?= 1,2
DATE      := $(shell date -u +%F)

.PHONY: all build test vet demo conformance fuzz bench bench-ed25519batch bench-batchverify bench-compare clean interop-tsmls interop interop-test slurm-test k8s-validate k8s-image results-pq

all: build

build:
	$(GO) build ./...

## test: the project's test command (CI runs exactly this): vet + all tests.
test:
	$(GO) mod download
	$(GO) vet ./...
	$(GO) test ./...

vet:
	$(GO) vet ./...

## demo: the default scenario at its default fidelity (sampled: real MLS groups);
## writes results/demo/ (CSV, summary, figures, table).
demo: results-demo

## conformance: every IETF vector file, one row per file.
conformance:
	$(GO) run ./cmd/mlssim conformance $(VECTORS)

## fuzz: run every fuzz target for FUZZTIME each.
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$f"; $(GO) test -run='^$$' -fuzz="^$$f$$" -fuzztime=$(FUZZTIME) $$pkg; \
	  done; done

## bench: the benchmark suite, COUNT runs each, into bench/out/DATE.txt.
bench:
	mkdir -p bench/out
	$(GO) test -run='^$$' -bench=. -benchmem -count=$(COUNT) -benchtime=$(BENCHTIME) -cpu=$(BENCHCPU) -timeout=0 ./... | tee bench/out/$(DATE).txt

## bench-ed25519batch: BenchmarkVerify of mls/internal/ed25519batch at every batch size 1..65536 (issue 17;
## about 5 minutes on 2 cores) into results/ed25519batch/bench.txt; summary: see results/ed25519batch/README.md.
bench-ed25519batch:
	mkdir -p results/ed25519batch
	$(GO) test -run='^$$' -bench='^BenchmarkVerify$$' -benchtime=3x -count=3 -timeout=0 ./mls/internal/ed25519batch -args -large | tee results/ed25519batch/bench.txt

## bench-batchverify: Join and ValidateTree at 2^16 before (BATCHBASE, main before batch verification) and
## after, interleaved, ROUNDS rounds (about 3 minutes each on 2 cores), into bench/out/batchverify-DATE/
## (issue 17, item 1; summaries: see bench/README.md).
BATCHBASE ?= 167bfbb
ROUNDS    ?= 5
bench-batchverify:
	bench/batchverify.sh $(BATCHBASE) bench/out/batchverify-$(DATE) $(ROUNDS)
	python3 bench/batchverify-ratios.py bench/out/batchverify-$(DATE)/base.txt bench/out/batchverify-$(DATE)/new.txt

## interop-tsmls: live interop with ts-mls 1.6.4 (Node.js >= 20 and npm; installs bench/peers/tsmls/node_modules).
interop-tsmls:
	cd bench/peers/tsmls && npm ci --no-audit --no-fund
	$(GO) test -count=1 ./interop/tsmls/...

## interop: generate the gRPC stubs of the MLS WG interop proto (never committed) and build bin/mlsinterop.
##   PROTO=path/to/mls_client.proto overrides ../shared/interop/mls_client.proto
##   (upstream: interop/proto/mls_client.proto of github.com/mlswg/mls-implementations).
PROTO ?= ../shared/interop/mls_client.proto
INTEROP_CONFIGS ?= ../shared/interop/configs
interop:
	PROTO=$(PROTO) GO=$(GO) cmd/mlsinterop/gen.sh

## interop-test: run every interop config (configs/*.json) against 2 bin/mlsinterop processes on loopback.
##   Knobs: MLSINTEROP_SUITES (default all 7), MLSINTEROP_COMBOS (all | N random assignments, default 2),
##   MLSINTEROP_DEEP_STEPS (deep_random prefix, default 400, 0 = all 1670 steps).
interop-test: interop
	cd cmd/mlsinterop && MLSINTEROP_CONFIGS=$(abspath $(INTEROP_CONFIGS)) $(GO) test -tags interop -count=1 -timeout 45m ./...

## slurm-test: the sharded sweep under a real one-node Slurm (installs slurm-wlm and munge when
## missing; root; a few minutes): deploy/slurm/test.sh.
slurm-test:
	GO=$(GO) deploy/slurm/test.sh

## k8s-validate: strict offline validation of deploy/k8s/*.yaml against the Kubernetes API types
## (its own Go module, deploy/k8s/validate, so mlslab does not depend on k8s.io).
k8s-validate:
	cd deploy/k8s/validate && $(GO) vet ./... && $(GO) test -count=1 ./... && $(GO) run . ..

## k8s-image: the container image the manifests run (docker; not part of CI).
K8S_IMAGE ?= $(shell sed -n 's/.*io\.mlslab\.image="\([^"]*\)".*/\1/p' deploy/k8s/Dockerfile)
k8s-image:
	docker build -f deploy/k8s/Dockerfile -t $(K8S_IMAGE) .

clean:
	rm -rf bin bench/out

## ---- figures, tables, results/ and notebooks/ (figures engineer; issue 6) ----
MLSSIM          ?= $(GO) run ./cmd/mlssim
BENCHSTAT       ?= $(GO) run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da
BENCH_THRESHOLD ?= 10
BENCH_ALPHA     ?= 0.05
BENCH_NEW       ?= $(lastword $(sort $(wildcard bench/out/*.txt)))
RUN              = $(MLSSIM) run --quiet --fidelity model
SWEEP            = $(MLSSIM) sweep --quiet --set fidelity=model --set output.events=false --keep-runs
FIGS            ?= png,svg,pdf
COMMIT_SIZES    ?= 100 1000 10000 50000

.PHONY: bench-quick bench-compare bench-baseline plots results results-demo results-pcs results-grow \
	results-collisions results-commit-size results-churn notebooks

## bench-quick: the headline cases only (commit create/process, join, tree validation, UpdatePath
## and their crypto floors at n = 1024, suite 0x0001, full tree; -bench matches per name level, which
## is why each level has its own pattern), benchstat-ready, a few minutes on 2 cores,
## into bench/out/quick-DATE.txt. Run it before a commit that touches mls/; `make bench-compare
## BENCH_NEW=bench/out/quick-DATE.txt` then compares those cases with the baseline.
QUICK_COUNT ?= 6
bench-quick:
	mkdir -p bench/out
	$(GO) test -run='^$$' -bench='^Benchmark(Commit|CommitFloor|Join|ValidateTree|UpdatePath|CryptoFloor)$$/^(create|process|cs=0x0001)$$/^(cs=0x0001|n=1024)$$/^(n=1024|tree=full)$$' \
	  -benchmem -count=$(QUICK_COUNT) -benchtime=5x -cpu=1 -timeout=0 ./mls/... | tee bench/out/quick-$(DATE).txt

## bench-compare: BENCH_NEW (default: the newest bench/out/*.txt; any benchmark output file works,
## e.g. BENCH_NEW=/tmp/new.txt) vs bench/baseline.txt (benchstat); fails when a benchmark is
## slower by more than BENCH_THRESHOLD % with p < BENCH_ALPHA. Only benchmarks present in both
## files are compared.
bench-compare:
	@test -n "$(BENCH_NEW)" || { echo "bench-compare: no bench/out/*.txt; run make bench-quick (minutes) or make bench, or pass BENCH_NEW=file" >&2; exit 2; }
	@test -f "$(BENCH_NEW)" || { echo "bench-compare: $(BENCH_NEW): no such file" >&2; exit 2; }
	$(BENCHSTAT) bench/baseline.txt $(BENCH_NEW)
	@tmp=$$(mktemp); trap 'rm -f $$tmp' EXIT; \
	  $(BENCHSTAT) -format csv bench/baseline.txt $(BENCH_NEW) > $$tmp 2>/dev/null; \
	  $(MLSSIM) bench-check $$tmp --threshold $(BENCH_THRESHOLD) --alpha $(BENCH_ALPHA)

## bench-baseline: make the newest bench/out/*.txt the committed baseline.
bench-baseline:
	@test -n "$(BENCH_NEW)" || { echo "bench-baseline: no bench/out/*.txt; run make bench first" >&2; exit 2; }
	cp $(BENCH_NEW) bench/baseline.txt

## plots: benchmark figures and table from the newest bench/out/*.txt (make bench && make plots).
plots:
	@test -n "$(BENCH_NEW)" || { echo "plots: no bench/out/*.txt; run make bench first" >&2; exit 2; }
	$(MLSSIM) bench-import $(BENCH_NEW) --out results/bench/bench.csv
	$(MLSSIM) plot results/bench/bench.csv --out results/bench/figures --format $(FIGS)
	$(MLSSIM) table results/bench/bench.csv --format markdown --out results/bench/table.md

## results: regenerate every canonical run, sweep, figure and table under results/ (demo and grow-50k at
## sampled, the rest at fidelity model; about 6 minutes on 2 cores, GROW_FIDELITY=model for a quick pass).
results: results-demo results-pcs results-grow results-collisions results-commit-size results-churn results-pq

## results-demo (make demo): the mission's three plots in about 30 s on 2 cores, into DEMO_OUT:
##   figures/commit-size (message size vs group size) and figures/commit-cpu (measured real-MLS CPU per
##   commit vs group size) from demo.yaml at sampled fidelity; figures/healing-cdf (Kaplan–Meier PCS
##   healing per self-update policy) from a week of demo.yaml at model fidelity, one compromise an hour.
DEMO_OUT      ?= results/demo
DEMO_POLICIES ?= 6h 1d 7d
DEMO_PCS       = $(RUN) workloads/demo.yaml --set duration=7d --set adversary.rate=1/h --set policy.update_on_send_idle=0 \
                 --set output.events=false
results-demo:
	rm -rf $(DEMO_OUT)
	$(MLSSIM) run --quiet --workers 1 workloads/demo.yaml --out $(DEMO_OUT)
	set -e; for p in $(DEMO_POLICIES); do \
	  $(DEMO_PCS) --set policy.self_update.interval=$$p --out $(DEMO_OUT)/policies/self-update-$$p; done
	gzip -n -9 $(DEMO_OUT)/policies/*/epochs.csv
	$(MLSSIM) plot $(DEMO_OUT) --figures commit-size,commit-cpu,tree-health --format $(FIGS)
	$(MLSSIM) plot $(foreach p,$(DEMO_POLICIES),$(DEMO_OUT)/policies/self-update-$(p)) --figures healing-cdf \
	  --out $(DEMO_OUT)/figures --format $(FIGS)
	$(MLSSIM) table $(DEMO_OUT) --format markdown --out $(DEMO_OUT)/summary.md
	$(MLSSIM) table $(foreach p,$(DEMO_POLICIES),$(DEMO_OUT)/policies/self-update-$(p)) --kind healing \
	  --format markdown --out $(DEMO_OUT)/healing.md

PCS = $(RUN) workloads/pcs-policies.yaml --set duration=28d --set output.events=false
## The active adversary (ghost member, external rejoin, injection; workloads/README.md "Active adversary"):
## own commits (committer proposer, so a victim's commits can add its ghost), 30 % signature-key compromises,
## silent members removed after 3 days inactive (1 day in the last run).
ACTIVE = $(PCS) --set policy.committer=proposer --set adversary.signature_key_fraction=0.3 --set adversary.ghost=true \
	--set group.external_commits=true --set adversary.rejoin=true --set policy.remove_inactive_after=3d
results-pcs:
	rm -rf results/pcs-policies
	$(PCS) --set policy.self_update.interval=6h --out results/pcs-policies/self-update-6h
	$(PCS) --set policy.self_update.interval=1d --out results/pcs-policies/self-update-1d
	$(PCS) --set policy.self_update.interval=7d --out results/pcs-policies/self-update-7d
	$(PCS) --set policy.self_update.interval=1d --set policy.update_as=proposal --out results/pcs-policies/proposal-1d
	$(PCS) --set policy.self_update.interval=7d --set policy.update_on_send_idle=12h --out results/pcs-policies/on-send-12h
	set -e; for p in 6h 1d 7d; do $(ACTIVE) --set policy.self_update.interval=$$p --out results/pcs-policies/active-$$p; done
	$(ACTIVE) --set policy.self_update.interval=1d --set policy.remove_inactive_after=1d --out results/pcs-policies/active-1d-inactive-1d
	gzip -n -9 results/pcs-policies/*/epochs.csv
	$(SWEEP) workloads/pcs-policies.yaml --seeds 10 --grid policy.self_update.interval=2h,6h,1d,3d,7d \
	  --grid policy.update_as=commit,proposal --out results/pcs-policies/sweep
	find results/pcs-policies/sweep/runs -name 'epochs.csv' -delete
	gzip -n -9 results/pcs-policies/sweep/runs/*/compromises.csv
	$(MLSSIM) plot results/pcs-policies/self-update-6h results/pcs-policies/self-update-1d \
	  results/pcs-policies/self-update-7d results/pcs-policies/proposal-1d results/pcs-policies/on-send-12h \
	  --figures healing-cdf --out results/pcs-policies/figures --format $(FIGS)
	$(MLSSIM) plot results/pcs-policies/sweep --figures frontier --out results/pcs-policies/figures --format $(FIGS)
	$(MLSSIM) table results/pcs-policies/self-update-6h results/pcs-policies/self-update-1d \
	  results/pcs-policies/self-update-7d results/pcs-policies/proposal-1d results/pcs-policies/on-send-12h \
	  --kind healing --format markdown --out results/pcs-policies/healing.md
	$(MLSSIM) table results/pcs-policies/sweep --format markdown --out results/pcs-policies/sweep.md
	$(MLSSIM) table results/pcs-policies/sweep --kind paired --baseline policy.self_update.interval=1d --tau 3d \
	  --format markdown --out results/pcs-policies/paired-interval.md
	$(MLSSIM) table results/pcs-policies/sweep --kind paired --baseline policy.update_as=commit --tau 3d \
	  --format markdown --out results/pcs-policies/paired-update-as.md

GROW_FIDELITY ?= sampled
results-grow:
	rm -rf results/grow-50k
	$(MLSSIM) run --quiet --fidelity $(GROW_FIDELITY) workloads/grow-50k.yaml --set output.events=false --out results/grow-50k
	gzip -n -9 results/grow-50k/epochs.csv
	$(MLSSIM) plot results/grow-50k --format $(FIGS)
	$(MLSSIM) table results/grow-50k --format markdown --out results/grow-50k/summary.md

results-collisions:
	rm -rf results/collisions
	$(SWEEP) workloads/collisions.yaml --seeds 3 --grid policy.self_update.interval=5m,10m,30m,2h,6h \
	  --grid network.latency.median=50ms,200ms,1s --out results/collisions
	find results/collisions/runs -name '*.csv' -delete
	$(MLSSIM) plot results/collisions --format $(FIGS)
	$(MLSSIM) table results/collisions --metrics commits,collisions,retries,collision_rate \
	  --format markdown --out results/collisions/table.md

results-commit-size:
	rm -rf results/commit-size
	set -e; for n in $(COMMIT_SIZES); do \
	  $(RUN) workloads/grow-50k.yaml --set name=grow-n$$n --set population.initial_users=$$n \
	    --set policy.self_update.first_after=0 --set policy.self_update.interval=1d --set duration=3d \
	    --set population.phases.0.target_users=$$n --set population.phases.1.join_rate=0 \
	    --set population.phases.1.leave_rate=0 --set output.events=false --out results/commit-size/n=$$n; \
	  gzip -n -9 results/commit-size/n=$$n/epochs.csv; done
	$(MLSSIM) plot $(foreach n,$(COMMIT_SIZES),results/commit-size/n=$(n)) --figures commit-size,tree-health \
	  --out results/commit-size/figures --format $(FIGS)
	$(MLSSIM) table $(foreach n,$(COMMIT_SIZES),results/commit-size/n=$(n)) --format markdown --out results/commit-size/summary.md

CHURN = $(RUN) workloads/churn-enterprise.yaml --set output.events=false
CHURN_RUNS = no-updates proposal-3d commit-3d commit-1d
results-churn:
	rm -rf results/churn
	$(CHURN) --set policy.self_update.interval=0 --set policy.update_on_send_idle=0 --out results/churn/no-updates
	$(CHURN) --out results/churn/proposal-3d
	$(CHURN) --set policy.update_as=commit --out results/churn/commit-3d
	$(CHURN) --set policy.update_as=commit --set policy.self_update.interval=1d --out results/churn/commit-1d
	gzip -n -9 results/churn/*/epochs.csv
	$(MLSSIM) plot $(foreach r,$(CHURN_RUNS),results/churn/$(r)) --figures tree-health,frontier \
	  --out results/churn/figures --format $(FIGS)
	$(MLSSIM) table $(foreach r,$(CHURN_RUNS),results/churn/$(r)) --format markdown --out results/churn/summary.md

## results-pq (issue 16, notebooks/pq-cost.md): workloads/pq.yaml for suite 0x0001 and PQ_SUITE (83 = 0x0053,
## X-Wing) at group sizes PQ_SAMPLED (fidelity sampled: real MLS, measured CPU) and PQ_MODEL (model: exact
## sizes, no CPU); about 6 minutes on 2 cores, most of it the sampled X-Wing run at N = 1000.
PQ_SUITE   ?= 83
PQ_SAMPLED ?= 100 1000
PQ_MODEL   ?= 10000 50000
PQ_RUN      = $(MLSSIM) run --quiet workloads/pq.yaml
PQ_DIRS     = $(foreach s,1 $(PQ_SUITE),$(foreach n,$(PQ_SAMPLED) $(PQ_MODEL),results/pq/suite=$(s)/n=$(n)))
results-pq:
	rm -rf results/pq
	set -e; for s in 1 $(PQ_SUITE); do \
	  for n in $(PQ_SAMPLED); do $(PQ_RUN) --workers 1 --set name=pq-n$$n --set suite=$$s --set population.initial_users=$$n \
	    --out results/pq/suite=$$s/n=$$n; done; \
	  for n in $(PQ_MODEL); do $(PQ_RUN) --fidelity model --set name=pq-n$$n --set suite=$$s --set population.initial_users=$$n \
	    --out results/pq/suite=$$s/n=$$n; done; done
	gzip -n -9 results/pq/suite=*/n=*/epochs.csv
	$(MLSSIM) plot $(PQ_DIRS) --figures pq-ratio --out results/pq/figures --format $(FIGS)
	$(MLSSIM) table $(PQ_DIRS) --format markdown --out results/pq/summary.md

## notebooks: regenerate results/ (figures and tables the notebooks embed) and check every
## notebook's figure links and commands.
notebooks: results
	$(GO) test ./cmd/mlssim -run 'TestNotebooks' -count=1

## ---- issue 14: reproductions of published results (notebooks/repro/) ----
## repro_check ENV,TEST,RUNS,OUT: go test TEST with ENV=RUNS (the study's runs); its -v output goes to the
## terminal and to OUT without go test's timings (byte-reproducible); the recipe fails when the test does.
repro_check = $(1)=$(abspath $(3)) $(GO) test ./cmd/mlssim -run $(2) -count=1 -v > $(4).log; s=$$?; cat $(4).log; \
	sed -E 's/ \([0-9.]+s\)$$//; s/\t[0-9.]+s$$//' $(4).log > $(4); rm $(4).log; exit $$s
## repro: every study's runs, figures and checks into results/repro/<study>/ (about 12 minutes on 2 cores:
## repro-concurrent-updates up to N = 2^16 about 2, repro-tainted-treekem about 7, repro-cross-group about 1).
.PHONY: repro repro-bare-base repro-cost-formula repro-concurrent-updates repro-tainted-treekem repro-saik-large-group \
	repro-cross-group
repro: repro-bare-base repro-cost-formula repro-concurrent-updates repro-tainted-treekem repro-saik-large-group \
	repro-cross-group

## repro-bare-base (study 1): group sizes 2..1000, one run each; the runs' CSVs are deleted after the
## figure (its path-cost.json sidecar keeps every plotted number), except N=300's epochs.csv.gz.
BARE_BASE_N ?= $(shell seq -s, 2 1000)
repro-bare-base:
	rm -rf results/repro/bare-base
	$(RUN) workloads/repro/bare-base.yaml --out results/repro/bare-base/n=300
	gzip -n -9 results/repro/bare-base/n=300/epochs.csv
	$(SWEEP) workloads/repro/bare-base.yaml --grid population.initial_users=$(BARE_BASE_N) --out results/repro/bare-base/sweep
	$(MLSSIM) plot results/repro/bare-base/sweep/runs/* --figures path-cost --out results/repro/bare-base/figures --format $(FIGS)
	rm -rf results/repro/bare-base/sweep/runs

## repro-cost-formula (study 2): N = 2^4..2^17, one run each (times scaled with N, see the scenario),
## then TestReproCostFormula checks every full-tree commit of those runs (check.txt); the runs' epochs.csv.gz
## (11 MB, 5 MB at N = 2^17) are deleted after the figure and table: this target regenerates them in ~15 s.
COST_K ?= 4 5 6 7 8 9 10 11 12 13 14 15 16 17
repro-cost-formula:
	rm -rf results/repro/cost-formula
	set -e; for k in $(COST_K); do n=$$((1<<k)); \
	  $(RUN) workloads/repro/cost-formula.yaml --set population.initial_users=$$n \
	    --set policy.self_update.first_after=$$((4*n))s --set policy.self_update.interval=$$((8*n))s \
	    --set duration=$$((18*n))s --out results/repro/cost-formula/n=$$n; \
	  gzip -n -9 results/repro/cost-formula/n=$$n/epochs.csv; done
	$(call repro_check,REPRO_COST_RUNS,TestReproCostFormula,results/repro/cost-formula,results/repro/cost-formula/check.txt)
	$(MLSSIM) plot $(foreach k,$(COST_K),results/repro/cost-formula/n=$$((1<<$(k)))) --figures commit-size \
	  --out results/repro/cost-formula/figures --format $(FIGS)
	$(MLSSIM) table $(foreach k,$(COST_K),results/repro/cost-formula/n=$$((1<<$(k)))) --format markdown \
	  --out results/repro/cost-formula/summary.md
	rm -f results/repro/cost-formula/n=*/epochs.csv.gz

## repro-concurrent-updates (study 4): P = 0, 1, 2, 5, 10 Update proposals per commit (CU_P), N = 2^6..2^16
## (CU_K), one run each: interval 10·N s, the first interval plus ~8·N commits (P = 0: self-update commits).
## TestReproConcurrentUpdates fits the exponents (fit.txt, without go test's timings); the figure's sidecar
## keeps every plotted number; the runs' CSVs are deleted. CU_K="6 7 8 9 10 11 12" is the fast path.
CU_K ?= 6 7 8 9 10 11 12 13 14 15 16
CU_P ?= 0 1 2 5 10
repro-concurrent-updates:
	rm -rf results/repro/concurrent-updates
	set -e; for p in $(CU_P); do for k in $(CU_K); do n=$$((1<<k)); d=$$((10*n*(1+8*p))); u=proposal; \
	  if [ $$p = 0 ]; then d=$$((90*n)); u=commit; fi; \
	  $(RUN) workloads/repro/concurrent-updates.yaml --set population.initial_users=$$n \
	    --set policy.self_update.interval=$$((10*n))s --set policy.update_as=$$u \
	    --set policy.min_proposals_per_commit=$$p --set policy.max_proposals_per_commit=$$p \
	    --set duration=$${d}s --out results/repro/concurrent-updates/runs/p=$$p/n=$$n; done; done
	$(call repro_check,REPRO_CU_RUNS,TestReproConcurrentUpdates,results/repro/concurrent-updates/runs,results/repro/concurrent-updates/fit.txt)
	$(MLSSIM) plot results/repro/concurrent-updates/runs/*/* --figures concurrent-updates \
	  --out results/repro/concurrent-updates/figures --format $(FIGS)
	rm -rf results/repro/concurrent-updates/runs

## repro-tainted-treekem (study 3): sizes i = 3..15 (TT_K): 2^(i-1) members, 10·2^i operations (10 % add,
## 10 % remove, 80 % update, one every 10 s), 8 seeds (TT_SEEDS), issuer uniform, zipf (1/k, k in join order) or
## zipfrandom (1/k, ranks in a random order) × committed by the issuer or proposed and committed by a random member
## × bare start or filled (operations.fill: every member self-updates once first). One mlssim binary for the
## 1 248 runs (about 7 minutes on 2 cores, 25 on a heavily shared machine; TT_JOBS runs at
## once); TestReproTaintedTreeKEM checks the runs and writes table.txt (without go test's timings); one figure
## per start (figures/bare, figures/filled: six variants each), whose sidecars keep every plotted number; the runs
## are deleted. TT_K="3 4 5 6 7 8 9 10" is the fast path.
TT_K     ?= 3 4 5 6 7 8 9 10 11 12 13 14 15
TT_SEEDS ?= 14 15 16 17 18 19 20 21
TT_JOBS  ?= 2
repro-tainted-treekem:
	rm -rf results/repro/tainted-treekem
	mkdir -p results/repro/tainted-treekem
	set -e; bin=$$(mktemp -d)/mlssim; $(GO) build -o $$bin ./cmd/mlssim; \
	for iss in uniform zipf zipfrandom; do law=$${iss%random}; ord=join; [ $$iss = zipfrandom ] && ord=random; \
	for c in issuer proposal; do for fill in bare filled; do \
	  for k in $(TT_K); do n=$$((1<<(k-1))); ops=$$((10*(1<<k))); f=false; d=$$((10*(ops+1))); \
	    if [ $$fill = filled ]; then f=true; d=$$((10*(ops+n+1))); fi; \
	    for seed in $(TT_SEEDS); do \
	      echo "$$bin run --quiet --fidelity model workloads/repro/tainted-treekem.yaml --set seed=$$seed \
	        --set population.initial_users=$$n --set operations.count=$$ops --set operations.issuer=$$law \
	        --set operations.issuer_order=$$ord --set operations.commit=$$c --set operations.fill=$$f --set duration=$${d}s \
	        --out results/repro/tainted-treekem/runs/$$iss-$$c-$$fill/i=$$k-seed=$$seed \
	        && rm results/repro/tainted-treekem/runs/$$iss-$$c-$$fill/i=$$k-seed=$$seed/epochs.csv"; \
	    done; done; done; done; done | xargs -P $(TT_JOBS) -I{} sh -c {}; rm -rf $$(dirname $$bin)
	$(call repro_check,REPRO_TT_RUNS,TestReproTaintedTreeKEM,results/repro/tainted-treekem/runs,results/repro/tainted-treekem/table.txt)
	for start in bare filled; do $(MLSSIM) plot results/repro/tainted-treekem/runs/*-$$start/* --figures ops-cost \
	  --out results/repro/tainted-treekem/figures/$$start --format $(FIGS) || exit 1; done
	rm -rf results/repro/tainted-treekem/runs

## repro-saik-large-group (study 5): a newly created 10 000-member group (one add-only commit) and its first
## state change (one member's self-update commit: 9 999 ciphertexts), for every suite 1..7 (a few seconds);
## TestReproSAIKLargeGroup decomposes the sizes into table.txt (without go test's timings). The runs (a
## 3-line epochs.csv and summary.json each) are kept.
repro-saik-large-group:
	rm -rf results/repro/saik-large-group
	set -e; for s in 1 2 3 4 5 6 7; do \
	  $(RUN) workloads/repro/saik-large-group.yaml --set suite=$$s --out results/repro/saik-large-group/runs/suite=$$s; done
	$(call repro_check,REPRO_SAIK_RUNS,TestReproSAIKLargeGroup,results/repro/saik-large-group/runs,results/repro/saik-large-group/table.txt)

## repro-cross-group (study 6): one client in k = 3 and 5 groups (CG_K), updating in all of them (update_groups=0)
## or in group 0 only (=1), CG_SEEDS seeds of 28 days each at model (~1 min on 2 cores). TestReproCrossGroup checks the
## runs (check.txt, without go test's timings), then the figure, the paired table (RMST up to 7 d), a sampled cross-check
## (real shadow adversary, 7 days) and one scripted signature-key compromise. The sweep runs keep their pooled
## compromises.csv.gz and the summary.json files (TestReproCrossGroup and the figure re-run on them).
CG_K ?= 3,5
CG_SEEDS ?= 20
repro-cross-group:
	rm -rf results/repro/cross-group
	$(SWEEP) workloads/repro/cross-group.yaml --grid groups.count=$(CG_K) --grid groups.update_groups=0,1 \
	  --seeds $(CG_SEEDS) --out results/repro/cross-group/sweep
	$(call repro_check,REPRO_CG_RUNS,TestReproCrossGroup,results/repro/cross-group/sweep,results/repro/cross-group/check.txt)
	$(MLSSIM) plot results/repro/cross-group/sweep/runs/* --figures cross-group --out results/repro/cross-group/figures --format $(FIGS)
	$(MLSSIM) table results/repro/cross-group/sweep --kind paired --baseline groups.update_groups=0 --tau 7d --format markdown \
	  --out results/repro/cross-group/paired.md
	$(MLSSIM) run workloads/repro/cross-group.yaml --quiet --fidelity sampled --set duration=7d --set groups.update_groups=1 \
	  --set output.events=false --out results/repro/cross-group/sampled-one
	$(RUN) workloads/repro/cross-group.yaml --set duration=7d --set groups.update_groups=1 --set output.events=false \
	  --out results/repro/cross-group/model-one
	$(RUN) workloads/repro/cross-group.yaml --set adversary.rate=0 --set 'adversary.compromises=[{at: 2d, signature_key: true}]' \
	  --set output.events=false --out results/repro/cross-group/signature-key
	find results/repro/cross-group -name epochs.csv -delete
	find results/repro/cross-group/sweep/runs -path '*group=*' -name compromises.csv -delete
	gzip -n -9 results/repro/cross-group/sweep/runs/*/compromises.csv
