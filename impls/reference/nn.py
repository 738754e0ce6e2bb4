"""``T.nn``: Parameter, Module and the layers and losses the note uses.

Module registers Parameters and sub-Modules on assignment (``self.features =
Linear(2, 1)``), as torch does; they are also kept in the instance dict so that
attribute reads in ``forward`` cost nothing extra. Loss modules call
``functional`` through the module, so one function swap changes the loss.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

import numpy as np

from . import factories, functional, ops
from . import functional as F  # noqa: N812 - torch's alias, kept for readers
from .core import Tensor, _wrap

__all__ = ["F", "functional"]


class Parameter(Tensor):
    """A leaf tensor that requires grad and that Modules register."""

    __slots__ = ()
    _is_param = True

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True) -> Parameter:
        t = object.__new__(cls)
        arr = (
            np.zeros(0, np.float32)
            if data is None
            else (data._data if isinstance(data, Tensor) else np.asarray(data))
        )
        t._data = arr
        t._rg = False
        t.grad_fn = None
        if requires_grad:
            t.requires_grad = True
        return t

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True) -> None:
        pass

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class Module:
    """Base of layers: parameter registration, parameters(), train/eval, __call__."""

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "training", True)

    def __setattr__(self, name: str, value: Any) -> None:
        params = self.__dict__.get("_parameters")
        if params is None and isinstance(value, (Parameter, Module)):
            raise AttributeError("cannot assign parameters or modules before Module.__init__() call")
        if params is not None:
            params.pop(name, None)
            self._modules.pop(name, None)
            if isinstance(value, Parameter):
                params[name] = value
            elif isinstance(value, Module):
                self._modules[name] = value
            elif value is None and name in self.__dict__ and name in params:
                params[name] = None
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register a parameter (or None, kept as a named absence)."""
        self._parameters[name] = param
        object.__setattr__(self, name, param)

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Register a non-parameter tensor that belongs to the module's state."""
        self._buffers[name] = tensor
        object.__setattr__(self, name, tensor)

    def add_module(self, name: str, module: Module | None) -> None:
        """Register a sub-module."""
        self._modules[name] = module
        object.__setattr__(self, name, module)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} has no forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    def named_parameters(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Parameter]]:
        """(name, parameter) pairs, sub-modules' included, each parameter once."""
        seen: set[int] = set()
        for mod_prefix, mod in self.named_modules(prefix=prefix) if recurse else [(prefix, self)]:
            for name, p in mod._parameters.items():
                if p is None or id(p) in seen:
                    continue
                seen.add(id(p))
                yield (mod_prefix + "." if mod_prefix else "") + name, p

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Every parameter once, in registration order."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_modules(self, memo: set[int] | None = None, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """(name, module) pairs for this module and every descendant."""
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is not None:
                yield from m.named_modules(memo, prefix + ("." if prefix else "") + name)

    def modules(self) -> Iterator[Module]:
        """This module and every descendant."""
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """Direct sub-modules with their names."""
        for name, m in self._modules.items():
            if m is not None:
                yield name, m

    def children(self) -> Iterator[Module]:
        """Direct sub-modules."""
        for _, m in self.named_children():
            yield m

    def train(self, mode: bool = True) -> Module:
        """Set training mode here and in every sub-module."""
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self) -> Module:
        """Set evaluation mode."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Set requires_grad on every parameter."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's gradient (to None by default, as in torch 2)."""
        for p in self.parameters():
            if set_to_none:
                p._grad = None
            elif p._grad is not None:
                p._grad.zero_()

    def state_dict(self) -> OrderedDict[str, Tensor]:
        """Parameters and buffers by dotted name (tensors detached, sharing data)."""
        out: OrderedDict[str, Tensor] = OrderedDict()
        for prefix, m in self.named_modules():
            for group in (m._parameters, m._buffers):
                for name, t in group.items():
                    if t is not None:
                        out[(prefix + "." if prefix else "") + name] = _wrap(t._data)
        return out

    def load_state_dict(self, state: dict[str, Tensor], strict: bool = True) -> Any:
        """Copy values in place from a state_dict."""
        own = self.state_dict()
        missing = [k for k in own if k not in state]
        unexpected = [k for k in state if k not in own]
        if strict and (missing or unexpected):
            raise RuntimeError(f"Error(s) in loading state_dict: missing {missing}, unexpected {unexpected}")
        for k, v in state.items():
            if k in own:
                own[k]._data[...] = v._data if isinstance(v, Tensor) else v
        return missing, unexpected

    def to(self, *args: Any, **kwargs: Any) -> Module:
        """Convert every floating parameter (and its .grad) in place, as torch's Module.to does.

        Devices other than cpu are refused, as :func:`ops.to` refuses them.
        """
        target = ops.target_dtype(*args, **kwargs)
        if target is None or target.kind != "f":
            return self
        for param in self.parameters():
            if param._data.dtype.kind == "f" and param._data.dtype != target:
                param._data = param._data.astype(target)
                if param.grad is not None:
                    param.grad._data = param.grad._data.astype(target)
        return self

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__}({self.extra_repr()}"]
        for name, m in self._modules.items():
            lines.append(f"  ({name}): " + repr(m).replace("\n", "\n  "))
        return lines[0] + (")" if len(lines) == 1 else "\n" + "\n".join(lines[1:]) + "\n)")


class Linear(Module):
    """y = x W^T + b, with torch's default initialisation U(-1/sqrt(in), 1/sqrt(in))."""

    def __init__(
        self, in_features: int, out_features: int, bias: bool = True, device: Any = None, dtype: Any = None
    ) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        bound = 1 / math.sqrt(in_features) if in_features > 0 else 0
        dt = np.float32 if dtype is None else getattr(dtype, "np", dtype)
        rng = factories.generator()
        self.weight = Parameter(_wrap(rng.uniform(-bound, bound, (out_features, in_features)).astype(dt)))
        if bias:
            self.bias = Parameter(_wrap(rng.uniform(-bound, bound, (out_features,)).astype(dt)))
        else:
            self.register_parameter("bias", None)

    def forward(self, input: Tensor) -> Tensor:
        return functional.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
        )


class Sigmoid(Module):
    """Elementwise logistic function."""

    def forward(self, input: Tensor) -> Tensor:
        return functional.sigmoid(input)


class ReLU(Module):
    """Elementwise max(x, 0)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:
        return functional.relu(input)


class Tanh(Module):
    """Elementwise tanh."""

    def forward(self, input: Tensor) -> Tensor:
        return functional.tanh(input)


class Identity(Module):
    """Returns its input."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:
        return input


class Flatten(Module):
    """Flatten dims start_dim..end_dim (batch kept by default)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input: Tensor) -> Tensor:
        return input.flatten(self.start_dim, self.end_dim)


class Softmax(Module):
    """Softmax along ``dim``."""

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return functional.softmax(input, self.dim)


class Sequential(Module):
    """Modules applied in order; indexable (net[0]) and iterable."""

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, m in modules[0].items():
                self.add_module(name, m)
        else:
            for i, m in enumerate(modules):
                self.add_module(str(i), m)

    def forward(self, input: Any) -> Any:
        for m in self._modules.values():
            input = m(input)
        return input

    def __getitem__(self, idx: int | slice) -> Any:
        mods = list(self._modules.values())
        if isinstance(idx, slice):
            return Sequential(*mods[idx])
        return mods[idx]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(list(self._modules.values()))

    def append(self, module: Module) -> Sequential:
        self.add_module(str(len(self._modules)), module)
        return self


class _Loss(Module):
    def __init__(self, size_average: Any = None, reduce: Any = None, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = reduction


class BCELoss(_Loss):
    """Binary cross entropy on probabilities (mean over elements by default)."""

    def __init__(
        self,
        weight: Tensor | None = None,
        size_average: Any = None,
        reduce: Any = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(reduction=reduction)
        self.weight = weight

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return functional.binary_cross_entropy(input, target, self.weight, reduction=self.reduction)


class MSELoss(_Loss):
    """Mean squared error (mean by default)."""

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return functional.mse_loss(input, target, reduction=self.reduction)


class CrossEntropyLoss(_Loss):
    """log_softmax + nll_loss over class indices (mean by default)."""

    def __init__(
        self,
        weight: Tensor | None = None,
        size_average: Any = None,
        ignore_index: int = -100,
        reduce: Any = None,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__(reduction=reduction)
        self.weight = weight
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return functional.cross_entropy(
            input, target, self.weight, ignore_index=self.ignore_index, reduction=self.reduction
        )


class NLLLoss(_Loss):
    """Negative log-likelihood over class indices."""

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return functional.nll_loss(input, target, reduction=self.reduction)
