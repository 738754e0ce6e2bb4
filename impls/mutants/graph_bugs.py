"""Mutants with one bug in how the graph is recorded: grad mode, detach, retain_grad, in-place."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from types import ModuleType
from typing import Any

import numpy as np

from gradspec.impls.mutants.zoo import mutant, replaced


@mutant(
    "no-grad-ignored",
    bug="no_grad() leaves grad mode on, so results computed inside it still record a graph and require grad.",
    where="core.no_grad (the mode it sets)",
)
def no_grad_ignored(ref: ModuleType) -> Any:
    return replaced(ref.core.no_grad, "_target", True)


@mutant(
    "inplace-on-leaf-allowed",
    bug="In-place ops on a leaf that requires grad are allowed outside no_grad instead of raising.",
    where="ops.check_inplace",
)
def inplace_on_leaf_allowed(ref: ModuleType) -> Any:
    return replaced(ref.ops, "check_inplace", lambda t: None)


@mutant(
    "version-not-bumped",
    bug=(
        "In-place ops do not bump the version counter, so a saved tensor changed in place goes "
        "unnoticed by backward."
    ),
    where="ops.bump_version",
)
def version_not_bumped(ref: ModuleType) -> Any:
    return replaced(ref.ops, "bump_version", lambda t: None)


@mutant(
    "detach-keeps-requires-grad",
    bug=(
        "detach() copies requires_grad from its input: the result is cut from the graph but still "
        "claims to require grad."
    ),
    where="ops.detach (also installed as Tensor.detach)",
)
def detach_keeps_requires_grad(ref: ModuleType) -> Any:
    original = ref.ops.detach

    def detach(input: Any) -> Any:
        out = original(input)
        out._rg = input._rg
        return out

    @contextmanager
    def patch() -> Iterator[None]:
        with ExitStack() as stack:
            stack.enter_context(replaced(ref.ops, "detach", detach))
            stack.enter_context(replaced(ref.core.Tensor, "detach", detach))
            yield

    return patch()


@mutant(
    "retain-grad-ignored",
    bug="retain_grad() does nothing, so a non-leaf's .grad stays None after backward.",
    where="core.Tensor.retain_grad",
)
def retain_grad_ignored(ref: ModuleType) -> Any:
    return replaced(ref.core.Tensor, "retain_grad", lambda self: None)


# -- in-place ops that autograd does not see ---------------------------------------------

# PyTorch's names of the nodes of view ops: a tensor whose grad_fn is one of these is a view.
VIEW_NODES = frozenset(
    {
        "ViewBackward0",
        "ReshapeAliasBackward0",
        "TransposeBackward0",
        "TBackward0",
        "PermuteBackward0",
        "SqueezeBackward0",
        "SqueezeBackward1",
        "UnsqueezeBackward0",
        "ExpandBackward0",
        "SelectBackward0",
        "SliceBackward0",
    }
)

_INPLACE = {
    # method: (numpy ufunc, operator alias)
    "add_": (np.add, "__iadd__"),
    "sub_": (np.subtract, "__isub__"),
    "mul_": (np.multiply, "__imul__"),
    "div_": (np.true_divide, "__itruediv__"),
}


def _unrecorded(ref: ModuleType, ufunc: Any) -> Any:
    """The in-place op done on the data alone: the value changes, the graph does not."""

    def op(self: Any, other: Any) -> Any:
        data = self._data
        if type(data) is not np.ndarray or not data.flags.writeable:
            self._data = data = np.array(data)
        ufunc(data, other._data if isinstance(other, ref.core.Tensor) else other, out=data, casting="unsafe")
        ref.ops.bump_version(self)
        return self

    return op


@contextmanager
def _inplace_unrecorded_when(ref: ModuleType, methods: tuple[str, ...], when: Any) -> Iterator[None]:
    """Patch the in-place ``methods`` (and their operators) to skip the graph when ``when(self)``."""
    Tensor = ref.core.Tensor
    with ExitStack() as stack:
        for name in methods:
            ufunc, operator = _INPLACE[name]
            original = getattr(Tensor, name)
            skip = _unrecorded(ref, ufunc)

            def method(self: Any, other: Any, _original: Any = original, _skip: Any = skip, **kw: Any) -> Any:
                if ref.core.GRAD_MODE.enabled and when(self):
                    alpha = kw.get("alpha", 1)
                    return _skip(self, other if alpha == 1 else other * alpha)
                return _original(self, other, **kw)

            stack.enter_context(replaced(Tensor, name, method))
            stack.enter_context(replaced(Tensor, operator, method))
            stack.enter_context(replaced(ref.ops, name, method))
        yield


@mutant(
    "inplace-mul-non-leaf-unrecorded",
    bug=(
        "mul_ on a non-leaf changes its value but records nothing, so backward misses the factor: "
        "y = w * 3; y.mul_(2) gives w.grad 3 instead of 6. add_ (derivative 1) still looks right."
    ),
    where="Tensor.mul_ (and *=)",
    narrow=True,
)
def inplace_mul_non_leaf_unrecorded(ref: ModuleType) -> Any:
    return _inplace_unrecorded_when(ref, ("mul_",), lambda t: t.grad_fn is not None)


@mutant(
    "inplace-on-view-unrecorded",
    bug=(
        "An in-place op on a view of a non-leaf (a reshape, transpose, unsqueeze or slice of it) "
        "changes the values but drops the op from the graph: later uses of the view "
        "backpropagate as if it had not happened."
    ),
    where="Tensor.add_ / sub_ / mul_ / div_ (and +=, -=, *=, /=) on views",
    narrow=True,
)
def inplace_on_view_unrecorded(ref: ModuleType) -> Any:
    return _inplace_unrecorded_when(
        ref, tuple(_INPLACE), lambda t: t.grad_fn is not None and type(t.grad_fn).__name__ in VIEW_NODES
    )
