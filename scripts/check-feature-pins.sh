#!/usr/bin/env bash
# The GPU build (scripts/test-gpu.sh) reuses the default build's compiled dependencies only where
# both builds resolve a crate with the same features; Cargo.toml's feature pins see to that. Fails,
# naming the crates, when a dependency update lets the two drift apart again (then every crate
# above the drifted one compiles twice and the CI run outgrows its budget).
set -euo pipefail
cd "$(dirname "$0")/.."

features() {
  cargo tree "$@" -e normal,build,dev --prefix none -f '{p}|{f}' | sed 's/ (\*)$//' | grep -v '^$' | sort -u
}
default=$(features --workspace)
gpu=$(features --features wgpu)
# burn's crates in the wgpu backend's path and zoo itself are the only ones meant to differ.
drift=$(comm -23 <(echo "$default") <(echo "$gpu") |
  grep -v -E '^(burn|burn-backend|burn-core|burn-dispatch|burn-tensor|zoo) v' || true)
if [ -n "$drift" ]; then
  echo "error: these crates get other features with --features wgpu (default build's shown);" >&2
  echo "       pin the GPU build's features in Cargo.toml's feature pins:" >&2
  echo "$drift" | sed 's/^/  /' >&2
  exit 1
fi
