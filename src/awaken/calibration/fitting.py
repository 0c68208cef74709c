"""Fitting the mouse lung model to the targets: multi-start optimisation, profiles, an ensemble.

The cost is :func:`awaken.calibration.likelihood.negative_log_likelihood` of the typical mouse
(nominal parameters, no variability - how the shipped values were tuned) over the experiments the
targets need, simulated by the compiled fast solver. The fitted parameters, their scales (log10,
or linear when the plausible range reaches 0), bounds (the plausible range) and priors (uniform on
the fitting scale within the bounds) are those of the PEtab export
(:mod:`awaken.calibration.petab_problem`).

**Gradients** are central finite differences computed in *one* solver batch (the point and its
2n neighbours are independent individuals), which makes a gradient cost about as much as eight
sequential evaluations on two cores (measured in ``docs/performance.md``).

**Optimisation** is pyPESTO 0.7 (``ScipyOptimizer``, L-BFGS-B) from start points drawn uniformly
within the bounds; start ``i`` depends only on ``(seed, i)``. **Profiles** are pyPESTO's
``parameter_profile`` from the best start. **The ensemble** is a posterior sample (likelihood x
prior) drawn with the affine-invariant ensemble sampler of Goodman & Weare (2010, CAMCOS 5:65): all
walkers of a generation are one solver batch, so a generation costs about as much as one gradient.
Walkers start in a small ball around the best optimum; the first half of the generations is
discarded as burn-in and the rest thinned.

Example
-------
>>> objective = CalibrationObjective()
>>> round(objective(objective.nominal()), 2)
0.2
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from awaken.calibration.likelihood import (
    FAILED_COST,
    calibration_days,
    calibration_experiments,
    negative_log_likelihood,
    physiological_prior_cost,
)
from awaken.calibration.petab_problem import parameter_scale
from awaken.lung.parameters import fitted_parameters
from awaken.solvers.batch import run_typical
from awaken.solvers.fast import FastSolver, FastSolverError

__all__ = ["CalibrationObjective", "FIT_RTOL", "FitResult", "multistart", "profiles", "sample_ensemble", "identifiability",
           "ensemble_frame"]

#: Solver tolerance while fitting, by measurement: at 1e-6, 1e-7 and 1e-8 the cost along a line
#: is smooth (second differences ~5e-11) and the batched gradient agrees to 1e-6; 1e-7 is 30 %
#: faster than 1e-8 and leaves a margin.
FIT_RTOL = 1e-7
#: Central-difference step on the fitting scale (decades for log10 parameters).
FD_STEP = 1e-3
#: L-BFGS-B iterations allowed per profile step (warm-started from the previous step).
PROFILE_ITERATIONS = 25

Progress = Callable[[int], None]


class CalibrationObjective:
    """Cost of parameter vectors on the fitting scale; callable, with a batched gradient."""

    def __init__(self, rtol: float = FIT_RTOL, physiological_prior: bool = True) -> None:
        self.physiological_prior = physiological_prior
        self.parameters = fitted_parameters()
        self.names = [p.name for p in self.parameters]
        self.scales = [parameter_scale(p) for p in self.parameters]
        self.lower = np.array([self._to_scale(p.range[0], s) for p, s in zip(self.parameters, self.scales)])
        self.upper = np.array([self._to_scale(p.range[1], s) for p, s in zip(self.parameters, self.scales)])
        # The reference solver's absolute tolerance (1e-6 cells) with the tight rtol: the cost must be
        # smooth for finite-difference gradients, and the population default of 1e-2 cells is not.
        self.solver = FastSolver(rtol=rtol, amount_atol=1e-6)
        self.experiments = calibration_experiments()
        self.days = calibration_days()
        self.evaluations = 0

    @staticmethod
    def _to_scale(value: float, scale: str) -> float:
        return math.log10(value) if scale == "log10" else float(value)

    @property
    def dim(self) -> int:
        return len(self.names)

    def nominal(self) -> np.ndarray:
        """The shipped values on the fitting scale."""
        return np.array([self._to_scale(p.value, s) for p, s in zip(self.parameters, self.scales)])

    def values(self, x: np.ndarray) -> dict[str, float]:
        """Parameter values (linear) of a vector on the fitting scale."""
        return {n: (10.0 ** v if s == "log10" else float(v)) for n, s, v in zip(self.names, self.scales, x)}

    def costs(self, points: np.ndarray) -> np.ndarray:
        """Cost of every row of ``points`` (one solver batch). Points outside the bounds cost inf."""
        points = np.atleast_2d(np.asarray(points, dtype=float))
        inside = np.all((points >= self.lower - 1e-12) & (points <= self.upper + 1e-12), axis=1)
        out = np.full(points.shape[0], np.inf)
        if not inside.any():
            return out
        sets = [self.values(np.clip(x, self.lower, self.upper)) for x in points[inside]]
        self.evaluations += len(sets)
        try:
            results = run_typical(self.experiments, sets, days=max(self.days), output_days=self.days,
                                  solver=self.solver)
        except FastSolverError:
            # One failed individual fails the batch: fall back to one point at a time.
            if len(sets) == 1:
                out[inside] = FAILED_COST
                return out
            out[inside] = [self.costs(x[None, :])[0] for x in points[inside]]
            return out
        prior = physiological_prior_cost if self.physiological_prior else (lambda _r: 0.0)
        out[inside] = [negative_log_likelihood(r) + prior(r) for r in results]
        return out

    def targets_only(self) -> CalibrationObjective:
        """The same objective without the physiological prior (shares the solver): what the
        targets alone say, for profiles."""
        clone = copy.copy(self)
        clone.physiological_prior = False
        return clone

    def __call__(self, x: np.ndarray) -> float:
        return float(self.costs(np.asarray(x)[None, :])[0])

    def gradient(self, x: np.ndarray) -> np.ndarray:
        """Central differences (one-sided at a bound), all 2n points in one batch."""
        x = np.asarray(x, dtype=float)
        h = np.full(self.dim, FD_STEP)
        up = np.minimum(x + h, self.upper)
        down = np.maximum(x - h, self.lower)
        points = np.concatenate([np.where(np.eye(self.dim, dtype=bool), up[None, :], x[None, :]),
                                 np.where(np.eye(self.dim, dtype=bool), down[None, :], x[None, :])])
        values = self.costs(points)
        return (values[: self.dim] - values[self.dim:]) / np.maximum(up - down, 1e-15)

    def pypesto_problem(self):  # noqa: ANN201 - pypesto is imported lazily
        """This objective as a pyPESTO problem (bounds = plausible ranges on the fitting scale)."""
        import pypesto

        objective = pypesto.Objective(fun=self, grad=self.gradient, x_names=self.names)
        return pypesto.Problem(objective, lb=self.lower, ub=self.upper, x_names=self.names,
                               x_scales=self.scales, copy_objective=False)


def start_points(objective: CalibrationObjective, n: int, seed: int) -> np.ndarray:
    """Start ``i`` is uniform within the bounds and depends only on ``(seed, i)``."""
    rows = []
    for i in range(n):
        rng = np.random.default_rng(np.random.SeedSequence([seed, i]))
        rows.append(objective.lower + rng.random(objective.dim) * (objective.upper - objective.lower))
    return np.array(rows).reshape(n, objective.dim)


@dataclass
class FitResult:
    """Everything ``awaken fit`` found; ``pypesto_result`` holds optimisation and profiles."""

    objective: CalibrationObjective
    starts: pd.DataFrame  # one row per start: start, cost, start_cost, function_calls, evaluations, seconds, converged, message
    best: np.ndarray
    pypesto_result: object


def multistart(objective: CalibrationObjective, n_starts: int, seed: int, max_iterations: int = 200,
               include_nominal: bool = True, progress: Progress | None = None) -> FitResult:
    """L-BFGS-B (pyPESTO) from ``n_starts`` uniform start points (plus the shipped values)."""
    import pypesto
    import pypesto.optimize as optimize

    problem = objective.pypesto_problem()
    optimizer = optimize.ScipyOptimizer(method="L-BFGS-B", options={"maxiter": max_iterations, "ftol": 1e-10,
                                                                    "gtol": 1e-6})
    points = start_points(objective, n_starts, seed)
    labels = [str(i) for i in range(n_starts)]
    if include_nominal:
        points = np.vstack([objective.nominal()[None, :], points])
        labels = ["nominal", *labels]
    result = pypesto.Result(problem)
    rows = []
    for label, x0 in zip(labels, points):
        before = objective.evaluations
        run = optimizer.minimize(problem, x0=x0, id=label)
        result.optimize_result.append(run)
        rows.append({"start": label, "cost": float(run.fval), "start_cost": float(run.fval0)
                     if run.fval0 is not None else math.nan, "function_calls": run.n_fval,
                     "evaluations": objective.evaluations - before, "seconds": float(run.time),
                     "converged": "CONVERGENCE" in str(run.message).upper(), "message": str(run.message)})
        if progress is not None:
            progress(1)
    result.optimize_result.sort()
    best = np.asarray(result.optimize_result.list[0].x, dtype=float)
    starts = pd.DataFrame(rows).sort_values("cost", kind="stable").reset_index(drop=True)
    return FitResult(objective=objective, starts=starts, best=best, pypesto_result=result)


def profiles(fit: FitResult, indices: list[int] | None = None, progress: Progress | None = None) -> pd.DataFrame:
    """Profile likelihoods (pyPESTO) of the parameters at ``indices`` (default all) from the best fit.

    Profiles are of the targets' likelihood alone (no physiological prior): they answer what the
    targets pin down. The best fit sits far below the prior's ceiling, so it is also the optimum
    of the likelihood alone (its prior cost is ~1e-20).

    Returns one row per profile point: parameter, value on the fitting scale, cost, and
    ``ratio = exp(best cost - cost)`` (pyPESTO stops a profile where it falls below 0.145, the
    95 % threshold of a chi-square with one degree of freedom)."""
    import pypesto.optimize as optimize
    import pypesto.profile as profile

    objective = fit.objective.targets_only()
    problem = objective.pypesto_problem()
    optimizer = optimize.ScipyOptimizer(method="L-BFGS-B", options={"maxiter": PROFILE_ITERATIONS, "ftol": 1e-7})
    # Steps on the fitting scale (decades for log10 parameters): coarse enough that a flat profile
    # reaches its bound in about ten steps, since every step re-optimises all other parameters.
    options = profile.ProfileOptions(min_step_size=0.02, max_step_size=0.3, default_step_size=0.1,
                                     ratio_min=0.145, delta_ratio_max=0.1)
    indices = list(range(objective.dim)) if indices is None else indices
    result = fit.pypesto_result
    rows = []
    for index in indices:
        result = profile.parameter_profile(problem, result, optimizer, profile_index=[index],
                                           profile_options=options, progress_bar=False, overwrite=True)
        curve = result.profile_result.list[-1][index]
        for x_path, ratio, cost in zip(curve.x_path[index], curve.ratio_path, curve.fval_path):
            rows.append({"parameter": objective.names[index], "scale": objective.scales[index],
                         "value": float(x_path), "cost": float(cost), "ratio": float(ratio)})
        if progress is not None:
            progress(1)
    return pd.DataFrame(rows)


def sample_ensemble(objective: CalibrationObjective, centre: np.ndarray, walkers: int, generations: int,
                    seed: int, keep: int, progress: Progress | None = None) -> tuple[np.ndarray, np.ndarray, float]:
    """Posterior sample by the affine-invariant stretch move (Goodman & Weare 2010).

    Returns ``keep`` parameter vectors (fitting scale) from the second half of the chain, their
    costs, and the mean acceptance fraction. Uniform priors within the bounds: the log-posterior
    is minus the cost inside the bounds and -inf outside.
    """
    if walkers < 2 * objective.dim or walkers % 2:
        raise ValueError(f"walkers = {walkers}: need an even number >= {2 * objective.dim} (twice the parameters)")
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x5A3]))
    width = 0.01 * (objective.upper - objective.lower)
    state = np.clip(centre[None, :] + width * rng.standard_normal((walkers, objective.dim)),
                    objective.lower, objective.upper)
    log_post = -objective.costs(state)
    half = walkers // 2
    a = 2.0  # stretch scale
    chain, chain_costs = [], []
    accepted = 0
    for generation in range(generations):
        for first in (0, half):
            active = np.arange(first, first + half)
            others = np.arange(half - first, walkers - first) if first == 0 else np.arange(0, half)
            z = ((a - 1.0) * rng.random(half) + 1.0) ** 2 / a
            partners = state[rng.choice(others, size=half)]
            proposal = partners + z[:, None] * (state[active] - partners)
            proposal_post = -objective.costs(proposal)
            log_accept = (objective.dim - 1) * np.log(z) + proposal_post - log_post[active]
            take = np.log(rng.random(half)) < log_accept
            state[active[take]] = proposal[take]
            log_post[active[take]] = proposal_post[take]
            accepted += int(take.sum())
        if generation >= generations // 2:
            chain.append(state.copy())
            chain_costs.append(-log_post.copy())
        if progress is not None:
            progress(1)
    samples = np.concatenate(chain)
    costs = np.concatenate(chain_costs)
    pick = np.linspace(0, samples.shape[0] - 1, min(keep, samples.shape[0])).round().astype(int)
    return samples[pick], costs[pick], accepted / (walkers * generations)


def ensemble_frame(objective: CalibrationObjective, samples: np.ndarray, costs: np.ndarray) -> pd.DataFrame:
    """The ensemble as a table: one row per member, linear parameter values plus its cost."""
    rows = [{"member": i, "cost": float(c), **objective.values(x)} for i, (x, c) in enumerate(zip(samples, costs))]
    return pd.DataFrame(rows)


def identifiability(profile_table: pd.DataFrame, objective: CalibrationObjective, best: np.ndarray,
                    threshold: float = math.exp(-3.841458820694124 / 2)) -> pd.DataFrame:
    """What the targets pin down, from the profiles: per parameter, the 95 % profile-likelihood
    interval (linear values) and a verdict - ``identifiable`` (closed on both sides),
    ``bounded on one side`` or ``not identifiable`` (the profile stays above the threshold up to
    both ends of the plausible range). A parameter without a profile is ``not profiled``."""
    rows = []
    tolerance = 1e-6
    for i, name in enumerate(objective.names):
        curve = profile_table[profile_table["parameter"] == name].sort_values("value")
        lo_bound, hi_bound = objective.lower[i], objective.upper[i]
        row = {"parameter": name, "scale": objective.scales[i], "best": objective.values(best)[name]}
        if curve.empty:
            rows.append({**row, "ci_low": math.nan, "ci_high": math.nan, "verdict": "not profiled"})
            continue
        inside = curve[curve["ratio"] >= threshold]
        low_x, high_x = inside["value"].min(), inside["value"].max()
        open_low = low_x <= lo_bound + tolerance * max(1.0, abs(lo_bound))
        open_high = high_x >= hi_bound - tolerance * max(1.0, abs(hi_bound))
        verdict = {(False, False): "identifiable", (True, True): "not identifiable"}.get(
            (bool(open_low), bool(open_high)), "bounded on one side")
        to_linear = (lambda v: 10.0 ** v) if objective.scales[i] == "log10" else float
        rows.append({**row, "ci_low": to_linear(low_x), "ci_high": to_linear(high_x), "verdict": verdict})
    return pd.DataFrame(rows)
