"""The torch-compatible subset: everything a case may use, in one place.

Cases call the engine's namespace ``T`` exactly as the note calls ``torch``. An
engine that offers the names below, with PyTorch's meaning, can run the whole
specification; one that lacks a group loses only the cases needing that
capability (see :mod:`gradspec.spec.capabilities`). Keeping the subset small and
written down is what lets a NumPy teaching engine and a CUDA backend be held to the
same cases.
"""

from __future__ import annotations

from typing import NamedTuple


class Feature(NamedTuple):
    name: str
    capability: str
    meaning: str


SUBSET: tuple[Feature, ...] = (
    # Tensors and their factories
    Feature(
        "T.tensor(data, requires_grad=False, dtype=None)",
        "graph",
        "a leaf tensor; Python floats give float32",
    ),
    Feature("T.ones(*shape) / T.zeros(*shape) / T.ones_like / T.zeros_like", "graph", "filled tensors"),
    Feature("T.float32 / T.float64", "graph", "dtypes accepted by dtype="),
    Feature("T.add(a, b) / T.mul(a, b) / T.pow(a, k)", "graph", "ops; a scalar may stand on either side"),
    Feature("T.cat(tensors, dim=0)", "graph", "concatenation, differentiable in every input"),
    Feature("+ - * / ** unary -, ==, >=", "graph", "operators with PyTorch's broadcasting"),
    Feature(
        "Tensor.backward(gradient=None, retain_graph=None, create_graph=False)",
        "graph",
        "reverse pass into leaf .grad",
    ),
    Feature("Tensor.grad / .is_leaf / .requires_grad", "graph", "gradient slot and graph flags"),
    Feature(
        "Tensor.item() / .tolist() / .detach() / .float() / .squeeze() / .ge(v) / .sum() / .size(dim)",
        "graph",
        "reading results",
    ),
    Feature("Tensor.retain_grad()", "retain_grad", "keep .grad on a non-leaf"),
    Feature("Tensor.grad_fn, grad_fn.name()", "grad_fn", "the node that made a result; None on leaves"),
    Feature(
        "T.autograd.grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False)",
        "autograd.grad",
        "gradients returned, .grad untouched",
    ),
    Feature(
        "T.autograd.backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False)",
        "autograd.grad",
        "functional form of Tensor.backward",
    ),
    Feature("create_graph=True", "create_graph", "the returned gradients carry a graph (higher order)"),
    Feature("T.no_grad()", "no_grad", "context manager that records nothing"),
    Feature("Tensor.add_ / .zero_ / .copy_ / += ", "in-place", "in-place updates, subject to the leaf rule"),
    Feature(
        "T.nn.Module / Linear(in, out) / Sigmoid() / Sequential(*mods) / BCELoss()",
        "nn",
        "layers; Module subclasses register attributes",
    ),
    Feature(
        "Module.parameters() / Linear.weight / Linear.bias / Sequential[i]",
        "nn",
        "parameters as leaf tensors",
    ),
    Feature("T.optim.SGD(params, lr, momentum=0) .step() .zero_grad()", "optim", "PyTorch's SGD update"),
)


def by_capability() -> dict[str, list[Feature]]:
    """The subset grouped by the capability that brings it."""
    groups: dict[str, list[Feature]] = {}
    for feature in SUBSET:
        groups.setdefault(feature.capability, []).append(feature)
    return groups
