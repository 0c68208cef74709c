"""Calibration of the mouse lung model from Python: the twin of ``awaken fit``.

One calibration run, written to a run directory that appears whole or not at all::

    run.json                  provenance (command, settings, versions, git commit)
    report.html               self-contained calibration report
    petab/                    the PEtab problem the run fitted (problem.yaml and its tables)
    tables/starts.parquet     one row per start: final and initial cost, function calls, points simulated, time
    tables/best.parquet       best parameter vector (linear values) and its cost per band
    tables/profiles.parquet   profile points: parameter, value (fitting scale), cost, likelihood ratio
    tables/identifiability.parquet  95 % profile interval and verdict per parameter
    ensemble.parquet          posterior ensemble: one row per member (linear values, cost)
    ensemble_scores.json      fraction of the ensemble passing each target, sampler statistics
    figures/waterfall, profiles, ensemble (PNG + SVG)

Example
-------
>>> import tempfile, pathlib, awaken
>>> with tempfile.TemporaryDirectory() as tmp:
...     run = awaken.fit(pathlib.Path(tmp) / "fit", starts=1, max_iterations=1, profiles=[], generations=2,
...                      ensemble_size=4)
...     print(run.name, sorted(p.name for p in (run / "tables").iterdir()))
fit ['best.parquet', 'identifiability.parquet', 'profiles.parquet', 'starts.parquet']
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from awaken.calibration import fitting
from awaken.calibration.ensemble import pass_fractions, simulate_members
from awaken.calibration.likelihood import negative_log_likelihood
from awaken.calibration.petab_problem import write_petab
from awaken.calibration.settings import PHASES, FitSettings
from awaken.lung.parameters import fitted_parameters
from awaken.report import calibration_figures
from awaken.report.flagship import save_figures
from awaken.report.html import CalibrationReport
from awaken.runs.directory import RunDirectory
from awaken.runs.execution import solver_threads
from awaken.runs.progress import ProgressFactory, progress_bars
from awaken.runs.provenance import python_call
from awaken.schemas import validate
from awaken.scorecard import REQUIRED_EXPERIMENTS, score
from awaken.solvers.batch import run_typical
from awaken.targets import LAST_TARGET_DAY, load_targets

__all__ = ["fit", "FitSettings"]


def fit(out: str | Path, *, starts: int = 20, seed: int = 0, max_iterations: int = 200,
        profiles: list[str] | None = None, walkers: int = 48, generations: int = 400, ensemble_size: int = 200,
        threads: int | None = None, overwrite: bool = False, progress: bool | ProgressFactory = False,
        command: list[str] | None = None) -> Path:
    """Fit the 24 tuned parameters of the typical mouse to the target bands: multi-start L-BFGS-B,
    profile likelihoods (``profiles``: None for all, [] for none), a posterior ensemble; writes the
    run directory ``out`` and returns its path."""
    settings = validate({"starts": starts, "seed": seed, "max_iterations": max_iterations, "profiles": profiles,
                         "walkers": walkers, "generations": generations, "ensemble_size": ensemble_size},
                        FitSettings)
    run = RunDirectory(out, kind="fit", seed=settings.seed, overwrite=overwrite,
                       settings=settings.model_dump(mode="json"),
                       command=command or python_call("fit", out=out, starts=starts, seed=seed))
    with solver_threads(threads), progress_bars(progress) as bar, run:
        _fit(run, settings, lambda phase, total: bar(PHASES[phase], total=total, unit="items"))
    return Path(out)


def _fit(run: RunDirectory, settings: FitSettings, progress: Callable[[str, int], Callable[[int], None]]) -> None:
    objective = fitting.CalibrationObjective()
    names = objective.names
    write_petab(run.file("petab"))
    result = fitting.multistart(objective, settings.starts, settings.seed, settings.max_iterations,
                                progress=progress("starts", settings.starts + 1))
    best_values = objective.values(result.best)
    [best_runs] = run_typical(REQUIRED_EXPERIMENTS, [best_values], days=LAST_TARGET_DAY)
    per_band = negative_log_likelihood(best_runs, per_datum=True)
    run.write_parquet("tables/starts.parquet", result.starts)
    run.write_parquet("tables/best.parquet", pd.DataFrame([{"cost": sum(per_band.values()), **best_values,
                                                            **{f"cost_{k}": v for k, v in per_band.items()}}]))

    indices = list(range(objective.dim)) if settings.profiles is None else \
        [names.index(p) for p in settings.profiles]
    profile_table = fitting.profiles(result, indices, progress=progress("profiles", len(indices))) if indices \
        else pd.DataFrame(columns=["parameter", "scale", "value", "cost", "ratio"])
    verdicts = fitting.identifiability(profile_table, objective, result.best)
    run.write_parquet("tables/profiles.parquet", profile_table)
    run.write_parquet("tables/identifiability.parquet", verdicts)

    samples, costs, acceptance = fitting.sample_ensemble(
        objective, result.best, settings.walkers, settings.generations, settings.seed, settings.ensemble_size,
        progress=progress("ensemble", settings.generations))
    ensemble = fitting.ensemble_frame(objective, samples, costs)
    run.write_parquet("ensemble.parquet", ensemble)
    members_run = simulate_members(ensemble, REQUIRED_EXPERIMENTS, days=LAST_TARGET_DAY)
    fractions = pass_fractions(members_run.runs)
    best_scores = score(best_runs)
    summary = {"pass_fractions": fractions, "members": len(ensemble), "members_scored": len(members_run.kept),
               "members_rejected_by_envelope": members_run.rejected, "acceptance_fraction": acceptance,
               "walkers": settings.walkers, "generations": settings.generations,
               "best_cost": float(result.starts["cost"].min()), "evaluations": objective.evaluations}
    run.write_json("ensemble_scores.json", summary)

    ranges = {p.name: p.range for p in fitted_parameters()}
    nominal = {p.name: p.value for p in fitted_parameters()}
    specs = [
        ("waterfall", "Multi-start optimisation",
         "Final cost of every start (L-BFGS-B from uniform random points within the plausible ranges, plus the "
         "shipped values), sorted; cost is the negative log-likelihood of the target bands up to a constant.",
         calibration_figures.waterfall(result.starts)),
        ("ensemble", "The parameter ensemble",
         f"Posterior spread (5-95 %, median) of each fitted parameter over {len(ensemble)} ensemble members, "
         "within its plausible range (grey); black tick: the shipped value.",
         calibration_figures.ensemble_marginals(ensemble, names, objective.scales, ranges, nominal)),
    ]
    if indices:
        specs.insert(1, (
            "profiles", "Profile likelihoods",
            "Likelihood ratio along each parameter's profile (every other parameter re-optimised); grey = "
            "plausible range, black line = best fit, red dashed = 95 % threshold (chi-square, 1 degree of freedom).",
            calibration_figures.profile_grid(
                profile_table, [names[i] for i in indices],
                {n: (objective.lower[i], objective.upper[i]) for i, n in enumerate(names)},
                dict(zip(names, result.best)), dict(zip(verdicts["parameter"], verdicts["verdict"])))))
    report_figures = save_figures(run, specs)
    prov = run.finish()
    run.write_text("report.html", CalibrationReport(
        provenance=prov, settings=settings, starts=result.starts.to_dict("records"), scores=best_scores,
        fractions=fractions, verdicts=verdicts.to_dict("records"), per_band=per_band, figures=report_figures,
        members=len(ensemble), acceptance=acceptance, targets=load_targets()["mouse"],
        best=[{"name": n, "value": best_values[n], "nominal": nominal[n]} for n in names]).render())

