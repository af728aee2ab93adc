"""Tensor: an ndarray plus what autograd needs (grad, requires_grad, the op that made it).

Every operator on a Tensor calls one op from `ops.py` through `_unary` or `_binary`, which run
the op's forward on the arrays and, when grad mode is on and some input requires grad, make the
output the op's node: it records the op and links to its inputs. Those links are the whole
computation graph.
"""
from __future__ import annotations

import math
import numbers
import operator
import os
import traceback
from collections import defaultdict
from typing import Any, Iterator, NamedTuple, Sequence

import numpy as np

from . import engine
from .engine import next_seq
from .grad_mode import MODE, no_grad
from . import grad_fn as _grad_fn
from .errors import ShapeError
from .ops import (
    Abs, Add, Cast, Clamp, Clone, Div, Exp, Expand, Index, IndexPut, Log, LogSoftmax, MatMul, Max, Maximum, Mean, Min,
    Minimum, Mul, Neg, Op, Pow, PowTensor, ReLU, Reshape, Sigmoid, Softmax, Sqrt, Square, Squeeze, Sub, Sum, Tanh,
    Transpose, Unsqueeze, Where,
)

_FLOAT_DTYPES = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))
DEFAULT_DTYPE = np.dtype(np.float32)


def _as_dtype(dtype: Any) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype {dtype!r} is not a numpy dtype; use np.float32 or np.float64") from None
    if dt not in _FLOAT_DTYPES:
        raise TypeError(
            f"minigrad tensors hold floating-point numbers, got dtype={dt}; "
            "use np.float32 (the default) or np.float64"
        )
    return dt


def _as_array(data: Any, dtype: Any = None, copy: bool = True) -> np.ndarray:
    """Convert user data to a float ndarray with PyTorch's dtype rules (numbers become float32)."""
    if isinstance(data, Tensor):
        data = data.data
    keep_float = isinstance(data, (np.ndarray, np.generic))
    if isinstance(data, (str, bytes)):
        raise TypeError(f"Tensor() needs numbers, got the string {data!r}")
    try:
        array = np.array(data, copy=copy or None)
    except ValueError as err:
        raise ValueError(
            f"Tensor() got a ragged nested sequence (rows of different lengths): {str(err).rstrip('.')}. "
            "Every row must have the same length."
        ) from None
    if array.dtype.kind not in "fiub":
        raise TypeError(
            f"Tensor() needs numbers, got {type(data).__name__} holding dtype {array.dtype} "
            f"(kind {array.dtype.kind!r}); convert strings/objects to numbers first"
        )
    if dtype is not None:
        target = _as_dtype(dtype)
    elif keep_float and array.dtype in _FLOAT_DTYPES:
        target = array.dtype
    else:
        target = DEFAULT_DTYPE
    return array.astype(target, copy=False)


def _wrap(data: np.ndarray, requires_grad: bool = False) -> "Tensor":
    """Make a Tensor around an array that already has the right dtype (no checks, no copy)."""
    t = Tensor.__new__(Tensor)
    t.data = data
    t._grad = t.name = t._op = t._modified = None
    t._requires_grad = requires_grad
    t._retains_grad = False
    return t


def _lift(value: Any, like: "Tensor") -> "Tensor":
    """Turn the other operand of a binary op into a constant Tensor.

    Python numbers take `like`'s dtype, so `x * 2.0` stays float32 as in PyTorch.
    """
    # NOTE: a cached float or int comes back first, without isinstance checks: against the
    # numbers.Real ABC alone that costs ~280 ns, a fifth of a whole scalar op's bookkeeping.
    if type(value) is float or type(value) is int:
        constant = _CONSTANTS[like.data.dtype].get(value)
        if constant is not None:
            return constant
    if isinstance(value, Tensor):
        return value
    if isinstance(value, numbers.Real):
        dtype = like.data.dtype
        if dtype.kind != "f":
            # NOTE: against a bool or integer tensor a number keeps its kind, floats in the default
            # dtype, as torch's wrapped numbers; these are not cached (2 == 2.0 would share an entry).
            return _wrap(np.array(value, DEFAULT_DTYPE if isinstance(value, float) else None))
        constant = _wrap(_read_only(np.array(value, dtype=dtype)))
        if value and len(_CONSTANTS[dtype]) < 256:
            _CONSTANTS[dtype][value] = constant
        return constant
    return _wrap(_as_array(value, copy=False))


# NOTE: Python numbers in ops (x * 2.0) become read-only 0-d constant Tensors; reusing them saves
# an array and a Tensor per op. Zero is not cached, so -0.0 never comes back as 0.0.
_CONSTANTS: defaultdict[np.dtype, dict[Any, "Tensor"]] = defaultdict(dict)  # per dtype, by value
_ONES: dict[str, np.ndarray] = {}  # the implicit d out / d out = 1 of backward(), per dtype


def _read_only(array: np.ndarray) -> np.ndarray:
    """Mark a shared array read-only, so no one can change it for every other user."""
    array.flags.writeable = False
    return array


# NOTE: _unary and _binary spell out the same few lines instead of calling shared helpers: this is
# the hot path of every op, and each Python call saved is about 10% of an op's bookkeeping.
# Recording an op is the block under `if ... grad_enabled`: the output tensor becomes the op's
# node, linked to its inputs, with a sequence number that orders nodes for backward. That link
# is the whole graph.


def _unary(op: type[Op], x: "Tensor", *args: Any) -> "Tensor":
    """Apply a one-input op: run its forward on x's array and record it if x requires grad."""
    out = _new(Tensor)
    out._saved = ()
    try:
        data = op.forward(out, x.data, *args) if args else op.forward(out, x.data)
    except (ValueError, TypeError, IndexError) as err:
        raise _op_error(op, (x,), err) from None
    out.data = data if type(data) is _ndarray else np.asarray(data)
    out._grad = out.name = out._modified = None
    out._retains_grad = False
    if x._requires_grad and MODE.grad_enabled:
        out._op = op
        out._x = x
        out._y = None
        out._needs_input_grad = _NEEDS_X
        out._seq = next_seq()
        out._pending = None
        out._requires_grad = True
        if MODE.detect_anomaly:
            _watch(out, data)
    else:
        out._requires_grad = False
        out._op = out._saved = None
    return out


def _binary(op: type[Op], x: "Tensor", y: Any, *args: Any) -> "Tensor":
    """Apply a two-input op: run its forward on the arrays and record it if an input requires grad.

    `y` may also be a number or an array (the right operand of `x + 2`): it becomes a constant.
    """
    if type(y) is float or type(y) is int:  # a Python number: its cached constant, else _lift makes one
        constant = _CONSTANTS[x.data.dtype].get(y)
        if constant is None:
            y = _lift(y, x)
            if y.data.dtype is not x.data.dtype:
                return _binary_promoted(op, x, y, args)
        else:
            y = constant
    elif type(y) is not Tensor and not isinstance(y, Tensor):  # a Parameter is a Tensor already
        y = _lift(y, x)
        if y.data.dtype is not x.data.dtype:
            return _binary_promoted(op, x, y, args)
    elif y.data.dtype is not x.data.dtype:  # NOTE: the one check torch's dtype rule costs an op
        return _binary_promoted(op, x, y, args)
    out = _new(Tensor)
    out._saved = ()
    try:
        # NOTE: a call without *args is specialised by CPython: ~700 machine instructions less an op.
        data = op.forward(out, x.data, y.data, *args) if args else op.forward(out, x.data, y.data)
    except (ValueError, TypeError, IndexError) as err:
        raise _op_error(op, (x, y), err) from None
    out.data = data if type(data) is _ndarray else np.asarray(data)
    out._grad = out.name = out._modified = None
    out._retains_grad = False
    if (x._requires_grad or y._requires_grad) and MODE.grad_enabled:
        out._op = op
        out._x = x
        out._y = y
        out._needs_input_grad = _NEEDS[x._requires_grad][y._requires_grad]
        out._seq = next_seq()
        out._pending = None
        out._requires_grad = True
        if MODE.detect_anomaly:
            _watch(out, data)
    else:
        out._requires_grad = False
        out._op = out._saved = None
    return out


def _binary_promoted(op: type[Op], x: "Tensor", y: "Tensor", args: tuple) -> "Tensor":
    """A two-input op on operands of different dtypes, in torch's result dtype (see `result_type`).

    The forward runs on the operands cast to that dtype; the node links the operands themselves, so
    their gradients reach them (the engine casts each gradient to its input's dtype).
    """
    dtype = np.dtype(result_type(x.data, y.data).char)  # the shared descriptor, which _binary compares by identity
    out = _binary(op, _cast(x, dtype), _cast(y, dtype), *args)
    if out._op is not None:
        out._x, out._y = x, y
    return out


def _cast(t: "Tensor", dtype: np.dtype) -> "Tensor":
    """t, or a stand-in for it whose array has `dtype` (the very descriptor object)."""
    data = t.data
    if data.dtype is dtype:
        return t
    return _wrap(data.view(dtype) if data.dtype == dtype else data.astype(dtype), t._requires_grad)


_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2}


def result_type(a: np.ndarray, b: np.ndarray) -> np.dtype:
    """torch's result dtype of an op on arrays a and b (numpy's differs in two places).

    Within one category (bool, integer, floating), a 0-d operand does not widen a dimensioned one:
    float32 (3,) * float64 () is float32, where numpy gives float64. Across categories the higher
    one decides: int64 * float32 is float32, not float64. Otherwise the two promote as in numpy.
    """
    if (a.ndim == 0) != (b.ndim == 0):
        zero, dimensioned = (a, b) if a.ndim == 0 else (b, a)
        return zero.dtype if _CATEGORY[zero.dtype.kind] > _CATEGORY[dimensioned.dtype.kind] else dimensioned.dtype
    return promote_types(a.dtype, b.dtype)


def promote_types(a: np.dtype, b: np.dtype) -> np.dtype:
    """torch's promotion of two dtypes of operands alike in dimension: the higher category decides
    (int64 with float32 is float32), within one category the wider type."""
    ka, kb = _CATEGORY[a.kind], _CATEGORY[b.kind]
    if ka != kb:
        return a if ka > kb else b
    return np.promote_types(a, b)


_NEEDS_X = (True,)  # _needs_input_grad of every recorded one-input op
_NEEDS = (((False, False), (False, True)), ((True, False), (True, True)))  # by (x, y) requires_grad


def _watch(node: "Tensor", data: np.ndarray) -> None:
    """Under detect_anomaly: remember where the op was called, and with check_forward check its output."""
    node._trace = _caller()
    if MODE.anomaly_check_forward:
        bad = not np.isfinite(data).all() if MODE.anomaly_check_inf else np.isnan(data).any()
        if bad:
            what = "NaN or inf" if MODE.anomaly_check_inf else "NaN"
            raise RuntimeError(f"detect_anomaly: op {node._op.name!r} produced {what} in its forward; "
                               f"the op was created at {node._trace}")


def _op_error(op: type[Op], inputs: tuple["Tensor", ...], err: Exception) -> Exception:
    """The error for a failed forward: names the op, every input shape and the rule broken."""
    shapes = " and ".join(str(t.data.shape) for t in inputs)
    reason = op.hint or str(err)
    kind = ShapeError if type(err) is ValueError else type(err)
    return kind(f"{op.name}: cannot apply to shape{'s' * (len(inputs) > 1)} {shapes}: {reason}")


_new = object.__new__
_ndarray = np.ndarray
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _caller() -> str:
    """file:line of the innermost frame outside minigrad: where the user wrote the op."""
    for frame in reversed(traceback.extract_stack()):
        if not os.path.abspath(frame.filename).startswith(_PACKAGE_DIR + os.sep):
            return f"{frame.filename}:{frame.lineno}"
    return "unknown"


class _InPlace:
    """In-place ops, as torch's: `+= -= *= /=`, `add_`, `zero_`, `copy_`, `x[i] = v`, ... (mixed into Tensor).

    On a tensor that takes part in no graph (a leaf under no_grad, the optimizer idiom) they change
    its array, and it stays the same object. On a tensor of a graph they are recorded: the tensor
    becomes the node of the new op, and what it was before lives on as that node's input. Either
    way the tensor's version goes up, so a backward that needs the old values raises instead of
    using the new ones. A leaf that requires grad refuses them while grad mode is on, as in torch.
    """

    __slots__ = ()

    def add_(self, other: Any, *, alpha: float = 1) -> "Tensor":
        return _inplace(self, (lambda t, o: t + o) if alpha == 1 else (lambda t, o: t + o * alpha), other)

    def sub_(self, other: Any, *, alpha: float = 1) -> "Tensor":
        return _inplace(self, (lambda t, o: t - o) if alpha == 1 else (lambda t, o: t - o * alpha), other)

    def mul_(self, other: Any) -> "Tensor":
        return _inplace(self, lambda t, o: t * o, other)

    def div_(self, other: Any) -> "Tensor":
        return _inplace(self, lambda t, o: t / o, other)

    __iadd__, __isub__, __imul__, __itruediv__ = add_, sub_, mul_, div_

    def __setitem__(self, index: Any, value: Any) -> None:
        if isinstance(index, Tensor):
            index = _index_array(index)
        _inplace(self, lambda t, v: _binary(IndexPut, t, v, index), value)

    def copy_(self, src: Any) -> "Tensor":
        """Copy src (broadcast to this shape, cast to this dtype) into this tensor."""
        return _inplace(self, lambda t, v: _binary(IndexPut, t, v, Ellipsis), src)

    def fill_(self, value: float) -> "Tensor":
        return self.copy_(float(value))

    def zero_(self) -> "Tensor":
        return self.copy_(0.0)


# ---------------------------------------------------------------- torch's tensor vocabulary
# The methods a torch user reaches for beyond arithmetic, mixed into Tensor. Each differentiable one
# records a single op of the op table; comparisons, argmax and the shape queries record nothing.


class _Size(int):
    """The number of elements (numpy's `x.size`), callable as torch's `x.size()` and `x.size(dim)`."""

    def __new__(cls, shape: tuple[int, ...]) -> "_Size":
        self = super().__new__(cls, math.prod(shape))
        self.shape = shape
        return self

    def __call__(self, dim: int | None = None) -> Any:
        if dim is None:
            return self.shape
        try:
            return self.shape[dim]
        except IndexError:
            raise IndexError(f"size({dim}): dim out of range for a tensor of shape {self.shape}") from None


class ValuesIndices(NamedTuple):
    """What x.max(dim) and x.min(dim) return, as torch's: the values and, as int64, where they are."""

    values: "Tensor"
    indices: "Tensor"


class _TorchMethods:
    """torch's tensor methods beyond arithmetic (mixed into Tensor).

    Comparisons (`x > 0`, `x == y`) return tensors of dtype bool and argmax/argmin tensors of int64,
    as torch's; they carry no gradient and cannot require one. They index (`x[x > 0]`), combine
    (`&`, `|`, `~`) and convert (`.float()`, `.sum()`). Every other minigrad tensor is floating.
    """

    __slots__ = ()
    __hash__ = object.__hash__  # by identity, as torch's: tensors stay dict keys although == is elementwise

    # ------------------------------------------------------------ elementwise

    def sqrt(self) -> "Tensor":
        return _unary(Sqrt, self)

    def abs(self) -> "Tensor":
        """|x|; its gradient at 0 is 0, as torch's."""
        return _unary(Abs, self)

    __abs__ = abs

    def clamp(self, min: float | None = None, max: float | None = None) -> "Tensor":
        """x limited to [min, max] (either may be None); the gradient passes where min <= x <= max."""
        if min is None and max is None:
            raise TypeError("clamp() needs min, max or both")
        if isinstance(min, Tensor) or isinstance(max, Tensor):
            raise TypeError("clamp() takes number bounds; for tensor bounds use x.maximum(low).minimum(high)")
        return _unary(Clamp, self, -math.inf if min is None else float(min), math.inf if max is None else float(max))

    clip = clamp

    def maximum(self, other: Any) -> "Tensor":
        """The larger of self and other, elementwise (a tie gives each half the gradient, as torch)."""
        return _binary(Maximum, self, other)

    def minimum(self, other: Any) -> "Tensor":
        """The smaller of self and other, elementwise (a tie gives each half the gradient, as torch)."""
        return _binary(Minimum, self, other)

    def pow(self, exponent: Any) -> "Tensor":
        """self ** exponent, for a number or a tensor exponent."""
        return self**exponent

    def where(self, condition: Any, other: Any) -> "Tensor":
        """self where condition holds, else other (torch's x.where(condition, y))."""
        return where(condition, self, other)

    def softmax(self, dim: int) -> "Tensor":
        """exp(x) / exp(x).sum(dim): each slice along dim becomes a probability distribution."""
        return _unary(Softmax, self, operator.index(dim))

    def log_softmax(self, dim: int) -> "Tensor":
        """log(softmax(x, dim)), computed without forming softmax (no log of a rounded 0)."""
        return _unary(LogSoftmax, self, operator.index(dim))

    # ------------------------------------------------------------ max, min, argmax

    def max(self, dim: Any = None, keepdim: bool = False) -> Any:
        """x.max(): the largest element (a 0-d tensor). x.max(dim): a pair (values, indices) along dim,
        as torch's. x.max(other): the elementwise maximum."""
        if isinstance(dim, Tensor):
            return self.maximum(dim)
        if dim is None:
            return _unary(Max, self)
        out = _unary(Max, self, operator.index(dim), keepdim)
        return ValuesIndices(out, _wrap(out._params[2]))

    def min(self, dim: Any = None, keepdim: bool = False) -> Any:
        """x.min(), x.min(dim) -> (values, indices), x.min(other): as `max`."""
        if isinstance(dim, Tensor):
            return self.minimum(dim)
        if dim is None:
            return _unary(Min, self)
        out = _unary(Min, self, operator.index(dim), keepdim)
        return ValuesIndices(out, _wrap(out._params[2]))

    def argmax(self, dim: int | None = None, keepdim: bool = False) -> "Tensor":
        """Where the largest element is (of the flattened tensor when dim is None), as an int64 tensor."""
        return _wrap(np.asarray(np.argmax(self.data, axis=dim, keepdims=keepdim)))

    def argmin(self, dim: int | None = None, keepdim: bool = False) -> "Tensor":
        """Where the smallest element is, as `argmax`."""
        return _wrap(np.asarray(np.argmin(self.data, axis=dim, keepdims=keepdim)))

    # ------------------------------------------------------------ comparisons and masks (no gradient)

    def __lt__(self, other: Any) -> Any:
        return _compare(self, other, np.less, "lt")

    def __le__(self, other: Any) -> Any:
        return _compare(self, other, np.less_equal, "le")

    def __gt__(self, other: Any) -> Any:
        return _compare(self, other, np.greater, "gt")

    def __ge__(self, other: Any) -> Any:
        return _compare(self, other, np.greater_equal, "ge")

    def __eq__(self, other: Any) -> Any:  # type: ignore[override]
        return _compare(self, other, np.equal, "eq")

    def __ne__(self, other: Any) -> Any:  # type: ignore[override]
        return _compare(self, other, np.not_equal, "ne")

    lt, le, gt, ge, eq, ne = __lt__, __le__, __gt__, __ge__, __eq__, __ne__

    def __and__(self, other: Any) -> Any:
        return _compare(self, other, np.bitwise_and, "and")

    def __or__(self, other: Any) -> Any:
        return _compare(self, other, np.bitwise_or, "or")

    def __xor__(self, other: Any) -> Any:
        return _compare(self, other, np.bitwise_xor, "xor")

    __rand__, __ror__, __rxor__ = __and__, __or__, __xor__

    def __invert__(self) -> "Tensor":
        """~mask: logical not of a bool tensor."""
        return _wrap(np.invert(self.data))

    def any(self, dim: int | None = None, keepdim: bool = False) -> "Tensor":
        """Whether any element is nonzero (True), as a bool tensor."""
        return _wrap(np.asarray(np.any(self.data, axis=dim, keepdims=keepdim)))

    def all(self, dim: int | None = None, keepdim: bool = False) -> "Tensor":
        """Whether every element is nonzero (True), as a bool tensor."""
        return _wrap(np.asarray(np.all(self.data, axis=dim, keepdims=keepdim)))

    # ------------------------------------------------------------ shape

    def view(self, *shape: Any) -> "Tensor":
        """torch's name for reshape; minigrad's arrays reshape whatever their layout (a copy if need be)."""
        return self.reshape(*shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> "Tensor":
        """The axes from start_dim to end_dim (both included) merged into one."""
        shape = self.data.shape
        if not shape:
            return self.reshape(1)
        start, end = (_axis_index(d, len(shape), "flatten") for d in (start_dim, end_dim))
        if start > end:
            raise ShapeError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for shape {shape}")
        if start == end:
            return self  # as torch's: nothing to merge, no op recorded
        return self.reshape(shape[:start] + (math.prod(shape[start:end + 1]),) + shape[end + 1:])

    def unsqueeze(self, dim: int) -> "Tensor":
        """A new axis of length 1 at dim (negative dims count from the end of the result, as torch)."""
        return _unary(Unsqueeze, self, operator.index(dim))

    def squeeze(self, dim: int | Sequence[int] | None = None) -> "Tensor":
        """Drop the axes of length 1: all of them, or those among dim (other axes in dim stay, as torch)."""
        return _unary(Squeeze, self, tuple(dim) if isinstance(dim, (list, tuple)) else dim)

    def expand(self, *sizes: Any) -> "Tensor":
        """Broadcast to sizes (-1 keeps an axis); new axes go in front. A read-only view, as torch's."""
        if len(sizes) == 1 and not isinstance(sizes[0], numbers.Integral):
            sizes = tuple(sizes[0])
        return _unary(Expand, self, tuple(operator.index(n) for n in sizes))

    def expand_as(self, other: "Tensor") -> "Tensor":
        return self.expand(other.shape)

    def clone(self) -> "Tensor":
        """A copy that stays in the graph (the gradient flows back to self), unlike detach()."""
        return _unary(Clone, self)

    def numel(self) -> int:
        """The number of elements."""
        return self.data.size

    def dim(self) -> int:
        """The number of axes (numpy's ndim)."""
        return self.data.ndim

    # ------------------------------------------------------------ dtype

    def to(self, dtype: Any, copy: bool = False) -> "Tensor":
        """This tensor as dtype (np.float16/32/64): itself when it already is, unless copy=True."""
        target = _as_dtype(dtype)
        if target == self.data.dtype and not copy:
            return self
        return _unary(Cast, self, target)

    def float(self) -> "Tensor":
        return self.to(np.float32)

    def double(self) -> "Tensor":
        return self.to(np.float64)

    def half(self) -> "Tensor":
        return self.to(np.float16)

    # ------------------------------------------------------------ torch's backward graph

    @property
    def grad_fn(self) -> "_grad_fn.Node | None":
        """The op that made this tensor as torch shows it: a node named as torch names it
        (`MulBackward0`) with `next_functions`; None for a leaf. Made anew on each access."""
        return None if self._op is None else _grad_fn.node(self)


def _compare(x: "Tensor", other: Any, ufunc: Any, name: str) -> Any:
    """ufunc(x, other) on the arrays, as a tensor that records nothing (a bool mask for comparisons)."""
    if isinstance(other, Tensor):
        other = other.data
    elif not isinstance(other, (numbers.Number, np.ndarray, np.generic, list, tuple)):
        return NotImplemented
    try:
        return _wrap(np.asarray(ufunc(x.data, other)))
    except ValueError as err:
        raise ShapeError(f"{name}: cannot apply to shapes {x.shape} and {np.shape(other)}: {err}") from None


def _axis_index(dim: int, ndim: int, what: str) -> int:
    """dim as an axis in [0, ndim), negative ones counted from the end."""
    if not -ndim <= dim < ndim:
        raise IndexError(f"{what}: dim {dim} is out of range for {ndim} axes")
    return dim % ndim


def _index_array(index: "Tensor") -> np.ndarray:
    """A tensor used as an index: a bool mask stays a mask, integers stay positions, floats become them."""
    data = index.data
    return data if data.dtype.kind in "biu" else data.astype(np.intp)


class Tensor(_InPlace, _TorchMethods):
    """An n-dimensional array that records the ops applied to it, for reverse-mode autograd.

    Args:
        data: numbers, nested lists or an ndarray. Python numbers, lists and integer arrays
            become float32 (PyTorch's default); a floating ndarray keeps its dtype. The data
            is copied (use `from_numpy` to share memory).
        requires_grad: whether backward() should compute a gradient for this tensor.
        dtype: np.float16, np.float32 or np.float64, overriding the rule above.
        name: a label for the graph renderer and the backward explanation (e.g. "W1").

    Raises:
        TypeError: strings, objects or a non-floating dtype. ValueError: ragged lists.

    Example:
        >>> w = Tensor([[1.0, 2.0]], requires_grad=True)
        >>> (w * w).sum().backward()
        >>> w.grad                      # array([[2., 4.]], dtype=float32)
    """

    # NOTE: a tensor made by a recorded op is also that op's node in the graph (as a micrograd Value
    # is): `_op` (the Op class; None for a leaf), `_x`/`_y` (its inputs; `_y` is None for a
    # one-input op), `_params`, `_saved`, `_needs_input_grad`, `_seq`, `_pending` (the
    # gradient summed so far during backward) and `_trace` (under detect_anomaly). `_modified` lists
    # the sequence numbers of the in-place changes of its data (the version counter), and
    # `_previous` is what it was before an in-place op recorded it anew. One object per
    # op instead of a tensor, an op object and a tuple of inputs: the cyclic GC rescans live
    # objects, and on a 100,000-op chain three per op cost 1.6 us of the 4.3 us an op took; one
    # costs about 0.3 us.
    __slots__ = ("data", "_grad", "_requires_grad", "name", "_retains_grad", "_op", "_x", "_y", "_saved",
                 "_params", "_needs_input_grad", "_seq", "_pending", "_trace", "_modified", "_previous",
                 "_vjp_of", "__weakref__")
    # NOTE: makes `ndarray + Tensor` call Tensor.__radd__ instead of building an object array.
    __array_ufunc__ = None

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None, name: str | None = None):
        self.data = _as_array(data, dtype)
        self._grad: Tensor | None = None
        self._requires_grad = bool(requires_grad)
        self.name = name
        self._retains_grad = False
        self._op: type[Op] | None = None
        self._modified: list[int] | None = None

    # ------------------------------------------------------------ attributes

    @property
    def requires_grad(self) -> bool:
        """Whether backward() computes a gradient for this tensor."""
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if self._op is not None:
            raise RuntimeError(
                "requires_grad can only be changed on leaf tensors; this tensor was produced by "
                f"op {self._op.name!r}. Use .detach() to get a leaf copy of it."
            )
        if value and self.data.dtype.kind != "f":
            raise RuntimeError(
                f"only Tensors of floating point dtype can require gradients; this one is {self.data.dtype} "
                "(a comparison or argmax result); convert it with .float() first"
            )
        self._requires_grad = bool(value)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        """Set requires_grad in place and return self (as torch.Tensor.requires_grad_)."""
        self.requires_grad = requires_grad
        return self

    @property
    def grad(self) -> "Tensor | None":
        """The gradient backward() accumulated here: a Tensor of this tensor's shape and dtype, or None."""
        return self._grad

    @grad.setter
    def grad(self, value: "Tensor | None") -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of type "
                                f"{type(value).__module__}.{type(value).__name__}; wrap an array with minigrad.Tensor")
            if value.shape != self.shape:
                raise RuntimeError(f"attempting to assign a gradient of size '{list(value.shape)}' to a tensor of "
                                   f"size '{list(self.shape)}'. Please ensure that the gradient and the tensor are the same size")
            if value.dtype != self.dtype:
                raise RuntimeError(f"attempting to assign a gradient with dtype '{value.dtype}' to a tensor with dtype "
                                   f"'{self.dtype}'. The gradient must match the tensor's dtype: convert it with .to()")
        self._grad = value

    @property
    def _version(self) -> int:
        """How many in-place changes this tensor's data has had (torch's version counter)."""
        return len(self._modified) if self._modified else 0

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def size(self) -> "_Size":
        """The number of elements, numpy's `x.size`; also callable as torch's `x.size()` (the shape)
        and `x.size(dim)` (one axis's length)."""
        return _Size(self.data.shape)

    @property
    def is_leaf(self) -> bool:
        """True for tensors not produced by a recorded op (user-created, or made under no_grad)."""
        return self._op is None

    @property
    def op(self) -> str | None:
        """Name of the op that produced this tensor, or None for a leaf."""
        return None if self._op is None else self._op.name

    # ------------------------------------------------------------ the public, read-only graph view
    # `minigrad.see`, gradcheck and the tests read a node through these names only, so the slots
    # above can change for speed without breaking them.

    @property
    def inputs(self) -> tuple["Tensor", ...]:
        """The input tensors of the op that made this tensor, in argument order (none for a leaf)."""
        if self._op is None:
            return ()
        if self._x is None:
            raise RuntimeError(_RELEASED.format(op=self._op.name))
        return (self._x,) if self._y is None else (self._x, self._y)

    @property
    def op_type(self) -> type[Op] | None:
        """The op's class in the op table (`minigrad.core.ops`), or None for a leaf."""
        return self._op

    @property
    def op_params(self) -> dict[str, Any]:
        """The op's non-tensor arguments by name (axis, exponent, ...); empty for a leaf."""
        return {} if self._op is None else self._op.param_values(self)

    @property
    def needs_input_grad(self) -> tuple[bool, ...]:
        """For each input, whether backward computes its gradient (as torch's ctx.needs_input_grad)."""
        return () if self._op is None else self._needs_input_grad

    @property
    def made_by_vjp_of(self) -> "Tensor | None":
        """The forward node whose VJP recorded this node (or made this constant) during a backward with
        create_graph=True, else None.

        The nodes of a gradient's graph are the derivative formulas of forward ops: this names which.
        """
        return getattr(self, "_vjp_of", None)

    @property
    def mT(self) -> "Tensor":
        """The last two axes swapped (as torch's .mT), for batched matrices."""
        return self.transpose(-2, -1)

    @property
    def T(self) -> "Tensor":
        """The tensor with its axes reversed (the matrix transpose for 2-D)."""
        return _unary(Transpose, self, None)

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        values = np.array2string(self.data, separator=", ", prefix="Tensor(", precision=4)
        extra = f", shape={self.shape}, dtype={self.dtype}"
        if self._op is not None:
            extra += f", op={self._op.name}"
        elif self._requires_grad:
            extra += ", requires_grad=True"
        if self.name:
            extra += f", name={self.name!r}"
        return f"Tensor({values}{extra})"


    # ------------------------------------------------------------ numpy interop

    def numpy(self) -> np.ndarray:
        """The underlying array (shared, not copied)."""
        return self.data

    def item(self) -> float:
        """The value of a one-element tensor as a Python float."""
        if self.data.size != 1:
            raise ShapeError(f"item() needs a tensor with one element, this one has shape {self.shape}")
        return self.data.item()

    def __float__(self) -> float:
        return float(self.item())

    def __bool__(self) -> bool:
        return bool(self.data)

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        if copy is False and dtype is not None and np.dtype(dtype) != self.data.dtype:
            raise ValueError(f"cannot view a {self.data.dtype} tensor as {np.dtype(dtype)} without a copy")
        out = self.data if dtype is None else self.data.astype(dtype, copy=False)
        return out.copy() if copy and out is self.data else out

    # ------------------------------------------------------------ graph

    def detach(self) -> "Tensor":
        """A new leaf sharing this tensor's data and version counter, cut from the graph (as torch's)."""
        if self._modified is None:
            self._modified = []
        out = _wrap(self.data)
        out._modified = self._modified
        return out

    def retain_grad(self) -> None:
        """Keep `.grad` on this non-leaf tensor after backward (leaves always keep theirs)."""
        if not self._requires_grad:
            raise RuntimeError("retain_grad() needs a tensor that requires grad; this one does not")
        if self._op is not None:
            self._retains_grad = True

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    def backward(self, gradient: Any = None, retain_graph: bool | None = None, create_graph: bool = False,
                 inputs: "Tensor | Sequence[Tensor] | None" = None, *, grad: Any = None) -> None:
        """Compute d self / d leaf for every leaf that requires grad, adding it into `leaf.grad`.

        Args:
            gradient: d(something)/d(self), same shape as self. May be omitted when self has one
                element (then it is 1, as for a loss). `grad=` is accepted for it too.
            retain_graph: keep the graph usable so backward can run again through it; by
                default each op's saved state is released as soon as its VJP has run, and a
                second backward raises, as in PyTorch.
            create_graph: record the backward pass as a graph, so `.grad` has a history and can be
                differentiated again (the double-backward idiom); retain_graph then defaults to True.
            inputs: accumulate only into these tensors' `.grad` (leaves or not), as torch.

        Raises:
            RuntimeError: self does not require grad; grad omitted for a non-scalar; the graph
                was already freed by an earlier backward. Nothing is changed when it raises.
            ShapeError: `grad` has the wrong shape.

        Example:
            >>> x = Tensor([1.0, 2.0], requires_grad=True)
            >>> (x * x).sum().backward()
            >>> x.grad                  # array([2., 4.], dtype=float32)
        """
        if gradient is not None:
            grad = gradient
        if create_graph or inputs is not None:
            from .autograd import backward

            return backward(self, grad, retain_graph, create_graph, inputs)
        if not self._requires_grad:
            raise RuntimeError(
                "backward() called on a tensor that does not require grad and has no graph: "
                "create the inputs with requires_grad=True, and do not compute under no_grad()"
            )
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(
                    "grad can be implicitly created only for scalar outputs: this tensor has shape "
                    f"{self.shape}; reduce it (e.g. .sum() or .mean()) or pass backward(grad=...) "
                    "with an array of that shape"
                )
            grad = _ONES.get(self.data.dtype.char)
            if grad is None:
                grad = _ONES[self.data.dtype.char] = _read_only(np.array(1, self.data.dtype))
            if self.data.ndim:
                grad = grad.reshape(self.data.shape)
        else:
            grad = _as_array(grad, self.data.dtype)
            if grad.shape != self.data.shape:
                raise ShapeError(f"backward(grad=...) has shape {grad.shape}, but this tensor has shape {self.shape}")
        _accumulate(engine.leaf_grads(self, grad, bool(retain_graph)))

    # ------------------------------------------------------------ arithmetic

    def __add__(self, other: Any) -> "Tensor":
        return _binary(Add, self, other)

    def __radd__(self, other: Any) -> "Tensor":
        return _binary(Add, _lift(other, self), self)

    def __sub__(self, other: Any) -> "Tensor":
        return _binary(Sub, self, other)

    def __rsub__(self, other: Any) -> "Tensor":
        return _binary(Sub, _lift(other, self), self)

    def __mul__(self, other: Any) -> "Tensor":
        return _binary(Mul, self, other)

    def __rmul__(self, other: Any) -> "Tensor":
        return _binary(Mul, _lift(other, self), self)

    def __truediv__(self, other: Any) -> "Tensor":
        return _binary(Div, self, other)

    def __rtruediv__(self, other: Any) -> "Tensor":
        return _binary(Div, _lift(other, self), self)

    def __matmul__(self, other: Any) -> "Tensor":
        return _matmul(self, other)

    def __rmatmul__(self, other: Any) -> "Tensor":
        return _matmul(_lift(other, self), self)

    def __neg__(self) -> "Tensor":
        return _unary(Neg, self)

    def __pos__(self) -> "Tensor":
        return self

    def __pow__(self, exponent: Any) -> "Tensor":
        if isinstance(exponent, numbers.Real):
            return _unary(Pow, self, exponent.item() if isinstance(exponent, np.generic) else exponent)
        if isinstance(exponent, (Tensor, np.ndarray)):
            return _binary(PowTensor, self, exponent)
        raise TypeError(f"Tensor ** needs a number or a tensor exponent, got {type(exponent).__name__}")

    def __rpow__(self, base: Any) -> "Tensor":
        if not isinstance(base, (numbers.Real, np.ndarray)):
            raise TypeError(f"number ** Tensor needs a number base, got {type(base).__name__}")
        return _binary(PowTensor, _lift(base, self), self)

    def __getitem__(self, index: Any) -> "Tensor":
        if isinstance(index, Tensor):
            index = _index_array(index)
        return _unary(Index, self, index)

    # ------------------------------------------------------------ named ops

    def matmul(self, other: Any) -> "Tensor":
        """Matrix product with np.matmul's rules (1-D, 2-D and batched)."""
        return self @ other

    def relu(self) -> "Tensor":
        return _unary(ReLU, self)

    def square(self) -> "Tensor":
        return _unary(Square, self)

    def exp(self) -> "Tensor":
        return _unary(Exp, self)

    def log(self) -> "Tensor":
        return _unary(Log, self)

    def tanh(self) -> "Tensor":
        return _unary(Tanh, self)

    def sigmoid(self) -> "Tensor":
        return _unary(Sigmoid, self)

    def sum(self, axis: int | Sequence[int] | None = None, keepdims: bool = False, *,
            dim: int | Sequence[int] | None = None, keepdim: bool | None = None) -> "Tensor":
        """Sum over `axis` (all axes when None); torch's dim=/keepdim= spellings work too."""
        return _unary(Sum, self, _axis(axis if dim is None else dim), keepdims if keepdim is None else keepdim)

    def mean(self, axis: int | Sequence[int] | None = None, keepdims: bool = False, *,
             dim: int | Sequence[int] | None = None, keepdim: bool | None = None) -> "Tensor":
        """Mean over `axis` (all axes when None); torch's dim=/keepdim= spellings work too."""
        return _unary(Mean, self, _axis(axis if dim is None else dim), keepdims if keepdim is None else keepdim)

    def reshape(self, *shape: Any) -> "Tensor":
        """Reshape; accepts reshape(2, 3) or reshape((2, 3)), with one -1 allowed."""
        if len(shape) == 1 and not isinstance(shape[0], numbers.Integral):
            shape = tuple(shape[0])
        return _unary(Reshape, self, shape)

    def transpose(self, *axes: int) -> "Tensor":
        """No arguments: reverse the axes (numpy's x.transpose()). Two: swap those two dims
        (torch's x.transpose(d0, d1)). Otherwise a full permutation, as numpy and `permute`."""
        if len(axes) == 1 and not isinstance(axes[0], numbers.Integral):
            axes = tuple(axes[0])
        if len(axes) == 2:
            order = list(range(self.data.ndim))
            try:
                order[axes[0]], order[axes[1]] = order[axes[1]], order[axes[0]]
            except IndexError:
                raise ShapeError(f"transpose: dims {axes} are out of range for shape {self.shape}") from None
            axes = tuple(order)
        return _unary(Transpose, self, axes or None)

    def permute(self, *dims: int) -> "Tensor":
        """Reorder the axes: out.shape[i] = self.shape[dims[i]] (torch's permute, numpy's transpose)."""
        if len(dims) == 1 and not isinstance(dims[0], numbers.Integral):
            dims = tuple(dims[0])
        return _unary(Transpose, self, dims)

    def __iter__(self) -> Iterator["Tensor"]:
        return (self[i] for i in range(len(self)))


def _accumulate(leaf_grads: dict) -> None:
    """Add each gradient into its tensor's `.grad`, a Tensor without history (torch accumulates, never assigns)."""
    for t, g in leaf_grads.items():
        if type(g) is not _ndarray:
            g = np.array(g)  # an op on 0-d arrays gives a numpy scalar; .grad must be an editable 0-d tensor
        if t._grad is None:
            t._grad = _wrap(g)
        elif t._grad.data.flags.writeable and t._grad.data.shape == g.shape:
            np.add(t._grad.data, g, out=t._grad.data, casting="same_kind")
        else:
            t._grad = _wrap(t._grad.data + g)


_RELEASED = (
    "the graph below this tensor (made by op {op!r}) was released by backward(), as PyTorch frees its "
    "graph: draw or explain it before calling backward(), or call backward(retain_graph=True)"
)


def _inplace(t: Tensor, fn: Any, other: Any) -> Tensor:
    """Apply `fn(t, other)` in place on t (see _InPlace); nothing changes when it raises."""
    record = MODE.grad_enabled and (t._requires_grad or isinstance(other, Tensor) and other._requires_grad)
    if record and t._op is None and t._requires_grad:
        raise RuntimeError(
            "a leaf Variable that requires grad is being used in an in-place operation. Update it under "
            "`with minigrad.no_grad():` (as optimizers do), or change a .clone() of it instead"
        )
    seq = next_seq()
    if record:
        before = _new(Tensor)
        for slot in _NODE_SLOTS:
            if hasattr(t, slot):
                setattr(before, slot, getattr(t, slot))
        before.data = t.data.copy()  # what the new op reads in backward: the values before the change
        if t._modified is None:
            t._modified = []
        before._modified = t._modified  # a node that saved the old values sees the new version
        result = fn(before, other)
    else:
        with no_grad():
            result = fn(t, other)
    if result.data.shape != t.data.shape:
        raise RuntimeError(
            f"output with shape {list(t.data.shape)} doesn't match the broadcast shape {list(result.data.shape)}"
        )
    np.copyto(t.data, result.data, casting="same_kind")
    if record:
        for slot in ("_op", "_x", "_y", "_params", "_saved", "_needs_input_grad", "_seq", "_pending", "_trace"):
            if hasattr(result, slot):
                setattr(t, slot, getattr(result, slot))
        t._requires_grad, t._previous = True, before
    if t._modified is None:
        t._modified = [seq]
    else:
        t._modified.append(seq)
    MODE.last_inplace = seq
    return t


_NODE_SLOTS = tuple(s for s in Tensor.__slots__ if s != "__weakref__")


def _matmul(x: Tensor, y: Any) -> Tensor:
    """x @ y with np.matmul's rules. MatMul itself only sees operands of 2 or more dims.

    NOTE: a 1-D operand is a row (left) or a column (right) vector: reshape it to a matrix,
    multiply, and drop that axis again, so one VJP rule (grad_x = grad_out @ y.T) covers all cases.
    """
    if type(y) is not Tensor and not isinstance(y, Tensor):
        y = _lift(y, x)
    if x.data.ndim >= 2 and y.data.ndim >= 2:
        return _binary(MatMul, x, y)
    if x.data.ndim == 0 or y.data.ndim == 0:
        raise ShapeError(f"matmul: cannot apply to shapes {x.shape} and {y.shape}: a 0-d tensor has no matrix product; use *")
    inner_y = y.data.shape[0] if y.data.ndim == 1 else y.data.shape[-2]
    if x.data.shape[-1] != inner_y:
        raise ShapeError(f"matmul: cannot apply to shapes {x.shape} and {y.shape}: {MatMul.hint}")
    out = _binary(MatMul, x.reshape(1, -1) if x.data.ndim == 1 else x, y.reshape(-1, 1) if y.data.ndim == 1 else y)
    shape = out.data.shape
    if x.data.ndim == 1:
        shape = shape[:-2] + shape[-1:]
    if y.data.ndim == 1:
        shape = shape[:-1]
    return out.reshape(shape)


def _axis(axis: Any) -> Any:
    return tuple(axis) if isinstance(axis, (list, tuple)) else axis


def where(condition: Any, input: Any, other: Any) -> Tensor:
    """input where condition holds, else other, broadcast together (torch.where).

    The condition is a bool tensor or array (a comparison such as x > 0); it gets no gradient, and
    the gradient of each branch is g where that branch was taken, 0 elsewhere. input and other may be
    numbers.
    """
    mask = condition.data if isinstance(condition, Tensor) else np.asarray(condition)
    if mask.dtype != np.bool_:
        raise TypeError(f"where: the condition must be a bool tensor (a comparison such as x > 0), got dtype {mask.dtype}")
    if not isinstance(input, Tensor):
        input = _lift(input, other) if isinstance(other, Tensor) else _wrap(np.asarray(input, DEFAULT_DTYPE))
    return _binary(Where, input, other, mask)


def from_numpy(array: np.ndarray, requires_grad: bool = False) -> Tensor:
    """A Tensor sharing memory with a floating ndarray (as torch.from_numpy); no copy."""
    if type(array) is not np.ndarray or array.dtype.char not in "efd":
        if not isinstance(array, np.ndarray):
            raise TypeError(f"from_numpy() needs an ndarray, got {type(array).__name__}")
        _as_dtype(array.dtype)
    return _wrap(array, requires_grad)
