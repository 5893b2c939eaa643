"""Writes tests/fixtures/training/schedulers.json: the learning rate of every epoch under
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


if __name__ == "__main__":
    main()
