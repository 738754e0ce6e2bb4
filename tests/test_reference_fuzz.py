"""Differential program fuzzer: the reference engine against PyTorch, whole programs at a time.

Hypothesis draws programs over the torch-compatible subset of
:mod:`gradspec.spec.api` -- creation in float32, float64 and int64, operators with
tensors, Python and NumPy scalars on either side, reductions with every ``dim``
form (out-of-range ones too), views and slices, in-place ops on leaves (under
``no_grad`` or expecting the error), on non-leaves and on views of non-leaves,
then a backward pass or ``autograd.grad`` (sometimes twice, sometimes to second
order). Each program runs on torch and on ``gradspec.impls.reference``; after
every statement the two must agree on each tensor's values (NaN-aware, per-dtype
tolerance), dtype, shape, ``requires_grad`` and ``is_leaf``, on every leaf's
``.grad`` and on the class of any exception. A disagreement is reported as the
shrunk program, printed as runnable torch code.

The program is data (a list of source lines); the same lines are what runs and
what is printed, so the printed program is exactly the one that disagreed.
Statements are drawn one at a time while the program runs on torch, so each
draw knows the real shapes and dtypes so far and most programs get deep.

Budget: ``HYPOTHESIS_PROFILE=ci`` keeps this file well under a minute on one core.
For long runs set ``GRADSPEC_FUZZ_PROGRAMS`` (e.g. 20000), which overrides
max_examples and turns derandomization off.
"""

from __future__ import annotations

import math
import os
import re
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from hypothesis import HealthCheck, given, note, reject, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import gradspec.impls.reference as R  # noqa: E402
import gradspec.spec.profiles  # noqa: E402,F401 - registers the ci / thorough profiles
from gradspec.impls.reference.differences import torch_error_patterns  # noqa: E402

SET_ASIDE = re.compile("|".join(torch_error_patterns()))
"""Torch errors of documented differences: programs reaching one are set aside, not failed."""

# -- programs as data ---------------------------------------------------------------


@dataclass
class Program:
    """Source lines (one statement each, ``T`` is the engine) and the names they bind."""

    lines: list[str] = field(default_factory=list)

    def source(self, module: str = "torch") -> str:
        """The program as a runnable script for ``module`` (torch by default)."""
        body = "\n".join(self.lines)
        return f"import numpy as np\nimport {module} as T\n\n{body}\n"


ERROR_CLASSES = (IndexError, TypeError, ValueError, RuntimeError)


def error_class(exc: BaseException) -> str:
    """The builtin error class an exception counts as (torch's subclasses map to their base)."""
    for cls in type(exc).__mro__:
        if cls in ERROR_CLASSES:
            return cls.__name__
    return type(exc).__name__


class Runner:
    """Runs a program's lines one at a time on one engine, keeping its variables."""

    def __init__(self, module: Any, is_torch: bool) -> None:
        self.env: dict[str, Any] = {"T": module, "np": np}
        self.is_torch = is_torch
        self.error: str | None = None
        self.precision = "float64"  # becomes float32 once the program holds a float32 tensor

    def run(self, line: str) -> str | None:
        """Execute one statement; the error class it raised, or None."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            if not self.is_torch:
                # NumPy RuntimeWarnings (log(-1), 0 / 0) must not leak from the reference.
                warnings.simplefilter("error", RuntimeWarning)
            try:
                exec(line, self.env)  # noqa: S102 - the program is generated here
            except Exception as exc:  # noqa: BLE001 - the class is what is compared
                self.error = f"{error_class(exc)}: {exc}"
                return error_class(exc)
        return None

    # -- reading state without touching the graph ------------------------------------
    def tensors(self) -> dict[str, Any]:
        cls = torch.Tensor if self.is_torch else R.Tensor
        return {k: v for k, v in self.env.items() if isinstance(v, cls)}

    def array(self, t: Any) -> np.ndarray:
        if self.is_torch:
            # force: torch may hand back a ZeroTensor (an unmaterialised zero grad of a
            # second-order autograd.grad), which plain .numpy() refuses.
            return t.detach().numpy(force=True).copy()
        return np.array(t._data)

    def dtype_name(self, t: Any) -> str:
        return str(t.dtype).replace("torch.", "") if self.is_torch else t.dtype.name

    def grad_of(self, t: Any) -> Any:
        return t.grad if self.is_torch else t._grad

    def describe(self, t: Any) -> tuple[Any, ...]:
        return (tuple(t.shape), self.dtype_name(t), bool(t.requires_grad), bool(t.is_leaf))

    def node_name(self, t: Any) -> str | None:
        fn = t.grad_fn
        return None if fn is None else fn.name()


# float32 transcendental kernels (exp, log, tanh, pow) differ from NumPy's by an ulp or
# two, and a chain amplifies that: exp(mean(exp(x)) ** 2.5) differed by 2.3e-5 relative
# after 15,437 agreeing programs (the outer exp multiplies the relative error by its
# argument, 42). 1e-4 leaves room for that; a wrong rule is off by far more, and the
# float64 programs check every rule at 1e-11.
TOLERANCE = {"float32": (1e-4, 1e-6), "float64": (1e-11, 1e-13)}


# torch names a view's regenerated node AsStridedBackward0 once its base changed in place
# (a documented difference: the reference keeps the view's own node, e.g. SliceBackward0).
REGENERATED_VIEW_NODE = "AsStridedBackward0"


def values_differ(a: np.ndarray, b: np.ndarray, dtype: str) -> str | None:
    """Why two arrays of the same dtype and shape disagree, or None (NaN equals NaN)."""
    if a.dtype.kind != "f":
        return None if np.array_equal(a, b) else f"{a.tolist()} != {b.tolist()}"
    if not np.array_equal(np.isnan(a), np.isnan(b)):
        return f"NaN positions differ: {a.tolist()} vs {b.tolist()}"
    fa, fb = np.where(np.isnan(a), 0, a), np.where(np.isnan(b), 0, b)
    if not np.array_equal(np.isinf(fa), np.isinf(fb)) or not np.array_equal(
        fa[np.isinf(fa)], fb[np.isinf(fb)]
    ):
        return f"infinities differ: {a.tolist()} vs {b.tolist()}"
    fin = np.isfinite(fa)
    if not fin.any():
        return None
    rtol, atol = TOLERANCE.get(dtype, (0.0, 0.0))
    x, y = fa[fin].astype(np.float64), fb[fin].astype(np.float64)
    scale = max(1.0, float(np.max(np.abs(y))))
    if np.all(np.abs(x - y) <= atol * scale + rtol * np.abs(y)):
        return None
    return f"{a.tolist()} != {b.tolist()}"


def _compare_tensor(
    name: str, tr: Runner, rr: Runner, t: Any, r: Any, precision: str, gradient: bool = False
) -> str | None:
    """The first way the reference's tensor ``r`` differs from torch's ``t``, or None.

    ``precision`` is the dtype whose tolerance applies: float32 as soon as the
    program holds a float32 tensor, since float32 rounding flows into float64
    results through promotion. For ``gradient`` tensors (``.grad``, what
    autograd.grad returns) grad_fn names are not compared: with create_graph torch
    names its double-backward nodes (SigmoidBackwardBackward0), a documented difference.
    """
    dt, dr = tr.describe(t), rr.describe(r)
    if dt != dr:
        return f"{name}: (shape, dtype, requires_grad, is_leaf) torch {dt}, reference {dr}"
    nt, nr = tr.node_name(t), rr.node_name(r)
    if nt != nr and nt != REGENERATED_VIEW_NODE and not gradient:
        return f"{name}.grad_fn: torch {nt}, reference {nr}"
    why = values_differ(tr.array(t), rr.array(r), precision if dt[1] in TOLERANCE else dt[1])
    return None if why is None else f"{name} values: torch vs reference: {why}"


def compare_state(tr: Runner, rr: Runner) -> str | None:
    """Compare every variable, and the .grad of every leaf and of retaining non-leaves."""
    tt, rt = tr.tensors(), rr.tensors()
    if set(tt) != set(rt):
        return f"variables differ: torch {sorted(tt)}, reference {sorted(rt)}"
    if any(t.dtype == torch.float32 for t in tt.values()):
        tr.precision = "float32"
    precision = tr.precision

    def compare_tensor(name: str, tr: Runner, rr: Runner, t: Any, r: Any) -> str | None:
        return _compare_tensor(name, tr, rr, t, r, precision, gradient="grad" in name or "[" in name)

    for name in tt:
        why = compare_tensor(name, tr, rr, tt[name], rt[name])
        if why:
            return why
        t, r = tt[name], rt[name]
        if not (t.is_leaf or t.retains_grad):
            continue
        gt, gr = tr.grad_of(t), rr.grad_of(r)
        if (gt is None) != (gr is None):
            return f"{name}.grad: torch {gt}, reference {gr}"
        if gt is not None:
            why = compare_tensor(f"{name}.grad", tr, rr, gt, gr)
            if why:
                return why
    for name, v in tr.env.items():
        if name in tt or name in ("T", "np") or name.startswith("__"):
            continue
        w = rr.env.get(name)
        if isinstance(v, torch.nn.Module):  # compare its parameters and their gradients
            pv, pw = list(v.parameters()), list(w.parameters())
            if len(pv) != len(pw):
                return f"{name}: torch has {len(pv)} parameters, reference {len(pw)}"
            for k, (a, b) in enumerate(zip(pv, pw, strict=True)):
                why = (
                    compare_tensor(f"{name}.param{k}", tr, rr, a, b)
                    or compare_tensor(f"{name}.param{k}.grad", tr, rr, a.grad, b._grad)
                    if (a.grad is None) == (b._grad is None) and a.grad is not None
                    else (
                        compare_tensor(f"{name}.param{k}", tr, rr, a, b)
                        or (
                            None if (a.grad is None) == (b._grad is None) else f"{name}.param{k}.grad differs"
                        )
                    )
                )
                if why:
                    return why
            continue
        if isinstance(v, (tuple, list)) and v and isinstance(v[0], torch.Tensor):
            if not (isinstance(w, (tuple, list)) and len(w) == len(v)):
                return f"{name}: torch {v}, reference {w}"
            for k, (a, b) in enumerate(zip(v, w, strict=True)):
                if (a is None) != (b is None):
                    return f"{name}[{k}]: torch {a}, reference {b}"
                if a is not None:
                    why = compare_tensor(f"{name}[{k}]", tr, rr, a, b)
                    if why:
                        return why
        elif not _same_python_value(v, w):
            return f"{name}: torch {v!r}, reference {w!r}"
    return None


def _same_python_value(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b or math.isclose(a, b, rel_tol=2e-6)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same_python_value(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


# -- drawing statements ---------------------------------------------------------------

FLOATS = (0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5, 3.0, 1.5, -0.25, 4.0, -3.0)
INTS = (0, 1, -1, 2, -2, 3)
SHAPES = ((), (1,), (2,), (3,), (2, 3), (3, 2), (1, 3), (2, 1), (2, 2), (2, 1, 3), (1, 2, 2))
DTYPES = ("None", "T.float32", "T.float64")


def _literal(values: list[Any], shape: tuple[int, ...]) -> str:
    """A nested Python list literal of ``shape`` (a bare number for 0-d)."""
    if not shape:
        return repr(values[0])
    if shape[0] == 0:
        return "[]"
    step = len(values) // shape[0]
    return (
        "[" + ", ".join(_literal(values[i * step : (i + 1) * step], shape[1:]) for i in range(shape[0])) + "]"
    )


class Special(float):
    """A float whose repr is valid source: inf, -inf and nan print as float('inf'), ..."""

    def __repr__(self) -> str:
        return f"float('{float(self)!r}')" if not math.isfinite(self) else float.__repr__(self)


SPECIALS = (Special("inf"), Special("-inf"), Special("nan"), Special(1e30), Special(-1e-30), Special(-0.0))


@st.composite
def data_literal(draw: Any, shape: tuple[int, ...], ints: bool) -> str:
    n = math.prod(shape)
    pool = INTS if ints else FLOATS
    special = not ints and draw(st.integers(0, 9)) == 0  # values at the edge of every domain
    values = [draw(st.sampled_from(pool + SPECIALS if special else pool)) for _ in range(n)]
    return _literal(values, shape)


@st.composite
def scalar(draw: Any) -> str:
    """A Python or NumPy number, as source."""
    kind = draw(st.sampled_from(("float", "int", "np.float64", "np.float32", "np.int64", "bool")))
    if kind == "int":
        return repr(draw(st.sampled_from(INTS)))
    if kind == "bool":
        return repr(draw(st.booleans()))
    v = draw(st.sampled_from(FLOATS))
    if kind == "float":
        return repr(v)
    if kind == "np.int64":
        return f"np.int64({int(v)})"
    return f"{kind}({v!r})"


class Draw:
    """Draws the next statement from the torch state of the program so far."""

    def __init__(self, data: Any, runner: Runner, program: Program) -> None:
        self.data = data
        self.runner = runner
        self.program = program
        self.count = 0

    def draw(self, strategy: Any) -> Any:
        return self.data.draw(strategy)

    def fresh(self) -> str:
        name = f"v{self.count}"
        self.count += 1
        return name

    def tensors(self) -> list[str]:
        return list(self.runner.tensors())

    def pick(self, where: Any = None) -> str | None:
        names = [n for n, t in self.runner.tensors().items() if where is None or where(t)]
        if not names:
            return None
        # Recent tensors more often: deep programs, not wide ones.
        return self.draw(st.sampled_from(names[-4:] if self.draw(st.booleans()) else names))

    # -- statement families ---------------------------------------------------------
    def leaf(self) -> str:
        name = self.fresh()
        shape = self.draw(st.sampled_from(SHAPES))
        kind = self.draw(st.sampled_from(("tensor", "tensor", "tensor_int", "ones", "like", "Tensor")))
        rg = self.draw(st.booleans())
        dtype = self.draw(st.sampled_from(DTYPES))
        dt = "" if dtype == "None" else f", dtype={dtype}"
        if kind == "tensor":
            lit = self.draw(data_literal(shape, ints=False))
            return f"{name} = T.tensor({lit}{dt}, requires_grad={rg})"
        if kind == "tensor_int":
            lit = self.draw(data_literal(shape, ints=True))
            rgs = ", requires_grad=True" if self.draw(st.integers(0, 4)) == 0 else ""
            return f"{name} = T.tensor({lit}{dt}{rgs})"
        if kind == "ones":
            fn = self.draw(st.sampled_from(("ones", "zeros")))
            return f"{name} = T.{fn}({', '.join(map(str, shape)) or '()'}{dt}, requires_grad={rg})"
        if kind == "Tensor":
            lit = self.draw(data_literal(shape if shape else (2,), ints=self.draw(st.booleans())))
            return f"{name} = T.{self.draw(st.sampled_from(('Tensor', 'FloatTensor')))}({lit})"
        other = self.pick()
        if other is None:
            return f"{name} = T.ones(2, requires_grad={rg})"
        fn = self.draw(st.sampled_from(("ones_like", "zeros_like")))
        return f"{name} = T.{fn}({other})"

    def operand(self, x: str) -> str:
        """A second operand for ``x``: another tensor, a scalar, a 0-d tensor or a fresh leaf."""
        kind = self.draw(st.sampled_from(("tensor", "tensor", "scalar", "scalar", "zero_d")))
        if kind == "tensor":
            other = self.pick()
            if other is not None:
                return other
        if kind == "zero_d":
            dtype = self.draw(st.sampled_from(DTYPES))
            v = self.draw(st.sampled_from(FLOATS))
            dt = "" if dtype == "None" else f", dtype={dtype}"
            return f"T.tensor({v!r}{dt})"
        return self.draw(scalar())

    def binary(self) -> str:
        x = self.pick()
        if x is None:
            return self.leaf()
        name = self.fresh()
        y = self.operand(x)
        op = self.draw(st.sampled_from(("+", "-", "*", "/", "add", "sub", "mul", "div")))
        swap = self.draw(st.booleans())
        a, b = (y, x) if swap else (x, y)
        if op in "+-*/":
            return f"{name} = {a} {op} {b}"
        if not a.startswith("v"):
            a, b = b, a
        return f"{name} = T.{op}({a}, {b})"

    def power(self) -> str:
        x = self.pick()
        if x is None:
            return self.leaf()
        name = self.fresh()
        form = self.draw(st.sampled_from(("scalar_exp", "scalar_exp", "tensor_exp", "scalar_base")))
        if form == "scalar_exp":
            k = self.draw(st.sampled_from((0, 1, 2, 3, -1, -2, 0.5, 2.5, 0.0, -0.5, 1.0)))
            return self.draw(st.sampled_from((f"{name} = {x} ** {k!r}", f"{name} = T.pow({x}, {k!r})")))
        if form == "tensor_exp":
            y = self.pick() or x
            return self.draw(st.sampled_from((f"{name} = {x} ** {y}", f"{name} = T.pow({x}, {y})")))
        base = self.draw(st.sampled_from((0, 0.0, 2, 0.5, 1.0, 2.0, -1.0)))
        return f"{name} = {base!r} ** {x}"

    def unary(self) -> str:
        x = self.pick()
        if x is None:
            return self.leaf()
        name = self.fresh()
        fn = self.draw(st.sampled_from(("neg", "exp", "log", "sqrt", "abs", "sigmoid", "tanh", "relu")))
        if self.draw(st.booleans()):
            return f"{name} = T.{fn}({x})"
        if fn == "neg" and self.draw(st.booleans()):
            return f"{name} = -{x}"
        return f"{name} = {x}.{fn}()"

    def clamp(self) -> str:
        x = self.pick()
        if x is None:
            return self.leaf()
        name = self.fresh()
        bound = st.sampled_from((None, 0.0, -1.0, 1.0, 0.5, 0, 2, -1))
        lo, hi = self.draw(bound), self.draw(bound)
        if self.draw(st.booleans()):
            return f"{name} = T.clamp({x}, min={lo!r}, max={hi!r})"
        return f"{name} = {x}.clamp({lo!r}, {hi!r})"

    def reduction(self) -> str:
        x = self.pick()
        if x is None:
            return self.leaf()
        name = self.fresh()
        fn = self.draw(st.sampled_from(("sum", "mean")))
        nd = len(self.runner.env[x].shape)
        form = self.draw(st.sampled_from(("all", "method_all", "dim", "dim", "method_dim", "tuple")))
        if form == "all":
            return f"{name} = T.{fn}({x})"
        if form == "method_all":
            return f"{name} = {x}.{fn}()"
        dims = (
            st.integers(-nd - 2, nd + 1)
            if self.draw(st.integers(0, 5)) == 0
            else st.integers(-max(nd, 1), max(nd, 1) - 1)
        )
        keep = self.draw(st.booleans())
        if form == "tuple":
            d = (self.draw(dims), self.draw(dims))
            return f"{name} = {x}.{fn}(dim={d!r}, keepdim={keep})"
        d = self.draw(dims)
        if form == "dim":
            return f"{name} = T.{fn}({x}, {d}, keepdim={keep})"
        return f"{name} = {x}.{fn}(dim={d}, keepdim={keep})"

    def matmul(self) -> str:
        x = self.pick(lambda t: t.dim() == 2)
        if x is None:
            shape = self.draw(st.sampled_from(((2, 3), (3, 2), (2, 2))))
            return (
                f"{self.fresh()} = T.tensor({self.draw(data_literal(shape, ints=False))}, requires_grad=True)"
            )
        name = self.fresh()
        y = self.pick(lambda t: t.dim() == 2) or x
        if self.draw(st.booleans()):
            return f"{name} = {x} @ {y}"
        return f"{name} = T.matmul({x}, {y})"

    def join(self) -> str:
        x = self.pick()
        if x is None:
            return self.leaf()
        name = self.fresh()
        nd = len(self.runner.env[x].shape)
        same = [n for n, t in self.runner.tensors().items() if t.dim() == nd]
        k = self.draw(st.integers(1, 3))
        parts = [x] + [self.draw(st.sampled_from(same)) for _ in range(k - 1)]
        fn = self.draw(st.sampled_from(("cat", "stack")))
        top = nd if fn == "stack" else max(nd - 1, 0)
        d = self.draw(
            st.integers(-top - 2, top + 2)
            if self.draw(st.integers(0, 4)) == 0
            else st.integers(-top - 1, top)
        )
        return f"{name} = T.{fn}([{', '.join(parts)}], dim={d})"

    def compare(self) -> str:
        x = self.pick()
        if x is None:
            return self.leaf()
        name = self.fresh()
        y = self.operand(x)
        op = self.draw(st.sampled_from(("==", ">=", "ge")))
        if op == "ge":
            return f"{name} = {x}.ge({y})"
        return f"{name} = {x} {op} {y}"

    def view(self) -> str:
        x = self.pick()
        if x is None:
            return self.leaf()
        name = self.fresh()
        shape = tuple(self.runner.env[x].shape)
        nd = len(shape)
        kind = self.draw(
            st.sampled_from(("reshape", "view", "unsqueeze", "squeeze", "transpose", "t", "permute", "slice"))
        )
        anydim = (
            st.integers(-nd - 2, nd + 1)
            if self.draw(st.integers(0, 5)) == 0
            else st.integers(-max(nd, 1), max(nd, 1) - 1)
        )
        if kind in ("reshape", "view"):
            n = math.prod(shape)
            options = [s for s in SHAPES if math.prod(s) == n] + [(-1,), (n, -1), (-1, 1), (5,)]
            s = self.draw(st.sampled_from(options))
            return f"{name} = {x}.{kind}({', '.join(map(str, s)) or '()'})"
        if kind == "unsqueeze":
            d = self.draw(
                st.integers(-nd - 1, nd) if self.draw(st.integers(0, 5)) else st.integers(-nd - 3, nd + 2)
            )
            return f"{name} = {x}.unsqueeze({d})"
        if kind == "squeeze":
            if self.draw(st.booleans()):
                return f"{name} = {x}.squeeze()"
            return f"{name} = {x}.squeeze({self.draw(anydim)})"
        if kind == "transpose":
            return f"{name} = {x}.transpose({self.draw(anydim)}, {self.draw(anydim)})"
        if kind == "t":
            return f"{name} = {x}.t()"
        if kind == "permute":
            perm = list(range(nd))
            perm = self.draw(st.permutations(perm)) if perm else []
            if self.draw(st.integers(0, 5)) == 0:
                perm = perm[:-1] if perm else [0]
            return f"{name} = {x}.permute({', '.join(map(str, perm))})"
        if nd == 0:
            return f"{name} = {x}[{self.draw(st.sampled_from(('0', '...', 'None')))}]"
        n0 = shape[0]
        form = self.draw(st.sampled_from(("int", "slice", "slice", "second", "step")))
        if form == "int":
            i = self.draw(st.integers(-n0 - 1, n0))
            return f"{name} = {x}[{i}]"
        i, j = self.draw(st.integers(-n0, n0)), self.draw(st.integers(-n0, n0 + 1))
        if form == "slice":
            return f"{name} = {x}[{i}:{j}]"
        if form == "step":
            return f"{name} = {x}[{i}::{self.draw(st.sampled_from((1, 2, -1)))}]"
        if nd < 2:
            return f"{name} = {x}[:, 0]"
        k = self.draw(st.integers(0, shape[1] - 1))
        return f"{name} = {x}[:, {k}]"

    def detach(self) -> str:
        x = self.pick()
        if x is None:
            return self.leaf()
        return f"{self.fresh()} = {x}.detach()"

    def inplace(self) -> str:
        x = self.pick()
        if x is None:
            return self.leaf()
        t = self.runner.env[x]
        op = self.draw(st.sampled_from(("add_", "mul_", "zero_", "copy_", "+=", "add_", "mul_")))
        if op == "zero_":
            stmt = f"{x}.zero_()"
        else:
            y = self.operand(x)
            if op == "copy_" and not y.startswith(("v", "T.")):
                y = f"T.tensor({y})" if "np." not in y else f"T.tensor({y})"
            stmt = f"{x} += {y}" if op == "+=" else f"{x}.{op}({y})"
        leafy = t.is_leaf and t.requires_grad
        if self.draw(st.integers(0, 3)) == 0 or (leafy and self.draw(st.booleans())):
            return f"with T.no_grad():\n    {stmt}"
        return stmt

    def retain(self) -> str:
        x = self.pick(lambda t: not t.is_leaf)
        if x is None:
            return self.leaf()
        return f"{x}.retain_grad()"

    def read(self) -> str:
        x = self.pick()
        if x is None:
            return self.leaf()
        name = self.fresh()
        nd = len(self.runner.env[x].shape)
        form = self.draw(st.sampled_from(("item", "tolist", "size", "shape", "float")))
        if form == "item":
            return f"{name} = {x}.item()"
        if form == "tolist":
            return f"{name} = {x}.tolist()"
        if form == "size":
            return f"{name} = {x}.size({self.draw(st.integers(-nd - 1, nd))})"
        if form == "shape":
            return f"{name} = tuple({x}.shape)"
        return f"{name} = {x}.float()"

    def model(self) -> str:
        """nn: a Linear layer with weights copied in (random inits differ), an activation module,
        or a loss module."""
        x = self.pick(lambda t: t.dim() == 2 and t.dtype == torch.float32)
        if x is None:
            return self.leaf()
        name = self.fresh()
        n, k = tuple(self.runner.env[x].shape)
        form = self.draw(st.sampled_from(("linear", "linear", "act", "mse", "bce", "ce")))
        if form == "linear":
            j = self.draw(st.integers(1, 3))
            w = self.draw(data_literal((j, k), ints=False))
            b = self.draw(data_literal((j,), ints=False))
            return (
                f"m = T.nn.Linear({k}, {j})\nwith T.no_grad():\n    m.weight.copy_(T.tensor({w}))\n"
                f"    m.bias.copy_(T.tensor({b}))\n{name} = m({x})"
            )
        if form == "act":
            act = self.draw(st.sampled_from(("Sigmoid", "ReLU")))
            return f"{name} = T.nn.Sequential(T.nn.{act}())({x})"
        if form == "mse":
            y = self.pick(lambda t: tuple(t.shape) == (n, k) and t.dtype == torch.float32) or x
            return f"{name} = T.nn.MSELoss()({x}, {y})"
        if form == "bce":
            target = self.draw(
                st.lists(
                    st.lists(st.sampled_from((0.0, 1.0, 0.5)), min_size=k, max_size=k), min_size=n, max_size=n
                )
            )
            return f"{name} = T.nn.BCELoss()(T.sigmoid({x}), T.tensor({target!r}))"
        classes = self.draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n))
        return f"{name} = T.nn.CrossEntropyLoss()({x}, T.tensor({classes!r}))"

    FAMILIES = (
        ("leaf", 3),
        ("binary", 5),
        ("power", 2),
        ("unary", 4),
        ("clamp", 1),
        ("reduction", 3),
        ("matmul", 1),
        ("join", 1),
        ("compare", 1),
        ("view", 5),
        ("detach", 1),
        ("inplace", 4),
        ("retain", 1),
        ("read", 1),
        ("model", 1),
    )

    def statement(self) -> str:
        names = [n for n, w in self.FAMILIES for _ in range(w)]
        if not self.runner.tensors():
            return self.leaf()
        family = self.draw(st.sampled_from(names))
        line = getattr(self, family)()
        if family in self.UNDER_NO_GRAD and "\n" not in line and self.draw(st.integers(0, 7)) == 0:
            return f"with T.no_grad():\n    {line}"
        return line

    UNDER_NO_GRAD = ("binary", "power", "unary", "reduction", "view", "join", "matmul")

    # -- the ending: a backward pass or autograd.grad ----------------------------------
    def ending(self) -> Any:
        """The last lines, yielded one at a time (each drawn after the previous one ran)."""
        env = self.runner.tensors()
        floats = [n for n, t in env.items() if t.dtype in (torch.float32, torch.float64)]
        if not floats:
            return
        rg = [n for n in floats if env[n].requires_grad] or floats
        outs = self.draw(st.lists(st.sampled_from(rg[-4:]), min_size=1, max_size=2, unique=True))
        terms = []
        for o in outs:
            t = env[o]
            if t.numel() == 0:
                terms.append(f"({o} * T.ones_like({o})).sum()")
                continue
            w = self.draw(data_literal(tuple(t.shape), ints=False))
            terms.append(f"({o} * T.tensor({w}, dtype=T.{str(t.dtype).replace('torch.', '')})).sum()")
        forms = (
            "backward",
            "backward",
            "twice",
            "freed",
            "modify",
            "clear",
            "gradient",
            "functional",
            "create",
        )
        form = self.draw(st.sampled_from(forms + ("grad", "grad2")))
        leaves = [n for n, t in env.items() if t.is_leaf and t.requires_grad]
        if form == "gradient":
            o = outs[0]
            t = env[o]
            if t.numel():
                w = self.draw(data_literal(tuple(t.shape), ints=False))
                yield f"{o}.backward(gradient=T.tensor({w}, dtype=T.{str(t.dtype).replace('torch.', '')}))"
                return
        yield f"loss = {' + '.join(terms)}"
        if form in ("grad", "grad2") and leaves:
            ins = self.draw(st.lists(st.sampled_from(leaves), min_size=1, max_size=3, unique=True))
            cg = form == "grad2"
            go = ", grad_outputs=T.ones_like(loss)" if self.draw(st.booleans()) else ""
            yield f"gs = T.autograd.grad(loss, [{', '.join(ins)}]{go}, create_graph={cg})"
            if cg:
                yield "g2 = sum((g * g).sum() for g in gs)"
                yield "g2.backward()"
        elif form == "twice":
            yield "loss.backward(retain_graph=True)"
            yield "loss.backward()"
        elif form == "freed":  # the second backward finds the graph freed
            yield "loss.backward()"
            yield "loss.backward()"
        elif form == "modify":
            yield "loss.backward(retain_graph=True)"
            yield self.inplace()
            yield "loss.backward()"
        elif form == "clear" and leaves:
            yield "loss.backward(retain_graph=True)"
            yield f"{self.draw(st.sampled_from(leaves))}.grad = None"
            yield "loss.backward()"
        elif form == "functional":
            yield "T.autograd.backward([loss])"
        elif form == "create":
            yield "loss.backward(create_graph=True)"
        else:
            yield "loss.backward()"


# -- the differential property --------------------------------------------------------

MAX_STATEMENTS = 12


def run_differential(data: Any) -> None:
    """Draw a program statement by statement on torch; replay on the reference; compare."""
    program = Program()
    tr, rr = Runner(torch, is_torch=True), Runner(R, is_torch=False)
    drawer = Draw(data, tr, program)
    n = data.draw(st.integers(1, MAX_STATEMENTS), label="statements")

    def step(line: str) -> bool:
        program.lines.append(line)
        et = tr.run(line)
        if et and SET_ASIDE.search(tr.error or ""):
            reject()
        er = rr.run(line)
        note_program = program.source()
        if et != er:
            raise AssertionError(
                f"error class differs at the last line: torch {tr.error if et else 'no error'}, "
                f"reference {rr.error if er else 'no error'}\n\n{note_program}"
            )
        try:
            why = compare_state(tr, rr)
        except RuntimeError as exc:  # torch refusing to read a tensor it forbids (set aside)
            if SET_ASIDE.search(str(exc)):
                reject()
            raise
        if why:
            raise AssertionError(f"{why}\n\n{note_program}")
        return et is None

    for _ in range(n):
        if not step(drawer.statement()):
            return
    for line in drawer.ending():
        if not step(line):
            return
    note(program.source())


def _settings() -> settings:
    programs = os.environ.get("GRADSPEC_FUZZ_PROGRAMS")
    extra: dict[str, Any] = {"suppress_health_check": list(HealthCheck), "deadline": None}
    if programs:
        extra.update(max_examples=int(programs), derandomize=False, database=None)
    else:
        extra.update(max_examples=max(settings().max_examples * 6, 150))
    return settings(**extra)


@_settings()
@given(st.data())
def test_reference_agrees_with_torch_on_random_programs(data: Any) -> None:
    run_differential(data)


# -- the fuzzer's own checks: it can fail, and what it prints runs ----------------------


def test_comparison_catches_a_wrong_value_dtype_and_error_class() -> None:
    """The comparison is not vacuous: a value, a dtype and an error class that differ are caught."""
    tr, rr = Runner(torch, True), Runner(R, False)
    tr.run("x = T.tensor([1.0, 2.0])")
    rr.run("x = T.tensor([1.0, 2.5])")
    assert "values" in (compare_state(tr, rr) or "")
    rr.run("x = T.tensor([1.0, 2.0], dtype=T.float64)")
    assert "float64" in (compare_state(tr, rr) or "")
    assert tr.run("y = T.ones(2).sum(5)") == "IndexError"
    assert values_differ(np.array([np.nan, 1.0]), np.array([np.nan, 1.0]), "float32") is None
    assert values_differ(np.array([np.inf]), np.array([-np.inf]), "float32") is not None


def test_reference_runtime_warnings_are_errors_in_the_fuzzer() -> None:
    rr = Runner(R, False)
    # A warning from inside the reference would be an error class no torch program raises.
    assert rr.run("import warnings; warnings.warn('x', RuntimeWarning)") == "RuntimeWarning"


def test_printed_program_runs_on_torch() -> None:
    program = Program(["a = T.tensor([1.0, 2.0], requires_grad=True)", "b = (a * 2).sum()", "b.backward()"])
    env: dict[str, Any] = {}
    exec(program.source(), env)  # noqa: S102
    assert env["a"].grad.tolist() == [2.0, 2.0]
