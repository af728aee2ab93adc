"""Tensor: an ndarray plus what autograd needs (grad, requires_grad, the op that made it).

Every operator on a Tensor calls one op from `ops.py` through `_unary` or `_binary`, which run
the op's forward on the arrays and, when grad mode is on and some input requires grad, make the
output the op's node: it records the op and links to its inputs. Those links are the whole
computation graph.
"""
from __future__ import annotations

import numbers
import os
import traceback
from collections import defaultdict
from typing import Any, Iterator, Sequence

import numpy as np

from . import engine
from .engine import next_seq
from .grad_mode import MODE
from .ops import (
    Add, Div, Exp, Index, Log, MatMul, Mean, Mul, Neg, Op, Pow, ReLU, Reshape, Sigmoid, Square, Sub, Sum, Tanh,
    Transpose,
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
    t.grad = None
    t._requires_grad = requires_grad
    t.name = None
    t._op = None
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
        data = op.forward(out, x.data, *args)
    except (ValueError, TypeError, IndexError) as err:
        raise _op_error(op, (x,), err) from None
    out.data = data if type(data) is _ndarray else np.asarray(data)
    out.grad = out.name = None
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


def _binary(op: type[Op], x: "Tensor", y: Any) -> "Tensor":
    """Apply a two-input op: run its forward on the arrays and record it if an input requires grad.

    `y` may also be a number or an array (the right operand of `x + 2`): it becomes a constant.
    """
    if type(y) is float or type(y) is int:  # a Python number: its cached constant, else _lift makes one
        constant = _CONSTANTS[x.data.dtype].get(y)
        y = _lift(y, x) if constant is None else constant
    elif type(y) is not Tensor:
        y = _lift(y, x)
    out = _new(Tensor)
    out._saved = ()
    try:
        data = op.forward(out, x.data, y.data)
    except (ValueError, TypeError, IndexError) as err:
        raise _op_error(op, (x, y), err) from None
    out.data = data if type(data) is _ndarray else np.asarray(data)
    out.grad = out.name = None
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


_NEEDS_X = (True,)  # _needs_input_grad of every recorded one-input op
_NEEDS = (((False, False), (False, True)), ((True, False), (True, True)))  # by (x, y) requires_grad


def _watch(node: "Tensor", data: np.ndarray) -> None:
    """Under detect_anomaly: remember where the op was called and check its output is finite."""
    node._trace = _caller()
    engine._check_finite(data, node, "forward")


def _op_error(op: type[Op], inputs: tuple["Tensor", ...], err: Exception) -> Exception:
    """The error for a failed forward: names the op, every input shape and the rule broken."""
    shapes = " and ".join(str(t.data.shape) for t in inputs)
    reason = op.hint or str(err)
    return type(err)(f"{op.name}: cannot apply to shape{'s' * (len(inputs) > 1)} {shapes}: {reason}")


_new = object.__new__
_ndarray = np.ndarray
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _untraceable(what: str) -> RuntimeError:
    """The error for reading a tensor's value while minigrad.compile traces a step, naming the user's line."""
    return RuntimeError(
        f"minigrad.compile cannot trace {what} at {_caller()}: the step reads a tensor's value into Python, "
        "so the generated program would keep this one call's number (or this one branch of an if) forever. "
        "Return the tensor from the step and read it after the call, or keep this step uncompiled."
    )


def _caller() -> str:
    """file:line of the innermost frame outside minigrad: where the user wrote the op."""
    for frame in reversed(traceback.extract_stack()):
        if not os.path.abspath(frame.filename).startswith(_PACKAGE_DIR + os.sep):
            return f"{frame.filename}:{frame.lineno}"
    return "unknown"


class Tensor:
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
    # gradient summed so far during backward) and `_trace` (under detect_anomaly). One object per
    # op instead of a tensor, an op object and a tuple of inputs: the cyclic GC rescans live
    # objects, and on a 100,000-op chain three per op cost 1.6 us of the 4.3 us an op took; one
    # costs about 0.3 us.
    __slots__ = ("data", "grad", "_requires_grad", "name", "_retains_grad", "_op", "_x", "_y", "_saved",
                 "_params", "_needs_input_grad", "_seq", "_pending", "_trace", "__weakref__")
    # NOTE: makes `ndarray + Tensor` call Tensor.__radd__ instead of building an object array.
    __array_ufunc__ = None

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None, name: str | None = None):
        self.data = _as_array(data, dtype)
        self.grad: np.ndarray | None = None
        self._requires_grad = bool(requires_grad)
        self.name = name
        self._retains_grad = False
        self._op: type[Op] | None = None

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
        self._requires_grad = bool(value)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        """Set requires_grad in place and return self (as torch.Tensor.requires_grad_)."""
        self.requires_grad = requires_grad
        return self

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
    def size(self) -> int:
        return self.data.size

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
        if MODE.tracing:
            raise _untraceable("t.numpy()")
        return self.data

    def item(self) -> float:
        """The value of a one-element tensor as a Python float."""
        if MODE.tracing:
            raise _untraceable("t.item()")
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, this one has shape {self.shape}")
        return self.data.item()

    def __float__(self) -> float:
        if MODE.tracing:
            raise _untraceable("float(t)")
        return float(self.item())

    def __bool__(self) -> bool:
        if MODE.tracing:
            raise _untraceable("bool(t) (an if or while on a tensor)")
        return bool(self.data)

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        if MODE.tracing:
            raise _untraceable("np.asarray(t)")
        if copy is False and dtype is not None and np.dtype(dtype) != self.data.dtype:
            raise ValueError(f"cannot view a {self.data.dtype} tensor as {np.dtype(dtype)} without a copy")
        out = self.data if dtype is None else self.data.astype(dtype, copy=False)
        return out.copy() if copy and out is self.data else out

    # ------------------------------------------------------------ graph

    def detach(self) -> "Tensor":
        """A new leaf sharing this tensor's data, cut from the graph (no grad flows through it)."""
        return _wrap(self.data)

    def retain_grad(self) -> None:
        """Keep `.grad` on this non-leaf tensor after backward (leaves always keep theirs)."""
        if not self._requires_grad:
            raise RuntimeError("retain_grad() needs a tensor that requires grad; this one does not")
        if self._op is not None:
            self._retains_grad = True

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    def backward(self, grad: Any = None, retain_graph: bool = False, *, gradient: Any = None) -> None:
        """Compute d self / d leaf for every leaf that requires grad, adding it into `leaf.grad`.

        Args:
            grad: d(something)/d(self), same shape as self. May be omitted when self has one
                element (then it is 1, as for a loss).
            retain_graph: keep the graph usable so backward can run again through it; by
                default each op's saved state is released as soon as its VJP has run, and a
                second backward raises, as in PyTorch.
            gradient: torch's name for `grad`.

        Raises:
            RuntimeError: self does not require grad; grad omitted for a non-scalar; the graph
                was already freed by an earlier backward. Nothing is changed when it raises.
            ValueError: `grad` has the wrong shape.

        Example:
            >>> x = Tensor([1.0, 2.0], requires_grad=True)
            >>> (x * x).sum().backward()
            >>> x.grad                  # array([2., 4.], dtype=float32)
        """
        if gradient is not None:
            grad = gradient
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
                raise ValueError(f"backward(grad=...) has shape {grad.shape}, but this tensor has shape {self.shape}")
        engine.backward(self, grad, retain_graph)

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
        if isinstance(exponent, Tensor) or not isinstance(exponent, numbers.Real):
            raise TypeError(
                f"Tensor ** needs a number exponent, got {type(exponent).__name__}; "
                "for a tensor exponent write (x.log() * y).exp()"
            )
        return _unary(Pow, self, exponent.item() if isinstance(exponent, np.generic) else exponent)

    def __rpow__(self, base: Any) -> "Tensor":
        if not isinstance(base, numbers.Real) or base <= 0:
            raise TypeError(f"number ** Tensor needs a positive number base, got {base!r}")
        return (self * float(np.log(base))).exp()

    def __getitem__(self, index: Any) -> "Tensor":
        if isinstance(index, Tensor):
            index = index.data.astype(np.intp)
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
                raise ValueError(f"transpose: dims {axes} are out of range for shape {self.shape}") from None
            axes = tuple(order)
        return _unary(Transpose, self, axes or None)

    def permute(self, *dims: int) -> "Tensor":
        """Reorder the axes: out.shape[i] = self.shape[dims[i]] (torch's permute, numpy's transpose)."""
        if len(dims) == 1 and not isinstance(dims[0], numbers.Integral):
            dims = tuple(dims[0])
        return _unary(Transpose, self, dims)

    def __iter__(self) -> Iterator["Tensor"]:
        return (self[i] for i in range(len(self)))


def _matmul(x: Tensor, y: Any) -> Tensor:
    """x @ y with np.matmul's rules. MatMul itself only sees operands of 2 or more dims.

    NOTE: a 1-D operand is a row (left) or a column (right) vector: reshape it to a matrix,
    multiply, and drop that axis again, so one VJP rule (grad_x = grad_out @ y.T) covers all cases.
    """
    if type(y) is not Tensor:
        y = _lift(y, x)
    if x.data.ndim >= 2 and y.data.ndim >= 2:
        return _binary(MatMul, x, y)
    if x.data.ndim == 0 or y.data.ndim == 0:
        raise ValueError(f"matmul: cannot apply to shapes {x.shape} and {y.shape}: a 0-d tensor has no matrix product; use *")
    inner_y = y.data.shape[0] if y.data.ndim == 1 else y.data.shape[-2]
    if x.data.shape[-1] != inner_y:
        raise ValueError(f"matmul: cannot apply to shapes {x.shape} and {y.shape}: {MatMul.hint}")
    out = _binary(MatMul, x.reshape(1, -1) if x.data.ndim == 1 else x, y.reshape(-1, 1) if y.data.ndim == 1 else y)
    shape = out.data.shape
    if x.data.ndim == 1:
        shape = shape[:-2] + shape[-1:]
    if y.data.ndim == 1:
        shape = shape[:-1]
    return out.reshape(shape)


def _axis(axis: Any) -> Any:
    return tuple(axis) if isinstance(axis, (list, tuple)) else axis


def from_numpy(array: np.ndarray, requires_grad: bool = False) -> Tensor:
    """A Tensor sharing memory with a floating ndarray (as torch.from_numpy); no copy."""
    if type(array) is not np.ndarray or array.dtype.char not in "efd":
        if not isinstance(array, np.ndarray):
            raise TypeError(f"from_numpy() needs an ndarray, got {type(array).__name__}")
        _as_dtype(array.dtype)
    return _wrap(array, requires_grad)
