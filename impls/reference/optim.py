"""``T.optim``: SGD with torch's exact update.

The update of one parameter is :func:`sgd_update`, looked up at each step, so a
mutant can replace exactly that rule (momentum, dampening, nesterov, weight
decay) and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .core import Tensor
from .ops import bump_version


class Optimizer:
    """Parameter groups, per-parameter state and zero_grad, as in torch."""

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self.state: dict[Tensor, dict[str, Any]] = {}
        self.param_groups: list[dict[str, Any]] = []
        params = list(params)
        if not params:
            raise ValueError("optimizer got an empty parameter list")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        for g in groups:
            self.add_param_group(g)

    def add_param_group(self, group: dict[str, Any]) -> None:
        """Add a group; missing hyperparameters come from the defaults."""
        g = dict(group)
        p = g["params"]
        g["params"] = [p] if isinstance(p, Tensor) else list(p)
        for k, v in self.defaults.items():
            g.setdefault(k, v)
        self.param_groups.append(g)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear gradients: to None by default (torch 2), else zero them in place."""
        for g in self.param_groups:
            for p in g["params"]:
                if set_to_none:
                    p._grad = None
                elif p._grad is not None:
                    p._grad.zero_()

    def state_dict(self) -> dict[str, Any]:
        return {"state": self.state, "param_groups": self.param_groups}


def sgd_update(
    param: Tensor,
    grad: np.ndarray,
    state: dict[str, Any],
    lr: float,
    momentum: float,
    dampening: float,
    weight_decay: float,
    nesterov: bool,
    maximize: bool,
) -> None:
    """One parameter's SGD step, torch's algorithm, in place on the parameter's array.

    d = grad (+ weight_decay * p); with momentum, buf = d on the first step, else
    buf = momentum * buf + (1 - dampening) * d, and d = d + momentum * buf
    (nesterov) or buf; then p -= lr * d (p += lr * d when maximizing).
    """
    p = param._data
    d = -grad if maximize else grad
    if weight_decay != 0:
        d = d + weight_decay * p
    if momentum != 0:
        buf = state.get("momentum_buffer")
        if buf is None:
            buf = state["momentum_buffer"] = np.array(d, dtype=p.dtype)
        else:
            buf *= momentum
            if dampening == 0:
                buf += d
            else:
                buf += (1 - dampening) * d
        d = d + momentum * buf if nesterov else buf
    p -= lr * d
    bump_version(param)


class SGD(Optimizer):
    """Stochastic gradient descent with momentum, dampening, nesterov, weight decay."""

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        foreach: Any = None,
        differentiable: bool = False,
        fused: Any = None,
    ) -> None:
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(
            params,
            {
                "lr": lr,
                "momentum": momentum,
                "dampening": dampening,
                "weight_decay": weight_decay,
                "nesterov": nesterov,
                "maximize": maximize,
            },
        )

    def step(self, closure: Any = None) -> Any:
        """Update every parameter that has a gradient."""
        loss = closure() if closure is not None else None
        update = sgd_update  # looked up per step so a mutant's replacement is used
        for g in self.param_groups:
            lr, mom, damp = g["lr"], g["momentum"], g["dampening"]
            wd, nest, maxi = g["weight_decay"], g["nesterov"], g["maximize"]
            for p in g["params"]:
                grad = p._grad
                if grad is None:
                    continue
                st = self.state.get(p)
                if st is None:
                    st = self.state[p] = {}
                update(p, grad._data, st, lr, mom, damp, wd, nest, maxi)
        return loss
