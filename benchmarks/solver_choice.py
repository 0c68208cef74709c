"""Why the reference solver is Radau without clipping: accuracy and cost of the candidates.

One typical influenza mouse, one year. Every candidate (SciPy Radau, BDF, LSODA at three
tolerances, with and without evaluating the right-hand side at max(y, 0)) is compared with Radau at
rtol 1e-12 on every read-out except the virus titre, which falls to round-off (about 1e-30) after
clearance, where relative errors mean nothing. Run:

    .venv/bin/python benchmarks/solver_choice.py
"""

from __future__ import annotations

import time

import numpy as np
from scipy.integrate import solve_ivp

from awaken.experiments.protocol import Experiment
from awaken.lung.compiled import compiled_model
from awaken.lung.parameters import load_parameter_table
from awaken.solvers.reference import absolute_tolerances, initial_state
from awaken.solvers.schedule import schedule

DAYS = 365


def main() -> None:
    model = compiled_model()
    params = load_parameter_table("mouse").nominal("influenza_a_pr8")
    controls, _ = schedule(Experiment(name="benchmark"), {})
    y0 = initial_state(params, controls, model)
    y0[model.index("infected_eclipse")] += 75.0
    theta = model.theta({**params, **controls, "virus_exposed": 1.0})
    atol = absolute_tolerances(model)
    t_eval = np.arange(DAYS + 1.0)
    thetas = np.repeat(theta[:, None], t_eval.size, axis=1)

    def solve(method: str, rtol: float, clip: bool, scale_atol: float = 1.0):
        def view(y):
            return np.maximum(y, 0.0) if clip else y

        start = time.perf_counter()
        sol = solve_ivp(lambda t, y: model.rhs(view(y), theta), (0, DAYS), y0, method=method,
                        jac=lambda t, y: model.jacobian(view(y), theta), rtol=rtol, atol=atol * scale_atol,
                        t_eval=t_eval)
        return sol, time.perf_counter() - start

    reference, _ = solve("Radau", 1e-12, False, 1e-4)
    ref = model.readouts(np.maximum(reference.y, 0), thetas)

    def error(sol) -> float:
        out = model.readouts(np.maximum(sol.y, 0), thetas)
        worst = 0.0
        for name, values in ref.items():
            if name == "virus_titer":
                continue
            mask = np.abs(values) > 1e-6 * np.abs(values).max()
            worst = max(worst, float(np.max(np.abs(out[name][mask] - values[mask]) / np.abs(values[mask]))))
        return worst

    print("| method | rtol | RHS at max(y,0) | wall (s) | RHS evals | Jacobians | most negative state | max rel. error |")
    print("|---|---|---|---|---|---|---|---|")
    for clip in (True, False):
        for method in ("Radau", "BDF", "LSODA"):
            for rtol in ((1e-7,) if clip else (1e-6, 1e-7, 1e-8)):
                sol, wall = solve(method, rtol, clip)
                print(f"| {method} | {rtol:g} | {'yes' if clip else 'no'} | {wall:.2f} | {sol.nfev} | {sol.njev} | "
                      f"{sol.y.min():.1e} | {error(sol):.1e} |")


if __name__ == "__main__":
    main()
