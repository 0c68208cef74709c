"""The calendar: influenza seasons, SARS-CoV-2 waves, vaccination campaigns and candidate infections.

Infections are an inhomogeneous Poisson process per person. awaken draws them by **thinning**:
candidates come from the process at its highest intensity (a usual influenza season; the
SARS-CoV-2 wave as calibrated), each with fixed random coordinates, and
:mod:`awaken.cohort.infections` keeps a candidate with probability (scenario intensity / highest
intensity) x (1 - protection at that moment), protection being leaky and waning (vaccines,
earlier infections). Thinning a Poisson process with a history-dependent acceptance gives exactly
the process with the thinned intensity, and because candidates are the same in every scenario,
two scenarios of one seed differ only where the scenario changes something (common random numbers).

Each season or wave is a Gaussian pulse in calendar time: ``Lambda_i * N(t; peak, spread)`` with
``Lambda_i`` the person's cumulative hazard over the wave.

Example
-------
>>> from awaken.cohort.parameters import CohortScenario
>>> from awaken.cohort.exposures import influenza_seasons
>>> [s.label for s in influenza_seasons(CohortScenario())][:2]
['2014-15', '2015-16']
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri

from awaken.cohort import streams
from awaken.cohort.draws import poisson_counts, uniforms
from awaken.cohort.parameters import CohortScenario, day_number, load_cohort_table
from awaken.cohort.people import People

__all__ = ["Source", "influenza_seasons", "covid_waves", "Candidates", "draw_candidates", "influenza_vaccinations",
           "covid_vaccinations", "CovidDoses", "MAX_CANDIDATES", "INFLUENZA", "SARS_COV_2", "PATHOGENS"]

INFLUENZA, SARS_COV_2 = 0, 1
PATHOGENS = ("influenza", "sars_cov_2")
#: at most this many candidate infections per person per season or wave (P(more) < 1e-6 for the
#: shipped cumulative hazards, all below 0.3)
MAX_CANDIDATES = 5
_SEASON_END_MONTH_DAY = (8, 31)
#: seasons are numbered from the winter starting in this year (the calendar window starts in 1990 at
#: the earliest), so that a season's random stream never changes with the window
_FIRST_SEASON_YEAR = 1950


@dataclass(frozen=True)
class Source:
    """A season or wave: where candidates come from."""

    index: int
    label: str
    pathogen: int
    peak_day: float
    spread_days: float
    cumulative_hazard: float  # at the highest intensity, for a person aged 65+
    thinning: float  # scenario intensity / highest intensity
    omicron: bool
    start_day: float  # the season's or wave's calendar span (vaccination windows, reporting)
    end_day: float


def influenza_seasons(scenario: CohortScenario) -> list[Source]:
    table = load_cohort_table().influenza_seasons
    v = scenario.values()
    month, day = (int(x) for x in table.peak_month_day.split("-"))
    hazard = -np.log1p(-min(v["influenza_attack_rate"], 0.999))
    seasons = []
    for year in range(scenario.start.year - 1, scenario.end.year + 1):  # winter year -> year + 1
        peak = day_number(dt.date(year + 1, month, day))
        span = (day_number(dt.date(year, 9, 1)), day_number(dt.date(year + 1, *_SEASON_END_MONTH_DAY)) + 1)
        if span[1] <= day_number(scenario.start) or span[0] >= day_number(scenario.end):
            continue
        scaling = table.pandemic_scaling.get(str(year), 1.0) if scenario.pandemic else 1.0
        seasons.append(Source(index=year - _FIRST_SEASON_YEAR, label=f"{year}-{(year + 1) % 100:02d}",
                              pathogen=INFLUENZA, peak_day=peak, spread_days=table.spread_days,
                              cumulative_hazard=hazard, thinning=scaling, omicron=False, start_day=span[0],
                              end_day=span[1]))
    return seasons


def covid_waves(scenario: CohortScenario) -> list[Source]:
    if not scenario.pandemic:
        return []
    waves = []
    for index, wave in enumerate(load_cohort_table().covid_waves):
        peak = day_number(wave.peak)
        waves.append(Source(index=index, label=wave.name, pathogen=SARS_COV_2, peak_day=peak,
                            spread_days=wave.spread_days, cumulative_hazard=wave.cumulative_hazard, thinning=1.0,
                            omicron=wave.omicron, start_day=peak - 3 * wave.spread_days,
                            end_day=peak + 3 * wave.spread_days))
    return waves


@dataclass(frozen=True)
class Candidates:
    """Candidate infections sorted by (person row, day): CSR offsets over the block's persons."""

    offsets: np.ndarray
    row: np.ndarray
    day: np.ndarray
    pathogen: np.ndarray
    source: np.ndarray  # Source.index
    slot_stream: np.ndarray  # base stream of the candidate's draws
    draw: np.ndarray  # candidate number within its source (the draw index)
    thinning: np.ndarray
    omicron: np.ndarray


def draw_candidates(people: People, sources: list[Source], seed: int, v: dict[str, float], end_day: float
                    ) -> Candidates:
    rows, days, pathogen, source, base, draw, thin, omicron = ([] for _ in range(8))
    for s in sources:
        stream = (streams.INFLUENZA if s.pathogen == INFLUENZA else streams.COVID) + s.index * streams.SOURCE_STRIDE
        young_at_peak = people.age_at(s.peak_day) < 65
        mean = s.cumulative_hazard * np.where(young_at_peak & (s.pathogen == SARS_COV_2),
                                              v["covid_under65_factor"], 1.0)
        counts = poisson_counts(uniforms(seed, people.person_id, stream + streams.COUNT), mean, MAX_CANDIDATES)
        for k in range(1, MAX_CANDIDATES + 1):
            who = np.flatnonzero(counts >= k)
            if who.size == 0:
                break
            t = s.peak_day + s.spread_days * ndtri(uniforms(seed, people.person_id[who], stream + streams.TIME, k))
            keep = (t >= people.entry_day[who]) & (t < end_day)
            who, t = who[keep], t[keep]
            rows.append(who)
            days.append(t)
            pathogen.append(np.full(who.size, s.pathogen, np.int8))
            source.append(np.full(who.size, s.index, np.int32))
            base.append(np.full(who.size, stream, np.int64))
            draw.append(np.full(who.size, k, np.int64))
            thin.append(np.full(who.size, s.thinning))
            omicron.append(np.full(who.size, s.omicron))
    cat = (lambda xs, dtype: np.concatenate(xs).astype(dtype) if xs else np.empty(0, dtype))
    row = cat(rows, np.int64)
    day = cat(days, float)
    order = np.lexsort((day, row))
    offsets = np.zeros(people.size + 1, dtype=np.int64)
    np.add.at(offsets, row + 1, 1)
    offsets = np.cumsum(offsets)
    return Candidates(offsets=offsets, row=row[order], day=day[order], pathogen=cat(pathogen, np.int8)[order],
                      source=cat(source, np.int32)[order], slot_stream=cat(base, np.int64)[order],
                      draw=cat(draw, np.int64)[order], thinning=cat(thin, float)[order],
                      omicron=cat(omicron, bool)[order])


def _habit(seed: int, persons: np.ndarray, habit: np.ndarray, stream: int, persistence: float) -> np.ndarray:
    """A season's decision variable: the person's habit with probability ``persistence``, else fresh."""
    switch = uniforms(seed, persons, stream + streams.HABIT_SWITCH) >= persistence
    return np.where(switch, uniforms(seed, persons, stream + streams.FRESH), habit)


def influenza_vaccinations(people: People, seasons: list[Source], seed: int, v: dict[str, float],
                           enabled: bool, offered_from: float = np.inf, uptake: float = 0.0) -> np.ndarray:
    """Day of influenza vaccination per person (rows) and season (columns); NaN if none. A trial that
    offers the vaccine from day ``offered_from`` on vaccinates, with probability ``uptake``, those
    who would not have taken that season's dose (on the day they would have been offered it)."""
    out = np.full((people.size, len(seasons)), np.nan)
    if not enabled:
        return _offered(out, people, seasons, seed, offered_from, uptake) if uptake > 0 else out
    habit = uniforms(seed, people.person_id, streams.FLU_HABIT)
    for j, s in enumerate(seasons):
        stream = streams.FLU_VACCINE + s.index * streams.SOURCE_STRIDE
        day = s.start_day + 14 + np.floor(75 * uniforms(seed, people.person_id, stream + streams.DAY))  # 15 Sep-30 Nov
        coverage = np.where(people.age_at(day) >= 65, v["influenza_coverage_65_plus"], v["influenza_coverage_under_65"])
        take = _habit(seed, people.person_id, habit, stream, v["vaccination_persistence"]) < coverage
        out[take, j] = day[take]
    return _offered(out, people, seasons, seed, offered_from, uptake) if uptake > 0 else out


def _offered(out: np.ndarray, people: People, seasons: list[Source], seed: int, offered_from: float,
             uptake: float) -> np.ndarray:
    out = out.copy()
    for j, s in enumerate(seasons):
        stream = streams.FLU_VACCINE + s.index * streams.SOURCE_STRIDE
        day = s.start_day + 14 + np.floor(75 * uniforms(seed, people.person_id, stream + streams.DAY))
        extra = uniforms(seed, people.person_id, streams.TRIAL_FLU_UPTAKE + s.index * streams.SOURCE_STRIDE) < uptake
        take = np.isnan(out[:, j]) & (day >= offered_from) & extra
        out[take, j] = day[take]
    return out


@dataclass(frozen=True)
class CovidDoses:
    """Protective COVID-19 doses per person: day of each campaign's dose (NaN if none).

    Column 0 is the primary series (the day of its second dose), then one column per booster.
    """

    days: np.ndarray
    first_dose_day: np.ndarray
    booster: np.ndarray  # per column: is it a booster
    labels: tuple[str, ...]


def covid_vaccinations(people: People, scenario: CohortScenario, seed: int, v: dict[str, float],
                       offered_from: float = np.inf, booster_uptake: float = 0.0) -> CovidDoses:
    campaign = load_cohort_table().covid_vaccination
    boosters = campaign.boosters
    days = np.full((people.size, 1 + len(boosters)), np.nan)
    first = np.full(people.size, np.nan)
    labels = ("primary", *(f"booster_{b.date.year}" for b in boosters))
    flags = np.array([False] + [True] * len(boosters))
    if not (scenario.pandemic and scenario.covid_vaccination):
        return CovidDoses(days=days, first_dose_day=first, booster=flags, labels=labels)
    persons = people.person_id
    habit = uniforms(seed, persons, streams.COVID_HABIT)
    starts = sorted(campaign.primary_start[scenario.country].items(), reverse=True)  # oldest first
    age = people.age_at(day_number(dt.date(2020, 12, 1)))
    start = np.full(people.size, np.nan)
    for min_age, date in starts:
        start = np.where(np.isnan(start) & (age >= min_age), day_number(date), start)
    stream = streams.COVID_VACCINE
    primary = habit < v["covid_primary_coverage"]
    first = np.where(primary, start + np.floor(28 * uniforms(seed, persons, stream + streams.DAY)), np.nan)
    second = first + 56 + np.floor(21 * uniforms(seed, persons, stream + streams.FRESH))
    days[:, 0] = second
    for j, b in enumerate(boosters, start=1):
        stream = streams.COVID_VACCINE + j * streams.SOURCE_STRIDE
        day = day_number(b.date) + np.floor(60 * uniforms(seed, persons, stream + streams.DAY))
        take = primary & (people.age_at(day) >= b.min_age) & (
            _habit(seed, persons, habit, stream, v["vaccination_persistence"]) < b.uptake)
        if booster_uptake > 0:  # a trial offers the booster to every primary-vaccinated participant
            offered = uniforms(seed, persons, streams.TRIAL_BOOSTER_UPTAKE + j * streams.SOURCE_STRIDE) < booster_uptake
            take = take | (primary & (day >= offered_from) & offered)
        days[take, j] = day[take]
    return CovidDoses(days=days, first_dose_day=first, booster=flags, labels=labels)
