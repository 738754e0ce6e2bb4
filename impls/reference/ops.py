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
from .core import DTYPES, GRAD_MODE, Size, Tensor, _wrap, accumulator, to_np_dtype

_new = object.__new__
_next_seq = itertools.count().__next__  # creation order: backward runs newest first
_SCALARS = (builtins.int, builtins.float, builtins.bool, np.floating, np.integer, np.bool_)
_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)


# -- recording ----------------------------------------------------------------


def record(name: str, out: Any, inputs: Sequence[Any], params: dict[str, Any] | None = None) -> Tensor:
    """Wrap ``out`` as the result of op ``name`` applied to ``inputs``, with its node."""
    rule = _derivatives.DERIVATIVES[name]
    node = rule.node_cls()
    node.rule = rule
    node.retained = None
    node.seq = _next_seq()
    n = len(inputs)
    if n == 2:  # the common case, without the cost of building lists
        a, b = inputs
        if isinstance(a, Tensor):
            ea = (a.grad_fn or accumulator(a)) if a._rg else None
            sa = a._data.shape
        else:
            ea = sa = None
        if isinstance(b, Tensor):
            eb = (b.grad_fn or accumulator(b)) if b._rg else None
            sb = b._data.shape
        else:
            eb = sb = None
        node.next = (ea, eb)
        node.shapes = (sa, sb)
    elif n == 1:
        (a,) = inputs
        node.next = ((a.grad_fn or accumulator(a)),)
        node.shapes = (a._data.shape,)
    else:
        edges: list[Any] = []
        shapes: list[Any] = []
        for t in inputs:
            if isinstance(t, Tensor):
                edges.append((t.grad_fn or accumulator(t)) if t._rg else None)
                shapes.append(t._data.shape)
            else:
                edges.append(None)
                shapes.append(None)
        node.next = tuple(edges)
        node.shapes = tuple(shapes)
    res = _new(Tensor)  # _wrap, inlined: this runs once per recorded op
    res._data = out
    res._rg = True
    res.grad_fn = node
    src = rule.save_src
    if src:
        saved = []
        versions = []
        for j in src:
            if j < 0:
                # The result is saved as an alias without grad_fn: no node<->tensor cycle.
                vc = [0]
                res._vc = vc
                alias = _wrap(out)
                alias._vc = vc
                saved.append(alias)
                versions.append(0)
            else:
                v = inputs[j]
                saved.append(v)
                if isinstance(v, Tensor):
                    vc = v._vc
                    versions.append(0 if vc is None else vc[0])
                else:
                    versions.append(None)
        node.saved = tuple(saved)
        node.versions = tuple(versions)
    else:
        node.saved = ()
        node.versions = None
    pnames = rule.params
    node.params = tuple([params[n] for n in pnames]) if pnames else ()  # type: ignore[index]
    return res


def _const(x: Any, like: np.ndarray | None = None) -> Tensor:
    """A non-tensor operand (numpy array, list) as a constant tensor."""
    if isinstance(x, Tensor):
        return x
    arr = np.asarray(x)
    if arr.dtype == _F64 and not isinstance(x, np.ndarray):
        arr = arr.astype(_F32 if like is None else like.dtype)
    return _wrap(arr)


def _fix_dtype(out: Any, x: Any) -> Any:
    """torch keeps an int tensor times a Python float in float32, not numpy's float64."""
    if x.dtype.kind in "iub" and out.dtype == _F64:
        return out.astype(_F32)
    return out


def _binary(name: str, fn: Any) -> Any:
    def op(input: Any, other: Any) -> Tensor:
        if not isinstance(input, Tensor):
            input = _const(input)
        x = input._data
        if isinstance(other, Tensor):
            out = fn(x, other._data)
            if (input._rg or other._rg) and GRAD_MODE.enabled:
                return record(name, out, (input, other))
            res = _new(Tensor)  # _wrap, inlined: the backward pass runs this path
            res._data = out
            res._rg = False
            res.grad_fn = None
            return res
        if not isinstance(other, _SCALARS):
            return op(input, _const(other, x))
        out = fn(x, other)
        if x.dtype.kind != "f":
            out = _fix_dtype(out, x)
        if input._rg and GRAD_MODE.enabled:
            return record(name, out, (input, other))
        return _wrap(out)

    op.__name__ = name
    op.__doc__ = f"Elementwise {name} with broadcasting (scalars allowed on the right)."
    return op


_add = _binary("add", np.add)
_sub = _binary("sub", np.subtract)
mul = _binary("mul", np.multiply)
div = _binary("div", np.true_divide)
_rsub = _binary("rsub", lambda x, y: y - x)
_rdiv = _binary("rdiv", lambda x, y: y / x)
maximum = _binary("maximum", np.maximum)
minimum = _binary("minimum", np.minimum)
multiply = mul
true_divide = divide = div


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


def pow(input: Any, exponent: Any) -> Tensor:  # noqa: A001 - torch's name
    """input ** exponent for a tensor or scalar exponent (or a scalar base)."""
    if not isinstance(input, Tensor):
        if isinstance(input, _SCALARS):
            e = exponent if isinstance(exponent, Tensor) else _const(exponent)
            out = np.power(input, e._data)
            if e._data.dtype.kind == "f" and out.dtype != e._data.dtype:
                out = out.astype(e._data.dtype)
            if e._rg and GRAD_MODE.enabled:
                return record("rpow", out, (e,), {"base": input})
            return _wrap(out)
        input = _const(input)
    x = input._data
    if isinstance(exponent, Tensor):
        out = np.power(x, exponent._data)
        if (input._rg or exponent._rg) and GRAD_MODE.enabled:
            return record("pow_tensor", out, (input, exponent))
        return _wrap(out)
    if not isinstance(exponent, _SCALARS):
        return pow(input, _const(exponent, x))
    out = np.power(x, exponent)
    if x.dtype.kind != "f":
        out = _fix_dtype(out, x)
    if input._rg and GRAD_MODE.enabled:
        return record("pow", out, (input,), {"exponent": exponent})
    return _wrap(out)


def _unary(name: str, fn: Any, doc: str) -> Any:
    def op(input: Tensor) -> Tensor:
        out = fn(input._data)
        if input._rg and GRAD_MODE.enabled:
            return record(name, out, (input,))
        return _wrap(out)

    op.__name__ = name
    op.__doc__ = doc
    return op


def _sigmoid(x: Any) -> Any:
    # exp(-x) overflows to inf for very negative x, which gives the right limit 0.
    with np.errstate(over="ignore"):
        out = np.exp(-x)
    out += 1
    return np.reciprocal(out, out=out) if type(out) is np.ndarray else 1 / out


def _relu(x: Any) -> Any:
    return np.maximum(x, 0)


neg = negative = _unary("neg", np.negative, "-input.")
exp = _unary("exp", np.exp, "e ** input.")
log = _unary("log", np.log, "Natural logarithm.")
sqrt = _unary("sqrt", np.sqrt, "Square root.")
abs = absolute = _unary("abs", np.abs, "Absolute value.")  # noqa: A001 - torch's name
sigmoid = _unary("sigmoid", _sigmoid, "1 / (1 + exp(-input)).")
tanh = _unary("tanh", np.tanh, "Hyperbolic tangent.")
relu = _unary("relu", _relu, "max(input, 0).")
sin = _unary("sin", np.sin, "Sine.")
cos = _unary("cos", np.cos, "Cosine.")
sign = _unary("sign", np.sign, "Sign (-1, 0, 1); its derivative is zero.")
reciprocal = _unary("reciprocal", np.reciprocal, "1 / input.")
square = _unary("square", np.square, "input ** 2.")
log1p = _unary("log1p", np.log1p, "log(1 + input).")
clone = _unary("clone", np.copy, "A copy of input that stays in the graph.")


# -- comparisons: results never require grad -----------------------------------


def _compare(fn: Any, name: str) -> Any:
    def op(input: Any, other: Any) -> Tensor:
        x = input._data if isinstance(input, Tensor) else input
        y = other._data if isinstance(other, Tensor) else other
        return _wrap(fn(x, y))

    op.__name__ = name
    op.__doc__ = f"Elementwise {name}: a bool tensor outside the graph."
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
    if isinstance(dim, (builtins.int, np.integer)):
        dim = (dim,)
    return tuple(sorted(d % ndim if ndim else 0 for d in dim))


def sum(
    input: Tensor,
    dim: Any = None,
    keepdim: bool = False,
    *,
    dtype: Any = None,  # noqa: A001
) -> Tensor:
    """Sum of all elements, or along ``dim`` (an int or a tuple)."""
    x = input._data
    npd = to_np_dtype(dtype)
    if dim is None or dim == ():
        out = np.sum(x, dtype=npd)
        if input._rg and GRAD_MODE.enabled:
            return record("sum", out, (input,), {"self_shape": x.shape})
        return _wrap(out)
    dims = _dims(dim, x.ndim)
    out = np.sum(x, axis=dims, keepdims=keepdim, dtype=npd)
    if input._rg and GRAD_MODE.enabled:
        return record("sum_dim", out, (input,), {"self_shape": x.shape, "dim": dims, "keepdim": keepdim})
    return _wrap(out)


def mean(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """Mean of all elements, or along ``dim``."""
    x = input._data
    if x.dtype.kind != "f" and dtype is None:
        raise RuntimeError(
            "mean(): could not infer output dtype. Input dtype must be either a floating point "
            f"or complex dtype. Got: {DTYPES.get(x.dtype, x.dtype)!r}"
        )
    npd = to_np_dtype(dtype)
    if dim is None or dim == ():
        out = np.mean(x, dtype=npd)
        if npd is None and out.dtype != x.dtype:
            out = out.astype(x.dtype)
        if input._rg and GRAD_MODE.enabled:
            return record("mean", out, (input,), {"self_shape": x.shape})
        return _wrap(out)
    dims = _dims(dim, x.ndim)
    out = np.mean(x, axis=dims, keepdims=keepdim, dtype=npd)
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
    d = dim % x.ndim if x.ndim else 0
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
    out = np.matmul(x, y)
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
    out = x.dot(w.T) if x.ndim == 2 and w.ndim == 2 else np.matmul(x, w.T)
    if bias is not None:
        out += bias._data
    if (input._rg or weight._rg or (bias is not None and bias._rg)) and GRAD_MODE.enabled:
        return record("linear", out, (input, weight, bias))
    return _wrap(out)


# -- shape ops (results are views: they share the version counter) -------------------


def _as_view(out: Tensor, base: Tensor) -> Tensor:
    """Make ``out`` share ``base``'s version counter, as views do in torch."""
    vc = base._vc
    if vc is None:
        vc = base._vc = [0]
    out._vc = vc
    root = base._base if base._base is not None else base
    if root._rg and root.grad_fn is None:
        out._base = root
    return out


def _shape_arg(shape: Any) -> tuple[int, ...]:
    if len(shape) == 1 and not isinstance(shape[0], (builtins.int, np.integer, Tensor)):
        shape = tuple(shape[0])
    return tuple(builtins.int(s) for s in shape)


def reshape(input: Tensor, *shape: Any) -> Tensor:
    """Same elements, new shape (one -1 allowed)."""
    x = input._data
    out = np.reshape(x, _shape_arg(shape))
    if input._rg and GRAD_MODE.enabled:
        res = record("reshape", out, (input,), {"self_shape": x.shape})
    else:
        res = _wrap(out)
    return _as_view(res, input) if out.base is not None else res


view = reshape


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dimensions start_dim..end_dim into one."""
    shape = input._data.shape
    if not shape:
        return reshape(input, 1)
    s, e = start_dim % len(shape), end_dim % len(shape)
    n = 1
    for d in shape[s : e + 1]:
        n *= d
    return reshape(input, shape[:s] + (n,) + shape[e + 1 :])


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two dimensions."""
    out = np.swapaxes(input._data, dim0, dim1)
    if input._rg and GRAD_MODE.enabled:
        res = record("transpose", out, (input,), {"dim0": dim0, "dim1": dim1})
    else:
        res = _wrap(out)
    return _as_view(res, input)


swapaxes = transpose


def t(input: Tensor) -> Tensor:
    """Transpose of a matrix (vectors unchanged)."""
    if input._data.ndim < 2:
        return input
    out = input._data.T
    if input._rg and GRAD_MODE.enabled:
        res = record("t", out, (input,))
    else:
        res = _wrap(out)
    return _as_view(res, input)


def permute(input: Tensor, *dims: Any) -> Tensor:
    """Reorder the dimensions."""
    perm = _shape_arg(dims)
    out = np.transpose(input._data, perm)
    if input._rg and GRAD_MODE.enabled:
        res = record("permute", out, (input,), {"dims": perm})
    else:
        res = _wrap(out)
    return _as_view(res, input)


def squeeze(input: Tensor, dim: Any = None) -> Tensor:
    """Drop dimensions of size 1 (all, or the given one if it has size 1)."""
    x = input._data
    if dim is None:
        out = x.squeeze()
        name = "squeeze"
    else:
        dims = _dims(dim, x.ndim)
        keep = tuple(d for d in dims if x.shape[d] == 1)
        out = np.squeeze(x, keep) if keep else x
        name = "squeeze_dim"
    if input._rg and GRAD_MODE.enabled:
        res = record(name, out, (input,), {"self_shape": x.shape})
    else:
        res = _wrap(out)
    return _as_view(res, input)


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    """Insert a dimension of size 1 at ``dim``."""
    x = input._data
    d = dim % (x.ndim + 1)
    out = np.expand_dims(x, d)
    if input._rg and GRAD_MODE.enabled:
        res = record("unsqueeze", out, (input,), {"dim": d})
    else:
        res = _wrap(out)
    return _as_view(res, input)


def expand(input: Tensor, *sizes: Any) -> Tensor:
    """Broadcast to ``sizes`` without copying (-1 keeps a dimension)."""
    x = input._data
    shape = _shape_arg(sizes)
    lead = len(shape) - x.ndim
    shape = tuple(x.shape[i - lead] if s == -1 else s for i, s in enumerate(shape))
    out = np.broadcast_to(x, shape)
    if input._rg and GRAD_MODE.enabled:
        return record("expand", out, (input,), {"self_shape": x.shape})
    return _wrap(out)


def expand_as(input: Tensor, other: Tensor) -> Tensor:
    """Broadcast to other's shape."""
    return expand(input, other._data.shape)


def broadcast_to(input: Tensor, shape: Any) -> Tensor:
    """Broadcast to ``shape``."""
    return expand(input, shape)


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Concatenate along an existing dimension."""
    tensors = [_const(t) for t in tensors]
    if not tensors:
        raise RuntimeError("torch.cat(): expected a non-empty list of Tensors")
    arrays = [np.asarray(t._data) for t in tensors]
    nd = arrays[0].ndim
    d = dim % nd if nd else 0
    out = np.concatenate(arrays, axis=d)
    if GRAD_MODE.enabled and any(t._rg for t in tensors):
        sizes = tuple(a.shape[d] for a in arrays)
        return record("cat", out, tensors, {"dim": d, "sizes": sizes})
    return _wrap(out)


concat = concatenate = cat


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join along a new dimension."""
    tensors = [_const(t) for t in tensors]
    arrays = [np.asarray(t._data) for t in tensors]
    d = dim % (arrays[0].ndim + 1)
    out = np.stack(arrays, axis=d)
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


def getitem(input: Tensor, key: Any) -> Tensor:
    """Indexing and slicing (t[0], t[1:], t[mask], t[idx])."""
    key = _norm_key(key)
    x = input._data
    out = x[key]
    basic = _is_basic(key)
    if input._rg and GRAD_MODE.enabled:
        if isinstance(key, (builtins.int, np.integer)):
            name = "select"
        elif isinstance(key, slice):
            name = "slice"
        else:
            name = "index"
        res = record(name, out, (input,), {"self_shape": x.shape, "key": key})
    else:
        res = _wrap(out)
    return _as_view(res, input) if basic else res


def narrow(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    """The slice start:start+length along ``dim``."""
    d = dim % input._data.ndim
    key = (slice(None),) * d + (slice(start, start + length),)
    return getitem(input, key)


def select(input: Tensor, dim: int, index: int) -> Tensor:
    """The index-th slice along ``dim`` (that dimension removed)."""
    d = dim % input._data.ndim
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
    xi = input._data if isinstance(input, Tensor) else input
    xo = other._data if isinstance(other, Tensor) else other
    out = np.where(cond, xi, xo)
    if out.dtype == _F64 and not (
        (isinstance(input, Tensor) and input._data.dtype == _F64)
        or (isinstance(other, Tensor) and other._data.dtype == _F64)
    ):
        out = out.astype(_F32)
    rg = (isinstance(input, Tensor) and input._rg) or (isinstance(other, Tensor) and other._rg)
    if rg and GRAD_MODE.enabled:
        return record("where", out, (_wrap(cond), input, other))
    return _wrap(out)


def clamp(input: Tensor, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
    """Limit values to [min, max] (either may be None)."""
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    lo = min._data if isinstance(min, Tensor) else min
    hi = max._data if isinstance(max, Tensor) else max
    out = np.clip(input._data, lo, hi)
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
    z = x - np.max(x, axis=dim, keepdims=True)
    e = np.exp(z)
    out = e / np.sum(e, axis=dim, keepdims=True)
    if input._rg and GRAD_MODE.enabled:
        return record("softmax", out, (input,), {"dim": dim})
    return _wrap(out)


def log_softmax(input: Tensor, dim: int = -1, dtype: Any = None) -> Tensor:
    """x - logsumexp(x) along ``dim``, computed stably."""
    x = input._data
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
    with np.errstate(divide="ignore"):
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
    out = _reduce(logx, reduction, x.dtype)
    tgt = target if isinstance(target, Tensor) else _wrap(y)
    if (input._rg or tgt._rg) and GRAD_MODE.enabled:
        return record("binary_cross_entropy", out, (input, tgt, weight), {"reduction": reduction})
    return _wrap(out)


def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Mean (or sum) of squared differences."""
    tgt = _const(target)
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
    """Refuse in-place ops on a leaf that requires grad (allowed under no_grad)."""
    if not GRAD_MODE.enabled:
        return
    if t._rg and t.grad_fn is None:
        raise RuntimeError(
            "a leaf Variable that requires grad is being used in an in-place operation. "
            "Its old value may be needed by the graph and its .grad would no longer match; "
            "do the update under torch.no_grad() (as optimizers do) or use an out-of-place op."
        )
    if t._base is not None:
        raise RuntimeError(
            "a view of a leaf Variable that requires grad is being used in an in-place "
            "operation. Do the update under torch.no_grad() or clone() the view first."
        )


def bump_version(t: Tensor) -> None:
    """Record an in-place change, so nodes that saved ``t`` can tell it was modified."""
    vc = t._vc
    if vc is None:
        t._vc = [1]
    else:
        vc[0] += 1


def _writable(t: Tensor) -> np.ndarray:
    d = t._data
    if type(d) is not np.ndarray or not d.flags.writeable:
        t._data = d = np.array(d)
    return d


def _inplace(self: Tensor, other: Any, outofplace: Any, ufunc: Any) -> Tensor:
    check_inplace(self)
    other_rg = isinstance(other, Tensor) and other._rg
    if GRAD_MODE.enabled and (self._rg or other_rg):
        # Record the out-of-place op on a snapshot of the old value, then rebase
        # self onto the new node (torch keeps the same object, with a new grad_fn).
        old = _wrap(np.array(self._data))
        old._rg = self._rg
        old.grad_fn = self.grad_fn
        res = outofplace(old, other)
        d = _writable(self)
        d[...] = res._data
        self.grad_fn = res.grad_fn
        self._rg = True
        bump_version(self)
        return self
    d = _writable(self)
    ufunc(d, other._data if isinstance(other, Tensor) else other, out=d, casting="unsafe")
    bump_version(self)
    return self


def add_(self: Tensor, other: Any, *, alpha: Any = 1) -> Tensor:
    """In-place self += alpha * other."""
    if alpha != 1:
        other = other * alpha
    return _inplace(self, other, _add, np.add)


def sub_(self: Tensor, other: Any, *, alpha: Any = 1) -> Tensor:
    """In-place self -= alpha * other."""
    if alpha != 1:
        other = other * alpha
    return _inplace(self, other, _sub, np.subtract)


def mul_(self: Tensor, other: Any) -> Tensor:
    """In-place self *= other."""
    return _inplace(self, other, mul, np.multiply)


def div_(self: Tensor, other: Any) -> Tensor:
    """In-place self /= other."""
    return _inplace(self, other, div, np.true_divide)


def pow_(self: Tensor, exponent: Any) -> Tensor:
    """In-place self **= exponent."""
    return _inplace(self, exponent, pow, np.power)


def clamp_(self: Tensor, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
    """In-place clamp."""
    return _inplace(
        self, None, lambda a, _: clamp(a, min, max), lambda d, _o, out, casting: np.clip(d, min, max, out=out)
    )


def fill_(self: Tensor, value: Any) -> Tensor:
    """Set every element to ``value``."""
    v = value._data if isinstance(value, Tensor) else value
    check_inplace(self)
    if GRAD_MODE.enabled and self._rg:
        old = _wrap(np.array(self._data))
        old._rg = True
        old.grad_fn = self.grad_fn
        res = mul(old, 0)
        _writable(self)[...] = v
        self.grad_fn = res.grad_fn
    else:
        _writable(self)[...] = v
    bump_version(self)
    return self


def zero_(self: Tensor) -> Tensor:
    """Set every element to zero (w.grad.zero_())."""
    return fill_(self, 0)


def copy_(self: Tensor, src: Any, non_blocking: bool = False) -> Tensor:
    """Copy ``src`` (broadcast) into self; loads fixed weights under no_grad."""
    src = _const(src)
    check_inplace(self)
    if GRAD_MODE.enabled and (self._rg or src._rg):
        old = _wrap(np.array(self._data))
        old._rg = self._rg
        old.grad_fn = self.grad_fn
        res = record(
            "copy", np.broadcast_to(src._data, self._data.shape).astype(self._data.dtype), (old, src)
        )
        _writable(self)[...] = res._data
        self.grad_fn = res.grad_fn
        self._rg = True
    else:
        _writable(self)[...] = src._data
    bump_version(self)
    return self


def setitem(self: Tensor, key: Any, value: Any) -> None:
    """t[key] = value, in place (recorded when value or self requires grad)."""
    key = _norm_key(key)
    check_inplace(self)
    v = _const(value)
    if GRAD_MODE.enabled and (self._rg or v._rg):
        old = _wrap(np.array(self._data))
        old._rg = self._rg
        old.grad_fn = self.grad_fn
        out = np.array(self._data)
        out[key] = v._data
        res = record("index_put", out, (old, v), {"key": key})
        _writable(self)[...] = out
        self.grad_fn = res.grad_fn
        self._rg = True
    else:
        _writable(self)[key] = v._data
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


def _permute_method(self: Tensor, *dims: Any) -> Tensor:
    return permute(self, *dims)


def _expand_method(self: Tensor, *sizes: Any) -> Tensor:
    return expand(self, *sizes)


def _cast(np_dtype: Any) -> Any:
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
    "view": _reshape_method,
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
    "float": _cast(np.float32),
    "double": _cast(np.float64),
    "half": _cast(np.float16),
    "long": _cast(np.int64),
    "int": _cast(np.int32),
    "bool": _cast(np.bool_),
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
