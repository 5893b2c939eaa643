#!/usr/bin/env bash
# Seconds per training step, zoo beside NetsPresso Trainer 1.4.1, on the same six config files:
# resnet18 (NetsPresso's config, use_pretrained off), batch 8, 224x224 (randomresizedcrop),
# 64 random-noise training images in 4 classes = 8 steps, one epoch, 2 threads.
# Not run by CI. Needs a release build (`cargo build --release`) and a venv with
# netspresso-trainer 1.4.1 and its dependencies (README "Reference implementation"), given as
# VENV (default: ../venv). Check the machine is idle first: timings under load mean nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-../venv}
ZOO=${ZOO:-target/release/zoo}
W=$(mktemp -d)
export OMP_NUM_THREADS=2
"$VENV/bin/python" - "$W" <<'PY'
import os, sys
import numpy as np
from PIL import Image
w = sys.argv[1]
rng = np.random.default_rng(0)
for split, n in (("train", 16), ("valid", 4)):
    os.makedirs(f"{w}/data/images/{split}", exist_ok=True)
    os.makedirs(f"{w}/data/labels", exist_ok=True)
    rows = ["image_id,class"]
    for c in range(4):
        for i in range(n):
            name = f"{c}_{i}.png"
            Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(f"{w}/data/images/{split}/{name}")
            rows.append(f"{name},{c}")
    open(f"{w}/data/labels/{split}.csv", "w").write("\n".join(rows) + "\n")
PY
cat > "$W/data.yaml" <<YAML
data:
  name: noise4
  task: classification
  format: local
  path:
    root: $W/data
    train: {image: images/train, label: labels/train.csv}
    valid: {image: images/valid, label: labels/valid.csv}
    test: {image: ~, label: ~}
  id_mapping: [c0, c1, c2, c3]
YAML
sed -e 's/size: 256/size: 224/' -e 's/size: \[256, 256\]/size: [224, 224]/' configs/training/augmentation-classification.yaml > "$W/augmentation.yaml"
sed -e 's/use_pretrained: True/use_pretrained: False/' configs/resnet18-classification.yaml > "$W/model.yaml"
sed -e 's/epochs: 30/epochs: 1/' configs/training/training.yaml > "$W/training.yaml"
sed -e "s|output_dir: ./outputs|output_dir: $W/outputs|" configs/training/logging.yaml > "$W/logging.yaml"
sed -e 's/num_workers: 4/num_workers: 1/' configs/training/environment.yaml > "$W/environment.yaml"
ARGS=(--data "$W/data.yaml" --augmentation "$W/augmentation.yaml" --model "$W/model.yaml" --training "$W/training.yaml" --logging "$W/logging.yaml" --environment "$W/environment.yaml")
echo "== zoo ($ZOO)"
/usr/bin/time -f "zoo whole process: %e s, peak RSS %M KB" "$ZOO" train "${ARGS[@]}"
echo "== NetsPresso Trainer 1.4.1"
/usr/bin/time -f "NetsPresso whole process: %e s, peak RSS %M KB" "$VENV/bin/netspresso-train" "${ARGS[@]}" 2>&1 | grep -E "elapsed_time|training loss|Total time|whole process" || true
echo "zoo's epoch seconds are in the table above (8 training steps + 2 validation batches); NetsPresso's are its elapsed_time."
rm -rf "$W"
