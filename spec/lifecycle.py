"""The lifecycle of leaves, graphs and gradients, driven by a hypothesis state machine.

The note's rules interact: gradients accumulate across backward calls, a graph
is freed by a backward unless retained, in-place changes are refused on leaves
that require grad and make a later backward through a saved tensor fail,
zeroing resets, detach cuts. Each rule has a case; this claim checks their
interplay. A :class:`~hypothesis.stateful.RuleBasedStateMachine` takes random
walks (build a graph, backward with or without retain_graph, retain_grad, zero
or clear a gradient, change a leaf or a saved tensor in place, detach) and
checks every step against :class:`Model`, a small model of PyTorch's rules.

Where PyTorch's exact behaviour is an implementation choice, the model accepts
either outcome: a second backward through a graph that saved nothing, and a
backward after changing a tensor a node saved without needing it (PyTorch's
``w * c`` saves only ``c`` for ``w``'s gradient; an engine may save both).

A failing walk is shown as the program it ran, in the torch-compatible API.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from gradspec.spec.claims import claim, observe, offers
from gradspec.spec.expect import ClaimViolation, expect_equal, expect_raises, values
from gradspec.spec.prop_support import count_example, counting
from gradspec.spec.tolerances import describe, tolerance

SECTION = "Auto Gradient › Important matters"
LEAVES = ("w", "x", "c")  # w and x require grad, c does not
TOL = tolerance("float64", "exact-arithmetic")


def _dtype() -> str:
    """float64 where the engine offers it; float32 (with its tolerance) otherwise."""
    return "float64" if offers("dtype.float64") else "float32"


# kind -> (program lines building y, tensors it must save, tensors it may save)
GRAPHS: dict[str, tuple[tuple[str, ...], frozenset[str], frozenset[str]]] = {
    "note": (("{a} = w + x", "{b} = w + 1", "{y} = ({a} * {b}).sum()"), frozenset({"a", "b"}), frozenset()),
    "square": (("{y} = (w * w).sum()",), frozenset({"w"}), frozenset()),
    "scaled": (("{y} = (w * c).sum()",), frozenset({"c"}), frozenset({"w"})),
    "linear": (("{y} = (w - x).sum()",), frozenset(), frozenset()),
}


def _gradients(kind: str, v: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """d y / d leaf for each leaf requiring grad that the graph uses, at values ``v``."""
    if kind == "note":
        return {"w": (v["w"] + 1) + (v["w"] + v["x"]), "x": v["w"] + 1}
    if kind == "square":
        return {"w": 2 * v["w"]}
    if kind == "scaled":
        return {"w": v["c"].copy()}
    return {"w": np.ones_like(v["w"]), "x": -np.ones_like(v["x"])}


@dataclass
class GraphModel:
    """What the model knows about one built graph."""

    name: str
    kind: str
    env: dict[str, Any]
    grads: dict[str, np.ndarray]
    a_grad: np.ndarray | None
    versions: dict[str, int]  # version of each saved tensor when the graph was built
    changed: dict[str, int] = field(default_factory=dict)  # in-place changes to its own a, b
    freed: bool = False
    backwards: int = 0
    retains_a: bool = False


@dataclass
class Model:
    """PyTorch's rules for leaves: values, gradients, versions."""

    value: dict[str, np.ndarray] = field(default_factory=dict)
    grad: dict[str, np.ndarray | None] = field(default_factory=dict)
    version: dict[str, int] = field(default_factory=dict)


class LifecycleMachine(RuleBasedStateMachine):
    """Random walks over the lifecycle; ``T`` is set on a subclass per engine."""

    T: Any = None
    last: LifecycleMachine | None = None
    graphs = Bundle("graphs")

    def __init__(self) -> None:
        super().__init__()
        type(self).last = self
        count_example()
        self.model = Model()
        self.t: dict[str, Any] = {}
        self.program: list[str] = ["import torch", ""]
        self.count = 0
        self.tol = tolerance(_dtype(), "exact-arithmetic")

    def say(self, *lines: str) -> None:
        self.program.extend(lines)

    # -- rules ------------------------------------------------------------------------
    @initialize(
        w=st.lists(st.integers(-20, 20), min_size=2, max_size=2),
        x=st.lists(st.integers(-20, 20), min_size=2, max_size=2),
        c=st.lists(st.integers(-20, 20), min_size=2, max_size=2),
    )
    def create_leaves(self, w: list[int], x: list[int], c: list[int]) -> None:
        T = self.T
        for name, ints in (("w", w), ("x", x), ("c", c)):
            vals = [i / 10 for i in ints]
            grad = name != "c"
            suffix = ", requires_grad=True" if grad else ""
            self.say(f"{name} = torch.tensor({vals!r}, dtype=torch.{_dtype()}{suffix})")
            self.t[name] = T.tensor(vals, dtype=getattr(T, _dtype()), requires_grad=grad)
            self.model.value[name] = np.array(vals)
            self.model.grad[name] = None
            self.model.version[name] = 0

    @rule(target=graphs, kind=st.sampled_from(sorted(GRAPHS)))
    def build(self, kind: str) -> GraphModel:
        self.count += 1
        n = self.count
        names = {"a": f"a{n}", "b": f"b{n}", "y": f"y{n}"}
        lines = [line.format(**names) for line in GRAPHS[kind][0]]
        self.say(*lines)
        scope: dict[str, Any] = dict(self.t)
        for line in lines:
            exec(line, {}, scope)  # noqa: S102 - the fixed lines of GRAPHS, on this engine's tensors
        env = {"y": scope[names["y"]], "a": scope.get(names["a"]), "names": names}
        v = self.model.value
        graph = GraphModel(
            name=names["y"],
            kind=kind,
            env=env,
            grads=_gradients(kind, v),
            a_grad=(v["w"] + 1) if kind == "note" else None,
            versions={s: self.model.version.get(s, 0) for s in GRAPHS[kind][1] | GRAPHS[kind][2]},
        )
        expected_y = {
            "note": ((v["w"] + v["x"]) * (v["w"] + 1)).sum(),
            "square": (v["w"] * v["w"]).sum(),
            "scaled": (v["w"] * v["c"]).sum(),
            "linear": (v["w"] - v["x"]).sum(),
        }[kind]
        got = float(env["y"].item())
        if not self.tol.close(got, expected_y):
            raise ClaimViolation(f"value of {names['y']}", float(expected_y), got)
        expect_equal(
            (env["y"].requires_grad, env["y"].is_leaf),
            (True, False),
            f"(requires_grad, is_leaf) of {names['y']}",
        )
        return graph

    def _saved_changed(self, g: GraphModel, which: frozenset[str]) -> bool:
        for s in which:
            now = self.model.version[s] if s in LEAVES else g.changed.get(s, 0)
            if now != g.versions[s]:
                return True
        return False

    @rule(g=graphs, retain=st.booleans())
    def backward(self, g: GraphModel, retain: bool) -> None:
        must, may = GRAPHS[g.kind][1], GRAPHS[g.kind][2]
        y = g.env["names"]["y"]
        call = f"{y}.backward(retain_graph=True)" if retain else f"{y}.backward()"
        must_raise = (g.freed and bool(must)) or self._saved_changed(g, must)
        may_raise = (g.freed and not must) or self._saved_changed(g, may)
        if must_raise:
            why = "its saved tensors were freed" if g.freed else "a saved tensor was modified in place"
            self.say(f"{call}  # raises RuntimeError: {why}")
            expect_raises(lambda: g.env["y"].backward(retain_graph=retain), f"{call} after {why}")
            return
        self.say(call)
        try:
            g.env["y"].backward(retain_graph=retain)
        except RuntimeError as exc:
            if may_raise:
                self.say("# (this engine raised here, which the rules allow)")
                g.freed = True
                return
            raise ClaimViolation(call, "no exception", f"RuntimeError: {exc}") from exc
        for leaf, grad in g.grads.items():
            old = self.model.grad[leaf]
            self.model.grad[leaf] = grad.copy() if old is None else old + grad
        if g.retains_a and g.backwards == 0 and g.a_grad is not None:
            a = g.env["names"]["a"]
            self.say(f"print({a}.grad)")
            got = g.env["a"].grad
            if got is None or not self.tol.close(values(got), g.a_grad):
                raise ClaimViolation(
                    f"{a}.grad after retain_grad() and backward",
                    g.a_grad.tolist(),
                    None if got is None else values(got).tolist(),
                )
        g.backwards += 1
        g.freed = g.freed or not retain

    @precondition(lambda self: offers("retain_grad"))
    @rule(g=graphs)
    def retain_grad(self, g: GraphModel) -> None:
        if g.kind != "note" or g.backwards:
            return
        a = g.env["names"]["a"]
        self.say(f"{a}.retain_grad()")
        g.env["a"].retain_grad()
        g.retains_a = True

    @precondition(lambda self: offers("op.mul_"))
    @rule(g=graphs)
    def inplace_on_saved_intermediate(self, g: GraphModel) -> None:
        if g.kind != "note":
            return
        a = g.env["names"]["a"]
        self.say(f"{a}.mul_(2.0)  # allowed: {a} is not a leaf, but {g.name}'s node saved it")
        g.env["a"].mul_(2.0)
        g.changed["a"] = g.changed.get("a", 0) + 1

    @rule(leaf=st.sampled_from(["w", "x"]))
    def zero_grad(self, leaf: str) -> None:
        if self.model.grad[leaf] is None:
            return
        self.say(f"{leaf}.grad.zero_()")
        self.t[leaf].grad.zero_()
        self.model.grad[leaf] = np.zeros_like(self.model.value[leaf])

    @rule(leaf=st.sampled_from(["w", "x"]))
    def clear_grad(self, leaf: str) -> None:
        self.say(f"{leaf}.grad = None")
        self.t[leaf].grad = None
        self.model.grad[leaf] = None

    @rule(leaf=st.sampled_from(LEAVES))
    def inplace_on_leaf(self, leaf: str) -> None:
        if leaf == "c":
            self.say("c.add_(1.0)  # allowed: c does not require grad")
            self.t["c"].add_(1.0)
            self.model.value["c"] = self.model.value["c"] + 1.0
            self.model.version["c"] += 1
            return
        self.say(f"{leaf}.add_(1.0)  # raises RuntimeError: a leaf that requires grad")
        expect_raises(lambda: self.t[leaf].add_(1.0), f"{leaf}.add_(1.0) on a leaf that requires grad")

    @precondition(lambda self: offers("no_grad"))
    @rule(leaf=st.sampled_from(["w", "x"]))
    def inplace_under_no_grad(self, leaf: str) -> None:
        self.say("with torch.no_grad():", f"    {leaf}.add_(0.5)")
        with self.T.no_grad():
            self.t[leaf].add_(0.5)
        self.model.value[leaf] = self.model.value[leaf] + 0.5
        self.model.version[leaf] += 1

    @rule(g=graphs)
    def detach(self, g: GraphModel) -> None:
        y = g.env["names"]["y"]
        self.say(f"d = {y}.detach()", "print(d.requires_grad, d.is_leaf)  # False True")
        d = g.env["y"].detach()
        expect_equal((d.requires_grad, d.is_leaf), (False, True), f"(requires_grad, is_leaf) of {y}.detach()")
        expect_equal(float(d.item()), float(g.env["y"].item()), f"value of {y}.detach()")

    # -- what must hold after every step ------------------------------------------------
    @invariant()
    def leaves_match_model(self) -> None:
        if not self.t:
            return
        for leaf in LEAVES:
            t = self.t[leaf]
            expect_equal(
                (t.requires_grad, t.is_leaf), (leaf != "c", True), f"(requires_grad, is_leaf) of {leaf}"
            )
            if not self.tol.close(values(t), self.model.value[leaf]):
                raise ClaimViolation(f"value of {leaf}", self.model.value[leaf].tolist(), values(t).tolist())
            want, got = self.model.grad[leaf], t.grad
            if want is None:
                if got is not None:
                    raise ClaimViolation(f"{leaf}.grad", None, values(got).tolist())
            elif got is None or not self.tol.close(values(got), want):
                raise ClaimViolation(
                    f"{leaf}.grad", want.tolist(), None if got is None else values(got).tolist()
                )


@claim(
    "prop.lifecycle",
    statement="Random sequences of building graphs, backward with and without retain_graph, retain_grad, zeroing and clearing .grad, in-place changes to leaves (refused when they require grad, allowed under no_grad) and to saved tensors, and detach, behave as PyTorch's rules say at every step.",
    section=SECTION,
    needs=("graph", "in-place"),  # no_grad, retain_grad and mul_ rules run where offered
    kind="property",
)
def lifecycle(T: Any) -> None:
    machine = type("Lifecycle", (LifecycleMachine,), {"T": T, "last": None})
    count = [0]
    with counting(count):
        try:
            run_state_machine_as_test(machine, settings=settings(stateful_step_count=25))
        except Exception as exc:
            if machine.last is not None:
                try:
                    exc.counterexample = "\n".join(machine.last.program) + "\n"  # type: ignore[attr-defined]
                except AttributeError:
                    pass
            raise
        finally:
            observe("examples", count[0])
            observe("tolerances", [describe(_dtype(), "exact-arithmetic")])
