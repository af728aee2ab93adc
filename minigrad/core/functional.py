"""torch's module-level functions: `minigrad.cat`, `minigrad.where`, `minigrad.maximum`, `minigrad.exp`, ...

`cat`, `stack` and `where` take more than one or two tensors and are written here; the rest call the
Tensor method of the same name, so `minigrad.sqrt(x)` is `x.sqrt()` and records the same op.
"""
from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np

from .errors import ShapeError
from .ops import Cat, Clone, Unsqueeze
from .tensor import DEFAULT_DTYPE, Tensor, _binary, _lift, _unary, _wrap, promote_types, where


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """The tensors joined along dim; all other axes must match (torch.cat).

    minigrad's ops take at most two inputs, so cat joins two at a time, in a balanced tree; `grad_fn`
    shows the one CatBackward0 node torch records, with an edge per tensor.
    """
    tensors = _tensor_list(tensors, "cat")
    first = tensors[0].shape
    if not first:
        raise ShapeError("cat: a 0-d tensor cannot be concatenated; use stack, or unsqueeze it first")
    axis = _axis(dim, len(first), "cat")
    for i, t in enumerate(tensors):
        if len(t.shape) != len(first) or t.shape[:axis] + t.shape[axis + 1:] != first[:axis] + first[axis + 1:]:
            raise ShapeError(
                f"cat: tensors must match in every axis but dim {dim}: tensor 0 has shape {first}, "
                f"tensor {i} has shape {t.shape}"
            )
    if len(tensors) == 1:
        return _unary(Clone, tensors[0])
    return _join(tensors, axis, None, "cat")


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """The tensors, all of one shape, stacked along a new axis at dim (torch.stack)."""
    tensors = _tensor_list(tensors, "stack")
    first = tensors[0].shape
    for i, t in enumerate(tensors):
        if t.shape != first:
            raise ShapeError(f"stack: tensors must have one shape: tensor 0 has shape {first}, tensor {i} has shape {t.shape}")
    axis = _axis(dim, len(first) + 1, "stack")
    if len(tensors) == 1:
        return _unary(Unsqueeze, tensors[0], axis)
    return _join(tensors, axis, len(first) + 1, "stack")


def _join(tensors: list[Tensor], axis: int, ndim: int | None, kind: str) -> Tensor:
    """Join the tensors pairwise, level by level, so each element is copied log2(n) times."""
    dtype = functools.reduce(promote_types, (t.dtype for t in tensors))
    tensors = [t if t.dtype == dtype else t.to(dtype) for t in tensors]
    while len(tensors) > 2:
        pairs = [_binary(Cat, a, b, axis, ndim, "part") for a, b in zip(tensors[0::2], tensors[1::2])]
        tensors = pairs + tensors[len(pairs) * 2:]
    return _binary(Cat, tensors[0], tensors[1], axis, ndim, kind)


def _tensor_list(tensors: Any, what: str) -> list[Tensor]:
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{what}() takes a list or tuple of tensors, got {type(tensors).__name__}")
    if not tensors:
        raise ShapeError(f"{what}() needs at least one tensor")
    bad = [type(t).__name__ for t in tensors if not isinstance(t, Tensor)]
    if bad:
        raise TypeError(f"{what}() takes tensors, got {bad[0]}; wrap arrays with minigrad.tensor()")
    return list(tensors)


def _axis(dim: int, ndim: int, what: str) -> int:
    if not -ndim <= dim < ndim:
        raise IndexError(f"{what}: dim {dim} is out of range for {ndim} axes")
    return dim % ndim


# ---------------------------------------------------------------- the methods as functions


def maximum(input: Tensor, other: Any) -> Tensor:
    return input.maximum(other)


def minimum(input: Tensor, other: Any) -> Tensor:
    return input.minimum(other)


def sqrt(input: Tensor) -> Tensor:
    return input.sqrt()


def abs(input: Tensor) -> Tensor:
    return input.abs()


def clamp(input: Tensor, min: float | None = None, max: float | None = None) -> Tensor:
    return input.clamp(min, max)


clip = clamp


def pow(input: Tensor, exponent: Any) -> Tensor:
    return input**exponent


def exp(input: Tensor) -> Tensor:
    return input.exp()


def log(input: Tensor) -> Tensor:
    return input.log()


def tanh(input: Tensor) -> Tensor:
    return input.tanh()


def sigmoid(input: Tensor) -> Tensor:
    return input.sigmoid()


def relu(input: Tensor) -> Tensor:
    return input.relu()


def square(input: Tensor) -> Tensor:
    return input.square()


def softmax(input: Tensor, dim: int) -> Tensor:
    return input.softmax(dim)


def log_softmax(input: Tensor, dim: int) -> Tensor:
    return input.log_softmax(dim)


def sum(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    return input.sum(dim=dim, keepdim=keepdim)


def mean(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    return input.mean(dim=dim, keepdim=keepdim)


def max(input: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    return input.max(dim, keepdim)


def min(input: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    return input.min(dim, keepdim)


def argmax(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    return input.argmax(dim, keepdim)


def argmin(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    return input.argmin(dim, keepdim)


def matmul(input: Tensor, other: Any) -> Tensor:
    return input @ other


def reshape(input: Tensor, shape: Sequence[int]) -> Tensor:
    return input.reshape(shape)


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    return input.flatten(start_dim, end_dim)


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    return input.unsqueeze(dim)


def squeeze(input: Tensor, dim: Any = None) -> Tensor:
    return input.squeeze(dim)


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    return input.transpose(dim0, dim1)


def permute(input: Tensor, dims: Sequence[int]) -> Tensor:
    return input.permute(dims)


def clone(input: Tensor) -> Tensor:
    return input.clone()


def numel(input: Tensor) -> int:
    return input.numel()
