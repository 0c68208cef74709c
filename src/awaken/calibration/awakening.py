"""The cohort's infection-effect parameter calibrated to the UK Biobank result (target H1).

``awakening_strength`` (the scale of the lung model's response -> metastasis link,
:mod:`awaken.cohort.infections`) is the one population parameter no measurement gives. It is chosen
so that the UK Biobank recipe (:mod:`awaken.studies.ukb`), run on the default simulated cohort,
gives the published adjusted odds ratio (1.85). The cohort is simulated with the same seed for
every trial value (common random numbers), so the odds ratio is a smooth, increasing function of
the strength and a bisection on its logarithm converges in a few steps. H2 - the excess concentrated
in the first year - is then a check, not a fit. The published value comes from ``targets.yaml``.

Example
-------
>>> from awaken.calibration.awakening import h1_published
>>> h1_published()
1.85
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from awaken.cohort.parameters import CohortScenario
from awaken.cohort.run import simulate_records
from awaken.studies.ukb import UKBResult, ukb_analysis
from awaken.targets import published

__all__ = ["h1_published", "calibrate_awakening_strength", "Calibration"]


def h1_published() -> float:
    """The published odds ratio of target H1 (Chia et al. 2025, UK Biobank)."""
    return float(published("H1_ukb_cancer_death")["estimate"])


@dataclass(frozen=True)
class Calibration:
    strength: float
    result: UKBResult
    trials: list[tuple[float, float]]  # (strength, adjusted OR)
    n: int
    seed: int


def calibrate_awakening_strength(n: int = 500_000, seed: int = 2020, target: float | None = None,
                                 bounds: tuple[float, float] = (1e-3, 0.05), tolerance: float = 0.01,
                                 max_steps: int = 14, progress: Callable[[int], None] | None = None) -> Calibration:
    """Bisection on log(strength) until the adjusted odds ratio is within ``tolerance`` (relative) of
    ``target`` (default: the published H1)."""
    target = h1_published() if target is None else target
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
