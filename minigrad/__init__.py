"""minigrad: reverse-mode autograd on numpy, small enough to read, exact enough to match PyTorch.

Two wings: `minigrad.core` computes gradients, `minigrad.see` explains them. This module is the
public face, and the one place that joins the two: it registers Jupyter's display of a Tensor as
its computation graph, so the core never imports the drawing half.
"""
from . import autograd, datasets, nn, optim
from .core import *  # noqa: F403  (Tensor, the factories, torch's function names, grad mode, gradcheck)
from .core import Tensor, __all__ as _core_names

__all__ = [*_core_names, "autograd", "compile", "datasets", "nn", "optim"]
__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    """`minigrad.compile`, imported on first use: the compiler reads the naming policy of minigrad.see, whose
    import (the drawing half) a script that never compiles should not pay for."""
    if name == "compile":
        from .compiler import compile

        globals()["compile"] = compile
        return compile
    raise AttributeError(f"module 'minigrad' has no attribute {name!r}")


def _register_jupyter_display() -> None:
    """Show a Tensor as its graph in IPython/Jupyter, through IPython's formatter registry (when running)."""
    import sys

    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None:
        return
    from .see.draw import tensor_mimebundle

    shell.display_formatter.mimebundle_formatter.for_type(Tensor, tensor_mimebundle)


_register_jupyter_display()
