"""Tracing: run the user's step once, eagerly, and record it as one joint graph of forward, backward and update.

The step runs exactly as it would uncompiled, so its first call trains as usual; a call that is refused
trains nothing (the parameters, the optimizer state and every `.grad` it changed are put back). Meanwhile three calls
are watched (their methods are wrapped for the length of the call and put back after):

- `loss.backward()`: the recorded graph below the loss is read through the tensors' public view
  (`inputs`, `op_type`, `op_params`, `needs_input_grad`, ...). Each op's forward becomes nodes from its
  `expression`, and the backward pass is built as the engine runs it: from the loss back, in reverse
  order, each op's `formulas` give one share per input, shares of a tensor used twice are added, and a
  share that numpy broadcast is summed back to its input's shape (the engine's `unbroadcast`).
- `optimizer.step()`: `updates.record_step` adds the in-place update of each parameter.
- `zero_grad()` of an optimizer or a module: which gradients the step starts afresh.

A constant computed from tensors' values is recorded as numpy text too, so that the program recomputes
it on every call: the masks of comparisons (`x > 0`, `a & b`, `~m`, watched as those three calls are,
for `where`'s condition) and the constants of minigrad.nn's losses (a function's `expression`).

Everything else the step does in Python runs once and is not recorded, so reading a value out of a
tensor (`.item()`, `float(t)`, an `if` on a tensor) is refused while tracing: the program would keep
that one call's value.
"""
from __future__ import annotations

import contextlib
import os
import sys
import traceback
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from .. import nn
from ..core.tensor import Tensor
from ..nn import Module
from ..optim import Optimizer
from ..see.graph import forward_order, inspect_graph
from .ir import Builder, Node
from .lower import LoweringError, Shaped, lower
from .updates import record_step

FORWARD, BACKWARD, UPDATE = 0, 1, 2  # stage = 3 * event + one of these
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_VALUE_READS = {"item": "t.item()", "__float__": "float(t)", "__bool__": "bool(t) (an if or while on a tensor)",
                "__array__": "np.asarray(t)", "numpy": "t.numpy()"}
# the Tensor methods that make a mask from values without recording an op, and the numpy text of each
# (None: one the program cannot recompute, refused where an op reads it)
_MASKS = {"__lt__": "x < y", "__le__": "x <= y", "__gt__": "x > y", "__ge__": "x >= y", "__eq__": "x == y",
          "__ne__": "x != y", "lt": "x < y", "le": "x <= y", "gt": "x > y", "ge": "x >= y", "eq": "x == y",
          "ne": "x != y", "__and__": "x & y", "__or__": "x | y", "__xor__": "x ^ y", "__rand__": "x & y",
          "__ror__": "x | y", "__rxor__": "x ^ y", "__invert__": "~x", "any": None, "all": None, "argmax": None,
          "argmin": None}


class TraceError(RuntimeError):
    """The step does something the compiler cannot record faithfully; the message says what and what to do."""


def user_line() -> str:
    """file:line of the innermost frame outside minigrad: the line of the user's step."""
    for frame in reversed(traceback.extract_stack()):
        if not os.path.abspath(frame.filename).startswith(_PACKAGE_DIR + os.sep):
            return f"{frame.filename}:{frame.lineno}"
    return "unknown"


@dataclass
class Binding:
    """An array (or list) the program reads by reference, and how the live step checks it is still the one."""

    node: Node
    obj: Any
    role: str  # "param", "state" or "data"
    owner: Node | None = None  # for state: the parameter it belongs to
    tensor: Tensor | None = None  # for a parameter


@dataclass
class Argument:
    """One positional argument of the step: an array, a Tensor (its array is the input) or a plain value."""

    kind: str  # "array", "tensor" or "static"
    value: Any
    node: Node | None = None


@dataclass
class Recording:
    """What one traced call gives the optimizer and the code generator."""

    builder: Builder
    arguments: list[Argument]
    bindings: list[Binding]
    seeds: list[Node]
    updates: list[Node]
    output: Any
    guards: list[dict[str, Any]]
    result: Any


class Tracer:
    """Watches one eager call of a step and records it; see the module docstring."""

    def __init__(self, args: tuple[Any, ...]) -> None:
        self.b = Builder()
        self.arguments = [_argument(a) for a in args]
        self.bindings: list[Binding] = []
        self.guards: list[dict[str, Any]] = []
        self.seeds: list[Node] = []
        self.updates: list[Node] = []
        self.event = 0
        self._nodes: dict[int, tuple[Tensor, Node]] = {}  # non-leaf tensors and constant leaves, by id
        self._versions: dict[int, tuple[Tensor, Node]] = {}  # each parameter's latest value
        self._grads: dict[int, Node] = {}  # the gradient this step computed into each parameter's .grad
        self._produced: dict[int, Any] = {}  # the .grad object the eager backward left, by parameter
        self._zeroed: set[int] = set()
        self._fresh: dict[int, Tensor] = {}  # parameters whose .grad was None before the step zeroed it
        self._states: dict[int, Node] = {}
        self._undo: list[tuple[Optimizer, list[tuple[Tensor, np.ndarray]], dict]] = []  # before each step()
        self._grads_before: dict[int, tuple[Tensor, Tensor | None, np.ndarray | None]] = {}  # each .grad as it was
        self._derived: dict[int, tuple[Tensor, dict[str, Any], str]] = {}  # constants computed from tensors' values
        self._derived_arrays: dict[int, Tensor] = {}  # the array of each of those constants, by id
        self._params: dict[int, dict[str, Any]] = {}  # each recorded op's params, an array param as its node

    # ------------------------------------------------------------ the call

    def run(self, step: Callable[..., Any], args: tuple[Any, ...]) -> Recording:
        """Call `step(*args)` eagerly while recording it; returns the recording (with the eager result)."""
        try:
            with self._watching():
                result = step(*args)
            output = self._output(result)
            for key, p in self._fresh.items():
                if p.grad is not None and key not in self._zeroed:
                    raise TraceError(
                        f"the step never clears {_label(p)}.grad, so an uncompiled loop would add each call's "
                        "gradient to the last one's; the compiled step computes it afresh. Call "
                        "optimizer.zero_grad() in the step"
                    )
        except BaseException:
            self._restore()  # a call that does not compile trains nothing: its updates are undone
            raise
        for p, _ in self._versions.values():
            p.grad = None  # the program leaves .grad unset; so does the traced call, for the same state
        return Recording(self.b, self.arguments, self.bindings, self.seeds, self.updates, output, self.guards,
                         result)

    @contextlib.contextmanager
    def _watching(self) -> Iterator[None]:
        """Wrap backward, step and zero_grad for the length of the call, and refuse value reads meanwhile."""
        tracer = self
        patches: list[tuple[Any, str, Any]] = []
        inside = [0]  # > 0 while minigrad's own backward or step runs: they may read values

        def patch(owner: Any, name: str, replacement: Any) -> None:
            patches.append((owner, name, owner.__dict__[name]))
            setattr(owner, name, replacement)

        def wrap(cls: type, name: str, before: Callable[..., None] | None, after: Callable[..., None] | None) -> None:
            original = cls.__dict__[name]

            def wrapper(obj: Any, *args: Any, **kwargs: Any) -> Any:
                if before is not None and not inside[0]:
                    before(obj, *args, **kwargs)
                inside[0] += 1
                try:
                    out = original(obj, *args, **kwargs)
                finally:
                    inside[0] -= 1
                if after is not None and not inside[0]:
                    after(obj)
                return out

            patch(cls, name, wrapper)

        def refuse(name: str, what: str) -> None:
            original = Tensor.__dict__[name]

            def refusing(t: Tensor, *args: Any, **kwargs: Any) -> Any:
                # minigrad's own code may read values (a loss checks its inputs); the user's step may not
                if not inside[0] and not sys._getframe(1).f_code.co_filename.startswith(_PACKAGE_DIR + os.sep):
                    raise TraceError(
                        f"minigrad.compile cannot trace {what} at {user_line()}: the step reads a tensor's value "
                        "into Python, so the generated program would keep this one call's number (or this one "
                        "branch of an if) forever. Return the tensor from the step and read it after the call, "
                        "or keep this step uncompiled"
                    )
                return original(t, *args, **kwargs)

            patch(Tensor, name, refusing)

        def derive(name: str, function: Any) -> None:
            def deriving(x: Tensor, *args: Any, **kwargs: Any) -> Tensor:
                out = function(x, *args, **kwargs)
                tracer._derive(out, {"x": x}, function.expression)
                return out

            patch(nn, name, deriving)

        def mask(name: str, expression: str | None) -> None:
            owner = next(cls for cls in Tensor.__mro__ if name in cls.__dict__)
            original = owner.__dict__[name]

            def masking(t: Tensor, *args: Any, **kwargs: Any) -> Any:
                out = original(t, *args, **kwargs)
                if isinstance(out, Tensor):
                    sources = {"x": t, "y": args[0]} if args else {"x": t}
                    tracer._derive(out, sources if expression else {}, expression)
                return out

            patch(owner, name, masking)

        wrap(Tensor, "backward", tracer._before_backward, tracer._after_backward)
        wrap(Optimizer, "step", tracer._before_step, tracer._after_step)
        wrap(Optimizer, "zero_grad", lambda opt, *a, **k: tracer._keep_grads(_params_of(opt)),
             lambda opt: tracer._cleared(_params_of(opt)))
        wrap(Module, "zero_grad", lambda module, *a, **k: tracer._keep_grads(module.parameters()),
             lambda module: tracer._cleared(list(module.parameters())))
        for cls in _subclasses(Optimizer):
            if "step" in cls.__dict__:
                wrap(cls, "step", tracer._before_step, tracer._after_step)
            if "zero_grad" in cls.__dict__:
                wrap(cls, "zero_grad", lambda opt, *a, **k: tracer._keep_grads(_params_of(opt)),
                     lambda opt: tracer._cleared(_params_of(opt)))
        for name, what in _VALUE_READS.items():
            refuse(name, what)
        for name, function in list(vars(nn).items()):
            if callable(function) and getattr(function, "expression", None):
                derive(name, function)
        for name, expression in _MASKS.items():
            mask(name, expression)
        try:
            yield
        finally:
            for owner, name, original in reversed(patches):
                setattr(owner, name, original)

    def _derive(self, out: Tensor, sources: dict[str, Any], expression: str | None) -> None:
        """Remember that constant `out` is `expression` of `sources`, so the program computes it on every call."""
        self._derived[id(out)] = (out, sources, expression)
        self._derived_arrays[id(out.data)] = out

    # ------------------------------------------------------------ zero_grad, backward, step

    def _cleared(self, params: list[Tensor]) -> None:
        for p in params:
            key = id(p)
            self._zeroed.add(key)
            self._grads.pop(key, None)
            self._produced.pop(key, None)

    def _before_backward(self, root: Tensor, gradient: Any = None, retain_graph: bool | None = None,
                         create_graph: bool = False, inputs: Any = None, *, grad: Any = None) -> None:
        if create_graph or inputs is not None:
            raise TraceError(f"minigrad.compile records a plain backward(); the one at {user_line()} passes "
                             f"{'create_graph=True' if create_graph else 'inputs='}; keep this step uncompiled")
        grad = gradient if gradient is not None else grad
        if isinstance(grad, Tensor):
            grad = grad.data
        if not root.requires_grad:
            return  # the eager backward raises its own error
        self._keep_grads(t for t in forward_order(root) if t.is_leaf and t.requires_grad)
        self.b.stage = 3 * self.event + FORWARD
        self.forward(root)
        self.b.stage = 3 * self.event + BACKWARD
        if grad is None:
            seed = self.b.leaf("const", np.ones(root.shape, root.dtype))
            seed.op = "seed"
            self.seeds.append(seed)
        else:
            seed = self.b.leaf("const", np.array(grad, dtype=root.dtype))
        self._backward(root, seed)

    def _after_backward(self, root: Tensor) -> None:
        for key in list(self._grads):
            p = self._versions[key][0]
            self._produced[key] = p.grad
        self.event += 1

    def _before_step(self, opt: Optimizer, *args: Any, **kwargs: Any) -> None:
        """Keep the parameters and the optimizer's state as they are before its eager update, for `_restore`."""
        params = [(p, p.data.copy()) for p in _params_of(opt)]
        state = {p: {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in s.items()} for p, s in opt.state.items()}
        self._undo.append((opt, params, state))

    def _keep_grads(self, params: Iterable[Tensor]) -> None:
        """Keep each parameter's `.grad` as it was before the traced call first cleared or filled it."""
        for p in params:
            if id(p) not in self._grads_before:
                g = p.grad
                self._grads_before[id(p)] = (p, g, None if g is None else g.data.copy())

    def _restore(self) -> None:
        """Put back what the traced call changed: the optimizer steps' updates (newest first) and every `.grad`."""
        for opt, params, state in reversed(self._undo):
            for p, data in params:
                np.copyto(p.data, data)
            opt.state.clear()
            opt.state.update(state)
        for p, g, data in self._grads_before.values():
            if g is not None:
                np.copyto(g.data, data)
            p.grad = g
        self._undo.clear()
        self._grads_before.clear()

    def _after_step(self, opt: Optimizer, *args: Any) -> None:
        self.b.stage = 3 * self.event + UPDATE
        record_step(self, opt)
        self.event += 1

    # ------------------------------------------------------------ the forward graph

    def forward(self, root: Tensor) -> Node:
        """The node of `root`, recording every op of its graph not recorded yet (parents first)."""
        order = forward_order(root)
        for t in order:
            if self._known(t) is None:
                self._record(t)
        info = inspect_graph(root)
        for t in order:
            node = self.node(t)
            if node.name is None:
                node.name = info.idents[t]
                node.strong = t not in info.generated
                node.display = info.names[t]
        return self.node(root)

    def node(self, t: Tensor) -> Node:
        found = self._known(t)
        if found is None:
            raise TraceError(f"internal: tensor {t!r} was not recorded")
        return found

    def _known(self, t: Tensor) -> Node | None:
        if t.is_leaf and t.requires_grad and id(t) in self._versions:
            return self._versions[id(t)][1]
        entry = self._nodes.get(id(t))
        return None if entry is None else entry[1]

    def _record(self, t: Tensor) -> None:
        if t.is_leaf:
            self._leaf(t)
            return
        op = t.op_type
        if not op.expression:
            raise TraceError(f"minigrad.compile cannot compile op {op.name!r} ({op.__name__}): it has no numpy "
                             "expression in the op table (Op.expression); keep this step uncompiled")
        inputs = [self.node(i) for i in t.inputs]
        params = self._params[id(t)] = {k: self._param(v) for k, v in t.op_params.items()}
        env = {**params, "x": inputs[0], "out": Shaped(t.shape)}
        if len(inputs) > 1:
            env["y"] = inputs[1]
        node = _lower(op, op.expression, env, self.b)
        if not isinstance(node, Node):
            node = self.b.const(np.asarray(node, dtype=t.dtype))
        value = np.asarray(node.value)
        exact = node.kind != "op" or node.op not in ("matmul", "vdot")  # a product's value only stands in
        if value.shape != t.shape or value.dtype != t.dtype or exact and not _close(value, t.data):
            raise TraceError(
                f"op {op.name!r}: its expression {op.expression!r} does not reproduce its forward "
                f"(shape {value.shape} {value.dtype} against {t.shape} {t.dtype})"
            )
        if node.kind == "op":
            node.value = t.data.copy() if t.data.ndim else t.data[()]
        self._nodes[id(t)] = (t, node)

    def _leaf(self, t: Tensor) -> None:
        """A leaf is a step input, a parameter (requires grad), a constant computed from tensors (by nn, or a
        comparison's mask), or a constant."""
        derived = self._derived.get(id(t))
        if derived is not None and derived[0] is t:
            _, sources, expression = derived
            if expression is None:
                raise TraceError(f"minigrad.compile cannot recompute a tensor of {t.shape} that the step made with "
                                 "any(), all(), argmax() or argmin(): the program would keep this call's values; "
                                 "keep this step uncompiled")
            env = {name: self._operand(value) for name, value in sources.items()}
            node = _lower(None, expression, env, self.b)
            if not isinstance(node, Node) or node.shape != t.shape or node.dtype != t.dtype or not _close(
                    np.asarray(node.value), t.data):
                raise TraceError(f"internal: the constant {expression!r} does not reproduce its value")
            self._nodes[id(t)] = (t, node)
            return
        for arg in self.arguments:
            if arg.kind != "static" and _same_array(t, arg):
                if arg.node is None:
                    arg.node = self.b.leaf("input", arg.array)
                node = arg.node
                if node.dtype != t.dtype:
                    node = self.b.op("astype", node, dtype=t.dtype)
                self._nodes[id(t)] = (t, node)
                return
            if arg.kind != "static" and np.shares_memory(t.data, arg.array):
                raise TraceError(
                    f"a tensor in the step views part of an input ({t.shape} of {arg.array.shape}) through "
                    "numpy; slice or reshape the input before the call, or with tensor ops"
                )
        if t.requires_grad:
            node = self.b.leaf("array", t.data)
            self.bindings.append(Binding(node, t.data, "param", tensor=t))
            self._versions[id(t)] = (t, node)
            return
        if not t.data.flags.writeable or t.data.ndim == 0:
            node = self.b.const(t.data.copy() if t.data.ndim else np.asarray(t.data))
        else:
            node = self.b.leaf("array", t.data)
            self.bindings.append(Binding(node, t.data, "data"))
        self._nodes[id(t)] = (t, node)

    def _operand(self, value: Any) -> Any:
        """The node of a tensor (recording its graph first), an array as a leaf would be, or a plain value."""
        if isinstance(value, Tensor):
            for s in forward_order(value):
                if self._known(s) is None:
                    self._record(s)
            return self.node(value)
        if isinstance(value, (np.ndarray, list, tuple)):
            return self._array(np.asarray(value))
        return value

    def _param(self, value: Any) -> Any:
        """An op's param; an array among them (Where's condition) is the node of whatever made it."""
        if not isinstance(value, np.ndarray):
            return value
        made = self._derived_arrays.get(id(value))
        if made is not None and made.data is value:
            return self._operand(made)
        return self._array(value)

    def _array(self, array: np.ndarray) -> Node:
        """A numpy array the step uses: a step input, an array read by reference, or a constant (as `_leaf`)."""
        for arg in self.arguments:
            if arg.kind != "static" and arg.array is array:
                if arg.node is None:
                    arg.node = self.b.leaf("input", arg.array)
                return arg.node
            if arg.kind != "static" and np.shares_memory(array, arg.array):
                raise TraceError(f"an array in the step views part of an input ({array.shape} of "
                                 f"{arg.array.shape}) through numpy; use tensor ops on the input instead")
        if not array.flags.writeable or array.ndim == 0:
            return self.b.const(array.copy() if array.ndim else np.asarray(array))
        node = self.b.leaf("array", array)
        self.bindings.append(Binding(node, array, "data"))
        return node

    # ------------------------------------------------------------ the backward graph

    def _backward(self, root: Tensor, seed: Node) -> None:
        order = forward_order(root)
        pending: dict[int, Node] = {id(root): seed}
        leaf_grads: dict[int, tuple[Tensor, Node]] = {}
        root_name = self.node(root).name or "L"
        for t in reversed(order):
            g = pending.pop(id(t), None)
            if g is None:
                continue
            self._name_gradient(g, root_name, self.node(t))
            if t.is_leaf:
                if t.requires_grad:
                    leaf_grads[id(t)] = (t, g)
                continue
            op = t.op_type
            env = {**self._params[id(t)], "g": g, "x": self.node(t.inputs[0]), "out": self.node(t)}
            if len(t.inputs) > 1:
                env["y"] = self.node(t.inputs[1])
            for i, (parent, needed) in enumerate(zip(t.inputs, t.needs_input_grad)):
                if not needed or parent.is_leaf and not parent.requires_grad:
                    continue
                share = _lower(op, op.formulas[i], env, self.b)
                if not isinstance(share, Node):
                    share = self.b.op("broadcast_to", share, shape=t.shape)
                share = self._unbroadcast(share, parent.shape)
                if share.dtype != parent.dtype:
                    share = self.b.op("astype", share, dtype=parent.dtype)
                previous = pending.get(id(parent))
                pending[id(parent)] = share if previous is None else self.b.op("add", previous, share)
        for key, (p, g) in leaf_grads.items():
            if key not in self._versions:
                continue  # a step input that requires grad: its gradient is not used
            if key in self._grads:
                self._grads[key] = self.b.op("add", self._grads[key], g)
                continue
            if key not in self._zeroed:
                if p.grad is not None:
                    raise TraceError(
                        f"{_label(p)}.grad already holds a gradient from before the step when backward() runs; "
                        "call optimizer.zero_grad() in the step, before loss.backward()"
                    )
                self._fresh[key] = p
            self._grads[key] = g

    @staticmethod
    def _name_gradient(g: Node, root: str, of: Node) -> None:
        """Call the gradient of `of` dL_d<its name> (explain.py's spelling), a policy name winning over a made-up one."""
        if g.kind != "op" or not of.name or g.strong and g.name:
            return
        if g.name is None or of.strong:
            g.name, g.strong = f"d{root}_d{of.name}", of.strong

    def _unbroadcast(self, g: Node, shape: tuple[int, ...]) -> Node:
        """engine.unbroadcast on nodes: sum the leading axes, then the size-1 axes broadcasting stretched."""
        if g.shape == shape:
            return g
        lead = g.ndim - len(shape)
        if g.shape[lead:] == shape:
            return self.b.op("sum", g, axis=0 if lead == 1 else tuple(range(lead)), keepdims=False)
        axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1)
        return self.b.op("reshape", self.b.op("sum", g, axis=axes, keepdims=True), shape=shape)

    # ------------------------------------------------------------ what updates.record_step uses

    def guard(self, group: dict[str, Any]) -> None:
        """A param group whose learning rate the live program checks on each call (a scheduler may change it)."""
        self.guards.append(group)

    def grad_of(self, p: Tensor) -> Node | None:
        """The node of p's gradient, which the optimizer just read from p.grad; None when p.grad is None."""
        if p.grad is None:
            return None
        key = id(p)
        if key not in self._grads or self._produced.get(key) is not p.grad:
            raise TraceError(
                f"{_label(p)}.grad was not computed by this step's backward(), but the optimizer used it; "
                "call optimizer.zero_grad() and loss.backward() in the step"
            )
        return self._grads[key]

    def version(self, p: Tensor) -> Node:
        """The node of p's current value."""
        if id(p) not in self._versions:
            self._leaf(p)
        return self._versions[id(p)][1]

    def new_version(self, p: Tensor, update: Node) -> None:
        """After `update`, reading p reads the updated array."""
        node = self.b.op("version", self._versions[id(p)][1], update)
        self._versions[id(p)] = (p, node)
        self.updates.append(update)

    def state(self, array: np.ndarray, role: str, owner: Node) -> Node:
        """The node of an optimizer's state array (a momentum buffer, Adam's m or v), updated in place."""
        node = self._states.get(id(array))
        if node is None:
            node = self._states[id(array)] = self.b.leaf("array", array)
            node.name = f"{role}_{owner.name}" if owner.name else role
            self.bindings.append(Binding(node, array, "state", owner))
        return node

    # ------------------------------------------------------------ the result

    def _output(self, result: Any) -> Any:
        """The step's result with each Tensor replaced by its node."""
        if isinstance(result, Tensor):
            known = self._known(result)
            if known is not None:
                return known
            if result.is_leaf and not result.requires_grad and self._known(result) is None:
                for arg in self.arguments:
                    if arg.kind != "static" and _same_array(result, arg):
                        return self.forward(result)
                raise TraceError(
                    "the step returns a tensor that no recorded op made (computed under no_grad, or from tensors "
                    "that do not require grad), so the compiled step could only return this call's value"
                )
            self.b.stage = 3 * self.event + FORWARD
            return self.forward(result)
        if isinstance(result, (tuple, list)):
            return type(result)(self._output(r) for r in result)
        if result is None or isinstance(result, (bool, int, float, str)):
            return result
        raise TraceError(
            f"the step returns a {type(result).__name__}; a compiled step can return a Tensor, a number, None, "
            "or a tuple or list of them"
        )


def _argument(value: Any) -> Argument:
    if isinstance(value, np.ndarray):
        return Argument("array", value)
    if isinstance(value, Tensor):
        return Argument("tensor", value)
    return Argument("static", value)


def _same_array(t: Tensor, arg: Argument) -> bool:
    """Whether leaf t holds the argument's array: the same array, or a copy of it (Tensor(x))."""
    if arg.kind == "tensor" and t is arg.value:
        return True
    array = arg.array
    if t.data is array:
        return True
    return (t.data.shape == array.shape and t.data.size > 1 and not np.shares_memory(t.data, array)
            and np.array_equal(t.data, array))


def _subclasses(cls: type) -> list[type]:
    found, stack = [], [cls]
    while stack:
        for sub in stack.pop().__subclasses__():
            if sub not in found:
                found.append(sub)
                stack.append(sub)
    return found


def _label(p: Tensor) -> str:
    return p.name or f"a parameter of shape {p.shape}"


Argument.array = property(lambda self: self.value.data if self.kind == "tensor" else self.value)  # type: ignore


def _params_of(opt: Optimizer) -> list[Tensor]:
    return [p for group in opt.param_groups for p in group["params"]]


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal up to the rounding of a reordered sum (the compiler's rewrites change the order of additions)."""
    if a.dtype.kind != "f":
        return bool(np.array_equal(a, b))
    rtol = 1e-4 if a.dtype.itemsize < 8 else 1e-9
    return bool(np.allclose(a, b, rtol=rtol, atol=rtol * max(1.0, float(np.max(np.abs(b), initial=0))), equal_nan=True))


def _lower(op: Any, text: str, env: dict[str, Any], builder: Builder) -> Any:
    """lower(), with the refusal naming the op whose text the compiler cannot read."""
    what = f"op {op.name!r} ({op.__name__})" if op is not None else "a constant of minigrad.nn"
    try:
        return lower(text, env, builder)
    except LoweringError as err:
        raise TraceError(f"minigrad.compile cannot compile {what}: {err}; keep this step uncompiled") from None
    except (TypeError, ValueError, AttributeError, IndexError, KeyError) as err:
        raise TraceError(f"minigrad.compile cannot compile {what}: evaluating {text!r} on the graph raised "
                         f"{type(err).__name__}: {err}; keep this step uncompiled") from err
