"""The reference engine: a NumPy autograd engine with PyTorch's graph semantics.

This package *is* the torch-like namespace the cases call ``T``
(``import gradspec.impls.reference as T`` reads like ``import torch``), and
``engine()`` wraps it as a :class:`gradspec.conformance.engine.Engine`. It imports
nothing but numpy and the standard library.

Modules, one job each:

- ``core``: Tensor, dtypes, grad mode, graph Node classes;
- ``promotion``: torch's result dtypes, dim wrapping and broadcast errors;
- ``ops``: every op's forward computation and how it records its node, and the
  in-place ops (with the leaf rule and the version counter);
- ``views``: views of a base, and CopySlices rebasing when one is modified in place;
- ``derivatives``: THE derivative table (op -> node name, one vjp per input,
  written with the engine's own ops) and ``sum_to_shape``;
- ``autograd``: the backward pass, ``autograd.grad`` / ``autograd.backward``;
- ``factories``: tensor(), ones(), ..., and the random generator;
- ``functional`` (``T.nn.functional``), ``nn``, ``optim``.

Mutation points: each behaviour the suite checks is one table entry or one
small module-level function, looked up at call time, so a mutant engine patches
exactly one of them (and restores it afterwards):

============================  ==========================================================
behaviour                     patch
============================  ==========================================================
one derivative rule           ``derivatives.DERIVATIVES["mul"]`` (or
                              ``with derivatives.patched("mul", self=...)``)
broadcast-gradient reduction  ``derivatives.sum_to_shape``
leaf gradient accumulation    ``autograd.accumulate_grad``
freeing saved tensors         ``autograd.release_saved``
freed / version checks        ``autograd.unpack_saved``
implicit scalar gradient      ``autograd.make_root_grad``
leaf in-place rule            ``ops.check_inplace``
version counter bump          ``ops.bump_version``
SGD update                    ``optim.sgd_update``
BCE loss                      ``functional.binary_cross_entropy`` (forward) and
                              ``DERIVATIVES["binary_cross_entropy"]`` (gradient)
============================  ==========================================================

A rule is taken from the table when an op records its node, so patch before
building the graph. Ops bound directly in this namespace (``T.mul``) are the
forward functions, not derivative rules; patching them does not change gradients.

Inside the subset of :mod:`gradspec.spec.api` the engine follows PyTorch's
semantics -- values, dtypes, shapes, graph flags, gradients, error classes --
and ``tests/test_reference_fuzz.py`` checks it against torch on random whole
programs. The known differences are listed, each with its reason and the test
that pins it, in :data:`differences.DIFFERENCES` (see docs/reference.md).
"""

from __future__ import annotations

from . import autograd, derivatives, differences, factories, functional, nn, ops, optim
from .autograd import Function  # noqa: F401
from .core import (  # noqa: F401
    GRAD_MODE,
    Node,
    Size,
    Tensor,
    bool_,
    double,
    dtype,
    enable_grad,
    float16,
    float32,
    float64,
    half,
    inference_mode,
    int8,
    int16,
    int32,
    int64,
    is_grad_enabled,
    long,
    no_grad,
    set_grad_enabled,
    short,
    uint8,
)
from .factories import (  # noqa: F401
    Generator,
    arange,
    as_tensor,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    manual_seed,
    normal,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    seed,
    tensor,
    zeros,
    zeros_like,
)
from .ops import (  # noqa: F401
    abs,
    absolute,
    add,
    allclose,
    argmax,
    argmin,
    bmm,
    broadcast_to,
    cat,
    clamp,
    clamp_max,
    clamp_min,
    clip,
    clone,
    concat,
    concatenate,
    cos,
    detach,
    div,
    divide,
    dot,
    eq,
    equal,
    exp,
    expand,
    flatten,
    ge,
    greater,
    greater_equal,
    gt,
    isclose,
    isfinite,
    isnan,
    le,
    less,
    less_equal,
    linear,
    log,
    log1p,
    log_softmax,
    logical_and,
    logical_not,
    logical_or,
    lt,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    mm,
    mul,
    multiply,
    narrow,
    ne,
    neg,
    negative,
    outer,
    permute,
    pow,
    reciprocal,
    relu,
    reshape,
    rsub,
    select,
    sigmoid,
    sign,
    sin,
    softmax,
    sqrt,
    square,
    squeeze,
    stack,
    sub,
    subtract,
    sum,
    swapaxes,
    t,
    tanh,
    transpose,
    true_divide,
    unsqueeze,
    view,
    where,
)

float = float32  # noqa: A001 - torch.float
int = int32  # noqa: A001 - torch.int
bool = bool_  # noqa: A001 - torch.bool
FloatTensor = Tensor


__version__ = "0.1.0"
__all__ = [
    "engine",
    "autograd",
    "derivatives",
    "differences",
    "factories",
    "functional",
    "nn",
    "ops",
    "optim",
]


def is_tensor(obj: object) -> bool:
    """True for engine tensors."""
    return isinstance(obj, Tensor)


def numel(input: Tensor) -> int:
    """Number of elements."""
    return input.numel()


def engine() -> object:
    """The Engine record for the harness (entry point ``reference``)."""
    import sys

    from gradspec.conformance.engine import Engine
    from gradspec.spec.capabilities import ALL_CAPABILITIES

    return Engine(
        name="reference",
        namespace=sys.modules[__name__],
        device="cpu",
        version=__version__,
        capabilities=ALL_CAPABILITIES,
        description="NumPy autograd engine with PyTorch's graph semantics (gradspec's own)",
    )
