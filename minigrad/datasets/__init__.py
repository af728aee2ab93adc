"""Data for the minigrad examples: the Titanic table, the fare-regression and survival splits, shared minibatching.

Pure numpy + stdlib; nothing here imports the autograd engine, so the data loads standalone.
"""

from .batching import minibatches
from .titanic import (
    FEATURES, SURVIVAL_FEATURES, SURVIVAL_TARGET, TARGET, FareData, SurvivalData, load_fare, load_survival,
    load_titanic,
)

__all__ = ["FEATURES", "SURVIVAL_FEATURES", "SURVIVAL_TARGET", "TARGET", "FareData", "SurvivalData", "load_fare",
           "load_survival", "load_titanic", "minibatches"]
