"""The natural history of a survivor's cancer without infections: distant recurrence, its site, death.

* **Distant recurrence** follows a piecewise-constant hazard in years since diagnosis: an early
  phase that peaks in years 1-2 (the shape of the IBCSG hazard curve reported by Saphner et al.
  1996, JCO 14:2738: relative levels 0.68, 1.0, 0.8 and 0.55 in years 0-1, 1-2, 2-3 and 3-5, whose
  mean over years 0-5 is 0.72 of the peak, as 10.4%/y is of 15.2%/y) scaled per stage and subtype,
  then a steady late hazard from year 5 (Pan et al. 2017, NEJM 377:1836, for ER+ disease; ER-
  disease keeps a fraction of it). Recurrence is drawn by inverting the cumulative hazard from the
  person's entry, so a survivor who enters years after diagnosis is, correctly, one who has not
  recurred yet.
* **Site**: the first distant metastasis involves the lung with a subtype-specific probability.
* **Death from cancer** follows metastasis after an exponential time with the subtype's median
  survival (ESME cohort, Deluche et al. 2020).

Example
-------
>>> from awaken.cohort.natural_history import HAZARD_BREAKS_YEARS
>>> HAZARD_BREAKS_YEARS
(0.0, 1.0, 2.0, 3.0, 5.0)
"""

from __future__ import annotations

import numpy as np

from awaken.cohort.parameters import SUBTYPES
from awaken.cohort.people import OTHER, People

__all__ = ["HAZARD_BREAKS_YEARS", "EARLY_SHAPE", "recurrence_hazards", "recurrence_days", "lung_share",
           "metastatic_survival_days"]

HAZARD_BREAKS_YEARS = (0.0, 1.0, 2.0, 3.0, 5.0)
#: relative early hazard in years 0-1, 1-2, 2-3, 3-5 (peak = 1), from the IBCSG curve (see above)
EARLY_SHAPE = (0.68, 1.0, 0.8, 0.55)
_ER_NEGATIVE = (SUBTYPES.index("hr_neg_her2_pos"), SUBTYPES.index("triple_negative"))
_STAGE_KEYS = ("stage_i", "stage_ii", "stage_iii")
_STAGE_FACTOR_OTHER = np.array([0.5, 1.0, 2.0])


def recurrence_hazards(people: People, v: dict[str, float]) -> np.ndarray:
    """Annual hazards per person (rows) in the intervals of :data:`HAZARD_BREAKS_YEARS` (columns)."""
    peak_by_stage = np.array([v[f"recurrence_peak_{s}"] for s in _STAGE_KEYS])
    late_by_stage = np.array([v[f"recurrence_late_{s}"] for s in _STAGE_KEYS])
    early_factor = np.array([v[f"early_factor_{s}"] for s in SUBTYPES])
    breast = people.cancer_type != OTHER
    subtype = np.where(breast, people.subtype, 0)
    peak = np.where(breast, peak_by_stage[people.stage] * early_factor[subtype],
                    v["other_recurrence_peak"] * _STAGE_FACTOR_OTHER[people.stage])
    er_negative = breast & np.isin(people.subtype, _ER_NEGATIVE)
    er_factor = np.where(er_negative, v["late_hazard_er_negative_factor"], 1.0)
    late = np.where(breast, late_by_stage[people.stage] * er_factor,
                    v["other_recurrence_late"] * _STAGE_FACTOR_OTHER[people.stage])
    return np.column_stack([peak * s for s in EARLY_SHAPE] + [late])


def _cumulative(hazards: np.ndarray, years: np.ndarray) -> np.ndarray:
    breaks = np.array(HAZARD_BREAKS_YEARS)
    widths = np.diff(np.append(breaks, np.inf))
    spent = np.clip(years[:, None] - breaks[None, :], 0.0, widths[None, :])
    return (hazards * spent).sum(axis=1)


def recurrence_days(people: People, v: dict[str, float], threshold: np.ndarray) -> np.ndarray:
    """Day of distant recurrence, given ``threshold ~ Exp(1)`` and no recurrence before entry."""
    hazards = recurrence_hazards(people, v)
    breaks = np.array(HAZARD_BREAKS_YEARS)
    at_entry = _cumulative(hazards, (people.entry_day - people.diagnosis_day) / 365.25)
    target = at_entry + threshold
    # cumulative hazard at each break, then the interval where the target is reached
    at_breaks = np.column_stack([_cumulative(hazards, np.full(people.size, b)) for b in breaks])
    k = (at_breaks <= target[:, None]).sum(axis=1) - 1
    rows = np.arange(people.size)
    rate = hazards[rows, k]
    years = breaks[k] + np.where(rate > 0, (target - at_breaks[rows, k]) / np.where(rate > 0, rate, 1.0), np.inf)
    return people.diagnosis_day + years * 365.25


def lung_share(people: People, v: dict[str, float]) -> np.ndarray:
    shares = np.array([v["lung_share_" + s] for s in SUBTYPES] + [v["lung_share_other"]])
    return shares[np.where(people.cancer_type != OTHER, people.subtype, len(SUBTYPES))]


def metastatic_survival_days(people: People, v: dict[str, float], threshold: np.ndarray) -> np.ndarray:
    """Time from distant metastasis to cancer death (exponential with the subtype's median)."""
    months = np.array([v["metastatic_survival_hr_pos_her2_neg"], v["metastatic_survival_her2_pos"],
                       v["metastatic_survival_her2_pos"], v["metastatic_survival_triple_negative"],
                       v["metastatic_survival_other"]])
    median = months[np.where(people.cancer_type != OTHER, people.subtype, len(SUBTYPES))] * 365.25 / 12
    return threshold * median / np.log(2.0)
