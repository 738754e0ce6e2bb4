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

Coverage the generator aims at: fan-out (one tensor used by several steps, and
``x * x``), shared subexpressions, broadcasting (size-1 and missing dims on
either side), reductions along dims (keepdim or not, negative dims), matmul of
square and non-square shapes, cat of unequal sizes and stack, detach and
``no_grad`` points, leaves with and without requires_grad, Python constants on
either side of an op, integer and fractional exponents.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import strategies as st

# How saving a step's node behaves, as PyTorch does it: "never" nodes save no
# tensor (add, sum, reshape, cat ...), "scalar" nodes save only a wrapped Python
# number (x * 2, x / 2: PyTorch saves it as a tensor, an engine need not), and
# "tensor" nodes save an input or their result (x * y, exp, pow, matmul ...).
NEVER, SCALAR, TENSOR = "never", "scalar", "tensor"

VIEWS = frozenset({"reshape", "unsqueeze", "transpose", "squeeze", "slice", "detach"})

WEIGHTED, PLAIN = "weighted", "plain"

VALUE_LIMIT = 50.0  # steps whose shadow value leaves [-50, 50] are not drawn
KINK_MARGIN = 0.05  # relu / abs / clamp inputs stay this far from their kinks
DOMAIN_MARGIN = 0.2  # log, sqrt, fractional powers, denominators stay this far from 0


@dataclass(frozen=True)
class Leaf:
    """A tensor the program creates with ``torch.tensor(values, ...)``."""

    name: str
    values: Any  # nested lists (or a float for a 0-d tensor)
    requires_grad: bool


@dataclass(frozen=True)
class Step:
    """One line ``name = expr``; ``expr`` names its inputs and spells the namespace ``{ns}``."""

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
    shows.
    """

    leaves: tuple[Leaf, ...]
    steps: tuple[Step, ...]
    outputs: tuple[str, ...]
    weights: tuple[Any, ...]
    requires_grad: dict[str, bool] = field(repr=False)
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
            if name in seen or name not in by_name:
                continue
            seen.add(name)
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


# -- drawing values and shapes ---------------------------------------------------

_ANY, _POSITIVE, _NONZERO = "any", "positive", "nonzero"


def _element(domain: str) -> st.SearchStrategy[float]:
    """One leaf element, with two decimals so printed programs stay short."""
    if domain == _POSITIVE:
        return st.integers(20, 200).map(lambda i: i / 100)
    if domain == _NONZERO:
        return st.tuples(st.integers(20, 200), st.booleans()).map(lambda t: (-t[0] if t[1] else t[0]) / 100)
    return st.integers(-200, 200).map(lambda i: i / 100)


shapes = st.lists(st.integers(1, 3), min_size=0, max_size=2).map(tuple)
"""Leaf shapes: 0-d, vectors and matrices with sides 1 to 3."""


def _finite(v: np.ndarray) -> bool:
    return bool(np.all(np.isfinite(v)) and np.all(np.abs(v) <= VALUE_LIMIT))


class _Drawer:
    """The state of one graph being drawn: leaves, steps and their shadow values."""

    def __init__(self, draw: Callable[[st.SearchStrategy[Any]], Any], max_leaves: int, no_grad: bool) -> None:
        self.draw = draw
        self.max_leaves = max_leaves
        self.allow_no_grad = no_grad
        self.leaves: list[Leaf] = []
        self.steps: list[Step] = []
        self.value: dict[str, np.ndarray] = {}
        self.grad: dict[str, bool] = {}

    # pool ------------------------------------------------------------------------
    def names(self) -> list[str]:
        # Most recent first, so shrinking (towards the first choice) favours deep chains.
        return [*reversed([s.name for s in self.steps]), *reversed([leaf.name for leaf in self.leaves])]

    def pick(self, ok: Callable[[np.ndarray], bool] = lambda v: True) -> str | None:
        candidates = [n for n in self.names() if ok(self.value[n])]
        return self.draw(st.sampled_from(candidates)) if candidates else None

    def operand(
        self, ok: Callable[[np.ndarray], bool], shape: tuple[int, ...] | None, domain: str
    ) -> str | None:
        """An existing tensor satisfying ``ok``, or a new leaf (of ``shape``, in ``domain``)."""
        existing = self.pick(ok)
        if existing is not None and (len(self.leaves) >= self.max_leaves or self.draw(st.booleans())):
            return existing
        if len(self.leaves) >= self.max_leaves:
            return None
        name = self.new_leaf(shape, domain)
        # The supply keeps the domain's sign; the op may need more (clamp: away from its bounds).
        return name if ok(self.value[name]) else None

    def new_leaf(
        self, shape: tuple[int, ...] | None = None, domain: str = _ANY, requires_grad: bool | None = None
    ) -> str:
        if shape is None:
            shape = self.draw(shapes)
        size = int(np.prod(shape)) if shape else 1
        flat = self.draw(st.lists(_element(domain), min_size=size, max_size=size))
        array = np.array(flat, dtype=np.float64).reshape(shape)
        if requires_grad is None:
            requires_grad = self.draw(st.sampled_from([True, False]))
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
    ) -> bool:
        """Append a step if its shadow value is finite and moderate."""
        value = np.asarray(value, dtype=np.float64)
        if not _finite(value):
            return False
        # Views made under no_grad keep requires_grad in PyTorch (a documented quirk
        # of view tracking), so no_grad points are drawn only on ops that copy.
        no_grad = (
            self.allow_no_grad and kind not in VIEWS and not detach and self.draw(st.integers(0, 9)) == 0
        )
        name = f"n{len(self.steps) + 1}"
        self.steps.append(Step(name, expr, inputs, kind, saves, no_grad=no_grad, detach=detach))
        self.value[name] = value
        self.grad[name] = any(self.grad[i] for i in inputs) and not (no_grad or detach)
        return True


# -- the makers: each draws one step of some family, or returns False ------------------


def _broadcast_partner(d: _Drawer, shape: tuple[int, ...]) -> tuple[int, ...]:
    """A shape that broadcasts against ``shape``: dims dropped from the front, some set to 1."""
    keep = d.draw(st.integers(0, len(shape)))
    partner = list(shape[len(shape) - keep :])
    for i in range(len(partner)):
        if d.draw(st.integers(0, 2)) == 0:
            partner[i] = 1
    if keep == len(shape) and len(partner) < 3 and d.draw(st.integers(0, 4)) == 0:
        partner.insert(0, d.draw(st.integers(1, 2)))  # the partner may be the bigger one
    return tuple(partner)


def _broadcasts(a: np.ndarray, b: np.ndarray) -> bool:
    try:
        np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        return False
    return True


_BINARY = {
    # kind: (function form, operator form, numpy, needs a denominator away from 0)
    "add": ("{ns}.add({a}, {b})", "{a} + {b}", np.add, False),
    "sub": ("{ns}.sub({a}, {b})", "{a} - {b}", np.subtract, False),
    "mul": ("{ns}.mul({a}, {b})", "{a} * {b}", np.multiply, False),
    "div": ("{ns}.div({a}, {b})", "{a} / {b}", np.divide, True),
}


def _nonzero(v: np.ndarray) -> bool:
    return bool(np.all(np.abs(v) >= DOMAIN_MARGIN))


def make_binary(d: _Drawer) -> bool:
    kind = d.draw(st.sampled_from(sorted(_BINARY)))
    function, operator, fn, needs_nonzero = _BINARY[kind]
    saves = TENSOR if kind in ("mul", "div") else NEVER
    a = d.pick()
    assert a is not None
    va = d.value[a]
    how = d.draw(st.sampled_from(["tensor", "same", "scalar-right", "scalar-left"]))
    if how == "same":  # fan-out into one op: x * x, x + x, x / x
        if needs_nonzero and not _nonzero(va):
            return False
        expr = d.draw(st.sampled_from([function, operator])).format(ns="{ns}", a=a, b=a)
        return d.add(expr, (a,), kind, saves, fn(va, va))
    if how.startswith("scalar"):
        c = d.draw(st.sampled_from([2.0, 0.5, -1.5, 3.0]))
        if how == "scalar-right":
            form = d.draw(st.sampled_from([function, operator]))
            expr = form.format(ns="{ns}", a=a, b=repr(c))
            return d.add(expr, (a,), kind, SCALAR if kind in ("mul", "div") else NEVER, fn(va, c))
        if needs_nonzero and not _nonzero(va):
            return False
        expr = operator.format(ns="{ns}", a=repr(c), b=a)
        return d.add(
            expr, (a,), kind, saves if kind == "div" else (SCALAR if kind == "mul" else NEVER), fn(c, va)
        )
    partner_shape = _broadcast_partner(d, va.shape)
    ok: Callable[[np.ndarray], bool] = (
        (lambda v: _broadcasts(va, v) and _nonzero(v)) if needs_nonzero else (lambda v: _broadcasts(va, v))
    )
    b = d.operand(ok, partner_shape, _NONZERO if needs_nonzero else _ANY)
    if b is None:
        return False
    vb = d.value[b]
    left, right = (a, b) if d.draw(st.booleans()) or needs_nonzero else (b, a)
    vl, vr = (va, vb) if left == a else (vb, va)
    expr = d.draw(st.sampled_from([function, operator])).format(ns="{ns}", a=left, b=right)
    return d.add(expr, (left, right), kind, saves, fn(vl, vr))


def _sigmoid(v: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-v))


def _away_from(points: Iterable[float]) -> Callable[[np.ndarray], bool]:
    marks = list(points)
    return lambda v: all(bool(np.all(np.abs(v - p) >= KINK_MARGIN)) for p in marks)


def _positive(v: np.ndarray) -> bool:
    return bool(np.all(v >= DOMAIN_MARGIN))


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


def make_unary(d: _Drawer) -> bool:
    kind = d.draw(st.sampled_from(sorted(_UNARY)))
    spellings, fn, domain, saves = _UNARY[kind]
    a = d.operand(domain, None, _POSITIVE if kind in ("log", "sqrt") else _NONZERO)
    if a is None:
        return False
    expr = d.draw(st.sampled_from(spellings)).format(ns="{ns}", a=a)
    with np.errstate(all="ignore"):
        return d.add(expr, (a,), kind, saves, fn(d.value[a]))


def make_pow(d: _Drawer) -> bool:
    """Scalar exponents, integer (any sign of base) and fractional (positive base)."""
    k = d.draw(st.sampled_from([2, 3, -1, 2.0, 0.5, 1.5, -0.5, 2.5]))
    integral = float(k).is_integer()
    if integral and k > 0:
        domain: Callable[[np.ndarray], bool] = lambda v: True  # noqa: E731
        supply = _ANY
    elif integral:
        domain, supply = _nonzero, _NONZERO
    else:
        domain, supply = _positive, _POSITIVE
    a = d.operand(domain, None, supply)
    if a is None:
        return False
    expr = d.draw(st.sampled_from(["{ns}.pow({a}, {k})", "{a} ** {k}"])).format(ns="{ns}", a=a, k=repr(k))
    with np.errstate(all="ignore"):
        return d.add(expr, (a,), "pow", TENSOR, np.power(d.value[a], float(k)))


def make_reduction(d: _Drawer) -> bool:
    kind = d.draw(st.sampled_from(["sum", "mean"]))
    fn = np.sum if kind == "sum" else np.mean
    a = d.pick()
    assert a is not None
    va = d.value[a]
    if va.ndim == 0 or d.draw(st.integers(0, 3)) == 0:
        return d.add(f"{a}.{kind}()", (a,), kind, NEVER, fn(va))
    dim = d.draw(st.integers(-va.ndim, va.ndim - 1))
    keepdim = d.draw(st.booleans())
    extra = ", keepdim=True" if keepdim else ""
    expr = d.draw(st.sampled_from([f"{a}.{kind}(dim={dim}{extra})", f"{{ns}}.{kind}({a}, {dim}{extra})"]))
    return d.add(expr, (a,), f"{kind}-dim", NEVER, fn(va, axis=dim, keepdims=keepdim))


def make_matmul(d: _Drawer) -> bool:
    a = d.pick(lambda v: v.ndim == 2)
    if a is None:
        if len(d.leaves) >= d.max_leaves:
            return False
        a = d.new_leaf((d.draw(st.integers(1, 3)), d.draw(st.integers(1, 3))))
    n, k = d.value[a].shape
    m = d.draw(st.integers(1, 3))
    b = d.operand(lambda v: v.ndim == 2 and v.shape[0] == k, (k, m), _ANY)
    if b is None:
        return False
    expr = d.draw(st.sampled_from(["{ns}.matmul({a}, {b})", "{a} @ {b}"])).format(ns="{ns}", a=a, b=b)
    kind = "matmul-square" if n == k == d.value[b].shape[1] else "matmul"
    return d.add(expr, (a, b), kind, TENSOR, d.value[a] @ d.value[b])


def make_cat(d: _Drawer) -> bool:
    a = d.pick(lambda v: v.ndim >= 1)
    if a is None:
        return False
    va = d.value[a]
    dim = d.draw(st.integers(0, va.ndim - 1))
    size = d.draw(st.integers(1, 3))
    shape = va.shape[:dim] + (size,) + va.shape[dim + 1 :]

    def fits(v: np.ndarray) -> bool:
        return (
            v.ndim == va.ndim
            and v.shape[:dim] == va.shape[:dim]
            and v.shape[dim + 1 :] == va.shape[dim + 1 :]
        )

    b = d.operand(fits, shape, _ANY)
    if b is None:
        return False
    parts = [a, b] if d.draw(st.booleans()) else [a, b, a]  # a twice: fan-out inside one op
    value = np.concatenate([d.value[p] for p in parts], axis=dim)
    return d.add(f"{{ns}}.cat([{', '.join(parts)}], dim={dim})", (a, b), "cat", NEVER, value)


def make_stack(d: _Drawer) -> bool:
    a = d.pick()
    assert a is not None
    va = d.value[a]
    b = d.operand(lambda v: v.shape == va.shape, va.shape, _ANY)
    if b is None:
        return False
    dim = d.draw(st.integers(0, va.ndim))
    return d.add(
        f"{{ns}}.stack([{a}, {b}], dim={dim})", (a, b), "stack", NEVER, np.stack([va, d.value[b]], axis=dim)
    )


def make_shape(d: _Drawer) -> bool:
    a = d.pick()
    assert a is not None
    va = d.value[a]
    options = ["reshape", "unsqueeze"]
    if va.ndim == 2:
        options.append("transpose")
    if 1 in va.shape:
        options.append("squeeze")
    if va.ndim >= 1 and va.shape[0] >= 2:
        options.append("slice")
    how = d.draw(st.sampled_from(options))
    if how == "reshape":
        shape = d.draw(st.sampled_from([(-1,), (1, -1), (-1, 1)]))
        value = va.reshape(shape)
        expr = f"{a}.reshape{shape!r}" if len(shape) > 1 else f"{a}.reshape(-1)"
    elif how == "unsqueeze":
        dim = d.draw(st.integers(0, va.ndim))
        expr, value = f"{a}.unsqueeze({dim})", np.expand_dims(va, dim)
    elif how == "transpose":
        expr = d.draw(st.sampled_from([f"{a}.transpose(0, 1)", f"{a}.t()"]))
        value = va.T
    elif how == "squeeze":
        dim = va.shape.index(1)
        expr, value = f"{a}.squeeze({dim})", np.squeeze(va, axis=dim)
    else:
        expr, value = f"{a}[1:]", va[1:]
    return d.add(expr, (a,), how, NEVER, value)


def make_detach(d: _Drawer) -> bool:
    a = d.pick()
    assert a is not None
    return d.add(f"{a}.detach()", (a,), "detach", NEVER, d.value[a], detach=True)


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
}

WEIGHTS = {"binary": 4, "unary": 5, "pow": 3, "reduction": 3, "binary-linear": 3}
"""How often each family is drawn relative to the others (default 1)."""

LINEAR_MAKERS = ("binary-linear", "reduction", "cat", "stack", "shape")
"""Families whose nodes save no tensor (with binary restricted to add and sub)."""


@st.composite
def graphs(
    draw: Callable[[st.SearchStrategy[Any]], Any],
    *,
    max_steps: int = 6,
    max_leaves: int = 4,
    no_grad: bool = True,
    detach: bool = True,
    families: tuple[str, ...] | None = None,
) -> Graph:
    """A random computation graph whose first leaf requires grad.

    ``families`` restricts the kinds of steps (names of :data:`MAKERS`, plus
    ``"binary-linear"`` for add and sub only); ``no_grad`` and ``detach`` allow
    the two ways of cutting the graph.
    """
    d = _Drawer(draw, max_leaves, no_grad)
    d.new_leaf(requires_grad=True)
    chosen = families or tuple(k for k in MAKERS if detach or k != "detach")
    makers = {name: MAKERS.get(name) or _linear_binary for name in chosen}
    menu = sorted(name for name in makers for _ in range(WEIGHTS.get(name, 1)))
    n_steps = draw(st.integers(2, max_steps))
    attempts = 0
    while len(d.steps) < n_steps and attempts < 4 * max_steps:
        attempts += 1
        makers[draw(st.sampled_from(menu))](d)
    if not d.steps:
        d.add(
            "{ns}.mul(x0, 2.0)" if "binary" in makers else "x0.sum()",
            ("x0",),
            "mul",
            SCALAR,
            d.value["x0"] * 2.0,
        )
    used = {i for s in d.steps for i in s.inputs}
    outputs = tuple(s.name for s in d.steps if s.name not in used)
    weights = tuple(
        draw(
            st.lists(_element(_ANY), min_size=d.value[o].size, max_size=d.value[o].size).map(
                lambda flat, shape=d.value[o].shape: np.array(flat).reshape(shape).tolist()
            )
        )
        for o in outputs
    )
    return Graph(tuple(d.leaves), tuple(d.steps), outputs, weights, dict(d.grad))


def _linear_binary(d: _Drawer) -> bool:
    """add or sub only: nodes that save nothing, for the reusable-graph property."""
    a = d.pick()
    assert a is not None
    va = d.value[a]
    kind = d.draw(st.sampled_from(["add", "sub"]))
    function, operator, fn, _ = _BINARY[kind]
    b = d.operand(lambda v: _broadcasts(va, v), _broadcast_partner(d, va.shape), _ANY)
    if b is None:
        return False
    expr = d.draw(st.sampled_from([function, operator])).format(ns="{ns}", a=a, b=b)
    return d.add(expr, (a, b), kind, NEVER, fn(va, d.value[b]))


def arrays_like(shape: tuple[int, ...]) -> st.SearchStrategy[np.ndarray]:
    """A float64 array of ``shape`` with two-decimal elements in [-2, 2]."""
    size = int(np.prod(shape)) if shape else 1
    return st.lists(_element(_ANY), min_size=size, max_size=size).map(
        lambda flat: np.array(flat).reshape(shape)
    )


dtypes = st.sampled_from(["float64", "float32"])
"""The floating dtypes every engine offers."""


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

    @property
    def head(self) -> str:
        """How the model's output meets the loss: BCE needs probabilities of shape (n,)."""
        return "model(x).squeeze(1)" if self.loss == "BCELoss" else "model(x)"

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


@st.composite
def training_problems(draw: Callable[[st.SearchStrategy[Any]], Any]) -> TrainingProblem:
    """A few samples, a Linear layer, one of the three losses and one SGD variant."""
    loss = draw(st.sampled_from(LOSSES))
    n = draw(st.integers(2, 5))
    features = draw(st.integers(1, 3))
    out = {"BCELoss": 1, "MSELoss": draw(st.integers(1, 2)), "CrossEntropyLoss": draw(st.integers(2, 3))}[
        loss
    ]

    def matrix(rows: int, cols: int) -> list[list[float]]:
        return draw(arrays_like((rows, cols))).tolist()

    x = matrix(n, features)
    if loss == "BCELoss":
        y: list[Any] = [float(v) for v in draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))]
    elif loss == "MSELoss":
        y = matrix(n, out)
    else:
        y = draw(st.lists(st.integers(0, out - 1), min_size=n, max_size=n))
    variant = draw(st.sampled_from(sorted(SGD_VARIANTS)))
    return TrainingProblem(
        loss=loss,
        x=x,
        y=y,
        weight=[[v / 4 for v in row] for row in matrix(out, features)],
        bias=[v / 4 for v in draw(arrays_like((out,))).tolist()],
        lr=draw(st.sampled_from([0.05, 0.1, 0.5])),
        sgd=dict(SGD_VARIANTS[variant]),
        steps=draw(st.integers(2, 5)),
        # float32 only: the parameters of nn modules are float32, as in the note.
        dtype="float32",
    )
