"""Write the joint graph of a traced step as a straight-line numpy program.

The program is one `build(...)` function: it takes the arrays the step reads by reference (the
parameters, the optimizer's buffers), allocates every intermediate array once, and returns `step`, whose
body is the forward pass, the backward pass and the updates, one numpy call per line with `out=`
into those buffers, so a replay allocates nothing and keeps no graph. Before writing, only the nodes
that the result or an update needs are kept (dead-code elimination), and each buffer is reused once the
values in it are no longer read: an elementwise op writes over an input it reads for the last time
(ReLU's output over Z1 in `H = Z1`), and a later array takes over a dead one of its shape.

Names are the graph's (`X`, `W1`, `Z1`, `H`, `Yhat`, from minigrad.see.graph's naming policy) and
`dL_dW1` for gradients, as minigrad.see.explain writes them; each line ends with the shape it makes.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from .ir import ATOM, POWER, SPECS, UNARY, Node, output_nodes

POSTFIX = ATOM - 1  # the base of .T, .reshape(...): an atom needs no brackets
from .updates import describe, write_update

RESERVED = {"np", "math", "build", "step", "t", "base64"}
COMMENT_COLUMN = 48
_FRESH = {"where", "index_add", "index"}  # ops written as a new array each call (no out= form)


class CodegenError(ValueError):
    """A node of the graph that the code generator cannot write."""


@dataclass
class Program:
    """The generated source and what its `build` takes: (name, object) per argument, in order."""

    source: str
    arguments: list[tuple[str, Any]]


def live_nodes(outputs: list[Node], updates: list[Node]) -> list[Node]:
    """The nodes the outputs and the updates need, in creation order (dead-code elimination)."""
    seen: dict[int, Node] = {}
    stack = [*outputs, *updates]
    while stack:
        n = stack.pop()
        if n.index in seen:
            continue
        seen[n.index] = n
        stack.extend(n.args)
    return [seen[i] for i in sorted(seen)]


def _dtype_name(dtype: np.dtype) -> str:
    return f"np.{np.dtype(dtype).name}"


def _is_buffer(node: Node) -> bool:
    """Whether the program keeps this op's value in an array of its own, written with out=."""
    return (node.kind == "op" and not SPECS[node.op].view and node.op not in _FRESH
            and isinstance(node.value, np.ndarray) and node.value.ndim > 0)


class _Writer:
    def __init__(self, nodes: list[Node], outputs: list[Node], updates: list[Node], inputs: list[Node]) -> None:
        self.nodes, self.outputs, self.updates, self.inputs = nodes, outputs, updates, inputs
        self.pos = {n.index: k for k, n in enumerate(nodes)}
        self.names: dict[int, str] = {}
        self.taken: set[str] = set(RESERVED)
        self.counts: dict[str, int] = {}
        self.arguments: list[tuple[str, Any]] = []
        self.setup: list[tuple[str, str]] = []
        self.buffer: dict[int, str] = {}  # node index -> the name of the array it lives in
        self.last: dict[int, int] = {}  # node index -> position of its last reader (views included)
        self.bound: set[int] = set()  # nodes held in a variable: the rest are written inline where they are read
        self.planned = {n.name for n in nodes if n.name}  # the graph's names, kept for the nodes that carry them

    # ------------------------------------------------------------ names

    def name(self, node: Node, wanted: str | None = None) -> str:
        if node.index in self.names:
            return self.names[node.index]
        base = wanted or node.name
        if not base or not re.match(r"^[A-Za-z_]\w*$", base):
            stem = SPECS[node.op].stem or node.op if node.kind == "op" else "c"
            while True:
                self.counts[stem] = self.counts.get(stem, 0) + 1
                base = f"{stem}{self.counts[stem]}"
                if base not in self.taken and base not in self.planned:
                    break
        self.names[node.index] = name = self.fresh(base)
        return name

    def fresh(self, base: str) -> str:
        """`base`, or base_2, base_3, ... if taken; reserved from now on."""
        name, k = base, 2
        while name in self.taken:
            name, k = f"{base}_{k}", k + 1
        self.taken.add(name)
        return name

    # ------------------------------------------------------------ buffers

    def plan(self) -> None:
        """Give each array op a buffer: an input it overwrites, a dead buffer of its shape, or a new one."""
        last = self.last
        for k, n in enumerate(self.nodes):
            for a in n.args:
                last[a.index] = k
        for n in self.outputs:
            last[n.index] = len(self.nodes)
        for n in reversed(self.nodes):  # reading a view reads its base: the base lives as long as the view
            if n.kind == "op" and SPECS[n.op].view:
                for a in n.args:
                    last[a.index] = max(last.get(a.index, -1), last.get(n.index, -1))
        holders: list[int] = []  # per buffer, the last use of the value it holds now
        keys: list[tuple[tuple[int, ...], str]] = []
        members: list[list[Node]] = []
        which: dict[int, int] = {}
        for n in self.nodes:
            if not _is_buffer(n):
                continue
            k = self.pos[n.index]
            key = (n.value.shape, n.value.dtype.str)
            chosen = None
            if SPECS[n.op].elementwise:  # write over an input read here for the last time
                for a in n.args:
                    b = which.get(a.index)
                    if b is not None and keys[b] == key and holders[b] == k and last.get(a.index) == k:
                        chosen = b
                        break
            if chosen is None:  # or take over a dead buffer of the same shape
                chosen = next((b for b, held in enumerate(holders) if held < k and keys[b] == key), None)
            if chosen is None:
                chosen = len(holders)
                holders.append(k)
                keys.append(key)
                members.append([])
            members[chosen].append(n)
            which[n.index] = chosen
            holders[chosen] = last.get(n.index, k)
        for group in members:
            # the buffer is named after the first policy name it holds; the made-up names before it are
            # steps towards that value (X·W1 on the way to Z1) and share the name, later values get their own
            first = next((k for k, n in enumerate(group) if n.strong), 0)
            if any(n.stage != group[first].stage for n in group[:first]):
                first = 0  # a forward value's buffer reused by the backward pass keeps its own name
            buffer = self.name(group[first])
            value = group[first].value
            for k, n in enumerate(group):
                if k < first:
                    self.names[n.index] = buffer
                self.buffer[n.index] = buffer
                self.bound.add(n.index)
            self.setup.append((f"{buffer} = np.empty({_shape_text(value.shape)}, {_dtype_name(value.dtype)})",
                               _describe(group[first])))
            for n in group[first + 1:] if first else group[1:]:
                note = _describe(n)
                self.setup.append((f"{self.name(n)} = {buffer}",
                                   f"{note}, in {buffer}'s memory" if note else f"in {buffer}'s memory"))

    # ------------------------------------------------------------ expressions

    def operand(self, node: Node, context: int = ATOM, peers: tuple[Node, ...] = ()) -> str:
        """The text that reads `node`'s value inside an expression of precedence `context`."""
        text, precedence = self.expression(node, peers)
        return text if precedence > context else f"({text})"

    def expression(self, node: Node, peers: tuple[Node, ...] = ()) -> tuple[str, int]:
        if node.kind in ("input", "array") or node.index in self.bound:
            return self.name(node), ATOM
        if node.kind == "const":
            return self.constant(node, peers)
        spec = SPECS[node.op]
        a = node.args
        if node.op == "version":
            return self.expression(a[0])
        if node.op == "transpose":
            axes = tuple(node.attrs["axes"])
            if axes == tuple(reversed(range(len(axes)))):
                return f"{self.operand(a[0], POSTFIX)}.T", ATOM
            return f"{self.operand(a[0], POSTFIX)}.transpose({axes})", ATOM
        if node.op == "reshape":
            return f"{self.operand(a[0], POSTFIX)}.reshape({tuple(node.attrs['shape'])})", ATOM
        if node.op == "expand_dims":
            return f"np.expand_dims({self.operand(a[0], 0)}, {node.attrs['axis']!r})", ATOM
        if node.op == "broadcast_to":
            return f"np.broadcast_to({self.operand(a[0], 0)}, {tuple(node.attrs['shape'])})", ATOM
        if node.op == "astype":
            return f"{self.operand(a[0], POSTFIX)}.astype({_dtype_name(node.attrs['dtype'])})", ATOM
        if node.op in ("sum", "max"):
            return f"np.{spec.ufunc}({self.operand(a[0], 0)}{_axis_text(node.attrs)})", ATOM
        if node.op == "vdot":
            return f"np.vdot({self.operand(a[0], 0)}, {self.operand(a[1], 0)})", ATOM
        if node.op == "where":
            c, x, y = (self.operand(v, 0, a) for v in a)
            return f"np.where({c}, {x}, {y})", ATOM
        if spec.symbol is not None and len(a) == 2:
            right = spec.precedence if spec.name not in ("pow",) else POWER - 1
            left = spec.precedence - 1 if spec.name != "pow" else POWER
            return (f"{self.operand(a[0], left, a)} {spec.symbol} {self.operand(a[1], right, a)}",
                    spec.precedence)
        if node.op == "neg":
            return f"-{self.operand(a[0], UNARY - 1)}", UNARY
        if spec.ufunc is not None:
            return f"np.{spec.ufunc}({', '.join(self.operand(v, 0, a) for v in a)})", ATOM
        raise CodegenError(f"cannot write the operation {node.op!r}")

    def constant(self, node: Node, peers: tuple[Node, ...]) -> tuple[str, int]:
        value = node.value
        if isinstance(value, (bool, int, float)):
            return _number(value)
        if node.attrs.get("ones"):
            if node.index not in self.names:
                name = self.name(node, f"ones{value.shape[0]}")
                self.setup.append((f"{name} = np.ones({value.shape[0]}, {_dtype_name(value.dtype)})",
                                   "for summing the rows of a batch through the BLAS"))
            return self.names[node.index], ATOM
        if np.ndim(value) == 0:
            number = np.asarray(value).item()
            dtypes = {p.value.dtype for p in peers if p is not node and isinstance(p.value, np.ndarray)}
            if dtypes <= {np.asarray(value).dtype}:
                if np.asarray(value).dtype == np.float32:  # the shortest text that reads back as this float32
                    return _number(float(str(np.float32(number))))
                return _number(number)
            return f"{_dtype_name(np.asarray(value).dtype)}({number!r})", ATOM
        if node.index not in self.names:
            name = self.name(node)
            if node.fill is not None:
                self.setup.append((f"{name} = np.full({value.shape}, {np.asarray(node.fill).item()!r}, "
                                   f"{_dtype_name(value.dtype)})", "a constant"))
            else:
                self.arguments.append((name, np.array(value)))
        return self.names[node.index], ATOM

    # ------------------------------------------------------------ statements

    def statement(self, node: Node) -> str:
        """The line that computes an op node: into its buffer with out=, or as a new value."""
        name = self.name(node)
        if not _is_buffer(node):
            text, _ = self.expression(node)
            self.bound.add(node.index)
            return f"{name} = {text}"
        out = self.buffer[node.index]
        spec = SPECS[node.op]
        a = node.args
        args = [self.operand(v, 0, a) for v in a]
        in_place = [self.buffer.get(v.index) == out and v.kind == "op" and v.value.shape == node.value.shape
                    for v in a]
        if spec.elementwise and spec.augmented and len(a) == 2:
            if in_place[0] and not in_place[1] and self.name(a[0]) == name:
                return f"{name} {spec.symbol}= {self.operand(a[1], spec.precedence, a)}"
            if spec.commutative and in_place[1] and not in_place[0] and self.name(a[1]) == name:
                return f"{name} {spec.symbol}= {self.operand(a[0], spec.precedence, a)}"
        if node.op in ("sum", "max"):
            return f"np.{spec.ufunc}({args[0]}{_axis_text(node.attrs)}, out={name})"
        if spec.ufunc is not None:
            return f"np.{spec.ufunc}({', '.join(args)}, out={name})"
        self.bound.discard(node.index)
        text, _ = self.expression(node)
        self.bound.add(node.index)
        return f"{name}[...] = {text}"


def _number(value: Any) -> tuple[str, int]:
    if isinstance(value, float) and not math.isfinite(value):
        return (f"-math.inf" if value < 0 else "math.inf") if not math.isnan(value) else "math.nan", ATOM
    text = repr(value)
    return text, ATOM if not text.startswith("-") else UNARY


def _axis_text(attrs: dict[str, Any]) -> str:
    axis, keepdims = attrs.get("axis"), attrs.get("keepdims", False)
    return f", axis={axis!r}" + (", keepdims=True" if keepdims else "")


def _describe(node: Node) -> str:
    """What a made-up name stands for, in the pictures' notation ('Ŷ − Y'); nothing for a policy name."""
    return node.display if node.display and not node.strong and node.display != node.name else ""


def _shape_text(shape: tuple[int, ...]) -> str:
    return "()" if not shape else f"({', '.join(map(str, shape))})" if len(shape) > 1 else f"({shape[0]},)"


def _line(code: str, comment: str, indent: str) -> str:
    code = indent + code
    return f"{code.ljust(COMMENT_COLUMN)}  # {comment}" if comment else code


def generate(graph: list[Node], inputs: list[Node], output: Any, updates: list[Node], title: str,
             folded: bool = False) -> Program:
    """The program of a traced step's `graph` (its nodes in creation order): `inputs` are the step's array
    parameters, `output` its result (nodes, perhaps inside tuples, or numbers), `updates` the optimizer's
    in-place updates, and `folded` says the updates' lr was folded into the backward pass."""
    outputs = output_nodes(output)
    nodes = live_nodes(outputs, updates)
    w = _Writer(nodes, outputs, updates, inputs)
    for n in inputs:
        w.name(n)
    for n in nodes:
        if n.kind == "array":
            w.arguments.append((w.name(n), n.value))
    w.plan()
    body: list[tuple[str, str]] = []
    stage = None
    counters: list[tuple[str, Any]] = []
    scratch: dict[tuple[tuple[int, ...], str, int], str] = {}

    def spare(node: Node, k: int) -> str:
        shape, dtype = node.args[0].value.shape, node.args[0].value.dtype
        key = (shape, dtype.str, k)
        if key not in scratch:
            name = w.fresh(f"step_{w.name(node.args[0])}" if k == 0 else f"denom_{w.name(node.args[0])}")
            scratch[key] = name
            w.setup.append((f"{name} = np.empty({shape}, {_dtype_name(dtype)})", "scratch for the updates"))
        return scratch[key]

    readers: dict[int, list[Node]] = {}
    for n in nodes:
        for a in n.args:
            readers.setdefault(a.index, []).append(n)
    inline = {n.index for n in nodes
              if n.kind == "op" and not _is_buffer(n) and np.ndim(n.value) == 0 and n not in outputs
              and len(readers.get(n.index, ())) == 1 and readers[n.index][0].kind == "op"
              and not _is_buffer(readers[n.index][0]) and np.ndim(readers[n.index][0].value) == 0}
    for k, n in enumerate(nodes):
        if n.index in inline:
            continue
        kind = {0: "forward", 1: "backward", 2: "update"}[n.stage % 3] if n.kind in ("op", "update") else None
        if kind is not None and n.kind == "op" and SPECS[n.op].view:
            continue
        if kind is None:
            continue
        if kind != stage:
            stage = kind
            header = f"# {kind}" if kind != "update" else f"# update: {describe(updates)}"
            if folded and kind == "backward":
                header += f" times the learning rate: each dL_d... is {updates[0].attrs['lr']!r} · ∂L/∂..."
            if folded and kind == "update":
                header += ", its lr folded into the backward pass"
            body.append(("", ""))
            body.append((header, ""))
        if n.kind == "op":
            body.append((w.statement(n), _shape_text(n.value.shape if hasattr(n.value, "shape") else ())))
            continue
        g = n.args[1]
        free = w.buffer.get(g.index) is not None and w.last.get(g.index) == k
        counter = None
        if n.op == "adam":
            counter = w.fresh(f"state_{w.name(n.args[0])}")
            counters.append((counter, n.attrs["state"]))
        lines = write_update(n, lambda m: w.operand(m, POSTFIX), lambda i, n=n: spare(n, i), free, counter)
        shape = _shape_text(n.args[0].value.shape)
        body += [(line, shape) for line in lines]
    w.arguments += counters
    result = _result_text(output, w)
    indent = " " * 8
    arg_names = ", ".join(name for name, _ in w.arguments)
    input_names = ", ".join(w.name(n) for n in inputs)
    uses_math = any("math." in code for code, _ in body + w.setup)
    lines = [f'"""{title}"""', *(["import math", ""] if uses_math else []), "import numpy as np", "", "",
             f"def build({arg_names}):",
             '    """Allocate the buffers once and return the step, which updates the arrays given here in place."""']
    lines += [_line(code, comment, "    ") for code, comment in w.setup]
    lines += ["", f"    def step({input_names}):",
              '        """One training step: forward, backward and update, with no allocation but the result."""']
    order = [name for name, _ in w.arguments] + [code.split()[0] for code, _ in w.setup]
    targets = {m.group(1) for code, _ in body for m in [re.match(r"^(\w+) \S+= ", code)] if m}
    changed = sorted(targets, key=lambda name: order.index(name) if name in order else len(order))
    if changed:
        lines.append(f"{indent}# the arrays that += and -= change in place")
        text = f"{indent}nonlocal"
        for k, name in enumerate(changed):
            piece = f" {name}" + ("," if k < len(changed) - 1 else "")
            if len(text) + len(piece) > 110:
                lines.append(text + " \\")
                text = indent + "   "
            text += piece
        lines.append(text)
    started = False
    for code, comment in body:
        if not code:
            if started:
                lines.append("")
            continue
        started = True
        lines.append(_line(code, comment, indent) if not code.startswith("#") else indent + code)
    lines += [f"        return {result}", "", "    return step", ""]
    return Program("\n".join(lines), w.arguments)


def _result_text(output: Any, w: _Writer) -> str:
    if isinstance(output, Node):
        text, _ = w.expression(output)
        return f"{text}.copy()" if isinstance(output.value, np.ndarray) and output.value.ndim else text
    if isinstance(output, (tuple, list)):
        inner = ", ".join(_result_text(o, w) for o in output)
        return f"({inner},)" if isinstance(output, tuple) and len(output) == 1 else (
            f"({inner})" if isinstance(output, tuple) else f"[{inner}]")
    return repr(output)
