"""Cost of the reference solver: one-time model compilation and simulated mice per second.

This is the baseline for the fast population solver (next milestone), which will be compared with
libRoadRunner and SciPy on the same draws. Run:

    .venv/bin/python benchmarks/reference_solver.py --mice 20 --days 365
"""

from __future__ import annotations

import argparse
import time

from awaken.experiments.catalogue import load_experiment, with_overrides
from awaken.lung.compiled import compiled_model
from awaken.solvers.reference import run_group


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mice", type=int, default=20)
    parser.add_argument("--days", type=int, default=365)
    args = parser.parse_args()
    start = time.perf_counter()
    model = compiled_model()
    model._rhs, model._jacobian, model._readouts  # noqa: B018 - force code generation
    compile_s = time.perf_counter() - start
    print(f"model compilation (SymPy -> NumPy, once per process): {compile_s:.2f} s")
    print("| experiment | mice | days | wall time (s) | mice per second |")
    print("|---|---|---|---|---|")
    for name in ("pbs", "influenza", "anti_cd4_influenza"):
        scenario = with_overrides(load_experiment(name), mice=args.mice, days=args.days, seed=0)
        start = time.perf_counter()
        run_group(scenario)
        wall = time.perf_counter() - start
        print(f"| {name} | {args.mice} | {args.days} | {wall:.2f} | {args.mice / wall:.2f} |")


if __name__ == "__main__":
    main()
