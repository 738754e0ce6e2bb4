"""Operations: the forward computation of every op, and how each records its node.

Every differentiable op computes its value with numpy and, when grad mode is on
and an input requires grad, calls :func:`record` with the name of its entry in
``derivatives.DERIVATIVES``. The derivative itself never appears here: the
table is the single place that says how gradients flow. The ops are installed as
``Tensor`` methods and operators at the bottom of this module.

In-place ops go through :func:`check_inplace` (the leaf rule) and
:func:`bump_version` (the version counter), each one small function so that a
mutant engine can swap it.
"""

from __future__ import annotations

import builtins
import itertools
from collections import namedtuple
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import autograd as _autograd
from . import derivatives as _derivatives
from . import promotion as _promotion
from . import views as _views
from .core import DTYPES, GRAD_MODE, NothingSaved, Size, Tensor, _wrap, accumulator, set_grad_fn, to_np_dtype
from .quiet import hush, quiet, unhush

_new = object.__new__
_next_seq = itertools.count().__next__  # creation order: backward runs newest first
_SCALARS = (builtins.int, builtins.float, builtins.bool, np.floating, np.integer, np.bool_)
_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)
_BOOL = np.dtype(np.bool_)


# -- recording ----------------------------------------------------------------


def record(name: str, out: Any, inputs: Sequence[Any], params: dict[str, Any] | None = None) -> Tensor:
    """Wrap ``out`` as the result of op ``name`` applied to ``inputs``, with its node.

    A tensor is saved only when the formula of an input that requires grad reads
    it, as PyTorch's generated code does (``should_compute_output`` guards in
    derivatives.yaml's codegen): ``a * b`` with a constant ``b`` saves ``b`` but
    not ``a``, so changing ``a`` in place afterwards is legal on both engines.
    """
    if type(out) is not np.ndarray:
        out = np.asarray(out)
    if out.dtype.kind not in "fc":
        # Integer and bool results never require grad in torch (copy_ into an int tensor).
        return _wrap(out)
    rule = _derivatives.DERIVATIVES[name]
    node = rule.node_cls()
    node.rule = rule
    node.retained = None
    node.seq = _next_seq()
    n = len(inputs)
    if n == 2:  # the common case, without the cost of building lists
        a, b = inputs
        # Each edge: the input's grad_fn, else its live AccumulateGrad (accumulator(), inline
        # while the leaf has one), else accumulator() makes it.
        if isinstance(a, Tensor):
            if a._rg:
                ea = a.grad_fn
                if ea is None:
                    ref = a._acc
                    if ref is None or (ea := ref()) is None:
                        ea = accumulator(a)
            else:
                ea = None
            sa = a._data.shape
            da = a._data.dtype
        else:
            ea = sa = da = None
        if isinstance(b, Tensor):
            if b._rg:
                eb = b.grad_fn
                if eb is None:
                    ref = b._acc
                    if ref is None or (eb := ref()) is None:
                        eb = accumulator(b)
            else:
                eb = None
            sb = b._data.shape
            db = b._data.dtype
        else:
            eb = sb = db = None
        node.next = edges = (ea, eb)
        node.shapes = (sa, sb)
        node.dtypes = (da, db)
    elif n == 1:
        (a,) = inputs
        node.next = edges = ((a.grad_fn or accumulator(a)),)
        node.shapes = (a._data.shape,)
        node.dtypes = (a._data.dtype,)
    else:
        elist: list[Any] = []
        shapes: list[Any] = []
        dtypes: list[Any] = []
        for t in inputs:
            if isinstance(t, Tensor):
                elist.append((t.grad_fn or accumulator(t)) if t._rg else None)
                shapes.append(t._data.shape)
                dtypes.append(t._data.dtype)
            else:
                elist.append(None)
                shapes.append(None)
                dtypes.append(None)
        node.next = edges = tuple(elist)
        node.shapes = tuple(shapes)
        node.dtypes = tuple(dtypes)
    res = _new(Tensor)  # _wrap, inlined: this runs once per recorded op
    res._data = out
    res._rg = True
    res.grad_fn = node
    plan = rule.save_plan
    if plan:
        saved = []
        versions = []
        skipped = 0
        for j, g in plan:
            if g >= 0 and edges[g] is None:
                saved.append(None)  # only read for an input that does not require grad
                versions.append(None)
                skipped += 1
            elif j < 0:
                # The result is saved as an alias without grad_fn: no node<->tensor cycle.
                vc = res._vc
                if vc is None:
                    vc = res._vc = [0]
                alias = _wrap(out)
                alias._vc = vc
                saved.append(alias)
                versions.append(vc[0])
            else:
                v = inputs[j]
                saved.append(v)
                if isinstance(v, Tensor):
                    # A tensor without a counter is at version 0; its counter is made when
                    # something first shares it (a view) or bumps it (an in-place op).
                    vc = v._vc
                    versions.append(0 if vc is None else vc[0])
                else:
                    versions.append(None)
        if skipped == len(plan):
            node.saved = NothingSaved(saved)
            node.versions = None
        else:
            node.saved = tuple(saved)
            node.versions = tuple(versions)
    else:
        node.saved = ()
        node.versions = None
    pnames = rule.params
    node.params = tuple(map(params.__getitem__, pnames)) if pnames else ()  # type: ignore[union-attr]
    return res


def _const(x: Any, like: np.ndarray | None = None) -> Tensor:
    """A non-tensor operand (numpy array, list) as a constant tensor."""
    if isinstance(x, Tensor):
        return x
    arr = np.asarray(x)
    if arr.dtype == _F64 and not isinstance(x, (np.ndarray, np.generic)):
        arr = arr.astype(_F32 if like is None else like.dtype)
    return _wrap(arr)


def _operand(x: Any) -> Any:
    """A Tensor, or a Python number (NumPy scalars are read as Python numbers, as torch does)."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, (builtins.int, builtins.float, builtins.bool)):
        return x
    return _const(x)


def _cast(x: Any, dt: np.dtype) -> Any:
    """The operand's values in dtype ``dt`` (Python numbers stay numbers: NumPy keeps them weak)."""
    if isinstance(x, Tensor):
        d = x._data
        return d if d.dtype == dt else d.astype(dt)
    if dt.kind == "b":
        return np.bool_(x)
    return x


def _broadcast_error(a: Any, b: Any) -> RuntimeError:
    sa = a._data.shape if isinstance(a, Tensor) else ()
    sb = b._data.shape if isinstance(b, Tensor) else ()
    try:
        _promotion.broadcast_shape(sa, sb)
    except RuntimeError as exc:
        return exc
    return RuntimeError(f"shapes {list(sa)} and {list(sb)} cannot be combined")


def _is_bool(x: Any) -> bool:
    return (isinstance(x, Tensor) and x._data.dtype == _BOOL) or isinstance(x, (builtins.bool, np.bool_))


def _binary(name: str, fn: Any, to_float: bool = False, no_bool: str | None = None) -> Any:
    """An elementwise binary op with torch's dtype promotion, broadcasting and errors.

    ``to_float``: integer results are computed in the default float dtype (true
    division). ``no_bool``: the op refuses bool operands with this message.
    """

    def op(input: Any, other: Any) -> Tensor:
        # Fast path, the common case: a float tensor with a tensor of its dtype, or with a
        # Python float or int (the result keeps the tensor's dtype; NumPy keeps the number
        # weak, as torch keeps a wrapped number). Anything else takes the general path.
        if type(input) is Tensor:
            x = input._data
            if x.dtype.kind == "f":
                to = type(other)
                if to is Tensor:
                    y = other._data
                    fast = y.dtype is x.dtype or y.dtype == x.dtype
                else:
                    y = other
                    fast = to is builtins.float or to is builtins.int
                if fast:
                    token = hush()
                    try:
                        out = fn(x, y)
                    except ValueError:
                        raise _broadcast_error(input, other) from None
                    finally:
                        unhush(token)
                    if type(out) is not np.ndarray:
                        out = np.asarray(out)
                    if (input._rg or (to is Tensor and other._rg)) and GRAD_MODE.enabled:
                        return record(name, out, (input, other))
                    res = _new(Tensor)  # _wrap, inlined: the backward pass runs this path
                    res._data = out
                    res._rg = False
                    res.grad_fn = None
                    return res
        a, b = _operand(input), _operand(other)
        if no_bool and (_is_bool(a) or _is_bool(b)):
            raise RuntimeError(no_bool)
        if isinstance(a, Tensor) and isinstance(b, Tensor):
            da, db = a._data.dtype, b._data.dtype
            rt = da if da == db else _promotion.result_type(a, b)
        elif isinstance(a, Tensor) and a._data.dtype.kind == "f" and not isinstance(b, Tensor):
            rt = a._data.dtype  # a float tensor with a Python number keeps its dtype
        else:
            rt = _promotion.result_type(a, b)
        if to_float and rt.kind != "f":
            rt = _promotion.DEFAULT_FLOAT
        with quiet():
            try:
                out = fn(_cast(a, rt), _cast(b, rt))
            except ValueError:
                raise _broadcast_error(a, b) from None
        if type(out) is not np.ndarray or out.dtype != rt:
            out = np.asarray(out, dtype=rt)
        rg = (isinstance(a, Tensor) and a._rg) or (isinstance(b, Tensor) and b._rg)
        if rg and GRAD_MODE.enabled:
            return record(name, out, (a, b))
        res = _new(Tensor)  # _wrap, inlined: the backward pass runs this path
        res._data = out
        res._rg = False
        res.grad_fn = None
        return res

    op.__name__ = name
    op.__doc__ = f"Elementwise {name} with torch's broadcasting and dtype promotion."
    return op


_SUB_BOOL = (
    "Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying to "
    "invert a mask, use the `~` or `logical_not()` operator instead."
)
_add = _binary("add", np.add)
_sub = _binary("sub", np.subtract, no_bool=_SUB_BOOL)
mul = _binary("mul", np.multiply)
div = _binary("div", np.true_divide, to_float=True)
_rsub = _binary("rsub", lambda x, y: y - x, no_bool=_SUB_BOOL)


def _maximum(a: Any, b: Any) -> Any:
    # torch keeps ``a`` when the two are equal (max(-0.0, 0.0) is -0.0); NaN propagates.
    if np.result_type(a, b).kind != "f":
        return np.maximum(a, b)
    return np.where((a >= b) | np.isnan(a), a, b)


def _minimum(a: Any, b: Any) -> Any:
    if np.result_type(a, b).kind != "f":
        return np.minimum(a, b)
    return np.where((a <= b) | np.isnan(a), a, b)


maximum = _binary("maximum", _maximum)
minimum = _binary("minimum", _minimum)
multiply = mul
true_divide = divide = div


def _rdiv(input: Tensor, other: Any) -> Tensor:
    """other / input, computed as torch's Tensor.__rtruediv__ does: input.reciprocal() * other."""
    return mul(reciprocal(input), other)


def add(input: Any, other: Any, *, alpha: Any = 1) -> Tensor:
    """input + alpha * other."""
    if alpha != 1:
        other = mul(other, alpha) if isinstance(other, Tensor) else other * alpha
    return _add(input, other)


def sub(input: Any, other: Any, *, alpha: Any = 1) -> Tensor:
    """input - alpha * other."""
    if alpha != 1:
        other = mul(other, alpha) if isinstance(other, Tensor) else other * alpha
    return _sub(input, other)


subtract = sub


def rsub(input: Any, other: Any) -> Tensor:
    """other - input (what ``2 - t`` calls)."""
    return _rsub(input, other)


def _int_power(base: np.ndarray, exponent: np.ndarray) -> np.ndarray:
    """Integer powers as torch computes them: a negative exponent gives 0 unless |base| is 1."""
    neg = exponent < 0
    if not np.any(neg):
        return np.power(base, exponent)
    safe = np.power(base, np.where(neg, 0, exponent))
    odd = (exponent % 2) != 0
    inv = np.where(base == 1, 1, np.where(base == -1, np.where(odd, -1, 1), 0))
    return np.where(neg, inv, safe).astype(safe.dtype)


def _scalar_power(x: np.ndarray, k: Any) -> np.ndarray:
    """x ** k for a float tensor and a number, as torch's CPU kernel computes it: exponents
    0.5, 2, 3, -0.5, -1, -2 go through sqrt and products, which differ from pow at the
    edges (``(-0.0) ** -0.5`` is -inf, ``(-0.0) ** 0.5`` is -0.0)."""
    if k == 0:
        return np.ones_like(x)
    if k == 1:
        return np.array(x)
    if k == 0.5:
        return np.sqrt(x)
    if k == 2:
        return x * x
    if k == 3:
        return x * x * x
    if k == -0.5:
        return 1 / np.sqrt(x)
    if k == -1:
        return 1 / x
    if k == -2:
        return 1 / (x * x)
    return np.power(x, x.dtype.type(k))


def _pow_values(base: Any, exponent: Any, rt: np.dtype) -> np.ndarray:
    if rt.kind == "b":
        raise RuntimeError("\"pow\" not implemented for 'Bool'")
    x, y = _cast(base, rt), _cast(exponent, rt)
    with quiet():
        try:
            if rt.kind == "f" and isinstance(base, Tensor) and not isinstance(exponent, Tensor):
                out = _scalar_power(np.asarray(x), y)
            elif rt.kind == "f":
                out = np.power(x, y)
            else:
                out = _int_power(np.asarray(x), np.asarray(y))
        except ValueError:
            raise _broadcast_error(base, exponent) from None
    return np.asarray(out, dtype=rt)


def pow(input: Any, exponent: Any) -> Tensor:  # noqa: A001 - torch's name
    """input ** exponent for a tensor or scalar exponent (or a scalar base), with torch's dtypes."""
    a, e = _operand(input), _operand(exponent)
    rt = _promotion.result_type(a, e)
    if not isinstance(a, Tensor):
        out = _pow_values(a, e, rt)
        if e._rg and GRAD_MODE.enabled:
            return record("rpow", out, (e,), {"base": a})
        return _wrap(out)
    if not isinstance(e, Tensor):
        if rt.kind in "iu" and e < 0:
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        out = _pow_values(a, e, rt)
        if a._rg and GRAD_MODE.enabled:
            return record("pow", out, (a,), {"exponent": e})
        return _wrap(out)
    out = _pow_values(a, e, rt)
    if (a._rg or e._rg) and GRAD_MODE.enabled:
        return record("pow_tensor", out, (a, e))
    return _wrap(out)


def _unary(name: str, fn: Any, doc: str, kind: str = "float", bool_error: str | None = None) -> Any:
    """An elementwise function. ``kind="float"``: integer and bool inputs are computed in
    float32, as torch promotes them; ``kind="same"``: the dtype is kept. ``bool_error``:
    bool inputs are refused with that message."""

    def op(input: Tensor) -> Tensor:
        x = input._data
        k = x.dtype.kind
        if k != "f":
            if bool_error and k == "b":
                raise RuntimeError(bool_error)
            if kind == "float":
                x = x.astype(_F32)
        token = hush()
        try:
            out = fn(x)
        finally:
            unhush(token)
        if input._rg and GRAD_MODE.enabled:
            return record(name, out, (input,))
        return _wrap(out)

    op.__name__ = name
    op.__doc__ = doc
    return op


def _sigmoid(x: Any) -> Any:
    # exp(-x) overflows to inf for very negative x, which gives the right limit 0.
    out = np.exp(-x)
    out += 1
    return np.reciprocal(out, out=out) if type(out) is np.ndarray else 1 / out


LARGE = 4096
"""Elements from which an elementwise formula takes its allocation-lean path: NumPy's
``where`` with a scalar costs about 4 ns an element, and a second full-size temporary
costs fresh pages (a page fault each on a VM); small arrays keep the plain formula."""


def _relu(x: Any) -> Any:
    # torch's clamp_min(0), x < 0 ? 0 : x: NaN and -0.0 pass through.
    if x.size < LARGE or x.dtype.kind != "f":
        return np.where(x < 0, x.dtype.type(0), x)
    out = np.maximum(x, x.dtype.type(0))  # 10x cheaper than where; NaN propagates
    zeros = x == 0
    if zeros.any():  # np.maximum's loops may turn -0.0 into 0.0 (which one depends on the dtype)
        np.copyto(out, x, where=zeros)
    return out


neg = negative = _unary(
    "neg",
    np.negative,
    "-input.",
    kind="same",
    bool_error=(
        "Negation, the `-` operator, on a bool tensor is not supported. If you are trying to "
        "invert a mask, use the `~` or `logical_not()` operator instead."
    ),
)
exp = _unary("exp", np.exp, "e ** input.")
log = _unary("log", np.log, "Natural logarithm.")
sqrt = _unary("sqrt", np.sqrt, "Square root.")
abs = absolute = _unary(  # noqa: A001 - torch's name
    "abs", np.abs, "Absolute value.", kind="same", bool_error="\"abs_cpu\" not implemented for 'Bool'"
)
sigmoid = _unary("sigmoid", _sigmoid, "1 / (1 + exp(-input)).")
tanh = _unary("tanh", np.tanh, "Hyperbolic tangent.")
relu = _unary(
    "relu", _relu, "max(input, 0).", kind="same", bool_error="Boolean inputs not supported for relu"
)
sin = _unary("sin", np.sin, "Sine.")
cos = _unary("cos", np.cos, "Cosine.")


def _torch_sign(x: np.ndarray) -> np.ndarray:
    """NumPy's sign, except that torch's sign of NaN is 0 (so abs's gradient there is 0 too)."""
    out = np.sign(x)
    if out.dtype.kind == "f":
        out = np.where(np.isnan(out), out.dtype.type(0), out)
    return out


sign = _unary("sign", _torch_sign, "Sign (-1, 0, 1; 0 for NaN); its derivative is zero.", kind="same")
reciprocal = _unary("reciprocal", np.reciprocal, "1 / input.")
square = _unary("square", np.square, "input ** 2.", kind="same")
log1p = _unary("log1p", np.log1p, "log(1 + input).")
clone = _unary("clone", np.copy, "A copy of input that stays in the graph.", kind="same")


# -- comparisons: results never require grad -----------------------------------


def _compare(fn: Any, name: str) -> Any:
    def op(input: Any, other: Any) -> Tensor:
        a, b = _operand(input), _operand(other)
        rt = _promotion.result_type(a, b)
        with quiet():
            try:
                out = fn(_cast(a, rt), _cast(b, rt))
            except ValueError:
                raise _broadcast_error(a, b) from None
        return _wrap(out)

    op.__name__ = name
    op.__doc__ = f"Elementwise {name} in the operands' common dtype: a bool tensor outside the graph."
    return op


eq = _compare(np.equal, "eq")
ne = _compare(np.not_equal, "ne")
ge = greater_equal = _compare(np.greater_equal, "ge")
gt = greater = _compare(np.greater, "gt")
le = less_equal = _compare(np.less_equal, "le")
lt = less = _compare(np.less, "lt")
logical_and = _compare(np.logical_and, "logical_and")
logical_or = _compare(np.logical_or, "logical_or")


def logical_not(input: Tensor) -> Tensor:
    """Elementwise not, outside the graph."""
    return _wrap(np.logical_not(input._data))


def equal(input: Tensor, other: Tensor) -> bool:
    """True when both have the same shape and values."""
    return builtins.bool(input.shape == other.shape and np.array_equal(input._data, other._data))


def allclose(
    input: Tensor, other: Tensor, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False
) -> bool:
    """numpy's allclose on the two tensors."""
    return builtins.bool(
        np.allclose(input._data, _const(other)._data, rtol=rtol, atol=atol, equal_nan=equal_nan)
    )


def isclose(
    input: Tensor, other: Any, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False
) -> Tensor:
    """Elementwise closeness, outside the graph."""
    return _wrap(np.isclose(input._data, _const(other)._data, rtol=rtol, atol=atol, equal_nan=equal_nan))


def isnan(input: Tensor) -> Tensor:
    """Elementwise isnan."""
    return _wrap(np.isnan(input._data))


def isfinite(input: Tensor) -> Tensor:
    """Elementwise isfinite."""
    return _wrap(np.isfinite(input._data))


# -- reductions -------------------------------------------------------------------


def _dims(dim: Any, ndim: int) -> tuple[int, ...]:
    """Wrapped, sorted reduction dims: out of range is an IndexError, a repeat a RuntimeError."""
    return _promotion.wrap_dims(dim, ndim)


def sum(
    input: Tensor,
    dim: Any = None,
    keepdim: bool = False,
    *,
    dtype: Any = None,  # noqa: A001
) -> Tensor:
    """Sum of all elements, or along ``dim`` (an int or a tuple); bool and int sums are int64."""
    x = input._data
    npd = to_np_dtype(dtype)
    if npd is None and x.dtype.kind in "bu":
        npd = np.dtype(np.int64)
    if dim is None or (isinstance(dim, (tuple, list)) and not builtins.len(dim)):
        with quiet():
            out = np.sum(x, dtype=npd)
        if keepdim and dim is not None:
            out = np.reshape(out, (1,) * x.ndim)
        if input._rg and GRAD_MODE.enabled:
            if keepdim and dim is not None:
                return record(
                    "sum_dim",
                    out,
                    (input,),
                    {"self_shape": x.shape, "dim": tuple(range(x.ndim)), "keepdim": True},
                )
            return record("sum", out, (input,), {"self_shape": x.shape})
        return _wrap(out)
    dims = _dims(dim, x.ndim)
    with quiet():
        out = np.sum(x, axis=dims, keepdims=keepdim, dtype=npd)
    if input._rg and GRAD_MODE.enabled:
        return record("sum_dim", out, (input,), {"self_shape": x.shape, "dim": dims, "keepdim": keepdim})
    return _wrap(out)


def mean(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """Mean of all elements, or along ``dim``; the mean of nothing is NaN (no warning)."""
    x = input._data
    if x.dtype.kind != "f" and dtype is None:
        raise RuntimeError(
            "mean(): could not infer output dtype. Input dtype must be either a floating point "
            f"or complex dtype. Got: {DTYPES.get(x.dtype, x.dtype).name.capitalize()}"
        )
    npd = to_np_dtype(dtype)
    if dim is None or (isinstance(dim, (tuple, list)) and not builtins.len(dim)):
        with quiet():  # sum / count: the mean of nothing is 0 / 0 = nan
            out = np.asarray(np.true_divide(np.sum(x, dtype=npd), x.size, dtype=npd or x.dtype))
        if npd is None and out.dtype != x.dtype:
            out = out.astype(x.dtype)
        if keepdim and dim is not None:
            out = np.reshape(out, (1,) * x.ndim)
        if input._rg and GRAD_MODE.enabled:
            if keepdim and dim is not None:
                return record(
                    "mean_dim",
                    out,
                    (input,),
                    {"self_shape": x.shape, "dim": tuple(range(x.ndim)), "keepdim": True},
                )
            return record("mean", out, (input,), {"self_shape": x.shape})
        return _wrap(out)
    dims = _dims(dim, x.ndim)
    count = 1
    for d in dims:
        count *= x.shape[d]
    with quiet():
        out = np.asarray(
            np.true_divide(np.sum(x, axis=dims, keepdims=keepdim, dtype=npd), count, dtype=npd or x.dtype)
        )
    if npd is None and out.dtype != x.dtype:
        out = out.astype(x.dtype)
    if input._rg and GRAD_MODE.enabled:
        return record("mean_dim", out, (input,), {"self_shape": x.shape, "dim": dims, "keepdim": keepdim})
    return _wrap(out)


_MinMax = namedtuple("_MinMax", ["values", "indices"])


def _extreme(input: Tensor, dim: Any, keepdim: bool, which: str) -> Any:
    x = input._data
    red, arg = (np.max, np.argmax) if which == "max" else (np.min, np.argmin)
    if dim is None:
        if x.size == 0:
            raise RuntimeError(f"{which}(): Expected reduction dim to be specified for input.numel() == 0.")
        out = red(x)
        if input._rg and GRAD_MODE.enabled:
            return record(which, out, (input,))
        return _wrap(out)
    if isinstance(dim, Tensor):  # torch.max(a, b) is the elementwise maximum
        return (maximum if which == "max" else minimum)(input, dim)
    d = _promotion.wrap_dim(dim, x.ndim)
    if x.ndim == 0:
        x = x.reshape(1)
    idx = np.expand_dims(arg(x, axis=d), d)
    out = np.take_along_axis(x, idx, axis=d)
    if not keepdim:
        out = np.squeeze(out, d)
        idx = np.squeeze(idx, d)
    indices = _wrap(idx.astype(np.int64))
    if input._rg and GRAD_MODE.enabled:
        values = record(
            which + "_dim",
            out,
            (input,),
            {"self_shape": x.shape, "dim": d, "keepdim": keepdim, "indices": idx},
        )
    else:
        values = _wrap(out)
    return _MinMax(values, indices)


def max(input: Tensor, dim: Any = None, keepdim: bool = False) -> Any:  # noqa: A001
    """Largest element; along ``dim`` a (values, indices) pair; with a tensor, maximum."""
    return _extreme(input, dim, keepdim, "max")


def min(input: Tensor, dim: Any = None, keepdim: bool = False) -> Any:  # noqa: A001
    """Smallest element; along ``dim`` a (values, indices) pair; with a tensor, minimum."""
    return _extreme(input, dim, keepdim, "min")


def argmax(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """Index of the largest element (flattened when dim is None)."""
    x = input._data
    if dim is None:
        return _wrap(np.asarray(np.argmax(x), dtype=np.int64))
    return _wrap(np.argmax(x, axis=dim, keepdims=keepdim).astype(np.int64))


def argmin(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """Index of the smallest element (flattened when dim is None)."""
    x = input._data
    if dim is None:
        return _wrap(np.asarray(np.argmin(x), dtype=np.int64))
    return _wrap(np.argmin(x, axis=dim, keepdims=keepdim).astype(np.int64))


# -- linear algebra ---------------------------------------------------------------------


def matmul(input: Tensor, other: Tensor) -> Tensor:
    """Matrix product with numpy's (and torch's) broadcasting rules."""
    if not isinstance(other, Tensor):
        other = _const(other)
    x, y = input._data, other._data
    nx, ny = x.ndim, y.ndim
    if nx == 0 or ny == 0:
        raise RuntimeError("both arguments to matmul need to be at least 1D")
    if (nx == 1 and ny > 2) or (ny == 1 and nx > 2):
        # Promote the vector as torch does, through recorded reshapes.
        if nx == 1:
            return squeeze(matmul(unsqueeze(input, 0), other), -2)
        return squeeze(matmul(input, unsqueeze(other, -1)), -1)
    if x.dtype == _BOOL:
        raise RuntimeError("\"addmm_impl_cpu_\" not implemented for 'Bool'")
    if x.dtype != y.dtype:
        raise RuntimeError(
            "expected m1 and m2 to have the same dtype, but got: "
            f"{DTYPES[x.dtype].name} != {DTYPES[y.dtype].name}"
        )
    try:
        with quiet():
            out = np.matmul(x, y)
    except ValueError:
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({'x'.join(map(str, x.shape))} and "
            f"{'x'.join(map(str, y.shape))})"
        ) from None
    if (input._rg or other._rg) and GRAD_MODE.enabled:
        if nx == 2 and ny == 2:
            name = "mm"
        elif nx == 1 and ny == 1:
            name = "dot"
        elif nx == 2 and ny == 1:
            name = "mv"
        elif nx == 1 and ny == 2:
            name = "vm"
        else:
            name = "matmul"
        return record(name, out, (input, other))
    return _wrap(out)


mm = bmm = matmul


def dot(input: Tensor, other: Tensor) -> Tensor:
    """Inner product of two vectors."""
    return matmul(input, other)


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """Outer product of two vectors."""
    return mul(unsqueeze(input, -1), vec2)


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """input @ weight.T + bias in one node (torch's AddmmBackward0), without copies."""
    x, w = input._data, weight._data
    # ndarray.dot is matmul for matrices, with less call overhead (it matters at 200x2).
    with quiet():
        out = x.dot(w.T) if x.ndim == 2 and w.ndim == 2 else np.matmul(x, w.T)
        if bias is not None:
            out += bias._data
    if (input._rg or weight._rg or (bias is not None and bias._rg)) and GRAD_MODE.enabled:
        return record("linear", out, (input, weight, bias))
    return _wrap(out)


# -- shape ops (results are views: they share memory and the version counter) ---------


def _squeeze_np(x: np.ndarray, dims: tuple[int, ...]) -> np.ndarray:
    return x.squeeze(dims) if dims else x[...]  # the method: np.squeeze's wrapper costs more


VIEW_FUNCTIONS: dict[str, Any] = {
    "reshape": lambda x, shape: np.reshape(x, shape),
    "transpose": lambda x, d0, d1: np.swapaxes(x, d0, d1) if x.ndim else x[...],
    "t": lambda x: x.T,
    "permute": lambda x, perm: np.transpose(x, perm),
    "squeeze": _squeeze_np,
    "unsqueeze": lambda x, d: np.expand_dims(x, d),
    "getitem": lambda x, key: x[key],
}
"""Each view kind as a NumPy function of the array (used forward and to map a view's elements)."""


def apply_view(input: Tensor, step: Any) -> Tensor:
    """One view step on ``input``: the NumPy view, with its node when ``input`` requires grad."""
    kind, args, node, params = step
    out = VIEW_FUNCTIONS[kind](input._data, *args)
    if input._rg and GRAD_MODE.enabled:
        return record(node, out, (input,), params)
    return _wrap(out)


def _view_op(input: Tensor, kind: str, args: tuple[Any, ...], node: str, params: dict[str, Any]) -> Tensor:
    step = (kind, args, node, params)
    return _views.register(apply_view(input, step), input, step)


def _shape_arg(shape: Any) -> tuple[int, ...]:
    if len(shape) == 1 and not isinstance(shape[0], (builtins.int, np.integer, Tensor)):
        shape = tuple(shape[0])
    return tuple(builtins.int(s) for s in shape)


def _infer_shape(shape: tuple[int, ...], numel: int) -> tuple[int, ...]:
    """``shape`` with its -1 filled in; impossible shapes are RuntimeErrors, as in torch."""
    free = [k for k, s in enumerate(shape) if s == -1]
    if builtins.len(free) > 1:
        raise RuntimeError("only one dimension can be inferred")
    for s in shape:
        if s < -1:
            raise RuntimeError(f"invalid shape dimension {s}")
    known = 1
    for s in shape:
        if s != -1:
            known *= s
    if free:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        shape = shape[: free[0]] + (numel // known,) + shape[free[0] + 1 :]
    elif known != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return shape


def _reshape(input: Tensor, shape: Any, copy_allowed: bool) -> Tensor:
    x = input._data
    target = _infer_shape(_shape_arg(shape), x.size)
    try:
        np.reshape(x, target, copy=False)
        is_view = True
    except ValueError:
        is_view = False
    if is_view:
        # torch's reshape is view() on a contiguous tensor (ViewBackward0) and _reshape_alias
        # when only the strides allow the view (ReshapeAliasBackward0); view() is always view.
        node = "reshape" if not copy_allowed or x.flags.c_contiguous else "reshape_alias"
        return _view_op(input, "reshape", (target,), node, {"self_shape": x.shape})
    if not copy_allowed:
        raise RuntimeError(
            "view size is not compatible with input tensor's size and stride (at least one dimension "
            "spans across two contiguous subspaces). Use .reshape(...) instead."
        )
    out = np.reshape(x, target)
    if input._rg and GRAD_MODE.enabled:
        # torch: _unsafe_view of a contiguous clone (UnsafeViewBackward0).
        return record("reshape_copy", out, (input,), {"self_shape": x.shape})
    return _wrap(out)


def reshape(input: Tensor, *shape: Any) -> Tensor:
    """Same elements, new shape (one -1 allowed): a view when the memory allows, else a copy."""
    return _reshape(input, shape, copy_allowed=True)


def view(input: Tensor, *shape: Any) -> Tensor:
    """A view with a new shape; a RuntimeError when the memory layout does not allow one."""
    return _reshape(input, shape, copy_allowed=False)


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dimensions start_dim..end_dim into one."""
    shape = input._data.shape
    if not shape:
        return reshape(input, 1)
    s, e = _promotion.wrap_dim(start_dim, len(shape)), _promotion.wrap_dim(end_dim, len(shape))
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if s == e:
        return input  # torch returns the tensor itself when no dims merge
    n = 1
    for d in shape[s : e + 1]:
        n *= d
    return reshape(input, shape[:s] + (n,) + shape[e + 1 :])


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two dimensions."""
    nd = input._data.ndim
    d0, d1 = _promotion.wrap_dim(dim0, nd), _promotion.wrap_dim(dim1, nd)
    return _view_op(input, "transpose", (d0, d1), "transpose", {"dim0": d0, "dim1": d1})


swapaxes = transpose


def t(input: Tensor) -> Tensor:
    """Transpose of a matrix; a view of itself for 0-d and 1-d tensors; 3-d and more refused."""
    nd = input._data.ndim
    if nd > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {nd}D")
    return _view_op(input, "t", (), "t", {})


def permute(input: Tensor, *dims: Any) -> Tensor:
    """Reorder the dimensions."""
    if not dims:
        raise TypeError('permute() missing 1 required positional arguments: "dims"')
    nd = input._data.ndim
    perm = tuple(_promotion.wrap_dim(d, nd) for d in _shape_arg(dims))
    if builtins.len(perm) != nd:
        raise RuntimeError(
            "permute(sparse_coo): number of dimensions in the tensor input does not match the length "
            f"of the desired ordering of dimensions i.e. input.dim() = {nd} is not equal to "
            f"len(dims) = {builtins.len(perm)}"
        )
    if builtins.len(set(perm)) != nd:
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    return _view_op(input, "permute", (perm,), "permute", {"dims": perm})


def squeeze(input: Tensor, dim: Any = None) -> Tensor:
    """Drop dimensions of size 1 (all, or the given ones that have size 1)."""
    x = input._data
    if dim is None:
        keep = tuple(d for d, s in enumerate(x.shape) if s == 1)
        name = "squeeze"
    else:
        keep = tuple(d for d in _dims(dim, x.ndim) if x.shape[d] == 1)
        name = "squeeze_dim"
    return _view_op(input, "squeeze", (keep,), name, {"self_shape": x.shape})


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    """Insert a dimension of size 1 at ``dim``."""
    d = _promotion.wrap_dim(dim, input._data.ndim + 1)
    return _view_op(input, "unsqueeze", (d,), "unsqueeze", {"dim": d})


def expand(input: Tensor, *sizes: Any) -> Tensor:
    """Broadcast to ``sizes`` without copying (-1 keeps a dimension)."""
    x = input._data
    shape = _shape_arg(sizes)
    lead = len(shape) - x.ndim
    if lead < 0:
        raise RuntimeError(
            f"expand: the number of sizes provided ({len(shape)}) must be greater or equal to the "
            f"number of dimensions in the tensor ({x.ndim})"
        )
    shape = tuple(x.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(shape))
    try:
        out = np.broadcast_to(x, shape)
    except ValueError:
        raise RuntimeError(f"The expanded size of the tensor must match the existing size: {shape}") from None
    if input._rg and GRAD_MODE.enabled:
        return record("expand", out, (input,), {"self_shape": x.shape})
    return _wrap(out)


def expand_as(input: Tensor, other: Tensor) -> Tensor:
    """Broadcast to other's shape."""
    return expand(input, other._data.shape)


def broadcast_to(input: Tensor, shape: Any) -> Tensor:
    """Broadcast to ``shape``."""
    return expand(input, shape)


def _joined_dtype(tensors: Sequence[Tensor]) -> np.dtype:
    kinds = {t._data.dtype for t in tensors}
    if len(kinds) == 1:  # one dtype (the usual case): no promotion to compute
        return kinds.pop()
    rt = None
    for t in tensors:
        rt = _promotion.promote(rt, t._data.dtype)
    assert rt is not None
    return rt


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Concatenate along an existing dimension, with torch's checks and dtype promotion.

    1-d empty tensors are skipped, as torch still does for legacy code.
    """
    tensors = [t if type(t) is Tensor else _const(t) for t in tensors]
    if not tensors:
        raise RuntimeError("torch.cat(): expected a non-empty list of Tensors")
    for k, t in enumerate(tensors):
        if t._data.ndim == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {k}) cannot be concatenated")
    used = [t for t in tensors if t._data.shape != (0,)] or tensors[:1]
    nd = used[0]._data.ndim
    d = _promotion.wrap_dim(dim, nd)
    first = used[0]._data.shape
    for t in used:
        shape = t._data.shape
        if len(shape) != nd:
            raise RuntimeError(f"Tensors must have same number of dimensions: got {nd} and {len(shape)}")
        if shape[:d] + shape[d + 1 :] != first[:d] + first[d + 1 :]:
            raise RuntimeError(
                f"Sizes of tensors must match except in dimension {d}. Expected size "
                f"{list(first)} but got size {list(shape)} for a tensor in the list."
            )
    rt = _joined_dtype(tensors)
    out = np.concatenate([t._data.astype(rt, copy=False) for t in used], axis=d)
    if GRAD_MODE.enabled and any(t._rg for t in tensors):
        sizes = tuple(t._data.shape[d] if t._data.shape != (0,) or t is used[0] else None for t in tensors)
        return record("cat", out, tensors, {"dim": d, "sizes": sizes})
    return _wrap(out)


concat = concatenate = cat


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join equal-shaped tensors along a new dimension, with torch's dtype promotion."""
    tensors = [_const(t) for t in tensors]
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    first = tensors[0]._data.shape
    d = _promotion.wrap_dim(dim, len(first) + 1)
    for k, t in enumerate(tensors):
        if t._data.shape != first:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {list(first)} at entry 0 and "
                f"{list(t._data.shape)} at entry {k}"
            )
    rt = _joined_dtype(tensors)
    out = np.stack([t._data.astype(rt, copy=False) for t in tensors], axis=d)
    if GRAD_MODE.enabled and any(t._rg for t in tensors):
        return record("stack", out, tensors, {"dim": d})
    return _wrap(out)


# -- indexing -------------------------------------------------------------------------


def _norm_key(key: Any) -> Any:
    if isinstance(key, Tensor):
        return np.asarray(key._data)
    if isinstance(key, tuple):
        return tuple(np.asarray(k._data) if isinstance(k, Tensor) else k for k in key)
    if isinstance(key, list):
        return np.asarray(key)
    return key


def _is_basic(key: Any) -> bool:
    parts = key if isinstance(key, tuple) else (key,)
    return all(k is None or k is Ellipsis or isinstance(k, (builtins.int, np.integer, slice)) for k in parts)


def _full(k: slice, size: int) -> bool:
    return k.indices(size) == (0, size, 1)


def _basic_steps(x: np.ndarray, key: Any) -> list[tuple[tuple[Any, ...], str]]:
    """A basic index as torch applies it: one select / slice / unsqueeze per component,
    left to right (each its own node), full slices skipped inside a tuple, and an alias
    when nothing else applies. Each step is (NumPy key on the current array, node)."""
    pad = (Ellipsis,)  # keeps 0-d results as views rather than NumPy scalars
    if not isinstance(key, tuple):
        if key is None:
            return [((None,) + pad, "unsqueeze")]
        if key is Ellipsis:
            return [(pad, "alias")]
        return [((key,) + pad, "select" if isinstance(key, (builtins.int, np.integer)) else "slice")]
    consumed = builtins.sum(1 for k in key if k is not None and k is not Ellipsis)
    if consumed > x.ndim:
        raise IndexError(f"too many indices for tensor of dimension {x.ndim}")
    if builtins.sum(1 for k in key if k is Ellipsis) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    steps: list[tuple[tuple[Any, ...], str]] = []
    shape = list(x.shape)
    dim = 0
    for k in key:
        lead = (slice(None),) * dim
        if k is Ellipsis:
            dim += x.ndim - consumed
        elif k is None:
            steps.append((lead + (None,) + pad, "unsqueeze"))
            shape.insert(dim, 1)
            dim += 1
        elif isinstance(k, slice):
            if not _full(k, shape[dim]):
                steps.append((lead + (k,) + pad, "slice"))
                shape[dim] = builtins.len(range(*k.indices(shape[dim])))
            dim += 1
        else:
            size = shape[dim]
            if not -size <= k < size:
                raise IndexError(f"index {k} is out of bounds for dimension {dim} with size {size}")
            steps.append((lead + (k,) + pad, "select"))
            del shape[dim]
    return steps or [(pad, "alias")]


def getitem(input: Tensor, key: Any) -> Tensor:
    """Indexing and slicing (t[0], t[1:], t[mask], t[idx]); basic indexing gives views."""
    key = _norm_key(key)
    x = input._data
    parts = key if isinstance(key, tuple) else (key,)
    for k in parts:
        if isinstance(k, slice) and k.step is not None and k.step <= 0:
            raise ValueError("step must be greater than zero")
    if x.ndim == 0 and any(isinstance(k, (builtins.int, np.integer, slice)) for k in parts):
        raise IndexError(
            "invalid index of a 0-dim tensor. Use `tensor.item()` in Python or `tensor.item<T>()` in "
            "C++ to convert a 0-dim tensor to a number"
        )
    if _is_basic(key):
        t = input
        for k, node in _basic_steps(x, key):
            if node == "unsqueeze":
                d = builtins.len(k) - 2  # the position of the None
                params: dict[str, Any] = {"dim": d}
            else:
                params = {"self_shape": t._data.shape, "key": k}
            t = _view_op(t, "getitem", (k,), node, params)
        return t
    params = {"self_shape": x.shape, "key": key}
    out = x[key]
    if input._rg and GRAD_MODE.enabled:
        return record("index", out, (input,), params)
    return _wrap(out)


def narrow(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    """The slice start:start+length along ``dim``."""
    x = input._data
    nd = x.ndim
    d = dim if type(dim) is builtins.int and 0 <= dim < nd else _promotion.wrap_dim(dim, nd)
    k = slice(start, start + length)
    if nd and type(start) is builtins.int and type(length) is builtins.int:
        # What getitem makes of this key, without parsing it (cat's backward narrows its
        # gradient once per input): one slice step, or an alias when the slice is full.
        shape = x.shape
        size = shape[d]
        if start >= 0 <= length:
            full = size == 0 or (start == 0 and length >= size)  # _full(k, size), by hand
        else:
            full = _full(k, size)
        if full:
            key: tuple[Any, ...] = (Ellipsis,)
            node = "alias"
        else:
            key = (slice(None),) * d + (k, Ellipsis)
            node = "slice"
        step = ("getitem", (key,), node, {"self_shape": shape, "key": key})
        out = x[key]  # apply_view, inline
        res = record(node, out, (input,), step[3]) if input._rg and GRAD_MODE.enabled else _wrap(out)
        return _views.register(res, input, step)
    return getitem(input, (slice(None),) * d + (k,))


def select(input: Tensor, dim: int, index: int) -> Tensor:
    """The index-th slice along ``dim`` (that dimension removed)."""
    d = _promotion.wrap_dim(dim, input._data.ndim)
    return getitem(input, (slice(None),) * d + (index,))


def index_backward(grad: Tensor, self_shape: tuple[int, ...], key: Any) -> Tensor:
    """Zeros of ``self_shape`` with ``grad`` added at ``key``: the gradient of indexing."""
    g = grad._data
    z = np.zeros(self_shape, dtype=g.dtype)
    if _is_basic(key):
        z[key] = g
    else:
        np.add.at(z, key, g)
    if grad._rg and GRAD_MODE.enabled:
        return record("index_backward", z, (grad,), {"key": key})
    return _wrap(z)


# -- selection and clamping -----------------------------------------------------------


def where(condition: Any, input: Any = None, other: Any = None) -> Tensor:
    """input where condition holds, else other (scalars allowed)."""
    cond = condition._data if isinstance(condition, Tensor) else np.asarray(condition)
    if input is None and other is None:
        return tuple(_wrap(i.astype(np.int64)) for i in np.nonzero(cond))  # type: ignore
    input, other = _operand(input), _operand(other)
    rt = _promotion.result_type(input, other)
    out = np.asarray(np.where(cond, _cast(input, rt), _cast(other, rt)), dtype=rt)
    rg = (isinstance(input, Tensor) and input._rg) or (isinstance(other, Tensor) and other._rg)
    if rg and GRAD_MODE.enabled:
        return record("where", out, (_wrap(cond), input, other))
    return _wrap(out)


def clamp(input: Tensor, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
    """Limit values to [min, max] (either may be None)."""
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    lo, hi = _operand(min) if min is not None else None, _operand(max) if max is not None else None
    rt = _promotion.result_type(input, lo, hi)
    lo = _cast(lo, rt) if lo is not None else None
    hi = _cast(hi, rt) if hi is not None else None
    with quiet():
        out = np.asarray(np.clip(_cast(input, rt), lo, hi), dtype=rt)
    if input._rg and GRAD_MODE.enabled:
        return record("clamp", out, (input,), {"min": lo, "max": hi})
    return _wrap(out)


clip = clamp


def clamp_min(input: Tensor, min: Any) -> Tensor:  # noqa: A002
    """Limit values from below."""
    return clamp(input, min=min)


def clamp_max(input: Tensor, max: Any) -> Tensor:  # noqa: A002
    """Limit values from above."""
    return clamp(input, max=max)


# -- softmax family and losses (primitives, one node each, as in torch) ----------------


def softmax(input: Tensor, dim: int = -1, dtype: Any = None) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim``, computed stably."""
    x = input._data
    with quiet():  # infinite logits give NaN, as in torch, without a warning
        z = x - np.max(x, axis=dim, keepdims=True)
        e = np.exp(z)
        out = e / np.sum(e, axis=dim, keepdims=True)
    if input._rg and GRAD_MODE.enabled:
        return record("softmax", out, (input,), {"dim": dim})
    return _wrap(out)


def log_softmax(input: Tensor, dim: int = -1, dtype: Any = None) -> Tensor:
    """x - logsumexp(x) along ``dim``, computed stably."""
    x = input._data
    with quiet():
        z = x - np.max(x, axis=dim, keepdims=True)
        out = z - np.log(np.sum(np.exp(z), axis=dim, keepdims=True))
    if input._rg and GRAD_MODE.enabled:
        return record("log_softmax", out, (input,), {"dim": dim})
    return _wrap(out)


_REDUCTIONS = ("mean", "sum", "none")


def _reduce(loss: np.ndarray, reduction: str, dtype: Any) -> Any:
    if reduction == "mean":
        # sum / n rather than np.mean, whose Python wrapper costs more than the sum here
        # (np.add.reduce is the sum without the wrapper that .sum() also goes through).
        return np.asarray(np.add.reduce(loss, axis=None, dtype=dtype) / loss.size, dtype=dtype)
    if reduction == "sum":
        return np.asarray(np.add.reduce(loss, axis=None, dtype=dtype), dtype=dtype)
    if reduction == "none":
        return loss
    raise ValueError(f"{reduction} is not a valid value for reduction")


def _in_unit_interval(a: np.ndarray) -> bool:
    """Every element in [0, 1]; NaN is not (min and max propagate it), and no elements is."""
    return not a.size or bool(a.min() >= 0 and a.max() <= 1)


def binary_cross_entropy(
    input: Tensor, target: Tensor, weight: Tensor | None = None, reduction: str = "mean"
) -> Tensor:
    """-(y log x + (1 - y) log(1 - x)), logs clamped at -100 as in torch."""
    x = input._data
    y = _const(target)._data
    if x.shape != y.shape:
        raise ValueError(
            f"Using a target size ({Size(y.shape)}) that is different to the input size "
            f"({Size(x.shape)}) is deprecated. Please ensure they have the same size."
        )
    with quiet():
        logx = np.log(x)
        log1mx = np.log1p(-x)
    np.maximum(logx, -100, out=logx)
    np.maximum(log1mx, -100, out=log1mx)
    # -(y log x + (1 - y) log(1 - x)), as log1mx + y (logx - log1mx) with no temporaries.
    logx -= log1mx
    logx *= y
    logx += log1mx
    if weight is not None:
        logx *= weight._data
    np.negative(logx, out=logx)
    with quiet():  # the mean of no elements is NaN, without NumPy's warning
        out = _reduce(logx, reduction, x.dtype)
    # torch's kernel refuses an input outside [0, 1], NaN included. Such an input makes
    # the loss NaN, so only a NaN loss (or no reduction) pays for the range check.
    if (reduction == "none" or np.isnan(out)) and not _in_unit_interval(x):
        raise RuntimeError("all elements of input should be between 0 and 1")
    # And a target outside [0, 1], which can leave the loss finite: checked every time.
    if not _in_unit_interval(y):
        raise RuntimeError("all elements of target should be between 0 and 1")
    tgt = target if isinstance(target, Tensor) else _wrap(y)
    if (input._rg or tgt._rg) and GRAD_MODE.enabled:
        return record("binary_cross_entropy", out, (input, tgt, weight), {"reduction": reduction})
    return _wrap(out)


def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Mean (or sum) of squared differences."""
    tgt = _const(target)
    with quiet():
        d = input._data - tgt._data
        out = _reduce(d * d, reduction, input._data.dtype)
    if (input._rg or tgt._rg) and GRAD_MODE.enabled:
        return record("mse_loss", out, (input, tgt), {"reduction": reduction})
    return _wrap(out)


def nll_loss(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    reduction: str = "mean",
    ignore_index: int = -100,
) -> Tensor:
    """Negative log-likelihood of class indices, given log-probabilities (N, C) or (C,)."""
    x = input._data
    idx = np.asarray(_const(target)._data).astype(np.int64)
    x2 = x if x.ndim > 1 else x[None]
    idx2 = idx.reshape(-1) if x.ndim > 1 else idx.reshape(1)
    valid = idx2 != ignore_index
    safe = np.where(valid, idx2, 0)
    w = np.ones(x2.shape[1], dtype=x.dtype) if weight is None else weight._data
    wi = w[safe] * valid
    picked = -np.take_along_axis(x2, safe[:, None], axis=1)[:, 0] * wi
    if reduction == "mean":
        out = np.asarray(picked.sum() / wi.sum(), dtype=x.dtype)
    elif reduction == "sum":
        out = np.asarray(picked.sum(), dtype=x.dtype)
    else:
        out = picked if x.ndim > 1 else picked[0]
    if input._rg and GRAD_MODE.enabled:
        return record("nll_loss", out, (input,), {"target": safe, "weights": wi, "reduction": reduction})
    return _wrap(out)


# -- dtype conversion ---------------------------------------------------------------------


def target_dtype(*args: Any, **kwargs: Any) -> Any:
    """The NumPy dtype a ``.to(...)`` call asks for, or None; devices other than cpu are refused."""
    target = kwargs.get("dtype")
    for a in args:
        if isinstance(a, Tensor):
            target = a.dtype
        elif isinstance(a, str) or a is None:
            if a not in (None, "cpu"):
                raise RuntimeError(f"the reference engine has no device {a!r}")
        else:
            target = a
    dev = kwargs.get("device")
    if dev not in (None, "cpu"):
        raise RuntimeError(f"the reference engine has no device {dev!r}")
    return None if target is None else to_np_dtype(target)


def to(input: Tensor, *args: Any, **kwargs: Any) -> Tensor:
    """Convert dtype (devices other than cpu are refused); same dtype returns self."""
    npd = target_dtype(*args, **kwargs)
    if npd is None:
        return input
    x = input._data
    if x.dtype == npd:
        return input
    with quiet():  # inf or NaN to an integer dtype: a value, as in torch, not NumPy's warning
        out = np.asarray(x).astype(npd)
    if input._rg and GRAD_MODE.enabled and npd.kind == "f":
        return record("to", out, (input,), {"self_dtype": x.dtype})
    return _wrap(out)


def type_as(input: Tensor, other: Tensor) -> Tensor:
    """Convert to other's dtype."""
    return to(input, other.dtype)


def detach(input: Tensor) -> Tensor:
    """A tensor sharing data and version counter, outside the graph."""
    out = _wrap(input._data)
    vc = input._vc
    if vc is None:
        vc = input._vc = [0]
    out._vc = vc
    return out


def detach_(input: Tensor) -> Tensor:
    """Make this tensor a leaf that does not require grad."""
    input.grad_fn = None
    input._rg = False
    return input


def contiguous(input: Tensor) -> Tensor:
    """Tensors here have no storage layout to fix; returns self."""
    return input


# -- in-place ops ------------------------------------------------------------------------


def check_inplace(t: Tensor) -> None:
    """Refuse in-place ops on a leaf that requires grad, or on a view of one (allowed under no_grad)."""
    if not GRAD_MODE.enabled:
        return
    if t._rg and t.grad_fn is None:
        raise RuntimeError(
            "a leaf Variable that requires grad is being used in an in-place operation. "
            "Its old value may be needed by the graph and its .grad would no longer match; "
            "do the update under torch.no_grad() (as optimizers do) or use an out-of-place op."
        )
    base = t._base
    if base is not None and base._rg and base.grad_fn is None:
        raise RuntimeError(
            "a view of a leaf Variable that requires grad is being used in an in-place "
            "operation. Do the update under torch.no_grad() or clone() the view first."
        )
    if t._no_grad_chain and t._rg:
        raise RuntimeError(
            "this tensor is a view of a view which was created in no_grad mode and is being "
            "modified inplace with grad mode enabled; torch forbids it as ambiguous. Make the "
            "view and the in-place op both inside the no_grad block, or both outside."
        )


def bump_version(t: Tensor) -> None:
    """Record an in-place change, so nodes that saved ``t`` can tell it was modified."""
    vc = t._vc
    if vc is None:
        t._vc = [1]
    else:
        vc[0] += 1


def _writable(t: Tensor) -> np.ndarray:
    """The array an in-place op writes into: the tensor's own memory (shared with its views)."""
    d = t._data
    if type(d) is not np.ndarray:
        t._data = d = np.array(d)
    elif not d.flags.writeable:
        if t._base is not None or t._views:
            raise RuntimeError(
                "unsupported operation: more than one element of the written-to tensor refers to a "
                "single memory location. Please clone() the tensor before performing the operation."
            )
        t._data = d = np.array(d)
    return d


def _apply_inplace(self: Tensor, compute: Any) -> Tensor:
    """Run ``compute(old) -> new value`` and store it in ``self``, with torch's graph rebasing.

    While recording, ``old`` is a snapshot of self's value carrying self's grad_fn
    (what torch saves as ``original_self``), so the op's node reads the value from
    before the update. Afterwards self -- or, for a view, its base through a
    CopySlices node -- takes the new node, and every view of the base gets a
    grad_fn replayed from the base (see :mod:`.views`).
    """
    recording = GRAD_MODE.enabled
    if recording:
        old = _wrap(np.array(self._data))
        old._rg = self._rg
        old.grad_fn = self.grad_fn
    else:
        old = _wrap(self._data)
    res = compute(old)
    d = _writable(self)
    d[...] = res._data
    bump_version(self)
    if recording and res._rg:
        if self._base is not None:
            _views.rebase(self, res)
        else:
            set_grad_fn(self, res.grad_fn)
            self._rg = True
    # The version moved: views of the base get their grad_fn regenerated, as torch does
    # (also under no_grad, where the base's graph is unchanged but retain_grad moves).
    _views.regenerate(self._base if self._base is not None else self)
    return self


def _check_inplace_operand(self: Tensor, other: Any, rt: np.dtype) -> None:
    _promotion.check_cast(rt, self._data.dtype)
    if isinstance(other, Tensor):
        shape = self._data.shape
        out = _promotion.broadcast_shape(shape, other._data.shape)
        if out != shape:
            raise RuntimeError(
                f"output with shape {list(shape)} doesn't match the broadcast shape {list(out)}"
            )


def _inplace(self: Tensor, other: Any, outofplace: Any, to_float: bool = False) -> Tensor:
    check_inplace(self)
    o = _operand(other)
    rt = _promotion.result_type(self, o)
    if to_float and rt.kind != "f":
        rt = _promotion.DEFAULT_FLOAT
    _check_inplace_operand(self, o, rt)
    dt = self._data.dtype

    def compute(old: Tensor) -> Tensor:
        res = outofplace(old, o)
        if res._data.dtype != dt:
            # torch casts inside the in-place kernel: the op's own node, no ToCopy node.
            res._data = res._data.astype(dt)
        return res

    return _apply_inplace(self, compute)


def add_(self: Tensor, other: Any, *, alpha: Any = 1) -> Tensor:
    """In-place self += alpha * other."""
    if alpha != 1:
        other = other * alpha
    return _inplace(self, other, _add)


def sub_(self: Tensor, other: Any, *, alpha: Any = 1) -> Tensor:
    """In-place self -= alpha * other."""
    if alpha != 1:
        other = other * alpha
    return _inplace(self, other, _sub)


def mul_(self: Tensor, other: Any) -> Tensor:
    """In-place self *= other."""
    return _inplace(self, other, mul)


def div_(self: Tensor, other: Any) -> Tensor:
    """In-place self /= other."""
    return _inplace(self, other, div, to_float=True)


def pow_(self: Tensor, exponent: Any) -> Tensor:
    """In-place self **= exponent."""
    return _inplace(self, exponent, pow)


def clamp_(self: Tensor, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
    """In-place clamp."""
    check_inplace(self)
    dt = self._data.dtype
    _promotion.check_cast(_promotion.result_type(self, min, max), dt)

    def compute(old: Tensor) -> Tensor:
        res = clamp(old, min, max)
        return res if res._data.dtype == dt else _wrap(res._data.astype(dt))

    return _apply_inplace(self, compute)


def fill_(self: Tensor, value: Any) -> Tensor:
    """Set every element to ``value`` (its gradient: zero, as torch's FillBackward)."""
    v = value._data if isinstance(value, Tensor) else value
    check_inplace(self)

    def compute(old: Tensor) -> Tensor:
        out = np.full(old._data.shape, v, dtype=old._data.dtype)
        if old._rg and GRAD_MODE.enabled:
            return record("fill", out, (old,))
        return _wrap(out)

    return _apply_inplace(self, compute)


def zero_(self: Tensor) -> Tensor:
    """Set every element to zero (w.grad.zero_())."""
    check_inplace(self)

    def compute(old: Tensor) -> Tensor:
        out = np.zeros(old._data.shape, dtype=old._data.dtype)
        if old._rg and GRAD_MODE.enabled:
            return record("zero", out, (old,))
        return _wrap(out)

    return _apply_inplace(self, compute)


def copy_(self: Tensor, src: Any, non_blocking: bool = False) -> Tensor:
    """Copy ``src`` (broadcast, cast to self's dtype) into self; loads fixed weights under no_grad."""
    if not isinstance(src, Tensor):
        raise TypeError(f"copy_(): argument 'src' must be Tensor, not {type(src).__name__}")
    check_inplace(self)
    shape = self._data.shape
    if _promotion.broadcast_shape(shape, src._data.shape) != shape:
        raise RuntimeError(
            f"output with shape {list(shape)} doesn't match the broadcast shape "
            f"{list(_promotion.broadcast_shape(shape, src._data.shape))}"
        )

    def compute(old: Tensor) -> Tensor:
        with quiet():  # inf or NaN into an integer tensor: a value, as in torch
            out = np.broadcast_to(src._data, shape).astype(old._data.dtype)
        if (old._rg or src._rg) and GRAD_MODE.enabled:
            return record("copy", out, (old, src))
        return _wrap(out)

    return _apply_inplace(self, compute)


def setitem(self: Tensor, key: Any, value: Any) -> None:
    """t[key] = value, in place: a copy into the view ``t[key]`` for basic keys (as torch does)."""
    nkey = _norm_key(key)
    if _is_basic(nkey):
        target = getitem(self, nkey)
        v = value if isinstance(value, Tensor) else _wrap(np.asarray(_operand(value), dtype=self._data.dtype))
        copy_(target, v)
        return
    check_inplace(self)
    v = _const(value)
    if GRAD_MODE.enabled and (self._rg or v._rg):
        old = _wrap(np.array(self._data))
        old._rg = self._rg
        old.grad_fn = self.grad_fn
        out = np.array(self._data)
        out[nkey] = v._data
        res = record("index_put", out, (old, v), {"key": nkey})
        _writable(self)[...] = out
        self.grad_fn = res.grad_fn
        self._rg = True
    else:
        _writable(self)[nkey] = v._data
    bump_version(self)


def uniform_(self: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """Fill with U(a, b) samples from the engine's generator."""
    from .factories import generator

    check_inplace(self)
    _writable(self)[...] = generator().uniform(a, b, self._data.shape)
    bump_version(self)
    return self


def normal_(self: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    """Fill with N(mean, std) samples from the engine's generator."""
    from .factories import generator

    check_inplace(self)
    _writable(self)[...] = generator().normal(mean, std, self._data.shape)
    bump_version(self)
    return self


# -- installing the ops as Tensor methods ---------------------------------------------------


def _method_backward(
    self: Tensor,
    gradient: Any = None,
    retain_graph: Any = None,
    create_graph: bool = False,
    inputs: Any = None,
) -> None:
    _autograd.backward(self, gradient, retain_graph, create_graph, inputs=inputs)


def _reflected(fn: Any) -> Any:
    def r(self: Tensor, other: Any) -> Tensor:
        return fn(self, other)

    return r


def _rtruediv(self: Tensor, other: Any) -> Tensor:
    return _rdiv(self, other)


def _rpow(self: Tensor, other: Any) -> Tensor:
    return pow(other, self)


def _rmatmul(self: Tensor, other: Any) -> Tensor:
    return matmul(_const(other), self)


def _iadd(self: Tensor, other: Any) -> Tensor:
    return add_(self, other)


def _isub(self: Tensor, other: Any) -> Tensor:
    return sub_(self, other)


def _imul(self: Tensor, other: Any) -> Tensor:
    return mul_(self, other)


def _itruediv(self: Tensor, other: Any) -> Tensor:
    return div_(self, other)


def _sum_method(self: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    return sum(self, dim, keepdim, dtype=dtype)


def _reshape_method(self: Tensor, *shape: Any) -> Tensor:
    return reshape(self, *shape)


def _view_method(self: Tensor, *shape: Any) -> Tensor:
    return view(self, *shape)


def _permute_method(self: Tensor, *dims: Any) -> Tensor:
    return permute(self, *dims)


def _expand_method(self: Tensor, *sizes: Any) -> Tensor:
    return expand(self, *sizes)


def _cast_method(np_dtype: Any) -> Any:
    def m(self: Tensor) -> Tensor:
        return to(self, np_dtype)

    return m


def _T(self: Tensor) -> Tensor:  # noqa: N802 - torch's attribute name
    nd = self._data.ndim
    return permute(self, tuple(range(nd - 1, -1, -1))) if nd > 1 else self


def _mT(self: Tensor) -> Tensor:  # noqa: N802 - torch's attribute name
    return transpose(self, -2, -1)


_METHODS: dict[str, Any] = {
    "__add__": _add,
    "__radd__": _reflected(_add),
    "__sub__": _sub,
    "__rsub__": _rsub,
    "__mul__": mul,
    "__rmul__": _reflected(mul),
    "__truediv__": div,
    "__rtruediv__": _rtruediv,
    "__pow__": pow,
    "__rpow__": _rpow,
    "__neg__": neg,
    "__pos__": lambda self: self,
    "__abs__": abs,
    "__matmul__": matmul,
    "__rmatmul__": _rmatmul,
    "__getitem__": getitem,
    "__setitem__": setitem,
    "__eq__": eq,
    "__ne__": ne,
    "__ge__": ge,
    "__gt__": gt,
    "__le__": le,
    "__lt__": lt,
    "__iadd__": _iadd,
    "__isub__": _isub,
    "__imul__": _imul,
    "__itruediv__": _itruediv,
    "__and__": logical_and,
    "__or__": logical_or,
    "__invert__": logical_not,
    "add": add,
    "sub": sub,
    "mul": mul,
    "div": div,
    "pow": pow,
    "neg": neg,
    "exp": exp,
    "log": log,
    "sqrt": sqrt,
    "abs": abs,
    "sigmoid": sigmoid,
    "tanh": tanh,
    "relu": relu,
    "sin": sin,
    "cos": cos,
    "sign": sign,
    "reciprocal": reciprocal,
    "square": square,
    "log1p": log1p,
    "clone": clone,
    "maximum": maximum,
    "minimum": minimum,
    "multiply": mul,
    "subtract": sub,
    "divide": div,
    "eq": eq,
    "ne": ne,
    "ge": ge,
    "gt": gt,
    "le": le,
    "lt": lt,
    "equal": equal,
    "allclose": allclose,
    "isclose": isclose,
    "isnan": isnan,
    "sum": _sum_method,
    "mean": mean,
    "max": max,
    "min": min,
    "argmax": argmax,
    "argmin": argmin,
    "matmul": matmul,
    "mm": matmul,
    "dot": dot,
    "outer": outer,
    "reshape": _reshape_method,
    "view": _view_method,
    "flatten": flatten,
    "transpose": transpose,
    "t": t,
    "permute": _permute_method,
    "squeeze": squeeze,
    "unsqueeze": unsqueeze,
    "expand": _expand_method,
    "expand_as": expand_as,
    "narrow": narrow,
    "select": select,
    "clamp": clamp,
    "clip": clamp,
    "clamp_min": clamp_min,
    "clamp_max": clamp_max,
    "softmax": softmax,
    "log_softmax": log_softmax,
    "to": to,
    "type_as": type_as,
    "detach": detach,
    "detach_": detach_,
    "contiguous": contiguous,
    "float": _cast_method(np.float32),
    "double": _cast_method(np.float64),
    "half": _cast_method(np.float16),
    "long": _cast_method(np.int64),
    "int": _cast_method(np.int32),
    "bool": _cast_method(np.bool_),
    "add_": add_,
    "sub_": sub_,
    "mul_": mul_,
    "div_": div_,
    "pow_": pow_,
    "clamp_": clamp_,
    "fill_": fill_,
    "zero_": zero_,
    "copy_": copy_,
    "uniform_": uniform_,
    "normal_": normal_,
    "backward": _method_backward,
}

for _name, _fn in _METHODS.items():
    setattr(Tensor, _name, _fn)
Tensor.T = property(_T)  # type: ignore[attr-defined]
Tensor.mT = property(_mT)  # type: ignore[attr-defined]
