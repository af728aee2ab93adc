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
