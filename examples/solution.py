"""Exercise sheet 6 handed in as the single PDF it asks for: out/solution.pdf, typeset from out/solution.typ.

`titanic_fare.py` calls `write_solution` after training. It writes, beside the network scheme and
the computation graph the run has drawn, the loss plot (losses.svg), the two listings the PDF
shows (network_class.py, torch_module.py), the Typst source solution.typ and the PDF, compiled
by the `typst` package (a wheel that carries the Typst compiler). Every number comes from the
run: the dimensions, the standardisation, the gradients' numerical check, the losses of minigrad,
of the numpy `Network` (6.4) and of the PyTorch module (6.5, when torch is installed).

Put the team's names in solution.typ, rewrite the 6.5 summary in your own words, and compile it
again with `python examples/solution.py` (or `python examples/solution.py DIR` for another --out).
"""
from __future__ import annotations

import ast
import importlib.util
import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence
from xml.etree import ElementTree

import numpy as np

import numpy_network
from minigrad import from_numpy, nn, no_grad
from minigrad.datasets import FareData, load_fare
from minigrad.see.draw import graph_description, layer_tint
from minigrad.see.explain import BackwardExplanation, Gradient, explain_backward
from minigrad.see.graph import format_shape, format_space, inspect_graph
from minigrad.see.scheme import network_equations
from minigrad.see.typeset import typst_math, typst_string, typst_text

PAGE_WIDTH_MM, MARGIN_MM = 210, 20
TEXT_WIDTH_PT = (PAGE_WIDTH_MM - 2 * MARGIN_MM) / 25.4 * 72
TEXT_HEIGHT_PT = (297 - 2 * MARGIN_MM) / 25.4 * 72
GRAPH_HEIGHT_PT = TEXT_HEIGHT_PT - 40
TORCH_PIN = "torch==2.13.0"
CURVES = (("minigrad", "#1f5fbf", "-", "o"), ("numpy Network (6.4)", "#c62828", "--", "s"),
          ("PyTorch module, same initial weights", "#2e7d32", ":", "^"),
          ("PyTorch module, its own initial weights", "#888888", "-.", "x"))


@dataclass
class Comparison:
    """The other two implementations trained like the run: one (train, test) loss pair per epoch each."""

    numpy: list[tuple[float, float]]
    torch_same: list[tuple[float, float]] | None = None
    torch_own: list[tuple[float, float]] | None = None
    torch_rmse: float | None = None
    torch_version: str | None = None
    notes: list[str] = field(default_factory=list)


class SolutionUnavailable(RuntimeError):
    """What the PDF needs is missing: the typst or matplotlib package, or the figures Graphviz draws."""


def missing(out_dir: Path) -> str | None:
    """Why the PDF cannot be written here, or None when it can."""
    absent = [name for name in ("typst", "matplotlib") if importlib.util.find_spec(name) is None]
    if absent:
        return f"solution.pdf needs {' and '.join(absent)}: pip install -e \".[sheet]\""
    figures = [name for name in ("network.svg", "computation_graph.svg") if not (out_dir / name).exists()]
    if figures:
        return f"solution.pdf needs {', '.join(figures)}, which need Graphviz: pip install -e \".[sheet]\""
    return None


def write_solution(model: nn.Module, data: FareData, history: Sequence[tuple[int, float, float]], settings: dict,
                   out_dir: Path) -> list[Path]:
    """Write losses.svg, the listings, solution.typ and solution.pdf into out_dir; return them.

    Args:
        model: the trained fare network.
        data: the split it was trained on.
        history: (epoch, train loss, test loss) per epoch of the run.
        settings: the run's epochs, lr, batch_size, optimizer and seed.
        out_dir: where network.svg and computation_graph.svg already are.

    Raises:
        SolutionUnavailable: `missing(out_dir)` names what is missing.
    """
    reason = missing(out_dir)
    if reason:
        raise SolutionUnavailable(reason)

    loss = full_loss(model, data)
    explanation = explain_backward(loss, params=model)
    model.zero_grad()
    loss.backward(retain_graph=True)
    comparison = compare(data, settings)
    written = [plot_losses(history, comparison, out_dir / "losses.svg"),
               _listing(numpy_network.Network, out_dir / "network_class.py")]
    if comparison.torch_same is not None:
        import torch_fare

        written.append(_listing(torch_fare.FareNet, out_dir / "torch_module.py", torch_fare.train))
    source = Document(model, data, history, settings, explanation, loss, comparison, out_dir).source()
    typ = out_dir / "solution.typ"
    typ.write_text(source, encoding="utf-8")
    model.zero_grad()
    return written + [typ, compile_pdf(typ)]


def compile_pdf(typ: Path) -> Path:
    """solution.typ -> solution.pdf beside it, with the fonts its figures name (matplotlib's DejaVu)."""
    import typst

    pdf = typ.with_suffix(".pdf")
    typst.compile(str(typ), output=str(pdf), root=str(typ.parent), font_paths=[_matplotlib_fonts()])
    return pdf


def full_loss(model: nn.Module, data: FareData) -> Any:
    """The MSE of the model on the whole training split, with the sheet's names X, Y and L."""
    X, Y = from_numpy(data.X_train), from_numpy(data.y_train)
    X.name, Y.name = "X", "Y"
    loss = nn.MSELoss()(model(X), Y)
    loss.name = "L"
    return loss


def compare(data: FareData, settings: dict) -> Comparison:
    """Train the numpy Network and, with torch installed, the PyTorch module, as the run was trained.

    The numpy Network starts from the run's initial weights (Network.random draws what
    manual_seed(seed) draws) and sees the same batches; the PyTorch module is trained twice, from
    those weights and from its own.
    """
    epochs, lr, batch, seed = settings["epochs"], settings["lr"], settings["batch_size"], settings["seed"]
    data64 = load_fare(dtype=np.float64)
    net = numpy_network.Network.random(seed=seed)
    start = (net.W1.copy(), net.b1.copy(), net.W2.copy(), net.b2.copy())
    rng = np.random.default_rng(seed)
    numpy_losses = []
    for _ in range(epochs):
        train_loss = net.train_epoch(data64.X_train, data64.y_train, lr, batch, rng)
        numpy_losses.append((train_loss, net.loss(net.forward(data64.X_test), data64.y_test)))
    result = Comparison(numpy_losses)
    if settings.get("optimizer", "sgd") != "sgd":
        result.notes.append(f"minigrad was trained with {settings['optimizer']}; the others use plain SGD.")
    if importlib.util.find_spec("torch") is None:
        result.notes.append(f"PyTorch is not installed here, so the bonus module was not trained: "
                            f"pip install {TORCH_PIN}, then run the example again.")
        return result
    import torch
    import torch_fare

    result.torch_version = torch.__version__.split("+")[0]
    same = torch_fare.FareNet()
    torch_fare.set_weights(same, *start)
    result.torch_same = torch_fare.train(same, data, epochs, lr, batch, seed)
    torch.manual_seed(seed)
    result.torch_own = torch_fare.train(torch_fare.FareNet(), data, epochs, lr, batch, seed)
    with torch.no_grad():
        pred = data.to_pounds(same(torch.from_numpy(data.X_test)).numpy())
    result.torch_rmse = numpy_network.rmse(pred, data.raw_y_test)
    return result


def plot_losses(history: Sequence[tuple[int, float, float]], comparison: Comparison, path: Path) -> Path:
    """One plot of the training loss per epoch of every implementation (text kept as text, for size checks)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = [[h[1] for h in history], [c[0] for c in comparison.numpy]]
    if comparison.torch_same is not None:
        curves += [[c[0] for c in comparison.torch_same], [c[0] for c in comparison.torch_own]]
    epochs = [h[0] for h in history]
    with plt.rc_context({"svg.fonttype": "none", "svg.hashsalt": "minigrad", "font.family": "DejaVu Sans",
                         "font.size": 9}):
        fig, ax = plt.subplots(figsize=(6.2, 2.7))
        for (label, colour, style, marker), losses in zip(CURVES, curves):
            ax.plot(epochs, losses, color=colour, linestyle=style, marker=marker, markersize=4, label=label,
                    linewidth=1.4, markerfacecolor="none")
        ax.set_xlabel("epoch")
        ax.set_ylabel("training loss (MSE, standardised fare)")
        ax.set_xticks(epochs)
        ax.grid(alpha=0.3)
        ax.legend(loc="upper right", framealpha=0.9)
        fig.tight_layout()
        fig.savefig(path, format="svg", metadata={"Date": None})
        plt.close(fig)
    return path


def _listing(cls: type, path: Path, *more: Any) -> Path:
    """The source of a class (and any functions after it) as the PDF lists it: the code and its comments, no docstrings."""
    path.write_text("\n\n".join(_without_docstrings(inspect.getsource(obj)) for obj in (cls, *more)),
                    encoding="utf-8")
    return path


def _without_docstrings(source: str) -> str:
    lines = source.splitlines()
    drop: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and isinstance(
                getattr(body[0], "value", None), ast.Constant) and isinstance(body[0].value.value, str):
            drop.update(range(body[0].lineno - 1, body[0].end_lineno))
    return "\n".join(line for k, line in enumerate(lines) if k not in drop) + "\n"


def _matplotlib_fonts() -> str:
    """matplotlib's DejaVu fonts, which the figures name: the PDF finds them on any machine."""
    import matplotlib

    return str(Path(matplotlib.get_data_path()) / "fonts" / "ttf")


def svg_size(path: Path) -> tuple[float, float]:
    """(width, height) of an SVG in points, from its width and height attributes."""
    root = ElementTree.parse(path).getroot()
    return tuple(float(root.get(k).removesuffix("pt")) for k in ("width", "height"))


def figure_width(path: Path, max_height: float = GRAPH_HEIGHT_PT) -> float:
    """The printed width of a figure: its own size when it fits, else shrunk to the text width and page height."""
    width, height = svg_size(path)
    return min(width, TEXT_WIDTH_PT, width * max_height / height)


# ---------------------------------------------------------------- the document


def m(text: str, fractions: bool = False) -> str:
    """Inline Typst math from the explanation's text; derivatives on one line (∂L/∂W₁) unless fractions."""
    return f"${typst_math(text, fractions)}$"


def display(text: str) -> str:
    """A displayed Typst equation, derivatives as fractions."""
    return f"$ {typst_math(text)} $"


def t(text: str, code: bool = False) -> str:
    """Typst text with sub- and superscripts (and `code` spans as code, with code=True)."""
    return typst_text(text, code)


def _table(columns: str, header: Sequence[str], rows: Sequence[Sequence[str]], size: str = "10.5pt") -> str:
    cells = "".join(f"[*{h}*], " for h in header)
    for row in rows:
        cells += "".join(f"[{c}], " for c in row)
    return (f"#text(size: {size})[#table(columns: {columns}, inset: 4pt, stroke: 0.4pt + gray, "
            f"align: left + horizon, {cells})]\n")


def _colour(hex_colour: str, body: str) -> str:
    return f'#text(fill: rgb("{hex_colour}"))[{body}]'


def _swatch(hex_colour: str) -> str:
    return f'#box(width: 9pt, height: 9pt, fill: rgb("{hex_colour}"), stroke: 0.5pt + gray)'


class Document:
    """solution.typ, section by section, from the run's model, data, explanation and comparison."""

    def __init__(self, model: nn.Module, data: FareData, history: Sequence[tuple[int, float, float]], settings: dict,
                 explanation: BackwardExplanation, loss: Any, comparison: Comparison, out_dir: Path) -> None:
        self.model, self.data, self.history, self.settings = model, data, history, settings
        self.expl, self.loss, self.cmp, self.out = explanation, loss, comparison, out_dir
        self.n = len(data.X_train)
        self.info = inspect_graph(loss, params=model)

    def rmse(self) -> float:
        """The trained model's test error in pounds."""
        with no_grad():
            pred = self.data.to_pounds(self.model(from_numpy(self.data.X_test)).data)
        return numpy_network.rmse(pred, self.data.raw_y_test)

    def baseline(self) -> float:
        """The test error in pounds of always predicting the training mean fare."""
        return numpy_network.rmse(np.full_like(self.data.raw_y_test, self.data.y_mean), self.data.raw_y_test)

    def source(self) -> str:
        parts = [self.preamble(), self.title(), self.task_1(), self.task_2(), self.task_3(), self.task_4(),
                 self.task_5()]
        return "\n".join(parts)

    def preamble(self) -> str:
        return (
            "// The solution of exercise sheet 6, written by `python examples/titanic_fare.py`.\n"
            "// Put your names and e-mails in the title block, rewrite the 6.5 summary in your own words,\n"
            "// then compile it again from the repository's root: python examples/solution.py\n"
            f'#set page(paper: "a4", margin: {MARGIN_MM}mm, numbering: "1 / 1")\n'
            '#set text(font: "Libertinus Serif", size: 10.5pt)\n'
            "#set sub(typographic: false, size: 0.75em)\n"
            "#set super(typographic: false, size: 0.75em)\n"
            "#set par(justify: true)\n"
            "#show table: set par(justify: false)\n"
            '#set heading(numbering: none)\n'
            '#show raw: set text(font: "DejaVu Sans Mono", size: 7.5pt)\n'
            "#show heading.where(level: 1): it => block(above: 1.2em, below: 0.7em, text(size: 14pt, it.body))\n"
            "#show heading.where(level: 2): it => block(above: 1em, below: 0.5em, text(size: 11.5pt, it.body))\n"
        )

    def title(self) -> str:
        s = self.settings
        torch_line = (f"PyTorch {self.cmp.torch_version}" if self.cmp.torch_version
                      else "PyTorch not installed")
        return (
            "#align(center)[#text(size: 16pt)[*Exercise Sheet 6: Backpropagation and Getting to know PyTorch*]\n\n"
            "#text(size: 12pt)[Solution]]\n"
            "#v(4pt)\n"
            "#table(columns: (1fr, 1fr), inset: 5pt, stroke: 0.4pt + gray,\n"
            "  [*Team member*], [*E-mail*],\n"
            "  [Name 1], [name1\\@example.org],\n"
            "  [Name 2], [name2\\@example.org],\n"
            "  [Name 3], [name3\\@example.org],\n"
            "  table.cell(colspan: 2)[Team e-mail: team\\@example.org])\n"
            f"#text(size: 9pt)[Every number, figure and formula below comes from one run of "
            f"`python examples/titanic_fare.py` with minigrad: {s['epochs']} epochs of "
            f"{s['optimizer'].upper()}, learning rate {s['lr']:g}, batches of {s['batch_size']}, seed {s['seed']}; "
            f"{torch_line}. Colours: blue for inputs and targets, orange for parameters, one tint per layer "
            f"(the same in the scheme and the graph), and one colour per parameter's chain-rule path "
            f"(the same in the graph and in 6.3).]\n"
        )

    # ------------------------------------------------------------ 6.1

    def task_1(self) -> str:
        d = self.data
        names = d.feature_names
        stats = [[t(name), f"{mean:.3f}", f"{std:.3f}"] for name, mean, std in zip(names, d.x_mean, d.x_std)]
        stats.append(["fare (£)", f"{d.y_mean:.2f}", f"{d.y_std:.2f}"])
        equations = " \\ ".join(typst_math(line) for line in
                                [f"X ∈ {format_space((self.n, len(names)))}"] + network_equations(self.model, self.n))
        return (
            "= Exercise 6.1: Network scheme\n"
            f"The network predicts the fare of a passenger from {', '.join(names)}: "
            f"{len(names)} inputs, one hidden layer of {self.model[0].weight.shape[1]} neurons with bias and ReLU, "
            "one output with bias and no activation, MSE loss. Rows are passengers: "
            f"the {self.n} training passengers of the split form $X$ (the other {len(d.X_test)} are the test set"
            f"{f'; {d.dropped_rows} passenger without a fare was dropped' if d.dropped_rows else ''}).\n\n"
            f"#figure(image(\"network.svg\", width: {figure_width(self.out / 'network.svg'):.1f}pt), caption: [The "
            "network scheme. A neuron's circle stands for one column of its layer's matrix ($h_j$ is column $j$ of "
            "$H$), every arrow into a layer is one entry of its weight matrix, dashed arrows are its bias. "
            "Each layer's tint is its box's tint in the computation graph (6.2).])\n\n"
            f"$ {equations} $\n\n"
            + _table("(auto, 1fr, auto)", ["variable", "meaning", "space"], self.variable_rows())
            + "\n*Standardisation.* Inputs and target are standardised with the training split's mean and "
            "population standard deviation (test rows with the same numbers), so $X$ and $Y$ have mean 0 and "
            f"standard deviation 1 per column; a missing age is set to the training median, "
            f"{d.age_median:g} years. A prediction is turned back into pounds as "
            f"$hat(Y) dot {d.y_std:.2f} + {d.y_mean:.2f}$.\n\n"
            + _table("(auto, auto, auto)", ["column", "training mean", "training std"], stats)
        )

    def variable_rows(self) -> list[list[str]]:
        info, n = self.info, self.n
        equation = {line.split(" = ")[0]: line.split(" ∈ ")[0] for line in network_equations(self.model, n)}
        rows = [["X", f"inputs: standardised {', '.join(self.data.feature_names)} of the {n} training "
                      "passengers, one row each"]]
        for layer in info.layers:
            names, title = layer.names, layer.title
            rows.append([names.weight, f"weights of the {title}, one column per neuron"])
            if layer.bias is not None:
                rows.append([names.bias, f"bias of the {title}, added to every row (broadcast)"])
            affine = "the prediction" if names.pre == "Ŷ" else f"pre-activation of the {title}"
            rows.append([names.pre, f"{affine}: {equation[names.pre]}"])
            if layer.activation is not None:
                rows.append([names.out, f"activation of the {title}: {equation[names.out]}, elementwise"])
        rows += [["Y", "target: the standardised fare of each training passenger"],
                 ["L", f"loss, the mean squared error over all rows: {equation['L']}"]]
        by_name = {info.names[t_]: t_ for t_ in info.order}
        return [[m(name), t(meaning), m(format_space(by_name[name].shape))] for name, meaning in rows]

    # ------------------------------------------------------------ 6.2

    def task_2(self) -> str:
        desc = graph_description(self.loss, params=self.model, paths=True, show_grads=False)
        rows = []
        for layer in self.info.layers:
            key = f"layer{layer.index}"
            members = [n.label for n in desc.nodes if n.cluster == key and n.kind == "tensor"]
            ops = [n.label for n in desc.nodes if n.cluster == key and n.kind != "tensor"]
            result = layer.names.result
            neurons = "ŷ" if result == "Ŷ" and layer.result.shape[-1] == 1 else f"{result.lower()}1 … "
            neurons += "" if neurons == "ŷ" else f"{result.lower()}{layer.result.shape[-1]}"
            paths = [self.info.aliases.get(p) for p in (layer.weight, layer.bias) if p is not None]
            rows.append([f"{_swatch(desc.tints[key])} {t(layer.title)}",
                         t(f"neurons {neurons}; arrows {layer.names.weight}, bias {layer.names.bias}"),
                         ", ".join(m(x) for x in members) + t(f"; ops {', '.join(ops)}"),
                         t(", ".join(f"{n} = {p}" for n, p in zip((layer.names.weight, layer.names.bias), paths)))])
        loss_nodes = [n.label for n in desc.nodes if n.cluster == "loss" and n.kind == "tensor"]
        rows.insert(0, [f"{_swatch('#cfe2f3')} input layer", t(f"neurons {', '.join(self.data.feature_names)}"),
                        m("X"), t("data, no gradient")])
        rows.append([f"{_swatch(layer_tint('loss'))} loss", t("box 'loss: MSE' and target Y"),
                     ", ".join(m(x) for x in loss_nodes) + t("; ops sub, square, mean; and Y"), t("—")])
        width = figure_width(self.out / "computation_graph.svg")
        return (
            "= Exercise 6.2: Computation graph\n"
            "The graph minigrad recorded for the loss on the whole training split, drawn top to bottom. Every "
            "term is a box with its name and its space (its shape); ovals are the ops that made them; a dashed "
            "oval is a broadcast numpy does without an op: $b_1 in RR^4$ is copied to all "
            f"{self.n} rows before it is added, $4 -> {self.n} times 4$ (and $b_2$, $1 -> {self.n} times 1$), "
            "which is why its gradient sums the rows in 6.3. The MSE is drawn one node per operation, its "
            "intermediate nodes named after this graph's variables: the difference $hat(Y) - Y$, its square "
            "$(hat(Y) - Y)^2$ and their mean $L$. The names are the scheme's, from the one naming policy both "
            "pictures share.\n\n"
            "*Scheme ↔ graph.* Each box of the graph (next page) is one part of the scheme, in the same tint:\n\n"
            + _table("(auto, 1fr, 1.4fr, auto)", ["scheme", "in the scheme", "graph nodes", "module path"], rows)
            + f"\n#figure(image(\"computation_graph.svg\", width: {width:.1f}pt), caption: [The computation graph. "
            "Each parameter's chain-rule path from $L$ is drawn in its own colour (legend); 6.3 uses the same "
            "colours.])\n\n"
        )

    # ------------------------------------------------------------ 6.3

    def task_3(self) -> str:
        shared = self.expl.shared
        head = shared[0] if shared else None
        n = self.n
        intro = (
            "= Exercise 6.3: Backpropagation\n"
            "Notation: $dot$ is the matrix product, $dot.o$ the elementwise product, $A^T$ the transpose, "
            "$bb(1)[Z_1 > 0]$ the matrix that is 1 where $Z_1 > 0$ and 0 elsewhere, $bb(1)$ a column of ones "
            "and $sum_\"rows\" A = bb(1)^T dot A$ the column sums. Everything below is derived by minigrad's "
            "`explain_backward` from the recorded graph and each op's derivative formula, the formulas the "
            "engine itself runs; each final formula is checked against autograd's gradient.\n\n"
        )
        if head is not None:
            steps = [f"{s.op}: {m(s.equation)}" for s in head.steps[0]]
            intro += (
                f"*The loss side, shared by every path.* Along {m(head.paths[0])}, op by op:\n"
                + "".join(f"- {s}\n" for s in steps)
                + f"\nso $ {typst_math(f'{head.symbol} = {head.formula}')} in {typst_math(format_space(head.shape))},"
                f" quad \"that is\" (partial L)/(partial hat(Y)) = 2/n (hat(Y) - Y) \" with \" n = {n}. $\n\n"
            )
        sections = [self.parameter(g) for g in self.expl.params]
        return intro + "\n".join(sections)

    def parameter(self, g: Gradient) -> str:
        name, hex_colour = g.colour
        alias = f" = {g.alias}" if g.alias else ""
        out = [f"== {_colour(hex_colour, f'Gradient for {m(g.name)}: {m(g.symbol)}')} "
               f"#text(size: 10pt, weight: \"regular\")[({t(f'{g.name}{alias}')}, path drawn in {name})]\n\n",
               f"*Path* #text(fill: rgb(\"{hex_colour}\"))[{m(g.paths[0])}]\n\n"]
        for chain in g.chains:
            fit = "fits as it is"
            if chain.misfit:
                pair, inner = chain.misfit.split(": the inner dimensions ")
                fit = f"does not fit as a matrix product: in {m(pair)} the inner dimensions {m(inner)}"
            out.append(
                f"*Chain rule over the scheme's variables, naively:*\n"
                f"$ {typst_math(f'{g.symbol} = {chain.product}')} = {typst_math(chain.values)} $\n"
                f"with dimensions {m(chain.dims)}: {fit}.\n\n"
                "*Reorder and transpose* so that the dimensions fit, factor by factor, from the loss down:\n\n"
            )
            rows = []
            for f in chain.factors[1:]:
                why = t(f.note) + (f" \\ {m(f.entries)}" if f.entries else "")
                rows.append([m(f.equation), m(f.shapes), why])
            out.append(_table("(auto, auto, 1fr)", ["step", "dimensions", "why"], rows))
        masks = []
        for mask in g.masks:
            value, rest = mask.split(" is 1 where ")
            masks.append(f"{m(value)} is 1 where {m(rest.removesuffix(' and 0 elsewhere'))} and 0 elsewhere")
        where = f"; here {', '.join(masks)}" if masks else ""
        check = "not computed" if g.check is None else "0: they are equal" if g.check == 0 else f"{g.check:.1e}"
        out.append(
            f"\n*Result*, with its dimensions:\n{display(f'{g.symbol} = {g.formula} ∈ {format_space(g.shape)}')}\n"
            f"*Final formula in the scheme's terms*, with $partial L \\/ partial hat(Y) = 2 \\/ {self.n} (hat(Y) - Y)$ "
            f"put in{' and the ReLU mask elementwise' if masks else ''}{where}:\n"
            f"{display(f'{g.symbol} = {g.final}')}\n"
            f"*Numerical check:* this formula, computed in numpy, differs from autograd's {m(g.name)}`.grad` "
            f"by at most {check} (float32 arithmetic).\n\n"
        )
        return "".join(out)

    # ------------------------------------------------------------ 6.4

    def task_4(self) -> str:
        net = numpy_network.Network
        rows = []
        for name, fn in vars(net).items():
            fn = fn.__func__ if isinstance(fn, (classmethod, staticmethod)) else fn
            if not inspect.isfunction(fn) or name.startswith("_") and name != "__init__":
                continue
            doc = (inspect.getdoc(fn) or "").splitlines()[0]
            args = [a for a in inspect.signature(fn).parameters if a not in ("self", "cls")]
            rows.append([f"`{name}({', '.join(args)})`", t(doc, code=True)])
        attrs = [["`W1`, `b1`", t(f"weights and bias of the hidden layer, {format_shape(self.model[0].weight.shape)} "
                                  f"and {format_shape(self.model[0].bias.shape)}")],
                 ["`W2`, `b2`", t(f"weights and bias of the output layer, {format_shape(self.model[2].weight.shape)} "
                                  f"and {format_shape(self.model[2].bias.shape)}")],
                 ["`cache`", t("X, Z1, H and Ŷ of the last forward pass: what backward needs")]]
        loss_rows = []
        torch_same = self.cmp.torch_same
        for k, (epoch, train, test) in enumerate(self.history):
            row = [str(epoch), f"{train:.4f}", f"{test:.4f}", f"{self.cmp.numpy[k][0]:.4f}"]
            row.append(f"{torch_same[k][0]:.4f}" if torch_same else "—")
            loss_rows.append(row)
        return (
            "= Exercise 6.4: The `Network` class in numpy\n"
            "*What it needs.* To train, a `Network` keeps the parameters as attributes and the intermediate "
            "results of the last forward pass, which the backward pass reads; its methods are one pass each: "
            "forward, loss, backward (the formulas of 6.3, by hand), the SGD step, one epoch over shuffled "
            "minibatches, and fit for all epochs.\n\n"
            + _table("(auto, 1fr)", ["attribute", "holds"], attrs)
            + "\n" + _table("(auto, 1fr)", ["method", "does"], rows)
            + "\nIts code (`examples/numpy_network.py`):\n"
            "#block(fill: luma(246), inset: 6pt, radius: 2pt, width: 100%)[#raw(read(\"network_class.py\"), "
            "lang: \"python\", block: true)]\n\n"
            f"*Ten epochs.* The run's training loss (mean of the batch losses) and test loss per epoch; the numpy "
            f"`Network` starts from the same weights and sees the same batches, so its losses agree with "
            f"minigrad's to float32 precision (largest difference "
            f"{max(abs(h[1] - c[0]) for h, c in zip(self.history, self.cmp.numpy)):.1e}). After "
            f"{len(self.history)} epochs minigrad's test RMSE is {self.rmse():.2f} pounds, against "
            f"{self.baseline():.2f} pounds for always predicting the training mean fare.\n\n"
            + _table("(auto, auto, auto, auto, auto)",
                     ["epoch", "minigrad train", "minigrad test", "numpy Network train", "PyTorch train"], loss_rows)
        )

    # ------------------------------------------------------------ 6.5

    def task_5(self) -> str:
        summary = _torch_summary()
        plot = f"#figure(image(\"losses.svg\", width: {figure_width(self.out / 'losses.svg'):.1f}pt), caption: [" \
               "Training loss per epoch of the three implementations. From the same initial weights and batches " \
               "minigrad, the numpy `Network` and the PyTorch module draw one curve: they agree to float32 " \
               "precision.])\n"
        notes = "".join(f"{t(n)}\n\n" for n in self.cmp.notes)
        if self.cmp.torch_same is None:
            bonus = (f"*Bonus.* {notes}The plot shows minigrad and the numpy `Network`.\n\n" + plot)
        else:
            same, own = self.cmp.torch_same, self.cmp.torch_own
            gap = max(abs(h[1] - c[0]) for h, c in zip(self.history, same))
            bonus = (
                f"*Bonus: a custom `torch.nn.Module`* (`examples/torch_fare.py`, PyTorch {self.cmp.torch_version}). "
                "`FareNet` declares its two `Linear` layers in `__init__` and composes them in `forward`; "
                "`train` runs the same SGD loop as minigrad, and `loss.backward()` fills every `p.grad`.\n\n"
                "#block(fill: luma(246), inset: 6pt, radius: 2pt, width: 100%)[#raw(read(\"torch_module.py\"), "
                "lang: \"python\", block: true)]\n\n"
                f"Trained from minigrad's initial weights (copied in, transposed: torch stores $(\"out\", \"in\")$), "
                f"its training loss goes from {same[0][0]:.4f} to {same[-1][0]:.4f} and stays within {gap:.1e} of "
                f"minigrad's; from its own initial weights (`torch.manual_seed({self.settings['seed']})`) from "
                f"{own[0][0]:.4f} to {own[-1][0]:.4f}. Test RMSE {self.cmp.torch_rmse:.2f} pounds.\n\n"
                + notes + plot
            )
        return (
            "= Exercise 6.5: How PyTorch computes gradients\n"
            "// Rewrite this summary in your own words.\n"
            f"{t(summary, code=True)}\n\n" + bonus
        )


def _torch_summary() -> str:
    """The 'How PyTorch computes gradients' paragraph of torch_fare.py's docstring (read, not imported)."""
    text = (Path(__file__).resolve().parent / "torch_fare.py").read_text(encoding="utf-8")
    doc = text.split('"""')[1]
    paragraph = next(p for p in doc.split("\n\n") if p.strip().startswith("How PyTorch computes gradients"))
    body = " ".join(paragraph.split()).removeprefix("How PyTorch computes gradients: ")
    return body[0].upper() + body[1:]


def main(argv: Sequence[str] | None = None) -> int:
    """Compile DIR/solution.typ (default out/) again after editing it."""
    import sys

    args = list(sys.argv[1:] if argv is None else argv)
    typ = Path(args[0] if args else "out") / "solution.typ"
    if not typ.exists():
        print(f"no {typ}: run python examples/titanic_fare.py first", file=sys.stderr)
        return 2
    print(f"wrote {compile_pdf(typ)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
