"""torch.autograd's functional entry points: `grad`, and `backward` with create_graph and inputs.

`grad` returns d outputs / d inputs as Tensors and leaves every `.grad` alone. Without
create_graph it runs the array sweep (engine.leaf_grads) that `backward()` runs; with it, the
Tensor sweep (higher.graph_grads) that records the backward pass as a graph.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from . import engine, higher
from .tensor import Tensor, _as_array, _wrap

_UNUSED = ("One of the differentiated Tensors appears to not have been used in the graph. "
           "Set allow_unused=True if this is the desired behavior.")


def _tuple(value: Any) -> tuple:
    return (value,) if isinstance(value, Tensor) or value is None else tuple(value)


def _seeds(outputs: tuple[Tensor, ...], grad_outputs: Any, create_graph: bool) -> list[tuple[Tensor, Any]]:
    """Each output with its gradient: an array, or a Tensor under create_graph (ones for a scalar)."""
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    elif isinstance(grad_outputs, (Tensor, np.ndarray, int, float)):
        grad_outputs = (grad_outputs,)
    grad_outputs = tuple(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise RuntimeError(f"grad requires one grad_output per output: got {len(grad_outputs)} for {len(outputs)} outputs")
    seeds = []
    for i, (out, g) in enumerate(zip(outputs, grad_outputs)):
        if not out.requires_grad:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have a grad_fn")
        if g is None:
            if out.data.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            g = np.ones(out.data.shape, out.data.dtype)
        if isinstance(g, Tensor):
            if g.shape != out.shape:
                raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of {g.shape} and output[{i}] "
                                   f"has a shape of {out.shape}.")
            seeds.append((out, g if create_graph else g.data))
        else:
            g = _as_array(g, out.data.dtype)
            seeds.append((out, _wrap(g) if create_graph else g))
    return seeds


def sweep(outputs: tuple[Tensor, ...], grad_outputs: Any, retain_graph: bool, create_graph: bool,
          inputs: tuple[Tensor, ...]) -> dict:
    """The gradients of every leaf that requires grad and of every tensor in `inputs`, keyed by tensor."""
    seeds = _seeds(outputs, grad_outputs, create_graph)
    if create_graph:
        return higher.graph_grads(seeds, retain_graph, frozenset(inputs))
    # NOTE: a non-leaf input is captured as a retained grad is, only for this sweep.
    marked = [t for t in inputs if t._op is not None and not t._retains_grad]
    for t in marked:
        t._retains_grad = True
    try:
        found = engine.leaf_grads(seeds[0][0], seeds[0][1], retain_graph, tuple(seeds[1:]))
    finally:
        for t in marked:
            t._retains_grad = False
    return {t: _wrap(g if type(g) is np.ndarray else np.array(g)) for t, g in found.items()}


def grad(outputs: Tensor | Sequence[Tensor], inputs: Tensor | Sequence[Tensor], grad_outputs: Any = None,
         retain_graph: bool | None = None, create_graph: bool = False,
         allow_unused: bool = False) -> tuple[Tensor | None, ...]:
    """Sum over outputs of d output / d input, times its grad_output, for each input (torch.autograd.grad).

    Returns one Tensor per input, with a history when create_graph=True (so it can be differentiated
    again); `.grad` is not touched. retain_graph defaults to create_graph. An input the outputs do not
    depend on raises, unless allow_unused=True, when its gradient is None.

    Example:
        >>> x = Tensor([1.0, 2.0], requires_grad=True)
        >>> (g,) = grad((x ** 3).sum(), x, create_graph=True)   # 3 x²
        >>> grad(g.sum(), x)                                      # (6 x,)
    """
    outputs, inputs = _tuple(outputs), _tuple(inputs)
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise RuntimeError(f"One of the differentiated Tensors (input {i}) does not require grad")
    retain = create_graph if retain_graph is None else retain_graph
    found = sweep(outputs, grad_outputs, retain, create_graph, inputs)
    result = tuple(found.get(t) for t in inputs)
    if not allow_unused and any(g is None for g in result):
        raise RuntimeError(_UNUSED)
    return result


def backward(root: Tensor, gradient: Any, retain_graph: bool | None, create_graph: bool,
             inputs: Tensor | Sequence[Tensor] | None) -> None:
    """Tensor.backward with create_graph or inputs: accumulate into `.grad` (out of place, with history,
    under create_graph, as torch), only into `inputs` when given."""
    retain = create_graph if retain_graph is None else retain_graph
    targets = None if inputs is None else _tuple(inputs)
    if targets is not None and not targets:
        raise RuntimeError("backward(inputs=...) was given an empty sequence of inputs")
    found = sweep((root,), gradient, retain, create_graph, targets or ())
    for t, g in found.items():
        if targets is not None and not any(t is s for s in targets):
            continue
        if targets is None and t._op is not None and not t._retains_grad:
            continue
        if create_graph:
            t._grad = g if t._grad is None else t._grad + g
        else:
            t._grad = g if t._grad is None else _wrap(t._grad.data + g.data)
