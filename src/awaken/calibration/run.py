"""``awaken fit``: one calibration run, written to a run directory that appears whole or not at all.

Run directory layout::

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
>>> from awaken.calibration.run import FitSettings
>>> FitSettings(starts=0)
Traceback (most recent call last):
...
pydantic_core._pydantic_core.ValidationError: 1 validation error for FitSettings
starts
  Input should be greater than or equal to 1 [type=greater_than_equal, input_value=0, input_type=int]
    ...
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from awaken.calibration import fitting
from awaken.calibration.ensemble import pass_fractions, simulate_members
from awaken.calibration.likelihood import negative_log_likelihood
from awaken.calibration.petab_problem import fitted_parameters, write_petab
from awaken.solvers.batch import run_typical
from awaken.report import calibration_figures
from awaken.report.html import ReportFigure, render_template
from awaken.runs.directory import RunDirectory
from awaken.runs.files import jsonable
from awaken.scorecard import LAST_TARGET_DAY, REQUIRED_EXPERIMENTS, score
from awaken.targets import load_targets

__all__ = ["FitSettings", "fit", "PHASES"]

#: Phases of a run, in order, with what their progress counts.
PHASES = {"starts": "multi-start (starts)", "profiles": "profiles (parameters)",
          "ensemble": "ensemble sampler (generations)"}
ProgressFactory = Callable[[str, int], Callable[[int], None]]


class FitSettings(BaseModel):
    """Settings of one calibration run (ranges checked before any work starts)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    starts: int = Field(20, ge=1, le=10_000, description="random starts (the shipped values are tried as well)")
    seed: int = Field(0, ge=0, le=2**32 - 1)
    max_iterations: int = Field(200, ge=1, le=100_000, description="L-BFGS-B iterations per start")
    profiles: list[str] | None = Field(None, description="parameters to profile (None: all; []: none)")
    walkers: int = Field(48, ge=2, le=10_000, description="ensemble sampler walkers (even, >= 2 x parameters)")
    generations: int = Field(400, ge=2, le=1_000_000, description="sampler generations (first half is burn-in)")
    ensemble_size: int = Field(200, ge=1, le=100_000, description="members kept from the second half")

    @model_validator(mode="after")
    def _consistent(self) -> FitSettings:
        names = [p.name for p in fitted_parameters()]
        if self.profiles is not None:
            unknown = [p for p in self.profiles if p not in names]
            if unknown:
                raise ValueError(f"profiles: unknown parameter(s) {', '.join(unknown)}; fitted are {', '.join(names)}")
        if self.walkers % 2 or self.walkers < 2 * len(names):
            raise ValueError(f"walkers = {self.walkers}: need an even number >= {2 * len(names)} "
                             f"(twice the {len(names)} fitted parameters)")
        return self


def _no_progress(_phase: str, _total: int) -> Callable[[int], None]:
    return lambda _n: None


def fit(out: str | Path, settings: FitSettings, *, overwrite: bool = False, progress: ProgressFactory | None = None,
        command: Sequence[str] | None = None) -> Path:
    """Run the calibration and write the run directory; returns its path."""
    progress = progress or _no_progress
    objective = fitting.CalibrationObjective()
    names = objective.names
    with RunDirectory(out, overwrite=overwrite, kind="fit", seed=settings.seed,
                      command=list(command) if command is not None else None,
                      settings=settings.model_dump(mode="json")) as run:
        write_petab(run.file("petab"), overwrite=True)
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
        run.write_json("ensemble_scores.json", jsonable(summary))

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
        report_figures = []
        for stem, title, caption, figure in specs:
            paths = run.save_figure(stem, figure)
            plt.close(figure)
            report_figures.append(ReportFigure(stem=stem, title=title, caption=caption, svg=paths["svg"].read_bytes()))
        prov = run.finish()
        run.write_text("report.html", render_template(
            "calibration.html.j2", title="awaken fit: the mouse lung model calibrated to the study's targets",
            prov=prov, settings=settings, starts=result.starts.to_dict("records"), scores=best_scores,
            fractions=fractions, verdicts=verdicts.to_dict("records"), per_band=per_band, figures=report_figures,
            members=len(ensemble), acceptance=acceptance, targets=load_targets()["mouse"],
            best=[{"name": n, "value": best_values[n], "nominal": nominal[n]} for n in names]))
    return Path(out)

