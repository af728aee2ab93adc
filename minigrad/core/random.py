"""The random generator behind parameter initialisation and `randn`, seeded by `manual_seed`."""
from __future__ import annotations

import numpy as np

# NOTE: PyTorch's default CPU seed, so an unseeded run is still the same run every time.
_DEFAULT_SEED = 67280421310721
_generator = np.random.default_rng(_DEFAULT_SEED)


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed minigrad's generator (as torch.manual_seed) and return it."""
    global _generator
    _generator = np.random.default_rng(seed)
    return _generator


def generator() -> np.random.Generator:
    """The generator every minigrad initialiser draws from."""
    return _generator
