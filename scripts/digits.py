#!/usr/bin/env python3
"""Writes scikit-learn's handwritten digits (1,797 real 8x8 scans, bundled with scikit-learn, so
no download) in NetsPresso's `local` classification layout, with the data, augmentation and
model configs to train on them with NetsPresso's own training, logging and environment files:

    pip install scikit-learn            # once
    python3 scripts/digits.py digits    # writes digits/{data,configs}
    zoo train --data digits/configs/data.yaml --augmentation digits/configs/augmentation.yaml \\
              --model digits/configs/model.yaml --training configs/training/training.yaml \\
              --logging configs/training/logging.yaml --environment configs/training/environment.yaml

Split: every fifth image of each digit for validation (359), the rest for training (1,438).
"""
import os
import struct
import sys
import zlib

from sklearn.datasets import load_digits


def png(path, pixels, size):
    """An 8-bit RGB PNG of a size x size grey image (values 0..255)."""
    raw = b"".join(b"\x00" + bytes(v for p in row for v in (p, p, p)) for row in pixels)

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "digits"
    d = load_digits()
    data = os.path.join(out, "data")
    conf = os.path.join(out, "configs")
    for split in ("train", "valid"):
        os.makedirs(os.path.join(data, "images", split), exist_ok=True)
    os.makedirs(os.path.join(data, "labels"), exist_ok=True)
    os.makedirs(conf, exist_ok=True)
    rows = {"train": ["image_id,class"], "valid": ["image_id,class"]}
    seen = [0] * 10
    for i, (img, label) in enumerate(zip(d.images, d.target)):
        split = "valid" if seen[label] % 5 == 4 else "train"
        seen[label] += 1
        name = f"{i:04d}.png"
        png(os.path.join(data, "images", split, name), [[int(v * 255 / 16) for v in row] for row in img], 8)
        rows[split].append(f"{name},{label}")
    for split, r in rows.items():
        with open(os.path.join(data, "labels", f"{split}.csv"), "w") as f:
            f.write("\n".join(r) + "\n")
    root = os.path.abspath(data)
    files = {
        "data.yaml": f"""data:
  name: digits
  task: classification
  format: local
  path:
    root: {root}
    train: {{image: images/train, label: labels/train.csv}}
    valid: {{image: images/valid, label: labels/valid.csv}}
    test: {{image: ~, label: ~}}
  id_mapping: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']
""",
        # NetsPresso's classification augmentation at the scans' scale (no flips: digits).
        "augmentation.yaml": """augmentation:
  train:
    - {name: randomresizedcrop, size: 32, scale: [0.7, 1.0], ratio: [0.9, 1.1], interpolation: bilinear}
    - {name: totensor, pixel_range: 1.0}
    - {name: normalize, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225]}
  inference:
    - {name: resize, size: [32, 32], interpolation: bilinear, max_size: ~, resize_criteria: ~}
    - {name: totensor, pixel_range: 1.0}
    - {name: normalize, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225]}
""",
        # A small ResNet (NetsPresso's resnet backbone and fc head).
        "model.yaml": """model:
  task: classification
  name: digits_resnet
  checkpoint: {use_pretrained: false, load_head: false, path: ~, optimizer_path: ~}
  freeze_backbone: false
  architecture:
    full: ~
    backbone:
      name: resnet
      params: {block_type: basicblock, norm_type: batch_norm, return_stage_idx: ~, split_stem_conv: false, first_stage_shortcut_conv: false}
      stage_params:
        - {channels: 32, num_blocks: 1}
        - {channels: 64, num_blocks: 1, replace_stride_with_dilation: false, replace_stride_with_pooling: false}
    head:
      name: fc
      params: {num_layers: 1, intermediate_channels: ~, act_type: ~, dropout_prob: 0.0}
  postprocessor: ~
  losses:
    - {criterion: cross_entropy, label_smoothing: 0.1, weight: ~}
""",
    }
    for name, text in files.items():
        with open(os.path.join(conf, name), "w") as f:
            f.write(text)
    print(f"wrote {len(rows['train']) - 1} training and {len(rows['valid']) - 1} validation digits under {data}")


if __name__ == "__main__":
    main()
