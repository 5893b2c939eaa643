#!/usr/bin/env bash
# Inference throughput of zoo beside PyTorch (NetsPresso Trainer 1.4.1's own models, eager,
# no_grad) on the same configs, in one run: `zoo bench` and scripts/bench-reference.py with the
# same batch sizes, input and thread count; prints a table with the zoo/PyTorch ratios and their
# geometric mean at the largest batch. Not run by CI.
#
#   bash scripts/bench.sh [config.yaml ...]     (default: resnet50, mobilenet_v3_small, vit_tiny)
#
# Needs a release build (`cargo build --release`; ZOO= another binary) and the reference venv
# (VENV, default ../venv; README "Reference implementation"). THREADS (default 2), BATCHES
# (default "1 8"), ITERATIONS (default 10). Check the machine is idle first.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-../venv}
ZOO=${ZOO:-target/release/zoo}
THREADS=${THREADS:-2}
BATCHES=${BATCHES:-"1 8"}
ITERATIONS=${ITERATIONS:-10}
CONFIGS=("$@")
if [ ${#CONFIGS[@]} -eq 0 ]; then
  CONFIGS=(configs/resnet50-classification.yaml configs/mobilenetv3-small-classification.yaml configs/vit-tiny-classification.yaml)
fi
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
B=()
for b in $BATCHES; do B+=(--batch "$b"); done
export OMP_NUM_THREADS=$THREADS
for c in "${CONFIGS[@]}"; do
  n=$(basename "$c" .yaml)
  "$ZOO" bench "$c" "${B[@]}" --threads "$THREADS" --iterations "$ITERATIONS" --format json > "$W/$n.zoo.json"
  "$VENV/bin/python" scripts/bench-reference.py "$c" "${B[@]}" --threads "$THREADS" --iterations "$ITERATIONS" > "$W/$n.torch.json" 2>/dev/null
done
python3 - "$W" "${CONFIGS[@]}" <<'PY'
import json, math, os, sys
w, configs = sys.argv[1], sys.argv[2:]
print(f"| model | batch | zoo images/s | PyTorch images/s | zoo / PyTorch | zoo p50 ms | PyTorch p50 ms | zoo peak MB | PyTorch peak MB |")
print("|---|---|---|---|---|---|---|---|---|")
ratios = []
for c in configs:
    n = os.path.basename(c)[:-5]
    z = json.load(open(f"{w}/{n}.zoo.json"))
    t = json.load(open(f"{w}/{n}.torch.json"))
    for a, b in zip(z["results"], t["results"]):
        r = a["images_per_second"] / b["images_per_second"]
        print(f"| {z['model']} | {a['batch']} | {a['images_per_second']:.1f} | {b['images_per_second']:.1f} | {r:.2f} | "
              f"{a['latency_ms_p50']:.1f} | {b['latency_ms_p50']:.1f} | {a['peak_rss_mb'] or 0:.0f} | {b['peak_rss_mb']:.0f} |")
    ratios.append(z["results"][-1]["images_per_second"] / t["results"][-1]["images_per_second"])
g = math.exp(sum(map(math.log, ratios)) / len(ratios))
print(f"\ngeometric mean of zoo / PyTorch at batch {z['results'][-1]['batch']}: {g:.2f} (lowest {min(ratios):.2f})")
PY
