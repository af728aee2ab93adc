"""The error minigrad raises for operands of the wrong shape."""
from __future__ import annotations


class ShapeError(RuntimeError, ValueError):
    """Operands whose shapes do not fit the op (broadcast, matmul, reshape, cat, backward's grad).

    PyTorch raises RuntimeError for these and minigrad raised ValueError before it followed torch,
    so the class is both: `except RuntimeError` written for torch catches it, and so does code
    written against minigrad's ValueError.
    """
