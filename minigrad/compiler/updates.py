"""The optimizers' update rules as the compiler records and writes them: SGD (with or without momentum) and Adam.

While a step is traced, `optimizer.step()` still runs as usual; `record_step` then adds one update node
per parameter that had a gradient, reading the optimizer's hyperparameters and its state arrays (the
momentum buffers, Adam's running averages and step counts), which the program then updates in place
as the optimizer itself would. `write_update` gives the lines of numpy each update becomes, in the
order of operations of `minigrad.optim`, so the compiled step and the eager one agree to the last bit
of each update.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from ..optim import SGD, Adam, Optimizer
from .ir import Node

if TYPE_CHECKING:
    from .trace import Tracer

Namer = Callable[[Any], str]

# options of torch.optim that this compiler does not write; a truthy value means the step is refused
_UNSUPPORTED = {
    SGD: ("weight_decay", "dampening", "nesterov", "maximize"),
    Adam: ("weight_decay", "amsgrad", "maximize", "foreach", "capturable", "differentiable", "fused"),
}


class UnsupportedOptimizer(TypeError):
    """The step uses an optimizer, or an option of one, whose update the compiler does not write."""


def record_step(tracer: "Tracer", opt: Optimizer) -> None:
    """Record the in-place updates of `opt.step()`, which has just run eagerly, into the tracer's graph."""
    rule = type(opt)
    if rule not in _UNSUPPORTED or type(opt).step is not rule.step:
        raise UnsupportedOptimizer(
            f"minigrad.compile writes the updates of minigrad.optim.SGD and Adam, not of {type(opt).__name__}; "
            "keep this step uncompiled"
        )
    for option in _UNSUPPORTED[rule]:
        if getattr(opt, option, None):
            raise UnsupportedOptimizer(
                f"minigrad.compile does not write {rule.__name__}'s {option}={getattr(opt, option)!r} yet; "
                "keep this step uncompiled or leave the option out"
            )
    if getattr(opt, "param_groups", None) is not None and len(opt.param_groups) > 1:
        raise UnsupportedOptimizer("minigrad.compile writes one parameter group per optimizer, this one has "
                                   f"{len(opt.param_groups)}")
    if rule is SGD:
        _record_sgd(tracer, opt)
    else:
        _record_adam(tracer, opt)


def _record_sgd(tracer: "Tracer", opt: SGD) -> None:
    lr, momentum = opt.lr, opt.momentum
    tracer.guard(lambda n: f"{n(opt)}.lr == {lr!r} and {n(opt)}.momentum == {momentum!r}")
    for i, p in enumerate(opt.params):
        g = tracer.grad_of(p)
        if g is None:
            continue
        w = tracer.version(p)
        if momentum:
            buffer = opt.buffers[i]
            buf = tracer.state(buffer, "momentum", w, lambda n, i=i, a=buffer: f"{n(opt)}.buffers[{i}] is {n(a)}")
            node = tracer.b.update("momentum", (w, g, buf), lr=lr, momentum=momentum)
        else:
            node = tracer.b.update("sgd", (w, g), lr=lr, folded=False)
        tracer.new_version(p, node)


def _record_adam(tracer: "Tracer", opt: Adam) -> None:
    lr, (beta1, beta2), eps = opt.lr, opt.betas, opt.eps
    tracer.guard(lambda n: f"{n(opt)}.lr == {lr!r} and {n(opt)}.betas == {(beta1, beta2)!r} and {n(opt)}.eps == {eps!r}")
    steps = opt.steps
    counter = tracer.counter(steps, lambda n: f"{n(opt)}.steps is {n(steps)}")
    updated = [(i, p, tracer.grad_of(p)) for i, p in enumerate(opt.params)]
    updated = [(i, p, g) for i, p, g in updated if g is not None]
    clocks: dict[int, Node] = {}
    for count in sorted({steps[i] for i, _, _ in updated}):
        indices = tuple(i for i, _, _ in updated if steps[i] == count)
        clocks[count] = tracer.b.update("adam_clock", (counter,), indices=indices, lr=lr, beta1=beta1, beta2=beta2)
    for i, p, g in updated:
        w = tracer.version(p)
        m = tracer.state(opt.exp_avg[i], "m", w, lambda n, i=i, a=opt.exp_avg[i]: f"{n(opt)}.exp_avg[{i}] is {n(a)}")
        v = tracer.state(opt.exp_avg_sq[i], "v", w,
                         lambda n, i=i, a=opt.exp_avg_sq[i]: f"{n(opt)}.exp_avg_sq[{i}] is {n(a)}")
        node = tracer.b.update("adam", (w, g, m, v, clocks[steps[i]]), beta1=beta1, beta2=beta2, eps=eps)
        tracer.new_version(p, node)


def describe(updates: list[Node]) -> str:
    """The optimizers of a program in words, e.g. 'SGD (lr=0.05)' or 'Adam (lr=0.01, betas=(0.9, 0.999))'."""
    parts = []
    for node in updates:
        a = node.attrs
        if node.op == "sgd":
            text = f"SGD (lr={a['lr']!r})"
        elif node.op == "momentum":
            text = f"SGD (lr={a['lr']!r}, momentum={a['momentum']!r})"
        elif node.op == "adam_clock":
            text = f"Adam (lr={a['lr']!r}, betas={(a['beta1'], a['beta2'])!r})"
        else:
            continue
        if text not in parts:
            parts.append(text)
    return ", ".join(parts)


def write_update(node: Node, var: Callable[[Node], str], clock: Callable[[Node], tuple[str, str, str]]) -> list[str]:
    """The lines of numpy for one update node; `var` names nodes, `clock` the (t, step_size, bc2) of an Adam clock."""
    a = node.attrs
    if node.op == "sgd":
        w, g = (var(x) for x in node.args)
        return [f"{w} -= {g}"] if a["folded"] else [f"{w} -= {a['lr']!r} * {g}"]
    if node.op == "momentum":
        w, g, buf = (var(x) for x in node.args)
        return [f"{buf} *= {a['momentum']!r}", f"{buf} += {g}", f"{w} -= {a['lr']!r} * {buf}"]
    if node.op == "adam_clock":
        t, step_size, bc2 = clock(node)
        steps = var(node.args[0])
        first = a["indices"][0]
        targets = " = ".join(f"{steps}[{i}]" for i in a["indices"])
        return [
            f"{t} = {steps}[{first}] + 1",
            f"{targets} = {t}",
            f"{step_size} = {a['lr']!r} / (1 - {a['beta1']!r}**{t})",
            f"{bc2} = math.sqrt(1 - {a['beta2']!r}**{t})",
        ]
    w, g, m, v = (var(x) for x in node.args[:4])
    _, step_size, bc2 = clock(node.args[4])
    b1, b2 = repr(a["beta1"]), repr(a["beta2"])
    return [
        f"{m} *= {b1}",
        f"{m} += (1 - {b1}) * {g}",
        f"{v} *= {b2}",
        f"{v} += (1 - {b2}) * ({g} * {g})",
        f"{w} -= {step_size} * {m} / (np.sqrt({v}) / {bc2} + {a['eps']!r})",
    ]
