"""README's code is part of the interface: its Python blocks run as printed, and it has the two set-up commands."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
PYTHON_BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.S)


def test_the_python_blocks_of_the_readme_run_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each block goes on from the one before (the tour's `loss` and `model` are explored later), as a reader types them."""
    assert PYTHON_BLOCKS, "README.md has no python blocks"
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "readme"}
    for index, block in enumerate(PYTHON_BLOCKS):
        exec(compile(block, f"README.md python block {index}", "exec"), namespace)
    assert (tmp_path / "out" / "backward.html").stat().st_size > 10_000


def test_the_readme_has_exactly_two_set_up_commands_that_install() -> None:
    commands = [line for block in re.findall(r"```bash\n(.*?)```", README, flags=re.S)
                for line in block.splitlines() if line.startswith("pip install")]
    assert commands == [
        'pip install -e ".[sheet]" && python examples/titanic_fare.py && python examples/titanic_survival.py',
        'pip install -e ".[dev,sheet]" && python -m pytest -q',
    ]
