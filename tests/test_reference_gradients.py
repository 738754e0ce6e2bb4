"""Each op's gradient in the reference engine against central finite differences (float64).

The loss is a random weighting of the op's output, so every output element's
gradient is checked, not just their sum.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import gradspec.impls.reference as T

RNG = np.random.default_rng(0)


def _fd_check(fn: Callable[..., Any], *arrays: np.ndarray, eps: float = 1e-6, tol: float = 1e-6) -> None:
    inputs = [T.tensor(a, dtype=T.float64, requires_grad=True) for a in arrays]
    out = fn(*inputs)
    weights = RNG.standard_normal(out.shape)
    loss = T.sum(out * T.tensor(weights, dtype=T.float64))
    loss.backward()
    for k, a in enumerate(arrays):
        numeric = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            plus, minus = [x.copy() for x in arrays], [x.copy() for x in arrays]
            plus[k][idx] += eps
            minus[k][idx] -= eps
            with T.no_grad():
                fp = float(np.sum(fn(*[T.tensor(x, dtype=T.float64) for x in plus]).numpy() * weights))
                fm = float(np.sum(fn(*[T.tensor(x, dtype=T.float64) for x in minus]).numpy() * weights))
            numeric[idx] = (fp - fm) / (2 * eps)
        analytic = inputs[k].grad
        assert analytic is not None, f"input {k} got no gradient"
        assert analytic.shape == inputs[k].shape
        np.testing.assert_allclose(
            analytic.numpy(), numeric, rtol=tol, atol=tol, err_msg=f"gradient of input {k}"
        )


def r(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape)


def pos(*shape: int) -> np.ndarray:
    return RNG.uniform(0.5, 2.0, shape)


CASES: dict[str, tuple[Callable[..., Any], list[np.ndarray]]] = {
    "add": (T.add, [r(3, 4), r(3, 4)]),
    "add_broadcast": (T.add, [r(3, 4), r(4)]),
    "add_broadcast_keepdim": (T.add, [r(3, 1), r(1, 4)]),
    "add_scalar": (lambda a: T.add(a, 2.5), [r(3)]),
    "radd_scalar": (lambda a: 2.5 + a, [r(3)]),
    "add_alpha": (lambda a, b: T.add(a, b, alpha=3), [r(2, 3), r(2, 3)]),
    "sub": (T.sub, [r(2, 3), r(3)]),
    "rsub": (lambda a: 1 - a, [r(4)]),
    "mul": (T.mul, [r(2, 3), r(2, 3)]),
    "mul_broadcast": (T.mul, [r(2, 1, 3), r(4, 1)]),
    "div": (T.div, [r(2, 3), pos(2, 3)]),
    "rdiv": (lambda a: 2 / a, [pos(3)]),
    "neg": (T.neg, [r(5)]),
    "pow_scalar": (lambda a: T.pow(a, 3), [r(4)]),
    "pow_fractional": (lambda a: a**0.5, [pos(4)]),
    "pow_tensor": (T.pow, [pos(4), r(4)]),
    "rpow": (lambda a: 2.0**a, [r(4)]),
    "exp": (T.exp, [r(3, 2)]),
    "log": (T.log, [pos(3, 2)]),
    "sqrt": (T.sqrt, [pos(3)]),
    "abs": (T.abs, [pos(3) * np.array([1, -1, 1])]),
    "sigmoid": (T.sigmoid, [r(3, 2)]),
    "tanh": (T.tanh, [r(3, 2)]),
    "relu": (T.relu, [np.array([-1.0, 0.5, 2.0, -0.3])]),
    "sin": (T.sin, [r(3)]),
    "cos": (T.cos, [r(3)]),
    "sum": (T.sum, [r(3, 4)]),
    "sum_dim": (lambda a: T.sum(a, 1), [r(3, 4)]),
    "sum_dims_keepdim": (lambda a: a.sum((0, 2), keepdim=True), [r(2, 3, 4)]),
    "mean": (T.mean, [r(3, 4)]),
    "mean_dim": (lambda a: a.mean(0), [r(3, 4)]),
    "mean_dim_keepdim": (lambda a: a.mean(-1, keepdim=True), [r(3, 4)]),
    "max": (T.max, [r(7)]),
    "max_dim": (lambda a: T.max(a, 1)[0], [r(3, 4)]),
    "max_dim_keepdim": (lambda a: a.max(0, keepdim=True).values, [r(3, 4)]),
    "min_dim": (lambda a: T.min(a, 0).values, [r(3, 4)]),
    "maximum": (T.maximum, [r(5), r(5)]),
    "matmul_mm": (T.matmul, [r(3, 4), r(4, 2)]),
    "matmul_mv": (T.matmul, [r(3, 4), r(4)]),
    "matmul_vm": (T.matmul, [r(4), r(4, 2)]),
    "matmul_dot": (T.matmul, [r(4), r(4)]),
    "matmul_batched_broadcast": (T.matmul, [r(2, 3, 4), r(4, 5)]),
    "linear": (T.nn.functional.linear, [r(5, 3), r(2, 3), r(2)]),
    "reshape": (lambda a: a.reshape(6, 2) * T.arange(12.0, dtype=T.float64).reshape(6, 2), [r(3, 4)]),
    "view_flatten": (lambda a: a.view(-1), [r(2, 3)]),
    "transpose": (lambda a: a.transpose(0, 1), [r(2, 3)]),
    "T": (lambda a: a.T, [r(2, 3)]),
    "permute": (lambda a: a.permute(2, 0, 1), [r(2, 3, 4)]),
    "squeeze": (lambda a: a.squeeze(), [r(3, 1)]),
    "unsqueeze": (lambda a: a.unsqueeze(1), [r(3)]),
    "expand": (lambda a: a.expand(4, 3), [r(1, 3)]),
    "cat": (lambda a, b: T.cat([a, b], dim=0), [r(2, 3), r(1, 3)]),
    "cat_dim1": (lambda a, b: T.cat([a, b], dim=1), [r(2, 3), r(2, 2)]),
    "stack": (lambda a, b: T.stack([a, b], dim=1), [r(2, 3), r(2, 3)]),
    "getitem_int": (lambda a: a[1], [r(3, 4)]),
    "getitem_slice": (lambda a: a[1:, ::2], [r(3, 4)]),
    "getitem_advanced_repeats": (lambda a: a[T.tensor([0, 2, 0])], [r(3, 2)]),
    "clamp": (lambda a: T.clamp(a, -0.5, 0.5), [np.array([-1.0, -0.2, 0.3, 0.9])]),
    "where": (lambda a, b: T.where(a > 0, a, b), [r(6), r(6)]),
    "softmax": (lambda a: T.softmax(a, 1), [r(2, 4)]),
    "log_softmax": (lambda a: T.log_softmax(a, 1), [r(2, 4)]),
    "bce": (lambda a, b: T.nn.functional.binary_cross_entropy(T.sigmoid(a), T.sigmoid(b)), [r(5), r(5)]),
    "mse": (T.nn.functional.mse_loss, [r(5), r(5)]),
    "clone": (T.clone, [r(3)]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradient_matches_finite_differences(name: str) -> None:
    fn, arrays = CASES[name]
    _fd_check(fn, *arrays)


def test_cross_entropy_gradient_with_class_indices() -> None:
    target = T.tensor([1, 0, 3])
    _fd_check(lambda a: T.nn.functional.cross_entropy(a, target), r(3, 4))


def test_broadcast_gradient_is_summed_to_each_input_shape() -> None:
    a = T.ones(2, 1, 3, dtype=T.float64, requires_grad=True)
    b = T.ones(4, 1, dtype=T.float64, requires_grad=True)
    (a * b).sum().backward()
    assert a.grad.shape == (2, 1, 3) and b.grad.shape == (4, 1)
    np.testing.assert_array_equal(a.grad.numpy(), np.full((2, 1, 3), 4.0))
    np.testing.assert_array_equal(b.grad.numpy(), np.full((4, 1), 6.0))


def test_scalar_broadcast_gradient_of_0d_tensor() -> None:
    s = T.tensor(2.0, requires_grad=True)
    v = T.tensor([1.0, 2.0, 3.0])
    (s * v).sum().backward()
    assert s.grad.shape == () and s.grad.item() == 6.0


# -- the raw-array fast path of the backward pass ----------------------------------------

_ARRAY_CASES: dict[str, tuple[Callable[..., Any], tuple[tuple[int, ...], ...]]] = {
    "mul-broadcast": (lambda a, b: a * b, ((3, 4), (4,))),
    "div-sub-neg": (lambda a, b: -(a - b) / (b * b + 1), ((2, 3), (2, 3))),
    "sigmoid-tanh-exp": (lambda a: T.exp(T.tanh(T.sigmoid(a))), ((5,),)),
    "relu-square-sqrt": (lambda a: T.sqrt(T.square(T.relu(a)) + 1), ((4, 2),)),
    "linear-squeeze": (lambda x, w, b: T.nn.functional.linear(x, w, b).squeeze(), ((6, 3), (1, 3), (1,))),
    "mse": (lambda a, b: T.nn.functional.mse_loss(a, b), ((3, 2), (3, 2))),
}


@pytest.mark.parametrize("name", sorted(_ARRAY_CASES))
def test_array_fast_path_gives_the_tensor_path_gradients(name: str) -> None:
    # create_graph=True runs the same formulas on tensors; create_graph=False on raw arrays.
    fn, shapes = _ARRAY_CASES[name]
    arrays = [RNG.standard_normal(s) for s in shapes]
    grads = []
    for create_graph in (False, True):
        inputs = [T.tensor(a, dtype=T.float64, requires_grad=True) for a in arrays]
        T.sum(fn(*inputs)).backward(create_graph=create_graph)
        grads.append([t.grad.detach().numpy() for t in inputs])
    for fast, slow in zip(*grads, strict=True):
        np.testing.assert_allclose(fast, slow, rtol=1e-12, atol=0)


def test_a_patched_rule_is_never_applied_to_raw_arrays() -> None:
    from gradspec.impls.reference import derivatives, ops

    assert derivatives.DERIVATIVES["mul"].arrays
    # A replacement rule may use anything (here ops.mul), so it always gets tensors.
    with derivatives.patched("mul", self=lambda grad, other: ops.mul(grad, other) * 3) as rule:
        assert not rule.arrays
        a = T.tensor([2.0], requires_grad=True)
        T.mul(a, T.tensor([5.0])).backward()
    assert a.grad.tolist() == [15.0]
