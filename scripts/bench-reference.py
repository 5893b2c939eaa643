#!/usr/bin/env python3
"""PyTorch's side of `zoo bench`: NetsPresso Trainer 1.4.1 builds the model of a config (no
pretrained weights) and its forward pass is timed in eval mode under `no_grad`, the way `zoo
bench` times zoo's, printing the same JSON fields (`batch`, `images_per_second`,
`latency_ms_p50`, `latency_ms_p90`, `peak_rss_mb`). `--profile` adds PyTorch's time per module
(forward hooks on the same module paths `zoo bench --profile` prints), so the two tables can be
read side by side.

Not run by CI and installs nothing: give it the reference venv (README "Reference
implementation"), e.g.

    ../venv/bin/python scripts/bench-reference.py configs/resnet50-classification.yaml \
        --batch 1 --batch 8 --threads 2 [--input-size 224 224] [--profile --depth 2]
"""
import argparse
import json
import resource
import time

import torch
from omegaconf import OmegaConf
from netspresso_trainer.models.builder import build_model

CLASSES = {"segmentation": 19, "detection": 80, "pose_estimation": 17}
# The input `zoo bench` gives each task by default (its inference preprocessing).
SIZES = {"detection": (640, 640), "pose_estimation": (256, 256)}


def peak_rss_mb():
    # Linux ru_maxrss is in KB (process-wide peak; `zoo bench` resets its peak per batch size).
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def percentile(sorted_ms, p):
    k = max(1, min(len(sorted_ms), -(-int(p * len(sorted_ms)) // 100)))
    return sorted_ms[k - 1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("config")
    ap.add_argument("--batch", type=int, action="append")
    ap.add_argument("--input-size", type=int, nargs=2)
    ap.add_argument("--threads", type=int)
    ap.add_argument("--iterations", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--depth", type=int, default=2)
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    conf = OmegaConf.load(a.config).model
    conf.checkpoint.use_pretrained = False
    full = conf.architecture.get("full")
    conf.single_task_model = bool(full is not None and full.get("name") is not None)
    classes = CLASSES.get(conf.task, 1000)
    model = build_model(conf, classes, devices=torch.device("cpu"), distributed=False).eval()
    h, w = a.input_size or SIZES.get(conf.task, (224, 224))
    results = []
    with torch.no_grad():
        for b in a.batch or [1, 8]:
            x = torch.randn(b, 3, h, w)
            for _ in range(a.warmup):
                model(x)
            ms = []
            for _ in range(a.iterations):
                t0 = time.perf_counter()
                model(x)
                ms.append((time.perf_counter() - t0) * 1000.0)
            ms.sort()
            mean = sum(ms) / len(ms)
            results.append({
                "batch": b,
                "images_per_second": b / (mean / 1000.0),
                "latency_ms_p50": percentile(ms, 50),
                "latency_ms_p90": percentile(ms, 90),
                "peak_rss_mb": peak_rss_mb(),
            })
        out = {"model": conf.name, "task": conf.task, "input_size": [h, w], "classes": classes, "results": results}
        if a.profile:
            out["profile"] = profile(model, torch.randn((a.batch or [1])[0], 3, h, w), a.iterations, a.depth)
    print(json.dumps(out, indent=2))


def profile(model, x, passes, depth):
    """Each module's time (itself and what it calls) summed over `passes`, down to `depth`."""
    times, order, shapes = {}, [], {}
    starts = {}

    def pre(name):
        def hook(_m, _inp):
            if name not in times and name not in order:
                order.append(name)
            starts[name] = time.perf_counter()
        return hook

    def post(name):
        def hook(_m, _inp, out):
            times[name] = times.get(name, 0.0) + (time.perf_counter() - starts[name]) * 1000.0
            if name not in shapes:
                t = out if torch.is_tensor(out) else getattr(out, "pred", None)
                if isinstance(out, dict):
                    t = next((v for v in out.values() if torch.is_tensor(v)), None)
                shapes[name] = list(t.shape) if torch.is_tensor(t) else []
        return hook

    handles = []
    for name, m in model.named_modules():
        if name and name.count(".") < depth:
            handles.append(m.register_forward_pre_hook(pre(name)))
            handles.append(m.register_forward_hook(post(name)))
    total = 0.0
    for _ in range(passes):
        t0 = time.perf_counter()
        model(x)
        total += (time.perf_counter() - t0) * 1000.0
    for h in handles:
        h.remove()
    return [{"module": n, "depth": n.count("."), "milliseconds": times[n], "share": times[n] / total,
             "calls": 1, "output_shape": shapes[n]} for n in order]


if __name__ == "__main__":
    main()
