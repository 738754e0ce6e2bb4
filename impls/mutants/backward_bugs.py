"""Mutants with one bug in the backward machinery (reference ``autograd`` module)."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from gradspec.impls.mutants.zoo import edited, mutant, replaced


@mutant(
    "grad-overwrites",
    bug="Each backward assigns a leaf's .grad instead of adding to it, so gradients never accumulate.",
    where="autograd.accumulate_grad",
)
def grad_overwrites(ref: ModuleType) -> Any:
    def accumulate_grad(variable: Any, new: Any, owned: bool, create_graph: bool) -> None:
        variable._grad = new if create_graph else ref.core._wrap(np.array(new._data))

    return replaced(ref.autograd, "accumulate_grad", accumulate_grad)


@mutant(
    "retain-graph-always",
    bug=(
        "backward never frees the saved tensors, as if retain_graph were always True: a second "
        "backward silently succeeds."
    ),
    where="autograd.release_saved",
)
def retain_graph_always(ref: ModuleType) -> Any:
    return replaced(ref.autograd, "release_saved", lambda node: None)


@mutant(
    "retain-graph-ignored",
    bug="backward frees the saved tensors even when retain_graph=True, so a retained graph cannot be reused.",
    where="autograd.run_backward (its keep_graph argument)",
)
def retain_graph_ignored(ref: ModuleType) -> Any:
    original = ref.autograd.run_backward

    def run_backward(
        roots: Any, grads: Any, keep_graph: bool, create_graph: bool, *args: Any, **kw: Any
    ) -> Any:
        return original(roots, grads, False, create_graph, *args, **kw)

    return replaced(ref.autograd, "run_backward", run_backward)


@mutant(
    "gradient-argument-ignored",
    bug=(
        "backward(gradient) seeds the pass with ones of the output's shape, ignoring the gradient "
        "(grad_tensors) given."
    ),
    where="autograd.make_root_grad",
)
def gradient_argument_ignored(ref: ModuleType) -> Any:
    original = ref.autograd.make_root_grad

    def make_root_grad(output: Any, gradient: Any, index: int) -> Any:
        if gradient is not None:
            return ref.core._wrap(np.ones(output._data.shape, dtype=output._data.dtype))
        return original(output, gradient, index)

    return replaced(ref.autograd, "make_root_grad", make_root_grad)


@mutant(
    "implicit-gradient-for-any-shape",
    bug="backward() without a gradient seeds any output with ones instead of refusing non-scalar outputs.",
    where="autograd.make_root_grad",
)
def implicit_gradient_for_any_shape(ref: ModuleType) -> Any:
    original = ref.autograd.make_root_grad

    def make_root_grad(output: Any, gradient: Any, index: int) -> Any:
        if gradient is None:
            return ref.core._wrap(np.ones(output._data.shape, dtype=output._data.dtype))
        return original(output, gradient, index)

    return replaced(ref.autograd, "make_root_grad", make_root_grad)


@mutant(
    "create-graph-ignored",
    bug=(
        "The backward pass never records its own graph, so create_graph=True gives gradients that "
        "cannot be differentiated again."
    ),
    where="autograd.run_backward (its create_graph argument)",
)
def create_graph_ignored(ref: ModuleType) -> Any:
    original = ref.autograd.run_backward

    def run_backward(
        roots: Any, grads: Any, keep_graph: bool, create_graph: bool, *args: Any, **kw: Any
    ) -> Any:
        return original(roots, grads, keep_graph, False, *args, **kw)

    return replaced(ref.autograd, "run_backward", run_backward)


@mutant(
    "fan-in-overwrites",
    bug=(
        "When two gradients reach one node (x * x, or a tensor used twice), the later replaces the "
        "earlier instead of adding: d(x*x)/dx comes out as x, not 2x."
    ),
    where="autograd.run_backward (the line that sums gradients arriving at a node)",
)
def fan_in_overwrites(ref: ModuleType) -> Any:
    broken = edited(ref.autograd.run_backward, "bufs[nxt] = _wrap(prev._data + gi._data)", "bufs[nxt] = gi")
    return replaced(ref.autograd, "run_backward", broken)


@mutant(
    "autograd-grad-accumulates",
    bug="autograd.grad also adds the gradients it returns into the inputs' .grad.",
    where="autograd.grad (its call of the backward pass)",
)
def autograd_grad_accumulates(ref: ModuleType) -> Any:
    broken = edited(ref.autograd.grad, "accumulate=False", "accumulate=True")
    return replaced(ref.autograd, "grad", broken)


@mutant(
    "saved-version-unchecked",
    bug=(
        "backward does not compare saved tensors' versions, so a tensor changed in place after "
        "being saved gives a silently wrong gradient."
    ),
    where="autograd.unpack_saved",
)
def saved_version_unchecked(ref: ModuleType) -> Any:
    original = ref.autograd.unpack_saved

    def unpack_saved(node: Any, create_graph: bool) -> Any:
        node.versions = None
        return original(node, create_graph)

    return replaced(ref.autograd, "unpack_saved", unpack_saved)


# -- what a leaf's .grad is ------------------------------------------------------------


@mutant(
    "grad-shared-between-leaves",
    bug=(
        "A leaf's first gradient is stored as the very tensor the backward pass computed, never "
        "copied: leaves that receive the same gradient (both operands of x + w) share one .grad "
        "(x.grad is w.grad), so zeroing or accumulating one changes the other."
    ),
    where="autograd.accumulate_grad (its owned argument)",
    narrow=True,
)
def grad_shared_between_leaves(ref: ModuleType) -> Any:
    original = ref.autograd.accumulate_grad

    def accumulate_grad(variable: Any, new: Any, owned: bool, create_graph: bool) -> None:
        original(variable, new, True, create_graph)

    return replaced(ref.autograd, "accumulate_grad", accumulate_grad)


@mutant(
    "grad-requires-grad",
    bug=(
        "A leaf's .grad itself requires grad after a plain backward (create_graph=False), as if "
        "the gradient were part of a graph."
    ),
    where="autograd.accumulate_grad",
    narrow=True,
)
def grad_requires_grad(ref: ModuleType) -> Any:
    original = ref.autograd.accumulate_grad

    def accumulate_grad(variable: Any, new: Any, owned: bool, create_graph: bool) -> None:
        original(variable, new, owned, create_graph)
        if not create_graph and variable._grad is not None:
            variable._grad._rg = True

    return replaced(ref.autograd, "accumulate_grad", accumulate_grad)


@mutant(
    "grad-dtype-float64",
    bug="A float32 leaf receives a float64 .grad (gradients accumulated in double and never cast back).",
    where="autograd.accumulate_grad",
    narrow=True,
)
def grad_dtype_float64(ref: ModuleType) -> Any:
    original = ref.autograd.accumulate_grad

    def accumulate_grad(variable: Any, new: Any, owned: bool, create_graph: bool) -> None:
        original(variable, new, owned, create_graph)
        grad = variable._grad
        if not create_graph and grad is not None and np.asarray(grad._data).dtype == np.float32:
            variable._grad = ref.core._wrap(np.asarray(grad._data, dtype=np.float64))

    return replaced(ref.autograd, "accumulate_grad", accumulate_grad)
