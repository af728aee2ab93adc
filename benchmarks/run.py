"""Benchmark minigrad against hand-written numpy and PyTorch eager, then check the speed targets.

minigrad's targets are judged against numpy-hand, the recorded graph's math written plainly by hand
with no graph. numpy-fused, a tighter hand version with in-place ops and a fused loss, gets an extra
ratio column for information; it is the bar for `compiled`, minigrad's step run through
minigrad.compile, whose first (tracing) call is timed on its own: compiled's timing blocks start after
one untimed call per batch, so that every batch shape has been traced.

Run from the repository root, with the two OpenBLAS tuning variables of this machine unset:

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/run.py [--quick]

It first checks that the implementations agree (same losses from the same weights and batches),
then times the workloads W1-W4 and HVP (a Hessian-vector product of the wide MLP's loss by double
backward, minigrad against torch) interleaved in one process: every round runs each implementation's
block in turn, each block times many steps, and the table reports the median over the rounds.
Objects alive before timing (the imports) are frozen out of the cyclic GC's scans, and W4 is timed
once more without that for information. W4's memory is traced with tracemalloc; W5 runs in fresh
subprocesses (benchmarks/rss.py). The table goes to stdout and to benchmarks/results.md.
`--profile W2` instead runs cProfile on minigrad's W2 step and prints where the time goes;
`--torch-threads N` overrides PyTorch's thread count, which by default equals numpy's BLAS threads.
"""
from __future__ import annotations

import argparse
import cProfile
import datetime
import gc
import json
import os
import platform
import pstats
import subprocess
import sys
import time
import tracemalloc
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

import minigrad
import workloads
from workloads import Runner

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results.md"
OPENBLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
CHAIN_SIZES = (10_000, 100_000)
GATE_STEPS = 5
RTOL = 1e-4
LINEAR_LIMIT = 1.25
BUSY_LIMIT = 0.25
TRACE_LIMIT = 0.05
PROFILE_CHOICES = ["W1", "W2", "W2-epoch", "W3"] + [f"W4-{n}" for n in CHAIN_SIZES] + ["HVP"]


@dataclass(frozen=True)
class Settings:
    """How long to measure: rounds per workload and the wall time one timing block aims for."""

    name: str
    rounds: int
    block_seconds: float


FULL = Settings("full", rounds=15, block_seconds=0.1)
QUICK = Settings("quick", rounds=3, block_seconds=0.05)


@dataclass
class Case:
    """One timed row: per implementation, a factory that builds fresh state and returns a runner.

    A runner's call does one unit of work; `per` divides its time (W4 reports time per op).
    """

    key: str
    label: str
    unit: str
    factories: dict[str, Callable[[], Runner]]
    per: int = 1
    times: dict[str, list[float]] = field(default_factory=dict)
    other_load: float | None = None

    def median(self, impl: str) -> float | None:
        """Median time per unit over the rounds, or None if `impl` was not timed."""
        runs = self.times.get(impl)
        return float(np.median(runs)) if runs else None

    def ratios(self, impl: str, ref: str) -> np.ndarray | None:
        """time(impl) / time(ref) in each round (paired, so slow spells of the machine cancel)."""
        a, b = self.times.get(impl), self.times.get(ref)
        if not a or not b:
            return None
        return np.array(a) / np.array(b)

    def ratio(self, impl: str, ref: str) -> float | None:
        """Median over the rounds of the per-round ratio time(impl) / time(ref)."""
        paired = self.ratios(impl, ref)
        return None if paired is None else float(np.median(paired))


# ---------------------------------------------------------------- environment


def machine_info(torch_ok: bool) -> list[tuple[str, str]]:
    """What this run ran on: CPU, cores, versions, numpy's BLAS, torch threads, OpenBLAS variables."""
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), cpu)
    except OSError:
        pass
    cores = f"{os.cpu_count()}"
    if hasattr(os, "sched_getaffinity"):
        cores += f" ({len(os.sched_getaffinity(0))} usable)"
    blas = workloads.numpy_blas()
    if blas is None:
        blas_text = f"threadpoolctl not installed; assuming {workloads.numpy_threads()} threads"
    else:
        blas_text = (
            f"{blas.get('internal_api')} {blas.get('version')}, architecture {blas.get('architecture')}, "
            f"{blas.get('num_threads')} threads"
        )
    torch_text = "not installed"
    if torch_ok:
        import torch

        torch_text = f"{torch.__version__}, {torch.get_num_threads()} intra-op threads"
    info = [
        ("date (UTC)", datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")),
        ("CPU", cpu),
        ("cores", cores),
        ("OS", f"{platform.system()} {platform.release()}"),
        ("Python", platform.python_version()),
        ("numpy", np.__version__),
        ("numpy BLAS", blas_text),
        ("torch", torch_text),
        ("minigrad", f"{minigrad.__version__}, {git_revision()}"),
    ]
    for var in OPENBLAS_VARS:
        value = os.environ.get(var)
        info.append((var, "unset" if value is None else f"set to {value!r}"))
    return info


def git_revision() -> str:
    """The repository's commit, marked when minigrad/ has uncommitted changes."""
    root = HERE.parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "minigrad"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "commit unknown"
    return f"commit {commit}" + (" + uncommitted changes in minigrad/" if dirty else "")


CpuSample = tuple[float, float, float]


def cpu_sample() -> CpuSample | None:
    """(busy CPU seconds of the whole machine, CPU seconds of this process and its children, wall time)."""
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = [int(v) for v in stat.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    busy = (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")
    return busy, sum(os.times()[:4]), time.monotonic()


def other_load(before: CpuSample | None, after: CpuSample | None) -> float | None:
    """Average number of cores that other processes kept busy between two samples."""
    if before is None or after is None or after[2] <= before[2]:
        return None
    others = (after[0] - before[0]) - (after[1] - before[1])
    return max(0.0, others) / (after[2] - before[2])


# ---------------------------------------------------------------- correctness gate


def _float32(value: object) -> bool:
    """True when a numpy or torch value has dtype float32."""
    return str(getattr(value, "dtype", "")).removeprefix("torch.") == "float32"


def _agree(label: str, results: dict[str, np.ndarray]) -> list[str]:
    """Compare every implementation's values with numpy-hand's; one message per disagreement."""
    errors = []
    ref = results.get("numpy-hand")
    if ref is None:
        return errors
    for impl, values in results.items():
        if not np.allclose(values, ref, rtol=RTOL, atol=1e-6):
            errors.append(f"{label}: {impl} gives {values.tolist()}, numpy-hand gives {ref.tolist()}")
    return errors


def correctness_gate(impls: list[str], titanic: workloads.Problem, wide: workloads.Problem) -> list[str]:
    """Run a few steps of each implementation from the same weights on the same batches.

    Returns the disagreements (losses beyond rtol 1e-4, or anything not float32); empty means pass.
    """
    errors = []
    mini = workloads.titanic_batches(titanic)[:GATE_STEPS]
    checks = [
        ("W1 titanic-full losses", titanic, [(titanic.x, titanic.y)] * GATE_STEPS),
        ("W2 titanic-mini losses", titanic, mini),
        ("W3 mlp-wide losses", wide, [(wide.x, wide.y)] * GATE_STEPS),
    ]
    for label, problem, batches in checks:
        losses = {}
        for impl in impls:
            try:
                step = workloads.MLP_BUILDERS[impl](problem.weights, problem.lr)
                values = [step(x, y) for x, y in batches]
            except Exception as err:  # a crash is reported like a wrong answer
                errors.append(f"{label}: {impl} raised {type(err).__name__}: {err}")
                continue
            if not all(_float32(v) for v in values):
                errors.append(f"{label}: {impl} returned a loss that is not float32: {values[-1].dtype}")
            losses[impl] = np.array([v.item() for v in values])
        errors += _agree(label, losses)
    grads = {}
    for impl in chain_impls(impls):
        try:
            grad = workloads.CHAIN_BUILDERS[impl](1000)()
        except Exception as err:  # likewise
            errors.append(f"W4 deep-chain: {impl} raised {type(err).__name__}: {err}")
            continue
        if not _float32(grad):
            errors.append(f"W4 deep-chain: {impl}'s x.grad is {grad.dtype}, not float32")
        grads[impl] = np.asarray(grad, dtype=np.float64)
    errors += _agree("W4 deep-chain x.grad after 1,000 ops", grads)
    return errors + hvp_gate(impls, wide)


def hvp_gate(impls: list[str], wide: workloads.Problem) -> list[str]:
    """minigrad's H·v on the wide MLP against torch's, every parameter's block (rtol 1e-4), and float32."""
    products = {}
    for impl in hvp_impls(impls):
        try:
            products[impl] = workloads.HVP_BUILDERS[impl](wide)()
        except Exception as err:  # likewise
            return [f"HVP mlp-wide: {impl} raised {type(err).__name__}: {err}"]
        if not all(_float32(block) for block in products[impl]):
            return [f"HVP mlp-wide: {impl} returned a block that is not float32"]
    if len(products) < 2:
        return []
    errors = []
    for k, (mine, ref) in enumerate(zip(products["minigrad"], products["torch"])):
        scale = float(np.abs(ref).max())
        if mine.shape != ref.shape or not np.allclose(mine, ref, rtol=RTOL, atol=1e-5 * scale):
            errors.append(f"HVP mlp-wide: block {k} of minigrad's H·v differs from torch's by "
                          f"{float(np.abs(mine - ref).max()):.3g} (largest entry {scale:.3g})")
    return errors


# ---------------------------------------------------------------- timing


def chain_impls(impls: list[str]) -> list[str]:
    """The implementations in `impls` that have a W4 chain (numpy-fused has none)."""
    return [impl for impl in impls if impl in workloads.CHAIN_BUILDERS]


def hvp_impls(impls: list[str]) -> list[str]:
    """The implementations in `impls` that have an HVP (minigrad and torch: autograd engines)."""
    return [impl for impl in impls if impl in workloads.HVP_BUILDERS]


def build_cases(impls: list[str], titanic: workloads.Problem, wide: workloads.Problem) -> list[Case]:
    """The timed rows W1-W4, each with one factory per implementation."""
    mini = workloads.titanic_batches(titanic)

    def warmed(run: Runner, impl: str, calls: int) -> Runner:
        """compiled's runner after `calls` untimed calls: one per batch, so every batch shape is traced."""
        if impl == "compiled":
            for _ in range(calls):
                run()
        return run

    def mlp(problem: workloads.Problem, impl: str, batches: list) -> Callable[[], Runner]:
        return lambda: warmed(
            workloads.step_runner(workloads.MLP_BUILDERS[impl](problem.weights, problem.lr), batches), impl,
            len(batches))

    def epoch(impl: str) -> Callable[[], Runner]:
        return lambda: warmed(workloads.epoch_runner(
            workloads.MLP_BUILDERS[impl](titanic.weights, titanic.lr), titanic.x, titanic.y
        ), impl, 1)

    def chain(impl: str, n: int) -> Callable[[], Runner]:
        return lambda: workloads.CHAIN_BUILDERS[impl](n)

    full = [(titanic.x, titanic.y)]
    cases = [
        Case("W1", "W1 titanic-full", "step", {i: mlp(titanic, i, full) for i in impls}),
        Case("W2", "W2 titanic-mini", "step", {i: mlp(titanic, i, mini) for i in impls}),
        Case("W2-epoch", "W2 titanic-mini", f"epoch ({len(mini)} steps)", {i: epoch(i) for i in impls}),
        Case("W3", "W3 mlp-wide", "step", {i: mlp(wide, i, [(wide.x, wide.y)]) for i in impls}),
    ]
    for n in CHAIN_SIZES:
        factories = {i: chain(i, n) for i in chain_impls(impls)}
        cases.append(Case(f"W4-{n}", f"W4 deep-chain {n:,}", "op", factories, per=n))
    hvp = {i: (lambda i=i: workloads.HVP_BUILDERS[i](wide)) for i in hvp_impls(impls)}
    cases.append(Case("HVP", "HVP mlp-wide", "H·v", hvp))
    return cases


def calibrate(factory: Callable[[], Runner], seconds: float) -> int:
    """Warm up a fresh runner and return how many calls fill about `seconds`."""
    run = factory()
    run()
    calls, start = 0, time.perf_counter()
    while True:
        run()
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds / 4:
            break
    return max(1, round(seconds * calls / elapsed))


def time_block(factory: Callable[[], Runner], calls: int) -> float:
    """Seconds per call of a fresh runner over `calls` calls, after a short warm-up for fast runners."""
    run = factory()
    if calls > 3:
        for _ in range(3):
            run()
    start = time.perf_counter()
    for _ in range(calls):
        run()
    return (time.perf_counter() - start) / calls


def run_timings(cases: list[Case], settings: Settings) -> None:
    """Fill each case's `times`: per round, every implementation's block in turn (order rotated)."""
    for case in cases:
        impls = list(case.factories)
        calls = {impl: calibrate(case.factories[impl], settings.block_seconds) for impl in impls}
        for impl in impls:
            case.times[impl] = []
        before = cpu_sample()
        for r in range(settings.rounds):
            for impl in impls[r % len(impls):] + impls[: r % len(impls)]:
                case.times[impl].append(time_block(case.factories[impl], calls[impl]) / case.per)
                gc.collect()
        case.other_load = other_load(before, cpu_sample())
        summary = ", ".join(f"{impl} {fmt_time(case.median(impl))}" for impl in impls)
        load = "n/a" if case.other_load is None else f"{case.other_load:.2f}"
        print(f"  {case.label} per {case.unit}: {summary} (other load {load} cores)", file=sys.stderr, flush=True)


def unfrozen_chain(cases: list[Case], settings: Settings) -> dict[str, float]:
    """Seconds per op of the longest W4 chain with the pre-timing objects back in the GC's scans.

    For information: it shows what the freeze in `main` keeps out of the W4 figures.
    """
    gc.unfreeze()
    case = next((c for c in cases if c.key == f"W4-{CHAIN_SIZES[-1]}"), None)
    if case is None:
        return {}
    factories = {impl: f for impl, f in case.factories.items() if impl != "torch"}
    times: dict[str, list[float]] = {impl: [] for impl in factories}
    for _ in range(max(3, settings.rounds // 3)):
        for impl, factory in factories.items():
            times[impl].append(time_block(factory, 1) / case.per)
            gc.collect()
    return {impl: float(np.median(t)) for impl, t in times.items()}


# ---------------------------------------------------------------- memory


def chain_memory(impls: list[str]) -> dict[int, dict[str, int]]:
    """Peak memory traced by tracemalloc over one W4 chain (forward + backward), per size and impl.

    PyTorch allocates outside Python's allocator, so tracemalloc cannot see it; only minigrad and
    numpy-hand are traced.
    """
    peaks: dict[int, dict[str, int]] = {}
    for n in CHAIN_SIZES:
        peaks[n] = {}
        for impl in chain_impls(impls):
            if impl == "torch":
                continue
            run = workloads.CHAIN_BUILDERS[impl](n)
            gc.collect()
            tracemalloc.start()
            run()
            peaks[n][impl] = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
    return peaks


def child_readings(script: str, impls: list[str]) -> dict[str, dict]:
    """W5 (rss.py) and W6 (heap.py): run the script in a fresh interpreter per implementation, collect its JSON."""
    readings = {}
    for impl in impls:
        done = subprocess.run([sys.executable, str(HERE / script), impl], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            sys.exit(f"{script} subprocess for {impl} failed:\n{done.stderr}")
        readings[impl] = json.loads(done.stdout)
    return readings


# ---------------------------------------------------------------- report


def fmt_time(seconds: float | None) -> str:
    """A duration with three significant digits in µs, ms or s; 'n/a' for None."""
    if seconds is None:
        return "n/a"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.3g} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds:.3g} s"


def fmt_ratio(value: float | None) -> str:
    """A ratio as '1.23x'; 'n/a' for None."""
    return "n/a" if value is None else f"{value:.2f}x"


def fmt_bytes(value: float | None) -> str:
    """A byte count in MiB; 'n/a' for None."""
    return "n/a" if value is None else f"{value / 2**20:.1f} MiB"


def markdown_table(header: list[str], rows: list[list[str]], numeric: bool = True) -> str:
    """A GitHub Markdown table; the first column is left-aligned, the others right-aligned if `numeric`."""
    rule = [" --- "] + [" ---: " if numeric else " --- "] * (len(header) - 1)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(rule) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


RATIOS = (("minigrad", "numpy-hand"), ("minigrad", "torch"), ("minigrad", "numpy-fused"),
          ("compiled", "numpy-fused"))


def timing_table(cases: list[Case]) -> str:
    """Median time per unit for each implementation, minigrad's ratio to the others and compiled's to numpy-fused."""
    rows = []
    for case in cases:
        rows.append(
            [case.label, case.unit]
            + [fmt_time(case.median(impl)) for impl in workloads.IMPLS]
            + [fmt_ratio(case.ratio(impl, ref)) for impl, ref in RATIOS]
            + ["n/a" if case.other_load is None else f"{case.other_load:.2f}"]
        )
    header = (["workload", "per", *workloads.IMPLS] + [f"{impl} / {ref}" for impl, ref in RATIOS]
              + ["other load (cores)"])
    return markdown_table(header, rows)


def trace_times(titanic: workloads.Problem, repeats: int = 7) -> list[float]:
    """Seconds of the first (tracing) call of the compiled fare-net step, full batch, each from a fresh model."""
    times = []
    for _ in range(repeats):
        step = workloads.compiled_mlp(titanic.weights, titanic.lr)
        start = time.perf_counter()
        step(titanic.x, titanic.y)
        times.append(time.perf_counter() - start)
    return times


def memory_tables(chain: dict[int, dict[str, int]], rss: dict[str, dict[str, dict[str, int]]],
                  heap: dict[str, dict]) -> str:
    """W4 traced peak memory per chain size, W5 resident memory at steps 100 and 1,000, W6 kept losses."""
    rows = []
    for n, peaks in chain.items():
        mg, hand = peaks.get("minigrad"), peaks.get("numpy-hand")
        per_op = "n/a" if mg is None else f"{mg / n:.0f} B"
        ratio = None if mg is None or not hand else mg / hand
        rows.append([f"W4 deep-chain {n:,}", fmt_bytes(mg), fmt_bytes(hand), fmt_ratio(ratio), per_op])
    w4 = markdown_table(["workload", "minigrad", "numpy-hand", "minigrad / numpy-hand", "minigrad per op"], rows)
    rows = []
    for impl in workloads.IMPLS:
        r = rss.get(impl)
        if r is None:
            rows.append([impl] + ["n/a"] * 5)
            continue
        first, last = r["100"], r["1000"]
        growth = (last["current"] - first["current"]) / 900
        rows.append(
            [impl, fmt_bytes(first["peak"]), fmt_bytes(last["peak"]), fmt_ratio(last["peak"] / first["peak"]),
             fmt_bytes(last["current"]), f"{growth / 1024:+.2f} KiB"]
        )
    header = ["implementation", "peak RSS, step 100", "peak RSS, step 1,000", "ratio", "RSS, step 1,000",
              "RSS growth per step"]
    w5 = markdown_table(header, rows)
    rows = [[impl, f"{r['growth_per_step'] / 1024:.2f} KiB", f"{r['del_loss_frees'] / 1024:.1f} KiB"] for impl, r in heap.items()]
    w6 = markdown_table(["implementation", "heap growth per step, every loss kept", "`del loss` after backward frees"],
                        rows)
    return (
        "W4 peak memory traced by tracemalloc over one chain, forward + backward (torch allocates outside "
        f"Python's allocator, so it is not traced):\n\n{w4}\n\n"
        f"W5 resident memory over 1,000 W1 steps, each implementation in a fresh process:\n\n{w5}\n\n"
        "W6 heap in use (glibc mallinfo2) over 200 wide-MLP steps that append every loss to a list, "
        f"each implementation in a fresh process (benchmarks/heap.py):\n\n{w6}"
    )


def evaluate_targets(
    cases: list[Case], chain_failure: str | None, rss: dict[str, dict[str, dict[str, int]]], heap: dict[str, dict],
    traces: list[float] | None = None,
) -> list[list[str]]:
    """One row per target in the issue: limit, median measured, per-round quartiles, PASS / FAIL / n/a."""
    by_key = {case.key: case for case in cases}
    rows = []

    def add(target: str, limit: float, at_most: bool, ratios: np.ndarray | None) -> None:
        sign = "<=" if at_most else ">="
        if ratios is None or not len(ratios):
            rows.append([target, f"{sign} {limit:.2f}x", "n/a", "n/a", "n/a"])
            return
        value = float(np.median(ratios))
        q1, q3 = np.percentile(ratios, [25, 75])
        passed = value <= limit if at_most else value >= limit
        verdict = "PASS" if passed else "FAIL"
        rows.append([target, f"{sign} {limit:.2f}x", f"{value:.3f}x", f"{q1:.3f}-{q3:.3f}", verdict])

    def ratios(key: str, impl: str, ref: str) -> np.ndarray | None:
        case = by_key.get(key)
        return None if case is None else case.ratios(impl, ref)

    for key, what in (("W2", "W2 step"), ("W2-epoch", "W2 epoch")):
        add(f"{what}: minigrad / numpy-hand", 1.5, True, ratios(key, "minigrad", "numpy-hand"))
        add(f"{what}: speed-up over torch (torch / minigrad)", 4.0, False, ratios(key, "torch", "minigrad"))
    add("W1 step: minigrad / numpy-hand", 1.3, True, ratios("W1", "minigrad", "numpy-hand"))
    add("W3 step: minigrad / numpy-hand", 1.05, True, ratios("W3", "minigrad", "numpy-hand"))
    small, big = CHAIN_SIZES[0], CHAIN_SIZES[-1]
    done, verdict = ("yes", "PASS") if chain_failure is None else (f"no: {chain_failure}", "FAIL")
    rows.append([f"W4: a {big:,}-op chain completes", "completes", done, "-", verdict])
    add(f"W4 time per op at {big:,}: minigrad / numpy-hand", 2.0, True, ratios(f"W4-{big}", "minigrad", "numpy-hand"))
    per_op = [by_key[f"W4-{n}"].times.get("minigrad") if f"W4-{n}" in by_key else None for n in (small, big)]
    linear = None if None in per_op else np.array(per_op[1]) / np.array(per_op[0])
    add(f"W4 linear: minigrad per op at {big:,} / at {small:,}", LINEAR_LIMIT, True, linear)
    for key, what in (("W1", "W1 step"), ("W2", "W2 step"), ("W3", "W3 step")):
        add(f"{what}: compiled / numpy-fused", 1.0, True, ratios(key, "compiled", "numpy-fused"))
    if traces:
        value, verdict = float(np.median(traces)), "PASS" if np.median(traces) < TRACE_LIMIT else "FAIL"
        q1, q3 = np.percentile(traces, [25, 75])
        rows.append(["compile: first (tracing) call of the fare-net step", f"< {fmt_time(TRACE_LIMIT)}",
                     fmt_time(value), f"{fmt_time(q1)}-{fmt_time(q3)}", verdict])
    w5 = rss.get("minigrad")
    growth = None if w5 is None else np.array([w5["1000"]["peak"] / w5["100"]["peak"]])
    add("W5: minigrad peak RSS at step 1,000 / step 100", 1.05, True, growth)
    if "minigrad" in heap and "torch" in heap:
        kept = np.array([heap["minigrad"]["growth_per_step"] / max(heap["torch"]["growth_per_step"], 1.0)])
        add("W6: heap growth per kept loss, minigrad / torch", 4.0, True, kept)
    if "minigrad" in heap:
        freed = heap["minigrad"]["del_loss_frees"]
        verdict = "PASS" if freed < 64 * 1024 else "FAIL"
        rows.append(["W6: `del loss` after backward frees < 64 KiB", "< 64 KiB", f"{freed / 1024:.1f} KiB", "-", verdict])
    return rows


def render(settings: Settings, info: list[tuple[str, str]], cases: list[Case], memory: str,
           targets: list[list[str]], unfrozen: dict[str, float]) -> str:
    """The whole report as Markdown: machine, timing table, memory tables, targets."""
    machine = markdown_table(["", ""], [[k, v] for k, v in info], numeric=False)
    baselines = (
        "The targets use numpy-hand: the recorded graph's math op for op, written plainly by hand with no graph, "
        "as examples/numpy_network.py writes it (W4's numpy-hand is the same plain chain). "
        "numpy-fused is numpy-hand tightened with in-place ops and a loss fused into np.vdot, which no graph "
        "engine can do since it must keep each op's inputs, so minigrad's ratio to it is for information only "
        "(it has no W4 version). compiled is minigrad's own step run through minigrad.compile: traced once, "
        "then replayed as generated numpy; its targets are against numpy-fused (it has no W4 version either). "
        "HVP, a Hessian-vector product of the wide MLP's loss in all its "
        "parameters, has no hand-written version: it is minigrad against torch, both by double backward "
        "(the gradient of ∂L/∂θ · v, with create_graph=True), checked to agree before timing."
    )
    timing_note = (
        f"{settings.name} run: median of {settings.rounds} interleaved rounds, each block about "
        f"{settings.block_seconds:g} s after a warm-up; ratios are medians of the per-round ratios. All float32. "
        "'other load' is how many cores other processes kept busy while the row was timed (from /proc/stat): "
        "well above 0 means the machine was shared and the row is noisy. Before timing, the objects alive then "
        "(the imports, PyTorch's above all) are frozen out of the cyclic GC's scans (gc.freeze), so each "
        "workload pays for the objects it makes itself."
    )
    if unfrozen:
        n = CHAIN_SIZES[-1]
        parts = [f"{impl} {fmt_time(t)}" for impl, t in unfrozen.items()]
        ratio = ""
        if "minigrad" in unfrozen and "numpy-hand" in unfrozen:
            ratio = f"; minigrad / numpy-hand {fmt_ratio(unfrozen['minigrad'] / unfrozen['numpy-hand'])}"
        timing_note += (
            f" For information, W4 at {n:,} ops per op with those objects scanned again, as in a process that "
            f"imports PyTorch without freezing it: {', '.join(parts)}{ratio}."
        )
    return "\n\n".join(
        [
            "# minigrad benchmarks",
            f"Written by `benchmarks/run.py` ({settings.name} run); do not edit by hand. Run it as "
            "`env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/run.py`.",
            "## Machine",
            machine,
            "## Time",
            baselines,
            timing_note,
            timing_table(cases),
            "## Memory",
            memory,
            "## Targets",
            "minigrad's targets are judged against numpy-hand (or torch where named), never numpy-fused; "
            "compiled's against numpy-fused.",
            markdown_table(["target", "limit", "measured (median)", "per-round quartiles", "result"], targets),
        ]
    ) + "\n"


# ---------------------------------------------------------------- profile


def profile(key: str, titanic: workloads.Problem, wide: workloads.Problem, rows: int = 25) -> None:
    """cProfile about two seconds' worth of minigrad runs of workload `key` and print the top entries."""
    case = {c.key: c for c in build_cases(["minigrad"], titanic, wide)}[key]
    factory = case.factories["minigrad"]
    calls = calibrate(factory, 2.0)
    run = factory()
    for _ in range(min(calls, 50)):
        run()
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    for _ in range(calls):
        run()
    profiler.disable()
    elapsed = time.perf_counter() - start
    print(f"minigrad {case.label}: {calls} runs, {fmt_time(elapsed / calls / case.per)} per {case.unit} "
          "under the profiler")
    stats = pstats.Stats(profiler).strip_dirs()
    stats.sort_stats("tottime").print_stats(rows)
    stats.sort_stats("cumulative").print_stats(rows // 2)


# ---------------------------------------------------------------- main


def main() -> None:
    """Parse arguments, check correctness, measure, print the report and write results.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter rounds (under a minute)")
    parser.add_argument("--profile", choices=PROFILE_CHOICES,
                        help="cProfile minigrad on one workload and print the top entries instead")
    parser.add_argument("--torch-threads", type=int, metavar="N",
                        help="PyTorch intra-op threads (default: numpy's BLAS thread count)")
    args = parser.parse_args()
    settings = QUICK if args.quick else FULL

    torch_ok = workloads.torch_available()
    if torch_ok:
        workloads.match_torch_threads(args.torch_threads)
    impls = [impl for impl in workloads.IMPLS if torch_ok or impl != "torch"]
    titanic, wide = workloads.titanic_problem(), workloads.wide_problem()
    if args.profile:
        profile(args.profile, titanic, wide)
        return

    info = machine_info(torch_ok)
    for var in OPENBLAS_VARS:
        if var in os.environ:
            print(f"warning: {var} is set; run with `env -u {' -u '.join(OPENBLAS_VARS)}`", file=sys.stderr)

    print("correctness gate ...", file=sys.stderr, flush=True)
    errors = correctness_gate(impls, titanic, wide)
    if errors:
        sys.exit("correctness gate failed, nothing timed:\n  " + "\n  ".join(errors))

    cases = build_cases(impls, titanic, wide)
    chain_failure = None
    try:
        workloads.minigrad_chain(CHAIN_SIZES[-1])()
    except Exception as err:  # a failing long chain is a W4 result
        chain_failure = f"{type(err).__name__}: {err}"[:200]
        for case in cases:
            if case.key == f"W4-{CHAIN_SIZES[-1]}":
                case.factories.pop("minigrad")

    print(f"timing ({settings.name}: {settings.rounds} rounds) ...", file=sys.stderr, flush=True)
    # NOTE: gc.freeze() moves every object alive now (the imports of numpy, PyTorch and this script:
    # about 170k) where the cyclic GC no longer scans them. Objects the workloads make are still
    # collected and charged to them. Without it, every full collection a long W4 chain triggers
    # rescans PyTorch's import as well, so minigrad's time per op would depend on which other
    # libraries the harness happens to import (4.3 vs 3.0 us/op at 100k ops).
    gc.collect()
    gc.freeze()
    info.append(("objects frozen before timing", f"{gc.get_freeze_count():,}"))
    before = cpu_sample()
    run_timings(cases, settings)
    load = other_load(before, cpu_sample())
    info.append(("other load while timing", "n/a" if load is None else f"{load:.2f} cores on average"))
    if load is not None and load > BUSY_LIMIT:
        print(f"warning: other processes kept {load:.2f} cores busy while timing; the ratios are noisy "
              "(PyTorch's, with more than one thread, most of all): rerun on a quiet machine", file=sys.stderr)
    unfrozen = unfrozen_chain(cases, settings)
    print("memory ...", file=sys.stderr, flush=True)
    chain = chain_memory([i for i in impls if chain_failure is None or i != "minigrad"])
    rss = child_readings("rss.py", impls)
    heap = child_readings("heap.py", [i for i in ("minigrad", "torch") if i in impls])

    traces = trace_times(titanic) if "compiled" in impls else None
    report = render(settings, info, cases, memory_tables(chain, rss, heap),
                    evaluate_targets(cases, chain_failure, rss, heap, traces), unfrozen)
    print(report)
    RESULTS.write_text(report, encoding="utf-8")
    print(f"wrote {RESULTS.relative_to(HERE.parent)}", file=sys.stderr)


if __name__ == "__main__":
    main()
