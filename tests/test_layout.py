"""The two wings keep their boundaries: core/ never imports the explaining half, see/ reads only public names."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "minigrad"
FORBIDDEN_IN_CORE = ("minigrad.see", "minigrad.nn", "minigrad.optim", "graphviz", "pygraphviz")


def _imports(path: Path) -> list[str]:
    """Every module a file imports, relative imports resolved against the package."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            found += [module] + [f"{module}.{alias.name}" for alias in node.names]
    return found


@pytest.mark.parametrize("path", sorted((PACKAGE / "core").glob("*.py")), ids=lambda p: p.name)
def test_core_never_imports_the_pictures_nn_optim_or_graphviz(path: Path) -> None:
    bad = [m for m in _imports(path) if m.startswith(FORBIDDEN_IN_CORE)]
    assert not bad, f"{path.name} imports {bad}"


@pytest.mark.parametrize("path", sorted((PACKAGE / "see").glob("*.py")), ids=lambda p: p.name)
def test_see_reads_no_underscore_attribute(path: Path) -> None:
    """No `t._x`, `t._op`, ...: see/ reads a tensor through its public graph view only."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    bad = [
        f"line {node.lineno}: .{node.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
        and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
    ]
    assert not bad, f"{path.name} reads private attributes: {bad}"


def test_the_test_sees_a_violation(tmp_path: Path) -> None:
    """The import check resolves relative imports, so `from ..see import x` in core/ would be caught."""
    core = tmp_path / "minigrad" / "core"
    core.mkdir(parents=True)
    bad = core / "bad.py"
    bad.write_text("from ..see.draw import save_svg\n")
    global PACKAGE
    saved, PACKAGE = PACKAGE, tmp_path / "minigrad"
    try:
        assert "minigrad.see.draw" in _imports(bad)
    finally:
        PACKAGE = saved
