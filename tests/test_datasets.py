"""Tests for minigrad.datasets: the titanic3 table, the fare and survival splits and the shared minibatches."""

from __future__ import annotations

import ast
import hashlib
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from minigrad.datasets import (
    FEATURES, SURVIVAL_FEATURES, TARGET, FareData, SurvivalData, load_fare, load_survival, load_titanic, minibatches,
)

COLUMNS = ["pclass", "survived", "name", "sex", "age", "sibsp", "parch", "ticket", "fare", "cabin", "embarked",
           "boat", "body", "home.dest"]
NUMERIC = {"pclass", "survived", "age", "sibsp", "parch", "fare", "body"}
SHA256 = "c617db2c7470716250f6f001be51304c76bcc8815527ab8bae734bdca0735737"


@pytest.fixture(scope="module")
def table() -> dict[str, np.ndarray]:
    return load_titanic()


@pytest.fixture(scope="module")
def fare() -> FareData:
    return load_fare()


def test_packaged_csv_is_the_documented_file() -> None:
    data = resources.files("minigrad.datasets").joinpath("titanic3.csv").read_bytes()
    assert hashlib.sha256(data).hexdigest() == SHA256


def test_table_shape_columns_and_dtypes(table: dict[str, np.ndarray]) -> None:
    assert list(table) == COLUMNS
    for name, column in table.items():
        assert column.shape == (1309,), name
        assert column.dtype == (np.float64 if name in NUMERIC else object), name


def test_missing_values(table: dict[str, np.ndarray]) -> None:
    assert np.isnan(table["age"]).sum() == 263
    assert np.isnan(table["fare"]).sum() == 1
    assert np.isnan(table["body"]).sum() == 1188
    assert not np.isnan(table["pclass"]).any()
    assert not np.isnan(table["survived"]).any()
    cabin = table["cabin"]
    missing = np.array([isinstance(v, float) and np.isnan(v) for v in cabin])
    assert missing.sum() == 1014
    assert all(isinstance(v, str) for v in cabin[~missing])
    assert all(isinstance(v, str) for v in table["name"])
    assert table["name"][np.isnan(table["fare"])].tolist() == ["Storey, Mr. Thomas"]


def test_known_rows(table: dict[str, np.ndarray]) -> None:
    assert table["pclass"][0] == 1
    assert table["survived"][0] == 1
    assert table["name"][0] == "Allen, Miss. Elisabeth Walton"
    assert table["sex"][0] == "female"
    assert table["age"][0] == 29
    assert table["fare"][0] == pytest.approx(211.3375)
    assert table["cabin"][0] == "B5"
    assert table["home.dest"][0] == "St Louis, MO"
    assert np.isnan(table["body"][0])
    assert table["age"][1] == pytest.approx(0.9167)
    assert table["cabin"][1] == "C22 C26"
    assert np.isnan(table["boat"][2])


def test_constants() -> None:
    assert FEATURES == ("pclass", "age", "survived")
    assert TARGET == "fare"


def test_load_fare_shapes_and_dtypes(fare: FareData) -> None:
    assert fare.dropped_rows == 1
    assert fare.dropped_names == ("Storey, Mr. Thomas",)
    assert fare.X_train.shape == (1046, 3) and fare.y_train.shape == (1046, 1)
    assert fare.X_test.shape == (262, 3) and fare.y_test.shape == (262, 1)
    for array in (fare.X_train, fare.y_train, fare.X_test, fare.y_test):
        assert array.dtype == np.float32
    assert fare.raw_X_test.shape == (262, 3) and fare.raw_X_test.dtype == np.float64
    assert fare.raw_y_test.shape == (262, 1) and fare.raw_y_test.dtype == np.float64
    assert fare.names_test.shape == (262,) and fare.names_test.dtype == object
    assert fare.feature_names == FEATURES
    assert fare.x_mean.shape == (3,) and fare.x_std.shape == (3,)
    assert isinstance(fare.y_mean, float) and isinstance(fare.y_std, float)
    assert load_fare(dtype=np.float64).X_train.dtype == np.float64


def test_no_nan_after_imputation(fare: FareData) -> None:
    for array in (fare.X_train, fare.y_train, fare.X_test, fare.y_test, fare.raw_X_test, fare.raw_y_test):
        assert not np.isnan(array).any()


def test_standardised_with_training_statistics_only() -> None:
    data = load_fare(dtype=np.float64)
    np.testing.assert_allclose(data.X_train.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(data.X_train.std(axis=0), 1.0, rtol=1e-12)
    assert data.y_train.mean() == pytest.approx(0.0, abs=1e-12)
    assert data.y_train.std() == pytest.approx(1.0, rel=1e-12)
    assert abs(data.y_test.mean()) > 1e-3  # test statistics are not used, so the test split is not exactly centred
    np.testing.assert_allclose(data.X_test, (data.raw_X_test - data.x_mean) / data.x_std)


def test_split_and_age_median_follow_the_documented_recipe(table: dict[str, np.ndarray]) -> None:
    data = load_fare(seed=3, dtype=np.float64)
    keep = ~np.isnan(table["fare"])
    names, age, fares = table["name"][keep], table["age"][keep], table["fare"][keep]
    order = np.random.default_rng(3).permutation(len(names))
    train, test = order[:1046], order[1046:]
    assert data.names_test.tolist() == names[test].tolist()
    np.testing.assert_array_equal(data.raw_y_test[:, 0], fares[test])
    assert data.age_median == np.nanmedian(age[train])
    assert data.age_median != np.nanmedian(age[test])  # would differ if the test split leaked in
    missing = np.isnan(age[test])
    assert missing.any()
    assert (data.raw_X_test[missing, 1] == data.age_median).all()
    np.testing.assert_array_equal(data.raw_X_test[~missing, 1], age[test][~missing])


def test_determinism_by_seed() -> None:
    a, b, c = load_fare(seed=7), load_fare(seed=7), load_fare(seed=8)
    for name in ("X_train", "y_train", "X_test", "y_test", "raw_X_test", "raw_y_test"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert a.names_test.tolist() == b.names_test.tolist()
    assert not np.array_equal(a.X_train, c.X_train)
    assert a.names_test.tolist() != c.names_test.tolist()


def test_test_fraction_changes_split_size() -> None:
    data = load_fare(test_fraction=0.5)
    assert len(data.X_train) == 654 and len(data.X_test) == 654


def test_to_pounds_round_trip(fare: FareData) -> None:
    np.testing.assert_allclose(fare.to_pounds(fare.y_test), fare.raw_y_test, rtol=1e-5, atol=1e-4)
    exact = load_fare(dtype=np.float64)
    np.testing.assert_allclose(exact.to_pounds(exact.y_test), exact.raw_y_test, rtol=1e-12, atol=1e-12)
    assert exact.to_pounds(np.zeros((1, 1)))[0, 0] == pytest.approx(exact.y_mean)


def test_standardise_features_reproduces_x_test_and_imputes(fare: FareData) -> None:
    np.testing.assert_array_equal(fare.standardise_features(fare.raw_X_test), fare.X_test)
    row = fare.standardise_features(np.array([[1.0, np.nan, 0.0]]))
    expected = (np.array([1.0, fare.age_median, 0.0]) - fare.x_mean) / fare.x_std
    np.testing.assert_allclose(row[0], expected, rtol=1e-6)
    with pytest.raises(ValueError, match=r"shape \(n, 3\)"):
        fare.standardise_features(np.zeros((2, 4)))


@pytest.mark.parametrize("bad", [0.0, 1.0, -0.1, 1.5])
def test_load_fare_rejects_bad_test_fraction(bad: float) -> None:
    with pytest.raises(ValueError, match=rf"test_fraction.*\(0, 1\).*{bad!r}"):
        load_fare(test_fraction=bad)


def test_load_fare_rejects_fraction_leaving_an_empty_split() -> None:
    with pytest.raises(ValueError, match="empty split"):
        load_fare(test_fraction=1e-6)


def test_load_fare_rejects_non_float_dtype() -> None:
    with pytest.raises(ValueError, match="floating dtype"):
        load_fare(dtype=np.int64)


@pytest.mark.parametrize("n, batch_size, sizes", [(10, 3, [3, 3, 3, 1]), (10, 5, [5, 5]), (10, 10, [10]),
                                                  (10, 64, [10]), (1, 1, [1]), (0, 4, [])])
def test_minibatches_cover_every_index_once(n: int, batch_size: int, sizes: list[int]) -> None:
    batches = minibatches(n, batch_size, np.random.default_rng(0))
    assert [len(b) for b in batches] == sizes
    joined = np.concatenate(batches) if batches else np.array([], dtype=int)
    np.testing.assert_array_equal(np.sort(joined), np.arange(n))


def test_minibatches_follow_the_generator_permutation() -> None:
    batches = minibatches(1046, 32, np.random.default_rng(5))
    np.testing.assert_array_equal(np.concatenate(batches), np.random.default_rng(5).permutation(1046))
    single = minibatches(10, 100, np.random.default_rng(1))
    np.testing.assert_array_equal(single[0], np.random.default_rng(1).permutation(10))
    rng = np.random.default_rng(0)
    first, second = minibatches(20, 4, rng), minibatches(20, 4, rng)
    assert not np.array_equal(np.concatenate(first), np.concatenate(second))


@pytest.mark.parametrize("batch_size", [0, -3])
def test_minibatches_rejects_bad_batch_size(batch_size: int) -> None:
    with pytest.raises(ValueError, match=rf"batch_size must be >= 1, got {batch_size}"):
        minibatches(10, batch_size, np.random.default_rng(0))


def test_minibatches_rejects_negative_n() -> None:
    with pytest.raises(ValueError, match="n must be >= 0"):
        minibatches(-1, 4, np.random.default_rng(0))


def test_datasets_package_imports_only_numpy_and_stdlib() -> None:
    package = Path(resources.files("minigrad.datasets"))
    for source in package.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                assert node.level <= 1, f"{source.name} imports from outside minigrad.datasets"
                modules = [node.module or ""]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            else:
                continue
            for module in modules:
                assert not module.startswith("minigrad"), f"{source.name} imports {module}"
                assert not module.startswith(("torch", "pandas")), f"{source.name} imports {module}"


# ---------------------------------------------------------------- the survival split


@pytest.fixture(scope="module")
def survival() -> SurvivalData:
    return load_survival()


def test_survival_split_has_the_fare_splits_passengers(survival: SurvivalData, fare: FareData) -> None:
    assert SURVIVAL_FEATURES == ("pclass", "female", "age", "fare") == survival.feature_names
    assert survival.X_train.shape == (1046, 4) and survival.X_test.shape == (262, 4)
    assert survival.y_train.shape == (1046, 1) and survival.X_train.dtype == survival.y_train.dtype == np.float32
    np.testing.assert_array_equal(survival.names_test, fare.names_test)
    assert survival.dropped_names == fare.dropped_names and survival.age_median == fare.age_median
    np.testing.assert_array_equal(survival.y_test[:, 0], fare.raw_X_test[:, FEATURES.index("survived")])
    np.testing.assert_array_equal(survival.raw_X_test[:, 3], fare.raw_y_test[:, 0])  # the fare, in pounds


def test_survival_features_are_standardised_on_the_train_split(survival: SurvivalData, table) -> None:
    exact = load_survival(dtype=np.float64)
    np.testing.assert_allclose(exact.X_train.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(exact.X_train.std(axis=0), 1, rtol=1e-12)
    assert set(np.unique(exact.y_train)) == {0.0, 1.0} and not np.isnan(exact.X_test).any()
    female = exact.raw_X_test[:, 1]
    assert set(np.unique(female)) == {0.0, 1.0}
    women = np.isin(table["name"], exact.names_test[female == 1]) & (table["sex"] == "female")
    assert women.sum() == female.sum()
    np.testing.assert_array_equal(survival.standardise_features(survival.raw_X_test), survival.X_test)
    with pytest.raises(ValueError, match=r"shape \(n, 4\)"):
        survival.standardise_features(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="test_fraction"):
        load_survival(test_fraction=1.0)
