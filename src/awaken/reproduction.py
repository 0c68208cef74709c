"""The flagship: run the study's virtual experiments, score them and write a run directory.

``reproduce`` runs every shipped lung experiment, computes the scorecard, and writes Parquet
tables, figures (PNG + SVG), ``scorecard.json``, ``run.json`` and ``report.html`` into a run
directory that appears atomically. ``write_experiment`` does the same for a single experiment.

Run directory layout::

    run.json                 provenance
    report.html              self-contained report
    scorecard.json           targets with bands, simulated values and pass/fail (reproduce only)
    ensemble_scores.json     fraction of the calibration ensemble passing each target (reproduce only)
    tables/timecourse.parquet  group means per experiment and day
    tables/per_mouse.parquet   every mouse, day, read-out and state
    tables/parameters.parquet  every mouse's parameter values
    figures/*.png, *.svg

Example
-------
>>> from awaken.reproduction import experiments_to_run
>>> "influenza" in experiments_to_run()
True
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from awaken.schemas import InputError
from awaken.experiments.catalogue import list_experiments, load_experiment, with_overrides
from awaken.experiments.results import ExperimentResult
from awaken.solvers.reference import run_group
from awaken.lung.parameters import load_parameter_table
from awaken.experiments.protocol import Experiment
from awaken.report import figures
from awaken.report.html import ReportFigure, render_report
from awaken.runs.directory import RunDirectory
from awaken.runs.files import jsonable
from awaken.scorecard import LAST_TARGET_DAY, TargetScore, score
from awaken.targets import load_targets

__all__ = ["Outcome", "experiments_to_run", "run_experiments", "reproduce", "write_experiment"]

Progress = Callable[[int], None]


@dataclass(frozen=True)
class Outcome:
    """Where a run was written and what it found."""

    path: Path
    results: dict[str, ExperimentResult]
    scores: list[TargetScore] | None

    @property
    def report(self) -> Path:
        return self.path / "report.html"


def experiments_to_run() -> tuple[str, ...]:
    """Every shipped experiment (the reproduction runs them all)."""
    return list_experiments()


def run_experiments(scenarios: Sequence[Experiment], progress: Progress | None = None) -> dict[str, ExperimentResult]:
    return {s.name: run_group(s, progress=progress) for s in scenarios}


def _tables(results: Mapping[str, ExperimentResult]) -> dict[str, pd.DataFrame]:
    timecourse = pd.concat([r.timecourse.assign(experiment=name) for name, r in results.items()], ignore_index=True)
    per_mouse = pd.concat([r.per_mouse.assign(experiment=name) for name, r in results.items()], ignore_index=True)
    params = pd.concat([r.parameters.assign(experiment=name) for name, r in results.items()], ignore_index=True)

    def first(frame: pd.DataFrame) -> pd.DataFrame:
        return frame[["experiment", *[c for c in frame.columns if c != "experiment"]]]

    return {"timecourse": first(timecourse), "per_mouse": first(per_mouse), "parameters": first(params)}


def _save_figures(run: RunDirectory, specs: Sequence[tuple[str, str, str, object]]) -> list[ReportFigure]:
    out = []
    for stem, title, caption, fig in specs:
        paths = run.save_figure(stem, fig)
        plt.close(fig)
        out.append(ReportFigure(stem=stem, title=title, caption=caption, svg=paths["svg"].read_bytes()))
    return out


@dataclass(frozen=True)
class EnsembleSummary:
    """The calibration ensemble as the flagship report uses it."""

    members: int  # members inside the physiological envelope over the run (the ones scored and drawn)
    rejected: int  # members that left it
    fractions: dict[str, float]
    bands: dict
    source: str
    command: str


#: Read-outs the report's figures draw, which get ensemble bands.
_BAND_COLUMNS = ("dcc_count", "proliferating_fraction", "virus_titer", "il6_pg_per_ml", "neutrophils",
                 "cd4_t_cells", "cd4_aggregate_t_cells", "cd8_t_cells_active")


def ensemble_summary(path: str | Path | None, days: int) -> EnsembleSummary:
    """Simulate the calibration ensemble (default: the shipped one) in every experiment."""
    from awaken.calibration.ensemble import bands, ensemble_provenance, load_ensemble, pass_fractions, simulate_members
    from awaken.scorecard import REQUIRED_EXPERIMENTS

    members = load_ensemble(path)
    meta = ensemble_provenance(path)
    members_run = simulate_members(members, experiments_to_run(), days=days)
    if not members_run.runs:
        raise InputError(f"ensemble {path or 'shipped'}: every member leaves the physiological envelope in {days} d")
    scored = [{name: r[name] for name in REQUIRED_EXPERIMENTS} for r in members_run.runs]
    return EnsembleSummary(members=len(members_run.runs), rejected=members_run.rejected,
                           fractions=pass_fractions(scored), bands=bands(members_run.runs, _BAND_COLUMNS),
                           source=str(path) if path is not None else "shipped (awaken/calibration/data)",
                           command=" ".join(meta.get("command", [])) or "unknown")


_POPULATION_ROWS = (
    ("person_years", "person-years of follow-up"), ("influenza_infections", "influenza infections"),
    ("sars_cov_2_infections", "SARS-CoV-2 infections"), ("sars_cov_2_positive_records", "SARS-CoV-2 positive records"),
    ("metastases", "first distant metastases"), ("lung_metastases", "  of which lung"),
    ("metastases_from_infection", "  of which awakened by an infection"), ("cancer_deaths", "cancer deaths"),
    ("covid_19_deaths", "COVID-19 deaths"), ("other_deaths", "other deaths"),
)


def population_section(run: RunDirectory, n: int, seed: int) -> dict:
    """Simulate ``n`` survivors with and without the pandemic (same seed: common random numbers) into
    ``cohort/<arm>/`` and return the report's population section (counts, figures)."""
    from awaken.cohort.infection_response import infection_response
    from awaken.cohort.parameters import CohortScenario
    from awaken.cohort.run import read_cohort, run_cohort
    from awaken.cohort.summary import (
        ARM_LABELS,
        arm_counts,
        infections_per_season,
        metastases_by_site,
        metastasis_incidence_since,
        recurrence_curves,
    )
    from awaken.report.population_figures import analyses_figure, infections_figure, outcomes_figure
    from awaken.studies.calibration import human_target_values
    from awaken.studies.flatiron import flatiron_analysis
    from awaken.studies.records import load_records
    from awaken.studies.ukb import ukb_analysis
    from awaken.targets import load_targets

    base = CohortScenario()
    arms = {"pandemic": base, "no_pandemic": base.model_copy(update={"pandemic": False, "name": "no_pandemic"})}
    tables = {}
    for arm, scenario in arms.items():
        cohort = run_cohort(scenario, n=n, seed=seed, out=run.path / "cohort" / arm, executor="inline")
        tables[arm] = read_cohort(cohort.out)
    seasons = {arm: infections_per_season(t) for arm, t in tables.items()}
    incidence = {arm: metastasis_incidence_since(t) for arm, t in tables.items()}
    recurrence = {arm: recurrence_curves(t) for arm, t in tables.items()}
    by_site = {arm: metastases_by_site(t) for arm, t in tables.items()}
    figures = _save_figures(run, [
        ("population_infections", "Infections per season and wave",
         "Influenza infections per season and SARS-CoV-2 infections per wave, per 1,000 survivors under follow-up "
         "(filled: with the pandemic; open: without). Influenza almost vanishes in 2020-21 when the pandemic is on.",
         infections_figure(seasons)),
        ("population_outcomes", "Recurrence and metastasis with and without the pandemic",
         "(a) Cumulative incidence of a first lung metastasis after 1 January 2020 in survivors free of metastasis "
         "then (Aalen-Johansen; other-site metastasis and death compete). (b) Distant recurrence by stage of breast "
         "cancer, 1 - Kaplan-Meier by years since diagnosis with entry as left truncation. (c) First distant "
         "metastases by site, split into natural history and lesions awakened by an infection.",
         outcomes_figure(incidence, recurrence, by_site)),
    ])
    records = load_records(run.path / "cohort" / "pandemic")
    ukb, flatiron = ukb_analysis(records), flatiron_analysis(records)
    h1 = next(t for t in load_targets()["human"] if t["id"] == "H1_ukb_cancer_death")["published"]
    figures += _save_figures(run, [
        ("population_analyses", "The study's two designs on the simulated cohort",
         "(a) UK Biobank design (survivors diagnosed 5+ years before the pandemic and tested in its first year): "
         "odds ratio of cancer death, test-positive vs test-negative, crude and adjusted for age and sex, against "
         "the published 1.85 (1.14-3.02); hazard ratios by time since the positive test (cause-specific Cox, "
         "time-varying exposure). Flatiron design (breast cancer patients from March 2020, left-truncated at "
         "diagnosis): cause-specific hazard ratio of lung metastasis after a recorded COVID-19 diagnosis, adjusted "
         "for age, stage, ER and HER2. (b) Cumulative incidence of lung metastasis (Aalen-Johansen, death and "
         "other-site metastasis competing) from the recorded diagnosis and from the same date in matched unexposed "
         "patients (same subtype, alive and metastasis-free then).",
         analyses_figure(ukb, flatiron, (h1["estimate"], *h1["ci95"]))),
    ])
    run.write_json("cohort/analyses.json", jsonable({"ukb": ukb.to_dict(), "flatiron": flatiron.to_dict()}))
    counts = {arm: arm_counts(t) for arm, t in tables.items()}
    response = infection_response().summary()
    return {"people": n, "seed": seed, "scenario": base, "arms": list(arms), "labels": ARM_LABELS,
            "counts": counts, "rows": _POPULATION_ROWS, "figures": figures, "response": response,
            "awakening_strength": base.values()["awakening_strength"], "human": human_target_values(ukb),
            "ukb": ukb, "flatiron": flatiron}


def _write(run: RunDirectory, *, results: Mapping[str, ExperimentResult], scores: list[TargetScore] | None,
           report_figures: list[ReportFigure], title: str, intro: str, started: str,
           command: Sequence[str] | None, ensemble: EnsembleSummary | None = None,
           population: dict | None = None) -> None:
    tables = _tables(results)
    for name, frame in tables.items():
        run.write_parquet(f"tables/{name}.parquet", frame)
    if scores is not None:
        run.write_json("scorecard.json", jsonable(scores))
    if ensemble is not None:
        run.write_json("ensemble_scores.json", jsonable({"members": ensemble.members,
                                                            "rejected_by_envelope": ensemble.rejected,
                                                            "source": ensemble.source,
                                                            "command": ensemble.command,
                                                            "pass_fractions": ensemble.fractions}))
    scenarios = list(results.values())
    first = scenarios[0].experiment
    run.command = list(command if command is not None else sys.argv)
    run.scenarios = [r.experiment for r in scenarios]
    run.seed = first.seed
    prov = run.finish()
    table = load_parameter_table(first.species)
    virus = first.virus_kind
    mouse_ids = {t["id"] for t in load_targets().get("mouse", [])}
    mouse_scores = [s for s in scores or [] if s.passed is not None and s.id in mouse_ids]
    human_scores = [s for s in scores or [] if s.passed is not None and s.id not in mouse_ids]
    html = render_report(
        title=title, intro=intro, prov=prov, scores=scores,
        n_scored=len(mouse_scores), n_passed=sum(bool(s.passed) for s in mouse_scores),
        n_failed=sum(not s.passed for s in mouse_scores),
        n_pending=sum(s.passed is None for s in scores or []),
        n_human=len(human_scores), n_human_passed=sum(bool(s.passed) for s in human_scores),
        figures=report_figures, experiments=[r.experiment for r in scenarios], mice=first.mice, ensemble=ensemble,
        parameters=table.parameters(virus), parameter_virus=f"mouse, {table.viruses[virus].label}",
        tables=[f"tables/{n}.parquet" for n in tables], population=population)
    run.write_text("report.html", html)


def reproduce(out: str | Path, *, mice: int = 4, seed: int = 0, days: int = 365, overwrite: bool = False,
              progress: Progress | None = None, command: Sequence[str] | None = None,
              ensemble: str | Path | None | bool = True, population: int = 100_000) -> Outcome:
    """Run every virtual experiment of the study, score the targets, write the run directory.

    ``ensemble``: True for the shipped calibration ensemble, a path for another ``ensemble.parquet``,
    False for none. The ensemble adds dashed uncertainty bands to the figures and the fraction of
    members passing each target to the scorecard. ``population``: survivors of the population section
    (simulated with and without the pandemic); 0 leaves the section out."""
    if days < LAST_TARGET_DAY:
        raise InputError(f"days = {days}: the reproduction needs at least {LAST_TARGET_DAY} d (the last read-out)")
    scenarios = [with_overrides(load_experiment(n), days=days, seed=seed, mice=mice) for n in experiments_to_run()]
    started = None
    with RunDirectory(out, overwrite=overwrite, kind="reproduce") as run:
        results = run_experiments(scenarios, progress)
        section = population_section(run, population, seed) if population else None
        scores = score(results, human=section["human"] if section else None)
        summary = None if ensemble is False else ensemble_summary(None if ensemble is True else ensemble, days)
        bands = summary.bands if summary else None
        specs = [
            ("dcc_burden", "Dormant cancer cells wake after respiratory infection",
             "HER2+ DCCs per three lung sections (log scale) for every group: group means (lines), mice "
             "(bands, dots) and box plots at 3, 6, 9, 15 and 28 dpi as in the study's Figure 1; panel e follows "
             "every group for the whole run.", figures.dcc_burden(results, bands)),
            ("phenotypes", "Proliferation and the phenotype switch",
             "Ki67+ fraction of DCCs, and the dormant mesenchymal -> hybrid E/M -> proliferating epithelial "
             "composition with influenza and in IL-6 knockout mice.", figures.phenotypes(results, bands)),
            ("inflammation", "Virus, IL-6 and neutrophils",
             "Lung virus titre (dotted line: detection limit), IL-6 in lavage fluid and lung neutrophils.",
             figures.inflammation(results, bands)),
            ("t_cells", "CD4 T cells hold back CD8 T cells",
             "CD4 T cells in the lung and in lesion aggregates, and activated CD8 T cells, with antibodies "
             "given from 9 to 28 dpi (shaded). CD4 cells are the same with IgG and with anti-CD8.",
             figures.t_cells(results, bands)),
        ]
        report_figures = _save_figures(run, specs)
        _write(run, results=results, scores=scores, report_figures=report_figures, population=section,
               title="awaken: respiratory viral infections awaken dormant breast cancer cells in the lung",
               intro=("A virtual reproduction of the mouse experiments of Chia et al., Nature 645:496 (2025): "
                      f"{len(results)} groups of {mice} MMTV-Her2 (or wild-type) mice, simulated for {days} days "
                      "with awaken's within-host lung model, scored against every published observation."),
               started=started, command=command, ensemble=summary)
    return Outcome(path=Path(out), results=results, scores=scores)


def write_experiment(scenario: Experiment, out: str | Path, *, overwrite: bool = False,
                     progress: Progress | None = None, command: Sequence[str] | None = None) -> Outcome:
    """Run one experiment and write its run directory (tables, overview figure, report)."""
    started = None
    with RunDirectory(out, overwrite=overwrite, kind="experiment") as run:
        results = run_experiments([scenario], progress)
        result = results[scenario.name]
        report_figures = _save_figures(run, [(
            "overview", f"Experiment {scenario.name}",
            "DCC count (log scale; box plots at 3, 6, 9, 15, 28 dpi), DCC phenotype fractions, virus and IL-6, "
            "immune cells. Lines are group means; bands span the mice.", figures.experiment_overview(result))])
        _write(run, results=results, scores=None, report_figures=report_figures,
               title=f"awaken experiment: {scenario.name}", intro=scenario.description or scenario.name,
               started=started, command=command)
    return Outcome(path=Path(out), results=results, scores=None)
