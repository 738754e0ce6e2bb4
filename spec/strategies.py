"""Hypothesis strategies for the property-based claims (all of them, in one module).

The central one, :func:`graphs`, draws a random computation graph *as data*: a
list of leaves (values, requires_grad) and steps, each step one line of the
torch-compatible API (``n2 = torch.mul(x0, n1)``). Because a graph is data it can
be built on any engine (:meth:`Graph.build`) and printed as a runnable program
(:meth:`Graph.program`), which is what a failing property shows as its
counterexample. The executed lines and the printed ones come from the same
template, so the program is exactly what ran.

While drawing, every step is also evaluated in float64 NumPy. That shadow value
is how the generator keeps each op inside its domain (log and sqrt see positive
values, division sees values away from zero, relu and abs see values away from
their kink so finite differences are meaningful) and keeps magnitudes moderate;
it is never used as an oracle.

Narrow bugs hide in one op under one condition (the second operand alone requiring
grad, a broadcast operand, a negative operand, a 0-d tensor, an operand that is a
view or was modified in place, an operand used twice), so every graph starts with
a *focused* step: an op and a condition drawn first (:mod:`gradspec.spec.catalogue`
lists them), then operands built to meet it; the rest of the graph is drawn freely.
Each step records the (op, condition) pairs it exercises in :attr:`Graph.features`,
which the properties report as coverage.

The generator draws only what the running engine offers
(:func:`gradspec.spec.claims.offers`): ops by their ``op.*`` capability, ``no_grad``
points only with ``no_grad``, 0-d leaves only with ``tensor.0d``, in-place steps only
with ``in-place`` (``mul_`` with ``op.mul_``).
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import numpy as np
from hypothesis import strategies as st

from gradspec.spec.capabilities import ALL_CAPABILITIES
from gradspec.spec.claims import offers

# How saving a step's node behaves, as PyTorch does it: "never" nodes save no
# tensor (add, sum, reshape, cat ...), "scalar" nodes save only what an engine need
# not (a wrapped Python number in x * 2, x / 2; the view's geometry behind an
# in-place op on a view), and "tensor" nodes save an input or their result (x * y,
# exp, pow, matmul, mul_ by a tensor ...).
NEVER, SCALAR, TENSOR = "never", "scalar", "tensor"
VIEW_INPLACE = "view-inplace"
"""An add_ on a view: PyTorch's CopySlices node then makes a second backward raise; an
engine that rebases the view's graph without saving anything may allow it."""

VIEW_KINDS = frozenset({"reshape", "unsqueeze", "transpose", "squeeze", "slice", "expand"})
VIEWS = VIEW_KINDS | {"detach"}
"""Steps whose result shares its input's storage (so they are never in-place targets)."""
INPLACE_KINDS = frozenset({"add_", "mul_"})

# Steps whose result no node saves, so changing it in place (while nothing else has
# used it yet) leaves every backward legal: exp, sqrt, sigmoid, tanh and relu save
# their result in PyTorch, so they are not targets.
INPLACE_TARGETS = frozenset(
    {"add", "sub", "mul", "div", "neg", "log", "abs", "clamp", "sum", "mean"}
    | {"sum-dim", "mean-dim", "matmul", "cat", "stack"}
)

WEIGHTED, PLAIN = "weighted", "plain"

VALUE_LIMIT = 50.0  # steps whose shadow value leaves [-50, 50] are not drawn
KINK_MARGIN = 0.05  # relu / abs / clamp inputs stay this far from their kinks
DOMAIN_MARGIN = 0.2  # log, sqrt, fractional powers, denominators stay this far from 0

# The capability each step kind needs (besides "graph"); spec/capabilities.py names them.
_EXPAND = "op.expand" if "op.expand" in ALL_CAPABILITIES else "op.reshape"
OP_NEEDS: dict[str, tuple[str, ...]] = {
    "add": (),
    "mul": (),
    "pow": (),
    "pow-tensor": (),
    "detach": (),
    "sub": ("op.sub",),
    "div": ("op.div",),
    "matmul": ("op.matmul",),
    **{k: (f"op.{k}",) for k in ("neg", "exp", "log", "sqrt", "abs", "sigmoid", "tanh", "relu", "clamp")},
    "sum": ("op.sum",),
    "sum-dim": ("op.sum",),
    "mean": ("op.mean",),
    "mean-dim": ("op.mean",),
    "cat": ("op.cat",),
    "stack": ("op.stack",),
    "reshape": ("op.reshape",),
    "unsqueeze": ("op.unsqueeze",),
    "squeeze": ("op.squeeze",),
    "transpose": ("op.transpose",),
    "slice": ("op.index",),
    "expand": (_EXPAND,),
    "add_": ("in-place",),
    "mul_": ("in-place", "op.mul_"),
}


def offered(kind: str) -> bool:
    """Whether the running engine offers what a step of ``kind`` calls."""
    return all(offers(c) for c in OP_NEEDS.get(kind, ()))


@dataclass(frozen=True)
class Leaf:
    """A tensor the program creates with ``torch.tensor(values, ...)``."""

    name: str
    values: Any  # nested lists (or a float for a 0-d tensor)
    requires_grad: bool


@dataclass(frozen=True)
class Step:
    """One line ``name = expr``; ``expr`` names its inputs and spells the namespace ``{ns}``.

    An in-place step (``n5 = n4.mul_(2.0)``) binds a new name to its target's object;
    the target is never used again under its old name.
    """

    name: str
    expr: str
    inputs: tuple[str, ...]
    kind: str
    saves: str = NEVER
    no_grad: bool = False
    detach: bool = False


@dataclass
class Graph:
    """A computation graph as data: build it on an engine or print it as a program.

    ``outputs`` are the steps no later step uses; ``weights`` (one constant per
    output, of its shape) make the scalar ``loss = Σ (output · weight).sum()`` whose
    gradient is not simply all ones, so a rule that ignores its incoming gradient
    shows. ``rebound`` maps a tensor changed in place to the in-place step whose
    object it is now; ``rebased`` maps the base of a view changed in place to that
    in-place step (the base's gradient now flows through it).
    """

    leaves: tuple[Leaf, ...]
    steps: tuple[Step, ...]
    outputs: tuple[str, ...]
    weights: tuple[Any, ...]
    requires_grad: dict[str, bool] = field(repr=False)
    features: frozenset[str] = field(default=frozenset(), repr=False, compare=False)
    rebound: dict[str, str] = field(default_factory=dict, repr=False, compare=False)
    rebased: dict[str, str] = field(default_factory=dict, repr=False, compare=False)
    shapes: dict[str, tuple[int, ...]] = field(default_factory=dict, repr=False, compare=False)
    _compiled: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    # -- what the graph is ------------------------------------------------------
    @property
    def grad_leaves(self) -> list[str]:
        """Names of the leaves that require grad (the inputs of every gradient check)."""
        return [leaf.name for leaf in self.leaves if leaf.requires_grad]

    @property
    def last(self) -> str:
        return self.steps[-1].name

    @property
    def loss_requires_grad(self) -> bool:
        return any(self.requires_grad[o] for o in self.outputs)

    def final(self, name: str) -> str:
        """The step whose flags ``name``'s object has once the program ran (in-place rebinds it)."""
        while name in self.rebound:
            name = self.rebound[name]
        return name

    def is_leaf_at_end(self, name: str) -> bool:
        """Whether ``name``'s tensor is a leaf after the whole program ran."""
        end = self.final(name)
        return not self.requires_grad[end] or (end == name and name.startswith("x"))

    def leaf_grads_may_alias(self, loss: str | None = WEIGHTED) -> bool:
        """Whether PyTorch may give two leaves overlapping gradient memory (backpropagating with ``loss``).

        PyTorch 2.13's AccumulateGrad keeps ("steals") the gradient a leaf receives as
        its .grad when nothing else holds that tensor object and its strides fit the
        leaf's, even when it is a view of another tensor's storage. Two leaves handed
        different views of the same elements then share them, and a later backward
        adds into them twice (grad.stacked-0d-leaves-accumulate-separately checks that
        bug on its own): ``stack([x0, x1]).sum()`` of 0-d leaves (unbind of an expanded
        gradient), ``x0.sum() + x1.sum()``, ``x3.squeeze(0).sum() + x4.squeeze(0).sum()``
        of one-element leaves, ``stack([x0, x1]).sum(dim=0)`` of vectors. Whether a
        given graph shows it depends on reference counts, so properties that
        backpropagate a graph more than once do not draw such graphs: they would fail
        on PyTorch at random.

        A conservative model of where each leaf's gradient lives
        (:meth:`_gradient_sources`): True when two leaves requiring grad may receive
        different tensor objects over overlapping parts of one gradient's storage.
        ``loss`` is how the graph is backpropagated (:data:`WEIGHTED`, :data:`PLAIN`, or
        None: ``last.backward(gradient)``). tests/test_strategies.py checks on written
        and drawn graphs that it flags every graph where torch shares gradient memory.
        """
        sources = self._gradient_sources(loss)
        # A gradient expanded from one value (a sum's backward) has stride 0 in every
        # dimension; AccumulateGrad copies it for a leaf of more than one element.
        leaves = [
            sources[leaf.name][:3]
            for leaf in self.leaves
            if leaf.requires_grad and (np.size(leaf.values) == 1 or sources[leaf.name][3] != "full")
        ]
        for i, (storage, obj, region) in enumerate(leaves):
            for other_storage, other_obj, other_region in leaves[i + 1 :]:
                shorter = min(len(region), len(other_region))
                if (
                    storage == other_storage
                    and obj != other_obj
                    and region[:shorter] == other_region[:shorter]
                ):
                    return True
        return False

    def _gradient_sources(self, loss: str | None) -> dict[str, tuple[str, str, tuple[Any, ...], str]]:
        """For each tensor: the storage its gradient may live in, its object, and its part of it.

        A tensor that receives one gradient, from an op whose backward hands on the
        incoming gradient (:meth:`_hands_on`), lives in its consumer's storage: as
        the same object (add), as a new view of the same elements (reshape, the sum's
        expand), or as a slice of them (stack, cat: a part of its own, unless the
        gradient was expanded, whose slices overlap), with how far it is expanded
        (``"full"``: from one value by a sum, ``"partial"``: along a summed dim,
        ``""``: not). A tensor that receives several
        gradients (summed) or a computed one has storage of its own. The loss's
        gradient is ``"<seed>"``: PLAIN (Σ output.sum()) hands each output an expanded
        view of it, a gradient given to backward (``loss`` None) is handed on as
        itself, WEIGHTED's multiplication by a constant computes a new one.
        """
        outputs = [self.last] if loss is None else list(self.outputs)
        reached = {s.name for s in self.backward_steps(outputs)}
        seed = {PLAIN: "expand", None: "object"}.get(loss)
        edges: dict[str, list[tuple[str, str | None]]] = {}
        for out in outputs:
            if self.requires_grad[out]:
                edges.setdefault(out, []).append(("<seed>", seed))
        for step in self.steps:
            if step.name not in reached or step.no_grad or step.detach:
                continue
            for name in step.inputs:
                if not self.requires_grad[name]:
                    continue
                how = self._hands_on(step, name)
                for _ in re.findall(rf"\b{name}\b", step.expr):
                    edges.setdefault(name, []).append((step.name, how))
        # name -> (storage, object, region, expansion)
        Source = tuple[str, str, tuple[Any, ...], str]
        sources: dict[str, Source] = {"<seed>": ("<seed>", "<seed>", (), "")}
        rank = {"": 0, "partial": 1, "full": 2}

        def source(name: str) -> Source:
            if name not in sources:
                received = edges.get(name, [])
                if len(received) == 1 and received[0][1] is not None:
                    consumer, how = received[0]
                    storage, obj, region, expanded = source(consumer)
                    if how == "object":
                        sources[name] = (storage, obj, region, expanded)
                    elif how == "view":
                        sources[name] = (storage, name, region, expanded)
                    elif how in ("expand", "expand-dim"):
                        more = "full" if how == "expand" else "partial"
                        sources[name] = (storage, name, region, max(expanded, more, key=rank.__getitem__))
                    else:  # a slice: its own part, unless the gradient was expanded
                        part = region if expanded else (*region, (consumer, name))
                        sources[name] = (storage, name, part, expanded)
                else:
                    sources[name] = (name, name, (), "")
            return sources[name]

        for step in reversed(self.steps):  # consumers first, so the recursion stays shallow
            source(step.name)
        return {name: source(name) for name in [*(leaf.name for leaf in self.leaves), *sources]}

    def _hands_on(self, step: Step, name: str) -> str | None:
        """How ``step``'s backward hands input ``name`` the incoming gradient.

        ``"object"``: the tensor itself (add, add_, sub's first operand, of the
        result's shape); ``"view"``: a view of its elements (reshape, unsqueeze,
        squeeze, transpose); ``"expand"``, ``"expand-dim"``: an expanded view (sum,
        sum over a dim); ``"slice"``: a
        view of a part (stack, cat); None: a new tensor (every other op; expand's
        backward is a sum, slice's a copy into zeros, mean's a division).
        """
        same_shape = not self.shapes or self.shapes.get(name) == self.shapes.get(step.name)
        if step.kind in ("sum", "sum-dim"):
            return "expand" if step.kind == "sum" else "expand-dim"
        if step.kind in ("stack", "cat"):
            return "slice"
        if step.kind in ("reshape", "unsqueeze", "squeeze", "transpose"):
            return "view"
        if step.kind == "add_" and step.name in self.rebased.values():
            return None  # CopySlices copies the gradient first
        if step.kind in ("add", "add_"):
            return "object" if same_shape else None
        if step.kind == "sub":
            first = re.match(r"(?:\{ns\}\.sub\()?([xn]\d+)\b", step.expr)
            return "object" if same_shape and first is not None and first.group(1) == name else None
        return None

    def cuts(self) -> list[str]:
        """Steps whose value is a constant to the graph (detach, or computed under no_grad)."""
        return [s.name for s in self.steps if s.detach or s.no_grad]

    def kinds(self) -> list[str]:
        return [s.kind for s in self.steps]

    def backward_steps(self, outputs: Iterable[str] | None = None) -> list[Step]:
        """The recorded steps a backward from ``outputs`` (default: all) passes through."""
        by_name = {s.name: s for s in self.steps}
        seen: set[str] = set()
        todo = [o for o in (self.outputs if outputs is None else outputs) if self.requires_grad[o]]
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            if name in self.rebased:
                todo.append(self.rebased[name])
            if name in by_name:
                todo += [i for i in by_name[name].inputs if self.requires_grad[i]]
        return [s for s in self.steps if s.name in seen]

    def reached_leaves(self, outputs: Iterable[str] | None = None) -> list[str]:
        """Leaves requiring grad that a backward from ``outputs`` (default: all) reaches."""
        reached = {i for s in self.backward_steps(outputs) for i in s.inputs}
        if outputs is not None:
            reached |= set(outputs)
        return [name for name in self.grad_leaves if name in reached]

    def saved_by_backward(self, outputs: Iterable[str] | None = None) -> set[str]:
        """Kinds of saving (NEVER / SCALAR / TENSOR) among the steps a backward passes."""
        return {s.saves for s in self.backward_steps(outputs)}

    def coverage(self, dtype: str) -> set[str]:
        """The (op, condition) pairs this graph exercises when run in ``dtype``."""
        return {*self.features, *(f"{kind}|{dtype}" for kind in {f.split("|")[0] for f in self.features})}

    # -- printing and building --------------------------------------------------
    def _lines(self, ns: str, dtype: str, inline: bool, frozen: bool, loss: str | None) -> list[str]:
        def data(key: str, value: Any) -> str:
            return repr(value) if inline else f"__data__[{key!r}]"

        lines = []
        for leaf in self.leaves:
            grad = ", requires_grad=True" if leaf.requires_grad else ""
            lines.append(
                f"{leaf.name} = {ns}.tensor({data(leaf.name, leaf.values)}, dtype={ns}.{dtype}{grad})"
            )
        for step in self.steps:
            expr = step.expr.format(ns=ns)
            if frozen and (step.detach or step.no_grad):
                lines.append(f"{step.name} = {ns}.tensor(__frozen__[{step.name!r}], dtype={ns}.{dtype})")
            elif step.no_grad:
                lines += [f"with {ns}.no_grad():", f"    {step.name} = {expr}"]
            else:
                lines.append(f"{step.name} = {expr}")
        if loss == WEIGHTED:
            terms = []
            for i, (out, weight) in enumerate(zip(self.outputs, self.weights, strict=True)):
                lines.append(f"c{i} = {ns}.tensor({data(f'c{i}', weight)}, dtype={ns}.{dtype})")
                terms.append(f"({out} * c{i}).sum()")
            lines.append("loss = " + " + ".join(terms))
        elif loss == PLAIN:
            lines.append("loss = " + " + ".join(f"{out}.sum()" for out in self.outputs))
        return lines

    def program(
        self, dtype: str = "float64", *, loss: str | None = WEIGHTED, tail: Iterable[str] = ()
    ) -> str:
        """The graph as a runnable program in the torch-compatible API, plus ``tail`` lines."""
        lines = ["import torch", "", *self._lines("torch", dtype, inline=True, frozen=False, loss=loss)]
        return "\n".join([*lines, *tail]) + "\n"

    def build(
        self,
        T: Any,
        dtype: str = "float64",
        *,
        leaf_values: dict[str, Any] | None = None,
        frozen: dict[str, Any] | None = None,
        loss: str | None = WEIGHTED,
    ) -> dict[str, Any]:
        """Run the program on engine ``T``; return every name it binds.

        ``loss`` is :data:`WEIGHTED` (Σ (output · constant).sum()), :data:`PLAIN`
        (Σ output.sum(), which adds no saving node) or None (no loss line).

        ``leaf_values`` replaces some leaves' values (finite differences perturb
        them); ``frozen`` gives the values of the cut steps, which are then
        created as constants instead of computed, so that a perturbed forward
        treats what detach and no_grad cut as the constants they are.
        """
        key = (dtype, frozen is not None, loss)
        code = self._compiled.get(key)
        if code is None:
            source = "\n".join(self._lines("T", dtype, inline=False, frozen=frozen is not None, loss=loss))
            code = self._compiled[key] = compile(source, "<gradspec graph>", "exec")
        data: dict[str, Any] = {leaf.name: leaf.values for leaf in self.leaves}
        data.update({f"c{i}": w for i, w in enumerate(self.weights)})
        if leaf_values:
            data.update(leaf_values)
        env: dict[str, Any] = {"T": T, "__data__": data, "__frozen__": frozen or {}}
        exec(code, env)  # noqa: S102 - the code is the graph's own program, built above
        return env

    def __repr__(self) -> str:
        # Hypothesis prints the falsifying example with repr: make it the program.
        return "Graph(\n" + self.program() + ")"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        # Hypothesis's pretty-printer spells dataclasses field by field; the program reads better.
        printer.text(repr(self))


# -- choices: hypothesis draws them, or a seeded generator (for top-up examples) -------

_T = TypeVar("_T")
_ANY, _POSITIVE, _NONZERO, _NEGATIVE = "any", "positive", "nonzero", "negative"


def _element(domain: str) -> st.SearchStrategy[float]:
    """One leaf element, with two decimals so printed programs stay short."""
    if domain == _POSITIVE:
        return st.integers(20, 200).map(lambda i: i / 100)
    if domain == _NEGATIVE:
        return st.integers(20, 200).map(lambda i: -i / 100)
    if domain == _NONZERO:
        return st.tuples(st.integers(20, 200), st.booleans()).map(lambda t: (-t[0] if t[1] else t[0]) / 100)
    return st.integers(-200, 200).map(lambda i: i / 100)


class Choices:
    """Where the drawer's choices come from: hypothesis's ``draw`` (shrinkable)."""

    def __init__(self, draw: Callable[[st.SearchStrategy[Any]], Any]) -> None:
        self.draw = draw

    def choice(self, options: Sequence[_T]) -> _T:
        return self.draw(st.sampled_from(list(options)))

    def integer(self, lo: int, hi: int) -> int:
        return self.draw(st.integers(lo, hi))

    def elements(self, domain: str, n: int) -> list[float]:
        return self.draw(st.lists(_element(domain), min_size=n, max_size=n))


class SeededChoices(Choices):
    """The same choices from a seeded generator: a deterministic graph without hypothesis."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def choice(self, options: Sequence[_T]) -> _T:
        return self.rng.choice(list(options))

    def integer(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)

    def elements(self, domain: str, n: int) -> list[float]:
        def one() -> float:
            if domain == _POSITIVE:
                return self.rng.randint(20, 200) / 100
            if domain == _NEGATIVE:
                return -self.rng.randint(20, 200) / 100
            if domain == _NONZERO:
                return self.rng.choice([-1, 1]) * self.rng.randint(20, 200) / 100
            return self.rng.randint(-200, 200) / 100

        return [one() for _ in range(n)]


shapes = st.lists(st.integers(1, 3), min_size=0, max_size=2).map(tuple)
"""Leaf shapes: 0-d, vectors and matrices with sides 1 to 3."""


def _finite(v: np.ndarray) -> bool:
    return bool(np.all(np.isfinite(v)) and np.all(np.abs(v) <= VALUE_LIMIT))


def _nonzero(v: np.ndarray) -> bool:
    return bool(np.all(np.abs(v) >= DOMAIN_MARGIN))


def _positive(v: np.ndarray) -> bool:
    return bool(np.all(v >= DOMAIN_MARGIN))


def _broadcasts(a: np.ndarray, b: np.ndarray) -> bool:
    try:
        np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        return False
    return True


def _sigmoid(v: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-v))


def _away_from(points: Iterable[float]) -> Callable[[np.ndarray], bool]:
    marks = list(points)
    return lambda v: all(bool(np.all(np.abs(v - p) >= KINK_MARGIN)) for p in marks)


_BINARY = {
    # kind: (function form, operator form, numpy)
    "add": ("{ns}.add({a}, {b})", "{a} + {b}", np.add),
    "sub": ("{ns}.sub({a}, {b})", "{a} - {b}", np.subtract),
    "mul": ("{ns}.mul({a}, {b})", "{a} * {b}", np.multiply),
    "div": ("{ns}.div({a}, {b})", "{a} / {b}", np.divide),
    "pow": ("{ns}.pow({a}, {b})", "{a} ** {b}", np.power),
}

_UNARY: dict[
    str, tuple[tuple[str, ...], Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], bool], str]
] = {
    # kind: (spellings, numpy, domain of the input, saving)
    "neg": (("{ns}.neg({a})", "-{a}"), np.negative, lambda v: True, NEVER),
    "exp": (("{ns}.exp({a})", "{a}.exp()"), np.exp, lambda v: bool(np.all(v <= 3.0)), TENSOR),
    "log": (("{ns}.log({a})", "{a}.log()"), np.log, _positive, TENSOR),
    "sqrt": (("{ns}.sqrt({a})", "{a}.sqrt()"), np.sqrt, _positive, TENSOR),
    "abs": (("{ns}.abs({a})", "{a}.abs()"), np.abs, _away_from([0.0]), TENSOR),
    "sigmoid": (("{ns}.sigmoid({a})", "{a}.sigmoid()"), _sigmoid, lambda v: True, TENSOR),
    "tanh": (("{ns}.tanh({a})", "{a}.tanh()"), np.tanh, lambda v: True, TENSOR),
    "relu": (("{ns}.relu({a})", "{a}.relu()"), lambda v: np.maximum(v, 0.0), _away_from([0.0]), TENSOR),
    "clamp": (
        ("{ns}.clamp({a}, min=-0.5, max=1.0)", "{a}.clamp(-0.5, 1.0)"),
        lambda v: np.clip(v, -0.5, 1.0),
        _away_from([-0.5, 1.0]),
        TENSOR,
    ),
}
POSITIVE_ONLY = frozenset({"log", "sqrt"})
SCALARS = (2.0, 0.5, -1.5, 3.0)
INTEGER_EXPONENTS = (2, 3, -1, 2.0)
FRACTIONAL_EXPONENTS = (0.5, 1.5, -0.5, 2.5)


class _Drawer:
    """The state of one graph being drawn: leaves, steps, their shadow values and uses."""

    def __init__(
        self,
        choices: Choices,
        max_leaves: int,
        no_grad: bool,
        linear: bool = False,
        zero_exponents: bool = True,
    ) -> None:
        self.c = choices
        self.max_leaves = max_leaves
        self.allow_no_grad = no_grad and offers("no_grad")
        self.linear = linear  # only nodes that save nothing (add, sub, add_ ...)
        self.zero_exponents = zero_exponents  # see GraphSpace.zero_exponents
        self.zero_d = offers("tensor.0d")
        self.leaves: list[Leaf] = []
        self.steps: list[Step] = []
        self.value: dict[str, np.ndarray] = {}
        self.grad: dict[str, bool] = {}
        self.kind_of: dict[str, str] = {}
        self.uses: Counter[str] = Counter()
        self.consumed: set[str] = set()
        self.view_of: dict[str, str] = {}
        self.features: set[str] = set()
        self.rebound: dict[str, str] = {}
        self.rebased: dict[str, str] = {}

    # choices ------------------------------------------------------------------------
    def choice(self, options: Sequence[_T]) -> _T:
        return self.c.choice(options)

    def integer(self, lo: int, hi: int) -> int:
        return self.c.integer(lo, hi)

    def flag(self) -> bool:
        return self.c.choice((True, False))

    def shape(self, *, min_dims: int = 0, max_dims: int = 2, lo: int = 1, hi: int = 3) -> tuple[int, ...]:
        dims = self.integer(max(min_dims, 0 if self.zero_d else 1), max(max_dims, min_dims))
        return tuple(self.integer(lo, hi) for _ in range(dims))

    # pool ------------------------------------------------------------------------
    def names(self) -> list[str]:
        # Most recent first, so shrinking (towards the first choice) favours deep chains.
        pool = [*reversed([s.name for s in self.steps]), *reversed([leaf.name for leaf in self.leaves])]
        return [n for n in pool if n not in self.consumed]

    def pick(self, ok: Callable[[np.ndarray], bool] = lambda v: True) -> str | None:
        candidates = [n for n in self.names() if ok(self.value[n])]
        return self.choice(candidates) if candidates else None

    def room(self, leaves: int = 1) -> bool:
        return len(self.leaves) + leaves <= self.max_leaves

    def operand(
        self, ok: Callable[[np.ndarray], bool], shape: tuple[int, ...] | None, domain: str
    ) -> str | None:
        """An existing tensor satisfying ``ok``, or a new leaf (of ``shape``, in ``domain``)."""
        existing = self.pick(ok)
        if existing is not None and (not self.room() or self.flag()):
            return existing
        if not self.room():
            return None
        name = self.new_leaf(shape, domain)
        # The supply keeps the domain's sign; the op may need more (clamp: away from its bounds).
        return name if ok(self.value[name]) else None

    def new_leaf(
        self, shape: tuple[int, ...] | None = None, domain: str = _ANY, requires_grad: bool | None = None
    ) -> str:
        if shape is None:
            shape = self.shape()
        if not shape and not self.zero_d:
            shape = (1,)  # a partner of a 0-d result, on an engine without 0-d leaves
        size = int(np.prod(shape)) if shape else 1
        array = np.array(self.c.elements(domain, size), dtype=np.float64).reshape(shape)
        if requires_grad is None:
            requires_grad = self.flag()
        name = f"x{len(self.leaves)}"
        self.leaves.append(Leaf(name, array.tolist(), requires_grad))
        self.value[name] = array
        self.grad[name] = requires_grad
        return name

    # steps -----------------------------------------------------------------------
    def add(
        self,
        expr: str,
        inputs: tuple[str, ...],
        kind: str,
        saves: str,
        value: np.ndarray,
        *,
        detach: bool = False,
        args: tuple[Any, ...] | None = None,
        grad: bool | None = None,
    ) -> str | None:
        """Append a step if its shadow value is finite and moderate; return its name.

        ``args`` are the op's operands in order (names, or Python numbers): what the
        step's coverage features are read from.
        """
        value = np.asarray(value, dtype=np.float64)
        if not _finite(value):
            return None
        # Views made under no_grad keep requires_grad in PyTorch (a documented quirk
        # of view tracking), so no_grad points are drawn only on ops that copy.
        no_grad = (
            self.allow_no_grad
            and kind not in VIEWS
            and kind not in INPLACE_KINDS
            and not detach
            and self.integer(0, 9) == 0
        )
        name = f"n{len(self.steps) + 1}"
        self.features |= self._conditions(kind, args if args is not None else inputs, value)
        self.steps.append(Step(name, expr, inputs, kind, saves, no_grad=no_grad, detach=detach))
        self.value[name] = value
        self.kind_of[name] = kind
        rg = any(self.grad[i] for i in inputs) if grad is None else grad
        self.grad[name] = rg and not (no_grad or detach)
        self.uses.update(inputs)
        return name

    def _conditions(self, kind: str, args: tuple[Any, ...], value: np.ndarray) -> set[str]:
        """The (op, condition) pairs a step of ``kind`` over ``args`` exercises."""
        kind = "matmul" if kind == "matmul-square" else kind
        if kind == "pow" and all(isinstance(a, str) for a in args[:2]) and len(args) == 2:
            kind = "pow-tensor"  # a tensor exponent: another derivative rule (PowBackward1)
        if kind in INPLACE_KINDS:
            return {f"{kind}|{c}" for c in ("any", *(a for a in args if isinstance(a, str) and ":" in a))}
        names = [a for a in args if isinstance(a, str)]
        found = {"any"}
        if kind in ("add", "sub", "mul", "div", "pow", "pow-tensor", "matmul", "cat", "stack"):
            first, second = (args[0], args[1]) if len(args) >= 2 else (args[0], args[0])
            if isinstance(first, str) and isinstance(second, str):
                rg1, rg2 = self.grad[first], self.grad[second]
                found |= {"grad:both"} if rg1 and rg2 else {"grad:first"} if rg1 else set()
                found |= {"grad:second"} if rg2 and not rg1 else set()
            else:
                found.add("scalar")
            if kind not in ("cat", "stack"):
                for pos, a in (("first", first), ("second", second)):
                    if isinstance(a, str):
                        if self.value[a].shape != value.shape and kind != "matmul":
                            found.add(f"broadcast:{pos}")
                        if np.any(self.value[a] < 0):
                            found.add(f"negative:{pos}")
                if kind == "pow" and isinstance(first, str) and not isinstance(second, str):
                    if np.any(self.value[first] < 0) and float(second).is_integer():
                        # The base's sign survives an odd power and is lost in an even one.
                        found.add("negative:even-power" if int(second) % 2 == 0 else "negative:odd-power")
        elif any(np.any(self.value[a] < 0) for a in names):
            found.add("negative")
        # 0-d counts as reached when every tensor operand of a binary op requires grad, so
        # each operand's rule runs on 0-d tensors (a rule wrong only for a 0-d second
        # operand survived a seed whose 0-d subs all had a constant second operand).
        binary = kind in ("add", "sub", "mul", "div", "pow-tensor", "matmul", "stack")
        if any(self.value[a].ndim == 0 for a in names) and (not binary or all(self.grad[a] for a in names)):
            found.add("0-d")
        if any(self.kind_of.get(a) in VIEW_KINDS for a in names):
            found.add("view")
        if any(self.kind_of.get(a) in INPLACE_KINDS for a in names):
            found.add("in-place")
        if any(self.uses[a] > 0 for a in names) or len(names) > len(set(names)):
            found.add("fan-out")
        if kind == "cat" and len(names) >= 3 and len({self.value[a].shape for a in names}) > 1:
            found.add("uneven")  # a part's offset is not a multiple of the first part's size
        return {f"{kind}|{c}" for c in found}

    # emitters: one step of a kind over given operands ------------------------------------
    def binary(self, kind: str, left: Any, right: Any) -> str | None:
        function, operator, fn = _BINARY[kind]
        if not isinstance(left, str) and kind != "pow":
            form = operator  # a scalar on the left: 2.0 * x
        else:
            form = self.choice([function, operator])
        inputs = tuple(dict.fromkeys(a for a in (left, right) if isinstance(a, str)))
        vl = self.value[left] if isinstance(left, str) else left
        vr = self.value[right] if isinstance(right, str) else right
        if kind in ("mul", "div", "pow"):
            tensors = [a for a in (left, right) if isinstance(a, str)]
            saves = (
                TENSOR
                if len(tensors) == 2 or kind == "pow" or (kind == "div" and tensors == [right])
                else SCALAR
            )
        else:
            saves = NEVER
        expr = form.format(
            ns="{ns}",
            a=left if isinstance(left, str) else repr(left),
            b=right if isinstance(right, str) else repr(right),
        )
        if kind == "pow" and not self.zero_exponents and self._masked_exponent(left, right):
            return None
        with np.errstate(all="ignore"):
            value = fn(vl, vr)
        return self.add(expr, inputs, kind, saves, value, args=(left, right))

    def _masked_exponent(self, base: Any, exponent: Any) -> bool:
        """Whether ``base ** exponent`` is a point where PyTorch's second derivative is not the mathematics'.

        PyTorch's pow_backward masks d(x**y)/dx to 0 wherever the tensor exponent is
        exactly 0, and the mask has no derivative, so d/dy of that gradient is 0 there
        instead of 1/x (docs/findings.md; the example claim
        grad.pow-mixed-second-derivative-at-zero-exponent pins it). It matters only
        when both operands require grad; a measure-zero point, so second-derivative
        properties simply do not draw it.
        """
        if not (isinstance(base, str) and isinstance(exponent, str)):
            return False
        return self.grad[base] and self.grad[exponent] and bool(np.any(self.value[exponent] == 0))

    def unary(self, kind: str, a: str) -> str | None:
        spellings, fn, _, saves = _UNARY[kind]
        expr = self.choice(spellings).format(ns="{ns}", a=a)
        with np.errstate(all="ignore"):
            return self.add(expr, (a,), kind, saves, fn(self.value[a]))

    def reduction(self, kind: str, a: str) -> str | None:
        fn = np.sum if kind.startswith("sum") else np.mean
        base = kind.split("-")[0]
        va = self.value[a]
        if kind in ("sum", "mean"):
            return self.add(f"{a}.{base}()", (a,), kind, NEVER, fn(va))
        dim = self.integer(-va.ndim, va.ndim - 1)
        keepdim = self.flag()
        extra = ", keepdim=True" if keepdim else ""
        expr = self.choice([f"{a}.{base}(dim={dim}{extra})", f"{{ns}}.{base}({a}, {dim}{extra})"])
        return self.add(expr, (a,), kind, NEVER, fn(va, axis=dim, keepdims=keepdim))

    def matmul(self, a: str, b: str) -> str | None:
        expr = self.choice(["{ns}.matmul({a}, {b})", "{a} @ {b}"]).format(ns="{ns}", a=a, b=b)
        va, vb = self.value[a], self.value[b]
        kind = "matmul-square" if va.shape[0] == va.shape[1] == vb.shape[1] else "matmul"
        return self.add(expr, tuple(dict.fromkeys((a, b))), kind, TENSOR, va @ vb, args=(a, b))

    def cat(self, parts: list[str], dim: int) -> str | None:
        value = np.concatenate([self.value[p] for p in parts], axis=dim)
        inputs = tuple(dict.fromkeys(parts))
        return self.add(
            f"{{ns}}.cat([{', '.join(parts)}], dim={dim})", inputs, "cat", NEVER, value, args=tuple(parts)
        )

    def stack(self, a: str, b: str, dim: int) -> str | None:
        value = np.stack([self.value[a], self.value[b]], axis=dim)
        inputs = tuple(dict.fromkeys((a, b)))
        return self.add(f"{{ns}}.stack([{a}, {b}], dim={dim})", inputs, "stack", NEVER, value, args=(a, b))

    def view_options(self, va: np.ndarray) -> list[str]:
        options = [k for k in ("reshape", "unsqueeze", "expand") if offered(k)]
        if va.ndim == 2 and offered("transpose"):
            options.append("transpose")
        if 1 in va.shape and offered("squeeze"):
            options.append("squeeze")
        if va.ndim >= 1 and va.shape[0] >= 2 and offered("slice"):
            options.append("slice")
        return options

    def view(self, how: str, a: str, *, to: tuple[int, ...] | None = None) -> str | None:
        """A view step of kind ``how`` over ``a`` (reshape, expand and unsqueeze to shape ``to`` if given)."""
        va = self.value[a]
        if to is not None and how == "reshape":
            expr, value = f"{a}.reshape{to!r}" if len(to) > 1 else f"{a}.reshape({to[0]})", va.reshape(to)
        elif to is not None and how == "expand":
            expr, value = (
                f"{a}.expand{to!r}" if len(to) > 1 else f"{a}.expand({to[0]})",
                np.broadcast_to(va, to),
            )
        elif to is not None and how == "unsqueeze":
            dim = next(i for i in range(len(to)) if to[:i] + to[i + 1 :] == va.shape and to[i] == 1)
            expr, value = f"{a}.unsqueeze({dim})", np.expand_dims(va, dim)
        elif how == "reshape":
            shape = self.choice([(-1,), (1, -1), (-1, 1)])
            value = va.reshape(shape)
            expr = f"{a}.reshape{shape!r}" if len(shape) > 1 else f"{a}.reshape(-1)"
        elif how == "unsqueeze":
            dim = self.integer(0, va.ndim)
            expr, value = f"{a}.unsqueeze({dim})", np.expand_dims(va, dim)
        elif how == "transpose":
            expr = self.choice([f"{a}.transpose(0, 1)", f"{a}.t()"])
            value = va.T
        elif how == "squeeze":
            dim = va.shape.index(1)
            expr, value = f"{a}.squeeze({dim})", np.squeeze(va, axis=dim)
        elif how == "expand":
            if 1 in va.shape:
                i = va.shape.index(1)
                target = (*va.shape[:i], self.integer(2, 3), *va.shape[i + 1 :])
            else:
                target = (self.integer(2, 3), *va.shape)
            expr = f"{a}.expand{target!r}" if len(target) > 1 else f"{a}.expand({target[0]})"
            value = np.broadcast_to(va, target)
        else:
            expr, value = f"{a}[1:]", va[1:]
        name = self.add(expr, (a,), how, NEVER, value)
        if name is not None:
            self.view_of[name] = a
        return name

    def inplace(self, kind: str, target: str, operand: Any) -> str | None:
        """``target.add_(operand)`` / ``target.mul_(operand)``; ``target`` is a fresh tensor no node saved."""
        self._uncut(target)
        if self.view_of.get(target) is not None:
            self._uncut(self.view_of[target])
            self.grad[target] = self.grad[self.view_of[target]]
        vt = self.value[target]
        vo = self.value[operand] if isinstance(operand, str) else operand
        value = vt * vo if kind == "mul_" else vt + vo
        if np.shape(value) != vt.shape:
            return None
        base = self.view_of.get(target)
        where = "view" if base is not None else "leaf" if target.startswith("x") else "non-leaf"
        tensor = isinstance(operand, str)
        saves = TENSOR if kind == "mul_" and tensor else SCALAR if kind == "mul_" else NEVER
        if base is not None and saves == NEVER:
            saves = VIEW_INPLACE  # PyTorch's CopySlices node keeps the view's geometry
        base_value = None
        if base is not None:
            base_value = self._through_view(target, base, np.asarray(value))
            if not _finite(base_value):
                return None
        expr = f"{target}.{kind}({operand if tensor else repr(operand)})"
        inputs = (target, operand) if tensor and operand != target else (target,)
        args = (f"target:{where}", f"operand:{'tensor' if tensor else 'scalar'}")
        name = self.add(
            expr,
            inputs,
            kind,
            saves,
            value,
            args=args,
            grad=self.grad[target] or (tensor and self.grad[operand]),
        )
        if name is None:
            return None
        self.consumed.add(target)
        self.rebound[target] = name
        if base is not None:
            self.value[base] = base_value
            self.view_of[name] = base
            self.rebased[base] = name
        return name

    def _uncut(self, target: str) -> None:
        """Record ``target`` in grad mode after all: a no_grad target would be frozen, then changed twice.

        Only a step nothing has used yet is a target, so changing how it was recorded
        changes nothing drawn after it.
        """
        for i, step in enumerate(self.steps):
            if step.name == target and step.no_grad:
                self.steps[i] = replace(step, no_grad=False)
                self.grad[target] = any(self.grad[n] for n in step.inputs)

    def _through_view(self, view: str, base: str, new: np.ndarray) -> np.ndarray:
        """The base's values after its view ``view`` was overwritten with ``new``."""
        kind, vb = self.kind_of[view], self.value[base].copy()
        if kind == "slice":
            vb[1:] = new
            return vb
        if kind == "transpose":
            return new.T.copy()
        return new.reshape(vb.shape).copy()

    def inplace_targets(self) -> list[str]:
        """Tensors an in-place op may change: nothing has used them, and no node saved them.

        A leaf that does not require grad; a non-leaf from an op that saves no result;
        or a view of such a non-leaf that only this view has used (never an expand:
        several elements would share one memory location).
        """
        out = []
        cuts = {s.name for s in self.steps if s.no_grad or s.detach}
        for n in self.names():
            if self.uses[n] or n in cuts:
                continue
            kind = self.kind_of.get(n)
            if kind is None:
                ok = not self.grad[n]
            elif kind in VIEW_KINDS - {"expand"} and not self.linear:
                base = self.view_of[n]
                ok = (
                    self.kind_of.get(base) in INPLACE_TARGETS
                    and self.grad[base]
                    and self.uses[base] == 1
                    and base not in cuts
                    and base not in self.rebased
                )
            else:
                ok = kind in INPLACE_TARGETS and self.grad[n] and n not in self.view_of
            if ok:
                out.append(n)
        return out


# -- the makers: each draws one step of some family, or returns False ------------------


def _broadcast_partner(d: _Drawer, shape: tuple[int, ...]) -> tuple[int, ...]:
    """A shape that broadcasts against ``shape``: dims dropped from the front, some set to 1."""
    keep = d.integer(0 if d.zero_d else min(1, len(shape)), len(shape))
    partner = list(shape[len(shape) - keep :])
    for i in range(len(partner)):
        if d.integer(0, 2) == 0:
            partner[i] = 1
    if keep == len(shape) and len(partner) < 3 and d.integer(0, 4) == 0:
        partner.insert(0, d.integer(1, 2))  # the partner may be the bigger one
    return tuple(partner)


def _binary_kinds(d: _Drawer, kinds: Iterable[str]) -> list[str]:
    return [k for k in kinds if offered(k)]


def make_binary(d: _Drawer, kinds: tuple[str, ...] = ("add", "sub", "mul", "div")) -> bool:
    options = _binary_kinds(d, kinds)
    if not options:
        return False
    kind = d.choice(options)
    needs_nonzero = kind == "div"
    a = d.pick()
    assert a is not None
    va = d.value[a]
    how = d.choice(["tensor", "same", "scalar-right", "scalar-left"] if not d.linear else ["tensor", "same"])
    if how == "same":  # fan-out into one op: x * x, x + x, x / x
        if needs_nonzero and not _nonzero(va):
            return False
        return d.binary(kind, a, a) is not None
    if how.startswith("scalar"):
        c = d.choice(SCALARS)
        if how == "scalar-right":
            return d.binary(kind, a, c) is not None
        if needs_nonzero and not _nonzero(va):
            return False
        return d.binary(kind, c, a) is not None
    ok: Callable[[np.ndarray], bool] = (
        (lambda v: _broadcasts(va, v) and _nonzero(v)) if needs_nonzero else (lambda v: _broadcasts(va, v))
    )
    b = d.operand(ok, _broadcast_partner(d, va.shape), _NONZERO if needs_nonzero else _ANY)
    if b is None:
        return False
    left, right = (a, b) if d.flag() or needs_nonzero else (b, a)
    return d.binary(kind, left, right) is not None


def _linear_binary(d: _Drawer) -> bool:
    """add or sub only: nodes that save nothing, for the reusable-graph property."""
    return make_binary(d, ("add", "sub"))


def make_unary(d: _Drawer) -> bool:
    options = [k for k in sorted(_UNARY) if offered(k)]
    if not options:
        return False
    kind = d.choice(options)
    _, _, domain, _ = _UNARY[kind]
    a = d.operand(domain, None, _POSITIVE if kind in POSITIVE_ONLY else _NONZERO)
    if a is None:
        return False
    return d.unary(kind, a) is not None


def _pow_exponent(d: _Drawer) -> tuple[float, Callable[[np.ndarray], bool], str]:
    k = d.choice([*INTEGER_EXPONENTS, *FRACTIONAL_EXPONENTS])
    integral = float(k).is_integer()
    if integral and k > 0:
        return k, (lambda v: True), _ANY
    if integral:
        return k, _nonzero, _NONZERO
    return k, _positive, _POSITIVE


def make_pow(d: _Drawer) -> bool:
    """Scalar exponents (integer for any base, fractional for positive bases), or a tensor exponent."""
    if d.integer(0, 3) == 0 and d.room():
        base = d.operand(_positive, None, _POSITIVE)
        if base is None:
            return False
        exponent = d.operand(
            lambda v: _broadcasts(d.value[base], v), _broadcast_partner(d, d.value[base].shape), _ANY
        )
        return exponent is not None and d.binary("pow", base, exponent) is not None
    k, domain, supply = _pow_exponent(d)
    a = d.operand(domain, None, supply)
    return a is not None and d.binary("pow", a, k) is not None


def make_reduction(d: _Drawer) -> bool:
    options = [k for k in ("sum", "mean") if offered(k)]
    if not options:
        return False
    kind = d.choice(options)
    a = d.pick()
    assert a is not None
    if d.value[a].ndim > 0 and d.integer(0, 3) != 0:
        kind += "-dim"
    return d.reduction(kind, a) is not None


def make_matmul(d: _Drawer) -> bool:
    if not offered("matmul"):
        return False
    a = d.pick(lambda v: v.ndim == 2)
    if a is None:
        if not d.room():
            return False
        a = d.new_leaf((d.integer(1, 3), d.integer(1, 3)))
    k = d.value[a].shape[1]
    b = d.operand(lambda v: v.ndim == 2 and v.shape[0] == k, (k, d.integer(1, 3)), _ANY)
    return b is not None and d.matmul(a, b) is not None


def _cat_fits(va: np.ndarray, dim: int) -> Callable[[np.ndarray], bool]:
    return lambda v: (
        v.ndim == va.ndim and v.shape[:dim] == va.shape[:dim] and v.shape[dim + 1 :] == va.shape[dim + 1 :]
    )


def make_cat(d: _Drawer) -> bool:
    if not offered("cat"):
        return False
    a = d.pick(lambda v: v.ndim >= 1)
    if a is None:
        return False
    va = d.value[a]
    dim = d.integer(0, va.ndim - 1)
    shape = va.shape[:dim] + (d.integer(1, 3),) + va.shape[dim + 1 :]
    b = d.operand(_cat_fits(va, dim), shape, _ANY)
    if b is None:
        return False
    parts = [a, b] if d.flag() else [a, b, a]  # a twice: fan-out inside one op
    return d.cat(parts, dim) is not None


def make_stack(d: _Drawer) -> bool:
    if not offered("stack"):
        return False
    a = d.pick()
    assert a is not None
    va = d.value[a]
    b = d.operand(lambda v: v.shape == va.shape, va.shape, _ANY)
    return b is not None and d.stack(a, b, d.integer(0, va.ndim)) is not None


def make_shape(d: _Drawer) -> bool:
    a = d.pick()
    assert a is not None
    options = d.view_options(d.value[a])
    return bool(options) and d.view(d.choice(options), a) is not None


def make_detach(d: _Drawer) -> bool:
    a = d.pick()
    assert a is not None
    return d.add(f"{a}.detach()", (a,), "detach", NEVER, d.value[a], detach=True) is not None


def make_inplace(d: _Drawer) -> bool:
    """An in-place op on a tensor nothing has used yet: a leaf without grad, a non-leaf, a view."""
    kinds = [k for k in (("add_",) if d.linear else ("add_", "mul_")) if offered(k)]
    targets = d.inplace_targets()
    if not kinds or not targets:
        return False
    kind, target = d.choice(kinds), d.choice(targets)
    if d.flag():
        return d.inplace(kind, target, d.choice((2.0, 0.5, -1.5) if kind == "mul_" else SCALARS)) is not None
    vt = d.value[target]
    operand = d.operand(
        lambda v: _broadcasts(vt, v) and np.broadcast_shapes(vt.shape, v.shape) == vt.shape,
        _broadcast_partner(d, vt.shape),
        _ANY,
    )
    if operand is None or operand == target:
        return False
    if np.broadcast_shapes(vt.shape, d.value[operand].shape) != vt.shape:
        return False
    return d.inplace(kind, target, operand) is not None


MAKERS: dict[str, Callable[[_Drawer], bool]] = {
    "binary": make_binary,
    "unary": make_unary,
    "pow": make_pow,
    "reduction": make_reduction,
    "matmul": make_matmul,
    "cat": make_cat,
    "stack": make_stack,
    "shape": make_shape,
    "detach": make_detach,
    "inplace": make_inplace,
    "binary-linear": _linear_binary,
}

WEIGHTS = {"binary": 4, "unary": 5, "pow": 3, "reduction": 3, "binary-linear": 3, "inplace": 2}
"""How often each family is drawn relative to the others (default 1)."""

ALL_FAMILIES = ("binary", "unary", "pow", "reduction", "matmul", "cat", "stack", "shape", "detach", "inplace")
LINEAR_MAKERS = ("binary-linear", "reduction", "cat", "stack", "shape")
"""Families whose nodes save no tensor (with binary restricted to add and sub)."""

FAMILY_KINDS: dict[str, tuple[str, ...]] = {
    "binary": ("add", "sub", "mul", "div"),
    "binary-linear": ("add", "sub"),
    "unary": tuple(sorted(_UNARY)),
    "pow": ("pow", "pow-tensor"),
    "reduction": ("sum", "mean", "sum-dim", "mean-dim"),
    "matmul": ("matmul",),
    "cat": ("cat",),
    "stack": ("stack",),
    "shape": tuple(sorted(VIEW_KINDS)),
    "detach": ("detach",),
    "inplace": ("add_", "mul_"),
}
"""The step kinds each family draws (what coverage is counted over)."""


def finish(d: _Drawer, draw_weights: Callable[[np.ndarray], Any]) -> Graph:
    """Close a drawn graph: outputs are the steps nothing used, each with a loss weight."""
    if not d.steps:
        d.binary("mul", "x0", 2.0)
    used = {i for s in d.steps for i in s.inputs}
    outputs = tuple(s.name for s in d.steps if s.name not in used and s.name not in d.consumed)
    weights = tuple(draw_weights(d.value[o]) for o in outputs)
    return Graph(
        tuple(d.leaves),
        tuple(d.steps),
        outputs,
        weights,
        dict(d.grad),
        features=frozenset(d.features),
        rebound=dict(d.rebound),
        rebased=dict(d.rebased),
        shapes={name: tuple(v.shape) for name, v in d.value.items()},
    )


def grow(d: _Drawer, families: Sequence[str], n_steps: int) -> None:
    """Draw steps from ``families`` until the graph has ``n_steps`` (or attempts run out)."""
    menu = sorted(name for name in families for _ in range(WEIGHTS.get(name, 1)))
    attempts = 0
    while len(d.steps) < n_steps and attempts < 4 * n_steps:
        attempts += 1
        MAKERS[d.choice(menu)](d)


@dataclass(frozen=True)
class GraphSpace:
    """What a property's graphs may contain: families of steps, size, cuts, dtypes.

    One value describes both the random draw (:func:`graphs`) and the catalogue of
    (op, condition) pairs the property can express (:mod:`gradspec.spec.catalogue`).
    """

    families: tuple[str, ...] = ALL_FAMILIES
    max_steps: int = 6
    max_leaves: int = 4
    no_grad: bool = True
    dtypes: tuple[str, ...] = ("float64",)
    also: tuple[GraphSpace, ...] = ()  # further spaces drawn as alternatives (one_of)
    zero_exponents: bool = True
    """Whether a tensor exponent may hold an exact 0 where base and exponent both require
    grad. Second-derivative properties say False: there PyTorch's mixed second derivative
    of x ** y is 0 rather than 1/x (see :meth:`_Drawer._masked_exponent`)."""

    @property
    def linear(self) -> bool:
        return "binary" not in self.families and "binary-linear" in self.families

    def drawable(self) -> list[str]:
        """The families the running engine can draw from."""
        return [f for f in self.families if any(offered(k) for k in FAMILY_KINDS[f])]


def _weights_from(choices: Choices) -> Callable[[np.ndarray], Any]:
    return lambda v: np.array(choices.elements(_ANY, v.size)).reshape(v.shape).tolist()


@st.composite
def graphs(
    draw: Callable[[st.SearchStrategy[Any]], Any],
    space: GraphSpace | None = None,
    *,
    max_steps: int = 6,
    max_leaves: int = 4,
    no_grad: bool = True,
    detach: bool = True,
    families: tuple[str, ...] | None = None,
) -> Graph:
    """A random computation graph whose first leaf requires grad.

    ``space`` (or the keyword arguments, for a quick one) says what it may contain;
    its first step is focused on an (op, condition) pair drawn from the catalogue.
    """
    from gradspec.spec.catalogue import focus_step, graph_catalogue

    if space is None:
        chosen = families or tuple(k for k in ALL_FAMILIES if detach or k != "detach")
        space = GraphSpace(chosen, max_steps, max_leaves, no_grad)
    choices = Choices(draw)
    # The focused step brings up to three leaves of its own; the free steps keep their room.
    d = _Drawer(
        choices, space.max_leaves + 2, space.no_grad, linear=space.linear, zero_exponents=space.zero_exponents
    )
    d.new_leaf(requires_grad=True)
    pairs = sorted(p for p in graph_catalogue(space, dtypes=False))
    if pairs:
        focus_step(d, draw(st.sampled_from(pairs)))
    grow(d, space.drawable(), draw(st.integers(2, space.max_steps)))
    return finish(d, _weights_from(choices))


def seeded_graph(space: GraphSpace, foci: Sequence[str], seed: int) -> Graph:
    """A graph built without hypothesis: one focused step per pair of ``foci``, then a few free steps."""
    from gradspec.spec.catalogue import focus_step

    choices = SeededChoices(seed)
    d = _Drawer(
        choices,
        space.max_leaves + 3 * len(foci),
        space.no_grad,
        linear=space.linear,
        zero_exponents=space.zero_exponents,
    )
    d.new_leaf(requires_grad=True)
    for pair in foci:
        focus_step(d, pair)
    grow(d, space.drawable(), len(d.steps))
    return finish(d, _weights_from(choices))


@st.composite
def dtypes(
    draw: Callable[[st.SearchStrategy[Any]], Any], allowed: tuple[str, ...] = ("float64", "float32")
) -> str:
    """A floating dtype the running engine offers (float64 only with ``dtype.float64``)."""
    options = [d for d in allowed if d != "float64" or offers("dtype.float64")]
    return draw(st.sampled_from(options or ["float32"]))


def arrays_like(shape: tuple[int, ...]) -> st.SearchStrategy[np.ndarray]:
    """A float64 array of ``shape`` with two-decimal elements in [-2, 2]."""
    size = int(np.prod(shape)) if shape else 1
    return st.lists(_element(_ANY), min_size=size, max_size=size).map(
        lambda flat: np.array(flat).reshape(shape)
    )


def seeded_array(seed: int, shape: tuple[int, ...]) -> np.ndarray:
    """A two-decimal array of ``shape`` in [-2, 2] from ``seed`` (gradients to backpropagate)."""
    size = int(np.prod(shape)) if shape else 1
    return np.array(SeededChoices(seed).elements(_ANY, size)).reshape(shape)


# -- training problems -------------------------------------------------------------

SGD_VARIANTS: dict[str, dict[str, Any]] = {
    "plain": {},
    "momentum": {"momentum": 0.9},
    "dampening": {"momentum": 0.5, "dampening": 0.3},
    "nesterov": {"momentum": 0.9, "nesterov": True},
    "weight_decay": {"weight_decay": 0.1},
    "everything": {"momentum": 0.8, "weight_decay": 0.05, "nesterov": True},
}
LOSSES = ("BCELoss", "MSELoss", "CrossEntropyLoss")
LOSS_NEEDS = {"BCELoss": "nn", "MSELoss": "nn.mse", "CrossEntropyLoss": "nn.cross_entropy"}


def offered_variants() -> list[str]:
    """The SGD variants whose every option the running engine offers (optim.sgd.<option>)."""
    return [v for v, opts in sorted(SGD_VARIANTS.items()) if all(offers(f"optim.sgd.{o}") for o in opts)]


def offered_losses() -> list[str]:
    return [loss for loss in LOSSES if offers(LOSS_NEEDS[loss])]


@dataclass(frozen=True)
class TrainingProblem:
    """A small supervised problem, a Linear model's initial weights, a loss and an SGD setup."""

    loss: str
    x: list[list[float]]
    y: list[Any]  # 0/1 floats (BCE), floats (MSE, one column per output), class indices (CE)
    weight: list[list[float]]
    bias: list[float]
    lr: float
    sgd: dict[str, Any]
    steps: int
    dtype: str
    variant: str = "plain"

    @property
    def head(self) -> str:
        """How the model's output meets the loss: BCE needs probabilities of shape (n,)."""
        return "model(x).squeeze(1)" if self.loss == "BCELoss" else "model(x)"

    def coverage(self) -> set[str]:
        """The (loss, SGD variant) and (loss, dtype) pairs this problem exercises."""
        return {f"{self.loss}|{self.variant}", f"{self.loss}|{self.dtype}"}

    def sgd_arguments(self) -> str:
        return ", ".join([f"lr={self.lr!r}", *(f"{k}={v!r}" for k, v in self.sgd.items())])

    def program(self) -> str:
        """The training run as a torch program printing the trajectory it is compared on."""
        out, features = len(self.weight), len(self.weight[0])
        layers = f"torch.nn.Linear({features}, {out})" + (
            ", torch.nn.Sigmoid()" if self.loss == "BCELoss" else ""
        )
        target_dtype = "" if self.loss == "CrossEntropyLoss" else f", dtype=torch.{self.dtype}"
        lines = [
            "import torch",
            "",
            f"x = torch.tensor({self.x!r}, dtype=torch.{self.dtype})",
            f"y = torch.tensor({self.y!r}{target_dtype})",
            f"model = torch.nn.Sequential({layers})",
            "with torch.no_grad():",
            f"    model[0].weight.copy_(torch.tensor({self.weight!r}))",
            f"    model[0].bias.copy_(torch.tensor({self.bias!r}))",
            f"loss_fn = torch.nn.{self.loss}()",
            f"optimizer = torch.optim.SGD(model.parameters(), {self.sgd_arguments()})",
            f"for step in range({self.steps}):",
            f"    loss = loss_fn({self.head}, y)",
            "    loss.backward()",
            "    optimizer.step()",
            "    optimizer.zero_grad()",
            "    print(step, loss.item(), model[0].weight.tolist(), model[0].bias.tolist())",
        ]
        return "\n".join(lines) + "\n"


def make_problem(c: Choices, loss: str | None = None, variant: str | None = None) -> TrainingProblem:
    """A few samples, a Linear layer, one of the offered losses and one offered SGD variant."""
    loss = loss or c.choice(offered_losses())
    n = c.integer(2, 5)
    features = c.integer(1, 3)
    out = {"BCELoss": 1, "MSELoss": c.integer(1, 2), "CrossEntropyLoss": c.integer(2, 3)}[loss]

    def matrix(rows: int, cols: int) -> list[list[float]]:
        return np.array(c.elements(_ANY, rows * cols)).reshape(rows, cols).tolist()

    x = matrix(n, features)
    if loss == "BCELoss":
        y: list[Any] = [float(c.integer(0, 1)) for _ in range(n)]
    elif loss == "MSELoss":
        y = matrix(n, out)
    else:
        y = [c.integer(0, out - 1) for _ in range(n)]
    variant = variant or c.choice(offered_variants())
    return TrainingProblem(
        loss=loss,
        x=x,
        y=y,
        weight=[[v / 4 for v in row] for row in matrix(out, features)],
        bias=[v / 4 for v in c.elements(_ANY, out)],
        lr=c.choice([0.05, 0.1, 0.5]),
        sgd=dict(SGD_VARIANTS[variant]),
        steps=c.integer(2, 5),
        # float32 only: the parameters of nn modules are float32, as in the note.
        dtype="float32",
        variant=variant,
    )


@st.composite
def training_problems(draw: Callable[[st.SearchStrategy[Any]], Any]) -> TrainingProblem:
    """A training problem drawn by hypothesis (loss and variant among those the engine offers)."""
    return make_problem(Choices(draw))
