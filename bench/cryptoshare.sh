#!/bin/bash
# How much of a run's CPU is the cryptography it asks for, from a CPU
# profile: every sample is attributed to the function it was taken in
# (pprof's flat time), and the function to a category by package:
#
#   x25519   circl's X25519 (and X448) ladders and field arithmetic (HPKE
#            encapsulation, decapsulation, key derivation)
#   ed25519  signatures: edwards25519 (Go's and filippo.io's),
#            mls/internal/ed25519batch, and for other suites Ed448 and the
#            NIST-curve ECDSA internals
#   hash     SHA-2, SHA-3, HMAC, HKDF
#   aead     AES-GCM, ChaCha20-Poly1305
#   runtime  allocation, collection, scheduling, stack growth, map hashing
#   mlslab   mlslab's own code (tree edits, encoding, the simulator)
#   other    the rest (cryptobyte, sort, strconv, ...)
#
# The first four are the primitives; their sum divided by the number of
# cores is the run's "crypto floor": the wall time the run would take if
# nothing but its primitives ran and every core were busy all the time.
# Glue around the primitives (circl's HPKE wrappers, crypto/rand, the
# suite's labeled KDF calls) counts as "other" or "mlslab", so the floor
# errs low.
#
#   bench/cryptoshare.sh BINARY PROFILE [CORES]    (CORES default: nproc)
#
# Example (bench/README.md, issue 17 item 4):
#   go build -o /tmp/mlssim ./cmd/mlssim
#   /tmp/mlssim run workloads/grow-50k.yaml --quiet --set output.events=false \
#       --out /tmp/g50 --cpuprofile /tmp/g50.prof
#   bench/cryptoshare.sh /tmp/mlssim /tmp/g50.prof 2
set -euo pipefail
if [ $# -lt 2 ]; then
	echo "usage: bench/cryptoshare.sh BINARY PROFILE [CORES]" >&2
	exit 2
fi
cores=${3:-$(nproc)}
top=$(go tool pprof -top -nodecount=1000000 -nodefraction=0 -edgefraction=0 "$1" "$2")
dur=$(echo "$top" | sed -n 's/^Duration: \([0-9.]*\)\([a-z]*\),.*/\1 \2/p')
echo "$top" | awk -v cores="$cores" -v dur="$dur" '
function secs(t) {
	if (t ~ /hrs$/) { sub(/hrs$/, "", t); return t * 3600 }
	if (t ~ /mins$/) { sub(/mins$/, "", t); return t * 60 }
	if (t ~ /ms$/) { sub(/ms$/, "", t); return t / 1000 }
	if (t ~ /(us|µs)$/) { sub(/(us|µs)$/, "", t); return t / 1e6 }
	if (t ~ /ns$/) { sub(/ns$/, "", t); return t / 1e9 }
	sub(/s$/, "", t); return t + 0
}
/^ *flat  *flat%/ { body = 1; next }
body && NF >= 6 {
	t = secs($1); name = $6; c = "other"
	# The runtime first: runtime.aeshashbody (map hashing) and
	# internal/chacha8rand (runtime.rand) would otherwise read as AEAD.
	if (name ~ /^runtime\.|^internal\/runtime\/|^internal\/chacha8rand/) c = "runtime"
	else if (name ~ /circl\/dh\/x25519|circl\/math\/fp25519|circl\/dh\/x448|circl\/math\/fp448/) c = "x25519"
	else if (name ~ /edwards25519|ed25519batch|crypto\/ed25519|fips140\/ed25519|circl\/sign\/ed448|crypto\/internal\/fips140\/nistec|crypto\/internal\/fips140\/ecdsa|crypto\/internal\/fips140\/bigmod/) c = "ed25519"
	else if (name ~ /sha256|sha512|sha3|hmac|hkdf/) c = "hash"
	else if (name ~ /aes|gcm|chacha|poly1305/) c = "aead"
	else if (name ~ /mlslab/) c = "mlslab"
	s[c] += t; tot += t
}
END {
	split(dur, d, " "); wall = secs(d[1] d[2])
	printf "%-8s %10s %7s\n", "category", "CPU s", "share"
	n = split("x25519 ed25519 hash aead runtime mlslab other", order, " ")
	for (i = 1; i <= n; i++) { printf "%-8s %10.1f %6.1f%%\n", order[i], s[order[i]], 100 * s[order[i]] / tot }
	crypto = s["x25519"] + s["ed25519"] + s["hash"] + s["aead"]
	printf "%-8s %10.1f %6.1f%%\n", "total", tot, 100
	printf "\nprimitives %.1f s CPU (%.1f%%); profiled wall %.1f s on %d cores (%.0f%% busy)\n", crypto, 100 * crypto / tot, wall, cores, 100 * tot / (wall * cores)
	printf "crypto floor on %d cores: %.1f s wall (the run took %.2fx of it)\n", cores, crypto / cores, wall / (crypto / cores)
}'
