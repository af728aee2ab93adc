"""Layers built from Tensor ops: Module, Linear, ReLU, Sequential, MSELoss.

A layer adds no derivative of its own. `Linear` is `X @ W + b`, `ReLU` is `x.relu()`, `MSELoss` is
`(pred - target).square().mean()`, so the recorded graph holds exactly the nodes of the exercise
sheet (matmul, add, relu, sub, square, mean) and backward is the engine's ordinary sweep.
`Module` only keeps track of which Tensors are trainable, as torch's `module.py` does.
"""
from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from .core.random import generator
from .core.tensor import Tensor, _as_dtype, from_numpy


class Module:
    """Base class of every layer and model: registers parameters and submodules by assignment.

    Assigning a leaf Tensor that requires grad to an attribute registers it as a parameter;
    assigning a Module registers it as a submodule; both keep their assignment order, as in
    torch's `module.py`. `named_parameters()` yields dotted paths ("0.weight", "hidden.bias"),
    and each parameter's `Tensor.name` defaults to that path so the graph renderer can label it
    (set `name` yourself, e.g. to "W1", and it is kept).

    Subclasses call `super().__init__()` first and implement `forward`; call the module itself,
    `model(x)`, to run it.

    Raises:
        AttributeError: a parameter or submodule is assigned before `Module.__init__` ran.

    Example:
        >>> model = Sequential(Linear(3, 4), ReLU(), Linear(4, 1))
        >>> [name for name, _ in model.named_parameters()]
        ['0.weight', '0.bias', '2.weight', '2.bias']
    """

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "training", True)

    def __setattr__(self, name: str, value: Any) -> None:
        is_parameter = isinstance(value, Tensor) and value.requires_grad and value.is_leaf
        params = self.__dict__.get("_parameters")
        if params is None:
            if is_parameter or isinstance(value, Module):
                raise AttributeError(
                    f"cannot assign {name!r} before Module.__init__() ran: "
                    "call super().__init__() first in your module's __init__"
                )
        else:
            modules = self._modules
            params.pop(name, None)
            modules.pop(name, None)
            if is_parameter:
                params[name] = value
                if value.name is None:
                    value.name = name
            elif isinstance(value, Module):
                modules[name] = value
                for path, p in value.named_parameters():
                    if p.name is None or p.name == path:
                        p.name = f"{name}.{path}"
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        object.__delattr__(self, name)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    # ------------------------------------------------------------ the module tree

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, "Module"]]:
        """Yield (dotted path, module) for this module and every submodule, parents first."""
        stack = [(prefix, self)]
        while stack:
            path, module = stack.pop()
            yield path, module
            children = [(f"{path}.{n}" if path else n, m) for n, m in module._modules.items()]
            stack.extend(reversed(children))

    def children(self) -> Iterator["Module"]:
        """The direct submodules, in assignment order."""
        return iter(self._modules.values())

    def named_parameters(self) -> Iterator[tuple[str, Tensor]]:
        """Yield (dotted path, parameter): this module's own in assignment order, then each submodule's.

        That is torch's order. A parameter shared by two submodules appears once.
        """
        seen: set[int] = set()
        for path, module in self.named_modules():
            for name, p in module._parameters.items():
                if id(p) not in seen:
                    seen.add(id(p))
                    yield (f"{path}.{name}" if path else name), p

    def parameters(self) -> Iterator[Tensor]:
        """Every trainable Tensor, in the order of `named_parameters()` (give it to an optimizer)."""
        return (p for _, p in self.named_parameters())

    def zero_grad(self) -> None:
        """Drop every parameter's gradient (set it to None, as torch's default set_to_none=True)."""
        for p in self.parameters():
            p.grad = None

    # ------------------------------------------------------------ modes and dtype

    def train(self, mode: bool = True) -> "Module":
        """Set the `training` flag on this module and every submodule; returns self."""
        for _, module in self.named_modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self) -> "Module":
        """Same as `train(False)`."""
        return self.train(False)

    def to(self, dtype: Any) -> "Module":
        """Convert every parameter (and its gradient) to `dtype` in place; returns self.

        Convert before building the optimizer: its state keeps the old dtype.
        """
        dtype = _as_dtype(dtype)
        for p in self.parameters():
            p.data = p.data.astype(dtype)
            if p.grad is not None:
                p.grad = Tensor(p.grad.data, dtype=dtype)
        return self

    def double(self) -> "Module":
        """Convert every parameter to float64 (for exact comparisons); returns self."""
        return self.to(np.float64)

    def float(self) -> "Module":
        """Convert every parameter to float32; returns self."""
        return self.to(np.float32)

    # ------------------------------------------------------------ printing

    def extra_repr(self) -> str:
        """The text inside this module's parentheses in its repr (e.g. Linear's sizes)."""
        return ""

    def __repr__(self) -> str:
        lines = [f"({name}): {module!r}".replace("\n", "\n  ") for name, module in self._modules.items()]
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"


class Linear(Module):
    """Affine layer: out = x @ weight + bias.

    `weight` has shape (in_features, out_features), so the graph reads X @ W + b exactly as on
    the exercise sheet. NOTE: torch.nn.Linear stores the transpose, (out_features, in_features),
    and computes x @ weight.T + bias; copy weights between the two with `.T`.

    Both tensors start as U(-1/sqrt(in_features), 1/sqrt(in_features)), torch's default, drawn
    from `minigrad.random.generator()` (weight first, then bias), so `manual_seed` fixes them.

    Args:
        in_features: size of each input row.
        out_features: size of each output row.
        bias: whether to add a learned bias (if False, `self.bias` is None).
        dtype: np.float32 (PyTorch's default) or np.float64.

    Raises:
        ValueError: a size below 1.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, dtype: Any = np.float32) -> None:
        super().__init__()
        if in_features < 1 or out_features < 1:
            raise ValueError(
                f"Linear needs in_features >= 1 and out_features >= 1, got ({in_features}, {out_features})"
            )
        self.in_features, self.out_features = in_features, out_features
        bound = 1.0 / math.sqrt(in_features)
        rng = generator()
        self.weight = Tensor(rng.uniform(-bound, bound, (in_features, out_features)), requires_grad=True, dtype=dtype)
        self.bias = None
        if bias:
            self.bias = Tensor(rng.uniform(-bound, bound, (out_features,)), requires_grad=True, dtype=dtype)

    def forward(self, x: Tensor) -> Tensor:
        out = x @ self.weight
        return out if self.bias is None else out + self.bias

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class ReLU(Module):
    """out = max(x, 0), elementwise (the graph shows one `relu` node)."""

    def forward(self, x: Tensor) -> Tensor:
        return x.relu()


class Sequential(Module):
    """Run modules one after another, each on the previous one's output.

    Given modules positionally, they are named "0", "1", ...; given one dict of name -> module,
    they keep those names, so parameters read "hidden.weight".

    Example:
        >>> Sequential({"hidden": Linear(3, 4), "relu": ReLU(), "output": Linear(4, 1)})
    """

    def __init__(self, *modules: Module | Mapping[str, Module]) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], Mapping):
            named = list(modules[0].items())
        else:
            named = [(str(i), m) for i, m in enumerate(modules)]
        for name, module in named:
            if not isinstance(module, Module):
                raise TypeError(f"Sequential takes Modules, got {type(module).__name__} for {name!r}")
            if "." in name or hasattr(type(self), name):
                raise ValueError(f"Sequential: {name!r} cannot name a layer (no dots, no method names)")
            setattr(self, name, module)

    def forward(self, x: Any) -> Any:
        # NOTE: calls each layer's forward directly, skipping Module.__call__ (a Python call per
        # layer per step); Module.__call__ adds nothing else, so the result is the same.
        for module in self._modules.values():
            x = module.forward(x)
        return x

    def __getitem__(self, index: int) -> Module:
        return list(self._modules.values())[index]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())


class MSELoss(Module):
    """Mean squared error: loss = mean((prediction - target)**2) over every element.

    Recorded as sub, square, mean, so its gradient is the engine's: 2 * (prediction - target) / N.
    The shapes must match exactly: an (N, 1) prediction against an (N,) target would broadcast
    to (N, N) in numpy and average N*N wrong differences without complaint.
    """

    def forward(self, prediction: Tensor, target: Any) -> Tensor:
        """The loss of `prediction` (a Tensor) against `target` (a Tensor, or an array that takes
        the prediction's dtype) of the same shape.

        Raises:
            ValueError: the shapes differ; the message names both. Nothing is recorded.
            TypeError: the prediction is not a Tensor.
        """
        if not isinstance(prediction, Tensor):
            raise TypeError(f"MSELoss: the prediction must be a Tensor, got {type(prediction).__name__}")
        if not isinstance(target, Tensor):
            target = from_numpy(np.asarray(target, dtype=prediction.dtype))
        if prediction.data.shape != target.data.shape:
            raise ValueError(_shape_mismatch(prediction.shape, target.shape))
        return (prediction - target).square().mean()


def _shape_mismatch(pred: tuple[int, ...], target: tuple[int, ...]) -> str:
    try:
        spread = f"numpy would broadcast them to {np.broadcast_shapes(pred, target)} and average the wrong pairs"
    except ValueError:
        spread = "they do not even broadcast"
    if math.prod(pred) == math.prod(target):
        fix = f"reshape the target, e.g. target.reshape({', '.join(map(str, pred))})"
    else:
        fix = "the target needs exactly one value per prediction"
    return f"MSELoss: prediction shape {pred} and target shape {target} differ; {spread}; {fix}"
