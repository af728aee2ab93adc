"""Shuffled minibatch indices shared by every training loop in the project.

The numpy reference network, the minigrad examples and a PyTorch twin all draw their batches here, so given the
same generator they see identical batches and their losses can be compared step by step.
"""

from __future__ import annotations

import numpy as np

__all__ = ["minibatches"]


def minibatches(n: int, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Split one epoch of ``n`` rows into shuffled batches of row indices.

    The order is ``rng.permutation(n)`` cut into consecutive chunks of ``batch_size``; the last chunk may be
    shorter, and ``batch_size >= n`` gives a single (still permuted) batch. Each call advances ``rng`` once.

    Args:
        n: Number of rows in the data set.
        batch_size: Rows per batch, at least 1.
        rng: Generator that decides the order; reuse it across epochs for a reproducible run.

    Returns:
        A list of int index arrays that together contain every index in ``range(n)`` exactly once.

    Raises:
        ValueError: If ``n`` is negative or ``batch_size`` is below 1.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n!r}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size!r}")
    order = rng.permutation(n)
    return [order[start : start + batch_size] for start in range(0, n, batch_size)]
