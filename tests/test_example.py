"""Smoke tests for examples/titanic_fare.py: a short run, its outputs, bad arguments, determinism."""
from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest
from helpers import EXAMPLES, load_example



fare = load_example("titanic_fare")
RMSE_LINE = re.compile(r"test RMSE (\d+\.\d+) pounds \(predicting the training mean: (\d+\.\d+) pounds\)")


@pytest.fixture(autouse=True)
def no_pdf(monkeypatch: pytest.MonkeyPatch) -> None:
    """The PDF is compiled once per session, by test_solution.py; these runs check the rest of the script."""
    monkeypatch.setattr(fare, "write_solution", lambda *args: [])


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = fare.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_one_epoch_writes_loss_csv_and_prints_the_rmse(tmp_path: Path, capsys) -> None:
    status, out, err = run(capsys, "--epochs", "1", "--out", str(tmp_path / "new" / "dir"))
    assert status == 0 and err == ""
    with open(tmp_path / "new" / "dir" / "loss.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["epoch", "train_loss", "test_loss"]
    assert len(rows) == 2 and rows[1][0] == "1"
    train_loss, test_loss = float(rows[1][1]), float(rows[1][2])
    assert 0 < train_loss < 2 and 0 < test_loss < 2
    assert f"epoch  1  train loss {train_loss:.4f}  test loss {test_loss:.4f}" in out
    assert RMSE_LINE.search(out)
    assert "dropped 1 passenger(s) without a fare: Storey, Mr. Thomas" in out
    out_dir = tmp_path / "new" / "dir"
    for name in ("computation_graph.svg", "network.svg"):
        svg = ElementTree.parse(out_dir / name).getroot()
        assert svg.tag.endswith("svg") and f"wrote {out_dir / name}" in out
    graph_text = (out_dir / "computation_graph.svg").read_text(encoding="utf-8")
    for shape in ("1046×3", "3×4", "1046×4", "4×1", "1046×1"):
        assert shape in graph_text
    backprop = (out_dir / "backprop.md").read_text(encoding="utf-8")
    assert "∂L/∂W1 = Xᵀ · ((∂L/∂Ŷ · W2ᵀ) ⊙ 1[Z1 > 0])" in backprop


def test_default_run_beats_the_mean_baseline_and_shows_passengers(tmp_path: Path, capsys) -> None:
    status, out, _ = run(capsys, "--out", str(tmp_path))
    assert status == 0
    assert len(re.findall(r"^epoch +\d+  train loss", out, re.M)) == fare.EPOCHS
    rmse, baseline = map(float, RMSE_LINE.search(out).groups())
    assert rmse < 0.9 * baseline
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("test passenger "))
    table = lines[header + 1:header + 1 + fare.N_EXAMPLES]
    assert all(re.search(r" [123] .* (yes|no) +\d+\.\d\d +\d+\.\d\d$", row) for row in table), table


def test_adam_option_trains_too(tmp_path: Path, capsys) -> None:
    status, out, _ = run(capsys, "--optimizer", "adam", "--lr", "0.02", "--epochs", "3", "--out", str(tmp_path))
    rmse, baseline = map(float, RMSE_LINE.search(out).groups())
    assert status == 0 and rmse < baseline


def test_same_seed_same_numbers(tmp_path: Path, capsys) -> None:
    args = ("--epochs", "2", "--batch-size", "64", "--out", str(tmp_path))
    first = run(capsys, *args, "--seed", "3")[1]
    first_csv = (tmp_path / "loss.csv").read_text()
    second = run(capsys, *args, "--seed", "3")[1]
    assert first == second and first_csv == (tmp_path / "loss.csv").read_text()
    assert run(capsys, *args, "--seed", "4")[1] != first


@pytest.mark.parametrize("argv, flag", [
    (["--epochs", "-1"], "--epochs"),
    (["--epochs", "0"], "--epochs"),
    (["--lr", "0"], "--lr"),
    (["--lr", "-0.5"], "--lr"),
    (["--lr", "nan"], "--lr"),
    (["--batch-size", "0"], "--batch-size"),
    (["--seed", "-1"], "--seed"),
    (["--optimizer", "rmsprop"], "--optimizer"),
    (["--epochs", "ten"], "--epochs"),
    (["--colour"], "--colour"),
])
def test_bad_arguments_exit_2_with_one_line(argv, flag, tmp_path: Path, capsys) -> None:
    status, out, err = run(capsys, *argv, "--out", str(tmp_path))
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("titanic_fare.py: error: ") and flag in err
    assert not (tmp_path / "loss.csv").exists()


def test_unwritable_out_dir_fails_before_training_without_a_traceback(tmp_path: Path) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "titanic_fare.py"), "--out", str(blocker / "out")],
        capture_output=True, text=True, timeout=60,
        # NOTE: this checkout's minigrad first, not whichever one is installed.
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(EXAMPLES.parent), os.environ.get("PYTHONPATH", "")])},
    )
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "--out" in result.stderr and "not a writable directory" in result.stderr
