"""The Tensor type, dtypes and grad mode: the state every other module shares.

A Tensor is a numpy array plus the bookkeeping PyTorch attaches to it:
``requires_grad``, ``grad_fn`` (the node that made it, ``None`` for leaves),
``grad`` and a version counter shared with its views. Operations live in
:mod:`.ops` and are installed as methods there, so this module stays small and
import-cycle free.

Speed notes (why the class looks the way it does): the hot attributes are
slots, and the rarely-set ones (``_grad``, ``_vc``, ``_acc``, ``_base``) are
class-level defaults backed by a lazily created instance dict, so creating a
tensor costs three attribute writes.
"""

from __future__ import annotations

import warnings
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

F = TypeVar("F", bound=Callable[..., Any])


class dtype:  # noqa: N801 - torch spells it in lower case
    """A dtype object (``T.float32``); compares by identity like torch's."""

    __slots__ = ("name", "np", "is_floating_point", "itemsize")

    def __init__(self, name: str, np_dtype: Any) -> None:
        self.name = name
        self.np = np.dtype(np_dtype)
        self.is_floating_point = self.np.kind == "f"
        self.itemsize = self.np.itemsize

    def __repr__(self) -> str:
        # torch's spelling, so reprs such as tensor([1.], dtype=torch.float64) match.
        return f"torch.{self.name}"

    def __reduce__(self) -> str:
        return self.name


# torch's aliases that shadow builtins (float, int, bool) are added in __init__.
float16 = half = dtype("float16", np.float16)
float32 = dtype("float32", np.float32)
float64 = double = dtype("float64", np.float64)
int8 = dtype("int8", np.int8)
uint8 = dtype("uint8", np.uint8)
int16 = short = dtype("int16", np.int16)
int32 = dtype("int32", np.int32)
int64 = long = dtype("int64", np.int64)
bool_ = dtype("bool", np.bool_)

DTYPES: dict[Any, dtype] = {
    d.np: d for d in (float16, float32, float64, int8, uint8, int16, int32, int64, bool_)
}


def to_np_dtype(d: Any) -> Any:
    """Accept an engine dtype, a numpy dtype or None (-> None)."""
    if d is None:
        return None
    if type(d) is dtype:
        return d.np
    return np.dtype(d)


class _GradMode:
    """Whether ops record the graph. Global (not thread-local): the suite is serial."""

    enabled = True


GRAD_MODE = _GradMode


def is_grad_enabled() -> bool:
    """True when operations record the graph."""
    return _GradMode.enabled


class _ModeContext:
    """Base of no_grad / enable_grad / set_grad_enabled: a context manager and decorator."""

    _target = True

    def __enter__(self) -> None:
        self._prev = _GradMode.enabled
        _GradMode.enabled = self._target

    def __exit__(self, *exc: object) -> None:
        _GradMode.enabled = self._prev

    def __call__(self, fn: F) -> F:
        target = self._target

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            prev = _GradMode.enabled
            _GradMode.enabled = target
            try:
                return fn(*args, **kwargs)
            finally:
                _GradMode.enabled = prev

        wrapper.__name__ = getattr(fn, "__name__", "wrapper")
        wrapper.__doc__ = getattr(fn, "__doc__", None)
        return wrapper  # type: ignore[return-value]


class no_grad(_ModeContext):  # noqa: N801 - torch's name
    """Disable graph recording (in-place ops on leaves are then allowed)."""

    _target = False


class enable_grad(_ModeContext):  # noqa: N801 - torch's name
    """Enable graph recording inside a no_grad region."""

    _target = True


class inference_mode(_ModeContext):  # noqa: N801 - torch's name
    """Treated as no_grad: the reference engine has no separate inference tensors."""

    _target = False

    def __init__(self, mode: Any = True) -> None:
        self._target = not mode


class set_grad_enabled(_ModeContext):  # noqa: N801 - torch's name
    """Set grad mode now (function form) and restore it on exit (context form)."""

    def __init__(self, mode: Any) -> None:
        self._prev = _GradMode.enabled
        self._target = bool(mode)
        _GradMode.enabled = self._target

    def __enter__(self) -> None:
        _GradMode.enabled = self._target


class Tensor:
    """A numpy array with PyTorch's autograd attributes.

    ``_data`` holds the array (a numpy scalar after some reductions; code that
    writes in place first makes it an array). ``_rg`` is requires_grad.
    """

    __slots__ = ("_data", "_rg", "grad_fn", "__dict__", "__weakref__")

    # Rarely-set state: defaults here, instance values in the lazy __dict__.
    _grad: Tensor | None = None
    _vc: list[int] | None = None  # version counter, shared with views
    _acc: Any = None  # weakref to this leaf's AccumulateGrad node
    _base: Tensor | None = None  # the tensor at the root of this view's chain of views
    _view_steps: tuple[Any, ...] = ()  # how the view is made from _base (see views.py)
    _views: list[Any] | None = None  # weak references to this base's views
    _views_cap = 64  # _views' length at which dead references are next swept out
    _no_grad_view = False  # a view made under no_grad (see views.register)
    _no_grad_chain = False  # a view, made with grad on, of a view made under no_grad
    _retains_grad = False
    _is_param = False

    # Let numpy defer to our reflected operators (ndarray + Tensor -> Tensor).
    __array_ufunc__ = None

    def __init__(self, data: Any = (), *, dtype: Any = None, requires_grad: Any = False) -> None:
        arr = np.array(data._data if isinstance(data, Tensor) else data, dtype=to_np_dtype(dtype))
        if dtype is None and arr.dtype != np.float32:
            # torch.Tensor(...) is torch.FloatTensor(...): float32 whatever the data.
            arr = arr.astype(np.float32)
        self._data = arr
        self._rg = False
        self.grad_fn = None
        if requires_grad:
            self.requires_grad = True

    # -- autograd attributes -------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._rg

    @requires_grad.setter
    def requires_grad(self, value: Any) -> None:
        if self.grad_fn is not None:
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. "
                f"This tensor was produced by {type(self.grad_fn).__name__}; "
                "call .detach() to get a leaf that shares its data."
            )
        if value and self._data.dtype.kind not in "fc":
            raise RuntimeError(
                "only Tensors of floating point and complex dtype can require gradients "
                f"(this one is {DTYPES.get(self._data.dtype, self._data.dtype)})"
            )
        self._rg = bool(value)

    def requires_grad_(self, requires_grad: Any = True) -> Tensor:
        """Set requires_grad in place on a leaf and return self."""
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def grad(self) -> Tensor | None:
        if self.grad_fn is not None and not self._retains_grad:
            warnings.warn(
                "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. "
                "Its .grad attribute won't be populated during autograd.backward(). "
                "If you indeed want the .grad field to be populated for a non-leaf Tensor, "
                "use .retain_grad() on the non-leaf Tensor.",
                UserWarning,
                stacklevel=2,
            )
        return self._grad

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None, got {value!r}")
            if value.shape != self.shape:
                raise RuntimeError(
                    "assigned grad has data of a different size "
                    f"({tuple(value.shape)} vs the tensor's {tuple(self.shape)})"
                )
        self._grad = value

    @grad.deleter
    def grad(self) -> None:
        self._grad = None

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    def retain_grad(self) -> None:
        """Keep this non-leaf tensor's gradient in .grad after backward."""
        if not self._rg:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.grad_fn is None:
            return  # leaves keep their gradient anyway
        self._retains_grad = True
        self.grad_fn.retained = weakref.ref(self)

    @property
    def _version(self) -> int:
        vc = self._vc
        return 0 if vc is None else vc[0]

    @property
    def data(self) -> Tensor:
        """A tensor sharing this array, outside the graph (torch's ``.data``)."""
        t = _wrap(self._data)
        return t

    @data.setter
    def data(self, value: Tensor) -> None:
        self._data = value._data if isinstance(value, Tensor) else np.asarray(value)

    # -- array attributes ----------------------------------------------------
    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    @property
    def dtype(self) -> dtype:
        return DTYPES[self._data.dtype]

    @property
    def device(self) -> str:
        return "cpu"

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def is_cuda(self) -> bool:
        return False

    def size(self, dim: Any = None) -> Any:
        """The shape, or one dimension's length."""
        shape = self._data.shape
        return Size(shape) if dim is None else shape[dim]

    def dim(self) -> Any:
        """Number of dimensions."""
        return self._data.ndim

    def numel(self) -> Any:
        """Number of elements."""
        return self._data.size

    def nelement(self) -> Any:
        """Number of elements (torch's older name)."""
        return self._data.size

    def __len__(self) -> Any:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def item(self) -> Any:
        """The single value as a Python number."""
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted to Scalar")
        return self._data.item()

    def tolist(self) -> Any:
        """Nested Python lists (a number for 0-d tensors)."""
        return self._data.tolist()

    def numpy(self) -> np.ndarray:
        """The array itself (shared, like torch), refused while grad is required."""
        if self._rg:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead."
            )
        return np.asarray(self._data)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        arr = np.asarray(self._data)
        return arr if dtype is None else arr.astype(dtype, copy=False)

    def __float__(self) -> Any:
        return float(self.item())

    def __int__(self) -> Any:
        return int(self.item())

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        return bool(self._data.item())

    def __index__(self) -> Any:
        return self._data.__index__()

    __hash__ = object.__hash__

    def __iter__(self) -> Any:
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def __repr__(self) -> str:
        return format_tensor(self)

    def __reduce_ex__(self, protocol: Any) -> Any:
        return (_rebuild, (np.asarray(self._data), self._rg))


def _rebuild(arr: np.ndarray, requires_grad: bool) -> Tensor:
    t = _wrap(arr)
    t._rg = requires_grad
    return t


# -- graph nodes (here, not in autograd.py, so every module can import them) --


class Node:
    """A recorded op: what backward needs to send gradients to the op's inputs.

    ``rule`` is the op's entry in ``derivatives.DERIVATIVES`` (taken when the op
    ran); ``saved`` the tensors its formulas read (``None`` once freed);
    ``versions`` their version counters at save time; ``params`` the non-tensor
    arguments; ``shapes`` and ``dtypes`` the inputs' shapes and dtypes, so a
    broadcast gradient is summed back to each input's shape and cast to its dtype
    (a float32 leaf gets a float32 ``.grad`` whatever it was combined with).
    """

    __slots__ = (
        "next",
        "saved",
        "versions",
        "params",
        "shapes",
        "dtypes",
        "rule",
        "retained",
        "seq",
        "__weakref__",
    )

    def name(self) -> str:
        """PyTorch's node name, e.g. ``MulBackward0`` (``torch::autograd::CopySlices`` for the
        nodes torch writes by hand in C++ rather than generating from derivatives.yaml)."""
        cls = type(self).__name__
        return f"torch::autograd::{cls}" if cls in _NATIVE_NODES else cls

    @property
    def next_functions(self) -> tuple[tuple[Node | None, int], ...]:
        return tuple((n, 0) for n in self.next)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} object at {id(self):#x}>"

    def __call__(self, *grads: Tensor) -> Any:
        """Apply the node's derivative rule to an output gradient (like torch's node call)."""
        from .autograd import apply_node

        return apply_node(self, grads[0], False, None)


_NATIVE_NODES = frozenset({"AccumulateGrad", "CopySlices", "CopyBackwards"})


class NothingSaved(tuple):
    """A node's saved slots when every one was skipped (each was read only for an input
    that does not require grad): there is nothing to free, so a second backward through
    the node is no error, as torch's never-saved ``SavedVariable``."""

    __slots__ = ()


class AccumulateGrad(Node):
    """The node of a leaf that requires grad: where its gradient lands."""

    __slots__ = ("variable",)


_NODE_CLASSES: dict[str, type[Node]] = {"AccumulateGrad": AccumulateGrad}


def node_class(name: str) -> type[Node]:
    """The Node subclass named as PyTorch names the op's node (made once per name)."""
    cls = _NODE_CLASSES.get(name)
    if cls is None:
        cls = type(name, (Node,), {"__slots__": (), "__module__": __name__})
        _NODE_CLASSES[name] = cls
    return cls


def accumulator(t: Tensor) -> AccumulateGrad | None:
    """The leaf's AccumulateGrad node; held weakly by the leaf, strongly by the graph.

    None for a view made under no_grad: torch reports requires_grad=True for it but
    connects it to nothing, so no gradient reaches it (or its base).
    """
    if t._no_grad_view:
        return None
    ref = t._acc
    acc = ref() if ref is not None else None
    if acc is None:
        acc = AccumulateGrad()
        acc.variable = t
        acc.next = ()
        acc.shapes = acc.dtypes = ()
        acc.saved = ()
        acc.retained = None
        acc.seq = -1
        t._acc = weakref.ref(acc)
    return acc


def set_grad_fn(t: Tensor, node: Node) -> None:
    """Give ``t`` a new grad_fn (an in-place op or a view's regeneration), moving its
    retain_grad() to the new node as torch moves its retains-grad hook."""
    if t._retains_grad:
        old = t.grad_fn
        if old is not None:
            old.retained = None
        node.retained = weakref.ref(t)
    t.grad_fn = node


def gradient_edge(t: Tensor) -> Node | None:
    """The node a gradient for ``t`` flows into (None for a view made under no_grad)."""
    fn = t.grad_fn
    return fn if fn is not None else accumulator(t)


class Size(tuple):
    """torch.Size: a tuple whose repr says what it is."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"torch.Size({list(self)})"

    def numel(self) -> Any:
        n = 1
        for s in self:
            n *= s
        return n


_new = object.__new__


def _wrap(data: Any) -> Tensor:
    """Wrap an array as a constant tensor without copying (the op fast path).

    NumPy scalars (what ufuncs return for 0-d inputs) become 0-d arrays, so every
    tensor owns memory that views, ``detach()`` and in-place ops can share.
    """
    t = _new(Tensor)
    t._data = data if type(data) is np.ndarray else np.asarray(data)
    t._rg = False
    t.grad_fn = None
    return t


def format_tensor(t: Tensor) -> str:
    """torch-like repr: tensor([6.], grad_fn=<MulBackward0>)."""
    arr = np.asarray(t._data)
    kind = arr.dtype.kind
    if kind == "f":
        finite = arr[np.isfinite(arr)]
        if finite.size and np.all(finite == np.round(finite)) and np.abs(finite).max() < 1e8:

            def fmt(x: Any) -> str:
                return f"{x:.0f}." if np.isfinite(x) else str(x)
        elif finite.size and (
            np.abs(finite).max() >= 1e8 or (np.abs(finite[finite != 0]).min(initial=1.0) < 1e-4)
        ):

            def fmt(x: Any) -> str:
                return f"{x:.4e}"
        else:

            def fmt(x: Any) -> str:
                return f"{x:.4f}"

        body = np.array2string(
            arr, separator=", ", formatter={"float_kind": fmt}, threshold=1000, prefix="tensor("
        )
    elif kind == "b":
        body = np.array2string(arr, separator=", ", formatter={"bool": lambda b: str(b)}, prefix="tensor(")
    else:
        body = np.array2string(arr, separator=", ", prefix="tensor(")
    extras = []
    if arr.dtype not in (np.float32, np.int64, np.bool_):
        extras.append(f"dtype={DTYPES.get(arr.dtype, arr.dtype)!r}")
    if t.grad_fn is not None:
        extras.append(f"grad_fn=<{type(t.grad_fn).__name__}>")
    elif t._rg:
        extras.append("requires_grad=True")
    return "tensor(" + body + "".join(", " + e for e in extras) + ")"
