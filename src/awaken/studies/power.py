"""Planning the next study: simulation-based power of a confirmatory cohort.

For a design - the Flatiron recipe (recorded COVID-19 diagnosis, lung metastasis) or the UK Biobank
recipe (test-positive vs test-negative survivors, cancer death) - and a cohort size, awaken simulates
``replicates`` cohorts at each true effect (values of ``awakening_strength``, the strength of the
causal mechanism (a); every other explanation of the human excess is switched off, so 0 is no effect
at all), analyses each exactly as the recipe does, and reports per effect the mean
estimated hazard (or odds) ratio - the effect the design sees - and the power, the share of
replicates whose estimate exceeds 1 with a two-sided p below ``alpha``. The smallest detectable
ratio is where the power curve crosses ``target_power`` (linear interpolation between effects).
Replicate ``r`` uses the same seed at every effect (common random numbers), so the power curve is
smooth; at effect 0 the power is the type I error.

Example
-------
>>> from awaken.studies.power import PowerSettings
>>> PowerSettings().replicates
100
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from awaken.cohort.parameters import MECHANISM_SWITCHES, CohortScenario
from awaken.runs.execution import Execution

if TYPE_CHECKING:
    import pandas as pd
from awaken.schemas import Integer, Real

__all__ = ["PowerSettings", "PowerResult", "power_curve", "replicate"]

_FLATIRON_SCENARIO = {"name": "flatiron_breast_us", "country": "united_states", "cancer_mix": {"breast": 1.0},
                      "diagnosis_from": "2011-01-01"}


class PowerSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    design: Literal["flatiron", "ukb"] = Field("flatiron", description="the analysis recipe")
    n: Integer = Field(36_845, ge=100, le=10_000_000, json_schema_extra={"unit": "people"},
                   description="people simulated per replicate (Flatiron: 36,845 breast cancer patients)")
    strengths: tuple[Real, ...] = Field((0.0, 0.0005, 0.001, 0.002, 0.004, 0.008),
                                         description="true effects: values of awakening_strength (0 = none)")
    replicates: Integer = Field(100, ge=2, le=100_000, description="simulated cohorts per effect")
    alpha: Real = Field(0.05, gt=0, lt=1, description="two-sided significance level")
    target_power: Real = Field(0.8, gt=0, lt=1, description="power that defines the smallest detectable ratio")
    seed: Integer = Field(0, ge=0, le=2**32 - 1, description="seed of replicate 0 (replicate r uses seed + r)")

    @field_validator("strengths")
    @classmethod
    def _valid_strengths(cls, values: tuple[float, ...]) -> tuple[float, ...]:
        if not values:
            raise ValueError("give at least one effect")
        bad = [v for v in values if not 0 <= v <= 1]
        if bad:
            raise ValueError(f"awakening_strength values must be >= 0 and <= 1, got {bad}")
        return tuple(sorted(set(values)))

    def scenario(self, strength: float) -> CohortScenario:
        base = _FLATIRON_SCENARIO if self.design == "flatiron" else {"name": "uk_biobank"}
        only_awakening = {name: name == "awakening" for name in MECHANISM_SWITCHES}
        return CohortScenario(**base, parameters={"awakening_strength": strength}, mechanisms=only_awakening)


def replicate(settings: PowerSettings, strength: float, index: int) -> dict[str, float]:
    """Simulate and analyse one cohort; returns the estimate and its p-value."""
    from awaken.cohort.run import simulate_records

    return _analyse(settings, simulate_records(settings.scenario(strength), settings.n, settings.seed + index),
                    strength, index)


def replicate_at_every_strength(settings: PowerSettings, index: int, block: int = 100_000) -> list[dict[str, float]]:
    """Replicate ``index`` at every effect: its survivors are simulated once up to their lungs
    (:func:`awaken.cohort.simulate.prepare_block`; the effect, ``awakening_strength``, acts only after
    them), then finished and analysed at each strength - the numbers :func:`replicate` gives at each,
    with the lungs simulated once instead of once per effect (tested)."""
    from awaken.cohort.run import records_from_tables
    from awaken.cohort.simulate import finish_block, prepare_block
    from awaken.records import REQUIRED_TABLES

    seed = settings.seed + index
    blocks = [prepare_block(settings.scenario(settings.strengths[0]), seed, a, min(settings.n, a + block))
              for a in range(0, settings.n, block)]
    rows = []
    for strength in settings.strengths:
        values = settings.scenario(strength).values()
        records = records_from_tables([finish_block(b, values, REQUIRED_TABLES) for b in blocks])
        rows.append(_analyse(settings, records, strength, index))
    return rows


def _analyse(settings: PowerSettings, records, strength: float, index: int) -> dict[str, float]:
    import warnings

    # A small cohort may have no outcome among the exposed: the likelihood is monotone, the estimate
    # runs off to 0 (or infinity) and its variance is undefined (R's coxph warns "coefficient may be
    # infinite"). Such a replicate is kept, flagged, and counts as not significant.
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        if settings.design == "flatiron":
            from awaken.studies.flatiron import flatiron_analysis

            row = flatiron_analysis(records, curves=False, by_window=False).hazard_ratios.loc["after diagnosis"]
            estimate = float(row["HR"])
        else:
            from awaken.studies.ukb import ukb_analysis

            row = ukb_analysis(records).odds_ratios.loc["adjusted"]
            estimate = float(row["OR"])
    finite = all(math.isfinite(float(row[k])) for k in ("lower", "upper", "p")) and 0 < estimate < math.inf
    return {"strength": strength, "replicate": index, "estimate": estimate, "lower": float(row["lower"]),
            "upper": float(row["upper"]), "p": float(row["p"]) if finite else 1.0, "degenerate": not finite}


@dataclass(frozen=True)
class PowerResult:
    settings: PowerSettings
    replicates: pd.DataFrame  # one row per (strength, replicate)
    curve: pd.DataFrame  # one row per strength: mean/median estimate, power, its Monte Carlo SE
    smallest_detectable: float | None  # ratio at target power (None if never reached)

    @property
    def ratio_name(self) -> str:
        return "hazard ratio" if self.settings.design == "flatiron" else "odds ratio"

    def to_dict(self) -> dict:
        return {"settings": self.settings.model_dump(mode="json"), "ratio": self.ratio_name,
                "curve": self.curve.to_dict(orient="records"), "smallest_detectable_ratio": self.smallest_detectable}


def _summarise(settings: PowerSettings, rows: pd.DataFrame) -> tuple[pd.DataFrame, float | None]:
    import pandas as pd

    significant = (rows["p"] < settings.alpha) & (rows["estimate"] > 1)
    grouped = rows.assign(significant=significant).groupby("strength")
    curve = pd.DataFrame({
        "mean_ratio": grouped["estimate"].apply(lambda x: float(np.exp(np.log(x[(x > 0) & np.isfinite(x)]).mean()))),
        "median_ratio": grouped["estimate"].median(),
        "power": grouped["significant"].mean(),
        "replicates": grouped.size(),
        "degenerate": grouped["degenerate"].sum(),
    }).reset_index()
    curve["power_se"] = np.sqrt(curve.power * (1 - curve.power) / curve.replicates)
    smallest = None
    ordered = curve.sort_values("mean_ratio")
    above = np.flatnonzero(ordered.power.to_numpy() >= settings.target_power)
    if above.size:
        k = int(above[0])
        if k == 0:
            smallest = float(ordered.mean_ratio.iloc[0])
        else:
            p0, p1 = ordered.power.iloc[k - 1], ordered.power.iloc[k]
            r0, r1 = ordered.mean_ratio.iloc[k - 1], ordered.mean_ratio.iloc[k]
            w = (settings.target_power - p0) / (p1 - p0) if p1 > p0 else 1.0
            smallest = float(math.exp(math.log(r0) + w * (math.log(r1) - math.log(r0))))
    return curve, smallest


def power_curve(settings: PowerSettings, execution: Execution | None = None,
                progress: Callable[[int], None] | None = None) -> PowerResult:
    """Every (effect, replicate) simulated and analysed on ``execution`` (default: in this process);
    the results do not depend on where they ran."""
    import pandas as pd

    execution = execution or Execution(inline=True)
    tasks = [(settings, r) for r in range(settings.replicates)]
    results = execution.map(replicate_at_every_strength, tasks, weights=[len(settings.strengths)] * len(tasks),
                            advance=progress, name="awaken-power")
    rows = pd.DataFrame([row for rows in results for row in rows]).sort_values(["strength", "replicate"],
                                                                                ignore_index=True)
    curve, smallest = _summarise(settings, rows)
    return PowerResult(settings=settings, replicates=rows, curve=curve, smallest_detectable=smallest)
