"""The Titanic passenger table and the two splits the examples train on: fare regression and survival.

Pure numpy + stdlib: this module imports nothing else from minigrad, so the numpy reference network, the minigrad
examples and a PyTorch twin all read exactly the same arrays.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from importlib import resources

import numpy as np
from numpy.typing import DTypeLike

__all__ = ["FEATURES", "SURVIVAL_FEATURES", "SURVIVAL_TARGET", "TARGET", "FareData", "SurvivalData", "load_fare",
           "load_survival", "load_titanic"]

FEATURES = ("pclass", "age", "survived")
TARGET = "fare"
SURVIVAL_FEATURES = ("pclass", "female", "age", "fare")
SURVIVAL_TARGET = "survived"

_CSV_NAME = "titanic3.csv"
_MISSING = "?"
_NUMERIC_COLUMNS = frozenset({"pclass", "survived", "age", "sibsp", "parch", "fare", "body"})


def load_titanic() -> dict[str, np.ndarray]:
    """Read the 1309-row titanic3 table shipped with the package (see README.md beside it for provenance).

    The file is read as package data through importlib.resources, so it also works from an installed wheel.

    Returns:
        A dict mapping each column name, in file order, to an array of length 1309. Numeric columns (pclass,
        survived, age, sibsp, parch, fare, body) are float64 with NaN where the file has ``?``; text columns
        (name, sex, ticket, cabin, embarked, boat, home.dest) are object arrays of str with ``np.nan`` where
        missing, as pandas would load them.
    """
    text = resources.files(__package__).joinpath(_CSV_NAME).read_text(encoding="utf-8")
    header, *rows = csv.reader(io.StringIO(text, newline=""))
    table: dict[str, np.ndarray] = {}
    for j, column in enumerate(header):
        cells = [row[j] for row in rows]
        if column in _NUMERIC_COLUMNS:
            table[column] = np.array([np.nan if c == _MISSING else float(c) for c in cells], dtype=np.float64)
        else:
            values = np.empty(len(cells), dtype=object)
            values[:] = [np.nan if c == _MISSING else c for c in cells]
            table[column] = values
    return table


@dataclass(frozen=True, eq=False)
class FareData:
    """Standardised train/test split for predicting fare (pounds) from (pclass, age, survived).

    ``X_*``/``y_*`` are what a model trains and is scored on (standardised, in the requested dtype); the
    statistics come from the training split only, so nothing about the test passengers leaks into training.
    """

    X_train: np.ndarray  # (n_train, 3) standardised features
    y_train: np.ndarray  # (n_train, 1) standardised fare
    X_test: np.ndarray  # (n_test, 3) standardised features
    y_test: np.ndarray  # (n_test, 1) standardised fare
    raw_X_test: np.ndarray  # (n_test, 3) float64, age imputed, not standardised
    raw_y_test: np.ndarray  # (n_test, 1) float64 fare in pounds
    names_test: np.ndarray  # (n_test,) object array of passenger names
    feature_names: tuple[str, ...]  # FEATURES, the column order of X
    x_mean: np.ndarray  # (3,) float64 training mean of the (imputed) features
    x_std: np.ndarray  # (3,) float64 training population std (ddof=0) of the features
    y_mean: float  # training mean fare in pounds
    y_std: float  # training population std (ddof=0) of fare in pounds
    age_median: float  # training median age, used for every missing age
    dropped_rows: int  # rows removed because their fare is missing
    dropped_names: tuple[str, ...]  # passenger names of those rows

    def to_pounds(self, y_standardised: np.ndarray) -> np.ndarray:
        """Undo the target standardisation, so predictions can be reported in pounds (float64)."""
        return np.asarray(y_standardised, dtype=np.float64) * self.y_std + self.y_mean

    def standardise_features(self, raw_X: np.ndarray) -> np.ndarray:
        """Apply the training transform to raw (pclass, age, survived) rows so a model can score them.

        Missing ages (NaN) are filled with ``age_median`` first, exactly as in the split; the result has the
        dtype of ``X_train``, and ``standardise_features(raw_X_test)`` reproduces ``X_test``.
        """
        return _standardise_rows(self, raw_X)


def load_fare(seed: int = 0, test_fraction: float = 0.2, dtype: DTypeLike = np.float32) -> FareData:
    """Build the fare-regression data: features (pclass, age, survived), target fare, standardised.

    Steps, in this order:

    1. Drop the rows without a fare (exactly one in titanic3); the count and names are kept in the result.
    2. Split with ``np.random.default_rng(seed).permutation(n)``: the first ``round(n * (1 - test_fraction))``
       indices are the training rows, the rest the test rows.
    3. Fill missing ages with the median age of the training split (the test split never informs training).
    4. Standardise features and target with the training mean and population std (ddof=0).

    Args:
        seed: Seed of the split; the same seed always gives identical arrays.
        test_fraction: Share of rows held out for testing, strictly between 0 and 1.
        dtype: Floating dtype of ``X_train``, ``y_train``, ``X_test``, ``y_test``.

    Returns:
        A frozen ``FareData`` holding the split, the raw test rows and the training statistics.

    Raises:
        ValueError: If ``test_fraction`` is not in (0, 1), leaves either split empty, or ``dtype`` is not a
            floating dtype.
    """
    dtype = _check_split_arguments(test_fraction, dtype)
    table = load_titanic()
    has_fare, dropped_names = _rows_with_fare(table)
    X_all = np.stack([table[f][has_fare] for f in FEATURES], axis=1)  # (n, 3) float64, age may be NaN
    y_all = table[TARGET][has_fare].reshape(-1, 1)  # (n, 1) float64, pounds
    names_all = table["name"][has_fare]  # (n,) object
    train, test = _split(len(y_all), seed, test_fraction)

    age_median = float(np.nanmedian(X_all[train, FEATURES.index("age")]))
    X_all = _impute_age(X_all, age_median, FEATURES)

    x_mean = X_all[train].mean(axis=0)  # (3,)
    x_std = X_all[train].std(axis=0)  # (3,) ddof=0
    y_mean = float(y_all[train].mean())
    y_std = float(y_all[train].std())

    return FareData(
        X_train=_standardise(X_all[train], x_mean, x_std).astype(dtype),
        y_train=((y_all[train] - y_mean) / y_std).astype(dtype),
        X_test=_standardise(X_all[test], x_mean, x_std).astype(dtype),
        y_test=((y_all[test] - y_mean) / y_std).astype(dtype),
        raw_X_test=X_all[test],
        raw_y_test=y_all[test],
        names_test=names_all[test],
        feature_names=FEATURES,
        x_mean=x_mean,
        x_std=x_std,
        y_mean=y_mean,
        y_std=y_std,
        age_median=age_median,
        dropped_rows=len(dropped_names),
        dropped_names=dropped_names,
    )


@dataclass(frozen=True, eq=False)
class SurvivalData:
    """Standardised train/test split for predicting survival (0 or 1) from (pclass, female, age, fare).

    The passengers and their split are those of ``load_fare`` with the same seed, so the two examples train and
    test on the same people. ``female`` is 1 for a woman, 0 for a man. The feature statistics come from the
    training split only; the target is left as 0/1.
    """

    X_train: np.ndarray  # (n_train, 4) standardised features
    y_train: np.ndarray  # (n_train, 1) 1 if the passenger survived, else 0
    X_test: np.ndarray  # (n_test, 4) standardised features
    y_test: np.ndarray  # (n_test, 1) 0/1
    raw_X_test: np.ndarray  # (n_test, 4) float64, age imputed, not standardised
    names_test: np.ndarray  # (n_test,) object array of passenger names
    feature_names: tuple[str, ...]  # SURVIVAL_FEATURES, the column order of X
    x_mean: np.ndarray  # (4,) float64 training mean of the (imputed) features
    x_std: np.ndarray  # (4,) float64 training population std (ddof=0) of the features
    age_median: float  # training median age, used for every missing age
    dropped_rows: int  # rows removed because their fare is missing
    dropped_names: tuple[str, ...]  # passenger names of those rows

    def standardise_features(self, raw_X: np.ndarray) -> np.ndarray:
        """Apply the training transform to raw (pclass, female, age, fare) rows so a model can score them.

        Missing ages (NaN) are filled with ``age_median`` first, as in the split; ``standardise_features(raw_X_test)``
        reproduces ``X_test``.
        """
        return _standardise_rows(self, raw_X)


def load_survival(seed: int = 0, test_fraction: float = 0.2, dtype: DTypeLike = np.float32) -> SurvivalData:
    """Build the survival-classification data: features (pclass, female, age, fare), target survived (0/1).

    The same steps as ``load_fare``, on the same rows: drop the passenger without a fare, split with
    ``np.random.default_rng(seed).permutation(n)``, fill missing ages with the training median, and
    standardise every feature with the training mean and population std. The target stays 0/1.

    Args:
        seed: Seed of the split; the same seed gives ``load_fare``'s train and test passengers.
        test_fraction: Share of rows held out for testing, strictly between 0 and 1.
        dtype: Floating dtype of ``X_train``, ``y_train``, ``X_test``, ``y_test``.

    Returns:
        A frozen ``SurvivalData``.

    Raises:
        ValueError: as ``load_fare``.
    """
    dtype = _check_split_arguments(test_fraction, dtype)
    table = load_titanic()
    has_fare, dropped_names = _rows_with_fare(table)
    female = (table["sex"] == "female").astype(np.float64)
    columns = {"pclass": table["pclass"], "female": female, "age": table["age"], "fare": table["fare"]}
    X_all = np.stack([columns[f][has_fare] for f in SURVIVAL_FEATURES], axis=1)  # (n, 4), age may be NaN
    y_all = table[SURVIVAL_TARGET][has_fare].reshape(-1, 1)  # (n, 1) 0/1
    train, test = _split(len(y_all), seed, test_fraction)

    age_median = float(np.nanmedian(X_all[train, SURVIVAL_FEATURES.index("age")]))
    X_all = _impute_age(X_all, age_median, SURVIVAL_FEATURES)
    x_mean, x_std = X_all[train].mean(axis=0), X_all[train].std(axis=0)

    return SurvivalData(
        X_train=_standardise(X_all[train], x_mean, x_std).astype(dtype),
        y_train=y_all[train].astype(dtype),
        X_test=_standardise(X_all[test], x_mean, x_std).astype(dtype),
        y_test=y_all[test].astype(dtype),
        raw_X_test=X_all[test],
        names_test=table["name"][has_fare][test],
        feature_names=SURVIVAL_FEATURES,
        x_mean=x_mean,
        x_std=x_std,
        age_median=age_median,
        dropped_rows=len(dropped_names),
        dropped_names=dropped_names,
    )


def _check_split_arguments(test_fraction: float, dtype: DTypeLike) -> np.dtype:
    """Refuse a test_fraction outside (0, 1) or a non-floating dtype; return the dtype."""
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in the open interval (0, 1), got {test_fraction!r}")
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise ValueError(f"dtype must be a floating dtype such as float32 or float64, got {dtype}")
    return dtype


def _rows_with_fare(table: dict[str, np.ndarray]) -> tuple[np.ndarray, tuple[str, ...]]:
    """The mask of rows that have a fare, and the names of those that do not (one in titanic3)."""
    has_fare = ~np.isnan(table[TARGET])
    return has_fare, tuple(str(name) for name in table["name"][~has_fare])


def _split(n: int, seed: int, test_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Train and test row indices: the first round(n * (1 - test_fraction)) of a seeded permutation train."""
    n_train = round(n * (1.0 - test_fraction))
    if not 0 < n_train < n:
        raise ValueError(
            f"test_fraction={test_fraction!r} leaves an empty split of {n} rows ({n_train} train); "
            "choose a value further from 0 and 1"
        )
    order = np.random.default_rng(seed).permutation(n)
    return order[:n_train], order[n_train:]


def _standardise_rows(data: FareData | SurvivalData, raw_X: np.ndarray) -> np.ndarray:
    """Raw feature rows through a split's training transform: ages imputed, standardised, in X_train's dtype."""
    raw_X = np.asarray(raw_X, dtype=np.float64)
    if raw_X.ndim != 2 or raw_X.shape[1] != len(data.feature_names):
        raise ValueError(f"raw_X must have shape (n, {len(data.feature_names)}), got {raw_X.shape}")
    imputed = _impute_age(raw_X, data.age_median, data.feature_names)
    return _standardise(imputed, data.x_mean, data.x_std).astype(data.X_train.dtype)


def _impute_age(X: np.ndarray, age_median: float, features: tuple[str, ...]) -> np.ndarray:
    """Return a copy of ``X`` (columns named by ``features``) with NaN ages replaced by ``age_median``."""
    X = X.copy()
    age = features.index("age")
    X[np.isnan(X[:, age]), age] = age_median
    return X


def _standardise(X: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """(X - mean) / std, column-wise, in float64."""
    return (X - mean) / std
