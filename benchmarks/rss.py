"""W5 child process: train the Titanic net full-batch and report resident memory as it goes.

run.py starts this in a fresh interpreter per implementation, so no other workload's garbage
raises the peak: `python benchmarks/rss.py minigrad` runs 1,000 W1 steps and prints one JSON
object with the peak (VmHWM) and current (VmRSS) resident set size, in bytes, after step 100
and after step 1,000.
"""
from __future__ import annotations

import argparse
import json
import resource

import workloads

CHECKPOINTS = (100, 1000)


def rss_bytes() -> dict[str, int]:
    """Peak and current resident set size of this process, from /proc/self/status (else getrusage)."""
    fields = {}
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                key, _, value = line.partition(":")
                if key in ("VmHWM", "VmRSS"):
                    fields[key] = int(value.split()[0]) * 1024
    except OSError:
        pass
    if "VmHWM" not in fields:
        fields["VmHWM"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    fields.setdefault("VmRSS", fields["VmHWM"])
    return {"peak": fields["VmHWM"], "current": fields["VmRSS"]}


def measure(impl: str) -> dict[int, dict[str, int]]:
    """Run W1 steps of `impl` and return the RSS readings at each checkpoint step."""
    if impl == "torch":
        workloads.match_torch_threads()
    problem = workloads.titanic_problem()
    step = workloads.MLP_BUILDERS[impl](problem.weights, problem.lr)
    readings = {}
    for i in range(1, CHECKPOINTS[-1] + 1):
        step(problem.x, problem.y)
        if i in CHECKPOINTS:
            readings[i] = rss_bytes()
    return readings


def main() -> None:
    """Parse the implementation name, measure, print the readings as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("impl", choices=workloads.IMPLS)
    print(json.dumps(measure(parser.parse_args().impl)))


if __name__ == "__main__":
    main()
