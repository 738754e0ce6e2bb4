"""Regenerate logistic_regression.json: the note's training set and a fixed start.

Run once with torch (``python -m gradspec.spec.data.generate_logistic_regression``).
The points follow the note's recipe (seed 1, class means ±1.7 shifted by a bias
of 1, unit variance, 100 points per class); the initial Linear(2, 1) weights are
torch's default initialisation drawn right after them. Shipping the numbers lets
every engine, whatever its random generator, train on the same points from the
same start.
"""

from __future__ import annotations

import json
from pathlib import Path


def generate() -> dict:
    import torch

    torch.manual_seed(1)
    n, mean, bias = 100, 1.7, 1
    ones = torch.ones(n, 2)
    x0 = torch.normal(mean * ones, 1) + bias
    x1 = torch.normal(-mean * ones, 1) + bias
    linear = torch.nn.Linear(2, 1)
    return {
        "source": "torch.manual_seed(1); the note's recipe; torch " + torch.__version__,
        "x": torch.cat([x0, x1], 0).tolist(),
        "y": torch.cat([torch.zeros(n), torch.ones(n)], 0).tolist(),
        "initial_weight": linear.weight.detach().tolist(),
        "initial_bias": linear.bias.detach().tolist(),
    }


if __name__ == "__main__":
    out = Path(__file__).with_name("logistic_regression.json")
    out.write_text(json.dumps(generate()) + "\n")
    print(f"wrote {out}")
