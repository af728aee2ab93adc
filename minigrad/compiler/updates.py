"""The optimizers' update rules as the compiler records and writes them: SGD (with or without momentum) and Adam.

While a step is traced, `optimizer.step()` runs as usual; `record_step` then adds one update node per
parameter that had a gradient, reading the group's hyperparameters and the optimizer's state arrays
(momentum buffers, Adam's running averages), which the program then updates in place as the
optimizer itself would on every later step. `write_update` gives the numpy lines each update becomes,
in the order of operations of `minigrad.optim`, so the compiled and the eager step agree to rounding.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from ..optim import SGD, Adam, Optimizer
from .ir import Node, output_nodes, replay

if TYPE_CHECKING:
    from .trace import Recording, Tracer

# options the compiler does not write; a truthy value refuses the step
_UNSUPPORTED = {SGD: ("weight_decay", "dampening", "nesterov", "maximize"),
                Adam: ("weight_decay", "amsgrad", "maximize")}


class UnsupportedOptimizer(TypeError):
    """The step uses an optimizer, or an option of one, whose update the compiler does not write."""


def record_step(tracer: "Tracer", opt: Optimizer) -> None:
    """Record the in-place updates of `opt.step()`, which has just run eagerly, into the tracer's graph."""
    rule = type(opt)
    if rule not in _UNSUPPORTED:
        raise UnsupportedOptimizer(f"minigrad.compile writes the updates of minigrad.optim.SGD and Adam, "
                                   f"not of {rule.__name__}; keep this step uncompiled")
    for group in opt.param_groups:
        for option in _UNSUPPORTED[rule]:
            if group.get(option):
                raise UnsupportedOptimizer(f"minigrad.compile does not write {rule.__name__}'s "
                                           f"{option}={group[option]!r}; leave the option out or keep this step "
                                           "uncompiled")
        tracer.guard(group)
        for p in group["params"]:
            g = tracer.grad_of(p)
            if g is None:
                continue
            w = tracer.version(p)
            state = opt.state[p]
            if rule is Adam:
                m = tracer.state(state["exp_avg"], "m", w)
                v = tracer.state(state["exp_avg_sq"], "v", w)
                node = tracer.b.update("adam", (w, g, m, v), lr=group["lr"], beta1=group["betas"][0],
                                       beta2=group["betas"][1], eps=group["eps"], state=state)
            elif group["momentum"]:
                buf = tracer.state(state["momentum_buffer"], "buf", w)
                node = tracer.b.update("momentum", (w, g, buf), lr=group["lr"], momentum=group["momentum"])
            else:
                node = tracer.b.update("sgd", (w, g), lr=group["lr"])
            tracer.new_version(p, node)


def describe(updates: list[Node]) -> str:
    """The optimizers of a program in words, e.g. 'SGD (lr=0.05)' or 'Adam (lr=0.01, betas=(0.9, 0.999))'."""
    parts: list[str] = []
    for node in updates:
        a = node.attrs
        text = {"sgd": f"SGD (lr={a.get('lr')!r})",
                "momentum": f"SGD (lr={a.get('lr')!r}, momentum={a.get('momentum')!r})",
                "adam": f"Adam (lr={a.get('lr')!r}, betas={(a.get('beta1'), a.get('beta2'))!r}, eps={a.get('eps')!r})"}
        if text[node.op] not in parts:
            parts.append(text[node.op])
    return ", ".join(parts)


def write_update(node: Node, var: Callable[[Node], str], scratch: Callable[[int], str], gradient_free: bool,
                 counter: str | None) -> list[str]:
    """The numpy lines of one update; `var` names nodes, `scratch(k)` a spare buffer of the parameter's
    shape, `gradient_free` says the gradient's buffer may be overwritten, `counter` names Adam's step dict."""
    a = node.attrs
    w, g = var(node.args[0]), var(node.args[1])
    if node.op == "sgd":
        if a.get("folded"):
            return [f"{w} -= {g}"]
        if gradient_free:
            return [f"{g} *= {a['lr']!r}", f"{w} -= {g}"]
        return [f"np.multiply({g}, {a['lr']!r}, out={scratch(0)})", f"{w} -= {scratch(0)}"]
    if node.op == "momentum":
        buf = var(node.args[2])
        step = g if gradient_free else scratch(0)
        return [f"{buf} *= {a['momentum']!r}", f"{buf} += {g}", f"np.multiply({buf}, {a['lr']!r}, out={step})",
                f"{w} -= {step}"]
    m, v = var(node.args[2]), var(node.args[3])
    b1, b2 = a["beta1"], a["beta2"]
    s0, s1 = scratch(0), scratch(1)
    lines = [f"t = {counter}['step'] = {counter}['step'] + 1"]
    if abs(1 - b1) < 0.5:  # optim._lerp's two forms
        lines += [f"np.subtract({g}, {m}, out={s0})", f"{s0} *= {1 - b1!r}", f"{m} += {s0}"]
    else:
        lines += [f"np.subtract({g}, {m}, out={s0})", f"{s0} *= {b1!r}", f"np.subtract({g}, {s0}, out={m})"]
    lines += [
        f"{v} *= {b2!r}",
        f"np.multiply({g}, {1 - b2!r}, out={s0})",
        f"{s0} *= {g}",
        f"{v} += {s0}",
        f"np.sqrt({v}, out={s0})",
        f"{s0} /= math.sqrt(1 - {b2!r}**t)",
        f"{s0} += {a['eps']!r}",
        f"np.multiply({m}, {a['lr']!r} / (1 - {b1!r}**t), out={s1})",
        f"{s1} /= {s0}",
        f"{w} -= {s1}",
    ]
    return lines


def simplify(recording: "Recording") -> bool:
    """Replay the recorded graph through the simplifying builder (folding, CSE, rewrites); for plain SGD with
    one lr, seed the backward pass with lr instead of 1 on the way, so every gradient comes out as
    lr · gradient and each update is one subtraction (`W1 -= dL_dW1`). True if the lr was folded.

    The lr is folded only when nothing but the updates reads a gradient: the result must not read the seed.
    """
    updates = recording.updates
    lrs = {u.attrs["lr"] for u in updates}
    fold = (len(recording.seeds) == 1 and bool(updates) and all(u.op == "sgd" for u in updates) and len(lrs) == 1
            and bool(next(iter(lrs))) and not _reads(recording.output, recording.seeds[0]))
    substitute = {}
    if fold:
        seed = recording.seeds[0]
        substitute[seed.index] = np.asarray(next(iter(lrs)), dtype=seed.value.dtype)
    builder, new = replay(recording.builder.nodes, substitute)
    recording.builder = builder
    recording.updates = [new[u.index] for u in updates]
    for u in recording.updates:
        u.attrs["folded"] = fold
    recording.seeds = [new[s.index] for s in recording.seeds]
    recording.output = _remap(recording.output, new)
    for arg in recording.arguments:
        if arg.node is not None:
            arg.node = new[arg.node.index]
    for binding in recording.bindings:
        binding.node = new[binding.node.index]
    return fold


def _reads(output: Any, seed: Node) -> bool:
    """Whether the nodes of `output` read `seed`, other than through an update (a parameter's new value)."""
    stack = output_nodes(output)
    seen: set[int] = set()
    while stack:
        n = stack.pop()
        if n is seed:
            return True
        if n.index in seen or n.kind == "update":
            continue
        seen.add(n.index)
        stack.extend(n.args)
    return False


def _remap(output: Any, new: dict[int, Node]) -> Any:
    if isinstance(output, Node):
        return new[output.index]
    if isinstance(output, (tuple, list)):
        return type(output)(_remap(o, new) for o in output)
    return output
