"""Graph semantics of the reference engine: leaves, retain_grad, freeing, versions,
higher-order derivatives, autograd.grad and the deep chain."""

from __future__ import annotations

import gc
import sys
import time

import numpy as np
import pytest

import gradspec.impls.reference as T
from gradspec.impls.reference import autograd, derivatives, ops


def note_graph() -> tuple[T.Tensor, ...]:
    w = T.tensor([1.0], requires_grad=True)
    x = T.tensor([2.0], requires_grad=True)
    a = T.add(w, x)
    b = T.add(w, 1)
    y = T.mul(a, b)
    return w, x, a, b, y


def test_note_example_values_names_and_leaves() -> None:
    w, x, a, b, y = note_graph()
    assert repr(y) == "tensor([6.], grad_fn=<MulBackward0>)"
    assert (w.is_leaf, x.is_leaf, a.is_leaf, b.is_leaf, y.is_leaf) == (True, True, False, False, False)
    assert w.grad_fn is None
    assert type(a.grad_fn).__name__ == "AddBackward0" and y.grad_fn.name() == "MulBackward0"
    y.backward()
    assert w.grad.tolist() == [5.0] and x.grad.tolist() == [2.0]
    assert a._grad is None and y._grad is None
    assert w.grad.dtype == T.float32


def test_retain_grad_keeps_non_leaf_gradient() -> None:
    w, x, a, b, y = note_graph()
    a.retain_grad()
    y.backward()
    assert a.grad.tolist() == [2.0]
    assert b._grad is None


def test_leaf_gradients_accumulate_and_zero() -> None:
    w = T.tensor([1.0], requires_grad=True)
    x = T.tensor([2.0], requires_grad=True)
    seen = []
    for _ in range(3):
        T.mul(T.add(w, x), T.add(w, 1)).backward()
        seen.append(w.grad.item())
    assert seen == [5.0, 10.0, 15.0]
    w.grad.zero_()
    assert w.grad.item() == 0.0 and x.grad.item() == 6.0


def test_first_gradient_is_not_shared_between_leaves() -> None:
    # y = w + x hands the same gradient object to both leaves; zeroing one must not
    # zero the other.
    w = T.tensor([1.0], requires_grad=True)
    x = T.tensor([2.0], requires_grad=True)
    (w + x).sum().backward()
    w.grad.zero_()
    assert x.grad.item() == 1.0


def test_second_backward_through_freed_graph_raises() -> None:
    w, x, a, b, y = note_graph()
    y.backward()
    with pytest.raises(RuntimeError, match="^Trying to backward through the graph a second"):
        y.backward()


def test_retain_graph_allows_second_backward() -> None:
    w, x, a, b, y = note_graph()
    y.backward(retain_graph=True)
    y.backward()
    assert w.grad.item() == 10.0


def test_graph_that_saved_nothing_can_be_reused() -> None:
    a = T.tensor([1.0], requires_grad=True)
    b = T.tensor([2.0], requires_grad=True)
    y = a + b
    y.backward()
    y.backward()
    assert a.grad.item() == 2.0


def test_non_scalar_backward_needs_gradient() -> None:
    w, x, a, b, y0 = note_graph()
    y1 = T.add(a, 10)
    loss = T.cat([y0, y1], dim=0)
    assert loss.grad_fn.name() == "CatBackward0"
    with pytest.raises(RuntimeError, match="^grad can be implicitly created only for scalar"):
        loss.backward(retain_graph=True)
    loss.backward(gradient=T.tensor([1.0, 2.0]))
    assert w.grad.item() == 7.0


def test_backward_on_tensor_without_grad_raises() -> None:
    with pytest.raises(RuntimeError, match="^element 0 of tensors does not require grad"):
        T.tensor([1.0]).sum().backward()


def test_inplace_on_leaf_requiring_grad_raises_unless_no_grad() -> None:
    w = T.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="^a leaf Variable that requires grad is being used"):
        w.add_(1)
    with T.no_grad():
        w.add_(1)
    assert w.item() == 2.0 and w.is_leaf and w.requires_grad


def test_inplace_keeps_object_identity() -> None:
    a = T.ones((1,))
    before = id(a)
    a += T.ones((1,))
    a *= 3
    a -= 1
    assert id(a) == before and a.tolist() == [5.0]


def test_version_counter_detects_modified_saved_tensor() -> None:
    w = T.tensor([2.0], requires_grad=True)
    a = w * 1
    y = a * a  # saves a
    a.add_(1)
    assert a._version == 1
    with pytest.raises(RuntimeError, match="^one of the variables needed for gradient"):
        y.backward()


def test_inplace_on_non_leaf_is_recorded() -> None:
    w = T.tensor([2.0], requires_grad=True)
    a = w * 3
    a.mul_(w)  # a = 3w * w
    assert a.grad_fn.name() == "MulBackward0"
    a.backward()
    assert w.grad.item() == pytest.approx(12.0)


def test_saved_result_modified_inplace_is_detected() -> None:
    x = T.tensor([0.5], requires_grad=True)
    y = T.sigmoid(x)
    y.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_requires_grad_propagates_and_no_grad_stops_recording() -> None:
    w, x, a, b, y = note_graph()
    assert (a.requires_grad, b.requires_grad, y.requires_grad) == (True, True, True)
    with T.no_grad():
        z = w * 2
    assert not z.requires_grad and z.grad_fn is None and T.is_grad_enabled()
    T.set_grad_enabled(False)
    try:
        assert not (w * 2).requires_grad
    finally:
        T.set_grad_enabled(True)
    with T.set_grad_enabled(False):
        assert not T.is_grad_enabled()
    assert T.is_grad_enabled()


def test_requires_grad_only_settable_on_leaves() -> None:
    w, x, a, b, y = note_graph()
    with pytest.raises(RuntimeError, match="leaf"):
        a.requires_grad = False
    c = T.tensor([1.0])
    c.requires_grad = True
    assert c.requires_grad_(False) is c and not c.requires_grad


def test_autograd_grad_first_and_second_derivative() -> None:
    x = T.tensor([3.0], requires_grad=True)
    y = T.pow(x, 2)
    (g1,) = T.autograd.grad(y, x, create_graph=True)
    assert repr(g1) == "tensor([6.], grad_fn=<MulBackward0>)"
    (g2,) = T.autograd.grad(g1, x)
    assert g2.tolist() == [2.0] and x._grad is None


def test_third_and_fourth_derivative_of_x4() -> None:
    x = T.tensor(1.5, dtype=T.float64, requires_grad=True)
    g = x**4
    expected = [4 * 1.5**3, 12 * 1.5**2, 24 * 1.5, 24.0]
    for want in expected:
        (g,) = T.autograd.grad(g, x, create_graph=True)
        assert g.item() == pytest.approx(want)


def test_higher_order_through_saved_results() -> None:
    # exp and sigmoid save their result; the second derivative must flow through it.
    x = T.tensor(0.3, dtype=T.float64, requires_grad=True)
    (g,) = T.autograd.grad(T.exp(2 * x), x, create_graph=True)
    (h,) = T.autograd.grad(g, x)
    assert h.item() == pytest.approx(4 * np.exp(0.6))
    s = 1 / (1 + np.exp(-0.3))
    (g,) = T.autograd.grad(T.sigmoid(x), x, create_graph=True)
    (h,) = T.autograd.grad(g, x)
    assert h.item() == pytest.approx(s * (1 - s) * (1 - 2 * s))


def test_autograd_grad_multiple_inputs_and_outputs() -> None:
    x1 = T.tensor(1.0, requires_grad=True)
    x2 = T.tensor(2.0, requires_grad=True)
    y1 = x1 * x2
    y2 = x1 + x2
    d1, d2 = T.autograd.grad(outputs=y1, inputs=[x1, x2], retain_graph=True)
    assert (d1.item(), d2.item()) == (2.0, 1.0)
    d1, d2 = T.autograd.grad(outputs=[y1, y2], inputs=[x1, x2])
    assert (d1.item(), d2.item()) == (3.0, 2.0)
    assert x1._grad is None and x2._grad is None


def test_autograd_grad_unused_input() -> None:
    x = T.tensor(1.0, requires_grad=True)
    z = T.tensor(1.0, requires_grad=True)
    with pytest.raises(RuntimeError, match="not have been used in the graph"):
        T.autograd.grad(x * 2, [x, z])
    assert T.autograd.grad(x * 2, [x, z], allow_unused=True)[1] is None


def test_autograd_grad_wrt_non_leaf() -> None:
    w, x, a, b, y = note_graph()
    (ga,) = T.autograd.grad(y, a)
    assert ga.tolist() == [2.0]


def test_backward_inputs_restricts_accumulation() -> None:
    w, x, a, b, y = note_graph()
    y.backward(inputs=[x])
    assert x.grad.item() == 2.0 and w._grad is None


def test_autograd_backward_function_with_grad_tensors() -> None:
    w, x, a, b, y = note_graph()
    T.autograd.backward([y], grad_tensors=[T.tensor([2.0])])
    assert w.grad.item() == 10.0


def test_deep_chain_backprops_without_recursion_in_linear_time() -> None:
    def run(n: int) -> float:
        x = T.tensor([1.0], requires_grad=True)
        y = x
        gc.disable()  # building a million live nodes is not what is under test
        try:
            for _ in range(n):
                y = y + 1.0
        finally:
            gc.enable()
        start = time.perf_counter()
        y.backward()
        took = time.perf_counter() - start
        assert x.grad.item() == 1.0
        return took

    assert sys.getrecursionlimit() < 1_000_000
    small = run(100_000)
    big = run(1_000_000)
    # Linear: ten times the nodes costs about ten times as much (generous bound for noise).
    assert big < 40 * small


def test_derivative_table_entry_can_be_patched_and_restored() -> None:
    with derivatives.patched("mul", self=lambda grad, other: grad * 0):
        w = T.tensor([3.0], requires_grad=True)
        (w * 2).backward()
        assert w.grad.item() == 0.0
    w = T.tensor([3.0], requires_grad=True)
    (w * 2).backward()
    assert w.grad.item() == 2.0


def test_swapping_accumulate_grad_changes_only_accumulation(monkeypatch: pytest.MonkeyPatch) -> None:
    def overwrite(variable: T.Tensor, new: T.Tensor, owned: bool, create_graph: bool) -> None:
        variable._grad = T.tensor(new.numpy().copy())

    monkeypatch.setattr(autograd, "accumulate_grad", overwrite)
    w = T.tensor([1.0], requires_grad=True)
    for _ in range(2):
        (w * 5).backward()
    assert w.grad.item() == 5.0


def test_swapping_check_inplace_disables_leaf_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ops, "check_inplace", lambda t: None)
    w = T.tensor([1.0], requires_grad=True)
    w.add_(1)
    assert w.item() == 2.0


def test_tensor_surface() -> None:
    t = T.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert t.shape == (2, 2) and t.size() == (2, 2) and t.size(0) == 2 and t.dim() == 2
    assert t.numel() == 4 and t.dtype == T.float32 and t.double().dtype == T.float64
    assert T.tensor([1, 2]).dtype == T.int64 and T.tensor([1, 2]).float().dtype == T.float32
    assert (t == t).tolist() == [[True, True], [True, True]]
    assert t.ge(2.5).float().tolist() == [[0.0, 0.0], [1.0, 1.0]]
    assert t[0].tolist() == [1.0, 2.0] and t.T.tolist() == [[1.0, 3.0], [2.0, 4.0]]
    assert t.sum().item() == 10.0 and t.mean().item() == 2.5
    assert t.unsqueeze(0).shape == (1, 2, 2) and t.unsqueeze(0).squeeze().shape == (2, 2)
    assert repr(T.tensor([1.0], requires_grad=True)) == "tensor([1.], requires_grad=True)"
    assert repr(T.tensor([1.5, 2.0])) == "tensor([1.5000, 2.0000])"
    assert repr(T.tensor([1.0], dtype=T.float64)) == "tensor([1.], dtype=torch.float64)"
    assert isinstance(t.numpy(), np.ndarray) and t.detach().tolist() == t.tolist()
