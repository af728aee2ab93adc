"""Smoke tests for examples/titanic_survival.py: a run, its outputs and numbers, bad arguments, determinism."""
from __future__ import annotations

import csv
import re
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pytest
from helpers import load_example

from minigrad import from_numpy, nn

survival = load_example("titanic_survival")
ACCURACY_LINE = re.compile(r"test accuracy (\d+\.\d)% \(predicting the majority class, everyone dies: (\d+\.\d)%\)")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = survival.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_default_run_beats_the_majority_class_and_writes_its_figures(tmp_path: Path, capsys) -> None:
    status, out, err = run(capsys, "--out", str(tmp_path))
    assert status == 0 and err == ""
    accuracy, baseline = map(float, ACCURACY_LINE.search(out).groups())
    assert accuracy > baseline + 10 and baseline == pytest.approx(64.9, abs=0.05)
    assert len(re.findall(r"^epoch +\d+  train loss", out, re.M)) == survival.EPOCHS
    with open(tmp_path / "survival_loss.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["epoch", "train_loss", "test_loss"] and len(rows) == survival.EPOCHS + 1
    assert float(rows[-1][1]) < float(rows[1][1])  # the loss went down
    graph = (tmp_path / "survival_graph.svg").read_text(encoding="utf-8")
    assert ElementTree.fromstring(graph).tag.endswith("svg")
    texts = " ".join("".join(t.itertext()) for t in ElementTree.fromstring(graph).iter("{http://www.w3.org/2000/svg}text"))
    for label in ("1046×4", "4×4", "4×1", "1046×1", "W1", "Ŷ", "relu"):
        assert label in texts
    backprop = (tmp_path / "survival_backprop.md").read_text(encoding="utf-8")
    assert "∂L/∂W1 = Xᵀ · (" in backprop and "⊙ 1[Z1 > 0])**" in backprop and "Check against autograd" in backprop
    for name in ("survival_loss.csv", "survival_backprop.md", "survival_graph.svg"):
        assert f"wrote {tmp_path / name}" in out


def test_the_reported_accuracy_is_that_of_sigmoid_above_one_half(capsys) -> None:
    trained = survival.train(epochs=2, log=lambda _: None)
    accuracy, _ = survival.report(trained.model, trained.data, log=lambda _: None)
    p = survival.survival_probability(trained.model, trained.data.X_test)
    scores = trained.model(from_numpy(trained.data.X_test)).data
    np.testing.assert_allclose(p, 1 / (1 + np.exp(-scores)), rtol=1e-6)
    assert accuracy == np.mean((scores > 0) == (trained.data.y_test == 1))


def test_the_training_loss_is_bce_with_logits_of_the_model_scores() -> None:
    trained = survival.train(epochs=1, log=lambda _: None)
    data = trained.data
    scores = trained.model(from_numpy(data.X_test)).data.astype(np.float64)
    y = data.y_test.astype(np.float64)
    by_hand = np.mean(np.logaddexp(0, scores) - y * scores)
    assert trained.history[0][2] == pytest.approx(by_hand, rel=1e-5)
    assert nn.BCEWithLogitsLoss()(from_numpy(scores), y).item() == pytest.approx(by_hand, rel=1e-12)


def test_same_seed_same_numbers_and_adam_trains_too(tmp_path: Path, capsys) -> None:
    args = ("--epochs", "2", "--out", str(tmp_path))
    first = run(capsys, *args, "--seed", "3")[1]
    assert run(capsys, *args, "--seed", "3")[1] == first and run(capsys, *args, "--seed", "4")[1] != first
    status, out, _ = run(capsys, "--optimizer", "adam", "--lr", "0.01", "--epochs", "3", "--out", str(tmp_path))
    accuracy, baseline = map(float, ACCURACY_LINE.search(out).groups())
    assert status == 0 and accuracy > baseline


@pytest.mark.parametrize("argv, flag", [(["--epochs", "0"], "--epochs"), (["--lr", "-1"], "--lr"),
                                        (["--optimizer", "rmsprop"], "--optimizer")])
def test_bad_arguments_exit_2_with_one_line(argv, flag, tmp_path: Path, capsys) -> None:
    status, out, err = run(capsys, *argv, "--out", str(tmp_path))
    assert status == 2 and out == "" and err.count("\n") == 1
    assert err.startswith("titanic_survival.py: error: ") and flag in err
