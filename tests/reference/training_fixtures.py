"""Writes tests/fixtures/training/schedulers.json (and optimizers.json, see optimizer_cases): the
learning rate of every epoch under
NetsPresso Trainer 1.4.1's own scheduler classes, for the configs below (edge cases included:
no warmup, warmup longer than the schedule, end_epoch beyond the run, SGDR phase stretching,
repeated milestones). Run from the repository root with the reference venv (see
netspresso_reference.py):

    venv/bin/python tests/reference/training_fixtures.py

NetsPresso steps its scheduler once per epoch, after the epoch: epoch e (1-based) trains with the
learning rate read before the (e-1)-th `step()`.
"""
import json
import pathlib

import torch
from omegaconf import OmegaConf
from netspresso_trainer.schedulers.builder import build_scheduler

OUT = pathlib.Path("tests/fixtures/training/schedulers.json")

CASES = [
    # (label, base lr, epochs, scheduler config)
    ("cosine_no_sgdr_warmup", 1.0, 10, dict(name="cosine_no_sgdr", warmup_epochs=3, warmup_bias_lr=0.1, min_lr=0.01, end_epoch=8)),
    ("cosine_no_sgdr_no_warmup", 1.0, 10, dict(name="cosine_no_sgdr", warmup_epochs=0, warmup_bias_lr=0.0, min_lr=0.0, end_epoch=10)),
    ("cosine_no_sgdr_end_beyond", 1.0, 6, dict(name="cosine_no_sgdr", warmup_epochs=2, warmup_bias_lr=0.0, min_lr=0.001, end_epoch=25)),
    ("cosine_no_sgdr_warmup_longer", 1.0, 8, dict(name="cosine_no_sgdr", warmup_epochs=6, warmup_bias_lr=0.1, min_lr=0.0, end_epoch=4)),
    ("cosine_no_sgdr_stock", 6e-5, 30, dict(name="cosine_no_sgdr", warmup_epochs=5, warmup_bias_lr=1e-5, min_lr=1e-5, end_epoch=25)),
    ("cosine_sgdr", 1.0, 10, dict(name="cosine", warmup_epochs=3, warmup_bias_lr=0.1, min_lr=0.01, iters_per_phase=4)),
    ("cosine_sgdr_stretch", 1.0, 17, dict(name="cosine", warmup_epochs=5, warmup_bias_lr=0.0, min_lr=0.0, iters_per_phase=7)),
    ("cosine_sgdr_default_phase", 1.0, 20, dict(name="cosine", warmup_epochs=0, warmup_bias_lr=0.0, min_lr=0.0, iters_per_phase=0)),
    ("poly", 1.0, 10, dict(name="poly", warmup_epochs=3, warmup_bias_lr=0.1, min_lr=0.01, power=1.0, end_epoch=8)),
    ("poly_no_warmup_power2", 0.5, 12, dict(name="poly", warmup_epochs=0, warmup_bias_lr=0.0, min_lr=0.0, power=2.0, end_epoch=10)),
    ("step", 1.0, 10, dict(name="step", iters_per_phase=3, gamma=0.5, end_epoch=7)),
    ("multi_step", 1.0, 10, dict(name="multi_step", milestones=[2, 5, 5], gamma=0.1)),
]


def sequence(base, epochs, conf):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=base)
    training = OmegaConf.create({"epochs": epochs, "scheduler": conf})
    sched, _ = build_scheduler(opt, training)
    out = []
    for _ in range(epochs):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


def main():
    OUT.parent.mkdir(parents=True, exist_ok=True)
    cases = [{"label": l, "lr": b, "epochs": e, "scheduler": c, "sequence": sequence(b, e, c)} for l, b, e, c in CASES]
    OUT.write_text(json.dumps(cases, indent=1) + "\n")
    for c in cases:
        print(c["label"], [round(x, 6) for x in c["sequence"]])



# ---------------------------------------------------------------------------------------------
# Optimizers: the parameter after each of three steps with fixed gradients, for every optimizer
# NetsPresso builds, constructed exactly as its optimizers/builder.py does (PyTorch defaults for
# what it does not pass).

OPT_OUT = pathlib.Path("tests/fixtures/training/optimizers.json")
W0 = [0.5, -1.0, 2.0, 0.1]
GRADS = [[0.1, -0.2, 0.3, 0.05], [-0.3, 0.1, 0.2, -0.1], [0.2, 0.2, -0.1, 0.4]]
OPTIMIZERS = [
    ("adamw", dict(name="adamw", lr=0.01, betas=[0.9, 0.999], weight_decay=0.05)),
    ("adam", dict(name="adam", lr=0.01, betas=[0.8, 0.99], weight_decay=0.01)),
    ("sgd_momentum_nesterov", dict(name="sgd", lr=0.1, momentum=0.9, weight_decay=0.001, nesterov=True)),
    ("sgd_plain", dict(name="sgd", lr=0.1, momentum=0.0, weight_decay=0.0, nesterov=False)),
    ("rmsprop", dict(name="rmsprop", lr=0.01, alpha=0.9, momentum=0.5, eps=1e-6, weight_decay=0.01)),
    ("adagrad", dict(name="adagrad", lr=0.1, lr_decay=0.01, weight_decay=0.01)),
    ("adamax", dict(name="adamax", lr=0.02, betas=[0.9, 0.99], weight_decay=0.01)),
    ("adadelta", dict(name="adadelta", lr=1.0, rho=0.8, weight_decay=0.01)),
]


def torch_optimizer(p, c):
    n = c["name"]
    if n == "adamw":
        return torch.optim.AdamW([p], lr=c["lr"], betas=c["betas"], weight_decay=c["weight_decay"])
    if n == "adam":
        return torch.optim.Adam([p], lr=c["lr"], betas=c["betas"], weight_decay=c["weight_decay"])
    if n == "sgd":
        return torch.optim.SGD([p], lr=c["lr"], momentum=c["momentum"], weight_decay=c["weight_decay"], nesterov=c["nesterov"])
    if n == "rmsprop":
        return torch.optim.RMSprop([p], lr=c["lr"], alpha=c["alpha"], weight_decay=c["weight_decay"], momentum=c["momentum"], eps=c["eps"])
    if n == "adagrad":
        return torch.optim.Adagrad([p], lr=c["lr"], lr_decay=c["lr_decay"], weight_decay=c["weight_decay"])
    if n == "adamax":
        return torch.optim.Adamax([p], lr=c["lr"], betas=c["betas"], weight_decay=c["weight_decay"])
    if n == "adadelta":
        return torch.optim.Adadelta([p], lr=c["lr"], rho=c["rho"], weight_decay=c["weight_decay"])
    raise ValueError(n)


def optimizer_cases():
    out = []
    for label, conf in OPTIMIZERS:
        p = torch.nn.Parameter(torch.tensor(W0, dtype=torch.float32))
        opt = torch_optimizer(p, conf)
        steps = []
        for g in GRADS:
            opt.zero_grad()
            p.grad = torch.tensor(g, dtype=torch.float32)
            opt.step()
            steps.append(p.detach().tolist())
        out.append({"label": label, "optimizer": conf, "w0": W0, "grads": GRADS, "steps": steps})
    OPT_OUT.write_text(json.dumps(out, indent=1) + "\n")
    for c in out:
        print(c["label"], c["steps"][-1])


# ---------------------------------------------------------------------------------------------
# Parameter groups: NetsPresso's build_optimizer on real models (no_bias_decay,
# no_norm_weight_decay, per-module overwrite), each group's name, lr, weight decay and members.

GROUP_OUT = pathlib.Path("tests/fixtures/training/param_groups.json")
GROUP_CASES = [
    # (label, model config, num_classes, optimizer config)
    ("resnet18_no_decay", "configs/resnet18-classification.yaml", 10,
     dict(name="adamw", lr=0.001, betas=[0.9, 0.999], weight_decay=0.05, no_bias_decay=True, no_norm_weight_decay=True, overwrite=None)),
    ("efficientformer_norm_only", "configs/efficientformer-l1-classification.yaml", 10,
     dict(name="sgd", lr=0.1, momentum=0.9, weight_decay=1e-4, nesterov=False, no_bias_decay=False, no_norm_weight_decay=True, overwrite=None)),
    ("yolox_nano_overwrite", "configs/yolox-nano-detection.yaml", 80,
     dict(name="adamw", lr=0.001, betas=[0.9, 0.999], weight_decay=0.05, no_bias_decay=False, no_norm_weight_decay=False,
          overwrite=[dict(param_group="head", lr=0.01, weight_decay=0.0), dict(param_group="neck", no_bias_decay=True)])),
]


def param_group_cases():
    from netspresso_trainer.models.builder import build_model
    from netspresso_trainer.optimizers.builder import build_optimizer
    out = []
    for label, path, classes, conf in GROUP_CASES:
        model_conf = OmegaConf.load(path).model
        model_conf.checkpoint.use_pretrained = False
        full = model_conf.architecture.get("full")
        single = bool(full is not None and full.get("name") is not None)
        model_conf.single_task_model = single
        model = build_model(model_conf, classes, devices=torch.device("cpu"), distributed=False)
        opt = build_optimizer(model, single, OmegaConf.create(conf))
        names = {id(p): n for n, p in model.named_parameters()}
        groups = []
        for g in opt.param_groups:
            groups.append({
                "name": g.get("group_name", "default" if not groups else "no_decay"),
                "lr": g["lr"],
                "weight_decay": g["weight_decay"],
                "params": sorted(names[id(p)] for p in g["params"]),
            })
        out.append({"label": label, "config": path, "num_classes": classes, "optimizer": conf, "groups": groups})
        print(label, [(g["name"], len(g["params"]), g["lr"], g["weight_decay"]) for g in groups])
    GROUP_OUT.write_text(json.dumps(out, indent=1) + "\n")


# ---------------------------------------------------------------------------------------------
# PIDNet's boundary targets: NetsPresso's generate_edge (cv2.Canny, frame cleared, 4x4 dilation)
# on label maps with shapes and ignored pixels; the edge map as rows of 0/1.

EDGE_OUT = pathlib.Path("tests/fixtures/training/pidnet_edges.json")


def edge_cases():
    import numpy as np
    from netspresso_trainer.dataloaders.augmentation.transforms import generate_edge
    rng = np.random.default_rng(7)
    out = []
    for k in range(3):
        h, w = 28 + 4 * k, 32
        label = np.zeros((h, w), dtype=np.uint8)
        for c in range(1, 4):
            y0, x0 = rng.integers(0, h - 8), rng.integers(0, w - 8)
            label[y0:y0 + rng.integers(4, 14), x0:x0 + rng.integers(4, 14)] = c
        label[rng.integers(0, h, 5), rng.integers(0, w, 5)] = 255
        edge = (np.array(generate_edge(label)) > 0).astype(int)
        out.append({"label": label.tolist(), "edge": ["".join(str(v) for v in row) for row in edge]})
    EDGE_OUT.write_text(json.dumps(out) + "\n")
    print("edges", [sum(r.count("1") for r in c["edge"]) for c in out])


if __name__ == "__main__":
    main()
    optimizer_cases()
    param_group_cases()
    edge_cases()
