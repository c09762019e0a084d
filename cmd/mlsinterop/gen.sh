#!/usr/bin/env bash
# Generates the gRPC stubs of the MLS working group's interop service
# (mls_client.proto, owned by the mlswg/mls-implementations repository,
# interop/proto/) into cmd/mlsinterop/internal/pb/ (git-ignored, never
# committed) and builds bin/mlsinterop with -tags interop.
#
# Usage (from anywhere): cmd/mlsinterop/gen.sh [--no-build]
# Environment:
#   PROTO  path of mls_client.proto (default ../shared/interop/mls_client.proto,
#          relative to the repository root)
#   GO     the go command (default go)
#
# Installs what it needs when missing: protoc (Debian package
# protobuf-compiler, via apt-get) and protoc-gen-go / protoc-gen-go-grpc at
# pinned versions (go install through the module proxy).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
GO="${GO:-go}"
PROTO="${PROTO:-../shared/interop/mls_client.proto}"
PROTOC_GEN_GO_VERSION="v1.36.12"      # google.golang.org/protobuf (matches go.mod)
PROTOC_GEN_GO_GRPC_VERSION="v1.6.2"   # google.golang.org/grpc/cmd/protoc-gen-go-grpc
OUT="cmd/mlsinterop/internal/pb"
GOPKG="github.com/mlslab/mlslab/$OUT"

if [ ! -f "$PROTO" ]; then
  echo "gen.sh: proto not found: $PROTO (set PROTO=path/to/mls_client.proto;" >&2
  echo "        it is interop/proto/mls_client.proto in github.com/mlswg/mls-implementations)" >&2
  exit 1
fi

if ! command -v protoc >/dev/null 2>&1; then
  echo "gen.sh: installing protoc (Debian protobuf-compiler)" >&2
  SUDO=""
  if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then SUDO=sudo; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq protobuf-compiler >/dev/null
fi

GOBIN_DIR="$("$GO" env GOBIN)"
[ -n "$GOBIN_DIR" ] || GOBIN_DIR="$("$GO" env GOPATH)/bin"
export PATH="$GOBIN_DIR:$PATH"

have_version() { # tool version: does the installed tool report this version?
  command -v "$1" >/dev/null 2>&1 && "$1" --version 2>/dev/null | grep -q -- "${2#v}"
}
if ! have_version protoc-gen-go "$PROTOC_GEN_GO_VERSION"; then
  "$GO" install "google.golang.org/protobuf/cmd/protoc-gen-go@$PROTOC_GEN_GO_VERSION"
fi
if ! have_version protoc-gen-go-grpc "$PROTOC_GEN_GO_GRPC_VERSION"; then
  "$GO" install "google.golang.org/grpc/cmd/protoc-gen-go-grpc@$PROTOC_GEN_GO_GRPC_VERSION"
fi

rm -rf "$OUT"
mkdir -p "$OUT"
PROTO_DIR="$(cd "$(dirname "$PROTO")" && pwd)"
PROTO_FILE="$(basename "$PROTO")"
protoc -I "$PROTO_DIR" \
  --go_out="$OUT" --go_opt=paths=source_relative --go_opt="M$PROTO_FILE=$GOPKG;pb" \
  --go-grpc_out="$OUT" --go-grpc_opt=paths=source_relative --go-grpc_opt="M$PROTO_FILE=$GOPKG;pb" \
  "$PROTO_DIR/$PROTO_FILE"

# Every file of cmd/mlsinterop is behind the interop build tag, the
# generated ones too: plain `go build ./...` / `go vet ./...` never see them.
for f in "$OUT"/*.go; do
  { echo "//go:build interop"; echo; cat "$f"; } >"$f.tmp" && mv "$f.tmp" "$f"
done

if [ "${1:-}" != "--no-build" ]; then
  mkdir -p bin
  "$GO" build -tags interop -o bin/mlsinterop ./cmd/mlsinterop
  echo "built bin/mlsinterop"
fi
