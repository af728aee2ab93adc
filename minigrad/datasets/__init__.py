"""Data for the minigrad examples: the Titanic table, the fare-regression split and shared minibatching.

Pure numpy + stdlib; nothing here imports the autograd engine, so the data loads standalone.
"""

from .batching import minibatches
from .titanic import FEATURES, TARGET, FareData, load_fare, load_titanic

__all__ = ["FEATURES", "TARGET", "FareData", "load_fare", "load_titanic", "minibatches"]
