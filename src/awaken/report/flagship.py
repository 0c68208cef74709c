"""The figures of a run of virtual experiments and of the flagship's cohort, with their captions.

Each function draws from results the layers below produced (experiment results that keep the
result contract, cohort tables, recipe results), saves every figure into the run directory as PNG
and SVG, and returns the :class:`~awaken.report.html.ReportFigure` the HTML report embeds.

Example
-------
>>> [stem for stem, *_ in LUNG_FIGURES]
['dcc_burden', 'phenotypes', 'inflammation', 't_cells']
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from awaken.calibration.ensemble import Band
from awaken.calibration.predictions import Predictions, load_posterior
from awaken.cohort.parameters import MECHANISM_SWITCHES, CohortScenario
from awaken.cohort.summary import (
    ARM_LABELS,
    arm_counts,
    infections_per_season,
    metastases_by_site,
    metastasis_incidence_since,
    recurrence_curves,
)
from awaken.experiments.results import ExperimentResult
from awaken.report import figures
from awaken.report.cohort_figures import infections_figure, outcomes_figure
from awaken.report.html import CohortSection, ReportFigure
from awaken.report.study_figures import analyses_figure
from awaken.runs.directory import RunDirectory
from awaken.studies.flatiron import FlatironResult
from awaken.studies.ukb import UKBResult
from awaken.targets import published

__all__ = ["LUNG_FIGURES", "save_figures", "lung_figures", "experiment_figures", "cohort_section", "COHORT_ROWS"]

Results = Mapping[str, ExperimentResult]
Bands = Mapping[tuple[str, str], Band] | None

#: stem, title, caption and drawing function of each figure of the flagship's lung section.
LUNG_FIGURES: tuple[tuple[str, str, str, Callable[[Results, Bands], Any]], ...] = (
    ("dcc_burden", "Dormant cancer cells wake after respiratory infection",
     "HER2+ DCCs per three lung sections (log scale) for every group: group means (lines), mice "
     "(bands, dots) and box plots at 3, 6, 9, 15 and 28 dpi as in the study's Figure 1; panel e follows "
     "every group for the whole run.", figures.dcc_burden),
    ("phenotypes", "Proliferation and the phenotype switch",
     "Ki67+ fraction of DCCs, and the dormant mesenchymal -> hybrid E/M -> proliferating epithelial "
     "composition with influenza and in IL-6 knockout mice.", figures.phenotypes),
    ("inflammation", "Virus, IL-6 and neutrophils",
     "Lung virus titre (dotted line: detection limit), IL-6 in lavage fluid and lung neutrophils.",
     figures.inflammation),
    ("t_cells", "CD4 T cells hold back CD8 T cells",
     "CD4 T cells in the lung and in lesion aggregates, and activated CD8 T cells, with antibodies "
     "given from 9 to 28 dpi (shaded). CD4 cells are the same with IgG and with anti-CD8.", figures.t_cells),
)

#: Rows of the flagship's cohort table: key of :func:`awaken.cohort.summary.arm_counts`, label.
COHORT_ROWS: tuple[tuple[str, str], ...] = (
    ("person_years", "person-years of follow-up"), ("influenza_infections", "influenza infections"),
    ("sars_cov_2_infections", "SARS-CoV-2 infections"), ("sars_cov_2_positive_records", "SARS-CoV-2 positive records"),
    ("metastases", "first distant metastases"), ("lung_metastases", "  of which lung"),
    ("metastases_from_infection", "  of which awakened by an infection"), ("cancer_deaths", "cancer deaths"),
    ("covid_19_deaths", "COVID-19 deaths"), ("other_deaths", "other deaths"),
)


def save_figures(run: RunDirectory, specs: Sequence[tuple[str, str, str, Any]]) -> list[ReportFigure]:
    """Save each ``(stem, title, caption, figure)`` as PNG and SVG; close it; return the report's figures."""
    out = []
    for stem, title, caption, fig in specs:
        paths = run.save_figure(stem, fig)
        plt.close(fig)
        out.append(ReportFigure(stem=stem, title=title, caption=caption, svg=paths["svg"].read_bytes()))
    return out


def lung_figures(run: RunDirectory, results: Results, bands: Bands = None) -> list[ReportFigure]:
    """The four figures of the study's mouse experiments (with the ensemble's bands, if given)."""
    return save_figures(run, [(stem, title, caption, draw(results, bands)) for stem, title, caption, draw in LUNG_FIGURES])


def experiment_figures(run: RunDirectory, result: ExperimentResult) -> list[ReportFigure]:
    """The overview figure of one experiment."""
    return save_figures(run, [(
        "overview", f"Experiment {result.name}",
        "DCC count (log scale; box plots at 3, 6, 9, 15, 28 dpi), DCC phenotype fractions, virus and IL-6, "
        "immune cells. Lines are group means; bands span the mice.", figures.experiment_overview(result))])


def cohort_section(run: RunDirectory, scenario: CohortScenario, people: int, seed: int,
                   arms: Mapping[str, Mapping[str, pd.DataFrame]], ukb: UKBResult, flatiron: FlatironResult,
                   response: dict[str, dict[str, float]], predictions: Predictions) -> CohortSection:
    """The cohort section of the flagship: counts per arm, three figures (arms compared, designs)."""
    seasons = {arm: infections_per_season(t) for arm, t in arms.items()}
    incidence = {arm: metastasis_incidence_since(t) for arm, t in arms.items()}
    recurrence = {arm: recurrence_curves(t) for arm, t in arms.items()}
    by_site = {arm: metastases_by_site(t) for arm, t in arms.items()}
    h1 = published("H1_ukb_cancer_death")
    low, high = h1["ci95"]
    shown = save_figures(run, [
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
        ("population_analyses", "The study's two designs on the simulated cohort",
         "(a) UK Biobank design (survivors diagnosed 5+ years before the pandemic and tested in its first year): "
         f"odds ratio of cancer death, test-positive vs test-negative, crude and adjusted for age and sex, against "
         f"the published {h1['estimate']:g} ({low:g}-{high:g}); hazard ratios by time since the positive test "
         "(cause-specific Cox, time-varying exposure). Flatiron design (breast cancer patients from March 2020, "
         "left-truncated at diagnosis): cause-specific hazard ratio of lung metastasis after a recorded COVID-19 "
         "diagnosis, adjusted for age, stage, ER and HER2. (b) Cumulative incidence of lung metastasis "
         "(Aalen-Johansen, death and other-site metastasis competing) from the recorded diagnosis and from the same "
         "date in matched unexposed patients (same subtype, alive and metastasis-free then).",
         analyses_figure(ukb, flatiron, (h1["estimate"], low, high))),
    ])
    return CohortSection(people=people, seed=seed, scenario=scenario, arms=tuple(arms), labels=ARM_LABELS,
                         counts={arm: arm_counts(t) for arm, t in arms.items()}, rows=COHORT_ROWS, figures=shown,
                         response=response, ukb=ukb, flatiron=flatiron,
                         mechanisms={name: scenario.values()[name] for name, _ in MECHANISM_SWITCHES.values()},
                         predictions={k: predictions.interval(k) for k in ("ukb_odds_ratio", "first_year_ratio",
                                                                           "flatiron_hazard_ratio")},
                         excess=[(outcome.replace("_", " "), path.replace("_", " "), r["median"], r["p05"], r["p95"])
                                 for (outcome, path), r in predictions.excess.iterrows()],
                         posterior_members=len(predictions.members),
                         combination=str(predictions.members.combination.iloc[0]).replace("_", " "),
                         posterior=_posterior_rows(), posterior_size=len(load_posterior()))


def _posterior_rows() -> list[tuple[str, float, float, float]]:
    """Median and 90 % interval of each calibrated parameter and of the causal share, over the shipped posterior."""
    posterior = load_posterior()
    names = [c for c in posterior.columns if c not in ("particle", "combination") and "_seed" not in c]
    rows = []
    for name in names:
        values = posterior[name].to_numpy(float)
        values = values[np.isfinite(values)]
        if values.size:
            lo, mid, hi = np.percentile(values, [5, 50, 95])
            rows.append((name, float(mid), float(lo), float(hi)))
    return rows
