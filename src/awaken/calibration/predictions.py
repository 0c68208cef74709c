"""The human side as predictions: the designs' results and the excess by path, over the posterior ensemble.

The joint calibration (:mod:`awaken.calibration.explanations`, ``awaken explain``) leaves a posterior
sample of the chosen explanation's parameters, shipped in ``awaken/calibration/data/human_posterior.csv``
(the accepted particles; the cohort table's defaults are their medians). Running the same survivors
under ``members`` of those particles - the survivors' lives up to their lungs are simulated once per arm
(:func:`awaken.cohort.simulate.prepare_block`) - gives every result as a prediction with an interval
that carries the calibration's uncertainty: the UK Biobank odds ratio (H1) and the first-year ratio
(H2), the Flatiron design's hazard ratio (a **held-out** observation: never calibrated to, reported only
as a prediction), and the excess lung metastases and cancer deaths on each path
(:mod:`awaken.cohort.attribution`).

Example
-------
>>> from awaken.calibration.predictions import load_posterior
>>> posterior = load_posterior()
>>> bool(len(posterior) > 0) and set(posterior.combination) == {posterior.combination.iloc[0]}
True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

from awaken.calibration.explanations import (
    COMBINATIONS,
    MECHANISM_PARAMETERS,
    combination_values,
    records_of,
)
from awaken.cohort.attribution import attribute
from awaken.cohort.parameters import CohortScenario
from awaken.cohort.simulate import prepare_block
from awaken.studies.flatiron import flatiron_analysis
from awaken.studies.ukb import ukb_analysis

__all__ = ["load_posterior", "Predictions", "predict", "posterior_members"]


@lru_cache(maxsize=1)
def load_posterior() -> pd.DataFrame:
    """The shipped posterior sample: one row per accepted particle of the chosen combination."""
    path = resources.files("awaken.calibration") / "data" / "human_posterior.csv"
    with resources.as_file(path) as file:
        return pd.read_csv(file, comment="#")


def posterior_members(members: int) -> list[dict[str, float]]:
    """``members`` particles spread evenly over the shipped posterior (all of them if fewer)."""
    posterior = load_posterior()
    combination = posterior.combination.iloc[0]
    names = [MECHANISM_PARAMETERS[m] for m in COMBINATIONS[combination]]
    take = np.unique(np.linspace(0, len(posterior) - 1, min(members, len(posterior))).round().astype(int))
    return [{"combination": combination, **{n: float(posterior[n].iloc[i]) for n in names}} for i in take]


@dataclass(frozen=True)
class Predictions:
    """Per posterior member: the designs' results; and the excess by path (median and 90 % interval)."""

    members: pd.DataFrame  # one row per member: parameters, H1 OR, H2 ratio, Flatiron HR
    excess: pd.DataFrame  # (outcome, path) x (median, p05, p95) of the pandemic-minus-no-pandemic difference

    def interval(self, column: str) -> tuple[float, float, float]:
        values = self.members[column].to_numpy(float)
        values = values[np.isfinite(values)]
        if values.size == 0:
            return (np.nan, np.nan, np.nan)
        lo, mid, hi = np.percentile(values, [5, 50, 95])
        return float(mid), float(lo), float(hi)


def predict(n: int, seed: int, members: int = 10, scenario: CohortScenario | None = None,
            progress: Callable[[int], None] | None = None) -> Predictions:
    """The same ``n`` survivors with and without the pandemic under ``members`` posterior particles."""
    scenario = scenario or CohortScenario()
    arms = {"pandemic": scenario, "no_pandemic": scenario.model_copy(update={"pandemic": False})}
    prepared = {arm: [prepare_block(s, seed, a, min(n, a + 100_000)) for a in range(0, n, 100_000)]
                for arm, s in arms.items()}
    rows, differences = [], []
    for k, member in enumerate(posterior_members(members)):
        combination = member.pop("combination")
        tables = {arm: records_of(blocks, combination_values(combination, member, blocks[0].values))
                  for arm, blocks in prepared.items()}
        ukb = ukb_analysis(tables["pandemic"])
        hr = ukb.hazard_ratios["HR"]
        flatiron = flatiron_analysis(tables["pandemic"])
        rows.append({"member": k, "combination": combination, **member, "ukb_odds_ratio": ukb.odds_ratio,
                     "first_year_ratio": float(hr.iloc[0] / hr.iloc[1]),
                     "flatiron_hazard_ratio": flatiron.hazard_ratio})
        differences.append(attribute(tables)["difference"].rename(k))
        if progress is not None:
            progress(1)
    spread = pd.concat(differences, axis=1)
    excess = pd.DataFrame({"median": spread.median(axis=1), "p05": spread.quantile(0.05, axis=1),
                           "p95": spread.quantile(0.95, axis=1)})
    return Predictions(members=pd.DataFrame(rows), excess=excess)
