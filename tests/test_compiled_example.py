"""examples/compiled_fare.py prints the generated program and trains with it: titanic_fare.py's losses."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from helpers import load_example

compiled = load_example("compiled_fare")
fare = load_example("titanic_fare")


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_same_losses_as_the_eager_example(optimizer: str) -> None:
    """float32, so the reordered sums of the program agree to rounding, not to the bit."""
    eager = fare.train(epochs=2, optimizer=optimizer, log=lambda _: None)
    fast = compiled.train(epochs=2, optimizer=optimizer, log=lambda _: None)
    np.testing.assert_allclose(np.array(fast.history), np.array(eager.history), rtol=1e-5)


def test_prints_the_program_then_the_epochs_and_saves_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert compiled.main(["--epochs", "1", "--save", str(tmp_path / "step.py")]) == 0
    out = capsys.readouterr().out
    assert "def step(X, Y):" in out and "np.matmul(X.T, dL_dZ1, out=dL_dW1)" in out
    assert out.index("return L") < out.index("epoch  1  train loss")
    assert (tmp_path / "step.py").read_text(encoding="utf-8").rstrip().endswith("step = build(W1, b1, W2, b2)")
