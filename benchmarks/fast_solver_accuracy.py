"""Accuracy of the fast population solver against the reference solver, over many drawn individuals.

For each experiment, ``--n`` individuals are drawn (``--seed``) and simulated for 120 days by the fast
solver (one batch, default tolerances) and one by one by the reference solver (SciPy Radau); the
largest relative difference of ``dcc_count`` at every output day (every 3 days) is printed per
experiment and overall. The requirement of issue 3 is 1e-4; the tests check a smaller sample every run.

Run:  .venv/bin/python benchmarks/fast_solver_accuracy.py [--n 50 --seed 99]
"""

from __future__ import annotations

import argparse

import numpy as np

EXPERIMENTS = ("influenza", "anti_cd4_influenza", "il6_ko_influenza", "neutrophil_depleted_influenza",
               "sars_cov_2", "pbs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50, help="individuals per experiment")
    parser.add_argument("--seed", type=int, default=99)
    parser.add_argument("--days", type=float, default=120.0)
    args = parser.parse_args()

    from awaken.experiments.catalogue import load_experiment
    from awaken.lung.parameters import draw_individuals, load_parameter_table
    from awaken.solvers.fast import FastSolver
    from awaken.solvers.reference import simulate
    from awaken.solvers.schedule import animal_setup

    out = np.arange(0.0, args.days + 1e-9, 3.0)
    solver = FastSolver()
    worst = 0.0
    print("| experiment | individuals | max rel. error of dcc_count | mean accepted steps |")
    print("|---|---:|---:|---:|")
    for name in EXPERIMENTS:
        scenario = load_experiment(name)
        draws = draw_individuals(load_parameter_table(scenario.species), scenario.virus_kind, args.n, args.seed,
                                 scenario.parameters)
        setups = [animal_setup(scenario, p) for p in draws]
        events = [[e for e in s[2] if e.day < args.days] for s in setups]
        batch = solver.simulate([s[0] for s in setups], [s[1] for s in setups], events, args.days, out)
        reference = np.array([simulate(s[0], s[1], e, args.days, out).readouts["dcc_count"]
                              for s, e in zip(setups, events)])
        error = float(np.max(np.abs(batch.readouts["dcc_count"] - reference) / reference))
        worst = max(worst, error)
        print(f"| {name} | {args.n} | {error:.1e} | {batch.steps.mean():.0f} |")
    print(f"worst over {args.n * len(EXPERIMENTS)} individuals: {worst:.1e} (requirement 1e-4)")


if __name__ == "__main__":
    main()
