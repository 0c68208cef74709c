"""What a trial arm does to the survivors it enrols: the cohort's side of an intervention.

A :class:`CarePolicy` is read by the cohort's passes (:mod:`awaken.cohort.simulate`) for the persons of
a block, from the day they are randomised (``from_day``) on:

* :class:`DrugAtInfection` - a drug course when an infection is *detected by the trial* (the trial asks
  participants to test at symptoms: detected with probability ``detection[pathogen]``, the share of
  infections that are symptomatic and tested), starting ``onset + U(start_after_onset)`` days after
  infection. The course runs in the person's lung (:mod:`awaken.cohort.lungs`, PK/PD from
  :mod:`awaken.pharmacology`) and, for an antiviral given within five days of symptoms, lowers the
  chance of dying of COVID-19 by ``covid_death_reduction``.
* :class:`Vaccination` - every participant offered the seasonal influenza vaccine and the COVID-19
  boosters of each campaign, taken with probability ``uptake`` by those who would not have taken it.
* :class:`Surveillance` - chest CT ``scan_days`` after each detected infection: a lung metastasis that
  would surface within ``lead_doublings`` volume doublings after a scan is found at the scan (with
  probability ``sensitivity``); what the earlier diagnosis does to survival is an explicit assumption,
  ``lead_time_benefit`` (the share of the lead time that becomes survival; 0 = lead time only).

Every decision is a counter-based draw keyed by (person, infection candidate or scan) on streams of its
own (:mod:`awaken.cohort.streams`), so a participant meets the same chances in every arm, and an arm
changes nobody's life before its intervention acts on them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from awaken.cohort import streams
from awaken.cohort.draws import keyed_uniforms
from awaken.pharmacology.drugs import Course

__all__ = ["DrugAtInfection", "Vaccination", "Surveillance", "CarePolicy", "Treatments", "treatments_of", "surveil",
           "candidate_uniforms",
           "scan_counts"]


@dataclass(frozen=True)
class DrugAtInfection:
    drug: str
    course: Course
    pathogens: tuple[int, ...]  # cohort pathogen codes (awaken.cohort.exposures.PATHOGENS)
    detection: tuple[float, float]  # P(detected) per pathogen code
    onset_days: tuple[float, float]  # infection -> symptoms, per pathogen code
    start_after_onset: tuple[float, float]  # uniform window (d)
    covid_death_reduction: float = 0.0  # antivirals started within 5 d of symptoms


@dataclass(frozen=True)
class Vaccination:
    influenza_uptake: float = 0.0
    covid_booster_uptake: float = 0.0


@dataclass(frozen=True)
class Surveillance:
    scan_days: tuple[float, ...]
    sensitivity: float
    lead_doublings: float
    lead_time_benefit: float
    false_positive: float
    detection: tuple[float, float]
    onset_days: tuple[float, float]


@dataclass(frozen=True)
class CarePolicy:
    """An arm's interventions for the persons of a block, from ``from_day`` (randomisation) on."""

    from_day: float
    drugs: tuple[DrugAtInfection, ...] = ()
    vaccination: Vaccination | None = None
    surveillance: Surveillance | None = None
    pk_deviates: dict = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Treatments:
    """Per infection candidate: detected by the trial, and per drug of the policy, treated and the start
    day of the course (days after infection)."""

    detected: np.ndarray
    treated: list[np.ndarray]
    start: list[np.ndarray]
    covid_death_factor: np.ndarray


def candidate_uniforms(seed: int, ids: np.ndarray, candidates, slot: int, rows: np.ndarray | None = None,
                       salt: int = 0) -> np.ndarray:
    """One draw per infection candidate (or per candidate of ``rows``), keyed by (person, the candidate's
    stream + ``slot``, candidate number x 16 + ``salt``): the same in every arm and block layout."""
    rows = np.arange(candidates.day.size) if rows is None else rows
    return keyed_uniforms(seed, ids[candidates.row[rows]], candidates.slot_stream[rows] + slot,
                          candidates.draw[rows].astype(np.int64) * 16 + salt)


def treatments_of(policy: CarePolicy | None, seed: int, ids: np.ndarray, candidates) -> Treatments:
    """Which candidate infections the trial detects and treats (whether or not they happen: the
    first cohort pass decides that, and it does not depend on the decision here)."""
    n = candidates.day.size
    if policy is None or not (policy.drugs or policy.surveillance):
        return Treatments(np.zeros(n, bool), [], [], np.ones(n))
    detect_u = candidate_uniforms(seed, ids, candidates, streams.TRIAL_DETECT)
    start_u = candidate_uniforms(seed, ids, candidates, streams.TRIAL_START)
    after = candidates.day >= policy.from_day
    probability = np.zeros(n)
    for item in (*policy.drugs, *(() if policy.surveillance is None else (policy.surveillance,))):
        probability = np.maximum(probability, np.asarray(item.detection)[candidates.pathogen])
    detected = after & (detect_u < probability)
    treated, start = [], []
    factor = np.ones(n)
    for item in policy.drugs:
        on = detected & np.isin(candidates.pathogen, item.pathogens) & \
            (detect_u < np.asarray(item.detection)[candidates.pathogen])
        lo, hi = item.start_after_onset
        after_onset = lo + (hi - lo) * start_u
        day = np.asarray(item.onset_days)[candidates.pathogen] + after_onset
        treated.append(on)
        start.append(np.where(on, day, np.nan))
        if item.covid_death_reduction > 0:
            early = on & (candidates.pathogen == 1) & (after_onset <= 5.0)
            factor = np.where(early, factor * (1.0 - item.covid_death_reduction), factor)
    return Treatments(detected, treated, start, factor)


def _scan_days(surveillance: Surveillance, candidates, detected: np.ndarray, happened: np.ndarray):
    """(candidate index, scan number, scan day) of every scan a detected infection that happened brings."""
    rows = np.flatnonzero(detected & happened)
    onset = np.asarray(surveillance.onset_days)[candidates.pathogen[rows]]
    k = np.arange(len(surveillance.scan_days))
    cand = np.repeat(rows, k.size)
    number = np.tile(k, rows.size)
    day = candidates.day[cand] + np.repeat(onset, k.size) + np.asarray(surveillance.scan_days)[number]
    return cand, number, day


def _scan_uniforms(seed: int, ids: np.ndarray, candidates, cand: np.ndarray, number: np.ndarray, slot: int):
    """One draw per (infection, scan number): keyed by person, scan stream and the infection's identity."""
    index = candidates.slot_stream[cand].astype(np.int64) * 1000 + candidates.draw[cand]
    return keyed_uniforms(seed, ids[candidates.row[cand]],
                          streams.TRIAL_SCAN + number.astype(np.int64) * streams.SOURCE_STRIDE + slot, index)


def surveil(course, surveillance: Surveillance, seed: int, ids: np.ndarray, candidates, detected: np.ndarray,
            doubling_days: float):
    """``course`` (:class:`awaken.cohort.cancer_course.CancerCourse`) with lung metastases found by the
    scans: one that would surface within ``lead_doublings`` doublings after a scan is diagnosed at the
    scan (if the scan sees it), and the cancer's lethal course moves by ``lead_time_benefit`` of the
    lead time (0: diagnosed earlier, dies at the same time)."""
    from dataclasses import replace
    cand, number, day = _scan_days(surveillance, candidates, detected, course.happened)
    if cand.size == 0:
        return course
    person = candidates.row[cand]
    metastasis = course.metastasis_day.copy()
    death = course.cancer_death_day.copy()
    window = surveillance.lead_doublings * doubling_days
    seen = _scan_uniforms(seed, ids, candidates, cand, number, 0) < surveillance.sensitivity
    alive = day < np.minimum(np.minimum(course.cancer_death_day, course.covid_death_day)[person], np.inf)
    found = course.lung[person] & (course.metastasis_day[person] > day) & \
        (course.metastasis_day[person] - day <= window) & seen & alive
    earliest = np.full(metastasis.size, np.inf)
    np.minimum.at(earliest, person[found], day[found])
    moved = np.isfinite(earliest)
    lead = np.where(moved, metastasis - earliest, 0.0)
    metastasis = np.where(moved, earliest, metastasis)
    death = np.where(moved, np.maximum(death - surveillance.lead_time_benefit * lead, metastasis), death)
    return replace(course, metastasis_day=metastasis, cancer_death_day=death,
                   metastasis_advanced_days=course.metastasis_advanced_days + lead)


def scan_counts(surveillance: Surveillance, seed: int, ids: np.ndarray, candidates, detected: np.ndarray,
                happened: np.ndarray, exit_day: np.ndarray, metastasis_day: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """Per person: CT scans done (before exit and before a diagnosed metastasis) and false positives
    among them (each scan of a person without a lesion it finds is falsely positive with probability
    ``false_positive``)."""
    scans = np.zeros(ids.size, dtype=np.int64)
    false = np.zeros(ids.size, dtype=np.int64)
    cand, number, day = _scan_days(surveillance, candidates, detected, happened)
    if cand.size == 0:
        return scans, false
    person = candidates.row[cand]
    done = (day < exit_day[person]) & (day < metastasis_day[person])
    fp = done & (_scan_uniforms(seed, ids, candidates, cand, number, 1) < surveillance.false_positive)
    np.add.at(scans, person[done], 1)
    np.add.at(false, person[fp], 1)
    return scans, false
