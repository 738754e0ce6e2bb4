"""The graph and the backward pass (``T.autograd``).

Nodes are PyTorch's ``grad_fn`` objects: one per recorded op, whose class name is
PyTorch's (``MulBackward0``), pointing at the nodes of its inputs (``next``) and
holding what its derivative rule reads (``saved``). A leaf that requires grad is
reached through its ``AccumulateGrad`` node, as in PyTorch.

The backward pass is Kahn's algorithm over the reachable nodes: an iterative
count of each node's consumers, then a ready-stack, so a chain of a million
nodes runs in linear time with no recursion. Each behaviour the suite checks is
one small function looked up at call time, so a deliberately broken copy of the
engine (a mutant) can replace exactly one of them:

- :func:`accumulate_grad` -- how a leaf's ``.grad`` receives a gradient;
- :func:`release_saved` -- what "freeing the graph" means after a node runs;
- :func:`unpack_saved` -- the freed-graph and version-counter checks;
- :func:`make_root_grad` -- the implicit gradient of a scalar output;
- ``derivatives.sum_to_shape`` -- reducing a broadcast gradient to an input's shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from heapq import heappop, heappush
from operator import attrgetter
from typing import Any

import numpy as np

from . import derivatives as _derivatives
from .core import (  # noqa: F401 - re-exported: the graph's names live in T.autograd too
    GRAD_MODE,
    AccumulateGrad,
    Node,
    NothingSaved,
    Tensor,
    _new,
    _wrap,
    accumulator,
    gradient_edge,
    node_class,
)
from .quiet import hush, quiet, unhush

FREED_MESSAGE = (
    "Trying to backward through the graph a second time (or directly access saved tensors "
    "after they have already been freed). Saved intermediate values of the graph are freed "
    "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
    "backward through the graph a second time or if you need to access saved tensors after "
    "calling backward."
)


# -- the swappable behaviours ------------------------------------------------


def accumulate_grad(variable: Tensor, new: Tensor, owned: bool, create_graph: bool) -> None:
    """Add ``new`` into ``variable.grad`` (leaf gradients accumulate across backwards).

    The first gradient is stored as is when nothing else holds it (``owned``),
    else copied, so that ``w.grad.zero_()`` can never write into another
    tensor's gradient. Later ones are added in place, or out of place when the
    graph of the backward pass is being built.
    """
    old = variable._grad
    if old is None:
        data = new._data
        if create_graph:
            # torch copies the first gradient while building the backward graph: a leaf's
            # through new_empty_strided().copy_() (CopyBackwards), a retained non-leaf's
            # through clone() (CloneBackward0).
            if new._rg:
                from .ops import record

                rule = "grad_copy" if variable.grad_fn is None else "clone"
                new = record(rule, np.array(data), (new,))
            else:
                new = _wrap(np.array(data))
        elif not (owned and type(data) is np.ndarray):
            new = _wrap(np.array(data))
        variable._grad = new
    elif create_graph or new._rg or old._rg:
        prev = GRAD_MODE.enabled
        GRAD_MODE.enabled = create_graph
        try:
            variable._grad = old + new
        finally:
            GRAD_MODE.enabled = prev
    else:
        data = old._data
        if type(data) is not np.ndarray or not data.flags.writeable:
            old._data = data = np.array(data)
        np.add(data, new._data, out=data)
        vc = old._vc
        if vc is not None:
            vc[0] += 1


def release_saved(node: Node) -> None:
    """Free what the node saved (backward without retain_graph frees the graph).

    A node whose every saved slot was skipped (``None``: each was read only for an
    input that does not require grad) saved nothing, and stays unfreed: torch's
    never-saved ``SavedVariable`` unpacks to nothing on every backward, never
    raising the freed-graph error.
    """
    saved = node.saved
    if saved and type(saved) is not NothingSaved:
        node.saved = None


def unpack_saved(node: Node, create_graph: bool) -> tuple[Any, ...]:
    """The values the node's formulas read, after the freed and version checks."""
    saved = node.saved
    if saved is None:
        raise RuntimeError(
            FREED_MESSAGE + f" (The saved tensors of {type(node).__name__} were freed by an "
            "earlier backward.)"
        )
    versions = node.versions
    if versions is not None:
        for t, v in zip(saved, versions, strict=True):
            if v is not None:
                vc = t._vc
                now = 0 if vc is None else vc[0]
                if now != v:
                    raise RuntimeError(
                        "one of the variables needed for gradient computation has been "
                        f"modified by an inplace operation: [{t.dtype.name} tensor of shape "
                        f"{list(t.shape)}], which is saved by {type(node).__name__}, is at "
                        f"version {now}; expected version {v} instead. Hint: the in-place op "
                        "changed a value the derivative needs; use an out-of-place op "
                        "(x = x + 1 rather than x += 1) or clone() the tensor before it."
                    )
    pos = node.rule.result_pos
    if create_graph and pos >= 0:
        # The saved result is stored without its grad_fn (no reference cycle);
        # the graph of the backward pass needs it back.
        alias = saved[pos]
        res = _wrap(alias._data)
        res._rg = True
        res.grad_fn = node
        res._vc = alias._vc
        saved = saved[:pos] + (res,) + saved[pos + 1 :]
    params = node.params
    return saved + params if params else saved


_STOCK_RELEASE = release_saved
_STOCK_UNPACK = unpack_saved


def make_root_grad(output: Tensor, gradient: Any, index: int) -> Tensor:
    """The gradient of an output: given, or implicitly 1 for a single-element output."""
    if gradient is None:
        if output._data.size != 1:
            raise RuntimeError(
                "grad can be implicitly created only for scalar outputs "
                f"(output {index} has shape {list(output.shape)}); pass gradient= "
                "(grad_tensors= / grad_outputs=) with the output's shape to weight its elements."
            )
        ones = np.empty(output._data.shape, dtype=output._data.dtype)
        ones.fill(1)  # cheaper than np.ones, whose Python wrapper costs more than this
        return _wrap(ones)
    if not isinstance(gradient, Tensor):
        gradient = _wrap(np.asarray(gradient, dtype=output._data.dtype))
    if gradient.shape != output.shape:
        raise RuntimeError(
            f"Mismatch in shape: grad_output[{index}] has a shape of {gradient.shape} and "
            f"output[{index}] has a shape of {output.shape}."
        )
    return gradient


# -- the backward pass --------------------------------------------------------


def apply_node(node: Node, grad: Tensor, create_graph: bool, needed: set[Node] | None) -> list[Tensor | None]:
    """Run the node's derivative rule: one gradient per input (None where not needed)."""
    values = unpack_saved(node, create_graph)
    rule = node.rule
    callers = rule.callers
    shapes = node.shapes
    sum_to_shape = _derivatives.sum_to_shape
    out: list[Tensor | None] = []
    with quiet():
        for i, nxt in enumerate(node.next):
            if nxt is None or (needed is not None and nxt not in needed):
                out.append(None)
                continue
            gi = callers[i](grad, values)
            if gi is not None:
                shape = shapes[i]
                if gi._data.shape != shape:
                    gi = sum_to_shape(gi, shape)
                gi = cast_grad(gi, node.dtypes[i], create_graph)
            out.append(gi)
    return out


def cast_grad(grad: Tensor, dtype: Any, create_graph: bool) -> Tensor:
    """A gradient in its input's dtype (torch casts each gradient to its input's metadata)."""
    if dtype is None or grad._data.dtype == dtype:
        return grad
    if create_graph and grad._rg:
        from .ops import to

        return to(grad, dtype)
    return _wrap(grad._data.astype(dtype))


def _needed_nodes(roots: list[Node], targets: set[Node]) -> set[Node]:
    """Nodes from which some target is reachable (only those run in autograd.grad).

    One sweep collects what the roots reach; then, in order of creation (every
    consumer is created after the nodes it feeds, leaves' AccumulateGrad first),
    a node is needed if it is a target or feeds a needed node.
    """
    reached = set(roots)
    stack = list(reached)
    order: list[Node] = []
    while stack:
        node = stack.pop()
        order.append(node)
        for child in node.next:
            if child is not None and child not in reached:
                reached.add(child)
                stack.append(child)
    order.sort(key=_creation)
    needed: set[Node] = set()
    for node in order:
        if node in targets or not needed.isdisjoint(node.next):
            needed.add(node)
    return needed


_creation = attrgetter("seq")


def run_backward(
    roots: Sequence[Node],
    grads: Sequence[Tensor],
    keep_graph: bool,
    create_graph: bool,
    targets: dict[Node, int] | None = None,
    accumulate: bool = True,
) -> list[Tensor | None]:
    """Propagate ``grads`` from ``roots`` through the graph.

    Nodes run in decreasing order of creation (their ``seq``), as in PyTorch:
    every consumer of a node was created after it, so when a node comes off the
    heap all the gradient it will receive has arrived. This needs no recursion
    and no dependency-counting pass, and is linear in the graph's size for
    chains. Leaves' AccumulateGrad nodes are sinks and run last.

    With ``targets`` (autograd.grad, or backward(inputs=...)) only the nodes that
    lead to a target run, and the gradient reaching each target is returned;
    ``accumulate`` says whether targets' ``.grad`` also receive it.

    Speed: while :func:`unpack_saved` and :func:`release_saved` are the module's own,
    their work is done inline (a call per node costs more than the checks); a
    replaced one (a mutant's) is called.
    """
    needed = None if targets is None else _needed_nodes(list(roots), set(targets))
    heap: list[tuple[int, Node]] = []
    buffers: dict[Node, Tensor] = {}
    leaf_bufs: dict[AccumulateGrad, Tensor] = {}
    shared: set[int] = set()  # ids of gradients that more than one place may hold
    for r, g in zip(roots, grads, strict=True):
        shared.add(id(g))
        bufs = leaf_bufs if type(r) is AccumulateGrad else buffers
        prev = bufs.get(r)
        if prev is None:
            bufs[r] = g
            if bufs is buffers:
                heappush(heap, (-r.seq, r))
        else:
            bufs[r] = prev + g
    captured: list[Tensor | None] = [None] * (len(targets) if targets else 0)

    acc_fn = accumulate_grad
    release = release_saved
    unpack = unpack_saved
    inline_release = release is _STOCK_RELEASE
    inline_unpack = unpack is _STOCK_UNPACK
    sum_to_shape = _derivatives.sum_to_shape
    pop = heappop
    push = heappush
    new = _new
    prev_mode = GRAD_MODE.enabled
    GRAD_MODE.enabled = create_graph
    token = hush()  # log(0), 0 * inf in formulas: values, never warnings
    try:
        node = None
        try:
            while heap:
                node = pop(heap)[1]
                g = buffers.pop(node)
                nexts = node.next
                if needed is not None:
                    if node not in needed:
                        continue
                    k = targets.get(node)  # type: ignore[union-attr]
                    if k is not None:
                        captured[k] = g
                    if needed.isdisjoint(nexts):
                        continue
                retained = node.retained
                if retained is not None:
                    t = retained()
                    if t is not None:
                        acc_fn(t, g, False, create_graph)
                rule = node.rule
                # A node none of whose inputs needs a gradient (only views made under
                # no_grad, say) still runs: torch unpacks its saved values (the version
                # check) and computes nothing.
                saved = node.saved
                versions = node.versions
                if saved is None or not inline_unpack or (create_graph and rule.result_pos >= 0):
                    values = unpack(node, create_graph)
                else:
                    if versions is not None:
                        # unpack_saved's version check, inline.
                        for t, v in zip(saved, versions, strict=True):
                            if v is not None:
                                vc = t._vc
                                if (0 if vc is None else vc[0]) != v:
                                    unpack(node, create_graph)  # raises, with the message
                    params = node.params
                    values = saved + params if params else saved
                # Formulas of entries marked ``arrays`` run on the raw arrays when
                # nothing is recorded: the same arithmetic without tensor wrappers.
                raw = rule.arrays and not create_graph
                if raw:
                    gx = g._data
                    if saved:
                        n = len(values)
                        if n == 2:  # the common sizes unrolled: no comprehension frame
                            v0, v1 = values
                            values = (
                                v0._data if isinstance(v0, Tensor) else v0,
                                v1._data if isinstance(v1, Tensor) else v1,
                            )
                        elif n == 1:
                            v0 = values[0]
                            values = (v0._data if isinstance(v0, Tensor) else v0,)
                        else:
                            values = tuple([v._data if isinstance(v, Tensor) else v for v in values])
                else:
                    gx = g
                for nxt, call, shape, dt in zip(nexts, rule.callers, node.shapes, node.dtypes, strict=False):
                    if nxt is None or (needed is not None and nxt not in needed):
                        continue
                    gi = call(gx, values)
                    if gi is None:
                        continue
                    if gi is gx:
                        gi = g
                        shared.add(id(g))
                    elif raw:
                        w = new(Tensor)  # _wrap, inlined
                        w._data = gi if type(gi) is np.ndarray else np.asarray(gi)
                        w._rg = False
                        w.grad_fn = None
                        gi = w
                    if gi._data.shape != shape:
                        gi = sum_to_shape(gi, shape)
                    if gi._data.dtype != dt:
                        gi = cast_grad(gi, dt, create_graph)
                    if type(nxt) is AccumulateGrad:
                        bufs = leaf_bufs
                    else:
                        bufs = buffers
                    prev = bufs.get(nxt)
                    if prev is None:
                        bufs[nxt] = gi
                        if bufs is buffers:
                            push(heap, (-nxt.seq, nxt))
                    elif create_graph:
                        bufs[nxt] = prev + gi
                    else:
                        bufs[nxt] = _wrap(prev._data + gi._data)
                if not keep_graph:
                    if inline_release:
                        if saved and type(saved) is not NothingSaved:  # release_saved, inline
                            node.saved = None
                    else:
                        release(node)
        except Exception:
            if accumulate:
                _accumulate_finished(node, heap, leaf_bufs, targets, acc_fn, create_graph)
            raise
        for acc, g in leaf_bufs.items():
            if targets is not None:
                k = targets.get(acc)
                if k is None:
                    continue
                captured[k] = g
                if not accumulate:
                    continue
            acc_fn(acc.variable, g, id(g) not in shared and g._data.base is None, create_graph)
    finally:
        unhush(token)
        GRAD_MODE.enabled = prev_mode
    return captured


def _accumulate_finished(
    failed: Node | None,
    heap: list[tuple[int, Node]],
    leaf_bufs: dict[AccumulateGrad, Tensor],
    targets: dict[Node, int] | None,
    acc_fn: Any,
    create_graph: bool,
) -> None:
    """When a node raises mid-backward, give the leaves torch would already have updated
    their gradient: torch runs a leaf's AccumulateGrad as soon as every gradient for it has
    arrived, so a leaf no pending node leads to has its ``.grad`` even though backward failed.
    """
    pending: set[Node] = set()
    stack = [n for _, n in heap] + ([failed] if failed is not None else [])
    while stack:
        n = stack.pop()
        if n in pending:
            continue
        pending.add(n)
        stack.extend(c for c in n.next if c is not None and c not in pending)
    for acc, g in leaf_bufs.items():
        if acc in pending or (targets is not None and acc not in targets):
            continue
        acc_fn(acc.variable, g, False, create_graph)


def _as_tuple(x: Any) -> tuple[Any, ...]:
    if x is None:
        return ()
    if isinstance(x, Tensor):
        return (x,)
    return tuple(x)


def _roots(outputs: tuple[Tensor, ...], grads: Any) -> tuple[list[Node], list[Tensor]]:
    if grads is None and len(outputs) == 1 and outputs[0]._rg and not outputs[0]._no_grad_view:
        out = outputs[0]  # loss.backward()
        root_grad = make_root_grad(out, None, 0)
        return [gradient_edge(out)], [root_grad]
    grads_t = _as_tuple(grads) if grads is not None else (None,) * len(outputs)
    if len(grads_t) != len(outputs):
        raise RuntimeError(f"grad_tensors has {len(grads_t)} elements but there are {len(outputs)} outputs")
    nodes: list[Node] = []
    root_grads: list[Tensor] = []
    for i, (out, g) in enumerate(zip(outputs, grads_t, strict=True)):
        if not out._rg:
            raise RuntimeError(
                f"element {i} of tensors does not require grad and does not have a grad_fn "
                "(nothing it was computed from requires grad, or it was computed under no_grad)"
            )
        edge = gradient_edge(out)
        if edge is None:  # a view made under no_grad: requires_grad, but no graph to run
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have a grad_fn")
        root_grads.append(make_root_grad(out, g, i))
        nodes.append(edge)
    return nodes, root_grads


def backward(
    tensors: Any,
    grad_tensors: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    grad_variables: Any = None,
    inputs: Any = None,
) -> None:
    """Accumulate the gradients of ``tensors`` into the ``.grad`` of the leaves."""
    outputs = _as_tuple(tensors)
    if grad_tensors is None:
        grad_tensors = grad_variables
    keep = create_graph if retain_graph is None else bool(retain_graph)
    nodes, root_grads = _roots(outputs, grad_tensors)
    targets = None
    if inputs is not None:
        ins = _as_tuple(inputs)
        if not ins:
            raise RuntimeError("`inputs` argument to `backward()` cannot be empty.")
        targets = {}
        for t in ins:
            if not t._rg:
                raise RuntimeError("One of the differentiated Tensors does not require grad")
            if t.grad_fn is not None and not t._retains_grad:
                t.retain_grad()
            edge = gradient_edge(t)
            if edge is not None:
                targets.setdefault(edge, len(targets))
    run_backward(nodes, root_grads, keep, create_graph, targets, accumulate=True)


def grad(
    outputs: Any,
    inputs: Any,
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    only_inputs: bool = True,
    allow_unused: bool | None = None,
    is_grads_batched: bool = False,
    materialize_grads: bool = False,
) -> tuple[Tensor | None, ...]:
    """The gradients of ``outputs`` with respect to ``inputs``; no ``.grad`` is touched."""
    outs = _as_tuple(outputs)
    ins = _as_tuple(inputs)
    keep = create_graph if retain_graph is None else bool(retain_graph)
    nodes, root_grads = _roots(outs, grad_outputs)
    targets: dict[Node, int] = {}
    edges = []
    for t in ins:
        if not t._rg:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
        e = gradient_edge(t)
        edges.append(e)
        if e is not None:
            targets.setdefault(e, len(targets))
    captured = run_backward(nodes, root_grads, keep, create_graph, targets, accumulate=False)
    result: list[Tensor | None] = []
    for t, e in zip(ins, edges, strict=True):
        g = None if e is None else captured[targets[e]]
        if g is None:
            if materialize_grads:
                g = _wrap(np.zeros_like(np.asarray(t._data)))
            elif not allow_unused:
                raise RuntimeError(
                    "One of the differentiated Tensors appears to not have been used in the "
                    "graph. Set allow_unused=True if this is the desired behavior."
                )
        elif not create_graph and g._rg:
            g = _wrap(g._data)
        result.append(g)
    return tuple(result)


class Function:
    """Placeholder so ``T.autograd.Function`` exists; custom functions are not supported."""

    @staticmethod
    def apply(*args: Any) -> Any:
        raise NotImplementedError("custom autograd.Function is not supported by the reference")
