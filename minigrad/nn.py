"""Layers and losses built from Tensor ops, with torch.nn's names: Module, Parameter, Linear, the losses.

A layer adds no derivative of its own. `Linear` is `X @ W + b`, `ReLU` is `x.relu()`, `MSELoss` is
`(pred - target).square().mean()`, so the recorded graph holds exactly the nodes of the exercise
sheet (matmul, add, relu, sub, square, mean) and backward is the engine's ordinary sweep. The other
losses are compositions of the same ops, written to give torch's values and gradients.

`Module` keeps track of which tensors are trainable (its `Parameter`s) and of its submodules, as
torch's `module.py` does, and saves and loads them by name (`state_dict`). minigrad's `Linear.weight`
is (in, out), torch's (out, in): `to_torch_state_dict` and `from_torch_state_dict` convert between
the two layouts on plain arrays, so weights move between the libraries without minigrad importing torch.
"""
from __future__ import annotations

import math
from collections import OrderedDict, namedtuple
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from .core.grad_mode import no_grad
from .core.random import generator
from .core.tensor import Tensor, _as_dtype, from_numpy

# ---------------------------------------------------------------- Parameter and Module


class Parameter(Tensor):
    """A Tensor that a Module registers as trainable when assigned to one of its attributes (torch.nn.Parameter).

    It is a leaf that requires grad by default; ops on it return plain Tensors. Given a Tensor it
    shares that tensor's data, as torch's does; anything else is converted by `Tensor`'s rules.

    Args:
        data: a Tensor, an ndarray, numbers or nested lists (None: an empty float32 tensor).
        requires_grad: whether backward() computes its gradient (default True).

    Example:
        >>> class Scale(Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.s = Parameter(Tensor([2.0]))   # listed by parameters(), saved by state_dict()
        ...     def forward(self, x): return x * self.s
    """

    __slots__ = ()

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        super().__init__(np.empty(0, np.float32) if data is None else data, requires_grad)
        if isinstance(data, Tensor):
            self.data = data.data

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What `load_state_dict` returns: the keys it expected but did not get, and those it got but did not expect."""

    __slots__ = ()

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()


class Module:
    """Base class of every layer and model: registers parameters and submodules by assignment.

    Assigning a `Parameter` to an attribute registers it as a parameter; assigning a Module
    registers it as a submodule; both keep their assignment order, as in torch's `module.py`. A
    plain Tensor is an ordinary attribute, even if it requires grad: wrap it in `Parameter` to
    train it. `named_parameters()` yields dotted paths ("0.weight", "hidden.bias"), and each
    parameter's `Tensor.name` defaults to that path so the graph renderer can label it (set
    `name` yourself, e.g. to "W1", and it is kept).

    Subclasses call `super().__init__()` first and implement `forward`; call the module itself,
    `model(x)`, to run it.

    Raises:
        AttributeError: a parameter or submodule is assigned before `Module.__init__` ran.
        TypeError: something other than a Parameter (or None) assigned over a parameter, or other
            than a Module (or None) over a submodule, as torch refuses.

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
        params = self.__dict__.get("_parameters")
        if params is None:
            if isinstance(value, (Parameter, Module)):
                raise AttributeError(
                    f"cannot assign {name!r} before Module.__init__() ran: "
                    "call super().__init__() first in your module's __init__"
                )
        elif isinstance(value, Parameter):
            self._modules.pop(name, None)
            self._label(name, value)
            params[name] = value
        elif isinstance(value, Module):
            params.pop(name, None)
            self._label(name, value)
            self._modules[name] = value
        elif name in params or name in self._modules:
            registry, kind = (params, "Parameter") if name in params else (self._modules, "Module")
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__} as {kind.lower()} {name!r} (nn.{kind} or None expected)"
                    + ("; wrap a tensor in nn.Parameter to train it" if kind == "Parameter" else "")
                )
            registry[name] = None
        object.__setattr__(self, name, value)

    @staticmethod
    def _label(name: str, value: "Parameter | Module") -> None:
        """Name a parameter after its path unless the user named it (the renderer's labels)."""
        if isinstance(value, Parameter):
            if value.name is None:
                value.name = name
            return
        for path, p in value.named_parameters():
            if p.name is None or p.name == path:
                p.name = f"{name}.{path}"

    def __delattr__(self, name: str) -> None:
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a parameter (or None, a slot kept empty, like Linear's bias=False) under `name`."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign {type(param).__name__} as parameter {name!r} (nn.Parameter or None expected)")
        if param is None:
            self._modules.pop(name, None)
            self._parameters[name] = None
            object.__setattr__(self, name, None)
        else:
            setattr(self, name, param)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    # ------------------------------------------------------------ the module tree

    def named_modules(self, memo: set[int] | None = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple[str, "Module"]]:
        """Yield (dotted path, module) for this module and every submodule, parents first.

        A module reached twice (shared by two parents) is listed once, under its first path,
        unless `remove_duplicate` is False. `memo` holds the ids already listed, as torch's does.
        """
        memo = set() if memo is None else memo
        stack = [(prefix, self)]
        while stack:
            path, module = stack.pop()
            if remove_duplicate:
                if id(module) in memo:
                    continue
                memo.add(id(module))
            yield path, module
            children = [(f"{path}.{n}" if path else n, m) for n, m in module._modules.items() if m is not None]
            stack.extend(reversed(children))

    def modules(self) -> Iterator["Module"]:
        """This module and every submodule, each once, in the order of `named_modules()`."""
        return (m for _, m in self.named_modules())

    def named_children(self) -> Iterator[tuple[str, "Module"]]:
        """The direct submodules with their names, in assignment order, each once."""
        seen: set[int] = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self) -> Iterator["Module"]:
        """The direct submodules, in assignment order."""
        return (m for _, m in self.named_children())

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, Parameter]]:
        """Yield (dotted path, parameter): this module's own in assignment order, then each submodule's.

        That is torch's order. A parameter shared by two submodules appears once, unless
        `remove_duplicate` is False; `recurse=False` gives only this module's own.
        """
        seen: set[int] = set()
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        for path, module in modules:
            for name, p in module._parameters.items():
                if p is None or (remove_duplicate and id(p) in seen):
                    continue
                seen.add(id(p))
                yield (f"{path}.{name}" if path else name), p

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Every trainable Tensor, in the order of `named_parameters()` (give it to an optimizer)."""
        return (p for _, p in self.named_parameters(recurse=recurse))

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's gradient: set it to None (torch's default), or fill it with zeros in place."""
        for p in self.parameters():
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad.zero_()

    # ------------------------------------------------------------ saving and loading

    def state_dict(self, *, prefix: str = "", keep_vars: bool = False) -> OrderedDict[str, Tensor]:
        """Every parameter by dotted path, as torch's `state_dict`: the dict to save and to load back.

        A parameter shared by two submodules is listed under each path, as in torch. The values
        are detached Tensors that share memory with the parameters (`copy.deepcopy` the dict to
        keep a snapshot while training goes on); `keep_vars=True` gives the Parameters themselves.
        Pass the result through `to_torch_state_dict` to load it into a torch model.

        Example:
            >>> sd = model.state_dict()          # OrderedDict(['0.weight', ...])
            >>> other.load_state_dict(sd)        # same architecture: same values
        """
        out: OrderedDict[str, Tensor] = OrderedDict()
        for path, module in self.named_modules(prefix=prefix.rstrip("."), remove_duplicate=False):
            for name, p in module._parameters.items():
                if p is not None:
                    out[f"{path}.{name}" if path else name] = p if keep_vars else p.detach()
        return out

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> _IncompatibleKeys:
        """Copy values by name into this module's parameters, in place (as torch's `load_state_dict`).

        The parameters stay the same objects, so an optimizer built on them keeps working; each value
        is cast to its parameter's dtype. Values may be Tensors or anything numpy reads as an array
        (an ndarray, a torch tensor). Nothing is copied unless every value can be.

        Args:
            state_dict: dotted path -> value, as `state_dict()` gives.
            strict: if True, keys this module does not have, or parameters the dict lacks, are an error.

        Returns:
            (missing_keys, unexpected_keys), both empty when everything matched.

        Raises:
            RuntimeError: a shape differs, a value is not an array, or (strict) keys do not match;
                torch's message, listing every problem.
            TypeError: `state_dict` is not a mapping.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        errors, copies = [], []
        for key, p in own.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            if not isinstance(value, Tensor) and not hasattr(value, "__array__"):
                errors.append(f'While copying the parameter named "{key}", expected a Tensor or an array '
                              f"from checkpoint but received {type(value)}")
                continue
            array = np.asarray(value.data if isinstance(value, Tensor) else value)
            if array.shape != p.shape:
                errors.append(f"size mismatch for {key}: copying a param with shape {array.shape} from checkpoint, "
                              f"the shape in current model is {p.shape}.")
                continue
            copies.append((p, array))
        if strict and unexpected:
            errors.insert(0, "Unexpected key(s) in state_dict: {}. ".format(", ".join(f'"{k}"' for k in unexpected)))
        if strict and missing:
            errors.insert(0, "Missing key(s) in state_dict: {}. ".format(", ".join(f'"{k}"' for k in missing)))
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t" + "\n\t".join(errors))
        with no_grad():
            for p, array in copies:
                p.copy_(array)  # in place, as torch's: a graph recorded before sees the version change
        return _IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------ modes and dtype

    def train(self, mode: bool = True) -> "Module":
        """Set the `training` flag on this module and every submodule; returns self."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self) -> "Module":
        """Same as `train(False)`: evaluation mode (no layer of minigrad's behaves differently yet)."""
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


# ---------------------------------------------------------------- layers


class Linear(Module):
    """Affine layer: out = x @ weight + bias.

    `weight` has shape (in_features, out_features), so the graph reads X @ W + b exactly as on
    the exercise sheet. NOTE: torch.nn.Linear stores the transpose, (out_features, in_features),
    and computes x @ weight.T + bias; `to_torch_state_dict` and `from_torch_state_dict` convert.

    Both Parameters start as U(-1/sqrt(in_features), 1/sqrt(in_features)), torch's default, drawn
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
        self.weight = Parameter(Tensor(rng.uniform(-bound, bound, (in_features, out_features)), dtype=dtype))
        if bias:
            self.bias = Parameter(Tensor(rng.uniform(-bound, bound, (out_features,)), dtype=dtype))
        else:
            self.register_parameter("bias", None)

    def forward(self, x: Tensor) -> Tensor:
        out = x @ self.weight
        return out if self.bias is None else out + self.bias

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class ReLU(Module):
    """out = max(x, 0), elementwise (the graph shows one `relu` node)."""

    def forward(self, x: Tensor) -> Tensor:
        return x.relu()


class Tanh(Module):
    """out = tanh(x), elementwise (one `tanh` node)."""

    def forward(self, x: Tensor) -> Tensor:
        return x.tanh()


class Sigmoid(Module):
    """out = 1 / (1 + exp(-x)), elementwise (one `sigmoid` node)."""

    def forward(self, x: Tensor) -> Tensor:
        return x.sigmoid()


class Identity(Module):
    """out = x, recording nothing; takes and ignores any arguments, as torch's (a placeholder layer)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, x: Any) -> Any:
        return x


class Flatten(Module):
    """Merge dims start_dim..end_dim into one (one `reshape` node); by default all but the batch dim.

    Args:
        start_dim: first dim to merge (default 1, keeping the batch dim).
        end_dim: last dim to merge (default -1, the last).
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Tensor) -> Tensor:
        shape = x.shape
        start, end = (d % len(shape) if len(shape) else 0 for d in (self.start_dim, self.end_dim))
        if start > end:
            raise ValueError(f"Flatten: start_dim {self.start_dim} comes after end_dim {self.end_dim} "
                             f"for a tensor of shape {shape}")
        return x.reshape(shape[:start] + (math.prod(shape[start:end + 1]),) + shape[end + 1:])

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Sequential(Module):
    """Run modules one after another, each on the previous one's output.

    Given modules positionally, they are named "0", "1", ...; given one dict of name -> module,
    they keep those names, so parameters read "hidden.weight". As a list: `len(model)`, iteration,
    `model[i]` (a layer) and `model[i:j]` (a Sequential of the same layers, keeping their names).

    Example:
        >>> model = Sequential({"hidden": Linear(3, 4), "relu": ReLU(), "output": Linear(4, 1)})
        >>> model[:2]             # Sequential((hidden): Linear(...), (relu): ReLU())
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

    def __getitem__(self, index: int | slice) -> Module:
        items = list(self._modules.items())
        if isinstance(index, slice):
            return type(self)(OrderedDict(items[index]))
        if not -len(items) <= index < len(items):
            raise IndexError(f"index {index} is out of range")
        return items[index][1]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())


# ---------------------------------------------------------------- losses

_REDUCTIONS = ("mean", "sum", "none")


class _Loss(Module):
    """A loss: `reduction` says how the per-element losses become the result ('mean', 'sum' or 'none')."""

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        if reduction not in _REDUCTIONS:
            raise ValueError(f"{reduction} is not a valid value for reduction (choose 'mean', 'sum' or 'none')")
        self.reduction = reduction

    def _reduce(self, loss: Tensor) -> Tensor:
        if self.reduction == "mean":
            return loss.mean()
        return loss.sum() if self.reduction == "sum" else loss

    def _pair(self, prediction: Any, target: Any) -> tuple[Tensor, Tensor]:
        """The prediction (a Tensor) and the target as a Tensor of the same shape (arrays take its dtype)."""
        name = type(self).__name__
        if not isinstance(prediction, Tensor):
            raise TypeError(f"{name}: the prediction must be a Tensor, got {type(prediction).__name__}")
        if not isinstance(target, Tensor):
            target = from_numpy(np.asarray(target, dtype=prediction.dtype))
        if prediction.data.shape != target.data.shape:
            raise ValueError(_shape_mismatch(name, prediction.shape, target.shape))
        return prediction, target

    def extra_repr(self) -> str:
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"


class MSELoss(_Loss):
    """Mean squared error: loss = mean((prediction - target)**2) over every element.

    Recorded as sub, square, mean, so its gradient is the engine's: 2 * (prediction - target) / N.
    The shapes must match exactly: an (N, 1) prediction against an (N,) target would broadcast
    to (N, N) in numpy and average N*N wrong differences without complaint (torch only warns).

    Args:
        reduction: 'mean' (default), 'sum', or 'none' (the squared error of each element).
    """

    def forward(self, prediction: Tensor, target: Any) -> Tensor:
        """The loss of `prediction` (a Tensor) against `target` (a Tensor, or an array that takes
        the prediction's dtype) of the same shape.

        Raises:
            ValueError: the shapes differ; the message names both. Nothing is recorded.
            TypeError: the prediction is not a Tensor.
        """
        prediction, target = self._pair(prediction, target)
        loss = (prediction - target).square()
        # NOTE: the default reduction inline: one Python call less on every training step.
        return loss.mean() if self.reduction == "mean" else self._reduce(loss)


class L1Loss(_Loss):
    """Mean absolute error: loss = mean(|prediction - target|), as torch.nn.L1Loss.

    |d| is recorded as d times the constant sign(d), so the gradient is sign(d) (0 where d is 0,
    as torch's). Same shape rule and arguments as `MSELoss`.
    """

    def forward(self, prediction: Tensor, target: Any) -> Tensor:
        prediction, target = self._pair(prediction, target)
        diff = prediction - target
        return self._reduce(diff * _sign(diff))


class BCELoss(_Loss):
    """Binary cross-entropy on probabilities: loss = -w * (y * log(p) + (1 - y) * log(1 - p)).

    As in torch, each log is clamped at -100, so p = 0 or 1 gives a finite loss. The gradient is
    that of the clamped expression; it matches torch's wherever p * (1 - p) > 1e-12 (torch's own
    backward divides by max(p * (1 - p), 1e-12) at the saturated ends instead). For a model's raw
    scores use `BCEWithLogitsLoss`, which is exact there and needs no sigmoid.

    Args:
        weight: a rescaling of each element's loss, broadcast against the prediction (None: 1).
        reduction: 'mean' (default), 'sum' or 'none'.

    Raises (when called):
        RuntimeError: a probability outside [0, 1], as torch.
        ValueError: prediction and target shapes differ.
    """

    def __init__(self, weight: Any = None, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.weight = weight

    def forward(self, prediction: Tensor, target: Any) -> Tensor:
        prediction, target = self._pair(prediction, target)
        p = prediction.data
        if not np.all((p >= 0) & (p <= 1)):
            raise RuntimeError("BCELoss: all elements of input should be between 0 and 1 "
                               "(they are probabilities; for raw scores use BCEWithLogitsLoss)")
        loss = -(target * _clamped_log(prediction) + (1 - target) * _clamped_log(1 - prediction))
        return self._reduce(loss if self.weight is None else loss * _constant(self.weight, prediction))


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy on raw scores x (logits): BCELoss(sigmoid(x), y), computed without overflow.

    loss = w * (x - x * y + (1 + (pos_weight - 1) * y) * softplus(-x)), torch's formula, where
    softplus(-x) = -log(sigmoid(x)) = max(-x, 0) + log(1 + exp(-|x|)), so exp never overflows. Its
    gradient is w * (sigmoid(x) - y) without pos_weight: the prediction's error, as for MSE.

    Args:
        weight: a rescaling of each element's loss, broadcast against the prediction (None: 1).
        reduction: 'mean' (default), 'sum' or 'none'.
        pos_weight: a weight on the positive (y = 1) term, broadcast over the last dim (None: 1).

    Raises (when called):
        ValueError: prediction and target shapes differ.
    """

    def __init__(self, weight: Any = None, reduction: str = "mean", pos_weight: Any = None) -> None:
        super().__init__(reduction)
        self.weight, self.pos_weight = weight, pos_weight

    def forward(self, prediction: Tensor, target: Any) -> Tensor:
        x, y = self._pair(prediction, target)
        log_term = _softplus(-x)
        if self.pos_weight is not None:
            log_term = log_term * ((_constant(self.pos_weight, x) - 1) * y + 1)
        loss = x - x * y + log_term
        return self._reduce(loss if self.weight is None else loss * _constant(self.weight, x))


class CrossEntropyLoss(_Loss):
    """Cross-entropy of raw class scores against class indices: loss_n = -w[y_n] * log_softmax(x_n)[y_n].

    The input is (N, C) scores, (C,) for one sample, or (N, C, d1, ...) with a (N, d1, ...) target;
    the target holds class indices in [0, C) (integers, as torch's Long tensor). log_softmax is
    recorded as z = x - max(x) (a constant shift, which leaves log_softmax and its gradient
    unchanged and keeps exp from overflowing), then z - log(sum(exp(z))); the row's target entry is
    picked by indexing. 'mean' divides by the summed weights of the counted targets, as torch.

    Args:
        weight: one weight per class, shape (C,) (None: 1).
        ignore_index: a target value that contributes nothing and is not counted (default -100).
        reduction: 'mean' (default), 'sum' or 'none' (one loss per sample, the target's shape).

    Raises (when called):
        RuntimeError: a floating-point target (class probabilities are not supported).
        ValueError: the input's and target's batch sizes differ.
        IndexError: a class index outside [0, C) that is not `ignore_index`.
    """

    def __init__(self, weight: Any = None, ignore_index: int = -100, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.weight, self.ignore_index = weight, ignore_index

    def forward(self, prediction: Tensor, target: Any) -> Tensor:
        if not isinstance(prediction, Tensor):
            raise TypeError(f"CrossEntropyLoss: the prediction must be a Tensor, got {type(prediction).__name__}")
        classes = _class_indices(target)
        shape = classes.shape
        scores = _scores_by_row(prediction, shape)
        classes = classes.reshape(-1)
        n_classes = scores.shape[1]
        counted = classes != self.ignore_index
        bad = counted & ((classes < 0) | (classes >= n_classes))
        if bad.any():
            raise IndexError(f"Target {classes[bad][0]} is out of bounds.")
        picked = np.where(counted, classes, 0)
        weights = None
        if self.weight is not None or not counted.all():
            class_weight = np.ones(n_classes) if self.weight is None else np.asarray(self.weight, np.float64)
            weights = (class_weight[picked] * counted).astype(prediction.dtype)
        log_p = _log_softmax(scores)[np.arange(len(picked)), picked]
        nll = -log_p if weights is None else -(log_p * weights)
        if self.reduction == "none":
            return nll.reshape(shape)
        if self.reduction == "sum" or weights is None:
            return self._reduce(nll)
        return nll.sum() / weights.sum()


def _constant(value: Any, like: Tensor) -> Tensor:
    """A Tensor as it is; anything else (an array, a number) as a constant of `like`'s dtype."""
    return value if isinstance(value, Tensor) else from_numpy(np.asarray(value, dtype=like.dtype))


def _scores_by_row(x: Tensor, target_shape: tuple[int, ...]) -> Tensor:
    """The scores as an (n, C) matrix, one row per target entry, checking the target's shape as torch does."""
    if x.ndim == 0:
        raise RuntimeError("CrossEntropyLoss: the input needs a class dim, got a 0-d tensor")
    if x.ndim == 1:
        if math.prod(target_shape) != 1:
            raise RuntimeError(f"CrossEntropyLoss: a (C,) input takes one class index, got target shape {target_shape}")
        return x.reshape(1, -1)
    if not target_shape or target_shape[0] != x.shape[0]:
        raise ValueError(f"Expected input batch_size ({x.shape[0]}) to match target batch_size "
                         f"({target_shape[0] if target_shape else 0}).")
    expected = x.shape[:1] + x.shape[2:]
    if target_shape != expected:
        raise RuntimeError(f"Expected target size {list(expected)}, got {list(target_shape)}")
    if x.ndim == 2:
        return x
    return x.permute(0, *range(2, x.ndim), 1).reshape(-1, x.shape[1])


def _class_indices(target: Any) -> np.ndarray:
    """The target as an integer array, refusing floating-point values as torch does."""
    array = np.asarray(target.data if isinstance(target, Tensor) else target)
    if array.dtype.kind not in "iub":
        raise RuntimeError(
            f"CrossEntropyLoss: expected class indices (an integer array, torch's Long), got dtype {array.dtype}; "
            "e.g. np.asarray(labels, dtype=np.int64)"
        )
    return array.astype(np.int64)


def _log_softmax(x: Tensor) -> Tensor:
    """log(softmax(x)) over dim 1: z - log(sum(exp(z))) with z = x minus its row max (a constant)."""
    z = x - x.data.max(axis=1, keepdims=True)
    return z - z.exp().sum(axis=1, keepdims=True).log()


def _softplus(x: Tensor) -> Tensor:
    """log(1 + exp(x)), written as relu(x) + log(1 + exp(-|x|)) so exp never overflows.

    -|x| is recorded as x ⊙ S with the constant S = -1 where x > 0 and +1 elsewhere (named "S" in
    pictures). NOTE: S puts x = 0 on the negative side, so the gradient there is sigmoid(0) = 1/2,
    as torch's; an |x| with the subgradient 0 at 0 would add relu's 0 to its own 0.
    """
    s = _flip(x)
    s.name = "S"
    return x.relu() + ((x * s).exp() + 1).log()


def _sign(x: Tensor) -> Tensor:
    """sign(x) as a constant (no gradient flows through it): what L1Loss multiplies the difference by."""
    return from_numpy(np.sign(x.data))


def _flip(x: Tensor) -> Tensor:
    """-1 where x > 0 and 1 elsewhere, as a constant of x's dtype: x ⊙ _flip(x) is -|x| (see `_softplus`)."""
    return from_numpy(np.where(x.data > 0, -1, 1).astype(x.dtype))


# NOTE: a constant computed from a tensor's values carries that computation as numpy text, so that
# minigrad.compile can recompute it on every step instead of keeping the traced step's value.
_sign.expression = "np.sign(x)"
_flip.expression = "np.where(x > 0, -1, 1).astype(x.dtype)"


def _clamped_log(p: Tensor) -> Tensor:
    """log(p) clamped below at -100, as torch's binary_cross_entropy, with a gradient that stays finite.

    NOTE: where the log would fall below -100 (p = 0 above all), it is taken of 1 instead and
    replaced by -100, so no 1/0 reaches backward; that path is recorded only when some p needs it.
    """
    with np.errstate(divide="ignore"):
        keep = np.log(p.data) >= -100
    if keep.all():
        return p.log()
    keep = keep.astype(p.dtype)
    return (p * keep + (1 - keep)).log() * keep + (keep - 1) * 100


def _shape_mismatch(loss: str, pred: tuple[int, ...], target: tuple[int, ...]) -> str:
    try:
        spread = f"numpy would broadcast them to {np.broadcast_shapes(pred, target)} and average the wrong pairs"
    except ValueError:
        spread = "they do not even broadcast"
    if math.prod(pred) == math.prod(target):
        fix = f"reshape the target, e.g. target.reshape({', '.join(map(str, pred))})"
    else:
        fix = "the target needs exactly one value per prediction"
    return f"{loss}: prediction shape {pred} and target shape {target} differ; {spread}; {fix}"


# ---------------------------------------------------------------- the bridge to torch


def to_torch_state_dict(state_dict: Mapping[str, Any]) -> OrderedDict[str, np.ndarray]:
    """A minigrad `state_dict` in torch's layout: each Linear weight transposed to (out, in); numpy arrays.

    Every 2-D entry named `weight` (the last part of its dotted key) is a Linear weight in minigrad,
    stored (in, out); torch.nn.Linear stores (out, in). Other entries are copied as they are. The
    arrays are fresh contiguous copies, so the two models never share memory. Needs no torch.

    Example:
        >>> arrays = nn.to_torch_state_dict(model.state_dict())
        >>> torch_model.load_state_dict({k: torch.from_numpy(v) for k, v in arrays.items()})
    """
    return OrderedDict((k, _transposed(k, v)) for k, v in state_dict.items())


def from_torch_state_dict(state_dict: Mapping[str, Any]) -> OrderedDict[str, np.ndarray]:
    """A torch `state_dict` in minigrad's layout: each 2-D `weight` transposed back to (in, out); numpy arrays.

    The values may be torch tensors (numpy reads them through `__array__`, so minigrad needs no
    torch) or arrays. The result goes straight into `Module.load_state_dict`.

    Example:
        >>> model.load_state_dict(nn.from_torch_state_dict(torch_model.state_dict()))
    """
    return OrderedDict((k, _transposed(k, v)) for k, v in state_dict.items())


def _transposed(key: str, value: Any) -> np.ndarray:
    """A contiguous copy of value, transposed if key names a Linear weight (2-D, last part 'weight')."""
    array = np.asarray(value.data if isinstance(value, Tensor) else value)
    if array.ndim == 2 and key.rsplit(".", 1)[-1] == "weight":
        array = array.T
    return np.array(array, order="C")
