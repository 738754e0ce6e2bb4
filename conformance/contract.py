"""The engine contract: every call the cases make, grouped by capability, recorded from a run.

``docs/engine-contract.md`` is what an engine author reads to know what to offer.
It is generated, never written by hand, so it cannot drift from the code: this
module runs every claim once on the reference engine while recording each call
the *case* makes (not the engine's own internal calls) — the namespace functions
(``T.tensor``, ``T.nn.Linear``, ``T.optim.SGD``...), the tensor, module and
optimiser methods and attributes, and the operators — with the form of each call
(positional types and keyword names: ``Tensor.backward(gradient=Tensor)``). Each
call is then filed under the capability that brings it (the op capabilities of
:mod:`gradspec.spec.capabilities` first, then the features of
:mod:`gradspec.spec.api`), beside the cases whose ``needs`` that capability gates.

Property claims are recorded over a few derandomized examples (the
``gradspec-contract`` profile), so the page is the same on every run of the same
code; their strategies may draw any op their engine offers.

``python -m gradspec.conformance.contract --write docs/engine-contract.md``
regenerates the page; ``--check`` exits 1 when the page is stale
(``tests/test_contract.py`` does the same).
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gradspec.spec.api import SUBSET, documented_names
from gradspec.spec.capabilities import CAPABILITIES, OP_CAPABILITIES

PAGE = Path(__file__).parents[1] / "docs" / "engine-contract.md"
PROFILE = "gradspec-contract"
EXAMPLES_PER_PROPERTY = 3

SUBMODULES = ("nn", "optim", "autograd")

NAMED_BY_PATH = ("op.", "nn.", "dtype.")
"""Fine capabilities a call's name alone brings (``T.cat``, ``T.nn.MSELoss``, ``T.float64``)."""

OPTION_KEYWORDS = frozenset({"momentum", "dampening", "nesterov", "weight_decay"})
"""SGD keywords whose value (zero or not) decides the capability, so forms show it."""

PROPERTIES = "(property claims)"
PROPERTY_FORM = "(drawn)"

CLASS_NAMES = {"Parameter": "Tensor", "Optimizer": "SGD", "_Loss": "Module"}
"""Reference base classes as the cases see them."""

OPERATORS: dict[str, str] = {
    "__add__": "a + b",
    "__radd__": "number + a",
    "__sub__": "a - b",
    "__rsub__": "number - a",
    "__mul__": "a * b",
    "__rmul__": "number * a",
    "__truediv__": "a / b",
    "__rtruediv__": "number / a",
    "__pow__": "a ** b",
    "__rpow__": "number ** a",
    "__neg__": "-a",
    "__matmul__": "a @ b",
    "__eq__": "a == b",
    "__ge__": "a >= b",
    "__iadd__": "a += b",
    "__getitem__": "a[index]",
    "__repr__": "repr(a)",
    "__len__": "len(a)",
    "__float__": "float(a)",
    "__bool__": "bool(a)",
    "__iter__": "iter(a)",
}
"""Operator methods the recording watches, and how a case spells each."""

OPERATOR_CAPABILITY: dict[str, str] = {
    "__matmul__": "op.matmul",
    "__getitem__": "op.index",
    "__iadd__": "in-place",
    "__truediv__": "op.div",
    "__rtruediv__": "op.div",
    "__sub__": "op.sub",
    "__rsub__": "op.sub",
    "__neg__": "op.neg",
}
"""Operators that are the spelling of an op capability; the rest belong to ``graph``."""

CALL_FORMS = (
    ("Tensor.backward", "gradient=", "`backward` takes the output's gradient as the keyword `gradient=`."),
    ("Tensor.add_", "(float)", "`add_` is given a Python number (`w.add_(1.0)`), not only a tensor."),
    ("Tensor.ge", "(float)", "`ge` compares with a Python number (`p.ge(0.5)`)."),
    (
        "Linear.weight",
        "",
        "`Linear.weight` is in PyTorch's (out, in) layout: the cases load fixed initial weights "
        "with `model.weight.copy_(...)` (under `no_grad`), so an engine storing (in, out) must "
        "present the transpose.",
    ),
    ("Tensor.copy_", "(Tensor)", "`copy_` copies another tensor's values in place (initial weights)."),
    (
        "T.tensor",
        "(float",
        "`tensor` takes a Python number for a 0-d tensor as well as nested lists, and `dtype=`.",
    ),
    ("Tensor.grad", "", "`.grad` is read (None until a backward reaches the tensor) and assigned `None`."),
)
"""(call, a piece of its recorded form, what to know): call forms the cases rely on.

Each is printed only when the recording shows it, so the page never documents a form
that no case uses any more."""


# -- recording ----------------------------------------------------------------------


@dataclass
class Recorded:
    """What the cases called: call name -> form -> the cases that made that call."""

    calls: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    case: str = ""
    failed: dict[str, str] = field(default_factory=dict)
    stand_ins: dict[tuple[int, str], type] = field(default_factory=dict, repr=False)

    def add(self, name: str, form: str) -> None:
        self.calls.setdefault(name, {}).setdefault(form, set()).add(self.case)

    def cases_calling(self, name: str) -> set[str]:
        return set().union(*self.calls.get(name, {}).values())


def _kind(value: Any) -> str:
    """A value as a call form shows it: its kind, never its contents."""
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float, str, slice)):
        return type(value).__name__
    if isinstance(value, (list, tuple)):
        inner = sorted({_kind(v) for v in value})
        brackets = "[]" if isinstance(value, list) else "()"
        return brackets[0] + (", ".join(inner) + ", ..." if inner else "") + brackets[1]
    module = type(value).__module__ or ""
    name = type(value).__name__
    if module.startswith("gradspec.impls.reference"):
        return "Tensor" if name == "Parameter" else name
    if name == "dtype":
        return "dtype"
    if callable(value):
        return "callable"
    return "object"


def _form(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    parts = [_kind(a) for a in args] + [
        f"{k}={'0' if k in OPTION_KEYWORDS and not v else _kind(v)}" for k, v in sorted(kwargs.items())
    ]
    return "(" + ", ".join(parts) + ")"


NOT_CASES = ("gradspec.impls", "gradspec.conformance", "hypothesis", "numpy", "_pytest", "pytest")
"""Modules whose calls are not a case's: the engine itself, the harness, libraries."""


def _from_case(depth: int = 2) -> bool:
    """Whether the code ``depth`` frames up is a case's (spec code, a program it executes, a
    test's claim), not the engine calling itself, the recorder or a library."""
    module = sys._getframe(depth).f_globals.get("__name__", "") or ""
    return not module.startswith(NOT_CASES)


class _Namespace:
    """``T`` for the recording: each attribute taken is recorded, each call with its form."""

    def __init__(self, target: Any, path: str, seen: Recorded) -> None:
        self._target = target
        self._path = path
        self._seen = seen

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        path = f"{self._path}.{name}"
        if self._path == "T" and name in SUBMODULES:
            return _Namespace(value, path, self._seen)
        if not callable(value) or isinstance(value, type) and name == "Module":
            self._seen.add(path, "")
            return value
        seen = self._seen

        if isinstance(value, type):
            # Classes are recorded when constructed, but stay classes (no_grad is entered,
            # Module is subclassed).
            return value if not _from_case() else _RecordingClass.of(value, path, seen)

        @functools.wraps(value)
        def call(*args: Any, **kwargs: Any) -> Any:
            seen.add(path, _form(args, kwargs))
            return value(*args, **kwargs)

        return call


class _RecordingClass:
    """Constructing a class from ``T`` records the constructor's form (one stand-in per
    recording, so a later recording never writes into an earlier one)."""

    @classmethod
    def of(cls, klass: type, path: str, seen: Recorded) -> type:
        key = (id(klass), path)
        made = seen.stand_ins.get(key)
        if made is None:

            def new(_cls: type, *args: Any, **kwargs: Any) -> Any:
                seen.add(path, _form(args, kwargs))
                return klass(*args, **kwargs)

            made = type(klass.__name__, (), {"__new__": new, "__recorded__": klass})
            seen.stand_ins[key] = made
        return made


def _public_name(obj: Any, name: str) -> str | None:
    """The reference class a case sees ``name`` on ``obj`` as from (Tensor, Linear, Module, SGD):
    the class defining it, or the object's own class for an instance attribute; None for a
    case's own class."""
    for klass in type(obj).__mro__:
        if klass.__module__.startswith("gradspec.impls.reference") and name in vars(klass):
            return CLASS_NAMES.get(klass.__name__, klass.__name__)
    if type(obj).__module__.startswith("gradspec.impls.reference") and name in _instance_dict(obj):
        return CLASS_NAMES.get(type(obj).__name__, type(obj).__name__)
    return None


def _instance_dict(obj: Any) -> dict[str, Any]:
    try:
        return object.__getattribute__(obj, "__dict__")
    except AttributeError:  # a class with __slots__
        return {}


def _record_access(cls: type, seen: Recorded) -> Callable[..., Any]:
    original = cls.__getattribute__

    def __getattribute__(self: Any, name: str) -> Any:  # noqa: N807 - the hook's own name
        value = original(self, name)
        if name.startswith("_") or not _from_case():
            return value
        # A case's own Module subclass: what it inherits is recorded, not its own attributes.
        owner = _public_name(self, name)
        if owner is None:
            return value
        label = f"{owner}.{name}"
        if getattr(value, "__self__", None) is self:  # a bound method: record its calls

            @functools.wraps(value)
            def call(*args: Any, **kwargs: Any) -> Any:
                seen.add(label, _form(args, kwargs))
                return value(*args, **kwargs)

            return call
        seen.add(label, "")
        return value

    return __getattribute__


def _record_operator(cls: type, name: str, seen: Recorded) -> Callable[..., Any]:
    original = getattr(cls, name)

    def operator(self: Any, *args: Any) -> Any:
        if _from_case():
            seen.add(f"Tensor.{name}", _form(args, {}))
        return original(self, *args)

    return operator


@contextmanager
def _patched(classes: list[type], seen: Recorded) -> Iterator[None]:
    """Record attribute access and operators on the reference engine's classes for the block."""
    saved: list[tuple[type, str, Any]] = []
    try:
        for cls in classes:
            saved.append((cls, "__getattribute__", cls.__dict__.get("__getattribute__")))
            cls.__getattribute__ = _record_access(cls, seen)  # type: ignore[method-assign]
            if cls.__name__ == "Tensor":
                for name in OPERATORS:
                    if hasattr(cls, name):
                        saved.append((cls, name, cls.__dict__.get(name)))
                        setattr(cls, name, _record_operator(cls, name, seen))
        yield
    finally:
        for cls, name, value in reversed(saved):
            if value is None:
                delattr(cls, name)
            else:
                setattr(cls, name, value)


def _reference_classes() -> list[type]:
    from gradspec.impls.reference import core, nn, optim

    return [core.Tensor, nn.Module, optim.Optimizer]


@contextmanager
def _few_examples() -> Iterator[None]:
    from hypothesis import settings

    from gradspec.spec.profiles import using_profile

    settings.register_profile(
        PROFILE,
        settings.get_profile("ci"),
        max_examples=EXAMPLES_PER_PROPERTY,
        derandomize=True,
        database=None,
    )
    with using_profile(PROFILE):
        yield


def record_calls(claims: list[Any] | None = None) -> Recorded:
    """Run every claim (or ``claims``) once on the reference engine, recording each call the
    cases make."""
    from gradspec.conformance.loader import load_engine
    from gradspec.spec.claims import all_claims

    reference = load_engine("reference")
    seen = Recorded()
    T = _Namespace(reference.namespace, "T", seen)
    with ExitStack() as stack:
        stack.enter_context(_few_examples())
        stack.enter_context(_patched(_reference_classes(), seen))
        for claim in all_claims() if claims is None else claims:
            seen.case = claim.id
            with reference.session():
                try:
                    claim.check(T)
                except Exception as exc:  # noqa: BLE001 - the calls made so far still count
                    # The reference engine passes every claim (its own tests say so); a claim
                    # failing here is someone's work in progress, and is named, not hidden.
                    seen.failed[claim.id] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    return seen


# -- filing calls under capabilities -----------------------------------------------------

_FEATURE_OF: dict[str, str] = {}


def capability_of(call: str, form: str = "") -> str | None:
    """The capability that brings ``call`` (None when spec/api.py documents it nowhere)."""
    name = call.split(".", 1)[1] if call.startswith(("T.", "Tensor.")) else None
    for capability, paths in OP_CAPABILITIES.items():
        if not capability.startswith(NAMED_BY_PATH):
            continue  # options, 0-d tensors: the call's form says (option_capabilities)
        for path in paths:
            bare = path.removeprefix("Tensor.")
            if call in (f"T.{path}", path) or (name is not None and name == bare):
                return capability
    if call.startswith("Tensor.__"):
        dunder = call.removeprefix("Tensor.")
        return OPERATOR_CAPABILITY.get(dunder, "graph") if dunder in OPERATORS else None
    if not _FEATURE_OF:
        for feature in SUBSET:
            for spelled in documented_names_of(feature.name):
                _FEATURE_OF.setdefault(spelled, feature.capability)
    if call in _FEATURE_OF:
        return _FEATURE_OF[call]
    if call.startswith("Tensor.") and f"T.{name}" in _FEATURE_OF:
        return _FEATURE_OF[f"T.{name}"]  # the method form of a namespace function (x.exp())
    return None


def documented_names_of(text: str) -> set[str]:
    from gradspec.spec.api import _NAME

    return set(_NAME.findall(text))


def option_capabilities(call: str, form: str) -> set[str]:
    """Capabilities a call's form asks for beyond its name: SGD options, float64, 0-d tensors."""
    found = set()
    if call == "T.optim.SGD":
        for option in sorted(OPTION_KEYWORDS):
            if f"{option}=" in form and f"{option}=0" not in form:
                found.add(f"optim.sgd.{option}")
    if call == "T.float64":
        found.add("dtype.float64")
    if call == "T.tensor" and form.startswith(("(float", "(int")):
        found.add("tensor.0d")
    return found


@dataclass(frozen=True)
class Contract:
    """The recording filed by capability, with what the page says about each."""

    recorded: Recorded
    needs: dict[str, frozenset[str]]
    kinds: dict[str, str]

    def by_capability(self) -> dict[str, dict[str, dict[str, set[str]]]]:
        """capability -> call -> form -> cases. Property claims count as one caller,
        :data:`PROPERTIES`, with no forms: which calls their random programs reach is
        stable, but which forms and which property reach them varies with the
        environment (profile, plugins), and the page must change only when the code does."""
        groups: dict[str, dict[str, dict[str, set[str]]]] = {}
        for call, forms in self.recorded.calls.items():
            for form, cases in forms.items():
                examples = {c for c in cases if self.kinds.get(c) == "example"}
                entries = [(form, examples)] if examples else []
                if cases - examples:
                    entries.append((PROPERTY_FORM, {PROPERTIES}))
                capabilities = {capability_of(call, form) or "undocumented", *option_capabilities(call, form)}
                for capability in capabilities:
                    slot = groups.setdefault(capability, {}).setdefault(call, {})
                    for key, who in entries:
                        slot.setdefault(key, set()).update(who)
        return groups

    def undocumented(self) -> list[str]:
        documented = documented_names() | {f"Tensor.{d}" for d in OPERATORS}
        names = set()
        for call in self.recorded.calls:
            if capability_of(call) is None or (
                call.startswith(("T.", "Tensor."))
                and not call.startswith("Tensor.__")
                and call not in documented
                and not (call.startswith("Tensor.") and f"T.{call.split('.', 1)[1]}" in documented)
            ):
                names.add(call)
        return sorted(names)

    def beyond_needs(self) -> dict[str, set[str]]:
        """Example cases that call what a capability outside their ``needs`` brings."""
        out: dict[str, set[str]] = {}
        for capability, calls in self.by_capability().items():
            if capability not in CAPABILITIES:
                continue
            for forms in calls.values():
                for cases in forms.values():
                    for case in cases:
                        if self.kinds.get(case) == "example" and capability not in self.needs[case]:
                            out.setdefault(case, set()).add(capability)
        return out


def build_contract(recorded: Recorded | None = None) -> Contract:
    from gradspec.spec.claims import all_claims

    claims = all_claims()
    return Contract(
        recorded=recorded if recorded is not None else record_calls(),
        needs={c.id: c.needs for c in claims},
        kinds={c.id: c.kind for c in claims},
    )


# -- the page ------------------------------------------------------------------------

HEADER = """\
# The engine contract

<!-- Generated by `python -m gradspec.conformance.contract --write docs/engine-contract.md`
     from spec/api.py, spec/capabilities.py and a recording run of every claim on the
     reference engine. Do not edit by hand: tests/test_contract.py fails when this page
     is stale or a case calls something it does not list. -->

Every call gradspec's cases make on an engine, grouped by the capability that brings
it, with the cases each capability gates. An engine is the namespace the cases call
`T` (as the note calls `torch`); a case calls nothing that is not on this page.
Declare the capabilities your engine has (`Engine(capabilities=...)`), or leave them
out and gradspec probes them (conformance/probe.py): the names must exist and, for
options, dtypes, 0-d tensors and each op, a tiny call must run without raising. A
case whose needs your engine lacks is *unsupported*, never failed; a property
claim draws only the ops and options your engine offers.

Forms show each call's positional arguments by kind and its keywords by name
(`Tensor` is a tensor of the engine, `float` a Python number, `[Tensor, ...]` a list
of tensors). Property claims are recorded over {examples} derandomized examples each;
their random programs may draw any op the engine offers, so they are listed under
every op capability they reached.
"""


def _cases(cases: set[str], limit: int = 12) -> str:
    ordered = sorted(cases - {PROPERTIES}) + ([PROPERTIES] if PROPERTIES in cases else [])
    shown = ", ".join(c if c == PROPERTIES else f"`{c}`" for c in ordered[:limit])
    return shown + (f" and {len(ordered) - limit} more" if len(ordered) > limit else "")


def _call_cell(call: str) -> str:
    dunder = call.removeprefix("Tensor.")
    return f"`{OPERATORS[dunder]}`" if call.startswith("Tensor.__") and dunder in OPERATORS else f"`{call}`"


def render(contract: Contract) -> str:
    """The Markdown page for ``contract``; the same recording always gives the same text."""
    from gradspec.conformance.probe import TRIALS

    groups = contract.by_capability()
    lines = [HEADER.format(examples=EXAMPLES_PER_PROPERTY)]
    lines += ["## Call forms the cases rely on", ""]
    for call, piece, text in CALL_FORMS:
        if any(piece in form for form in contract.recorded.calls.get(call, {})):
            lines.append(f"- {text}")
    lines.append("")
    lines += ["## Capabilities", ""]
    lines += [
        "| capability | calls | cases it gates (needs) | cases calling it |",
        "| --- | --- | --- | --- |",
    ]
    order = [c for c in CAPABILITIES if c in groups or any(c in n for n in contract.needs.values())]
    for capability in order:
        gated = {case for case, needs in contract.needs.items() if capability in needs}
        calling = set().union(*(s for f in groups.get(capability, {}).values() for s in f.values()))
        lines.append(
            f"| [`{capability}`](#{_anchor(capability)}) | {len(groups.get(capability, {}))} "
            f"| {len(gated)} | {len(calling)} |"
        )
    lines.append("")
    for capability in order:
        lines += [f"### {capability}", ""]
        paths = ", ".join(f"`{p}`" for p in CAPABILITIES[capability])
        probe = " and a tiny call must run" if capability in TRIALS else ""
        lines.append(f"Probed: {paths} must exist{probe}.")
        gated = {case for case, needs in contract.needs.items() if capability in needs}
        lines += ["", f"Gates: {_cases(gated) if gated else 'no case by its needs alone'}.", ""]
        calls = groups.get(capability, {})
        if calls:
            lines += ["| call | forms | cases calling it |", "| --- | --- | --- |"]
            for call in sorted(calls):
                forms = calls[call]
                written = sorted(f for f in forms if f and f != PROPERTY_FORM)
                shown = "<br>".join(f"`{f}`" for f in written) or (
                    "(attribute)" if "" in forms else "(in property programs)"
                )
                callers = set().union(*forms.values())
                lines.append(f"| {_call_cell(call)} | {shown} | {_cases(callers, 6)} |")
            lines.append("")
    beyond = contract.beyond_needs()
    lines += ["## Example cases calling beyond their needs", ""]
    if beyond:
        lines.append(
            "These example cases call something a capability outside their `needs` brings; "
            "an engine lacking it gets an error (AttributeError, NotImplementedError) there "
            "instead of *unsupported*, which an expectations file can list as a missing feature."
        )
        lines += ["", "| case | capabilities called, not in needs |", "| --- | --- |"]
        for case in sorted(beyond):
            lines.append(f"| `{case}` | {', '.join(f'`{c}`' for c in sorted(beyond[case]))} |")
    else:
        lines.append("None: every example case needs every capability it calls.")
    undocumented = contract.undocumented()
    if undocumented:
        lines += ["", "## Called but not documented in spec/api.py", ""]
        lines += [f"- `{call}`" for call in undocumented]
    return "\n".join(lines).rstrip() + "\n"


def _anchor(capability: str) -> str:
    return "".join(ch for ch in capability.lower() if ch.isalnum() or ch in "-_ ").replace(" ", "-")


# -- command line ----------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gradspec.conformance.contract",
        description="Generate docs/engine-contract.md from a recording run, or check it is current.",
    )
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", metavar="FILE", help="write the page to FILE ('-' for stdout)")
    action.add_argument("--check", metavar="FILE", help="exit 1 when FILE differs from the generated page")
    args = parser.parse_args(argv)
    contract = build_contract()
    for case, error in sorted(contract.recorded.failed.items()):
        print(
            f"warning: {case} failed on the reference engine ({error}); its calls may be partial",
            file=sys.stderr,
        )
    text = render(contract)
    if args.check:
        current = Path(args.check).read_text(encoding="utf-8") if Path(args.check).exists() else ""
        if current != text:
            print(f"{args.check} is stale; regenerate it with --write {args.check}", file=sys.stderr)
            return 1
        print(f"{args.check} is current")
        return 0
    if args.write == "-":
        sys.stdout.write(text)
    else:
        Path(args.write).write_text(text, encoding="utf-8")
        print(f"wrote {args.write}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
