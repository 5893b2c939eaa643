"""Writes the EfficientNet parity fixtures of tests/torchvision_models.rs (not run by CI; see
netspresso_reference.py for the venv). Run from the repository root:

    venv/bin/python tests/reference/efficientnet_fixtures.py

For each case, builds a reduced torchvision EfficientNet, fills its weights with the `synthetic`
values of parity_fixtures.py under zoo's names (`backbone.` + the torchvision key), and writes
tests/fixtures/parity/<case>.io.safetensors: `input` [2, 3, 64, 64] and `embedding`, the pooled
feature `flatten(avgpool(features(x)))` (Finetuner's embedding, the classifier dropped).
"""
import functools
import pathlib
import sys

import torch
from safetensors.torch import save_file
from torchvision.models import efficientnet as E

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from parity_fixtures import OUT, synthetic  # noqa: E402

# (case, width_mult, depth_mult, BatchNorm eps, momentum): B0-B4 style and B5-B7 style norms.
CASES = [("efficientnet", 0.25, 0.5, 1e-5, 0.1), ("efficientnet_b5_norm", 0.3, 0.6, 1e-3, 0.01)]


def main():
    gen = torch.Generator().manual_seed(11)
    for case, wm, dm, eps, momentum in CASES:
        setting, last = E._efficientnet_conf("efficientnet_b0", width_mult=wm, depth_mult=dm)
        norm = functools.partial(torch.nn.BatchNorm2d, eps=eps, momentum=momentum)
        model = E.EfficientNet(setting, dropout=0.2, norm_layer=norm, last_channel=last, num_classes=10)
        with torch.no_grad():
            for name, t in model.state_dict().items():
                if not name.endswith("num_batches_tracked"):
                    t.copy_(synthetic("backbone." + name, t))
        model.eval()
        x = torch.randn(2, 3, 64, 64, generator=gen)
        with torch.no_grad():
            emb = torch.flatten(model.avgpool(model.features(x)), 1)
        save_file({"input": x.contiguous(), "embedding": emb.contiguous()}, str(OUT / f"{case}.io.safetensors"))
        print(case, tuple(emb.shape), float(emb.abs().max()), sum(p.numel() for p in model.features.parameters()))


if __name__ == "__main__":
    main()
