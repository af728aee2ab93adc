"""Shared test setup: the hypothesis profile, seeded random inputs, and the two gradient oracles.

Every gradient test runs in float64 against one of two oracles, chosen by the `check` fixture:
minigrad's own `gradcheck` (central differences) and PyTorch (skipped when torch is missing).
"""
from __future__ import annotations

import gc
import os
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from minigrad import Tensor, gradcheck
from minigrad.core import ops
from minigrad.core.tensor import _binary, _unary

settings.register_profile("minigrad", max_examples=25, deadline=None)
settings.register_profile("thorough", max_examples=500, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "minigrad"))

SEED = 20240601
# PyTorch oracle: float64 results agree to ~1e-16 relative; 1e-12 leaves room for a different
# summation order in BLAS and for libm exp/log/tanh differing by an ulp. atol only matters for
# entries that cancel to ~0, where relative error is meaningless.
ORACLE = {"rtol": 1e-12, "atol": 1e-13}

# Input domains: (low, high) of |value|, and whether the sign is random. "pos" keeps log, x**0.5
# and x**-1.5 defined; "nonzero" keeps denominators and ReLU's kink away from finite differences.
DOMAINS = {"any": (-2.0, 2.0, False), "pos": (0.2, 2.0, False), "nonzero": (0.2, 2.0, True)}


def sample(rng: np.random.Generator, shape: tuple[int, ...], domain: str = "any") -> np.ndarray:
    """A float64 array of `shape` drawn uniformly from `domain`."""
    low, high, signed = DOMAINS[domain]
    values = rng.uniform(low, high, shape)
    return values * rng.choice([-1.0, 1.0], shape) if signed else values


def values(shape: tuple[int, ...], domain: str = "any") -> st.SearchStrategy[np.ndarray]:
    """Hypothesis strategy for float64 arrays of `shape` in `domain`."""
    low, high, signed = DOMAINS[domain]
    elements = st.floats(low, high, allow_subnormal=False)
    if signed:
        elements = elements | st.floats(-high, -low, allow_subnormal=False)
    return hnp.arrays(np.float64, shape, elements=elements)


@pytest.fixture
def rng() -> np.random.Generator:
    """A numpy Generator with the same seed in every test, so every failure reproduces."""
    return np.random.default_rng(SEED)


@pytest.fixture
def random_array(rng: np.random.Generator) -> Callable[..., np.ndarray]:
    """Factory: random_array((3, 4), domain="any") -> a seeded random float64 ndarray."""
    return lambda shape, domain="any": sample(rng, shape, domain)


@pytest.fixture
def rand(random_array: Callable[..., np.ndarray]) -> Callable[..., Tensor]:
    """Factory: rand(3, 4, domain="any", requires_grad=True) -> a seeded random float64 Tensor."""

    def make(*shape: int, domain: str = "any", requires_grad: bool = True) -> Tensor:
        return Tensor(random_array(shape, domain), requires_grad=requires_grad)

    return make


@pytest.fixture(scope="session")
def draw_values() -> Callable[..., st.SearchStrategy[np.ndarray]]:
    """The `values` strategy, for hypothesis tests (a session fixture passes hypothesis's checks)."""
    return values


@pytest.fixture(scope="session")
def torch() -> Any:
    """PyTorch, the optional oracle: tests that use it are skipped, not passed, without it."""
    return pytest.importorskip("torch")


def check_gradcheck(fn: Callable[..., Tensor], arrays: list[np.ndarray], torch_fn: Any = None) -> None:
    """Every input's gradient of fn matches central differences (float64)."""
    assert gradcheck(fn, [Tensor(a, requires_grad=True) for a in arrays])


def check_torch(torch: Any) -> Callable[..., None]:
    """Build the PyTorch oracle: forward and every input's gradient match torch to ORACLE."""

    def check(fn: Callable[..., Tensor], arrays: list[np.ndarray], torch_fn: Callable | None = None) -> None:
        xs = [Tensor(a, requires_grad=True) for a in arrays]
        out = fn(*xs)
        grad_out = np.random.default_rng(SEED).uniform(-1.0, 1.0, out.shape)
        out.backward(grad_out)
        ts = [torch.tensor(a, requires_grad=True) for a in arrays]
        expected = (torch_fn or fn)(*ts)
        expected.backward(torch.tensor(grad_out))
        assert out.dtype == np.float64 and expected.dtype == torch.float64
        assert out.shape == tuple(expected.shape)
        np.testing.assert_allclose(out.data, expected.detach().numpy(), **ORACLE)
        for i, (x, t) in enumerate(zip(xs, ts)):
            want = np.zeros_like(x.data) if t.grad is None else t.grad.numpy()
            assert x.grad is not None and x.grad.shape == x.shape, f"input {i}"
            np.testing.assert_allclose(x.grad, want, **ORACLE, err_msg=f"gradient of input {i}")

    return check


@pytest.fixture(scope="module", params=["gradcheck", "torch"])
def check(request: pytest.FixtureRequest) -> Callable[..., None]:
    """Oracle for a gradient test: check(fn, arrays, torch_fn=None) asserts fn's gradients.

    `fn` maps minigrad Tensors to a Tensor; `torch_fn` does the same in torch where the spelling
    differs (permute for transpose, dim= for axis=); `arrays` are float64 input values.
    """
    if request.param == "torch":
        return check_torch(request.getfixturevalue("torch"))
    return check_gradcheck


def attached_ops(*tensors: Tensor) -> list[Tensor]:
    """Every live op node (a tensor made by a recorded op) that has one of `tensors` as an input."""
    return [
        o
        for o in gc.get_objects()
        if type(o) is Tensor and getattr(o, "_op", None) is not None and any(p is t for p in (o._x, o._y) for t in tensors)
    ]


class Snapshot:
    """What an error must leave alone: each tensor's data, grad, flags and graph links.

    Also no op may have been attached to any of the tensors since the snapshot.
    """

    def __init__(self, *tensors: Tensor):
        self.tensors = tensors
        self.before = [self._state(t) for t in tensors]
        self.ops = attached_ops(*tensors)

    @staticmethod
    def _state(t: Tensor) -> dict[str, Any]:
        return {
            "data": t.data,
            "values": t.data.copy(),
            "grad": t.grad,
            "grad_values": None if t.grad is None else t.grad.numpy().copy(),
            "requires_grad": t.requires_grad,
            "op": t._op,
            "parents": () if t._op is None else (t._x, t._y),
            "saved": None if t._op is None else t._saved,
        }

    def assert_unchanged(self) -> None:
        for i, (t, old) in enumerate(zip(self.tensors, self.before)):
            new = self._state(t)
            for key in ("data", "grad", "op", "saved"):
                assert new[key] is old[key], f"tensor {i}: {key} was replaced"
            assert len(new["parents"]) == len(old["parents"]), f"tensor {i}: inputs changed"
            assert all(a is b for a, b in zip(new["parents"], old["parents"])), f"tensor {i}: inputs changed"
            assert new["requires_grad"] == old["requires_grad"], f"tensor {i}: requires_grad changed"
            np.testing.assert_array_equal(new["values"], old["values"], err_msg=f"tensor {i}: data changed")
            if old["grad_values"] is not None:
                np.testing.assert_array_equal(t.grad, old["grad_values"], err_msg=f"tensor {i}: grad changed")
        new_ops = [o for o in attached_ops(*self.tensors) if not any(o is p for p in self.ops)]
        assert not new_ops, f"ops were attached to the graph: {[o.op for o in new_ops]}"


@pytest.fixture(scope="session")
def snapshot() -> type[Snapshot]:
    """Snapshot(*tensors).assert_unchanged(): for errors that must change nothing."""
    return Snapshot


@pytest.fixture(scope="session")
def apply_op() -> Callable[..., Tensor]:
    """apply_op(OpClass, *tensors): record any op, e.g. a deliberately broken one, as the operators do."""

    def apply(op_cls: type[ops.Op], *inputs: Tensor) -> Tensor:
        if len(inputs) == 2:
            return _binary(op_cls, *inputs)
        return _unary(op_cls, *inputs)

    return apply
