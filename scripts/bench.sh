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
# (default "1 8"), ITERATIONS (default 10), WARMUP (default 2), INPUT_SIZE ("H W", default: each
# config's own). TCH=1 adds `zoo bench --device tch` run by ZOO_TCH
# (default ZOO; a binary built with `--features tch`, README "Speed"). A model that fails on
# either side is listed as such.
# Check the machine is idle first.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-../venv}
ZOO=${ZOO:-target/release/zoo}
THREADS=${THREADS:-2}
BATCHES=${BATCHES:-"1 8"}
ITERATIONS=${ITERATIONS:-10}
WARMUP=${WARMUP:-2}
INPUT_SIZE=${INPUT_SIZE:-}
TCH=${TCH:-0}
ZOO_TCH=${ZOO_TCH:-$ZOO}
CONFIGS=("$@")
if [ ${#CONFIGS[@]} -eq 0 ]; then
  CONFIGS=(configs/resnet50-classification.yaml configs/mobilenetv3-small-classification.yaml configs/vit-tiny-classification.yaml)
fi
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
B=()
for b in $BATCHES; do B+=(--batch "$b"); done
B+=(--iterations "$ITERATIONS" --warmup "$WARMUP")
if [ -n "$INPUT_SIZE" ]; then B+=(--input-size $INPUT_SIZE); fi
export OMP_NUM_THREADS=$THREADS
for c in "${CONFIGS[@]}"; do
  n=$(basename "$c" .yaml)
  "$ZOO" bench "$c" "${B[@]}" --threads "$THREADS" --format json > "$W/$n.zoo.json" 2> "$W/$n.zoo.err" || true
  if [ "$TCH" = 1 ]; then
    "$ZOO_TCH" bench "$c" "${B[@]}" --threads "$THREADS" --format json --device tch > "$W/$n.tch.json" 2> "$W/$n.tch.err" || true
  fi
  "$VENV/bin/python" scripts/bench-reference.py "$c" "${B[@]}" --threads "$THREADS" > "$W/$n.torch.json" 2> "$W/$n.torch.err" || true
done
python3 - "$W" "$TCH" "${CONFIGS[@]}" <<'PY'
import json, math, os, sys
w, tch, configs = sys.argv[1], sys.argv[2] == "1", sys.argv[3:]

def load(path):
    try:
        return json.load(open(path))
    except (OSError, ValueError):
        return None

head = "| config | batch | zoo images/s | PyTorch images/s | zoo / PyTorch |"
rule = "|---|---|---|---|---|"
if tch:
    head += " zoo --device tch images/s | tch / PyTorch |"
    rule += "---|---|"
print(head + " zoo p50 ms | PyTorch p50 ms | zoo peak MB | PyTorch peak MB |")
print(rule + "---|---|---|---|")
ratios, tch_ratios, failed, last_batch = [], [], [], None
for c in configs:
    n = os.path.basename(c)[:-5]
    z, t, x = load(f"{w}/{n}.zoo.json"), load(f"{w}/{n}.torch.json"), load(f"{w}/{n}.tch.json") if tch else None
    if z is None or t is None:
        side = "zoo" if z is None else "PyTorch"
        err = open(f"{w}/{n}.{'zoo' if z is None else 'torch'}.err").read().strip().splitlines()
        failed.append(f"{n}: {side} failed ({err[-1] if err else 'no output'})")
        continue
    xs = x["results"] if x else [None] * len(z["results"])
    for a, b, d in zip(z["results"], t["results"], xs):
        r = a["images_per_second"] / b["images_per_second"]
        row = f"| {n} | {a['batch']} | {a['images_per_second']:.1f} | {b['images_per_second']:.1f} | {r:.2f} |"
        if tch:
            row += f" {d['images_per_second']:.1f} | {d['images_per_second'] / b['images_per_second']:.2f} |" if d else " failed | |"
        row += f" {a['latency_ms_p50']:.1f} | {b['latency_ms_p50']:.1f} | {a['peak_rss_mb'] or 0:.0f} | {b['peak_rss_mb']:.0f} |"
        print(row)
    last_batch = z["results"][-1]["batch"]
    ratios.append(z["results"][-1]["images_per_second"] / t["results"][-1]["images_per_second"])
    if x:
        tch_ratios.append(x["results"][-1]["images_per_second"] / t["results"][-1]["images_per_second"])
geo = lambda rs: math.exp(sum(map(math.log, rs)) / len(rs))
if ratios:
    print(f"\ngeometric mean of zoo / PyTorch at batch {last_batch}: {geo(ratios):.2f} (lowest {min(ratios):.2f})")
if tch_ratios:
    print(f"geometric mean of zoo --device tch / PyTorch at batch {last_batch}: {geo(tch_ratios):.2f} (lowest {min(tch_ratios):.2f})")
for f in failed:
    print(f)
PY
