"""What the third-party adapters (mygrad, tinygrad) share: the forwarding, never the mapping.

Each adapter wraps the foreign engine's tensor in its own ``Tensor`` class that
speaks PyTorch's names. Much of that class is the same whatever the engine: the
arithmetic operators, which hand the wrapped values to the engine's own
operators and wrap the result, and the plain readers (``shape``, ``item``, ...).
:class:`WrappedTensor` holds those once. What differs between engines (graph
flags, gradients, in-place updates, the methods whose names or signatures the
engine spells differently) stays in each adapter's subclass.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from types import SimpleNamespace
from typing import Any, Self

TORCH_FUNCTIONS = (
    "Tensor",
    "tensor",
    "ones",
    "zeros",
    "ones_like",
    "zeros_like",
    "add",
    "sub",
    "mul",
    "div",
    "pow",
    "cat",
    "stack",
    "matmul",
    "clamp",
    "sum",
    "mean",
)
"""The torch-named functions every adapter defines at module level under the same name."""


def shape_arg(shape: tuple[Any, ...]) -> tuple[Any, ...]:
    """``ones(2, 3)`` and ``ones((2, 3))`` both mean shape ``(2, 3)``, as in torch."""
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape


def adapter_namespace(scope: Mapping[str, Any], **specific: Any) -> SimpleNamespace:
    """The torch-like module ``T``: the adapter's :data:`TORCH_FUNCTIONS`, taken from its
    module ``scope`` (its ``globals()``), plus what is ``specific`` to the engine
    (dtypes, ``no_grad``, elementwise functions, ``autograd``, ``nn``, ``optim``)."""
    return SimpleNamespace(**{name: scope[name] for name in TORCH_FUNCTIONS}, **specific)


class WrappedTensor:
    """A foreign tensor ``_t`` behind PyTorch's operators and readers.

    Subclasses set their own ``__slots__`` for what they add and construct with the
    foreign tensor as the one positional argument; results of operators are wrapped
    with ``type(self)(result)``, that is, with the subclass's defaults.
    ``_equal(a, b)`` is how the engine compares elementwise (``==`` unless overridden).
    Subclasses define ``transpose``, ``ge`` and ``add_``, which ``t()``, ``>=`` and
    ``+=`` here call.
    """

    __slots__ = ("_t",)
    _t: Any
    _equal: Callable[[Any, Any], Any] = staticmethod(operator.eq)

    @classmethod
    def unwrap(cls, value: Any) -> Any:
        """The foreign tensor inside ``value``, or ``value`` itself when it is not wrapped."""
        return value._t if isinstance(value, cls) else value

    def _wrap(self, inner: Any) -> Self:
        return type(self)(inner)

    # -- reading values ---------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self._t.shape)

    @property
    def dtype(self) -> Any:
        return self._t.dtype

    def size(self, dim: int | None = None) -> Any:
        return self.shape if dim is None else self.shape[dim]

    def item(self) -> Any:
        return self._t.item()

    def __float__(self) -> float:
        return float(self._t.item())

    def __repr__(self) -> str:
        return repr(self._t)

    # -- shape methods spelled the same way in torch and the engines ---------------
    def squeeze(self, dim: int | None = None) -> Self:
        return self._wrap(self._t.squeeze(dim))

    def reshape(self, *shape: Any) -> Self:
        return self._wrap(self._t.reshape(*shape))

    def t(self) -> Self:
        return self.transpose(0, 1)

    def expand(self, *sizes: Any) -> Self:
        return self._wrap(self._t.expand(*shape_arg(sizes)))

    def __getitem__(self, index: Any) -> Self:
        return self._wrap(self._t[index])

    # -- operators: the engine's own, on the wrapped values -------------------------
    def __add__(self, other: Any) -> Self:
        return self._wrap(self._t + self.unwrap(other))

    def __radd__(self, other: Any) -> Self:
        return self._wrap(self.unwrap(other) + self._t)

    def __sub__(self, other: Any) -> Self:
        return self._wrap(self._t - self.unwrap(other))

    def __rsub__(self, other: Any) -> Self:
        return self._wrap(self.unwrap(other) - self._t)

    def __mul__(self, other: Any) -> Self:
        return self._wrap(self._t * self.unwrap(other))

    def __rmul__(self, other: Any) -> Self:
        return self._wrap(self.unwrap(other) * self._t)

    def __truediv__(self, other: Any) -> Self:
        return self._wrap(self._t / self.unwrap(other))

    def __rtruediv__(self, other: Any) -> Self:
        return self._wrap(self.unwrap(other) / self._t)

    def __pow__(self, other: Any) -> Self:
        return self._wrap(self._t ** self.unwrap(other))

    def __rpow__(self, other: Any) -> Self:
        return self._wrap(self.unwrap(other) ** self._t)

    def __neg__(self) -> Self:
        return self._wrap(-self._t)

    def __eq__(self, other: Any) -> Self:  # type: ignore[override]
        return self._wrap(self._equal(self._t, self.unwrap(other)))

    __hash__ = object.__hash__

    def __ge__(self, other: Any) -> Self:
        return self.ge(other)

    def __iadd__(self, other: Any) -> Self:
        return self.add_(other)
