"""Mutants with one bug in how the graph is recorded: grad mode, detach, retain_grad, in-place."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from types import ModuleType
from typing import Any

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
