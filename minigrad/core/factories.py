"""Tensor factories with torch's signatures: `tensor`, `zeros`, `ones`, `full`, `arange`, `linspace`,
`eye`, `rand`, `randn` and the `*_like` forms, each with `dtype=` and `requires_grad=`.

The shape may be given as separate numbers or as one sequence, `zeros(2, 3)` or `zeros((2, 3))`, as
in torch (`full` takes a sequence only, as torch's). The default dtype is float32, torch's. Where
minigrad differs: its tensors are floating only, so `tensor([1, 2])`, `arange(5)` and `full((2,), 7)`
are float32 where torch makes int64, and `dtype=` takes np.float16, np.float32 or np.float64 (also
spelled `minigrad.float32`, ...). `rand` and `randn` draw from minigrad's generator, which
`manual_seed` seeds; the same seed gives the same numbers in minigrad, not the numbers torch draws.
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from .random import generator as _generator
from .tensor import DEFAULT_DTYPE, Tensor, _as_dtype, _wrap


def tensor(data: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of data (numbers, nested lists, an ndarray or a Tensor), as torch.tensor.

    Python numbers and integer data become float32; a floating ndarray keeps its dtype.
    """
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def zeros(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros: zeros(2, 3) or zeros((2, 3))."""
    return _filled(_shape(size, "zeros"), 0.0, dtype, requires_grad)


def ones(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones: ones(2, 3) or ones((2, 3))."""
    return _filled(_shape(size, "ones"), 1.0, dtype, requires_grad)


def full(size: Sequence[int], fill_value: float, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of `size` (a sequence, as torch's) filled with fill_value."""
    if isinstance(size, numbers.Integral) or not isinstance(size, Sequence):
        raise TypeError(f"full(): size must be a tuple of ints, as in full((2, 3), 1.5), got {type(size).__name__}")
    return _filled(_shape((size,), "full"), fill_value, dtype, requires_grad)


def arange(start: float, end: float | None = None, step: float = 1, dtype: Any = None,
           requires_grad: bool = False) -> Tensor:
    """start, start + step, ... up to but excluding end; arange(n) is 0, 1, ..., n - 1 (float32, not int64).

    As torch's: ceil((end - start) / step) values, each start + i * step computed in float64 and then
    rounded to the dtype.
    """
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange(): step must be nonzero")
    count = math.ceil((end - start) / step)
    if count < 0:
        raise ValueError(f"arange(): the range from {start} to {end} with step {step} runs the wrong way")
    values = start + np.arange(count, dtype=np.float64) * step
    return _wrap(values.astype(_dtype(dtype)), requires_grad)


def linspace(start: float, end: float, steps: int, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """steps evenly spaced values from start to end, both included.

    Computed as torch's, symmetrically: the first half counts up from start, the second half down
    from end, so both ends are exact; float32 values equal torch's to the bit, float64 to an ulp.
    """
    steps = int(steps)
    if steps < 0:
        raise ValueError(f"linspace(): steps must be non-negative, got {steps}")
    dt = _dtype(dtype)
    first, last = dt.type(start), dt.type(end)
    if steps <= 1:
        return _wrap(np.full(steps, first, dt), requires_grad)
    step = (last - first) / dt.type(steps - 1)
    # NOTE: torch's kernel fuses each multiply-add (one rounding). For float32 and float16 the float64
    # product of step and a count is exact, so computing in float64 and rounding once does the same;
    # float64 goes through numpy's longdouble, which is wider where the platform has it.
    wide = np.float64 if dt.itemsize < 8 else np.longdouble
    i = np.arange(steps)
    up = wide(first) + wide(step) * i
    down = wide(last) - wide(step) * (steps - 1 - i)
    return _wrap(np.where(i < steps // 2, up, down).astype(dt), requires_grad)


def eye(n: int, m: int | None = None, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """The n x m identity matrix (n x n when m is None)."""
    return _wrap(np.eye(n, m, dtype=_dtype(dtype)), requires_grad)


def rand(*size: Any, dtype: Any = None, requires_grad: bool = False,
         generator: np.random.Generator | None = None) -> Tensor:
    """Uniform samples from [0, 1), drawn from minigrad's generator (seeded by manual_seed)."""
    draw = (generator or _generator()).random(_shape(size, "rand"))
    return _wrap(draw.astype(_dtype(dtype)), requires_grad)


def randn(*size: Any, dtype: Any = None, requires_grad: bool = False,
          generator: np.random.Generator | None = None) -> Tensor:
    """Standard normal samples, drawn from minigrad's generator (seeded by manual_seed).

    The draw is in float64 and then rounded, so one seed gives the same numbers in every dtype.
    """
    draw = (generator or _generator()).standard_normal(_shape(size, "randn"))
    return _wrap(draw.astype(_dtype(dtype)), requires_grad)


def zeros_like(input: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Zeros of input's shape, in input's dtype unless dtype is given."""
    return zeros(input.shape, dtype=_like(input, dtype), requires_grad=requires_grad)


def ones_like(input: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Ones of input's shape, in input's dtype unless dtype is given."""
    return ones(input.shape, dtype=_like(input, dtype), requires_grad=requires_grad)


def full_like(input: Tensor, fill_value: float, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """fill_value in input's shape, in input's dtype unless dtype is given."""
    return full(input.shape, fill_value, dtype=_like(input, dtype), requires_grad=requires_grad)


def rand_like(input: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Uniform samples from [0, 1) in input's shape, in input's dtype unless dtype is given."""
    return rand(input.shape, dtype=_like(input, dtype), requires_grad=requires_grad)


def randn_like(input: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples in input's shape, in input's dtype unless dtype is given."""
    return randn(input.shape, dtype=_like(input, dtype), requires_grad=requires_grad)


def _filled(shape: tuple[int, ...], value: float, dtype: Any, requires_grad: bool) -> Tensor:
    return _wrap(np.full(shape, value, dtype=_dtype(dtype)), requires_grad)


def _dtype(dtype: Any) -> np.dtype:
    return DEFAULT_DTYPE if dtype is None else _as_dtype(dtype)


def _like(input: Tensor, dtype: Any) -> Any:
    """input's dtype, or float32 for a bool or integer tensor (minigrad makes floating tensors only)."""
    if dtype is not None:
        return dtype
    return input.dtype if input.dtype.kind == "f" else DEFAULT_DTYPE


def _shape(size: tuple[Any, ...], what: str) -> tuple[int, ...]:
    """The shape from f(2, 3) or f((2, 3)); f(()) is 0-d, as in torch, and f() a TypeError."""
    if not size:
        raise TypeError(f"{what}() needs a size, as in {what}(2, 3) or {what}((2, 3)); {what}(()) is 0-d")
    if len(size) == 1 and not isinstance(size[0], numbers.Integral):
        size = size[0]
        if not isinstance(size, Sequence):
            raise TypeError(f"{what}(): the size must be ints or one sequence of ints, got {type(size).__name__}")
    shape = []
    for n in size:
        if isinstance(n, bool) or not isinstance(n, numbers.Integral):
            raise TypeError(f"{what}(): the size must be ints, got {n!r}")
        if n < 0:
            raise ValueError(f"{what}(): sizes must be non-negative, got {tuple(size)}")
        shape.append(int(n))
    return tuple(shape)
