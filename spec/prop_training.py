"""Training: SGD with each loss follows the reference engine's trajectory step by step.

The note trains one logistic regression with SGD(momentum=0.9) and BCELoss and
checks the accuracy it ends with. That outcome survives many bugs (a loss summed
instead of averaged, momentum with an implicit dampening) that change every
step. This claim trains a Linear model on a small random problem with each loss
(BCE, MSE, cross-entropy) and each SGD variant (plain, momentum, dampening,
nesterov, weight decay) and compares the loss and the parameters after every
step with the reference engine's run of the same program.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given

from gradspec.spec.catalogue import TrainingCoverage
from gradspec.spec.expect import values
from gradspec.spec.prop_support import counterexample, expect_close, property_claim, reference_engine
from gradspec.spec.strategies import TrainingProblem, training_problems
from gradspec.spec.tolerances import tolerance

SECTION = "Logistic Regression › Modeling in PyTorch"
NEEDS = ("graph", "nn", "optim", "no_grad", "in-place")  # no_grad and copy_ load the initial weights


def train(T: Any, problem: TrainingProblem) -> list[tuple[float, np.ndarray, np.ndarray]]:
    """Run :meth:`TrainingProblem.program` on ``T``: (loss, weight, bias) after each step."""
    dtype = getattr(T, problem.dtype)
    x = T.tensor(problem.x, dtype=dtype)
    y = T.tensor(problem.y) if problem.loss == "CrossEntropyLoss" else T.tensor(problem.y, dtype=dtype)
    out, features = len(problem.weight), len(problem.weight[0])
    layers = [T.nn.Linear(features, out)] + ([T.nn.Sigmoid()] if problem.loss == "BCELoss" else [])
    model = T.nn.Sequential(*layers)
    with T.no_grad():
        model[0].weight.copy_(T.tensor(problem.weight))
        model[0].bias.copy_(T.tensor(problem.bias))
    loss_fn = getattr(T.nn, problem.loss)()
    optimizer = T.optim.SGD(model.parameters(), lr=problem.lr, **problem.sgd)
    trajectory = []
    for _ in range(problem.steps):
        prediction = model(x).squeeze(1) if problem.loss == "BCELoss" else model(x)
        loss = loss_fn(prediction, y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        trajectory.append((float(loss.item()), values(model[0].weight), values(model[0].bias)))
    return trajectory


@property_claim(
    "prop.sgd-trajectory-matches-reference",
    statement="A Linear model trained with SGD (plain, momentum, dampening, nesterov, weight decay) on BCE, MSE or cross-entropy loss has, after every step, the loss and parameters of the reference engine's run of the same program.",
    section=SECTION,
    needs=NEEDS,
    tolerances=(("float32", "training"),),
    coverage=TrainingCoverage(),
)
@given(problem=training_problems())
def sgd_trajectory(T: Any, problem: TrainingProblem) -> None:
    reference = reference_engine()
    with counterexample(problem.program, cover=problem.coverage()):
        if reference.namespace is T:
            return  # the reference follows itself
        tol = tolerance(problem.dtype, "training")
        with reference.session():
            expected = train(reference.namespace, problem)
        got = train(T, problem)
        for step, ((loss, weight, bias), (want_loss, want_weight, want_bias)) in enumerate(
            zip(got, expected, strict=True)
        ):
            expect_close(np.asarray(loss), want_loss, f"loss at step {step} (reference engine's)", tol)
            expect_close(weight, want_weight, f"weight after step {step} (reference engine's)", tol)
            expect_close(bias, want_bias, f"bias after step {step} (reference engine's)", tol)
