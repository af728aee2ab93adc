"""Helpers shared by several test files: loading the example scripts, building the Titanic net."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np

from minigrad import Tensor, from_numpy, manual_seed, nn
from minigrad.datasets import load_fare

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def load_example(stem: str) -> ModuleType:
    """Import a script from examples/ (not a package) by its file name without .py.

    examples/ goes on sys.path, as it does for `python examples/<script>.py`, so scripts can import each other.
    """
    if str(EXAMPLES) not in sys.path:
        sys.path.append(str(EXAMPLES))
    spec = importlib.util.spec_from_file_location(f"examples_{stem}", EXAMPLES / f"{stem}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


def titanic_net() -> tuple[nn.Sequential, Tensor]:
    """The exercise's 3 -> 4 (ReLU) -> 1 net in float64 and its MSE loss on the 1046 training passengers."""
    data = load_fare(dtype=np.float64)
    manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4, dtype=np.float64), nn.ReLU(), nn.Linear(4, 1, dtype=np.float64))
    return model, nn.MSELoss()(model(from_numpy(data.X_train)), data.y_train)
