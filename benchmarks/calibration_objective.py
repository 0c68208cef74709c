"""Cost of one objective evaluation and one gradient: pyPESTO on the PEtab problem vs awaken fit.

Both sides simulate the same seven conditions (the experiments the targets need: 365 days of
pre-equilibration, then 28 days) for the same parameter vectors, at the same relative tolerance:

* pyPESTO 0.7's libRoadRunner PEtab importer on ``awaken export petab`` (CVODE), one condition after
  another; it has no sensitivities, so a gradient is 2n + 1 = 49 sequential evaluations (central
  differences);
* awaken fit's objective: the compiled fast solver, one batch for all conditions; the gradient's 49
  points are one batch spread over the cores.

The two likelihoods differ on open bands (censored in awaken, log-normal for a PEtab v1 reader) -
the benchmark times the work, not the value.

Run:  .venv/bin/python benchmarks/calibration_objective.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np


def _best_of(repeats: int, fn) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    import numba
    import petab.v1 as petab
    from pypesto.objective.roadrunner import PetabImporterRR, SolverOptions

    from awaken.calibration.fitting import FIT_RTOL, CalibrationObjective
    from awaken.calibration.petab_problem import write_petab

    warnings.simplefilter("ignore")
    objective = CalibrationObjective()
    x = objective.nominal()
    objective(x)  # compile / load the solver
    with tempfile.TemporaryDirectory() as tmp:
        problem_file = write_petab(Path(tmp) / "petab")
        importer = PetabImporterRR(petab.Problem.from_yaml(str(problem_file)))
        rr_objective = importer.create_objective()
        rr_objective.solver_options = SolverOptions(relative_tolerance=FIT_RTOL, absolute_tolerance=1e-10)
        problem = importer.petab_problem
        x_petab = np.asarray(problem.x_nominal_free_scaled)
        n = objective.dim
        rr_objective(x_petab)

        rr_eval = _best_of(args.repeats, lambda: rr_objective(x_petab))
        ours_eval = _best_of(args.repeats, lambda: objective(x))
        ours_grad = _best_of(args.repeats, lambda: objective.gradient(x))

    rr_grad = rr_eval * (2 * n + 1)
    result = {
        "threads": numba.get_num_threads(), "rtol": FIT_RTOL, "parameters": n,
        "pypesto_roadrunner_evaluation_s": rr_eval, "pypesto_roadrunner_gradient_s (49 evaluations)": rr_grad,
        "awaken_evaluation_s": ours_eval, "awaken_batched_gradient_s": ours_grad,
        "evaluation_ratio": rr_eval / ours_eval, "gradient_ratio": rr_grad / ours_grad,
    }
    print(json.dumps(result, indent=2))
    print(f"\n| objective | one evaluation | one gradient (central differences, {2 * n + 1} points) |")
    print("|---|---|---|")
    print(f"| pyPESTO 0.7 + libRoadRunner on the PEtab export | {rr_eval * 1e3:.1f} ms | {rr_grad * 1e3:.0f} ms |")
    print(f"| awaken fit (fast solver, one batch) | {ours_eval * 1e3:.1f} ms | {ours_grad * 1e3:.0f} ms |")
    print(f"| ratio | {rr_eval / ours_eval:.1f}x | {rr_grad / ours_grad:.1f}x |")


if __name__ == "__main__":
    main()
