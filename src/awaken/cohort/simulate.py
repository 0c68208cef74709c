"""One block of people, from their diagnosis to the records they leave.

:func:`simulate_block` is the whole life of persons ``first .. last-1``: who they are
(:mod:`~awaken.cohort.people`), when they would die of other causes (:mod:`~awaken.cohort.mortality`)
or recur (:mod:`~awaken.cohort.natural_history`), which infections they meet and what those do
(:mod:`~awaken.cohort.exposures`, :mod:`~awaken.cohort.infections`), and then what the record
shows (:mod:`~awaken.records`). Every draw is keyed by person id, so a block's tables are
the rows of those persons whatever else is simulated, and any block layout gives the same cohort.

Example
-------
>>> from awaken.cohort.parameters import CohortScenario
>>> from awaken.cohort.simulate import simulate_block
>>> tables = simulate_block(CohortScenario(), seed=1, first=0, last=200)
>>> tables["patients"].num_rows
200
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from awaken.cohort import streams
from awaken.cohort.cancer_course import PARAMETER_ORDER as COURSE_ORDER
from awaken.cohort.cancer_course import cancer_course
from awaken.cohort.draws import exponentials, poisson_counts, uniforms
from awaken.cohort.exposures import (
    INFLUENZA,
    PATHOGENS,
    Candidates,
    CovidDoses,
    covid_vaccinations,
    covid_waves,
    draw_candidates,
    influenza_seasons,
    influenza_vaccinations,
)
from awaken.cohort.infections import Exposures, resolve_exposures
from awaken.cohort.interventions import CarePolicy, Treatments, surveil, treatments_of
from awaken.cohort.lungs import LUNG_READOUTS, LungOutcomes, simulate_lungs
from awaken.cohort.mortality import background_death_days, life_table
from awaken.cohort.natural_history import (
    lung_share,
    metastatic_survival_days,
    recurrence_days,
)
from awaken.cohort.parameters import (
    SUBTYPES,
    CohortScenario,
    day_number,
    load_cohort_table,
)
from awaken.cohort.people import NODES, OTHER, STAGES, People, draw_people
from awaken.records import SCHEMAS, TABLES

__all__ = ["simulate_block", "prepare_block", "finish_block", "PreparedBlock", "COURSE_PARAMETERS"]

_MAX_NEGATIVE_TESTS = 40


def _dates(days: np.ndarray) -> pa.Array:
    return pa.array(np.floor(days).astype(np.int32), type=pa.date32())


def _table(name: str, columns: dict) -> pa.Table:
    schema = SCHEMAS[name]
    arrays = []
    for field in schema:
        values = columns[field.name]
        arrays.append(values if isinstance(values, pa.Array) else pa.array(values, type=field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def _labels(codes: np.ndarray, labels: tuple[str, ...]) -> pa.Array:
    """Codes (-1 = missing) to a string array."""
    codes = np.asarray(codes)
    dictionary = pa.array(list(labels), type=pa.string())
    indices = pa.array(np.where(codes < 0, 0, codes).astype(np.int32), mask=codes < 0)
    return pa.DictionaryArray.from_arrays(indices, dictionary).cast(pa.string())


#: Cohort parameters read only after the lungs, by the cancer course and the record: a block's lives up to
#: its lungs (:func:`prepare_block`) do not depend on them, so a calibration may vary them on prepared blocks.
COURSE_PARAMETERS = frozenset(COURSE_ORDER) | {"covid_death_certified_cancer"}


@dataclass(frozen=True)
class PreparedBlock:
    """Persons ``first .. last - 1`` up to what their lungs made of their infections (see :func:`prepare_block`)."""

    scenario: CohortScenario
    seed: int
    values: dict
    people: People
    end: float
    background_death: np.ndarray
    recurrence: np.ndarray
    survival: np.ndarray
    background_lung: np.ndarray
    sources: list
    candidates: Candidates
    flu_vaccine: np.ndarray
    doses: CovidDoses
    periods: list
    exposures: Exposures
    lung: LungOutcomes
    policy: CarePolicy | None = None
    treatments: Treatments | None = None


def simulate_block(scenario: CohortScenario, seed: int, first: int, last: int) -> dict[str, pa.Table]:
    """The six record tables of persons ``first .. last - 1`` (rows ordered by person, then date)."""
    return finish_block(prepare_block(scenario, seed, first, last))


def prepare_block(scenario: CohortScenario, seed: int, first: int, last: int, *, ids: np.ndarray | None = None,
                  policy: CarePolicy | None = None, reference: PreparedBlock | None = None) -> PreparedBlock:
    """Who the persons are, their clocks without infections, the infections they meet and what each did in
    their lung: everything that does not depend on :data:`COURSE_PARAMETERS`. ``ids`` (sorted, unique)
    replaces ``first .. last - 1``; ``policy`` is a trial arm's interventions
    (:mod:`awaken.cohort.interventions`). ``reference``, the same persons' block without the policy, lends
    its lungs to every infection the policy leaves as it was (same infection, same vaccine protection, no
    drug): the same inputs give the same outputs bit for bit, so only the changed lungs are simulated."""
    v = scenario.values()
    end = float(day_number(scenario.end))
    persons = np.arange(first, last, dtype=np.int64) if ids is None else np.asarray(ids, dtype=np.int64)
    people = draw_people(scenario, seed, persons)
    ids = people.person_id

    background_death = background_death_days(life_table(scenario.country), people.entry_day, end, people.birth_day,
                                             people.male, exponentials(seed, ids, streams.BACKGROUND_DEATH))
    recurrence = recurrence_days(people, v, exponentials(seed, ids, streams.RECURRENCE))
    survival = metastatic_survival_days(people, v, exponentials(seed, ids, streams.METASTATIC_SURVIVAL))
    background_lung = uniforms(seed, ids, streams.SITE) < lung_share(people, v)

    seasons = influenza_seasons(scenario)
    sources = seasons + covid_waves(scenario)
    candidates = draw_candidates(people, sources, seed, v, end)
    season_col = _season_columns(candidates, {s.index: j for j, s in enumerate(seasons)})
    vaccination = policy.vaccination if policy is not None else None
    offered = policy.from_day if vaccination is not None else np.inf
    flu_vaccine = influenza_vaccinations(people, seasons, seed, v, scenario.influenza_vaccination, offered,
                                         vaccination.influenza_uptake if vaccination else 0.0)
    doses = covid_vaccinations(people, scenario, seed, v, offered,
                               vaccination.covid_booster_uptake if vaccination else 0.0)
    treatments = treatments_of(policy, seed, ids, candidates)

    # which infections happen (while alive without any effect of infections on the cancer); each runs in
    # the person's lung
    alive_until = np.minimum(background_death, recurrence + survival)
    exposures = resolve_exposures(seed, candidates, season_col, people, alive_until, flu_vaccine, doses, v,
                                  treatments.covid_death_factor)
    infected = np.flatnonzero(exposures.accepted)
    lung = LungOutcomes.empty(candidates.day.size)
    if reference is not None and not (np.array_equal(reference.people.person_id, ids)
                                      and np.array_equal(reference.candidates.day, candidates.day)):
        raise ValueError("reference: a block of other persons or another scenario cannot lend its lungs")
    if reference is not None and infected.size:
        given = np.zeros(candidates.day.size, dtype=bool)
        for start in treatments.start:
            given |= np.isfinite(start)
        same = reference.exposures.accepted & (reference.exposures.vaccine_strength == exposures.vaccine_strength) \
            & ~given
        lent = infected[same[infected]]
        for name in (*LUNG_READOUTS, "rebound"):
            getattr(lung, name)[lent] = getattr(reference.lung, name)[lent]
        infected = infected[~same[infected]]
    if infected.size:
        drugs = [(item.drug, item.course, start[infected])
                 for item, start in zip(policy.drugs, treatments.start)] if policy is not None else None
        simulated = simulate_lungs(seed, ids[candidates.row[infected]], candidates.pathogen[infected],
                                   exposures.vaccine_strength[infected], v, drugs or None)
        for name in (*LUNG_READOUTS, "rebound"):
            getattr(lung, name)[infected] = getattr(simulated, name)
    return PreparedBlock(scenario=scenario, seed=seed, values=v, people=people, end=end,
                         background_death=background_death, recurrence=recurrence, survival=survival,
                         background_lung=background_lung, sources=sources, candidates=candidates,
                         flu_vaccine=flu_vaccine, doses=doses, periods=load_cohort_table().testing[scenario.country],
                         exposures=exposures, lung=lung, policy=policy, treatments=treatments)


def finish_block(block: PreparedBlock, values: dict[str, float] | None = None,
                 tables: tuple[str, ...] = TABLES) -> dict[str, pa.Table]:
    """What the infections do to each person's cancer and what the record shows, with the block's scenario
    values or ``values`` (which may differ from them only in :data:`COURSE_PARAMETERS`); ``tables``: which
    record tables to build."""
    v = block.values if values is None else values
    changed = sorted(k for k in set(v) | set(block.values) if v.get(k) != block.values.get(k))
    if set(changed) - COURSE_PARAMETERS:
        raise ValueError(f"{', '.join(sorted(set(changed) - COURSE_PARAMETERS))} act before the lungs: simulate the "
                         "block again (prepare_block) to change them")
    scenario, seed, people, end, candidates = block.scenario, block.seed, block.people, block.end, block.candidates
    ids = people.person_id
    periods = block.periods
    period_start = np.array([day_number(p.from_) for p in periods], dtype=float)
    period_positive = np.array([p.positive for p in periods], dtype=float)
    period_care = np.array([p.care_driven for p in periods], dtype=bool)
    if not scenario.pandemic:
        period_positive = np.zeros_like(period_positive)
    background_death, exposures, lung = block.background_death, block.exposures, block.lung
    course = cancer_course(seed, candidates, exposures, lung.fold_change, people, background_death,
                           block.recurrence, block.survival, block.background_lung, v, period_start,
                           period_positive, period_care)
    if block.policy is not None and block.policy.surveillance is not None:
        course = surveil(course, block.policy.surveillance, seed, ids, candidates, block.treatments.detected,
                         v["metastasis_doubling_time"])

    # ---- what happened to each person ----
    metastasis = course.metastasis_day
    non_cancer_death = np.minimum(background_death, course.covid_death_day)
    has_metastasis = (metastasis < non_cancer_death) & (metastasis < end)
    cancer_death = np.where(has_metastasis, course.cancer_death_day, np.inf)
    death = np.minimum(non_cancer_death, cancer_death)
    true_cause = np.select([death == cancer_death, death == course.covid_death_day], [0, 1], 2)
    active_from = np.minimum(block.recurrence - v["care_contact_lead"], metastasis)  # as cancer_course reads it
    active_at_death = active_from <= death
    certified = np.minimum(np.where(active_at_death, 2.0, 1.0) * v["covid_death_certified_cancer"], 1.0)
    cause = np.where((true_cause == 1) & (uniforms(seed, ids, streams.CERTIFICATE) < certified), 0, true_cause)
    died = death < end
    exit_day = np.where(died, death, end)

    out = {}
    if "patients" in tables:
        out["patients"] = _patients(scenario, people, exit_day, died)
    acc = np.flatnonzero(course.happened & (candidates.day < exit_day[candidates.row]))
    if "infections" in tables:
        source_label = {(s.pathogen, s.index): s.label for s in block.sources}
        out["infections"] = _table("infections", {
            "person_id": ids[candidates.row[acc]], "date": _dates(candidates.day[acc]),
            "pathogen": _labels(candidates.pathogen[acc], PATHOGENS),
            "wave": [source_label[(int(p), int(s))] for p, s in zip(candidates.pathogen[acc], candidates.source[acc])],
            "vaccine_protection": exposures.vaccine_protection[acc],
            **{f"latent_{name}": getattr(lung, name)[acc] for name in LUNG_READOUTS},
            "latent_awakened": course.awakened[acc],
        })
    if "tests" in tables:
        out["tests"] = _tests(seed, scenario, people, candidates, course, acc, exit_day, periods, end,
                              active_from, v["care_testing_factor"])
    if "vaccinations" in tables:
        out["vaccinations"] = _vaccinations(people, block.flu_vaccine, block.doses, exit_day)
    if "metastases" in tables:
        met = np.flatnonzero(has_metastasis)
        out["metastases"] = _table("metastases", {
            "person_id": ids[met], "date": _dates(metastasis[met]),
            "site": _labels(np.where(course.lung[met], 0, 1), ("lung", "other")),
            "latent_origin": _labels(np.where(course.from_infection[met], 1, 0), ("background", "infection")),
            "latent_advanced_days": course.metastasis_advanced_days[met],
        })
    if "deaths" in tables:
        dead = np.flatnonzero(died)
        causes = ("cancer", "covid_19", "other")
        out["deaths"] = _table("deaths", {
            "person_id": ids[dead], "date": _dates(death[dead]), "cause": _labels(cause[dead], causes),
            "latent_cause": _labels(true_cause[dead], causes),
            "latent_advanced_days": np.where(true_cause[dead] == 0, course.death_advanced_days[dead], 0.0)})
    return out


def _season_columns(candidates, column_of_season: dict[int, int]) -> np.ndarray:
    lookup = np.zeros(max(column_of_season, default=0) + 1, dtype=np.int64)
    for index, column in column_of_season.items():
        lookup[index] = column
    return np.where(candidates.pathogen == INFLUENZA, lookup[np.clip(candidates.source, 0, lookup.size - 1)], 0)


def _patients(scenario: CohortScenario, people, exit_day: np.ndarray, died: np.ndarray) -> pa.Table:
    breast = people.cancer_type != OTHER
    subtype = np.where(breast, people.subtype, -1)
    er = np.where(breast, np.where(subtype <= 1, 0, 1), -1)
    her2 = np.where(breast, np.where((subtype == 1) | (subtype == 2), 0, 1), -1)
    return _table("patients", {
        "person_id": people.person_id, "sex": _labels(people.male, ("female", "male")),
        "birth_date": _dates(people.birth_day), "country": [scenario.country] * people.size,
        "cancer_type": _labels(people.cancer_type, ("breast", "other")), "subtype": _labels(subtype, SUBTYPES),
        "er_status": _labels(er, ("positive", "negative")), "her2_status": _labels(her2, ("positive", "negative")),
        "stage": _labels(people.stage, STAGES), "nodes": _labels(np.where(breast, people.nodes, -1), NODES),
        "diagnosis_date": _dates(people.diagnosis_day), "entry_date": _dates(people.entry_day),
        "exit_date": _dates(exit_day), "exit_reason": _labels(np.where(died, 0, 1), ("death", "end_of_follow_up")),
        "latent_dcc_foci": people.dcc_foci,
    })


def _tests(seed, scenario, people, candidates, course, acc, exit_day, periods, end, active_from,
           care_factor) -> pa.Table:
    """Positive tests of recorded infections, and negative tests: a Poisson process per testing period,
    ``care_factor`` times as frequent from ``active_from`` (active cancer) on in care-driven periods."""
    ids = people.person_id
    pos = acc[course.recorded[acc] & (course.record_day[acc] < exit_day[candidates.row[acc]])]
    person = [ids[candidates.row[pos]]]
    day = [course.record_day[pos]]
    pathogen = [candidates.pathogen[pos]]
    result = [np.zeros(pos.size, np.int8)]
    if scenario.pandemic:
        bounds = [day_number(p.from_) for p in periods] + [np.inf]
        for j, period in enumerate(periods):
            lo = np.maximum(people.entry_day, bounds[j])
            hi = np.minimum(exit_day, min(bounds[j + 1], end))
            stream = streams.NEGATIVE_TESTS + j * streams.SOURCE_STRIDE
            pieces = [(lo, hi, period.negative_per_year, streams.COUNT, streams.TIME)]
            if period.care_driven:  # split at the start of active cancer
                split = np.clip(active_from, lo, np.maximum(hi, lo))
                pieces = [(lo, split, period.negative_per_year, streams.COUNT, streams.TIME),
                          (split, hi, period.negative_per_year * care_factor, streams.ACTIVE_COUNT,
                           streams.ACTIVE_TIME)]
            for a, b, rate, count_slot, time_slot in pieces:
                span = np.maximum(b - a, 0.0)
                count = poisson_counts(uniforms(seed, ids, stream + count_slot), rate * span / 365.25,
                                       _MAX_NEGATIVE_TESTS)
                for k in range(1, _MAX_NEGATIVE_TESTS + 1):
                    who = np.flatnonzero(count >= k)
                    if who.size == 0:
                        break
                    person.append(ids[who])
                    day.append(a[who] + span[who] * uniforms(seed, ids[who], stream + time_slot, k))
                    pathogen.append(np.ones(who.size, np.int8))
                    result.append(np.ones(who.size, np.int8))
    person_a, day_a = np.concatenate(person), np.concatenate(day)
    order = np.lexsort((day_a, person_a))
    return _table("tests", {"person_id": person_a[order], "date": _dates(day_a[order]),
                            "pathogen": _labels(np.concatenate(pathogen)[order], PATHOGENS),
                            "result": _labels(np.concatenate(result)[order], ("positive", "negative"))})


def _vaccinations(people, flu_vaccine: np.ndarray, doses, exit_day: np.ndarray) -> pa.Table:
    person, day, kind = [], [], []
    n_flu = flu_vaccine.shape[1]
    columns = [(flu_vaccine[:, j], 0) for j in range(n_flu)]
    columns.append((doses.first_dose_day, 1))
    columns.append((doses.days[:, 0], 2))
    columns.extend((doses.days[:, j], 3) for j in range(1, doses.days.shape[1]))
    for values, code in columns:
        ok = np.isfinite(values) & (values >= people.entry_day) & (values < exit_day)
        person.append(people.person_id[ok])
        day.append(values[ok])
        kind.append(np.full(int(ok.sum()), code, np.int8))
    person_a, day_a, kind_a = np.concatenate(person), np.concatenate(day), np.concatenate(kind)
    order = np.lexsort((kind_a, day_a, person_a))
    return _table("vaccinations", {"person_id": person_a[order], "date": _dates(day_a[order]),
                                   "vaccine": _labels(kind_a[order], ("influenza", "covid_dose_1", "covid_dose_2",
                                                                      "covid_booster"))})
