"""The targets as a likelihood: one noise model per published band.

The study publishes bands, fold changes and directions, not data points with error bars, so each
band of ``targets.yaml`` becomes the likelihood of "the group mean lies in this band":

* a **closed band** ``[lo, hi]`` (both edges inside the measure's natural range) is a normal
  distribution on the measure's scale whose 95 % interval is the band: median at the band's
  (geometric, for ratios) centre, ``sigma = width / (2 * 1.96)``;
* an **open band** (one edge at the natural bound: 0 or infinity for a fold change, 0 or 1 for a
  fraction) is a *censored* observation - "at least ``lo``" or "at most ``hi``" - with likelihood
  ``Phi(distance inside the edge / sigma)``: flat well inside the band, 1/2 on the edge, falling
  like a normal tail outside. ``sigma`` is :data:`OPEN_EDGE_SIGMA` (ours: a quarter of a decade for
  fold changes, 0.05 for fractions);
* a band spanning the whole natural range constrains nothing and is left out.

Fold changes (:class:`awaken.scorecard.Ratio`) live on a log10 scale, fractions
(:class:`awaken.scorecard.Level`) on a linear one. M3 (the day of the proliferation peak) and M11 (a
maximum over two viral curves) are not read-outs at a time point: they stay scorecard checks,
evaluated on every fitted parameter set but not part of the likelihood.

The cost is the negative log-likelihood up to a constant: ``sum(z**2 / 2)`` over closed bands plus
``sum(-log Phi)`` over open ones, so a parameter set deep inside every band costs about 0.

Open bands do not bound growth from above, so fitting and sampling add a physiological prior on
trajectories (:func:`physiological_prior_cost`): the whole lung cannot carry more than
:data:`WHOLE_LUNG_DCC_CEILING` cancer cells.

Example
-------
>>> from awaken.calibration.likelihood import calibration_data
>>> [d.id for d in calibration_data()][:3]
['M1_mock_dormant', 'M2_onset_day3', 'M4_expansion_day15']
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
from scipy.special import log_ndtr

from awaken.experiments.results import ExperimentResult
from awaken.scorecard import MEASURES, Level, Parts, Ratio
from awaken.targets import load_targets

__all__ = ["NoiseModel", "CalibrationDatum", "calibration_data", "negative_log_likelihood", "OPEN_EDGE_SIGMA",
           "Z95", "FAILED_COST", "calibration_experiments", "calibration_days", "physiological_prior_cost", "WHOLE_LUNG_DCC_CEILING",
           "CEILING_NOISE"]

#: Standard normal quantile of a two-sided 95 % interval.
Z95 = 1.959963984540054
#: Softness of an open band's edge on the measure's scale (ours): fold changes in decades, fractions linear.
OPEN_EDGE_SIGMA: dict[str, float] = {"log10": 0.25, "lin": 0.05}
#: Whole-lung cancer cells a living mouse can carry, as a physiological ceiling. Value 1e7 cell,
#: plausible range 1e6-1e8 cell. Source: ours, an order of magnitude, not a measured count: a mouse
#: lung holds on the order of 1e8 cells and the study's mice were not moribund at 28 dpi, so a tenth
#: of the organ as disseminated cancer cells is outside physiology. Not fitted; the targets' open
#: bands ("at least 10-fold at 28 dpi") do not bound growth from above, this prior does.
WHOLE_LUNG_DCC_CEILING = 1e7
#: Cost returned when a measure cannot be computed (a control group with no cells): finite, so
#: optimisers step back instead of stopping.
FAILED_COST = 1e6


@dataclass(frozen=True)
class NoiseModel:
    """How one measure is compared with its band.

    ``kind``: ``normal`` (closed band), ``at_least`` (right-censored: the value is at least the
    edge) or ``at_most`` (left-censored). ``centre`` is the median (normal) or the edge, and
    ``sigma`` the standard deviation, both on ``scale``.
    """

    kind: Literal["normal", "at_least", "at_most"]
    scale: Literal["log10", "lin"]
    centre: float
    sigma: float

    def transform(self, value: float) -> float:
        if self.scale == "lin":
            return float(value)
        return math.log10(value) if value > 0 else -math.inf

    def cost(self, value: float) -> float:
        """Negative log-likelihood of ``value`` up to a constant (0 at the centre of a closed band)."""
        if not np.isfinite(value) and not (value == math.inf and self.kind == "at_least"):
            return FAILED_COST
        x = self.transform(value)
        if self.kind == "normal":
            return 0.5 * ((x - self.centre) / self.sigma) ** 2
        inside = (x - self.centre) if self.kind == "at_least" else (self.centre - x)
        return float(-log_ndtr(inside / self.sigma))

    def edges(self) -> tuple[float, float]:
        """The band this noise model encodes, on the measure's own (linear) scale."""
        back = (lambda v: v) if self.scale == "lin" else (lambda v: 10.0 ** v)
        if self.kind == "normal":
            return back(self.centre - Z95 * self.sigma), back(self.centre + Z95 * self.sigma)
        return (back(self.centre), math.inf) if self.kind == "at_least" else (-math.inf, back(self.centre))


def _natural_range(measure: Ratio | Level) -> tuple[float, float]:
    return (0.0, math.inf) if isinstance(measure, Ratio) else (0.0, 1.0)


def noise_model(measure: Ratio | Level, band: list[float]) -> NoiseModel | None:
    """The noise model of ``band`` for ``measure`` (None if the band spans the natural range)."""
    lo, hi = float(band[0]), float(band[1])
    natural_lo, natural_hi = _natural_range(measure)
    scale: Literal["log10", "lin"] = "log10" if isinstance(measure, Ratio) else "lin"
    to_scale = math.log10 if scale == "log10" else float
    has_lo, has_hi = lo > natural_lo, hi < natural_hi
    if has_lo and has_hi:
        a, b = to_scale(lo), to_scale(hi)
        return NoiseModel("normal", scale, (a + b) / 2, (b - a) / (2 * Z95))
    if has_lo:
        return NoiseModel("at_least", scale, to_scale(lo), OPEN_EDGE_SIGMA[scale])
    if has_hi:
        return NoiseModel("at_most", scale, to_scale(hi), OPEN_EDGE_SIGMA[scale])
    return None


@dataclass(frozen=True)
class CalibrationDatum:
    """One band of one target, with the measure that is compared with it."""

    target: str
    part: str | None
    measure: Ratio | Level
    band: tuple[float, float]
    noise: NoiseModel

    @property
    def id(self) -> str:
        return self.target if self.part is None else f"{self.target}__{self.part}"


@lru_cache(maxsize=1)
def calibration_data() -> tuple[CalibrationDatum, ...]:
    """Every band of the mouse targets that the likelihood uses, in targets-file order."""
    data = []
    for target in load_targets()["mouse"]:
        measure = MEASURES[target["id"]]
        if isinstance(measure, Parts):
            pieces = [(name, m, target["band"][name]) for name, m in measure.parts.items()]
        elif isinstance(measure, (Ratio, Level)):
            pieces = [(None, measure, target["band"])]
        else:
            continue
        for part, m, band in pieces:
            noise = noise_model(m, band)
            if noise is not None:
                data.append(CalibrationDatum(target["id"], part, m, (float(band[0]), float(band[1])), noise))
    return tuple(data)


def calibration_experiments() -> tuple[str, ...]:
    """The virtual experiments the likelihood needs, sorted."""
    return tuple(sorted({e for d in calibration_data() for e in d.measure.experiments}))


def calibration_days() -> tuple[float, ...]:
    """The read-out days the likelihood needs, sorted."""
    days = set()
    for d in calibration_data():
        days.add(float(d.measure.day))
        if isinstance(d.measure, Ratio):
            days.add(float(d.measure.reference_day))
    return tuple(sorted(days))


def negative_log_likelihood(results: Mapping[str, ExperimentResult], per_datum: bool = False
                            ) -> float | dict[str, float]:
    """The cost of one set of experiment results (see the module docstring)."""
    costs = {}
    for datum in calibration_data():
        try:
            value = datum.measure(results)
        except (KeyError, ZeroDivisionError):
            value = math.nan
        costs[datum.id] = datum.noise.cost(value)
    return costs if per_datum else float(sum(costs.values()))


#: The ceiling as a soft "at most" edge, like an open band (a quarter of a decade).
CEILING_NOISE = NoiseModel("at_most", "log10", math.log10(WHOLE_LUNG_DCC_CEILING), OPEN_EDGE_SIGMA["log10"])


def physiological_prior_cost(results: Mapping[str, ExperimentResult]) -> float:
    """Prior cost of the largest whole-lung DCC number (``dcc_total``) over every experiment and
    output day of ``results``: about 0 below :data:`WHOLE_LUNG_DCC_CEILING`, a normal tail above.
    A prior on trajectories, not an observation: it is not part of the PEtab problem."""
    largest = max(float(np.max(r.series("dcc_total"))) for r in results.values())
    return CEILING_NOISE.cost(largest)
