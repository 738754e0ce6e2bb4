"""Mutants with one bug in training: the SGD update, the losses, zero_grad."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from gradspec.impls.mutants.zoo import mutant, replaced


def _sgd(ref: ModuleType, variant: str) -> Any:
    """The reference's SGD update with one deliberate change (``variant``)."""

    def sgd_update(
        param: Any,
        grad: np.ndarray,
        state: dict[str, Any],
        lr: float,
        momentum: float,
        dampening: float,
        weight_decay: float,
        nesterov: bool,
        maximize: bool,
    ) -> None:
        p = param._data
        d = -grad if maximize else grad
        if weight_decay != 0 and variant != "weight-decay-after-momentum":
            d = d + weight_decay * p
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = np.array(d, dtype=p.dtype)
            else:
                buf *= momentum
                if variant == "implicit-dampening":
                    buf += (1 - momentum) * d  # dampening taken as momentum
                else:
                    buf += (1 - dampening) * d
            d = d + momentum * buf if nesterov and variant != "nesterov-ignored" else buf
        if weight_decay != 0 and variant == "weight-decay-after-momentum":
            d = d + weight_decay * p
        p -= lr * d
        ref.ops.bump_version(param)

    return replaced(ref.optim, "sgd_update", sgd_update)


@mutant(
    "sgd-momentum-implicit-dampening",
    bug=(
        "SGD's momentum buffer is updated as m·buf + (1 - m)·g (an exponential average), as if "
        "dampening were the momentum, instead of m·buf + (1 - dampening)·g."
    ),
    where="optim.sgd_update",
)
def sgd_momentum_implicit_dampening(ref: ModuleType) -> Any:
    return _sgd(ref, "implicit-dampening")


@mutant(
    "sgd-nesterov-ignored",
    bug="SGD(nesterov=True) steps along the momentum buffer, as plain momentum does, instead of g + m·buf.",
    where="optim.sgd_update",
)
def sgd_nesterov_ignored(ref: ModuleType) -> Any:
    return _sgd(ref, "nesterov-ignored")


@mutant(
    "sgd-weight-decay-after-momentum",
    bug="SGD adds weight decay to the step after the momentum buffer instead of to the gradient before it.",
    where="optim.sgd_update",
)
def sgd_weight_decay_after_momentum(ref: ModuleType) -> Any:
    return _sgd(ref, "weight-decay-after-momentum")


@mutant(
    "bce-sums",
    bug="BCELoss sums over the elements whatever the reduction, instead of averaging by default.",
    where="functional.binary_cross_entropy",
)
def bce_sums(ref: ModuleType) -> Any:
    original = ref.functional.binary_cross_entropy

    def binary_cross_entropy(
        input: Any,
        target: Any,
        weight: Any = None,
        size_average: Any = None,
        reduce: Any = None,
        reduction: str = "mean",
    ) -> Any:
        return original(input, target, weight, reduction="sum")

    return replaced(ref.functional, "binary_cross_entropy", binary_cross_entropy)


@mutant(
    "mse-gradient-halved",
    bug="MSELoss's gradient drops the factor 2 of d(x - t)²/dx.",
    where="derivatives.DERIVATIVES['mse_loss']",
)
def mse_gradient_halved(ref: ModuleType) -> Any:
    def self_rule(grad: Any, self: Any, target: Any, reduction: str) -> Any:
        g = grad * (self - target)
        return g / self._data.size if reduction == "mean" else g

    return ref.derivatives.patched("mse_loss", self=self_rule)


@mutant(
    "zero-grad-noop",
    bug=(
        "optimizer.zero_grad() leaves the gradients in place, so every step uses the sum of all "
        "gradients so far."
    ),
    where="optim.Optimizer.zero_grad",
)
def zero_grad_noop(ref: ModuleType) -> Any:
    return replaced(ref.optim.Optimizer, "zero_grad", lambda self, set_to_none=True: None)


@mutant(
    "mse-mean-over-batch",
    bug=(
        "MSELoss's mean divides by the batch size (the first dim) instead of the number of "
        "elements: right for 1-d inputs, too large by the number of columns for (N, k) ones."
    ),
    where="functional.mse_loss",
    narrow=True,
)
def mse_mean_over_batch(ref: ModuleType) -> Any:
    original = ref.functional.mse_loss
    ops = ref.ops

    def mse_loss(input: Any, target: Any, reduction: str = "mean") -> Any:
        if reduction != "mean" or input.dim() == 0:
            return original(input, target, reduction=reduction)
        return ops.div(original(input, target, reduction="sum"), input.shape[0])

    return replaced(ref.functional, "mse_loss", mse_loss)


@mutant(
    "cross-entropy-mean-over-all-elements",
    bug=(
        "cross_entropy's mean divides by the number of logits (N·C) instead of the number of "
        "samples N: the loss and its gradients come out C times too small."
    ),
    where="functional.cross_entropy",
    narrow=True,
)
def cross_entropy_mean_over_all_elements(ref: ModuleType) -> Any:
    original = ref.functional.cross_entropy
    ops = ref.ops

    def cross_entropy(input: Any, target: Any, weight: Any = None, *args: Any, **kwargs: Any) -> Any:
        reduction = kwargs.pop("reduction", "mean")
        if reduction != "mean" or weight is not None or args:
            return original(input, target, weight, *args, reduction=reduction, **kwargs)
        return ops.div(original(input, target, reduction="sum", **kwargs), input.numel())

    return replaced(ref.functional, "cross_entropy", cross_entropy)
