"""Tests for the grad-mode switches: set_grad_enabled, is_grad_enabled, inference_mode, beside torch's."""
from __future__ import annotations

import pytest

import minigrad
from minigrad import Tensor


def recorded(x: Tensor) -> bool:
    return (x * 2).requires_grad


@pytest.fixture
def x() -> Tensor:
    return Tensor([1.0], requires_grad=True)


def test_set_grad_enabled_as_a_statement_sets_the_mode_at_once(x: Tensor) -> None:
    try:
        minigrad.set_grad_enabled(False)
        assert not minigrad.is_grad_enabled() and not recorded(x)
        minigrad.set_grad_enabled(True)
        assert minigrad.is_grad_enabled() and recorded(x)
    finally:
        minigrad.set_grad_enabled(True)


@pytest.mark.parametrize("mode", [False, True])
def test_set_grad_enabled_as_a_context_restores_the_previous_mode(x: Tensor, mode: bool) -> None:
    with minigrad.no_grad():
        with minigrad.set_grad_enabled(mode):
            assert minigrad.is_grad_enabled() is mode and recorded(x) is mode
        assert not minigrad.is_grad_enabled()
    with minigrad.set_grad_enabled(mode):
        assert recorded(x) is mode
    assert minigrad.is_grad_enabled()


def test_set_grad_enabled_restores_the_mode_when_the_block_raises(x: Tensor) -> None:
    with pytest.raises(KeyError):
        with minigrad.set_grad_enabled(False):
            raise KeyError
    assert minigrad.is_grad_enabled()


def test_set_grad_enabled_as_a_decorator_applies_only_while_the_function_runs(x: Tensor) -> None:
    @minigrad.set_grad_enabled(False)
    def evaluate() -> bool:
        return recorded(x)

    assert minigrad.is_grad_enabled()  # decorating did not switch the mode off
    assert evaluate() is False
    assert minigrad.is_grad_enabled()


def test_set_grad_enabled_refuses_a_non_bool_as_torch_does(torch) -> None:
    for module in (minigrad, torch):
        with pytest.raises(TypeError):
            module.set_grad_enabled(1)
        assert module.is_grad_enabled()
    assert repr(minigrad.set_grad_enabled(True)) == "set_grad_enabled(mode=True)"


def test_inference_mode_is_no_grad_and_false_turns_recording_back_on(x: Tensor, torch) -> None:
    t = torch.ones(1, requires_grad=True)
    with minigrad.inference_mode(), torch.inference_mode():
        assert not recorded(x) and not (t * 2).requires_grad
        assert minigrad.is_grad_enabled() == torch.is_grad_enabled() == False  # noqa: E712
    with minigrad.no_grad(), minigrad.inference_mode(False), torch.no_grad(), torch.inference_mode(False):
        assert recorded(x) and (t * 2).requires_grad
    assert minigrad.is_grad_enabled()


def test_inference_mode_decorates_bare_or_called(x: Tensor) -> None:
    @minigrad.inference_mode
    def bare() -> bool:
        return recorded(x)

    @minigrad.inference_mode()
    def called() -> bool:
        return recorded(x)

    assert bare() is False and called() is False and bare.__name__ == "bare"
    assert minigrad.is_grad_enabled()


def test_the_names_are_exported_from_the_package_and_the_core() -> None:
    from minigrad import core

    for name in ("set_grad_enabled", "is_grad_enabled", "inference_mode"):
        assert getattr(minigrad, name) is getattr(core, name) and name in minigrad.__all__
