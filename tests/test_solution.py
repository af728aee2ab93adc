"""The sheet solved as one PDF: written by the example's run, A4, each section with the run's numbers, no text under 7 pt.

The run happens once per session, in a subprocess whose PATH has no Graphviz `dot`, as on a fresh
machine that has only what README's first command installs (pygraphviz draws the figures).
"""
from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pytest
from helpers import EXAMPLES, load_example

from minigrad.datasets import load_fare

pypdf = pytest.importorskip("pypdf")
pytest.importorskip("typst")
pytest.importorskip("matplotlib")

A4 = (595.28, 841.89)
MIN_PT = 7.0
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="session")
def solved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The out/ directory of one default run of examples/titanic_fare.py, and its stdout."""
    out = tmp_path_factory.mktemp("out")
    path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if not shutil.which("dot", path=p))
    env = dict(os.environ, PATH=path, PYTHONPATH=str(EXAMPLES.parent))
    result = subprocess.run([sys.executable, str(EXAMPLES / "titanic_fare.py"), "--out", str(out)],
                            capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr
    return out, result.stdout


@pytest.fixture(scope="session")
def pages(solved: tuple[Path, str]) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(solved[0] / "solution.pdf").pages]


def sections(pages: list[str]) -> dict[str, str]:
    """The PDF's text cut at each 'Exercise 6.k' heading."""
    text = "\n".join(pages)
    cuts = [(m.group(1), m.start()) for m in re.finditer(r"Exercise (6\.\d):", text)]
    assert [k for k, _ in cuts] == ["6.1", "6.2", "6.3", "6.4", "6.5"]
    ends = [start for _, start in cuts[1:]] + [len(text)]
    return {k: text[start:end] for (k, start), end in zip(cuts, ends)}


def test_the_run_writes_the_pdf_and_its_editable_source_with_the_figures_beside_it(solved) -> None:
    out, stdout = solved
    for name in ("solution.pdf", "solution.typ", "network.svg", "computation_graph.svg", "losses.svg",
                 "network_class.py"):
        assert (out / name).exists() and f"wrote {out / name}" in stdout, name
    source = (out / "solution.typ").read_text(encoding="utf-8")
    for placeholder in ("Name 1", "name1\\@example.org", "team\\@example.org", "Rewrite this summary"):
        assert placeholder in source
    for used in re.findall(r'(?:image|read)\("([^"]+)"', source):
        assert (out / used).exists(), used


def test_every_page_is_a4(solved) -> None:
    reader = pypdf.PdfReader(solved[0] / "solution.pdf")
    assert 6 <= len(reader.pages) <= 14
    for page in reader.pages:
        assert (float(page.mediabox.width), float(page.mediabox.height)) == pytest.approx(A4, abs=0.5)


def test_each_section_shows_the_runs_figures(solved, pages) -> None:
    out = solved[0]
    text = sections(pages)
    data = load_fare()
    for space in ("ℝ1046×3", "ℝ3×4", "ℝ4", "ℝ1046×4", "ℝ4×1", "ℝ1046×1"):
        assert space in text["6.1"], space
    assert "standardised" in text["6.1"] and f"{data.y_mean:.2f}" in text["6.1"] and f"{data.y_std:.2f}" in text["6.1"]
    for mean, std in zip(data.x_mean, data.x_std):
        assert f"{mean:.3f}" in text["6.1"] and f"{std:.3f}" in text["6.1"]
    assert "4 → 1046 × 4" in text["6.2"] and "hidden layer 1" in text["6.2"] and "output layer" in text["6.2"]
    assert "0.weight" in text["6.2"] and "difference" in text["6.2"]
    assert text["6.3"].count("Gradient for") == 4 and "1 ≠ 4" in text["6.3"] and "𝑛 = 1046" in text["6.3"]
    checks = [float(x) for x in re.findall(r"by at most ([0-9.]+e[-+]\d+|0)", text["6.3"].replace("\n", " "))]
    assert len(checks) == 4 and max(checks) < 1e-6
    with open(out / "loss.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 10
    for row in rows:
        assert f"{float(row['train_loss']):.4f}" in text["6.4"] and f"{float(row['test_loss']):.4f}" in text["6.4"]
    assert "grad_fn" in text["6.5"] and "backward()" in text["6.5"]
    if "torch_module.py" in {p.name for p in out.iterdir()}:
        assert "torch.nn.Module" in text["6.5"] and "FareNet" in text["6.5"]
    else:
        assert "pip install torch==2.13.0" in text["6.5"]


def test_no_text_in_the_pdf_is_under_7_pt(solved) -> None:
    """Every glyph run the PDF draws, figures' text included (Typst keeps SVG text as text), at its printed size."""
    small = []
    for number, page in enumerate(pypdf.PdfReader(solved[0] / "solution.pdf").pages, start=1):
        def visit(text, cm, tm, font, size, number=number):
            c, d = tm[2] * cm[0] + tm[3] * cm[2], tm[2] * cm[1] + tm[3] * cm[3]
            printed = size * float(np.hypot(c, d))
            if text.strip() and printed < MIN_PT - 1e-6:
                small.append((number, round(printed, 2), text))
        page.extract_text(visitor_text=visit)
    assert not small, small[:10]


def figure_font_sizes(svg: Path) -> list[float]:
    """Every font size an SVG's text uses, in its own units (attributes, and matplotlib's style)."""
    root = ElementTree.parse(svg).getroot()
    sizes = []
    for element in root.iter():
        if element.tag in (f"{SVG}text", f"{SVG}tspan"):
            size = element.get("font-size") or re.search(r"font-size:\s*([\d.]+)", element.get("style", "") or "")
            if isinstance(size, re.Match):
                size = size.group(1)
            if size and "".join(element.itertext()).strip():
                sizes.append(float(size))
    return sizes


def test_each_figure_prints_its_text_at_7_pt_or_more(solved) -> None:
    """Computed from each SVG and the width solution.typ prints it at: size × printed width / SVG width."""
    out = solved[0]
    source = (out / "solution.typ").read_text(encoding="utf-8")
    figures = re.findall(r'image\("([^"]+\.svg)", width: ([\d.]+)pt\)', source)
    assert {name for name, _ in figures} == {"network.svg", "computation_graph.svg", "losses.svg"}
    for name, width in figures:
        root = ElementTree.parse(out / name).getroot()
        view_width = float(root.get("viewBox").split()[2])
        scale = float(width) / view_width
        assert float(width) <= 482 and min(figure_font_sizes(out / name)) * scale >= MIN_PT, name


def test_the_figures_typeset_names_and_spaces(solved) -> None:
    out = solved[0]
    for name in ("network.svg", "computation_graph.svg"):
        svg = (out / name).read_text(encoding="utf-8")
        assert "R^{" not in svg and "baseline-shift" not in svg and "ℝ" in svg
        assert re.search(r'<tspan [^>]*dy="-', svg) and re.search(r'<tspan [^>]*dy="[\d.]', svg), name


def test_without_torch_the_bonus_says_how_to_get_it(monkeypatch) -> None:
    solution = load_example("solution")
    real = solution.importlib.util.find_spec
    monkeypatch.setattr(solution.importlib.util, "find_spec", lambda name: None if name == "torch" else real(name))
    settings = {"epochs": 2, "lr": 0.05, "batch_size": 32, "seed": 0, "optimizer": "sgd"}
    comparison = solution.compare(load_fare(), settings)
    assert comparison.torch_same is None and len(comparison.numpy) == 2
    assert any("not installed" in note and "pip install torch==2.13.0" in note for note in comparison.notes)


def test_the_committed_figures_come_from_the_default_run(solved) -> None:
    """examples/figures/ is the default run's: the same explanation, the same texts in each picture."""
    out, figures = solved[0], EXAMPLES / "figures"
    assert (figures / "backprop.md").read_text(encoding="utf-8") == (out / "backprop.md").read_text(encoding="utf-8")
    for name in ("network.svg", "computation_graph.svg", "losses.svg"):
        texts = [sorted("".join(t.itertext()) for t in ElementTree.parse(folder / name).getroot().iter(f"{SVG}text"))
                 for folder in (figures, out)]
        assert texts[0] == texts[1], name


def test_an_edited_source_compiles_again(solved, tmp_path) -> None:
    """What a team does: put in its names, run `python examples/solution.py DIR`, get the PDF back."""
    for item in solved[0].iterdir():
        shutil.copy(item, tmp_path / item.name)
    typ = tmp_path / "solution.typ"
    typ.write_text(typ.read_text(encoding="utf-8").replace("[Name 1]", "[Ada Lovelace]"), encoding="utf-8")
    (tmp_path / "solution.pdf").unlink()
    assert load_example("solution").main([str(tmp_path)]) == 0
    assert "Ada Lovelace" in pypdf.PdfReader(tmp_path / "solution.pdf").pages[0].extract_text()
