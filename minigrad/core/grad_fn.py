"""`Tensor.grad_fn`: the recorded graph as PyTorch shows it, with torch's node names.

In torch every non-leaf tensor has a `grad_fn`, the backward node of the op that made it
(`MulBackward0`); its `next_functions` lead to the nodes of the op's inputs, `(node, 0)` per input,
`(None, 0)` for an input that needs no gradient, and an `AccumulateGrad` node (with `.variable`)
for a leaf that requires grad: the node that adds into `leaf.grad`. minigrad's graph is the same
graph with other names, so `grad_fn` is a view of it: a small object made on each access from the
tensor (which is its own node), nothing kept per op. Each op class of the op table names its torch
node (`Op.torch_name`, refined by `Op.grad_fn_name`).

Where minigrad records what torch records, names and structure match:

    minigrad expression                  torch's grad_fn            minigrad's grad_fn
    x + y, x - y, x * y, x / y           Add/Sub/Mul/DivBackward0   the same
    x ** 2, x.square()                   PowBackward0               the same
    x ** y (tensor exponent)             PowBackward1               the same
    2 ** x                               PowBackward2               PowBackward1 (2 is a constant input)
    x.exp(), log, tanh, sigmoid, relu    ExpBackward0, ...          the same (ReluBackward0)
    sqrt, abs, clamp, maximum, where     SqrtBackward0, ...         the same (ClampBackward1)
    x.sum(), x.sum(dim)                  SumBackward0 / 1           the same (mean: MeanBackward0 / 1)
    x.max(), x.max(dim)                  MaxBackward1 / 0           the same (min: MinBackward1 / 0)
    softmax, log_softmax                 (Log)SoftmaxBackward0      the same
    A @ B (2-D)                          MmBackward0                the same
    reshape, view, flatten               ViewBackward0              the same
    unsqueeze, squeeze, expand, clone    UnsqueezeBackward0, ...    the same
    x.T, permute, transpose(0, 1)        PermuteBackward0 / TBackward0 / TransposeBackward0
                                                                    PermuteBackward0 (one op for all)
    x.double(), x.to(dtype)              ToCopyBackward0            the same
    x[1], x[1:3], x[[0, 2]]              Select/Slice/IndexBackward0
                                                                    the same; x[1, 2] is one node
                                                                    (torch: two SelectBackward0)
    cat([a, b, c]), stack(...)           CatBackward0 / StackBackward0 with one edge per tensor
                                                                    the same: minigrad joins two at a time,
                                                                    and the inner pairs are looked through
    x @ W + b (nn.Linear)                AddmmBackward0 (one fused node, edges b, x, W.T)
                                                                    AddBackward0 over MmBackward0
    2 - x, 2 / x                         RsubBackward1, MulBackward0 over ReciprocalBackward0
                                                                    SubBackward0, DivBackward0 with a
                                                                    (None, 0) edge for the constant 2
    v @ w, A @ v (1-D operands)          DotBackward0, MvBackward0  ViewBackward0 over MmBackward0
                                                                    over ViewBackward0 (a 1-D operand is
                                                                    reshaped to a matrix)
    A @ B (batched)                      UnsafeViewBackward0 over Mm/BmmBackward0
                                                                    BmmBackward0
    cat or stack of one tensor           CatBackward0 / StackBackward0
                                                                    CloneBackward0 / UnsqueezeBackward0

So `nn.Linear` is the one common layer whose graph differs: torch fuses it into AddmmBackward0; a
model written as `(x @ W).add(b)` or with the layer's pieces matches. After a plain `backward()`
minigrad's graph lets go of its inputs (torch keeps the structure and frees only saved values), so
walk `next_functions` before backward, or call `backward(retain_graph=True)`.
"""
from __future__ import annotations

from typing import Any

_RELEASED = (
    "next_functions of {name}: backward() released this part of the graph (minigrad's graph lets go "
    "of its inputs after a plain backward, where torch keeps the structure); walk grad_fn before "
    "backward(), or call backward(retain_graph=True)"
)


class Node:
    """One node of torch's backward graph, for the recorded op that made a tensor (`t.grad_fn`).

    Its class is named as torch names the node (`type(t.grad_fn).__name__ == "MulBackward0"`).
    Two views of the same tensor's node compare equal, as torch's one object per node does.
    """

    __slots__ = ("_tensor",)

    def __init__(self, tensor: Any) -> None:
        self._tensor = tensor

    def name(self) -> str:
        """torch's name of this node, e.g. "MulBackward0"."""
        return type(self).__name__

    @property
    def next_functions(self) -> tuple[tuple["Node | None", int], ...]:
        """Per input of the op, in order: (the input's node, 0); (None, 0) when it needs no gradient."""
        return tuple(edge for p in _inputs(self._tensor, self.name()) for edge in _edges(p))

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other._tensor is self._tensor

    def __hash__(self) -> int:
        return id(self._tensor)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} object at {id(self._tensor):#x}>"


class AccumulateGrad(Node):
    """The node at a leaf that requires grad: backward adds the gradient into `variable.grad`."""

    __slots__ = ()

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"

    @property
    def variable(self) -> Any:
        """The leaf tensor whose `.grad` this node fills."""
        return self._tensor

    @property
    def next_functions(self) -> tuple[tuple["Node | None", int], ...]:
        return ()


_CLASSES: dict[str, type[Node]] = {}
_CPP_NODES = ("CopySlices", "CopyBackwards")
"""Nodes torch writes in C++ only, whose name() carries its namespace, as AccumulateGrad's does."""


def node(tensor: Any) -> Node:
    """The node of a tensor made by a recorded op, in a class named as torch names it."""
    op = tensor._op
    name = op.grad_fn_name(op.param_values(tensor), _shapes(tensor)) or op.torch_name or op.__name__
    cls = _CLASSES.get(name)
    if cls is None:
        methods: dict[str, Any] = {"__slots__": (), "__module__": __name__}
        if name in _CPP_NODES:
            methods["name"] = lambda self: f"torch::autograd::{type(self).__name__}"
        cls = _CLASSES[name] = type(name, (Node,), methods)
    return cls(tensor)


def _shapes(tensor: Any) -> tuple[tuple[int, ...], ...]:
    """The op's input shapes, for ops that torch names by them (mm or bmm)."""
    inputs = (tensor._x, tensor._y)
    return tuple(p.data.shape for p in inputs if p is not None)


def _inputs(tensor: Any, name: str) -> tuple[Any, ...]:
    if tensor._x is None:
        raise RuntimeError(_RELEASED.format(name=name))
    return (tensor._x,) if tensor._y is None else (tensor._x, tensor._y)


def _edges(parent: Any) -> tuple[tuple[Node | None, int], ...]:
    """The edges to one input: its node, an AccumulateGrad for a leaf, or None when it needs no gradient.

    An input made by a piece of a larger op (the inner pairs of a cat of many tensors) is looked
    through: its own inputs' edges stand in for it, as torch records that op as one node.
    """
    if not parent._requires_grad:
        return ((None, 0),)
    if parent._op is None:
        return ((AccumulateGrad(parent), 0),)
    op = parent._op
    if op.grad_fn_name(op.param_values(parent), _shapes(parent)) is None:
        return tuple(edge for p in _inputs(parent, op.__name__) for edge in _edges(p))
    return ((node(parent), 0),)
