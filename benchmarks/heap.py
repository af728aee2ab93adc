"""Heap memory of a training loop that keeps its losses, one library per fresh child process.

`python benchmarks/heap.py minigrad` (or `torch`) trains the wide MLP (784-512-512-10, batch 128)
for 200 steps, appending every returned loss to a list as a user's `losses.append(loss)` does,
and prints one JSON object: the heap in use after step 20 and after step 200 (glibc's
mallinfo2: every byte numpy, torch and Python have malloc'ed, mmap'ed blocks included), the
growth per step between them, and how much `del loss` frees after a backward. run.py starts it
once per library and puts the figures beside the speed table.
"""
from __future__ import annotations

import argparse
import ctypes
import gc
import json

import numpy as np

import workloads

STEPS = 200
FIRST = 20


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]


def heap_bytes() -> int:
    """Bytes in use on the C heap: small blocks in the arenas plus large mmap'ed blocks."""
    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = _Mallinfo2
    info = libc.mallinfo2()
    return int(info.uordblks + info.hblkhd)


def measure(impl: str) -> dict[str, float]:
    problem = workloads.wide_problem()
    step = workloads.MLP_BUILDERS[impl](problem.weights, problem.lr)
    x, y = problem.x, problem.y
    losses = []
    after_first = 0
    for k in range(1, STEPS + 1):
        losses.append(step(x, y))
        if k == FIRST:
            gc.collect()
            after_first = heap_bytes()
    gc.collect()
    after_all = heap_bytes()
    del losses
    loss = step(x, y)
    gc.collect()
    before_del = heap_bytes()
    del loss
    gc.collect()
    freed = before_del - heap_bytes()
    return {
        "impl": impl,
        "heap_after_first": after_first,
        "heap_after_all": after_all,
        "growth_per_step": (after_all - after_first) / (STEPS - FIRST),
        "del_loss_frees": freed,
        "steps": STEPS,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("impl", choices=["minigrad", "torch"])
    args = parser.parse_args()
    np.seterr(all="ignore")
    print(json.dumps(measure(args.impl)))


if __name__ == "__main__":
    main()
