"""gradcheck: compare backward() with central finite differences, in float64.

For f: R^n -> R^m the check builds the full m x n Jacobian twice: numerically, column by column,
from (f(x + eps e_j) - f(x - eps e_j)) / (2 eps); and analytically, row by row, from backward()
with a one-hot grad. Both run on float64 copies of the inputs, so the caller's tensors and their
`.grad` are never touched.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from .engine import leaf_grads
from .tensor import Tensor


class GradcheckError(AssertionError):
    """Raised by gradcheck when backward() disagrees with finite differences."""


def _outputs(fn: Callable[..., Tensor], inputs: Sequence[Tensor]) -> Tensor:
    out = fn(*inputs)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")
    return out


def gradcheck(
    fn: Callable[..., Tensor],
    inputs: Tensor | Sequence[Tensor],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
) -> bool:
    """Check fn's gradients with respect to every input that requires grad.

    Args:
        fn: maps the input Tensors to one Tensor (any shape).
        inputs: a Tensor or a sequence of Tensors; the check runs on float64 copies of them.
        eps: finite-difference step.
        atol, rtol: a Jacobian entry passes when |analytic - numeric| <= atol + rtol * |numeric|.
        raise_exception: raise GradcheckError on a mismatch instead of returning False.

    Returns:
        True when every entry matches.

    Raises:
        GradcheckError: on the first mismatch, naming the input, the element, both values.

    Example:
        >>> x = Tensor(np.random.randn(3, 4), requires_grad=True, dtype=np.float64)
        >>> gradcheck(lambda t: (t * t).sum(), [x])
        True
    """
    if isinstance(inputs, Tensor):
        inputs = [inputs]
    leaves = [Tensor(t.data, requires_grad=t.requires_grad, dtype=np.float64) for t in inputs]
    checked = [i for i, t in enumerate(leaves) if t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad, so there is nothing to check")

    out = _outputs(fn, leaves)
    if not out.requires_grad:
        raise ValueError("gradcheck: fn's output does not depend on any input that requires grad")
    m = out.data.size
    analytic = {i: np.zeros((m, leaves[i].data.size)) for i in checked}
    for row in range(m):
        onehot = np.zeros(m, dtype=out.dtype)
        onehot[row] = 1.0
        # NOTE: leaf_grads, not backward(): tensors that fn captures keep their .grad untouched.
        grads = leaf_grads(out, onehot.reshape(out.shape), retain_graph=True)
        for i in checked:
            if leaves[i] in grads:
                analytic[i][row] = grads[leaves[i]].ravel()

    for i in checked:
        flat = leaves[i].data.reshape(-1)
        for j in range(flat.size):
            orig = flat[j]
            flat[j] = orig + eps
            plus = _outputs(fn, leaves).data.astype(np.float64).ravel()
            flat[j] = orig - eps
            minus = _outputs(fn, leaves).data.astype(np.float64).ravel()
            flat[j] = orig
            numeric = (plus - minus) / (2 * eps)
            bad = np.abs(analytic[i][:, j] - numeric) > atol + rtol * np.abs(numeric)
            if bad.any():
                row = int(np.argmax(bad))
                element = np.unravel_index(j, leaves[i].shape)
                message = (
                    f"gradcheck: Jacobian mismatch for input {i}, element {tuple(map(int, element))}, "
                    f"output element {row}: backward gives {float(analytic[i][row, j])!r}, "
                    f"finite differences give {float(numeric[row])!r}"
                )
                if raise_exception:
                    raise GradcheckError(message)
                return False
    return True


def gradgradcheck(
    fn: Callable[..., Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Sequence[np.ndarray] | np.ndarray | None = None,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
) -> bool:
    """Check fn's second derivatives: the gradient of (d fn / d inputs · v) against finite differences of it.

    v is `grad_outputs` (default: fixed random values of fn's output shape). For every input i and
    element e of the first derivative d<fn·v>/d input_i, its gradient from a backward with
    create_graph=True is compared with central differences of the first derivative, in float64.

    Raises:
        GradcheckError: on the first mismatch, naming both inputs, the elements and both values.
    """
    from .autograd import grad

    arrays = [np.array(t.data if isinstance(t, Tensor) else t, dtype=np.float64)
              for t in ((inputs,) if isinstance(inputs, Tensor) else inputs)]
    leaves = [Tensor(a, requires_grad=True) for a in arrays]
    out = _outputs(fn, leaves)
    v = np.random.default_rng(0).standard_normal(out.shape) if grad_outputs is None else np.asarray(grad_outputs, np.float64)

    def first(values: list[np.ndarray], create_graph: bool) -> tuple[list[Tensor], list[Tensor | None]]:
        xs = [Tensor(a, requires_grad=True) for a in values]
        return xs, list(grad(_outputs(fn, xs), xs, v, create_graph=create_graph, allow_unused=True))

    xs, firsts = first(arrays, True)
    for i, g in enumerate(firsts):
        # NOTE: a first derivative without a history says every second derivative is 0; check that too.
        shape = arrays[i].shape
        for e in np.ndindex(shape):
            onehot = np.zeros(shape)
            onehot[e] = 1.0
            recorded = g is not None and g.requires_grad
            analytic = grad(g, xs, onehot, retain_graph=True, allow_unused=True) if recorded else (None,) * len(xs)
            for j, a in enumerate(arrays):
                row = np.zeros(a.shape) if analytic[j] is None else analytic[j].data
                for k in np.ndindex(a.shape):
                    numeric = 0.0
                    for sign in (1.0, -1.0):
                        shifted = [b.copy() for b in arrays]
                        shifted[j][k] += sign * eps
                        gi = first(shifted, False)[1][i]
                        numeric += sign * (0.0 if gi is None else gi.data[e]) / (2 * eps)
                    if not abs(row[k] - numeric) <= atol + rtol * abs(numeric):
                        if raise_exception:
                            raise GradcheckError(
                                f"gradgradcheck: d(d out / d input {i})[{e}] / d input {j}[{k}] is {row[k]!r} "
                                f"from backward with create_graph=True, but {numeric!r} from finite differences")
                        return False
    return True
