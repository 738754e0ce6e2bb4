"""``T.nn.functional``: activations, linear and the losses.

Each loss is one primitive op with one node (BinaryCrossEntropyBackward0,
MseLossBackward0, NllLossBackward0), as in torch; the nn loss modules call these
functions through this module, so replacing ``functional.binary_cross_entropy``
changes BCELoss everywhere.
"""

from __future__ import annotations

from typing import Any

from . import ops
from .core import Tensor

linear = ops.linear
sigmoid = ops.sigmoid
tanh = ops.tanh
softmax = ops.softmax
log_softmax = ops.log_softmax
mse_loss = ops.mse_loss
nll_loss = ops.nll_loss


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(input, 0)."""
    return ops.relu(input)


def binary_cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
) -> Tensor:
    """Binary cross entropy of probabilities ``input`` against ``target``."""
    return ops.binary_cross_entropy(input, target, weight, reduction)


def cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: Any = None,
    ignore_index: int = -100,
    reduce: Any = None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """log_softmax then nll_loss over class indices (class probabilities also accepted)."""
    logp = ops.log_softmax(input, 1 if input.dim() > 1 else 0)
    if isinstance(target, Tensor) and target.dtype.is_floating_point:
        loss = -(target * logp)
        loss = ops.sum(loss, 1 if input.dim() > 1 else 0)
        if reduction == "mean":
            return ops.mean(loss)
        return ops.sum(loss) if reduction == "sum" else loss
    return ops.nll_loss(logp, target, weight, reduction, ignore_index)
