"""Writes reference facts of NetsPresso Trainer 1.4.1 for zoo's tests (not run by CI).

For each model config given, builds the model with NetsPresso Trainer on CPU (no pretrained
weights) and writes `tests/fixtures/reference/<config stem>.txt`:

    # params <number of parameters>
    <state-dict key> [<shape>]
    ...

Set up a venv with NetsPresso Trainer 1.4.1 (never needed by the tests):
    python3 -m venv venv
    venv/bin/pip install torch torchvision omegaconf safetensors loguru fvcore \
        opencv-python-headless tensorboard datasets scipy pandas requests tqdm onnx
    venv/bin/pip install --no-deps netspresso-trainer==1.4.1
Run from the repository root:
    venv/bin/python tests/reference/netspresso_reference.py tests/fixtures/netspresso/*.yaml
"""
import pathlib
import sys

import torch
from omegaconf import OmegaConf
from netspresso_trainer.models.builder import build_model

OUT = pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "reference"
# Classes per task (the counts the README and tests/netspresso_configs.rs use): 19 Cityscapes
# classes, 80 COCO classes, 17 COCO keypoints; ImageNet's 1000 otherwise.
NUM_CLASSES = {"segmentation": 19, "detection": 80, "pose_estimation": 17}


def main(paths):
    OUT.mkdir(parents=True, exist_ok=True)
    for path in paths:
        model_conf = OmegaConf.load(path).model
        model_conf.checkpoint.use_pretrained = False
        full = model_conf.architecture.get("full")
        model_conf.single_task_model = bool(full is not None and full.get("name") is not None)
        num_classes = NUM_CLASSES.get(model_conf.task, 1000)
        model = build_model(model_conf, num_classes, devices=torch.device("cpu"), distributed=False)
        lines = [f"# params {sum(p.numel() for p in model.parameters())}"]
        lines += [f"{k} {list(v.shape)}" for k, v in model.state_dict().items()]
        (OUT / (pathlib.Path(path).stem + ".txt")).write_text("\n".join(lines) + "\n")
        print(path, lines[0])


if __name__ == "__main__":
    main(sys.argv[1:])
