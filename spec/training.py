"""The note's logistic regression as data and a training loop any engine can run.

The data set ships in ``data/logistic_regression.json`` (see the generator there),
so that each engine trains on the same 200 points from the same initial weights
and a difference in the outcome is a difference in the engine.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

REQUIRED_CORRECT = 199
"""Correct points out of 200 that count as passing the note's 'accuracy > 0.99'.

Counted as an integer: 198/200 is exactly 0.99, which the note's float test
rejects in float64 but a float32 mean (0.99000001) would accept."""

MAX_ITERATIONS = 1000
CHECK_EVERY = 20  # the note measures accuracy every 20 iterations


@lru_cache(maxsize=1)
def note_data() -> dict[str, Any]:
    """The note's 200 training points, labels and the fixed initial weights."""
    text = resources.files("gradspec.spec.data").joinpath("logistic_regression.json").read_text()
    return json.loads(text)


@dataclass
class TrainingRun:
    """What one training run did, for the verdict and for the report's plots."""

    passed_at: int | None = None
    iterations: int = 0
    losses: list[float] = field(default_factory=list)
    checks: list[tuple[int, int]] = field(default_factory=list)  # (iteration, correct)
    weight: list[float] = field(default_factory=list)
    bias: float = 0.0

    def as_observation(self) -> dict[str, Any]:
        return {
            "passed_at": self.passed_at,
            "iterations": self.iterations,
            "losses": self.losses,
            "checks": self.checks,
            "weight": self.weight,
            "bias": self.bias,
            "points": len(note_data()["y"]),
        }


def load_initial_weights(T: Any, linear: Any) -> None:
    """Copy the shipped initial weights into a Linear(2, 1) without recording a graph."""
    data = note_data()
    with T.no_grad():
        linear.weight.copy_(T.tensor(data["initial_weight"]))
        linear.bias.copy_(T.tensor(data["initial_bias"]))


def train(T: Any, model: Any, linear: Any) -> TrainingRun:
    """Train ``model`` as the note does: BCELoss, SGD(lr=0.01, momentum=0.9), 1000 iterations at most."""
    data = note_data()
    train_x = T.tensor(data["x"])
    train_y = T.tensor(data["y"])
    load_initial_weights(T, linear)
    loss_fn = T.nn.BCELoss()
    optimizer = T.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    run = TrainingRun()
    for iteration in range(MAX_ITERATIONS):
        y_pred = model(train_x)
        loss = loss_fn(y_pred.squeeze(), train_y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        run.losses.append(float(loss.item()))
        run.iterations = iteration + 1
        if iteration % CHECK_EVERY == 0:
            mask = y_pred.ge(0.5).float().squeeze()
            correct = int((mask == train_y).sum().item())
            run.checks.append((iteration, correct))
            if correct >= REQUIRED_CORRECT:
                run.passed_at = iteration
                break
    run.weight = [float(v) for v in linear.weight.detach().tolist()[0]]
    run.bias = float(linear.bias.detach().tolist()[0])
    return run
