"""The note's running example, built once for every section that uses it.

The note returns to y = (x + w)(w + 1) at w = 1, x = 2 throughout its autograd
sections; building it in one place keeps the cases short and identical.
"""

from __future__ import annotations

from typing import Any, NamedTuple


class NoteGraph(NamedTuple):
    w: Any
    x: Any
    a: Any
    b: Any
    y: Any


def note_graph(T: Any, *, retain_a: bool = False) -> NoteGraph:
    """Build y = (x + w)(w + 1) with w = 1 and x = 2 as leaves that require grad."""
    w = T.tensor([1.0], requires_grad=True)
    x = T.tensor([2.0], requires_grad=True)
    a = T.add(w, x)
    if retain_a:
        a.retain_grad()
    b = T.add(w, 1)
    y = T.mul(a, b)
    return NoteGraph(w, x, a, b, y)


def note_graph_on(T: Any, w: Any, x: Any) -> Any:
    """The same expression over given leaves (for loops that rebuild it)."""
    return T.mul(T.add(w, x), T.add(w, 1))


def two_output_loss(T: Any) -> tuple[Any, Any, Any]:
    """The note's two-output loss, cat([(x+w)(w+1), (x+w)+10]), with its leaves."""
    w = T.tensor([1.0], requires_grad=True)
    x = T.tensor([2.0], requires_grad=True)
    a = T.add(w, x)
    b = T.add(w, 1)
    loss = T.cat([T.mul(a, b), T.add(a, 10)], dim=0)
    return w, x, loss
