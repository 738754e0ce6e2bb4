"""The capabilities a case may need, and what an engine must offer to have each.

An engine lacking a capability gets *unsupported* for every case that needs it:
the case is not applicable, so it is neither a pass nor a failure. Engines declare
their capabilities; when they do not, the probe (conformance/probe.py) looks for the
attribute paths below and, where names cannot tell, makes one tiny call that must
not raise. Whether the features answer correctly is what the cases check.
"""

from __future__ import annotations

# capability -> attribute paths that an engine offering it has. Paths starting
# with "Tensor." are looked up on a tensor the probe creates with
# ``tensor([1.0], requires_grad=True)``; the rest on the engine's namespace.
CAPABILITIES: dict[str, tuple[str, ...]] = {
    "graph": (
        "tensor",
        "add",
        "mul",
        "pow",
        "Tensor.backward",
        "Tensor.grad",
        "Tensor.is_leaf",
        "Tensor.requires_grad",
        "Tensor.tolist",
        "Tensor.item",
        "Tensor.detach",
    ),
    "retain_grad": ("Tensor.retain_grad",),
    "grad_fn": ("Tensor.grad_fn",),
    "autograd.grad": ("autograd.grad", "autograd.backward"),
    # Higher-order derivatives cannot be seen from names; an engine that has
    # autograd.grad is assumed to honour create_graph until it declares otherwise.
    "create_graph": ("autograd.grad",),
    "no_grad": ("no_grad",),
    "in-place": ("Tensor.add_", "Tensor.zero_", "Tensor.copy_", "Tensor.__iadd__"),
    "nn": ("nn.Module", "nn.Linear", "nn.Sigmoid", "nn.Sequential", "nn.BCELoss"),
    "optim": ("optim.SGD",),
}


# Finer capabilities: one per op family and per option the property strategies can
# draw, so an engine lacking one op loses only the examples that would call it
# (strategies draw what the running engine offers; see spec.claims.offers). Named
# ``op.<function>``, ``optim.sgd.<option>``, ``nn.<piece>``, ``dtype.<name>`` and
# ``tensor.<form>``. Option and dtype capabilities cannot be seen from names, so the
# probe tries them with a tiny call (conformance/probe.py).
OP_CAPABILITIES: dict[str, tuple[str, ...]] = {
    "op.sub": ("sub",),
    "op.div": ("div",),
    "op.neg": ("neg",),
    "op.exp": ("exp",),
    "op.log": ("log",),
    "op.sqrt": ("sqrt",),
    "op.abs": ("abs",),
    "op.sigmoid": ("sigmoid",),
    "op.tanh": ("tanh",),
    "op.relu": ("relu",),
    "op.clamp": ("clamp",),
    "op.sum": ("sum",),
    "op.mean": ("mean",),
    "op.matmul": ("matmul",),
    "op.cat": ("cat",),
    "op.stack": ("stack",),
    "op.reshape": ("Tensor.reshape",),
    "op.unsqueeze": ("Tensor.unsqueeze",),
    "op.squeeze": ("Tensor.squeeze",),
    "op.transpose": ("Tensor.transpose",),
    "op.expand": ("Tensor.expand",),
    "op.index": ("Tensor.__getitem__",),
    "op.mul_": ("Tensor.mul_",),
    "nn.mse": ("nn.MSELoss",),
    "nn.cross_entropy": ("nn.CrossEntropyLoss",),
    "optim.sgd.momentum": ("optim.SGD",),
    "optim.sgd.dampening": ("optim.SGD",),
    "optim.sgd.nesterov": ("optim.SGD",),
    "optim.sgd.weight_decay": ("optim.SGD",),
    "dtype.float32": ("float32",),
    "dtype.float64": ("float64",),
    "tensor.0d": ("tensor",),
    # Tensors of more than one element: what a scalar-only engine (micrograd) lacks.
    "tensor.nd": ("tensor",),
}
CAPABILITIES.update(OP_CAPABILITIES)

COARSE_CAPABILITIES: frozenset[str] = frozenset(CAPABILITIES) - frozenset(OP_CAPABILITIES)
"""The nine capabilities claims' ``needs`` are mostly written in."""

ALL_CAPABILITIES: frozenset[str] = frozenset(CAPABILITIES)
