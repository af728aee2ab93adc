"""The graph of a gradient: what backward records under create_graph=True, drawn beside the forward graph.

With create_graph=True every op's VJP runs on Tensors, so the gradient it returns has a recorded graph
of its own, which can be differentiated again (PyTorch's grad_fn chain of a gradient). Each node of
that graph was made by one forward node's VJP (`Tensor.made_by_vjp_of`): `backward_description(grad)`
walks the graph (explicit stack) and groups it by forward op, one box per op, "from relu's VJP (H)",
in a colour that the op's oval shares in the forward graph (`draw_forward_and_backward`). Names come
from the one naming policy (`graph.py`):
- a forward tensor a VJP reads (W2, Ŷ − Y) is drawn under its forward name and in its forward colour,
  as a leaf, since its history is the forward graph; one read only through a mask (Z1 in relu's
  `where(Z1 > 0, g, 0)`) joins the box by a dotted edge labelled with the mask;
- a gradient a VJP hands on is named after what it is the gradient of (∂L/∂H, ∂L/∂Z1, ∂L/∂W1);
- a constant a VJP made reads as its value (2, 0) or as the forward tensor it views (Xᵀ);
- anything else is named after its op, as forward results are (2 ⊙ (Ŷ − Y), W2ᵀ).
A VJP that passes the gradient on unchanged (add's, sub's) records nothing, so its op has no box.

Colours, besides draw.py's:
    light red      gradients a VJP hands on; the drawn gradient has a red border
    grey           constants a VJP made (2, 0)
    tinted boxes   one per forward op, in the colour of its oval in the forward graph
    dotted edges   a forward tensor read only through a mask
"""
from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..core import Tensor
from ..autograd import grad as autograd_grad
from .draw import GRAD_COLOUR, Graph, GraphDescription, GraphEdge, GraphNode, graph_description, to_digraph
from .graph import MAX_NAME, differential, format_number, format_shape, forward_order, inspect_graph, vjp_colour

NO_HISTORY = (
    "this tensor has no recorded backward pass: no node below it was made by a VJP. Record one with "
    "create_graph=True: (g,) = minigrad.autograd.grad(loss, W1, create_graph=True), or "
    "loss.backward(create_graph=True) and then draw W1.grad"
)
RELEASED = (
    "the graph of this gradient was released: a backward() through it freed what its nodes kept, as "
    "PyTorch frees a graph. Draw it before that backward(), or pass retain_graph=True to that backward()"
)
FORWARD_RELEASED = (
    "the forward graph this gradient reads was released, so its tensors cannot be named: compute the "
    "gradient with create_graph=True and leave retain_graph at its default (create_graph), or draw first"
)


def backward_description(
    grad: Tensor,
    loss: Tensor | None = None,
    wrt: Tensor | None = None,
    names: Mapping[Tensor, str] | None = None,
    params: Any = None,
) -> GraphDescription:
    """Walk the graph backward recorded for `grad` into nodes and edges, boxed by the forward op whose VJP made them.

    Args:
        grad: a gradient computed with create_graph=True (from `autograd.grad`, or `.grad` after
            `backward(create_graph=True)`).
        loss: the forward root, whose graph names the tensors (W1, Z1, H, L); found from `grad` when None.
        wrt: the tensor `grad` is the gradient of `loss` with respect to, for the root's name (∂L/∂W1).
        names, params: as in `graph_description`, for the forward names.

    Raises:
        ValueError: `grad` has no recorded backward pass (it was not computed with create_graph=True).
        RuntimeError: the gradient's graph, or the forward graph it reads, was released by a backward().
    """
    return _Backward(grad, loss, wrt, names, params).description


def draw_backward(
    grad: Tensor,
    loss: Tensor | None = None,
    *,
    wrt: Tensor | None = None,
    names: Mapping[Tensor, str] | None = None,
    params: Any = None,
    rankdir: str = "TB",
    legend: bool = True,
    edge_labels: bool = True,
    size: str | None = None,
    fontsize: float = 11,
) -> Graph:
    """The graph of a gradient as a graphviz.Digraph: each node in the box of the forward op whose VJP made it.

    Args and Raises as in `backward_description`; the drawing options as in `draw_graph`.

    Example:
        >>> (g,) = autograd.grad(loss, W1, create_graph=True)
        >>> draw_backward(g, loss, wrt=W1)                 # shows inline in Jupyter
        >>> save_svg(draw_backward(g, loss, wrt=W1), "backward_graph.svg")
    """
    desc = backward_description(grad, loss, wrt, names, params)
    return to_digraph(desc, rankdir, legend, size, edge_labels, fontsize)


def draw_forward_and_backward(
    loss: Tensor,
    wrt: Tensor,
    grad: Tensor | None = None,
    *,
    side_by_side: bool = True,
    names: Mapping[Tensor, str] | None = None,
    params: Any = None,
    rankdir: str = "TB",
    legend: bool = True,
    edge_labels: bool = False,
    size: str | None = None,
    fontsize: float = 11,
) -> Graph | tuple[Graph, Graph]:
    """The forward graph of `loss` and the graph of d loss / d wrt side by side, each VJP's box in its op's colour.

    Args:
        loss: the forward root (the loss).
        wrt: the tensor to draw the gradient's graph of (W1).
        grad: that gradient, computed with create_graph=True; when None it is computed here with
            `autograd.grad(loss, wrt, create_graph=True)`, which keeps the forward graph and touches no `.grad`.
        side_by_side: one picture with both; False returns the two pictures (forward, backward) apart,
            coloured alike.
        names, params, rankdir, legend, edge_labels, size, fontsize: as in `draw_graph`; without edge
            labels (the default here) every node still shows its shape, and the picture is half as tall.

    Example:
        >>> save_svg(draw_forward_and_backward(loss, model[0].weight, params=model), "forward_and_backward.svg")
    """
    forward, backward, titles = _pair(loss, wrt, grad, names, params)
    if not side_by_side:
        return (to_digraph(forward, rankdir, legend, size, edge_labels, fontsize),
                to_digraph(backward, rankdir, legend, size, edge_labels, fontsize))
    return to_digraph(_side_by_side(forward, backward, titles), rankdir, legend, size, edge_labels, fontsize)


def forward_and_backward_description(
    loss: Tensor,
    wrt: Tensor,
    grad: Tensor | None = None,
    names: Mapping[Tensor, str] | None = None,
    params: Any = None,
) -> GraphDescription:
    """What `draw_forward_and_backward` draws: both graphs in one description, in boxes f_pass and b_pass.

    Node ids and box keys are those of `graph_description` and `backward_description`, prefixed f_ and b_.
    """
    return _side_by_side(*_pair(loss, wrt, grad, names, params))


def _pair(loss: Tensor, wrt: Tensor, grad: Tensor | None, names: Any,
          params: Any) -> tuple[GraphDescription, GraphDescription, tuple[str, str]]:
    """The forward graph, each op whose VJP the gradient's graph shows in its box's colour, that graph, and titles."""
    if grad is None:
        (grad,) = autograd_grad(loss, wrt, create_graph=True)
    backward = _Backward(grad, loss, wrt, names, params)
    forward = graph_description(loss, show_grads=False, names=names, params=params, op_colours=backward.op_colours)
    titles = (f"forward: the graph of {backward.of}",
              f"backward: the graph of {backward.names[grad]} (create_graph=True)")
    return forward, backward.description, titles


def _side_by_side(forward: GraphDescription, backward: GraphDescription, titles: tuple[str, str]) -> GraphDescription:
    """One description holding both, each in an outer box: ids and box keys prefixed f_ and b_."""
    merged = GraphDescription([], [])
    for prefix, desc, title in (("f_", forward, titles[0]), ("b_", backward, titles[1])):
        outer = f"{prefix}pass"
        merged.clusters[outer], merged.tints[outer] = title, "#ffffff"
        for key, label in desc.clusters.items():
            merged.clusters[prefix + key] = label
            merged.parents[prefix + key] = outer
        merged.tints.update({prefix + k: v for k, v in desc.tints.items()})
        merged.colours.update({prefix + k: v for k, v in desc.colours.items()})
        for n in desc.nodes:
            merged.nodes.append(GraphNode(prefix + n.id, n.kind, n.label, n.role, n.shape, n.lines,
                                          prefix + n.cluster if n.cluster else outer, n.colour, n.fill))
        merged.edges += [GraphEdge(prefix + e.tail, prefix + e.head, e.label, e.kind, e.colours) for e in desc.edges]
    return merged


class _Backward:
    """Names, roles and boxes for the nodes of one gradient's graph, then its GraphDescription."""

    def __init__(self, grad: Tensor, loss: Tensor | None, wrt: Tensor | None, names: Any, params: Any) -> None:
        if not isinstance(grad, Tensor):
            raise TypeError(f"expected a minigrad Tensor, got {type(grad).__name__}")
        if grad.made_by_vjp_of is None:
            raise ValueError(NO_HISTORY)
        self.grad, self.wrt = grad, wrt
        self.sequence = _walk(grad)
        self.own = [t for t in self.sequence if t.made_by_vjp_of is not None]
        try:
            self.info = inspect_graph(loss if loss is not None else self._forward_root(), names, params)
        except RuntimeError as err:
            raise RuntimeError(f"{FORWARD_RELEASED} ({err})") from None
        self.of = self.info.names[self.info.root]
        self.consumers: dict[Tensor, list[Tensor]] = {t: [] for t in self.sequence}
        for t in self.own:
            for p in t.inputs:
                self.consumers[p].append(t)
        self.owners = self._owners()
        self.keys = {id(n): f"vjp{k}" for k, n in enumerate(self.owners)}
        self.op_colours = {n: vjp_colour(k) for k, n in enumerate(self.owners)}
        self.names: dict[Tensor, str] = {}
        self.roles: dict[Tensor, str] = {}
        self.atomic: set[Tensor] = set()
        self.gradient_of: dict[Tensor, Tensor] = {}
        self.counts: dict[str, int] = {}
        for t in self.sequence:
            self._classify(t)
        self.description = self._describe()

    def _forward_root(self) -> Tensor:
        """The forward node whose graph holds every forward node this gradient's graph came from."""
        found: dict[int, Tensor] = {}
        for t in self.sequence:
            made_by = t.made_by_vjp_of
            if made_by is not None:
                found.setdefault(id(made_by), made_by)
            elif not t.is_leaf:
                found.setdefault(id(t), t)
        return max(found.values(), key=lambda n: len(forward_order(n)))

    def _owners(self) -> list[Tensor]:
        """The forward nodes whose VJPs made this graph's nodes, in forward order (X·W1 first)."""
        made = {id(t.made_by_vjp_of): t.made_by_vjp_of for t in self.own}
        ordered = [t for t in self.info.order if id(t) in made]
        return ordered + [n for k, n in made.items() if not any(k == id(t) for t in ordered)]

    def _label(self, t: Tensor) -> str:
        """How a tensor reads in the names of the nodes made from it: bracketed unless one word."""
        name = self.names[t]
        return name if t in self.atomic else f"({name})"

    def _classify(self, t: Tensor) -> None:
        """Name t and give it a role: forward tensor, handed-on gradient, constant or intermediate result."""
        if t.made_by_vjp_of is None:
            if t in self.info.names:
                self.names[t], self.roles[t] = self.info.names[t], self.info.roles[t]
                if t in self.info.atomic:
                    self.atomic.add(t)
                return
            # NOTE: from outside both graphs come only the seed of a sweep (grad_outputs), which a VJP
            # reads as its grad_out and so has its node's shape, and the number constants all graphs share.
            to = next((c.made_by_vjp_of for c in self.consumers[t]), None)
            if to is not None and to in self.info.names and t.shape == to.shape:
                self.names[t], self.roles[t] = differential(self.of, self.info.names[to]), "gradient"
                self.atomic.add(t)
            else:
                self._constant(t)
            return
        of = self._gradient_of(t)
        if of is not None:
            self.gradient_of[t] = of
            self.names[t] = differential(self.of, self.info.names[of])
            if t is not self.grad and of in self.info.consumers and len(self.info.consumers[of]) > 1:
                # NOTE: a tensor that several ops read gets a share of its gradient from each one's VJP.
                self.names[t] += f" via {self.info.operand(t.made_by_vjp_of)}"
            self.roles[t] = "gradient"
            self.atomic.add(t)
        elif t.is_leaf:
            self._constant(t)
        else:
            operands = [self._label(p) for p in t.inputs]
            name, atomic = t.op_type.output_name(operands, [self.names[p] for p in t.inputs], t.op_params)
            if len(name) > MAX_NAME:
                count = self.counts[t.op] = self.counts.get(t.op, 0) + 1
                name, atomic = f"{t.op}{count}", True
            self.names[t], self.roles[t] = name, "intermediate"
            if atomic:
                self.atomic.add(t)

    def _gradient_of(self, t: Tensor) -> Tensor | None:
        """The forward tensor t is the gradient of, when t leaves its VJP's box (or is the drawn gradient)."""
        node = t.made_by_vjp_of
        if t is self.grad and self.wrt is not None:
            return self.wrt
        if t is not self.grad and all(c.made_by_vjp_of is node for c in self.consumers[t]):
            return None
        if node in self.info.names:
            shaped = {id(p): p for i, p in enumerate(node.inputs) if node.needs_input_grad[i] and p.shape == t.shape}
            if len(shaped) == 1:
                return next(iter(shaped.values()))
        targets = {id(c.made_by_vjp_of): c.made_by_vjp_of for c in self.consumers[t] if c.made_by_vjp_of is not node}
        if len(targets) == 1:
            target = next(iter(targets.values()))
            return target if target in self.info.names else None
        return None

    def _constant(self, t: Tensor) -> None:
        """A constant its VJP made: its value when it is one number, else the forward tensor whose data it views."""
        node = t.made_by_vjp_of
        self.roles[t] = "constant"
        self.atomic.add(t)
        if t.data.size == 1:
            self.names[t] = format_number(t.data.reshape(-1)[0])
            return
        for source in (*node.inputs, node) if node is not None and node in self.info.names else ():
            if np.may_share_memory(t.data, source.data):
                name = self.info.operand(source)
                transposed = t.shape == source.shape[:-2] + source.shape[-2:][::-1]
                self.names[t] = name if t.shape == source.shape else f"{name}ᵀ" if transposed else f"view of {name}"
                self.roles[t] = self.info.roles[source]
                return
        self.names[t] = "const"

    def _read_through_masks(self) -> list[tuple[Tensor, Tensor, str]]:
        """(forward tensor, node it joins, mask text) for what a VJP's formulas read that no node takes as an input."""
        found = []
        for node in self.owners:
            if node not in self.info.names or node.is_leaf:
                continue
            members = [t for t in self.own if t.made_by_vjp_of is node]
            taken = {id(p) for t in members if not t.is_leaf for p in t.inputs}
            taken |= {id(s) for t in members if t.is_leaf and self.roles[t] != "constant"
                      for s in (*node.inputs, node) if np.may_share_memory(t.data, s.data)}
            sent = {id(p) for t in members for p in [self.gradient_of.get(t)] if p is not None}
            inputs = [i for i, p in enumerate(node.inputs) if node.needs_input_grad[i] and (not sent or id(p) in sent)]
            slots = {"x": node.inputs[0], "y": node.inputs[-1], "out": node}
            ops = [t for t in members if not t.is_leaf]
            masked = [t for t in ops if any(isinstance(v, np.ndarray) for v in t.op_params.values())] or ops[:1]
            for i in inputs:
                for var in node.op_type.reads[i]:
                    source = slots[var]
                    if id(source) in taken or not masked:
                        continue
                    taken.add(id(source))
                    text = _mask_text(node.op_type.formulas[i], var, self.info.operand(source))
                    found += [(source, target, text) for target in masked]
        return found

    def _describe(self) -> GraphDescription:
        reads = self._read_through_masks()
        drawn = list(self.sequence) + [s for s, _, _ in reads if s not in self.names]
        for source, _, _ in reads:
            if source not in self.names:
                self.names[source], self.roles[source] = self.info.names[source], self.info.roles[source]
        nodes: list[GraphNode] = []
        edges: list[GraphEdge] = []
        ids: dict[Tensor, str] = {}
        seen: set[Tensor] = set()
        for t in drawn:
            if t in seen:
                continue
            seen.add(t)
            own = t.made_by_vjp_of is not None
            key = self.keys.get(id(t.made_by_vjp_of)) if own else None
            if own and not t.is_leaf:
                op_id = f"n{len(nodes)}"
                nodes.append(GraphNode(op_id, "op", t.op_type.label(t.op_params), "op", cluster=key))
                edges += [GraphEdge(ids[p], op_id, format_shape(p.shape)) for p in t.inputs]
            ids[t] = f"n{len(nodes)}"
            nodes.append(GraphNode(ids[t], "tensor", self.names[t], self.roles[t], t.shape, (format_shape(t.shape),),
                                   key, GRAD_COLOUR if t is self.grad else None))
            if own and not t.is_leaf:
                edges.append(GraphEdge(op_id, ids[t], format_shape(t.shape)))
        op_of = {e.head: e.tail for e in edges if e.kind == "data"}
        for source, target, text in reads:
            edges.append(GraphEdge(ids[source], op_of[ids[target]], text, "read"))
        clusters, tints, colours = {}, {}, {}
        for node in self.owners:
            key = self.keys[id(node)]
            op = node.op_type.label(node.op_params) if node.op_type is not None else "?"
            clusters[key] = f"from {op}'s VJP" + (f" ({self.info.names[node]})" if node in self.info.names else "")
            colours[key], tints[key] = self.op_colours[node]
        return GraphDescription(nodes, edges, clusters, tints, colours=colours)


def _walk(grad: Tensor) -> list[Tensor]:
    """The gradient's nodes parents-first, with the tensors they read from outside (forward tensors, seeds),
    into which the walk does not go."""
    return forward_order(grad, lambda t: _inputs(t) if t.made_by_vjp_of is not None else ())


def _inputs(t: Tensor) -> tuple[Tensor, ...]:
    try:
        return t.inputs
    except RuntimeError:
        raise RuntimeError(RELEASED) from None


def _mask_text(formula: str, var: str, name: str) -> str:
    """The comparison a formula makes on `var`, with the tensor's name put in ('Z1 > 0'), else 'reads'."""
    tree = ast.parse(formula, mode="eval")
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and any(isinstance(n, ast.Name) and n.id == var for n in ast.walk(node)):
            return re.sub(rf"\b{var}\b", name, ast.unparse(node))
    return "reads"
