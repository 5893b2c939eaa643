#!/usr/bin/env bash
# The parity fixtures (tests/parity.rs: every architecture against NetsPresso's outputs, ≤1e-4,
# folded and unfolded) on another backend, e.g. PyTorch's kernels through LibTorch:
#
#   PATH=/path/to/venv-with-torch-2.9.0/bin:$PATH LIBTORCH_USE_PYTORCH=1 \
#     bash scripts/parity-device.sh tch
#
# DEVICE is a `--device` name; FEATURES (default: the device's cargo feature) is passed to cargo.
set -euo pipefail
cd "$(dirname "$0")/.."
DEVICE=${1:?usage: parity-device.sh DEVICE (tch, wgpu, ...)}
case "$DEVICE" in
  tch|tch-cuda) FEATURES=${FEATURES:-tch} ;;
  *) FEATURES=${FEATURES:-$DEVICE} ;;
esac
ZOO_TEST_DEVICE=$DEVICE cargo test --release --features "$FEATURES" --test parity
