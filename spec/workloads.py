"""Benchmark workloads: the same programs, written once against ``T``, timed on every engine.

A workload is written the way the cases are written (``T.tensor(...)``, ``loss.backward()``),
so an engine is timed on the code it is checked on and a ratio between two engines
compares engines, not two hand-tuned programs. Data, models and optimizers are made
in ``prepare`` outside the timed call; only the work the workload names is timed.

The hand-derived NumPy logistic-regression step is a *baseline*, not a workload of
an engine: it is the floor a NumPy engine can approach on that step (no graph, no
dispatch), and the report shows it as a row of the same group.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradspec.spec.examples import note_graph, note_graph_on
from gradspec.spec.training import load_initial_weights, note_data

CHAIN_SIZES: tuple[int, ...] = (10**3, 10**4, 10**5, 10**6)
LARGE_CHAIN = 10**6
"""Chains this long cost seconds a round and gigabytes: ``gradspec bench`` times them only with ``--large``."""
FAN_OUT_WIDTH = 1000


@dataclass(frozen=True)
class Trial:
    """What the harness times for one workload on one engine.

    Without ``setup``, ``run()`` is called repeatedly and each call is one timing.
    With ``setup``, each round first builds fresh state untimed (a graph that
    backward would free) and then times ``run(state)`` once; ``teardown(state)``
    drops that state untimed, so freeing a million-node graph is not counted as
    backward.
    """

    run: Callable[..., Any]
    setup: Callable[[], Any] | None = None
    teardown: Callable[[Any], None] | None = None


@dataclass(frozen=True)
class Workload:
    """One benchmarked program: its report group, what it needs, and how to prepare it on ``T``."""

    name: str
    description: str
    prepare: Callable[[Any], Trial]
    needs: frozenset[str] = frozenset({"graph"})
    nodes: int | None = None  # graph size, for the scaling curves
    series: str | None = None  # workloads of one series form one scaling curve


@dataclass(frozen=True)
class Baseline:
    """A program outside any engine that sits in a workload's group as a reference row."""

    name: str
    workload: str
    description: str
    prepare: Callable[[], Trial]


# --- the note's graph -------------------------------------------------------------


def _note_graph(T: Any) -> Trial:
    def forward_backward() -> None:
        note_graph(T).y.backward()

    return Trial(forward_backward)


def _second_derivative(T: Any) -> Trial:
    # d/dw (x+w)(w+1) = 2w + x + 1, and its derivative is 2: autograd.grad must
    # build the first gradient's graph (create_graph) to get there.
    def grad_of_grad() -> Any:
        w = T.tensor([1.0], requires_grad=True)
        x = T.tensor([2.0], requires_grad=True)
        y = note_graph_on(T, w, x)
        (dw,) = T.autograd.grad(y, w, create_graph=True)
        (d2w,) = T.autograd.grad(dw, w)
        return d2w

    return Trial(grad_of_grad)


# --- training steps ---------------------------------------------------------------


def _logistic_step(T: Any) -> Trial:
    """One iteration of the note's training loop (spec.training.train), on its 200 points."""
    data = note_data()
    train_x = T.tensor(data["x"])
    train_y = T.tensor(data["y"])
    model = T.nn.Sequential(T.nn.Linear(2, 1), T.nn.Sigmoid())
    load_initial_weights(T, model[0])
    loss_fn = T.nn.BCELoss()
    optimizer = T.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step() -> Any:
        y_pred = model(train_x)
        loss = loss_fn(y_pred.squeeze(), train_y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        return loss  # not .item(): reading it back is not part of the step

    return Trial(step)


def _numpy_logistic_step() -> Trial:
    """The same step by hand in NumPy: forward, the derived gradient, PyTorch's momentum update."""
    data = note_data()
    x = np.asarray(data["x"], dtype=np.float32)
    y = np.asarray(data["y"], dtype=np.float32)
    w = np.asarray(data["initial_weight"], dtype=np.float32)[0].copy()
    b = np.asarray(data["initial_bias"], dtype=np.float32).copy()
    velocity_w, velocity_b = np.zeros_like(w), np.zeros_like(b)
    lr, momentum, n = np.float32(0.01), np.float32(0.9), np.float32(len(y))

    def step() -> float:
        nonlocal velocity_w, velocity_b
        p = 1.0 / (1.0 + np.exp(-(x @ w + b)))
        # BCELoss clamps each log at -100, so the loss stays finite at p = 0 or 1; the
        # log of that 0 is -inf before the clamp, which is the intent, not a warning.
        with np.errstate(divide="ignore"):
            log_p = np.maximum(np.log(p), -100.0)
            log_q = np.maximum(np.log1p(-p), -100.0)
        loss = -np.mean(y * log_p + (1.0 - y) * log_q)
        dz = (p - y) / n  # d loss / d logit, sigmoid and BCE combined
        grad_w, grad_b = x.T @ dz, dz.sum(keepdims=True)
        # SGD with momentum as PyTorch does it: buf = m * buf + g (buf starts at g), p -= lr * buf.
        velocity_w = momentum * velocity_w + grad_w
        velocity_b = momentum * velocity_b + grad_b
        w[...] -= lr * velocity_w
        b[...] -= lr * velocity_b
        return float(loss)

    return Trial(step)


def _mlp_step(n_in: int, hidden: int, n_out: int, batch: int) -> Callable[[Any], Trial]:
    """Linear-ReLU-Linear, MSE against one-hot targets, SGD with momentum: one step."""

    def prepare(T: Any) -> Trial:
        rng = np.random.default_rng(0)
        x = T.tensor(rng.standard_normal((batch, n_in), dtype=np.float32).tolist())
        target = T.tensor(np.eye(n_out, dtype=np.float32)[rng.integers(0, n_out, batch)].tolist())
        model = T.nn.Sequential(T.nn.Linear(n_in, hidden), T.nn.ReLU(), T.nn.Linear(hidden, n_out))
        loss_fn = T.nn.MSELoss()
        optimizer = T.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

        def step() -> None:
            optimizer.zero_grad()
            loss = loss_fn(model(x), target)
            loss.backward()
            optimizer.step()

        return Trial(step)

    return prepare


# --- graph shapes -----------------------------------------------------------------


def _deep_chain(nodes: int) -> Callable[[Any], Trial]:
    """backward through y = x * 1 * 1 * ... (``nodes`` multiplications), graph built untimed."""

    def prepare(T: Any) -> Trial:
        def build() -> list[Any]:
            x = T.tensor([1.0], requires_grad=True)
            y = x
            for _ in range(nodes):
                y = y * 1.0
            return [y]

        def backward(held: list[Any]) -> None:
            held[0].backward()

        return Trial(backward, setup=build, teardown=lambda held: held.clear())

    return prepare


def _fan_out(width: int) -> Callable[[Any], Trial]:
    """One leaf feeding ``width`` products that meet again in a cat: gradient accumulation at a wide node."""

    def prepare(T: Any) -> Trial:
        scales = [float(i % 7) for i in range(width)]

        def forward_backward() -> None:
            x = T.tensor([1.0], requires_grad=True)
            T.cat([x * s for s in scales]).sum().backward()

        return Trial(forward_backward)

    return prepare


WORKLOADS: tuple[Workload, ...] = (
    Workload("note_graph", "y = (x+w)(w+1) on 1-element tensors: forward and backward", _note_graph),
    Workload(
        "second_derivative",
        "d²y/dw² of the note's graph: autograd.grad with create_graph, then again",
        _second_derivative,
        needs=frozenset({"graph", "autograd.grad", "create_graph"}),
    ),
    Workload(
        "logistic_step",
        "one training step of the note's logistic regression (200x2, BCELoss, SGD momentum)",
        _logistic_step,
        needs=frozenset({"graph", "nn", "optim", "no_grad", "in-place"}),
    ),
    Workload(
        "mlp_small",
        "MLP training step, 16-32-4, batch 32, float32 (dispatch-bound)",
        _mlp_step(16, 32, 4, 32),
        needs=frozenset({"graph", "nn", "optim"}),
    ),
    Workload(
        "mlp_784_512_10",
        "MLP training step, 784-512-10, batch 256, float32 (BLAS-bound)",
        _mlp_step(784, 512, 10, 256),
        needs=frozenset({"graph", "nn", "optim"}),
    ),
    *(
        Workload(
            f"deep_chain_{n}",
            f"backward through a chain of {n:,} multiplications (graph built untimed)",
            _deep_chain(n),
            nodes=n,
            series="deep_chain",
        )
        for n in CHAIN_SIZES
    ),
    Workload(
        f"fan_out_{FAN_OUT_WIDTH}",
        f"one leaf used by {FAN_OUT_WIDTH:,} products joined by cat: forward and backward",
        _fan_out(FAN_OUT_WIDTH),
        nodes=FAN_OUT_WIDTH,
    ),
)

BASELINES: tuple[Baseline, ...] = (
    Baseline(
        "numpy-hand-derived",
        "logistic_step",
        "the logistic step written by hand in NumPy: forward, derived gradient, momentum update",
        _numpy_logistic_step,
    ),
)


def workload(name: str) -> Workload:
    """The workload called ``name`` (KeyError naming the known ones otherwise)."""
    for w in WORKLOADS:
        if w.name == name:
            return w
    raise KeyError(f"no workload {name!r}; known: {', '.join(w.name for w in WORKLOADS)}")
