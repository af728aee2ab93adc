"""Watch backward run: one backward pass recorded step by step and shown as a self-contained HTML page.

`explore(loss)` runs `loss.backward(retain_graph=True)` once inside the engine's
`observe_backward`, which reports each node's VJP in the engine's own order: the gradient that
arrived at the node and the gradient it sent to each input. The page shows the computation graph
(the drawing of `draw.py`) and steps through that sweep one node at a time, with the numbers, the
local formula of each step with its shapes (`explain.py`), the shares a reused tensor adds up, and
the leaves' `.grad` filling in. Clicking a node shows its value, its gradient, its chain-rule path
to the loss and its formula.

The steps are also plain data, in sweep order, embedded in the page as
`<script type="application/json" id="minigrad-steps">` for other tools and the tests. Each step:

    index, id, op_id     its place in the sweep; the drawn tensor node and op node (ids of draw.py)
    node, op, label      the tensor's name (W1, Z1, ...), its op's name and drawn label
    shape, grad          the output's shape and the gradient that arrived (see `_array_info`)
    received             the earlier steps (and input positions) whose shares were summed into it
    to                   the names of the inputs it sends a gradient to
    sends                per input: name, id, gradient, share k of n, running total, local formula
    rule                 the op's VJP as the op table writes it, one per input (`g @ y.mT`)

A second block, `id="minigrad-graph"`, holds what the page shows for a clicked tensor (value,
gradient, formula, chain-rule paths) by its drawn id. The page needs no network: SVG, CSS
(`explorer.css`) and JavaScript (`explorer.js`) are all inline.
"""
from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..core import Tensor
from ..core.engine import observe_backward
from .draw import LEGEND, GraphDescription, RendererNotFoundError, graph_description, render_svg, to_digraph
from .explain import FormulaError, SweepExplanation, explain_sweep
from .graph import GraphInfo, format_shape, inspect_graph

# A tensor of up to this many elements is shown number by number; a bigger one by its norm, min, max, mean.
MAX_VALUES = 64
# Above this many tensors the page leaves out the formulas: each gradient's chain-rule path grows with the depth.
MAX_EXPLAINED = 1000
_HERE = Path(__file__).resolve().parent


@dataclass
class Exploration:
    """One recorded backward pass: the steps in sweep order, what is known of each drawn tensor, the SVG.

    `steps` and `graph` are the JSON the page embeds; `html()` is the page, `save(path)` writes it,
    and Jupyter shows it inline.
    """

    title: str
    steps: list[dict[str, Any]]
    graph: dict[str, Any]
    svg: str | None

    def html(self) -> str:
        """The whole page as one HTML document: inline SVG, CSS, JavaScript and the JSON data."""
        css = (_HERE / "explorer.css").read_text(encoding="utf-8")
        script = (_HERE / "explorer.js").read_text(encoding="utf-8")
        picture = self.svg if self.svg is not None else f'<p class="notice">{html.escape(self.graph["notice"])}</p>'
        return _PAGE.format(
            title=html.escape(self.title),
            css=css,
            picture=picture,
            steps=_script_json(self.steps),
            graph=_script_json(self.graph),
            script=script,
        )

    def save(self, path: str | Path) -> Path:
        """Write the page to path (UTF-8), creating its folder, and return the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.html(), encoding="utf-8")
        return path

    def _repr_html_(self) -> str:
        # NOTE: an iframe keeps the page's ids, styles and keyboard handling apart from the notebook's.
        return (f'<iframe srcdoc="{html.escape(self.html(), quote=True)}" title="{html.escape(self.title)}" '
                'style="width:100%;height:800px;border:1px solid #ccc"></iframe>')


def explore(
    root: Tensor,
    *,
    retain_values: bool = True,
    names: Mapping[Tensor, str] | None = None,
    params: Any = None,
    rankdir: str = "LR",
) -> Exploration:
    """Record one backward pass of `root` and return it as a page that steps through the sweep.

    It runs `root.backward(retain_graph=True)` once under `observe_backward`, then puts every
    `.grad` back as it was: exploring changes no gradient and keeps the graph, so a later
    `backward()` or `optimizer.step()` sees what it would have seen without it.

    Args:
        root: a one-element result of recorded ops (a loss).
        retain_values: keep the numbers (every tensor and gradient of up to MAX_VALUES elements, the
            rest as norm, min, max and mean); False keeps only shapes and those summaries.
        names: {tensor: name} overriding the generated names, as for `draw_graph`.
        params: a Module or {dotted name: tensor}, for module paths and layer boxes.
        rankdir: the drawing's direction, "LR" (as `draw_graph`) or "TB".

    Raises:
        ValueError: root is not a one-element tensor made by recorded ops that require grad.

    Example:
        >>> loss = nn.MSELoss()(model(X), Y)
        >>> page = explore(loss, params=model)     # shows inline in Jupyter
        >>> page.save("out/backward.html")
    """
    _check_root(root)
    info = inspect_graph(root, names, params)
    desc = graph_description(root, show_grads=False, names=names, params=params, broadcasts=False)
    recorder = _Recorder(info, desc, retain_values)
    before = {t: t.grad for t in info.order}
    # NOTE: backward adds into an existing .grad in place, so each one is set aside, not just remembered.
    for t in before:
        t.grad = None
    try:
        with observe_backward(recorder.record):
            root.backward(retain_graph=True)
    finally:
        for t, g in before.items():
            t.grad = g
    sweep, why = _explanation(root, info, names, params)
    recorder.finish(sweep)
    title = f"Backward pass of {info.names[root]}"
    graph = recorder.graph_data(title, before, sweep, why)
    svg, notice = _picture(desc, rankdir)
    graph["notice"] = notice
    return Exploration(title, recorder.steps, graph, svg)


def _check_root(root: Any) -> None:
    need = "explore needs a loss: the one-element result of recorded ops that require grad"
    if not isinstance(root, Tensor):
        raise ValueError(f"{need}, got {type(root).__name__}")
    if root.is_leaf:
        raise ValueError(f"{need}, got a leaf: no op was recorded (does any input require grad?)")
    if root.size != 1:
        raise ValueError(f"{need}, got shape {root.shape}: reduce it first, e.g. with .sum() or .mean()")


def _explanation(root: Tensor, info: GraphInfo, names: Any, params: Any) -> tuple[SweepExplanation | None, str]:
    """The formulas of the pass, or None and the reason they are left out."""
    if len(info.order) > MAX_EXPLAINED:
        return None, f"formulas are left out for graphs of more than {MAX_EXPLAINED} tensors"
    try:
        return explain_sweep(root, names, params), ""
    except (FormulaError, ValueError) as err:
        return None, f"formulas are left out: {err}"


def _picture(desc: GraphDescription, rankdir: str) -> tuple[str | None, str]:
    """The graph as inline SVG (no XML prologue, no namespace URLs), or None and why not."""
    try:
        svg = render_svg(to_digraph(desc, rankdir, legend=False))
    except RendererNotFoundError as err:
        return None, f"The graph picture needs Graphviz. {str(err).splitlines()[0]}"
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"<!--.*?-->", "", svg, flags=re.S)
    svg = re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", svg)
    return svg.strip(), ""


class _Recorder:
    """Collects the graph before backward and, from the engine's observer, one step per VJP."""

    def __init__(self, info: GraphInfo, desc: GraphDescription, retain_values: bool) -> None:
        self.info, self.keep = info, retain_values
        drawn = desc.tensors
        if [n.label for n in drawn] != [info.names[t] for t in info.order]:
            raise RuntimeError("the drawing and the graph list different tensors")
        self.ids = {t: n.id for t, n in zip(info.order, drawn)}
        makes = {e.head: e.tail for e in desc.edges if e.kind == "data"}
        self.op_ids = {t: makes[self.ids[t]] for t in info.order if not t.is_leaf}
        self.op_labels = {n.id: n.label for n in desc.ops}
        # NOTE: read before backward: the graph may release what it holds once a node's VJP has run.
        self.inputs = {t: t.inputs for t in info.order}
        self.values = {t: _array_info(t.data, retain_values) for t in info.order}
        self.steps: list[dict[str, Any]] = []
        self.received: dict[Tensor, list[dict[str, Any]]] = {}
        self.totals: dict[Tensor, np.ndarray] = {}
        self.arrived: dict[Tensor, dict[str, Any]] = {}
        self.step_of: dict[Tensor, int] = {}
        self.swept: list[Tensor] = []

    def record(self, node: Tensor, grad_out: Any, grads_sent: tuple[Any, ...]) -> None:
        """The engine's observer: one step for the VJP of `node`."""
        k = len(self.steps)
        names = self.info.names
        grad_out = np.asarray(grad_out)
        arrived = _array_info(grad_out, self.keep)
        self.arrived[node], self.step_of[node] = arrived, k
        self.swept.append(node)
        sends = []
        for i, (target, g) in enumerate(zip(self.inputs[node], grads_sent)):
            send: dict[str, Any] = {"input": i, "id": self.ids[target], "node": names[target],
                                    "shape": list(target.shape), "grad": None}
            if g is None:
                send["why"] = _no_gradient(node, i, target, names)
            else:
                g = np.asarray(g)
                total = g.copy() if target not in self.totals else self.totals[target] + g
                self.totals[target] = total
                self.received.setdefault(target, []).append(
                    {"step": k, "from": names[node], "op": node.op, "input": i})
                send.update(grad=_array_info(g, self.keep), total=_array_info(total, self.keep),
                            share=len(self.received[target]), leaf=target.is_leaf)
            sends.append(send)
        self.steps.append({
            "index": k,
            "id": self.ids[node],
            "op_id": self.op_ids[node],
            "node": names[node],
            "op": node.op,
            "label": self.op_labels[self.op_ids[node]],
            "shape": list(node.shape),
            "grad": arrived,
            "received": list(self.received.get(node, [])),
            "to": [s["node"] for s in sends if s["grad"] is not None],
            "sends": sends,
            "rule": list(node.op_type.formulas),
        })

    def finish(self, sweep: SweepExplanation | None) -> None:
        """Number every share (k of n) and add each step's formula with its shapes."""
        for node, step in zip(self.swept, self.steps):
            for send in step["sends"]:
                target = self.inputs[node][send["input"]]
                if send["grad"] is not None:
                    send["shares"] = len(self.received[target])
                local = sweep.steps.get((node, send["input"])) if sweep is not None else None
                if local is not None:
                    send["formula"], send["shapes"] = local.equation, local.shape_text

    def graph_data(self, title: str, before: dict[Tensor, Any], sweep: SweepExplanation | None,
                   why: str) -> dict[str, Any]:
        """Everything about each drawn tensor that the page shows when it is clicked, plus the leaves."""
        info = self.info
        nodes = {}
        for t in info.order:
            entry: dict[str, Any] = {
                "id": self.ids[t],
                "name": info.names[t],
                "alias": info.aliases.get(t),
                "role": info.roles[t],
                "kind": dict(LEGEND)[info.roles[t]],
                "shape": list(t.shape),
                "op": t.op,
                "op_id": self.op_ids.get(t),
                "requires_grad": t.requires_grad,
                "value": self.values[t],
                "grad": self.arrived.get(t) or (_array_info(self.totals[t], self.keep) if t in self.totals else None),
                "step": self.step_of.get(t),
                "received": [r["step"] for r in self.received.get(t, [])],
                "symbol": info.differential(t),
            }
            explained = sweep.gradients.get(t) if sweep is not None else None
            if t is info.root:
                entry.update(formula="1", paths=[info.names[t]], total_paths=1)
            elif explained is not None:
                entry.update(symbol=explained.symbol, formula=explained.formula, shapes=explained.shapes,
                             paths=explained.paths, total_paths=explained.total_paths)
            nodes[entry["id"]] = entry
        leaves = [self.ids[t] for t in info.order if t.is_leaf and t in self.totals]
        held = [info.names[t] for t in info.order if t.is_leaf and t in self.totals and before[t] is not None]
        return {"title": title, "root": self.ids[info.root], "nodes": nodes, "leaves": leaves,
                "accumulates": held, "formulas": why}


def _no_gradient(node: Tensor, i: int, target: Tensor, names: dict[Tensor, str]) -> str:
    if not target.requires_grad:
        return f"{names[target]} does not require grad"
    if not node.needs_input_grad[i]:
        return f"{node.op} needs no gradient for {names[target]}"
    return f"{node.op} sends no gradient to {names[target]}"


def _array_info(array: Any, keep_values: bool) -> dict[str, Any]:
    """{'shape', 'values'} for up to MAX_VALUES elements (nested lists), else {'shape', 'norm', 'min', 'max', 'mean'}.

    Non-finite numbers become the strings 'NaN', 'Infinity' and '-Infinity', which JSON cannot hold as numbers.
    """
    a = np.asarray(array, dtype=np.float64)
    out: dict[str, Any] = {"shape": list(a.shape)}
    if keep_values and a.size <= MAX_VALUES:
        out["values"] = _finite(a.tolist())
        return out
    if a.size:
        out.update(norm=float(np.linalg.norm(a)), min=float(a.min()), max=float(a.max()), mean=float(a.mean()))
    return {k: _finite(v) for k, v in out.items()}


def _finite(value: Any) -> Any:
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return value


def _script_json(data: Any) -> str:
    """JSON that is safe inside a <script> element: no '<' can close it early."""
    return json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":")).replace("<", "\\u003c")


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
{css}
</style>
</head>
<body>
<header>
  <h1>{title}</h1>
  <div class="controls">
    <button id="back" type="button" title="previous step (←)">◀ Back</button>
    <button id="next" type="button" title="next step (→)">Next ▶</button>
    <button id="play" type="button" title="play / pause (space)">Play</button>
    <input id="slider" type="range" min="0" max="0" value="0" aria-label="step">
    <span id="counter"></span>
  </div>
  <div class="zoom">
    <button id="zoom-out" type="button" title="smaller">−</button>
    <button id="zoom-fit" type="button" title="fit the width">fit</button>
    <button id="zoom-in" type="button" title="larger">+</button>
  </div>
</header>
<div id="legend">
  <span class="key current">VJP running now</span>
  <span class="key receives">gets a gradient now</span>
  <span class="key pending">gradient waiting</span>
  <span class="key done">done</span>
  <span class="key filled">leaf with .grad</span>
  <span class="key selected">clicked</span>
  <span class="hint">← → step, space play, click a node for its value, gradient and formula</span>
</div>
<main>
  <section id="graph">{picture}</section>
  <section id="panels">
    <article id="step" aria-live="polite"></article>
    <article id="leaves"></article>
    <article id="node"></article>
  </section>
</main>
<script type="application/json" id="minigrad-steps">{steps}</script>
<script type="application/json" id="minigrad-graph">{graph}</script>
<script>
{script}
</script>
</body>
</html>
"""
