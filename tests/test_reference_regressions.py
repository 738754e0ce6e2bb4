"""One regression test per class of disagreement the reference engine had with PyTorch.

Each program runs on torch and on the reference engine (``same(program)``): the
results must agree in values, dtypes, shapes, ``requires_grad`` and ``is_leaf``,
and an error must be an error of the same class on both. The classes are those
of issue 10 and those the differential fuzzer (test_reference_fuzz.py) found;
the last tests pin each documented difference (impls/reference/differences.py).
"""

from __future__ import annotations

import math
import threading
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import gradspec.impls.reference as R
from gradspec.impls.reference.differences import DIFFERENCES
from gradspec.spec.api import reference_differences

torch = pytest.importorskip("torch")


def _outcome(program: Callable[[Any], Any], T: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("error", RuntimeWarning)  # a NumPy warning is a failure
        try:
            return _plain(program(T))
        except (IndexError, TypeError, ValueError, RuntimeError) as exc:
            for cls in (IndexError, TypeError, ValueError, RuntimeError):
                if isinstance(exc, cls):
                    return ("raises", cls.__name__)
            raise


def _plain(x: Any) -> Any:
    """Tensors as (values, dtype name, shape, requires_grad, is_leaf); containers recursively."""
    if isinstance(x, (list, tuple)):
        return type(x)(_plain(v) for v in x)
    if isinstance(x, (torch.Tensor, R.Tensor)):
        arr = x.detach().numpy() if isinstance(x, torch.Tensor) else np.asarray(x._data)
        dtype = str(x.dtype).replace("torch.", "")
        return (arr.tolist(), dtype, tuple(x.shape), x.requires_grad, x.is_leaf)
    return x


def same(program: Callable[[Any], Any]) -> Any:
    """Run ``program(T)`` on torch and on the reference; assert they agree; return the outcome."""
    expected, got = _outcome(program, torch), _outcome(program, R)
    assert _close(got, expected), f"reference {got!r}\ntorch     {expected!r}"
    return got


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        return (np.isnan(a) and np.isnan(b)) or a == b or abs(a - b) <= 1e-6 * max(1.0, abs(b))
    return type(a) is type(b) and a == b


# -- issue 10: in-place on a view of a non-leaf rebases the graph (CopySlices) ---------------


def test_inplace_on_slice_of_non_leaf_rebases_the_base() -> None:
    def program(T: Any) -> Any:
        a = T.tensor([1.0, 2.0, 3.0], requires_grad=True)
        b = a * 2
        b[:2].mul_(10)
        (b * b).sum().backward()
        return b, a.grad, b.is_leaf

    assert same(program)[1][0] == [800.0, 1600.0, 24.0]


def test_inplace_through_unsqueeze_view_and_other_views_are_regenerated() -> None:
    def program(T: Any) -> Any:
        a = T.tensor([[1.0, -2.0], [3.0, 0.5]], requires_grad=True)
        b = a.exp()
        row = b[1]  # a second view of b, made before the in-place op
        b.unsqueeze(0).mul_(3)
        loss = (row * T.tensor([1.0, 2.0])).sum() + b.sum()
        loss.backward()
        return row, a.grad

    same(program)


def test_inplace_on_view_of_constant_base_with_grad_operand() -> None:
    def program(T: Any) -> Any:
        x = T.zeros(3)
        w = T.tensor([2.0, 3.0], requires_grad=True)
        x[0:2].add_(w)
        (x * x).sum().backward()
        return x, x.is_leaf, w.grad

    same(program)


def test_view_of_leaf_in_place_is_refused_outside_no_grad() -> None:
    def program(T: Any) -> Any:
        a = T.tensor([1.0, 2.0], requires_grad=True)
        a[0:1].mul_(2)

    assert same(program) == ("raises", "RuntimeError")


# -- issue 10: which tensors each op saves decides which in-place programs are legal ---------


def test_mul_by_python_scalar_saves_nothing() -> None:
    def program(T: Any) -> Any:
        a = T.tensor([1.0, 2.0], requires_grad=True)
        b = a + 1
        c = b * 2
        b.mul_(2)
        c.sum().backward()
        return a.grad

    assert same(program)[0] == [2.0, 2.0]


def test_mul_saves_only_what_the_inputs_needing_grad_read() -> None:
    def program(T: Any) -> Any:
        a = T.tensor([1.0, 2.0], requires_grad=True)
        x = a * 1
        k = T.tensor([3.0, 4.0])
        y = x * k  # saves k (for x's gradient), not x: k needs no gradient
        x.add_(1)
        y.sum().backward()
        return a.grad

    same(program)


def test_saved_result_modified_in_place_is_refused_at_backward() -> None:
    def program(T: Any) -> Any:
        a = T.tensor([1.0, 2.0], requires_grad=True)
        y = a.exp()  # ExpBackward0 saves its result
        y.mul_(2)
        y.sum().backward()

    assert same(program) == ("raises", "RuntimeError")


def test_pow_tensor_saves_its_result_even_when_the_exponent_needs_no_grad() -> None:
    def program(T: Any) -> Any:
        a = T.ones(2, dtype=T.float64, requires_grad=True)
        y = T.pow(a, T.tensor([2.0, 3.0], dtype=T.float64))
        y.add_(1.5)
        y.sum().backward()

    assert same(program) == ("raises", "RuntimeError")


def test_derivative_table_records_saved_tensors() -> None:
    table = R.derivatives.DERIVATIVES
    assert table["mul"].saves == ("other", "self") and table["exp"].saves == ("result",)
    assert table["add"].saves == () and table["sum"].saves == ()
    assert table["mul"].save_guard == (0, 1)  # each saved only if the other input needs grad
    assert table["pow_tensor"].save_guard[table["pow_tensor"].saves.index("result")] == -1


# -- issue 10: dims ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "program",
    [
        lambda T: T.ones(2, 2, 2).sum(3),
        lambda T: T.cat([T.ones(2, 2), T.ones(2, 2)], dim=2),
        lambda T: T.ones(2, 1).squeeze(7),
        lambda T: T.ones(2).unsqueeze(9),
        lambda T: T.stack([T.ones(2), T.ones(2)], dim=5),
        lambda T: T.ones(2, 3).transpose(0, 2),
        lambda T: T.ones(2, 3).mean(-3),
    ],
    ids=["sum", "cat", "squeeze", "unsqueeze", "stack", "transpose", "mean"],
)
def test_out_of_range_dims_raise_index_error(program: Callable[[Any], Any]) -> None:
    assert same(program) == ("raises", "IndexError")


def test_zero_d_tensors_take_dims_0_and_minus_1() -> None:
    def program(T: Any) -> Any:
        x = T.tensor(2.0, requires_grad=True)
        outs = [x.sum(0), x.sum(-1), x.squeeze(0), x.mean(0, keepdim=True), x.transpose(0, -1), x.t()]
        sum(o.sum() for o in outs).backward()
        return outs, x.grad

    same(program)


def test_repeated_reduction_dim_is_a_runtime_error() -> None:
    assert same(lambda T: T.ones(2, 3).sum(dim=(0, -2))) == ("raises", "RuntimeError")


# -- issue 10: dtype promotion ------------------------------------------------------------------


def test_float32_stays_float32_with_float64_scalars_and_0d_tensors() -> None:
    def program(T: Any) -> Any:
        x = T.tensor([1.0, 2.0], requires_grad=True)
        outs = [x * np.float64(1.5), x + T.tensor(2.0, dtype=T.float64), 2.5 - x, np.float32(2.0) / x]
        sum(o.sum() for o in outs).backward()
        return outs, x.grad

    got = same(program)
    assert {o[1] for o in got[0]} == {"float32"} and got[1][1] == "float32"


def test_int64_and_float32_promote_to_float32() -> None:
    def program(T: Any) -> Any:
        i = T.tensor([1, 2])
        f = T.tensor([0.5, 1.5], requires_grad=True)
        outs = [i + f, T.cat([i, f]), T.stack([i, f]), i / i, i * 2.5, T.exp(i), i**2, i.sum()]
        (outs[0].sum() + outs[1].sum()).backward()
        return outs, f.grad

    same(program)


def test_mixed_precision_leaves_keep_their_dtype_in_grad() -> None:
    def program(T: Any) -> Any:
        a = T.tensor([1.0, 2.0], requires_grad=True)
        b = T.tensor([3.0, 4.0], dtype=T.float64, requires_grad=True)
        (a * b).sum().backward()
        return a.grad, b.grad

    same(program)


def test_max_min_gradients_keep_float32() -> None:
    def program(T: Any) -> Any:
        x = T.tensor([1.0, 3.0, 3.0], requires_grad=True)
        (T.max(x) + T.min(x)).backward()
        return x.grad

    same(program)


def test_tensor_constructor_gives_float32() -> None:
    same(lambda T: (T.Tensor([1, 2]), T.FloatTensor([3, 4]), T.tensor(np.float64(1.5))))


def test_inplace_result_that_the_output_cannot_hold_is_refused() -> None:
    assert same(lambda T: T.tensor([1, 2]).add_(1.5)) == ("raises", "RuntimeError")


def test_integer_and_bool_results_never_require_grad() -> None:
    def program(T: Any) -> Any:
        w = T.tensor([1.5, 2.0], requires_grad=True)
        i = T.tensor([0, 0])
        i.copy_(w)
        return i, w >= 1.6

    same(program)


# -- issue 10: edge values, and no NumPy warnings ---------------------------------------------


def test_zero_base_power_has_zero_derivative() -> None:
    def program(T: Any) -> Any:
        x = T.tensor([0.0, 1.0, 2.0], requires_grad=True)
        (0**x).sum().backward()
        return x.grad

    assert same(program)[0] == [0.0, 0.0, 0.0]


def test_power_at_zero_zero_has_zero_derivatives() -> None:
    def program(T: Any) -> Any:
        x = T.tensor([0.0, 0.0], requires_grad=True)
        y = T.tensor([0.0, 2.0], requires_grad=True)
        (x**y).sum().backward()
        return x.grad, y.grad

    same(program)


def test_domain_edges_give_values_without_warnings() -> None:
    def program(T: Any) -> Any:
        x = T.tensor([-1.0, 0.0, 4.0], requires_grad=True)
        outs = [x.log(), x.sqrt(), 1 / x, x / 0.0, T.tensor([], requires_grad=True).mean()]
        outs[1].sum().backward()
        return outs, x.grad

    same(program)


def test_scalar_powers_follow_torchs_kernel_at_signed_zero_and_infinities() -> None:
    def program(T: Any) -> Any:
        x = T.tensor([-0.0, 0.0, -1.0, float("inf"), float("-inf"), float("nan")], requires_grad=True)
        outs = [x**k for k in (0, 1, 0.5, 2, 3, -0.5, -1, -2, 2.5)]
        sum(o.sum() for o in outs).backward()
        return [1 / o for o in outs], x.grad  # 1 / o shows the sign of a zero

    same(program)


def test_losses_of_infinite_logits_are_nan_without_warnings() -> None:
    def program(T: Any) -> Any:
        logits = T.tensor([[float("inf"), 1.0], [2.0, 3.0]], requires_grad=True)
        return T.nn.CrossEntropyLoss()(logits, T.tensor([0, 1])), T.nn.MSELoss()(logits, T.zeros(2, 2))

    same(program)


def test_relu_gradient_is_zero_where_output_is_not_positive_even_for_infinite_grads() -> None:
    def program(T: Any) -> Any:
        x = T.tensor([1.0, -1.0], requires_grad=True)
        (x.relu() ** 0.5).sum().backward()
        return x.grad

    same(program)


# -- issue 10: error classes ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "program",
    [
        lambda T: T.ones(2, 3) @ T.ones(2, 3),
        lambda T: T.ones(2, 3).permute(0),
        lambda T: T.ones(2, 3).reshape(5),
        lambda T: T.ones(2, 3) + T.ones(2),
        lambda T: T.ones(2, 3).t().view(6),
        lambda T: T.ones(2).mul_(T.ones(3, 2)),
        lambda T: T.ones(2, 2, 2).t(),
        lambda T: T.tensor([True]) - T.tensor([True]),
    ],
    ids=["matmul", "permute", "reshape", "broadcast", "view", "inplace-shape", "t-3d", "bool-sub"],
)
def test_shape_and_dtype_errors_are_runtime_errors(program: Callable[[Any], Any]) -> None:
    assert same(program) == ("raises", "RuntimeError")


# -- classes the fuzzer found -------------------------------------------------------------------------


def test_autograd_grad_fills_retained_gradients() -> None:
    def program(T: Any) -> Any:
        x = T.tensor([1.0, 2.0], requires_grad=True)
        y = x * 3
        y.retain_grad()
        (g,) = T.autograd.grad((y * y).sum(), [x])
        return g, y.grad

    same(program)


def test_in_place_moves_retain_grad_to_the_new_node() -> None:
    def program(T: Any) -> Any:
        x = T.ones(2, requires_grad=True)
        y = x * 2
        v = y.permute(0)
        v.retain_grad()
        loss = (v * T.tensor([1.0, 2.0])).sum()
        loss.backward(retain_graph=True)
        v[0:0].mul_(3)  # an empty in-place: v's grad_fn is regenerated ...
        assert v.grad_fn is not None  # ... which torch does when it is read
        loss.backward()
        return v.grad, x.grad

    same(program)


def test_create_graph_gradients_are_copies_with_a_graph() -> None:
    def program(T: Any) -> Any:
        x = T.tensor([1.0, 2.0], requires_grad=True)
        (x * x).sum().backward(create_graph=True)
        return x.grad, x.grad.grad_fn.name()

    same(program)


def test_leaves_finished_before_a_failing_node_keep_their_grad() -> None:
    def program(T: Any) -> Any:
        a = T.zeros(2, requires_grad=True)
        b = T.tensor([1.0], requires_grad=True)
        s = a.sqrt()
        c = T.clamp(s, min=-1.0)  # saves s
        s.mul_(3)
        try:
            (b.sum() + c.sum()).backward()
        except RuntimeError:
            pass
        return b.grad, a.grad

    same(program)


def test_views_made_under_no_grad_require_grad_but_pass_nothing() -> None:
    def program(T: Any) -> Any:
        x = T.ones(2, 2, requires_grad=True)
        with T.no_grad():
            v = x.reshape(4)
        y = (v * 2).sum()
        y.backward()
        return v, y, x.grad, v.grad

    same(program)


def test_basic_indexing_names_its_nodes_as_torch() -> None:
    def program(T: Any) -> Any:
        x = T.ones(2, 3, requires_grad=True) * 1
        keys = [
            (...,),
            (None,),
            (slice(None), 0),
            (0, 1),
            (slice(0, 2), slice(None)),
            (slice(None), slice(0, 1)),
        ]
        return [x[k if len(k) > 1 else k[0]].grad_fn.name() for k in keys]

    same(program)


def test_relu_passes_the_gradient_of_a_nan_output() -> None:
    # torch's threshold_backward zeroes the gradient where the output is <= 0; a NaN output
    # is not, so its gradient passes (the reference used to zero it, testing output > 0).
    def program(T: Any) -> Any:
        x = T.tensor([float("nan"), -1.0, 0.0, 2.0], requires_grad=True)
        y = T.relu(x)
        (y * T.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
        return y, x.grad

    same(program)


def test_inplace_on_a_view_of_a_no_grad_view_is_refused_with_grad_on() -> None:
    # Found by the thorough fuzz run (seed 8): torch's "view of a view which was created in
    # no_grad mode and is being modified inplace with grad mode enabled" RuntimeError.
    def refused(T: Any) -> Any:
        v0 = T.zeros(2, 3, requires_grad=True)
        v2 = T.neg(v0)
        with T.no_grad():
            v6 = v2.reshape(2, 3)
        v7 = v6.reshape(2, 3)
        return v7.add_(v0)

    assert same(refused) == ("raises", "RuntimeError")


def test_reshape_names_its_node_by_contiguity_as_torch() -> None:
    # Found by the thorough fuzz run (seed 7): torch's reshape is view() on a contiguous
    # tensor, _reshape_alias when only the strides allow a view, a copy otherwise.
    def program(T: Any) -> Any:
        x = T.ones(2, 3, requires_grad=True)
        y = x * 1
        with T.no_grad():
            v = x.t()
        names = [
            y.reshape(6).grad_fn.name(),
            y.view(3, 2).grad_fn.name(),
            y.t().reshape(3, 2).grad_fn.name(),
            y.t().reshape(6).grad_fn.name(),
            y[:, :1].reshape(2).grad_fn.name(),
            v.reshape(3, 2).grad_fn.name(),
        ]
        (y.t().reshape(6) * T.arange(6.0)).sum().backward()
        return names, x.grad

    same(program)


def test_flatten_returns_the_tensor_itself_when_no_dims_merge() -> None:
    def program(T: Any) -> Any:
        x = T.ones(3, 4, requires_grad=True)[:, :2]
        v = x.flatten(1)
        return v is x, x.flatten(0, 0) is x, x.flatten().grad_fn.name(), T.ones(2).flatten(0, -1).shape

    same(program)
    assert same(lambda T: T.ones(2, 3).flatten(1, 0)) == ("raises", "RuntimeError")


def test_sign_of_nan_is_zero_and_so_is_the_gradient_of_abs_there() -> None:
    def program(T: Any) -> Any:
        x = T.tensor([float("nan"), -0.0, -2.0, float("inf")], requires_grad=True)
        x.abs().backward(T.tensor([0.0, 1.0, 1.0, 1.0]))
        return T.sign(x.detach()), x.grad, T.sign(T.tensor(float("nan"), dtype=T.float64))

    same(program)


def test_relu_keeps_negative_zero_and_max_min_send_the_gradient_to_nan() -> None:
    def program(T: Any) -> Any:
        x = T.tensor([float("nan"), 1.0, float("nan"), -0.0], requires_grad=True)
        y = x.relu()
        (x.max() + x.min()).backward()
        return y, [math.copysign(1.0, v) for v in y.tolist()], x.grad

    same(program)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_relu_and_its_gradient_on_large_tensors_are_torchs_bit_for_bit(dtype: str) -> None:
    # From LARGE elements on, relu and threshold_backward take their allocation-lean paths
    # (np.maximum with a -0.0 fix-up; a bit mask ANDed into the gradient): signed zeros,
    # NaN, infinities and subnormals in values and in gradients must come out as torch's.
    from gradspec.impls.reference.ops import LARGE

    rng = np.random.default_rng(0)
    special = np.array([-0.0, 0.0, -3.0, 2.0, np.nan, -np.inf, np.inf, 1e-45, -1e-45], dtype=np.float64)
    n = LARGE + 7  # past the threshold, and not a multiple of a SIMD width
    x = rng.choice(special, size=n).astype(dtype)
    x[::3] = rng.standard_normal(len(x[::3])).astype(dtype)
    g = rng.choice(special, size=n).astype(dtype)
    bits = np.dtype(f"u{np.dtype(dtype).itemsize}")

    def run(T: Any, as_array: Callable[[Any], np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        leaf = T.tensor(x.tolist(), dtype=getattr(T, dtype), requires_grad=True)
        y = T.relu(leaf)
        y.backward(T.tensor(g.tolist(), dtype=getattr(T, dtype)))
        return as_array(y.detach()), as_array(leaf.grad)

    want = run(torch, lambda t: t.numpy())
    got = run(R, lambda t: np.asarray(t._data))
    for w, h in zip(want, got, strict=True):
        assert w.dtype == h.dtype
        assert np.array_equal(w.view(bits), h.view(bits))


def test_maximum_and_minimum_keep_the_first_of_equals_and_pass_the_gradient_at_nan() -> None:
    def program(T: Any) -> Any:
        a = T.tensor([0.0, -0.0, float("nan"), 1.0, 2.0], requires_grad=True)
        b = T.tensor([-0.0, 0.0, 1.0, float("nan"), 2.0], requires_grad=True)
        hi, lo = T.maximum(a, b), T.minimum(a, b)
        (hi + lo).backward(T.ones(5))
        return hi, lo, [math.copysign(1.0, v) for v in hi.tolist() + lo.tolist()], a.grad, b.grad

    same(program)


def test_the_denominators_gradient_is_computed_as_torch_does_to_second_order() -> None:
    """-grad * ((a / b) / b): the same infinities and NaNs at b = 0, and no early overflow."""

    def program(T: Any) -> Any:
        b = T.tensor([0.0, 0.0, 1e20, -3.0], requires_grad=True)
        loss = (T.tensor(1.0) / b * T.tensor([0.0, 1.0, 1.0, 1.0])).sum()
        (g,) = T.autograd.grad(loss, [b], create_graph=True)
        (g * g).sum().backward()
        return g, g.grad_fn.name(), b.grad

    same(program)


def test_losses_of_no_elements_are_nan_without_a_warning() -> None:
    def program(T: Any) -> Any:
        x = T.sigmoid(T.zeros(1, 0, requires_grad=True))
        empty = T.zeros(1, 0)
        return T.nn.BCELoss()(x, empty), T.nn.MSELoss()(x, empty)

    same(program)


@pytest.mark.parametrize("value", [float("nan"), 1.5, -0.5])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_bce_refuses_an_input_outside_zero_one_nan_included(value: float, reduction: str) -> None:
    # Found by the 20k fuzz run, seed 3031: BCELoss of sigmoid(0 / 0) is an error in torch.
    def program(T: Any) -> Any:
        x = T.tensor([0.25, value, 1.0], requires_grad=True)
        return T.nn.BCELoss(reduction=reduction)(x, T.tensor([0.0, 1.0, 1.0]))

    assert same(program) == ("raises", "RuntimeError")


@pytest.mark.parametrize("value", [float("nan"), 1.5, -0.5])
def test_bce_refuses_a_target_outside_zero_one_even_where_the_loss_is_finite(value: float) -> None:
    def program(T: Any) -> Any:
        x = T.tensor([0.25, 0.5], requires_grad=True)
        return T.nn.BCELoss()(x, T.tensor([value, 1.0]))

    assert same(program) == ("raises", "RuntimeError")


def test_bce_with_a_nan_weight_is_nan_not_an_error() -> None:
    def program(T: Any) -> Any:
        x = T.tensor([0.25, 0.5], requires_grad=True)
        return T.nn.BCELoss(weight=T.tensor([1.0, float("nan")]))(x, T.tensor([0.0, 1.0]))

    same(program)


def test_empty_slices_of_0d_and_out_of_bounds_indices() -> None:
    assert same(lambda T: T.tensor(2.0)[0]) == ("raises", "IndexError")
    assert same(lambda T: T.ones(2)[3]) == ("raises", "IndexError")
    assert same(lambda T: T.ones(2)[::-1]) == ("raises", "ValueError")


# -- the documented differences (each pinned) -----------------------------------------------------


def test_every_difference_names_an_existing_test() -> None:
    # spec/api.py is where a reader of the subset finds the differences: the same tuple
    assert reference_differences() is DIFFERENCES
    names = set(globals())
    for d in DIFFERENCES:
        path, _, test = d.test.partition("::")
        assert path == "tests/test_reference_regressions.py" and test in names, d.name


def test_difference_overlapping_inplace_operand() -> None:
    def program(T: Any) -> Any:
        x = T.tensor([1.0, 2.0])
        x.unsqueeze(0).mul_(x)
        return x

    with pytest.raises(RuntimeError, match="single memory location"):
        program(torch)
    assert _plain(program(R))[0] == [1.0, 4.0]  # as if the operand were x.clone()


def test_difference_grad_mode_is_global() -> None:
    seen: list[bool] = []
    with R.no_grad():
        t = threading.Thread(target=lambda: seen.append(R.is_grad_enabled()))
        t.start()
        t.join()
    assert seen == [False]  # torch's thread-local mode would say True


def test_difference_random_streams_are_the_engines_own() -> None:
    R.manual_seed(0)
    a = R.rand(3).tolist()
    R.manual_seed(0)
    assert R.rand(3).tolist() == a
    torch.manual_seed(0)
    assert torch.rand(3).tolist() != a


def test_difference_no_grad_view_after_inplace() -> None:
    def program(T: Any) -> Any:
        b = T.ones(2, requires_grad=True) * 1
        with T.no_grad():
            w = b[0]
            b.mul_(2)
        return w * 3

    with pytest.raises(RuntimeError, match="no_grad mode"):
        program(torch)
    out = program(R)
    assert out.tolist() == 6.0 and out.requires_grad


def test_difference_view_node_name_after_inplace() -> None:
    def program(T: Any) -> Any:
        x = T.ones(2, 3, requires_grad=True) * 1
        v = x[0:1]
        x.mul_(2)
        v.sum().backward()
        return v.grad_fn.name()

    assert program(torch) == "AsStridedBackward0" and program(R) == "SliceBackward0"


def test_difference_double_backward_node_names() -> None:
    def program(T: Any) -> Any:
        x = T.tensor([0.5, 1.0], requires_grad=True)
        (g,) = T.autograd.grad(x.sigmoid().sum(), [x], create_graph=True)
        (gg,) = T.autograd.grad(g.sum(), [x])
        return g.grad_fn.name(), gg.tolist()

    name_t, gg_t = program(torch)
    name_r, gg_r = program(R)
    assert name_t == "SigmoidBackwardBackward0" and name_r != name_t
    np.testing.assert_allclose(gg_r, gg_t, rtol=1e-6)


def test_difference_retained_view_regenerated_eagerly() -> None:
    def program(T: Any) -> Any:
        y = T.ones(2, requires_grad=True) * 2
        v = y.permute(0)
        v.retain_grad()
        loss = (v * T.tensor([1.0, 2.0])).sum()
        loss.backward(retain_graph=True)
        v[0:0].mul_(3)
        loss.backward()  # v.grad_fn not read since the in-place op
        return v.grad.tolist()

    assert program(torch) == [2.0, 4.0]  # the hook stayed on the old node: filled twice
    assert program(R) == [1.0, 2.0]  # the reference moved it when the in-place op ran


def test_node_with_no_input_needing_grad_unpacks_nothing() -> None:
    def program(T: Any) -> Any:
        x = T.zeros(3, requires_grad=True)
        with T.no_grad():
            v = x[0]
        loss = v * T.tensor(2.0)
        loss.backward()
        loss.backward()  # nothing was unpacked, so nothing freed stands in the way
        return x.grad

    same(program)


def test_a_node_with_no_input_needing_grad_still_checks_the_versions_it_saved() -> None:
    # Found by the 20k fuzz run, seed 3031: exp of a view made under no_grad saves its
    # result; changing that result in place makes backward an error in torch, although no
    # gradient flows past the exp.
    def program(T: Any) -> Any:
        x = T.tensor(0.0, requires_grad=True)
        with T.no_grad():
            v = x.reshape(())
        e = v.exp()
        with T.no_grad():
            e.add_(x)
        (e * T.tensor(0.0)).sum().backward()
        return x.grad

    assert same(program) == ("raises", "RuntimeError")


def test_a_node_with_no_input_needing_grad_frees_what_it_saved() -> None:
    def program(T: Any) -> Any:
        x = T.tensor(1.0, requires_grad=True)
        with T.no_grad():
            v = x.reshape(())
        loss = v.exp()  # saves its result, unconditionally
        loss.backward()
        loss.backward()  # freed by the first
        return x.grad

    assert same(program) == ("raises", "RuntimeError")


def test_inf_and_nan_cast_to_integers_give_torchs_values_without_a_warning() -> None:
    # Found by the 20k fuzz run, seed 3032: copy_ of inf into an int64 tensor warned.
    def program(T: Any) -> Any:
        x = T.tensor([float("inf"), float("nan"), -float("inf"), 3e10, 300.0, -1.0])
        ints = T.zeros(6, dtype=T.int64)
        with T.no_grad():
            ints.copy_(x)
        return ints, x.to(T.int32), x.to(T.uint8), x.to(T.int16), x.to(T.bool)

    same(program)
