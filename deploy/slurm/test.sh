#!/usr/bin/env bash
# make slurm-test: the sharded sweep under a real Slurm, on one node.
#
# Installs Debian's slurm-wlm and munge when missing (root, apt-get), starts
# munged, slurmctld and slurmd by hand from a temporary directory (a minimal
# slurm.conf, free non-default ports, no systemd), builds mlssim once and:
#
#   1. submits deploy/slurm/submit.sh (an sbatch array of 3 shards and a merge
#      job with --dependency=afterok) for 3 grid points x 2 seeds at fidelity
#      model, with the test hook MLSSIM_FAIL_SHARD=1: shard 1 fails one cell;
#      checks that Slurm records task 1 as failed, that the merge job never
#      ran, and that `mlssim status` and `mlssim merge` (exit 2) name the
#      failed cell by its grid key;
#   2. re-runs only shard 1 (sbatch --array=1) and a merge job after it,
#      checks that shards 0 and 2 were not touched and that the merged
#      sweep.csv is byte-identical to the same sweep run in one process.
#
# Every daemon it started is stopped by PID on exit (success, failure,
# timeout or interrupt); the temporary directory is removed and no process
# of the test is left (checked). On failure it prints the daemon logs and
# the job outputs. Knobs: SLURM_TEST_TIMEOUT (seconds per wait, default
# 180), SLURM_TEST_KEEP=1 keeps the temporary directory.
#
# The caller's Slurm environment is dropped first (SLURM_CONF, SBATCH_*,
# SLURM_*, SALLOC_*, SRUN_*): every Slurm command here talks to the private
# cluster only, never to a real one the caller may be configured for.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
TIMEOUT=${SLURM_TEST_TIMEOUT:-180}
KEEP=${SLURM_TEST_KEEP:-}
unset SLURM_CONF SBATCH_ARGS ${!SBATCH_@} ${!SLURM_@} ${!SALLOC_@} ${!SRUN_@}
GO=${GO:-go}
start=$SECONDS
log() { printf '[slurm-test %3ds] %s\n' "$((SECONDS - start))" "$*"; }
fail() {
	printf '[slurm-test %3ds] FAIL: %s\n' "$((SECONDS - start))" "$*" >&2
	exit 1
}

# --- 0. Slurm and munge ---------------------------------------------------
pkgs=()
for c in slurmctld slurmd sbatch; do command -v $c >/dev/null || { pkgs+=(slurm-wlm); break; }; done
command -v munged >/dev/null || pkgs+=(munge)
{ command -v pgrep >/dev/null && command -v free >/dev/null; } || pkgs+=(procps)
if [ "${#pkgs[@]}" -gt 0 ]; then
	[ "$(id -u)" = 0 ] || fail "${pkgs[*]} not installed and I am not root: apt-get install ${pkgs[*]}"
	log "installing ${pkgs[*]} (apt-get)"
	export DEBIAN_FRONTEND=noninteractive
	aptlog=$(mktemp /tmp/slurm-test-apt.XXXXXX)
	if ! apt-get install -y -q --no-install-recommends "${pkgs[@]}" >"$aptlog" 2>&1; then
		log "apt-get install failed; apt-get update and again"
		apt-get update -q >>"$aptlog" 2>&1 || true
		apt-get install -y -q --no-install-recommends "${pkgs[@]}" >>"$aptlog" 2>&1 ||
			{ tail -30 "$aptlog" >&2; rm -f "$aptlog"; fail "apt-get install ${pkgs[*]} failed"; }
	fi
	rm -f "$aptlog"
fi
[ "$(id -u)" = 0 ] || fail "the one-node Slurm runs its daemons as root (SlurmUser=root); run as root"
log "$(slurmctld -V), munge $(munged --version 2>&1 | awk '{print $2; exit}')"

# --- temporary directory, cleanup ------------------------------------------
tmp=$(mktemp -d /tmp/mlssim-slurm-test.XXXXXX)
chmod 755 "$tmp"
pids=()   # daemons we started, in start order
names=()
ctld_up=  # set once our private slurmctld answers (SLURM_CONF is ours)
slurmd_pid=

# our_stepds: the slurmstepd processes of our slurmd only: its children, and
# any whose environment names the temporary directory (slurmd starts them
# with its environment, which holds SLURM_CONF=$tmp/slurm.conf and
# MLSSIM_SLURM_TEST=$tmp). Another Slurm's steps on this machine are never
# touched.
our_stepds() {
	local pid
	{
		[ -n "$slurmd_pid" ] && pgrep -P "$slurmd_pid" 2>/dev/null
		for pid in $(pgrep -f '^slurmstepd' 2>/dev/null); do
			tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qF -- "$tmp" && echo "$pid"
		done
	} | sort -un
}

show_logs() {
	for f in "$tmp"/munged.log "$tmp"/slurmctld.log "$tmp"/slurmd.log; do
		[ -f "$f" ] || continue
		echo "----- $f (last 40 lines)" >&2
		tail -40 "$f" >&2
	done
	for f in "$tmp"/out/slurm-*.out; do
		[ -f "$f" ] || continue
		echo "----- $f" >&2
		cat "$f" >&2
	done
	if [ -n "$ctld_up" ]; then
		echo "----- sinfo / squeue / scontrol show job" >&2
		timeout 10 sinfo -N -l >&2 || true
		timeout 10 squeue -l >&2 || true
		timeout 10 scontrol show job >&2 || true
	fi
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	set +e
	if [ "$rc" != 0 ]; then
		log "failed (exit $rc): logs follow"
		show_logs
	fi
	if [ -n "$ctld_up" ]; then
		# Our private cluster's jobs only: ctld_up is set once our slurmctld
		# answered with SLURM_CONF=$tmp/slurm.conf (the caller's was unset).
		SLURM_CONF=$tmp/slurm.conf timeout 10 scancel --quiet --user=root >/dev/null 2>&1
	fi
	local stepds
	stepds=$(our_stepds)
	# Stop in reverse start order: slurmd, slurmctld, munged.
	local i pid
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		pid=${pids[i]}
		kill -0 "$pid" 2>/dev/null || continue
		kill -TERM "$pid" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
		if kill -0 "$pid" 2>/dev/null; then
			log "${names[i]} (pid $pid) ignored SIGTERM for 10 s: SIGKILL"
			kill -KILL "$pid" 2>/dev/null
		fi
		wait "$pid" 2>/dev/null
	done
	# Nothing of ours may be left: no process naming the temporary directory
	# (daemons, mlssim), no slurmstepd of our slurmd (those seen before it
	# stopped, and any whose environment names the temporary directory).
	local left stepd_after
	for _ in $(seq 25); do
		left=$(pgrep -af -- "$tmp" || true)
		stepd_after=$({ for pid in $stepds; do kill -0 "$pid" 2>/dev/null && echo "$pid"; done; our_stepds; } | sort -un)
		[ -z "$left$stepd_after" ] && break
		sleep 0.2
	done
	if [ -n "$left$stepd_after" ]; then
		log "processes left behind: $left $stepd_after"
		for pid in $(pgrep -f -- "$tmp") $stepd_after; do kill -KILL "$pid" 2>/dev/null; done
		[ "$rc" = 0 ] && rc=1
	fi
	if [ "$KEEP" = 1 ]; then
		log "kept $tmp"
	else
		rm -rf "$tmp"
	fi
	if [ "$rc" = 0 ]; then
		log "PASS (daemons stopped, nothing left behind)"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

# wait_for DESCRIPTION COMMAND...: polls COMMAND every second until it
# succeeds, for at most TIMEOUT seconds.
wait_for() {
	local what=$1 t0=$SECONDS
	shift
	until "$@"; do
		[ $((SECONDS - t0)) -lt "$TIMEOUT" ] || fail "timed out after ${TIMEOUT}s waiting for $what"
		sleep 1
	done
}

# free_port_pair: two consecutive TCP ports nobody listens on.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
base=0
for _ in $(seq 50); do
	p=$((16817 + (RANDOM % 400) * 2))
	if port_free "$p" && port_free "$((p + 1))"; then base=$p; break; fi
done
[ "$base" != 0 ] || fail "no free port pair in 16817-17617"

# --- 1. munged -------------------------------------------------------------
host=$(hostname -s)
cpus=$(nproc)
mem=$(( $(free -m | awk '/^Mem:/{print $2}') * 8 / 10 ))
mkdir -p "$tmp/state" "$tmp/spool" "$tmp/out"
dd if=/dev/urandom of="$tmp/munge.key" bs=1024 count=1 status=none
chmod 0400 "$tmp/munge.key"
log "starting munged"
munged --foreground --key-file="$tmp/munge.key" --socket="$tmp/munge.sock" \
	--pid-file="$tmp/munged.pid" --log-file="$tmp/munged.log" --seed-file="$tmp/munge.seed" >"$tmp/munged.stdout" 2>&1 &
pids+=($!) names+=(munged)
wait_for "munged's socket" test -S "$tmp/munge.sock"

# --- 2. slurmctld, slurmd --------------------------------------------------
cat >"$tmp/slurm.conf" <<EOF
# A one-node Slurm for deploy/slurm/test.sh (every path in $tmp).
ClusterName=mlssimtest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$base
SlurmdPort=$((base + 1))
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$tmp/munge.sock
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/slurmctld.log
SlurmdLogFile=$tmp/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MinJobAge=600
NodeName=$host NodeAddr=127.0.0.1 NodeHostname=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$tmp/slurm.conf
export MLSSIM_SLURM_TEST=$tmp # marks our daemons' environment, so our_stepds finds their steps
log "starting slurmctld (port $base)"
slurmctld -D -i -f "$SLURM_CONF" >"$tmp/slurmctld.stdout" 2>&1 &
pids+=($!) names+=(slurmctld)
log "starting slurmd (port $((base + 1)))"
slurmd -D -f "$SLURM_CONF" >"$tmp/slurmd.stdout" 2>&1 &
pids+=($!) names+=(slurmd)
slurmd_pid=$!

node_idle() {
	local i st
	for i in "${!pids[@]}"; do
		kill -0 "${pids[i]}" 2>/dev/null || fail "${names[i]} exited"
	done
	st=$(timeout 10 sinfo -h -N -n "$host" -o %t 2>/dev/null || true)
	case $st in
	idle*) return 0 ;;
	down* | drain* | unk*) timeout 10 scontrol update nodename="$host" state=resume >/dev/null 2>&1 || true ;;
	esac
	return 1
}
wait_for "node $host to be idle in sinfo" node_idle
ctld_up=1
log "node $host idle ($cpus CPUs)"

# --- 3. mlssim and the reference sweep --------------------------------------
log "building mlssim"
CGO_ENABLED=0 $GO build -o "$tmp/mlssim" ./cmd/mlssim
export MLSSIM=$tmp/mlssim
sweep=(workloads/collisions.yaml --seeds 2 --set fidelity=model --set duration=6h --set output.events=false
	--grid policy.self_update.interval=10m,30m,2h)
"$MLSSIM" sweep "${sweep[@]}" --quiet --out "$tmp/whole"
log "reference: the same sweep in one process -> $(wc -l <"$tmp/whole/sweep.csv") lines"

out=$tmp/out
jobstate() { timeout 10 scontrol -o show job "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | sort | uniq -c | tr -s ' \n' ' '; }
finished() { # finished JOBID: no task of it is pending or running
	local s
	s=$(timeout 10 squeue -h -j "$1" -o %T 2>/dev/null) || return 1
	[ -z "$s" ]
}

# --- 4. the array with a failing shard --------------------------------------
log "submitting 3 shards + merge (deploy/slurm/submit.sh) with MLSSIM_FAIL_SHARD=1"
sub=$(MLSSIM_FAIL_SHARD=1 deploy/slurm/submit.sh 3 "$out" "${sweep[@]}")
echo "$sub" | sed 's/^/    /'
array=$(echo "$sub" | awk '/^array job/{print $3}')
merge=$(echo "$sub" | awk '/^merge job/{print $3}')
[ -n "$array" ] && [ -n "$merge" ] || fail "could not read the job IDs from submit.sh"
wait_for "array job $array" finished "$array"
log "array job $array finished: $(jobstate "$array")"
for t in 0 1 2; do
	st=$(timeout 10 scontrol -o show job "${array}_$t" | grep -o 'JobState=[A-Z_]*')
	want=JobState=COMPLETED
	[ "$t" = 1 ] && want=JobState=FAILED
	[ "$st" = "$want" ] || fail "task ${array}_$t: $st, want $want"
done
wait_for "merge job $merge to be cancelled (its dependency failed)" finished "$merge"
st=$(timeout 10 scontrol -o show job "$merge" | grep -o 'JobState=[A-Z_]*')
[ "$st" = JobState=CANCELLED ] || fail "merge job $merge: $st, want CANCELLED (afterok on a failed array)"
[ ! -e "$out/sweep.csv" ] || fail "the merge ran although a shard failed"
log "task 1 FAILED, tasks 0 and 2 COMPLETED, merge job CANCELLED (afterok)"

key="policy.self_update.interval=10m seed=8" # run 1, shard 1's first cell
set +e
status=$("$MLSSIM" status "$out")
code=$?
set -e
echo "$status" | sed 's/^/    /'
[ "$code" = 1 ] || fail "mlssim status: exit $code, want 1"
echo "$status" | grep -qF "failed   run 1  $key  (shard 1/3): MLSSIM_FAIL_SHARD=1" || fail "mlssim status does not name the failed cell '$key'"
echo "$status" | grep -qF "cells: 5 done, 0 running, 1 failed, 0 not started (of 6)" || fail "mlssim status: wrong totals"
set +e
merged=$("$MLSSIM" merge "$out" 2>&1)
code=$?
set -e
echo "$merged" | sed 's/^/    /'
[ "$code" = 2 ] || fail "mlssim merge with a failed cell: exit $code, want 2"
echo "$merged" | grep -qF "missing    run 1  $key  (shard 1/3)" || fail "mlssim merge does not name the missing cell '$key'"
log "status and merge name the failed cell: run 1 ($key)"

# --- 5. re-run only shard 1, merge after it ---------------------------------
sum_others=$(cd "$out" && sha256sum sweep-shard-0-of-3.* sweep-shard-2-of-3.*)
rerun=$(sbatch --parsable --array=1 --output="$out/slurm-%A_%a.out" deploy/slurm/sweep.sbatch 3 "$out" "${sweep[@]}")
rerun=${rerun%%;*}
merge2=$(sbatch --parsable --dependency="afterok:$rerun" --kill-on-invalid-dep=yes --output="$out/slurm-merge-%j.out" \
	deploy/slurm/merge.sbatch "$out")
merge2=${merge2%%;*}
log "re-running shard 1 only: array job $rerun (--array=1), merge job $merge2 (afterok:$rerun)"
wait_for "merge job $merge2" finished "$merge2"
st=$(timeout 10 scontrol -o show job "$merge2" | grep -o 'JobState=[A-Z_]*')
[ "$st" = JobState=COMPLETED ] || fail "merge job $merge2: $st, want COMPLETED"
log "re-run $(jobstate "$rerun"), merge $st"
sed 's/^/    /' "$out"/slurm-merge-"$merge2".out
[ "$(cd "$out" && sha256sum sweep-shard-0-of-3.* sweep-shard-2-of-3.*)" = "$sum_others" ] || fail "shards 0 and 2 changed: the re-run was not limited to shard 1"
cmp "$tmp/whole/sweep.csv" "$out/sweep.csv" || fail "the merged sweep.csv differs from the one-process sweep"
"$MLSSIM" status "$out" >/dev/null || fail "mlssim status after the re-run: not every cell done"
log "merged sweep.csv is byte-identical to the one-process sweep ($(wc -c <"$out/sweep.csv") bytes)"
