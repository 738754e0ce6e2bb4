"""The (op, condition) catalogue: what the random graphs can exercise, and how to reach each pair.

Narrow bugs live in one op under one condition: the gradient of the second operand
only, a broadcast operand, a negative operand, a 0-d tensor, an operand that is a
view or was changed in place, an operand used twice, one dtype. :data:`CONDITIONS`
lists, per step kind, the conditions a step of that kind can meet; a property's
catalogue (:func:`graph_catalogue`) is that table restricted to the families its
:class:`~gradspec.spec.strategies.GraphSpace` draws and to what the running engine
offers, plus each kind in each dtype the property runs in. Pairs are spelled
``"<kind>|<condition>"`` (``"div|grad:second"``, ``"mul_|target:view"``,
``"exp|float32"``); ``"<kind>|any"`` is the kind reached at all.

:func:`focus_step` builds one step meeting a pair, drawing everything else; the
graph strategy starts every graph with one, and :class:`GraphCoverage` builds
seeded graphs for the pairs a property's random examples did not reach, so a ci
run reaches the whole catalogue (``tests/test_coverage.py`` holds it to that).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradspec.spec.claims import offers
from gradspec.spec.strategies import (
    _ANY,
    _BINARY,
    _NEGATIVE,
    _NONZERO,
    _POSITIVE,
    _UNARY,
    FAMILY_KINDS,
    INTEGER_EXPONENTS,
    POSITIVE_ONLY,
    SCALARS,
    VIEW_KINDS,
    GraphSpace,
    SeededChoices,
    _cat_fits,
    _Drawer,
    make_problem,
    offered,
    offered_losses,
    offered_variants,
    seeded_graph,
)

GRAD = ("grad:first", "grad:second", "grad:both")
OPERAND = ("view", "in-place", "fan-out")
ELEMENTWISE = (
    *GRAD,
    "scalar",
    "broadcast:first",
    "broadcast:second",
    "negative:first",
    "negative:second",
    "0-d",
    *OPERAND,
)
SINGLE = ("negative", "0-d", *OPERAND)

CONDITIONS: dict[str, tuple[str, ...]] = {
    **{kind: ("any", *ELEMENTWISE) for kind in _BINARY},
    "pow": ("any", "scalar", "negative:first", "negative:even-power", "negative:odd-power", "0-d", *OPERAND),
    "pow-tensor": ("any", *GRAD, "broadcast:first", "broadcast:second", "negative:second", "0-d", *OPERAND),
    "matmul": ("any", *GRAD, "negative:first", "negative:second", *OPERAND),
    **{
        kind: ("any", *(c for c in SINGLE if c != "negative" or kind not in POSITIVE_ONLY)) for kind in _UNARY
    },
    "sum": ("any", *SINGLE),
    "mean": ("any", *SINGLE),
    "sum-dim": ("any", "negative", *OPERAND),
    "mean-dim": ("any", "negative", *OPERAND),
    # uneven: three or more parts, not all of one size along dim, so a part's offset is
    # not a multiple of the first part's size (a backward that assumes equal parts slices
    # the wrong rows; with two parts the second offset is always the first size).
    "cat": ("any", *GRAD, *OPERAND, "uneven"),
    "stack": ("any", *GRAD, "0-d", *OPERAND),
    "reshape": ("any", "0-d", "view", "in-place"),
    "unsqueeze": ("any", "0-d", "view", "in-place"),
    "expand": ("any", "0-d", "view", "in-place"),
    "transpose": ("any", "view", "in-place"),
    "squeeze": ("any", "view", "in-place"),
    "slice": ("any", "view", "in-place"),
    "detach": ("any",),
    "add_": ("any", "target:leaf", "target:non-leaf", "target:view", "operand:scalar", "operand:tensor"),
    "mul_": ("any", "target:leaf", "target:non-leaf", "target:view", "operand:scalar", "operand:tensor"),
}
"""Per step kind, the conditions a step of that kind can meet."""

DTYPES = ("float64", "float32")


def _possible(kind: str, condition: str, space: GraphSpace) -> bool:
    """Whether ``space`` on the running engine can meet ``condition`` for ``kind``."""
    if condition == "0-d" and not offers("tensor.0d"):
        return False
    if condition == "in-place" and (space.linear or not offered("mul_")):
        return False
    if condition == "target:view" and space.linear:
        return False
    if condition == "view" and not any(offered(k) for k in VIEW_KINDS):
        return False
    if condition == "fan-out" and kind in VIEW_KINDS:
        return False
    return True


def graph_catalogue(space: GraphSpace, *, dtypes: bool = True) -> set[str]:
    """Every (op, condition) pair graphs of ``space`` can exercise on the running engine."""
    pairs: set[str] = set()
    for sub in (space, *space.also):
        kinds = {k for f in sub.drawable() for k in FAMILY_KINDS[f] if offered(k)}
        if sub.linear:
            kinds -= {"mul_"}
        pairs |= {f"{k}|{c}" for k in kinds for c in CONDITIONS[k] if _possible(k, c, sub)}
        if dtypes:
            pairs |= {
                f"{k}|{d}" for k in kinds for d in sub.dtypes if d != "float64" or offers("dtype.float64")
            }
    return pairs


# -- building a step that meets a pair ---------------------------------------------------


def _strict_partner(d: _Drawer, shape: tuple[int, ...]) -> tuple[int, ...]:
    """A shape that broadcasts to ``shape`` (whose sides are at least 2) and differs from it."""
    if len(shape) == 2 and d.flag():
        return shape[1:]
    partner = list(shape)
    partner[d.integer(0, len(partner) - 1)] = 1
    return tuple(partner)


def _fresh(
    d: _Drawer, shape: tuple[int, ...], domain: str, rg: bool, how: str | None, *, view: str | None = None
) -> str | None:
    """A tensor of ``shape`` in ``domain``: a new leaf, or made a view, changed in place, or used twice.

    ``view`` names the view kind to prefer (where it fits ``shape``).
    """
    if how == "view":
        return _as_view(d, shape, domain, rg, prefer=view)
    if how == "in-place":
        return _as_inplace(d, shape, domain, rg)
    name = d.new_leaf(shape, domain, rg)
    if how == "fan-out":  # a second use, so the gradient arrives from two paths
        d.binary("add" if d.linear else "mul", name, 0.5)
    return name


def _as_view(
    d: _Drawer, shape: tuple[int, ...], domain: str, rg: bool, prefer: str | None = None
) -> str | None:
    """A view of ``shape``: of a new leaf whose shape the view turns into ``shape``."""
    options: list[tuple[str, tuple[int, ...], tuple[int, ...] | None]] = []
    if not shape:
        if offered("squeeze"):
            options.append(("squeeze", (1,), None))
    else:
        if offered("slice"):
            options.append(("slice", (shape[0] + 1, *shape[1:]), None))
        if len(shape) == 2 and offered("transpose"):
            options.append(("transpose", shape[::-1], None))
        if len(shape) < 3 and offered("squeeze"):
            options.append(("squeeze", (1, *shape), None))
        if offered("reshape") and int(np.prod(shape)) > 1:
            options.append(("reshape", (int(np.prod(shape)),) if len(shape) > 1 else (1, shape[0]), shape))
        if offered("expand") and max(shape) > 1:
            i = next(j for j, s in enumerate(shape) if s > 1)
            options.append(("expand", (*shape[:i], 1, *shape[i + 1 :]), shape))
        if offered("unsqueeze") and 1 in shape:
            i = shape.index(1)
            options.append(("unsqueeze", (*shape[:i], *shape[i + 1 :]), shape))
    if not options:
        return None
    preferred = [o for o in options if o[0] == prefer]
    how, source, to = d.choice(preferred or options)
    return d.view(how, d.new_leaf(source, domain, rg), to=to)


def _as_inplace(d: _Drawer, shape: tuple[int, ...], domain: str, rg: bool) -> str | None:
    """A tensor of ``shape`` just changed in place by a positive factor (so ``domain`` holds)."""
    if not rg:
        target = d.new_leaf(shape, domain, False)  # a leaf without grad may change in place
    else:
        leaf = d.new_leaf(shape, domain, True)
        target = d.binary("mul", leaf, 1.5)
        if target is None:
            return None
    factor = d.choice((0.5, 2.0))
    if offered("mul_"):
        return d.inplace("mul_", target, factor)
    if domain in (_ANY, _POSITIVE) and offered("add_"):
        return d.inplace("add_", target, 0.5)
    return None


def _grad_pattern(d: _Drawer, condition: str) -> tuple[bool, bool]:
    """Which operands of a focused step require grad.

    Under an operand condition (0-d, broadcast, negative, a view, ...) both do, so the
    step exercises every derivative rule of the op under it: a rule wrong only for the
    second operand of a 0-d sub survived a seed whose 0-d top-up left that operand
    without grad. The grad:* conditions say which operands require grad themselves.
    """
    patterns = {"grad:first": (True, False), "grad:second": (False, True), "grad:both": (True, True)}
    return patterns.get(condition, (True, True))


def _operand_hows(d: _Drawer, condition: str) -> list[str | None]:
    hows: list[str | None] = [None, None]
    if condition in OPERAND:
        hows[d.integer(0, 1)] = condition
    return hows


def _elementwise(d: _Drawer, kind: str, condition: str, *, tensor_exponent: bool = False) -> str | None:
    rg = _grad_pattern(d, condition)
    hows = _operand_hows(d, condition)
    if condition == "0-d":
        shapes: tuple[tuple[int, ...], tuple[int, ...]] = ((), ())
    else:
        out = d.shape(min_dims=1, lo=2, hi=2)
        shapes = (out, out)
        if condition == "broadcast:first":
            shapes = (_strict_partner(d, out), out)
        elif condition == "broadcast:second":
            shapes = (out, _strict_partner(d, out))
    domains = [_POSITIVE, _ANY] if kind == "pow" else [_ANY, _NONZERO if kind == "div" else _ANY]
    if condition == "negative:second":
        domains[1] = _NEGATIVE
    if kind == "pow" and not tensor_exponent:  # pow-tensor draws a tensor exponent
        # A negative base needs an integer exponent.
        negative = condition.startswith("negative")
        how = condition if condition in OPERAND else None
        base = _fresh(d, shapes[0], _NEGATIVE if negative else _POSITIVE, True, how)
        if base is None:
            return None
        if negative:  # an even and an odd power: a rule that drops the base's sign fails one
            d.binary("pow", base, d.choice((3, -1)))
            return d.binary("pow", base, d.choice((2, 2.0)))
        return d.binary("pow", base, d.choice((*INTEGER_EXPONENTS, 0.5, 1.5)))
    if condition == "negative:first":
        domains[0] = _NEGATIVE
    if condition == "scalar":
        c = d.choice(SCALARS)
        side = d.integer(0, 1)
        tensor = _fresh(d, shapes[0], _NONZERO if kind == "div" and side == 1 else _ANY, True, None)
        return d.binary(kind, tensor, c) if side == 0 else d.binary(kind, c, tensor)
    left = _fresh(d, shapes[0], domains[0], rg[0], hows[0])
    right = _fresh(d, shapes[1], domains[1], rg[1], hows[1])
    if left is None or right is None:
        return None
    return d.binary(kind, left, right)


def _matmul(d: _Drawer, condition: str) -> str | None:
    rg = _grad_pattern(d, condition)
    # Both operands views: each input's gradient reads the other operand, so a rule
    # that mishandles a view shows whichever input it differentiates.
    hows = ["view", "view"] if condition == "view" else _operand_hows(d, condition)
    n, k, m = d.integer(1, 3), d.integer(1, 3), d.integer(1, 3)
    if condition == "any":  # square operands, where a transposed derivative still fits
        k = m = n
    domains = [
        _NEGATIVE if condition == "negative:first" else _ANY,
        _NEGATIVE if condition == "negative:second" else _ANY,
    ]
    # A transposed operand reads its memory out of order: the view a matrix product meets most.
    a = _fresh(d, (n, k), domains[0], rg[0], hows[0], view="transpose")
    b = _fresh(d, (k, m), domains[1], rg[1], hows[1], view="transpose")
    return None if a is None or b is None else d.matmul(a, b)


def _single(d: _Drawer, condition: str, *, min_dims: int, domain: str) -> str | None:
    shape = () if condition == "0-d" else d.shape(min_dims=max(min_dims, 1))
    if condition == "negative":
        domain = _NEGATIVE
    return _fresh(d, shape, domain, True, condition if condition in OPERAND else None)


def _unary(d: _Drawer, kind: str, condition: str) -> str | None:
    a = _single(d, condition, min_dims=0, domain=_POSITIVE if kind in POSITIVE_ONLY else _NONZERO)
    if a is None or not _UNARY[kind][2](d.value[a]):
        return None
    return d.unary(kind, a)


def _reduction(d: _Drawer, kind: str, condition: str) -> str | None:
    a = _single(d, condition, min_dims=1 if kind.endswith("-dim") else 0, domain=_ANY)
    return None if a is None else d.reduction(kind, a)


def _join(d: _Drawer, kind: str, condition: str) -> str | None:
    rg = _grad_pattern(d, condition)
    hows = _operand_hows(d, "view" if condition == "view" else "in-place" if condition == "in-place" else "")
    if kind == "stack":
        shape = () if condition == "0-d" else d.shape(min_dims=1)
        a = _fresh(d, shape, _ANY, rg[0], hows[0])
        b = _fresh(d, shape, _ANY, rg[1], hows[1])
        if a is None or b is None:
            return None
        if condition == "fan-out":
            d.binary("add", a, 0.5)
        return d.stack(a, b, d.integer(0, len(shape)))
    shape = d.shape(min_dims=1)
    dim = d.integer(0, len(shape) - 1)
    size = shape[dim] + 1 if condition == "uneven" else d.integer(1, 3)
    a = _fresh(d, shape, _ANY, rg[0], hows[0])
    b = _fresh(d, shape[:dim] + (size,) + shape[dim + 1 :], _ANY, rg[1], hows[1])
    if a is None or b is None or not _cat_fits(d.value[a], dim)(d.value[b]):
        return None
    if condition == "uneven":
        c = _fresh(d, shape, _ANY, d.choice([True, False]), None)
        return None if c is None else d.cat([a, b, c], dim)
    return d.cat([a, b, a] if condition == "fan-out" else [a, b], dim)


def _view(d: _Drawer, kind: str, condition: str) -> str | None:
    if condition == "0-d":
        shape: tuple[int, ...] = ()
    elif kind == "transpose":
        shape = (d.integer(1, 3), d.integer(1, 3))
    elif kind == "squeeze":
        shape = d.choice([(1,), (1, d.integer(1, 3)), (d.integer(1, 3), 1)])
    elif kind == "slice":
        shape = (d.integer(2, 3), *d.shape(max_dims=1))
    else:
        shape = d.shape(min_dims=1)
    a = _fresh(d, shape, _ANY, True, condition if condition in ("view", "in-place") else None)
    return None if a is None else d.view(kind, a)


def _inplace(d: _Drawer, kind: str, condition: str) -> str | None:
    where = (
        condition.split(":")[1] if condition.startswith("target:") else d.choice(["leaf", "non-leaf", "view"])
    )
    if where == "view" and d.linear:
        where = "non-leaf"
    shape = d.shape(min_dims=1, lo=2, hi=2) if where == "view" else d.shape()
    if where == "leaf":
        target: str | None = d.new_leaf(shape, _ANY, False)
    else:
        leaf = d.new_leaf(shape, _ANY, True)
        base = d.binary("add", leaf, d.choice(SCALARS))
        target = base
        if where == "view" and base is not None:
            options = [k for k in d.view_options(d.value[base]) if k != "expand"]
            target = d.view(d.choice(options), base) if options else None
    if target is None:
        return None
    tensor = condition == "operand:tensor" or (condition != "operand:scalar" and d.flag())
    if not tensor:
        return d.inplace(kind, target, d.choice((2.0, 0.5, -1.5)))
    vt = d.value[target]
    operand = d.new_leaf(
        vt.shape if d.flag() or not vt.ndim else (1,) * vt.ndim, _ANY, d.choice((True, True, False))
    )
    return d.inplace(kind, target, operand)


def focus_step(d: _Drawer, pair: str) -> bool:
    """Append steps ending in one of ``pair``'s kind under its condition; False if the draw missed."""
    kind, condition = pair.split("|")
    if kind in _BINARY:
        made = _elementwise(d, kind, condition)
    elif kind == "pow-tensor":
        made = _elementwise(d, "pow", condition, tensor_exponent=True)
    elif kind == "matmul":
        made = _matmul(d, condition)
    elif kind in _UNARY:
        made = _unary(d, kind, condition)
    elif kind in ("sum", "mean", "sum-dim", "mean-dim"):
        made = _reduction(d, kind, condition)
    elif kind in ("cat", "stack"):
        made = _join(d, kind, condition)
    elif kind in VIEW_KINDS:
        made = _view(d, kind, condition)
    elif kind in ("add_", "mul_"):
        made = _inplace(d, kind, condition)
    else:  # detach a result that also reaches the loss, so the graph still requires grad
        leaf = d.new_leaf(d.shape(), _ANY, True)
        kept = d.binary("mul", leaf, 2.0)
        made = None
        if kept is not None:
            made = d.add(f"{kept}.detach()", (kept,), "detach", "never", d.value[kept], detach=True)
            d.binary("add", kept, 1.0)
    return made is not None


# -- topping up what random examples missed ----------------------------------------------


@dataclass(frozen=True)
class GraphCoverage:
    """A property's coverage over graphs of ``space``: its catalogue, and top-up examples.

    ``dtype_arg`` names the property's dtype parameter (None when it runs in float64
    only); ``extras`` are the values its other parameters take in top-up examples;
    ``companion`` is a pair every top-up graph also gets (a step the property assumes,
    such as one that saves a tensor).
    """

    space: GraphSpace
    dtype_arg: str | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    seeds: int = 24
    chunk: int = 6
    companion: str | None = None  # a pair added to every top-up graph (one the property assumes)

    def unsupported(self) -> str | None:
        """Why the running engine can run none of this property's examples (None if it can)."""
        if not offers("op.sum"):
            return "the loss of every graph is a sum (op.sum), which the engine does not offer"
        if self.dtype_arg is None and not offers("dtype.float64"):
            return "this property compares in float64 (dtype.float64), which the engine does not offer"
        if not self.space.drawable():
            return "the engine offers none of the ops this property's graphs are made of"
        return None

    def catalogue(self) -> set[str]:
        pairs = graph_catalogue(self.space)
        if self.dtype_arg is None:
            pairs = {p for p in pairs if not p.endswith("|float32")}
        return pairs

    def top_up(self, missing: set[str]) -> Iterator[tuple[dict[str, Any], set[str]]]:
        """Keyword arguments of examples aimed at ``missing``, each with the missing pairs it reaches.

        Pairs are taken a few at a time (one focused step each, in one graph). Every
        seeded graph that reaches one of them is offered, up to ``seeds`` per chunk:
        the caller runs those that reach a pair still unreached and stops pulling once
        none is, so a graph the property rejects is made up for by the next seed.
        """
        default = "float64" if offers("dtype.float64") else "float32"
        todo = sorted(missing)
        for start in range(0, len(todo), self.chunk):
            chunk = todo[start : start + self.chunk]
            by_dtype: dict[str, list[str]] = {}
            for pair in chunk:
                kind, condition = pair.split("|")
                if condition in DTYPES:
                    by_dtype.setdefault(condition, []).append(f"{kind}|any")
                else:
                    by_dtype.setdefault(default, []).append(pair)
            for dtype, foci in by_dtype.items():
                aim = {p for p in chunk if p.split("|")[1] == dtype or p in foci}
                for seed in range(self.seeds):
                    extra = [self.companion] if self.companion else []
                    graph = seeded_graph(self.space, [*foci, *extra], 1000 * start + seed)
                    if hit := graph.coverage(dtype) & aim:
                        kwargs = {"graph": graph, **self.extras}
                        if self.dtype_arg:
                            kwargs[self.dtype_arg] = dtype
                        yield kwargs, hit


@dataclass(frozen=True)
class TrainingCoverage:
    """The training property's coverage: every offered loss with every offered SGD variant."""

    seeds: int = 1

    def unsupported(self) -> str | None:
        if not offered_losses():
            return "the engine offers none of the losses (BCELoss, nn.mse, nn.cross_entropy)"
        return None

    def catalogue(self) -> set[str]:
        losses = offered_losses()
        return {f"{loss}|{v}" for loss in losses for v in offered_variants()} | {
            f"{loss}|float32" for loss in losses
        }

    def top_up(self, missing: set[str]) -> Iterator[tuple[dict[str, Any], set[str]]]:
        for i, pair in enumerate(sorted(missing)):
            loss, variant = pair.split("|")
            variant = None if variant == "float32" else variant
            yield {"problem": make_problem(SeededChoices(i), loss, variant)}, {pair}
