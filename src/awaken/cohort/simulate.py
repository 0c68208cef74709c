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
>>> from awaken.cohort.infection_response import infection_response
>>> tables = simulate_block(CohortScenario(), seed=1, first=0, last=200, response=infection_response(n=50))
>>> tables["patients"].num_rows
200
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from awaken.cohort import streams
from awaken.cohort.draws import exponentials, poisson_counts, uniforms
from awaken.cohort.exposures import (
    INFLUENZA,
    PATHOGENS,
    covid_vaccinations,
    covid_waves,
    draw_candidates,
    influenza_seasons,
    influenza_vaccinations,
)
from awaken.cohort.infection_response import InfectionResponse
from awaken.cohort.infections import resolve_infections
from awaken.cohort.mortality import background_death_days, life_table
from awaken.cohort.natural_history import lung_share, metastatic_survival_days, recurrence_days
from awaken.cohort.parameters import SUBTYPES, CohortScenario, day_number, load_cohort_table
from awaken.cohort.people import NODES, OTHER, STAGES, draw_people
from awaken.records import SCHEMAS

__all__ = ["simulate_block"]

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


def simulate_block(scenario: CohortScenario, seed: int, first: int, last: int, response: InfectionResponse
                   ) -> dict[str, pa.Table]:
    """The six record tables of persons ``first .. last - 1`` (rows ordered by person, then date)."""
    v = scenario.values()
    table = load_cohort_table()
    end = float(day_number(scenario.end))
    people = draw_people(scenario, seed, np.arange(first, last, dtype=np.int64))
    ids = people.person_id

    background_death = background_death_days(life_table(scenario.country), people.entry_day, end, people.birth_day,
                                             people.male, exponentials(seed, ids, streams.BACKGROUND_DEATH))
    recurrence = recurrence_days(people, v, exponentials(seed, ids, streams.RECURRENCE))
    survival = metastatic_survival_days(people, v, exponentials(seed, ids, streams.METASTATIC_SURVIVAL))

    seasons = influenza_seasons(scenario)
    waves = covid_waves(scenario)
    sources = seasons + waves
    candidates = draw_candidates(people, sources, seed, v, end)
    column_of_season = {s.index: j for j, s in enumerate(seasons)}
    season_col = _season_columns(candidates, column_of_season)
    flu_vaccine = influenza_vaccinations(people, seasons, seed, v, scenario.influenza_vaccination)
    doses = covid_vaccinations(people, scenario, seed, v)
    periods = table.testing[scenario.country]
    period_start = np.array([day_number(p.from_) for p in periods], dtype=float)
    period_positive = np.array([p.positive for p in periods], dtype=float)
    if not scenario.pandemic:
        period_positive = np.zeros_like(period_positive)
    outcome = resolve_infections(seed, candidates, season_col, people, background_death, recurrence, survival,
                                 flu_vaccine, doses, v, period_start, period_positive, response)

    # ---- what happened to each person ----
    metastasis = np.minimum(recurrence, outcome.induced_metastasis_day)
    from_infection = outcome.induced_metastasis_day < recurrence
    non_cancer_death = np.minimum(background_death, outcome.covid_death_day)
    has_metastasis = (metastasis < non_cancer_death) & (metastasis < end)
    cancer_death = np.where(has_metastasis, metastasis + survival, np.inf)
    death = np.minimum(non_cancer_death, cancer_death)
    cause = np.select([death == cancer_death, death == outcome.covid_death_day], [0, 1], 2)
    died = death < end
    exit_day = np.where(died, death, end)
    lung = from_infection | (uniforms(seed, ids, streams.SITE) < lung_share(people, v))

    patients = _patients(scenario, people, exit_day, died)
    acc = np.flatnonzero(outcome.accepted & (candidates.day < exit_day[candidates.row]))
    source_label = {(s.pathogen, s.index): s.label for s in sources}
    infections = _table("infections", {
        "person_id": ids[candidates.row[acc]], "date": _dates(candidates.day[acc]),
        "pathogen": _labels(candidates.pathogen[acc], PATHOGENS),
        "wave": [source_label[(int(p), int(s))] for p, s in zip(candidates.pathogen[acc], candidates.source[acc])],
        "vaccine_protection": outcome.vaccine_protection[acc], "latent_fold_change": outcome.fold_change[acc],
        "latent_awakened": outcome.awakened[acc],
    })
    tests = _tests(seed, scenario, people, candidates, outcome, acc, exit_day, periods, end)
    vaccinations = _vaccinations(people, flu_vaccine, doses, exit_day)
    met = np.flatnonzero(has_metastasis)
    metastases = _table("metastases", {
        "person_id": ids[met], "date": _dates(metastasis[met]),
        "site": _labels(np.where(lung[met], 0, 1), ("lung", "other")),
        "latent_origin": _labels(np.where(from_infection[met], 1, 0), ("background", "infection")),
    })
    dead = np.flatnonzero(died)
    deaths = _table("deaths", {"person_id": ids[dead], "date": _dates(death[dead]),
                               "cause": _labels(cause[dead], ("cancer", "covid_19", "other"))})
    return {"patients": patients, "infections": infections, "tests": tests, "vaccinations": vaccinations,
            "metastases": metastases, "deaths": deaths}


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


def _tests(seed, scenario, people, candidates, outcome, acc, exit_day, periods, end) -> pa.Table:
    ids = people.person_id
    pos = acc[outcome.recorded[acc] & (outcome.record_day[acc] < exit_day[candidates.row[acc]])]
    person = [ids[candidates.row[pos]]]
    day = [outcome.record_day[pos]]
    pathogen = [candidates.pathogen[pos]]
    result = [np.zeros(pos.size, np.int8)]
    if scenario.pandemic:
        bounds = [day_number(p.from_) for p in periods] + [np.inf]
        for j, period in enumerate(periods):
            lo = np.maximum(people.entry_day, bounds[j])
            hi = np.minimum(exit_day, min(bounds[j + 1], end))
            span = np.maximum(hi - lo, 0.0)
            stream = streams.NEGATIVE_TESTS + j * streams.SOURCE_STRIDE
            mean = period.negative_per_year * span / 365.25
            count = poisson_counts(uniforms(seed, ids, stream + streams.COUNT), mean, _MAX_NEGATIVE_TESTS)
            for k in range(1, _MAX_NEGATIVE_TESTS + 1):
                who = np.flatnonzero(count >= k)
                if who.size == 0:
                    break
                person.append(ids[who])
                day.append(lo[who] + span[who] * uniforms(seed, ids[who], stream + streams.TIME, k))
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
