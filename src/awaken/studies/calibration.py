"""The infection-effect parameter calibrated to the UK Biobank result (target H1), and H2 checked.

``awakening_strength`` (the scale of the lung model's response -> metastasis link,
:mod:`awaken.cohort.infections`) is the one population parameter no measurement gives. It is chosen
so that the UK Biobank recipe (:mod:`awaken.studies.ukb`), run on the default simulated cohort,
gives the published adjusted odds ratio (1.85). The cohort is simulated with the same seed for
every trial value (common random numbers), so the odds ratio is a smooth, increasing function of
the strength and a bisection on its logarithm converges in a few steps. H2 - the excess concentrated
in the first year - is then a check, not a fit.

Example
-------
>>> from awaken.studies.calibration import H1_TARGET
>>> H1_TARGET
1.85
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from awaken.cohort.infection_response import infection_response
from awaken.cohort.parameters import CohortScenario
from awaken.cohort.simulate import simulate_block
from awaken.studies.ukb import UKBResult, ukb_analysis

__all__ = ["H1_TARGET", "simulate_records", "calibrate_awakening_strength", "Calibration", "human_target_values"]

#: the published odds ratio (Chia et al. 2025, UK Biobank; targets.yaml H1)
H1_TARGET = 1.85
_TABLES = ("patients", "tests", "metastases", "deaths")


def simulate_records(scenario: CohortScenario, n: int, seed: int, block: int = 100_000) -> dict[str, pd.DataFrame]:
    """The analysis tables of ``n`` survivors, in memory (dates as datetime64)."""
    response = infection_response()
    parts = [simulate_block(scenario, seed, a, min(n, a + block), response) for a in range(0, n, block)]
    out = {}
    for name in _TABLES:
        frame = pd.concat([p[name].to_pandas() for p in parts], ignore_index=True)
        for column in frame.columns:
            if column.endswith("date"):
                frame[column] = pd.to_datetime(frame[column])
        out[name] = frame
    return out


@dataclass(frozen=True)
class Calibration:
    strength: float
    result: UKBResult
    trials: list[tuple[float, float]]  # (strength, adjusted OR)
    n: int
    seed: int


def calibrate_awakening_strength(n: int = 500_000, seed: int = 2020, target: float = H1_TARGET,
                                 bounds: tuple[float, float] = (1e-3, 0.05), tolerance: float = 0.01,
                                 max_steps: int = 14, progress: Callable[[int], None] | None = None) -> Calibration:
    """Bisection on log(strength) until the adjusted odds ratio is within ``tolerance`` (relative)."""
    trials: list[tuple[float, float]] = []

    def odds_ratio(strength: float) -> tuple[float, UKBResult]:
        scenario = CohortScenario(parameters={"awakening_strength": strength})
        result = ukb_analysis(simulate_records(scenario, n, seed))
        trials.append((strength, result.odds_ratio))
        if progress is not None:
            progress(1)
        return result.odds_ratio, result

    lo, hi = (math.log(b) for b in bounds)
    best = None
    for _ in range(max_steps):
        middle = 0.5 * (lo + hi)
        value, result = odds_ratio(math.exp(middle))
        best = (math.exp(middle), result)
        if abs(value / target - 1) <= tolerance:
            break
        if value < target:
            lo = middle
        else:
            hi = middle
    return Calibration(strength=best[0], result=best[1], trials=trials, n=n, seed=seed)


def human_target_values(result: UKBResult) -> dict[str, tuple[float, str]]:
    """H1 and H2 as the scorecard reads them, from a UK Biobank recipe result."""
    odds = result.odds_ratios.loc["adjusted"]
    hr = result.hazard_ratios
    ratio = float(hr["HR"].iloc[0] / hr["HR"].iloc[1]) if hr["HR"].iloc[1] > 0 else float(np.inf)
    counts = result.counts
    return {
        "H1_ukb_cancer_death": (float(odds["OR"]), (
            f"UK Biobank recipe on the simulated cohort: {counts['tested_survivors']:,} tested survivors, "
            f"{counts['positive']:,} positive; adjusted OR 95% CI {odds['lower']:.2f}-{odds['upper']:.2f}; "
            f"awakening_strength calibrated to the published 1.85")),
        "H2_first_year": (ratio, (
            f"HR 0-12 months {hr['HR'].iloc[0]:.2f} ({hr['lower'].iloc[0]:.2f}-{hr['upper'].iloc[0]:.2f}) vs "
            f"12+ months {hr['HR'].iloc[1]:.2f} ({hr['lower'].iloc[1]:.2f}-{hr['upper'].iloc[1]:.2f}); "
            f"a check, not fitted")),
    }
