"""What a person's infections do to their cancer and to their record: the competing explanations.

The second pass over a person's infections (the first, :mod:`awaken.cohort.infections`, decided
which happen) walks them in time order with what each left in the person's lung
(:mod:`awaken.cohort.lungs`: ``F``, the lung DCC fold change) and applies the mechanisms that may
explain the human excess of cancer deaths after an infection, each switchable by its strength
(0 = off; :class:`~awaken.cohort.parameters.CohortScenario` ``mechanisms``):

(a) **awakening** of dormant foci into a new lesion (the study's mouse mechanism): with probability
    ``1 - exp(-s_w K (F - 1))`` (``K`` the person's dormant lung foci) a lesion that is clinically
    detected as a lung metastasis after a log-normal delay;
(b) **acceleration of occult disease**: a lung recurrence already growing below detection (within
    ``occult_doublings`` volume doublings of its detection) is brought forward by
    ``s_b x T_d x log2 F`` days (``T_d`` the doubling time of lung metastases): the infection
    multiplies its growth as it multiplies the lung DCC burden;
(c) **acceleration of established disease**: a person with lung metastases who is infected loses
    ``s_c x T_d x log2 F`` days of survival;
(d) **non-causal paths** in what the record shows: during care-driven testing (the first pandemic
    months) a person with active cancer (metastatic, or within ``care_contact_lead`` days of it) is
    ``care_testing_factor`` times as likely to have an infection recorded (and, in
    :mod:`awaken.cohort.simulate`, tested negative as often); and a COVID-19 death may be certified as
    a cancer death (:mod:`awaken.cohort.simulate`). Active cancer starts at the earlier of the
    metastasis and ``care_contact_lead`` days before the natural-history recurrence (disease that exists
    whatever the infections do), so it is the same whether read at an infection or afterwards.

A mechanism never makes anything happen later than without infections; an infection after the
person has died of the cancer an earlier one accelerated did not happen and is dropped.

Example
-------
>>> from awaken.cohort.cancer_course import PARAMETER_ORDER
>>> PARAMETER_ORDER[:3]
('awakening_strength', 'detection_delay_median', 'detection_delay_sigma')
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from awaken.cohort import streams
from awaken.cohort.draws import uniform

__all__ = ["CancerCourse", "cancer_course", "PARAMETER_ORDER"]

#: order of the scalar parameters handed to the compiled pass
PARAMETER_ORDER = (
    "awakening_strength", "detection_delay_median", "detection_delay_sigma", "occult_acceleration",
    "metastatic_acceleration", "metastasis_doubling_time", "occult_doublings", "care_testing_factor",
    "care_contact_lead", "influenza_recorded_fraction", "test_delay",
)


@dataclass(frozen=True)
class CancerCourse:
    """Per candidate: ``happened`` (accepted and the person alive), ``recorded``, ``record_day``,
    ``awakened``, ``detection_day``. Per person: ``metastasis_day`` and its ``from_infection`` origin
    (an awakened lesion), ``lung`` (the first metastasis involves the lung), ``cancer_death_day`` (inf
    without metastasis), ``covid_death_day``, and the days by which infections moved the metastasis (b)
    and the cancer's lethal course (b and c) forward - a shift of the cancer's clock, which is the shift
    of the death when the cancer is what the person dies of."""

    happened: np.ndarray
    recorded: np.ndarray
    record_day: np.ndarray
    awakened: np.ndarray
    detection_day: np.ndarray
    metastasis_day: np.ndarray
    from_infection: np.ndarray
    lung: np.ndarray
    cancer_death_day: np.ndarray
    covid_death_day: np.ndarray
    metastasis_advanced_days: np.ndarray
    death_advanced_days: np.ndarray


@numba.njit(cache=True)
def _course(seed, offsets, accepted, day, pathogen, slot_stream, draw, covid_death, fold, person_id, foci,
            background_death, recurrence, survival, background_lung, p, period_start, period_positive,
            period_care):
    n_cand = day.size
    n = person_id.size
    happened = np.zeros(n_cand, np.bool_)
    recorded = np.zeros(n_cand, np.bool_)
    record_day = np.full(n_cand, np.nan)
    awakened = np.zeros(n_cand, np.bool_)
    detection = np.full(n_cand, np.inf)
    metastasis = recurrence.copy()
    origin = np.zeros(n, np.bool_)
    lung = background_lung.copy()
    cancer_death = recurrence + survival
    covid_day = np.full(n, np.inf)
    advanced_m = np.zeros(n)
    advanced_d = np.zeros(n)
    (strength, det_median, det_sigma, s_b, s_c, doubling, occult_doublings, care_factor, care_lead, q_flu,
     test_delay) = p
    window = occult_doublings * doubling
    for i in range(n):
        pid = person_id[i]
        for c in range(offsets[i], offsets[i + 1]):
            if not accepted[c]:
                continue
            t = day[c]
            if t >= min(background_death[i], covid_day[i], cancer_death[i]):
                break
            happened[c] = True
            base = slot_stream[c]
            k = draw[c]
            # the record
            if pathogen[c] == 0:
                record_p = q_flu
            else:
                record_p = 0.0
                care = False
                for j in range(period_start.size):
                    if t >= period_start[j]:
                        record_p = period_positive[j]
                        care = period_care[j]
                if care and t >= min(recurrence[i] - care_lead, metastasis[i]):
                    record_p = min(1.0, record_p * care_factor)
            if uniform(seed, pid, base + streams.RECORD, k) < record_p:
                recorded[c] = True
                record_day[c] = t + test_delay
            f = fold[c] if np.isfinite(fold[c]) else 1.0
            growth = doubling * np.log2(max(f, 1.0))
            if t < metastasis[i]:
                # (b) a lung recurrence growing below detection is brought forward
                if (not origin[i]) and lung[i] and metastasis[i] - t <= window and s_b > 0.0:
                    new = max(t, metastasis[i] - s_b * growth)
                    advanced_m[i] += metastasis[i] - new
                    cancer_death[i] -= metastasis[i] - new
                    metastasis[i] = new
                # (a) awakening of a dormant focus into a new lesion, if it surfaces first
                chance = 1.0 - np.exp(-strength * foci[i] * max(f - 1.0, 0.0))
                if uniform(seed, pid, base + streams.AWAKEN, k) < chance:
                    u1 = uniform(seed, pid, base + streams.DELAY_1, k)
                    u2 = uniform(seed, pid, base + streams.DELAY_2, k)
                    z = np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)  # Box-Muller
                    awakened[c] = True
                    detection[c] = t + det_median * np.exp(det_sigma * z)
                    if detection[c] < metastasis[i]:
                        metastasis[i] = detection[c]
                        origin[i] = True
                        lung[i] = True
                        advanced_m[i] = 0.0
                        cancer_death[i] = metastasis[i] + survival[i]
            elif lung[i] and s_c > 0.0:
                # (c) established lung metastatic disease progresses faster
                new = max(t, cancer_death[i] - s_c * growth)
                advanced_d[i] += cancer_death[i] - new
                cancer_death[i] = new
            if covid_death[c] < covid_day[i]:
                covid_day[i] = covid_death[c]
    return (happened, recorded, record_day, awakened, detection, metastasis, origin, lung, cancer_death, covid_day,
            advanced_m, advanced_d + advanced_m)


def cancer_course(seed: int, candidates, exposures, fold_change: np.ndarray, people, background_death: np.ndarray,
                  recurrence: np.ndarray, survival: np.ndarray, background_lung: np.ndarray,
                  values: dict[str, float], period_start: np.ndarray, period_positive: np.ndarray,
                  period_care: np.ndarray) -> CancerCourse:
    """The second pass (see the module docstring); ``fold_change`` is per candidate (NaN where not accepted)."""
    params = np.array([values[name] for name in PARAMETER_ORDER], dtype=float)
    out = _course(np.uint64(seed), candidates.offsets, exposures.accepted, candidates.day, candidates.pathogen,
                  candidates.slot_stream, candidates.draw, exposures.covid_death_day, fold_change, people.person_id,
                  people.dcc_foci.astype(float), background_death, recurrence, survival,
                  np.ascontiguousarray(background_lung, dtype=np.bool_), params, period_start, period_positive,
                  np.ascontiguousarray(period_care, dtype=np.bool_))
    return CancerCourse(*out)
