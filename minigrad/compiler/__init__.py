"""minigrad.compile: trace a whole training step once, then run it as the numpy program a person would write.

The pipeline, one module each:
- `trace.py` runs the step eagerly once, watching `loss.backward()`, `optimizer.step()` and `zero_grad()`,
  and records the forward ops (from each op's `expression`), the backward pass (from each op's
  `formulas`, as the engine runs them) and the optimizer's in-place updates as one joint graph;
- `lower.py` reads an op's numpy text (its `expression`, a formula) as a tree and evaluates it on nodes;
- `ir.py` holds that graph's nodes; the recording is replayed through its simplifying builder, where
  constants fold, common subexpressions are made once, and a few rewrites pick faster numpy for the
  same maths;
- `codegen.py` keeps what the result and the updates need and writes it as straight-line numpy with
  preallocated buffers, in the graph's own names (`Z1`, `H`, `Yhat`, `dL_dW1`);
- `updates.py` writes SGD (with or without momentum) and Adam as minigrad.optim computes them.
"""
from __future__ import annotations

import base64
import builtins
import functools
import inspect
import os
import re
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..core.tensor import Tensor
from .codegen import CodegenError, Program, generate
from .trace import TraceError, Tracer
from .updates import UnsupportedOptimizer, simplify

__all__ = ["CodegenError", "CompiledStep", "TraceError", "UnsupportedOptimizer", "compile"]


class _Compiled:
    """One traced program: its source, the built step, and `accepts`, which says whether a call may use it."""

    def __init__(self, program: Program, step: Callable[..., Any], key: Any, positions: list[int],
                 guards: list[dict[str, Any]], params: list[tuple[Tensor, np.ndarray]]) -> None:
        self.program, self.step, self.positions = program, step, positions
        # NOTE: the check of every call is one generated expression (about 0.5 µs on the fare net, where a
        # loop over the arguments costs 2 µs of a 20 µs step): the same shapes and dtypes, each optimizer
        # group's lr unchanged, each parameter's array still the one the program updates.
        env: dict[str, Any] = {"ndarray": np.ndarray}
        tests, names = [], []
        for i, part in enumerate(key):
            names.append(f"a{i}")
            if part[0] == "array":
                env[f"d{i}"] = part[2]
                tests.append(f"type(a{i}) is ndarray and a{i}.shape == {part[1]!r} and a{i}.dtype == d{i}")
            else:
                tests.append("False")  # tensors and plain values take the slower path through the key
        for k, group in enumerate(guards):
            env[f"g{k}"] = group
            tests.append(f"g{k}['lr'] == {group['lr']!r}")
        for k, (t, array) in enumerate(params):
            env[f"t{k}"], env[f"p{k}"] = t, array
            tests.append(f"t{k}.data is p{k}")
        self.direct = all(part[0] == "array" for part in key)
        self.accepts = eval(f"lambda {', '.join(names) or '*_'}: {' and '.join(tests) or 'True'}", env)  # noqa: S307
        self.valid = eval(f"lambda: {' and '.join(tests[len(key):]) or 'True'}", env)  # noqa: S307


class CompiledStep:
    """A training step that runs as generated numpy code after its first call; see `compile`."""

    def __init__(self, step: Callable[..., Any]) -> None:
        self._step = step
        self._programs: dict[Any, _Compiled] = {}
        self._last: _Compiled | None = None
        self.trace_seconds: float | None = None
        """How long the last tracing call took: the eager step, recording it, and writing and building the program."""
        functools.update_wrapper(self, step)

    def __call__(self, *args: Any) -> Any:
        last = self._last
        if last is not None and last.direct:
            try:
                if last.accepts(*args):
                    return last.step(*args)
            except TypeError:  # another number of arguments
                pass
        key = _signature(args)
        compiled = self._programs.get(key)
        if compiled is None or not compiled.valid():
            return self._trace(key, args)
        self._last = compiled
        return compiled.step(*[_array(args[i]) for i in compiled.positions])

    def _trace(self, key: Any, args: tuple[Any, ...]) -> Any:
        tracer = Tracer(args)
        started = time.perf_counter()
        recording = tracer.run(self._step, args)
        folded = simplify(recording)
        inputs, positions = [], []
        for i, arg in enumerate(recording.arguments):
            if arg.kind == "static":
                continue
            if arg.node is None:
                arg.node = recording.builder.leaf("input", arg.array)
                arg.node.name = f"unused{i + 1}"
            inputs.append(arg.node)
            positions.append(i)
        program = generate(recording.builder.nodes, inputs, recording.output, recording.updates, _title(self._step),
                           folded)
        namespace: dict[str, Any] = {}
        code = builtins.compile(program.source, f"<minigrad.compile of {getattr(self._step, '__name__', 'step')}>", "exec")
        exec(code, namespace)  # noqa: S102
        step = namespace["build"](*[obj for _, obj in program.arguments])
        params = [(b.tensor, b.obj) for b in recording.bindings if b.role == "param"]
        self._programs[key] = self._last = _Compiled(program, step, key, positions, recording.guards, params)
        self.trace_seconds = time.perf_counter() - started
        return _result(recording.result)

    @property
    def source(self) -> str:
        """The generated Python of the last program used (after the first call)."""
        return self._compiled().program.source

    def save(self, path: str | os.PathLike) -> Path:
        """Write the last program as a module that runs with numpy alone: `step(X, Y)` trains its own copy of the
        parameters and optimizer state, taken as they are now; `arrays` holds them by name."""
        compiled = self._compiled()
        source = compiled.program.source.replace("import numpy as np", "import base64\n\nimport numpy as np", 1)
        lines = [source, "", "def _array(data, dtype, shape):",
                 '    """An array saved as the base64 text of its bytes."""',
                 "    return np.frombuffer(base64.b64decode(data), dtype=dtype).reshape(shape).copy()", "", "",
                 "# the parameters and the optimizer's state as they were when this module was saved"]
        for name, obj in compiled.program.arguments:
            if isinstance(obj, np.ndarray):
                data = base64.b64encode(np.ascontiguousarray(obj).tobytes()).decode("ascii")
                lines.append(f"{name} = _array({data!r}, {obj.dtype.str!r}, {obj.shape})")
            else:
                lines.append(f"{name} = {dict(step=obj['step'])!r}")
        names = [name for name, _ in compiled.program.arguments]
        signature = re.search(r"def (step\(.*?\)):", source).group(1)
        lines += ["arrays = {" + ", ".join(f"{n!r}: {n}" for n in names) + "}",
                  f"# {signature} trains these arrays in place and returns what the traced step returned",
                  f"step = build({', '.join(names)})", ""]
        path = Path(path)
        path.write_text("\n".join(lines), encoding="utf-8")
        return path

    def _compiled(self) -> _Compiled:
        if self._last is None:
            raise RuntimeError("the step has not been traced yet: call it once, and its first call writes the program")
        return self._last


def compile(step: Callable[..., Any]) -> CompiledStep:  # noqa: A001  (torch.compile's name)
    """Compile a whole training step into one straight-line numpy program.

    `step(x, y)` is written as for eager minigrad: zero_grad, forward, loss, `loss.backward()`,
    `optimizer.step()` (SGD with or without momentum, or Adam), returning the loss. Its first call runs
    it eagerly while tracing it; later calls with inputs of the same shapes and dtypes run the generated
    program, which updates the same parameter and optimizer arrays in place. Inputs of another shape or
    dtype trace once more (that call runs eagerly too) and keep both programs; so does a change of an
    optimizer's lr. The compiled step returns numpy values where the eager one returns tensors (the loss as
    a numpy scalar), and leaves `.grad` unset. An array the step makes itself with numpy is a constant of
    the program, even one made from an argument's values (make such arrays with tensor ops).

    Args:
        step: the training step; its arguments are numpy arrays or Tensors (the batch), or plain values,
            which the program treats as constants (another value traces again).

    Returns:
        A callable with `.source` (the program, after the first call) and `.save(path)`.

    Raises (on the tracing call):
        TraceError: the step reads a tensor's value (`.item()`, `if` on a tensor) or uses an op the
            compiler cannot write; the message names the line or the op.
        UnsupportedOptimizer: an optimizer or option the compiler does not write.
        Either way the refused call trains nothing: the parameters, the optimizer's state and every
        `.grad` are put back as they were.

    Example:
        >>> fast_step = minigrad.compile(step)
        >>> for X, Y in batches: loss = fast_step(X, Y)
        >>> print(fast_step.source)
    """
    if not callable(step):
        raise TypeError(f"minigrad.compile takes the training step function, got {type(step).__name__}")
    return CompiledStep(step)


def _array(value: Any) -> Any:
    return value.data if type(value) is Tensor else value


def _signature(args: tuple[Any, ...]) -> Any:
    """What a program is specialised on: each array's shape and dtype, each plain value itself."""
    key = []
    for a in args:
        if isinstance(a, np.ndarray):
            key.append(("array", a.shape, a.dtype))
        elif isinstance(a, Tensor):
            key.append(("tensor", a.shape, a.dtype))
        else:
            key.append(("value", a))
    return tuple(key)


def _result(result: Any) -> Any:
    """The eager result as the program returns it: tensors as numpy values (a 0-d one as a numpy scalar)."""
    if isinstance(result, Tensor):
        return result.data[()] if result.data.ndim == 0 else result.data.copy()
    if isinstance(result, (tuple, list)):
        return type(result)(_result(r) for r in result)
    return result


def _title(step: Callable[..., Any]) -> str:
    try:
        where = f"{os.path.basename(inspect.getsourcefile(step) or '?')}:{inspect.getsourcelines(step)[1]}"
    except (OSError, TypeError):
        where = "an unknown file"
    name = getattr(step, "__name__", "step")
    return f"{name} ({where}) compiled by minigrad.compile: forward, backward and update in numpy."
