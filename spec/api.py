"""The torch-compatible subset: everything a case may use, in one place.

Cases call the engine's namespace ``T`` exactly as the note calls ``torch``. An
engine that offers the names below, with PyTorch's meaning, can run the whole
specification; one that lacks a group loses only the cases needing that
capability (see :mod:`gradspec.spec.capabilities`). Keeping the subset small and
written down is what lets a NumPy teaching engine and a CUDA backend be held to the
same cases.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple


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
    # Ops on the namespace (the property-based cases also draw their method forms)
    Feature(
        "T.add(a, b) / T.sub(a, b) / T.mul(a, b) / T.div(a, b) / T.pow(a, k)",
        "graph",
        "binary ops; a scalar may stand on either side",
    ),
    Feature(
        "T.neg / T.exp / T.log / T.sqrt / T.abs / T.sigmoid / T.tanh / T.relu",
        "graph",
        "elementwise functions, also as Tensor methods (x.exp(), ...)",
    ),
    Feature("T.clamp(a, min=None, max=None) / Tensor.clamp(min, max)", "graph", "clipping"),
    Feature(
        "T.sum(a, dim, keepdim=False) / T.mean(a, dim, keepdim=False) / Tensor.sum() / Tensor.mean()",
        "graph",
        "reductions, whole or along a dim (negative dims too); the methods take dim=, keepdim=",
    ),
    Feature("T.matmul(a, b) / @", "graph", "matrix product of 2-d tensors"),
    Feature(
        "T.cat(tensors, dim=0) / T.stack(tensors, dim=0)", "graph", "joining, differentiable in every input"
    ),
    Feature("+ - * / ** unary -, ==, >=", "graph", "operators with PyTorch's broadcasting"),
    Feature(
        "Tensor.reshape(*shape) / Tensor.unsqueeze(dim) / Tensor.squeeze(dim=None) / "
        "Tensor.transpose(d0, d1) / Tensor.t() / Tensor.expand(*sizes) / x[i:j]",
        "graph",
        "shape changes and slicing, differentiable",
    ),
    # The graph
    Feature(
        "Tensor.backward(gradient=None, retain_graph=None, create_graph=False)",
        "graph",
        "reverse pass into leaf .grad",
    ),
    Feature(
        "Tensor.grad / Tensor.is_leaf / Tensor.requires_grad",
        "graph",
        "gradient slot and graph flags; .grad may be assigned (x.grad = None clears it)",
    ),
    Feature("Tensor.detach()", "graph", "the same values, cut from the graph (a leaf)"),
    Feature(
        "Tensor.item() / Tensor.tolist() / Tensor.float() / Tensor.ge(v) / Tensor.size(dim) / Tensor.shape / "
        "Tensor.dtype",
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
    Feature(
        "Tensor.add_ / Tensor.mul_ / Tensor.zero_ / Tensor.copy_ / +=",
        "in-place",
        "in-place updates, subject to the leaf rule",
    ),
    # Models and training
    Feature(
        "T.nn.Module / T.nn.Linear(in, out) / T.nn.Sigmoid() / T.nn.ReLU() / T.nn.Sequential(*mods)",
        "nn",
        "layers; Module subclasses register attributes",
    ),
    Feature(
        "T.nn.BCELoss() / T.nn.MSELoss() / T.nn.CrossEntropyLoss()",
        "nn",
        "losses, mean-reduced; CrossEntropyLoss takes logits and class indices",
    ),
    Feature(
        "Module.parameters() / Linear.weight / Linear.bias / Sequential[i]",
        "nn",
        "parameters as leaf tensors",
    ),
    Feature(
        "T.optim.SGD(params, lr, momentum=0, dampening=0, nesterov=False, weight_decay=0) / "
        "SGD.step() / SGD.zero_grad()",
        "optim",
        "PyTorch's SGD update, with each of its options",
    ),
)


def by_capability() -> dict[str, list[Feature]]:
    """The subset grouped by the capability that brings it."""
    groups: dict[str, list[Feature]] = {}
    for feature in SUBSET:
        groups.setdefault(feature.capability, []).append(feature)
    return groups


_NAME = re.compile(r"(?<![\w.])(?:T|Tensor|Module|Linear|Sequential|SGD)(?:\.[A-Za-z_]\w*)+")
"""A name as features spell it in full: ``T.tensor``, ``T.nn.Linear``, ``Tensor.detach``, and
what the cases take from modules and optimisers: ``Module.parameters``, ``SGD.step``."""


def documented_names() -> set[str]:
    """Every name a feature of :data:`SUBSET` spells in full: ``T.<name>`` (also
    ``T.nn.<name>``, ``T.optim.<name>``, ``T.autograd.<name>``), what cases may take
    from the namespace, and ``Tensor.<name>``, the tensor methods and attributes."""
    return {name for feature in SUBSET for name in _NAME.findall(feature.name)}


def reference_differences() -> tuple[Any, ...]:
    """Where the reference engine knowingly differs from PyTorch inside this subset.

    The reference engine promises PyTorch's semantics on every program written in
    :data:`SUBSET`; the few exceptions are listed (each with why and the test that
    pins it) in :mod:`gradspec.impls.reference.differences`, imported here lazily so
    reading the subset never imports an engine.
    """
    from gradspec.impls.reference.differences import DIFFERENCES

    return DIFFERENCES
