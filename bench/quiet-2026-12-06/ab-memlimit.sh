#!/bin/bash
# same-hour A/B of the soft memory limit on grow-50k: default (1.75 GiB) vs GOMEMLIMIT=3GiB
set -u
cd /work/main
out=/tmp/abmem; rm -rf $out; mkdir -p $out
GOFLAGS=-buildvcs=false go build -o $out/mlssim ./cmd/mlssim
git rev-parse --short HEAD > $out/commit
for v in limit 3gib; do
  echo "$(date -u +%FT%TZ) $v $(cut -d' ' -f1-3 /proc/loadavg)" >> $out/load.log
  if [ $v = 3gib ]; then export GOMEMLIMIT=3GiB; else unset GOMEMLIMIT; fi
  GOMAXPROCS=2 /usr/bin/time -v $out/mlssim run --quiet workloads/grow-50k.yaml --set output.events=false --out $out/g50-$v 2> $out/sim-$v.log > /dev/null
done
unset GOMEMLIMIT
echo "$(date -u +%FT%TZ) done $(cut -d' ' -f1-3 /proc/loadavg)" >> $out/load.log
