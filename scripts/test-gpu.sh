#!/usr/bin/env bash
# The GPU job: a build with `--features wgpu` runs every parity fixture, the conformance test of
# every spec, the optimizer steps and tests/gpu.rs (run, embed, bench, train and one training
# step against flex) on `--device wgpu`. Without a GPU it runs on lavapipe, Mesa's Vulkan driver
# that runs on the CPU, installed here when missing (Debian's packages, as root). README "GPU".
set -euo pipefail
cd "$(dirname "$0")/.."

if ! ls /usr/share/vulkan/icd.d/*.json >/dev/null 2>&1; then
  as_root=()
  if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
  fi
  if { [ "$(id -u)" = 0 ] || [ ${#as_root[@]} -gt 0 ]; } && command -v apt-get >/dev/null 2>&1; then
    "${as_root[@]}" apt-get update -qq
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mesa-vulkan-drivers libvulkan1 >/dev/null
  else
    echo "error: no Vulkan driver; install one (Debian: apt-get install mesa-vulkan-drivers)" >&2
    exit 1
  fi
fi

bash scripts/check-feature-pins.sh

# The parity tests of the other files (text models, torchvision's EfficientNet norms, the
# optimizers' steps against PyTorch's) by name; everything in parity, conformance and gpu.
filter='binary(parity) | binary(conformance) | binary(gpu)'
filter+=' | test(bert_and_distilbert_match_transformers_for_every_pooling)'
filter+=' | test(clip_has_transformers_counts_and_keys_and_both_towers_match)'
filter+=' | test(/^parity_with_torchvision_/) | test(optimizers_take_pytorchs_steps)'
# burn's crates compile again in this build anyway (the wgpu feature changes their features);
# at opt-level 0 they take a seventh of the time (burn-flex: 55 s against 408 s at opt-level 1),
# and these tests compute little on flex. The default build keeps them at opt-level 3.
opts=()
for crate in burn-flex burn-dispatch burn-tensor burn-nn burn-optim burn-store burn-core \
  burn-autodiff burn-backend burn-ir burn-linalg; do
  opts+=(--config "profile.dev.package.$crate.opt-level=0")
done
export ZOO_TEST_DEVICE=wgpu
cargo nextest run "${opts[@]}" --features wgpu --no-fail-fast \
  --test parity --test conformance --test gpu --test text_models --test torchvision_models --test training \
  -E "$filter" "$@"
