"""Background (non-COVID) mortality from the UN World Population Prospects 2024 life tables.

The rates ``mx`` by country, sex, five-year age group and decade come from the HDF5 store that the
``starsim-data`` package ships (UN WPP 2024, CC BY 3.0 IGO; ``requirements-nodeps.txt`` installs it
without its Python API, which awaken does not need). Between decades, rates are interpolated
log-linearly. Calendar years from 2020 on use the 2019 rate: the 2020 WPP point contains the
pandemic's excess deaths, which awaken simulates explicitly (COVID-19 deaths in
:mod:`awaken.cohort.infections`), so counting them twice would be wrong - these are the
"pre-pandemic rates for counterfactuals".

A person's background death time is found by inversion: draw ``E ~ Exp(1)`` and walk calendar
years from the person's entry, accumulating ``mx(age, sex, year)`` until the cumulative hazard
reaches ``E``. Age is the age at the start of each calendar-year segment (at most one year of
ageing inside a five-year age group is ignored). Because the walk starts at entry, the death time
is conditional on being alive then, as it must be for survivors who enter a cohort years after
their diagnosis.

Example
-------
>>> from awaken.cohort.mortality import life_table
>>> table = life_table("united_kingdom")
>>> round(float(table.rate(age=60, female=True, year=2020)), 5)  # the 2019 (pre-pandemic) rate
0.00665
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path

import h5py
import numba
import numpy as np

__all__ = ["LifeTable", "life_table", "background_death_days", "PRE_PANDEMIC_YEAR", "WPP_SOURCE"]

PRE_PANDEMIC_YEAR = 2019
WPP_SOURCE = ("United Nations, DESA, Population Division (2024). World Population Prospects 2024 "
              "(via starsim-data 2.0.0)")
_LOCATIONS = {"united_kingdom": "United_Kingdom", "united_states": "United_States"}
_FIRST_YEAR, _LAST_YEAR = 1950, 2100


@dataclass(frozen=True)
class LifeTable:
    """Annual death rates ``rates[year - 1950, sex (0 female, 1 male), age group]``."""

    country: str
    age_starts: np.ndarray
    rates: np.ndarray

    def rate(self, age: float, female: bool, year: int) -> float:
        group = int(np.searchsorted(self.age_starts, age, side="right") - 1)
        year = min(max(year, _FIRST_YEAR), PRE_PANDEMIC_YEAR)
        return float(self.rates[year - _FIRST_YEAR, 0 if female else 1, group])


def _store() -> Path:
    spec = find_spec("starsim_data")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the starsim-data package is missing: install it with "
                           "`pip install --no-deps -r requirements-nodeps.txt` (make install does)")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "demographics-2024.h5"


@lru_cache(maxsize=None)
def life_table(country: str) -> LifeTable:
    if country not in _LOCATIONS:
        raise KeyError(f"no life table for {country!r} (known: {', '.join(_LOCATIONS)})")
    with h5py.File(_store(), "r") as store:
        deaths = store["deaths"]
        spec = json.loads(deaths.attrs["spec"])
        decadal = np.asarray(deaths[_LOCATIONS[country]][()], dtype=float)  # (decade, sex, age)
    if spec["sexes"] != ["Female", "Male"]:
        raise RuntimeError(f"unexpected sexes in the WPP store: {spec['sexes']}")
    decades = np.asarray(spec["years"], dtype=float)
    years = np.arange(_FIRST_YEAR, _LAST_YEAR + 1, dtype=float)
    log_rates = np.log(np.maximum(decadal, 1e-12))
    annual = np.empty((years.size, *decadal.shape[1:]))
    for s in range(decadal.shape[1]):
        for a in range(decadal.shape[2]):
            annual[:, s, a] = np.exp(np.interp(years, decades, log_rates[:, s, a]))
    return LifeTable(country=country, age_starts=np.asarray(spec["ages"], dtype=float), rates=annual)


@numba.njit(cache=True)
def _death_days(entry, end, birth, male, threshold, age_starts, rates, year_starts, first_year, cap_year):
    out = np.full(entry.size, np.inf)
    for i in range(entry.size):
        t = entry[i]
        hazard = 0.0
        k = np.searchsorted(year_starts, t, side="right") - 1
        while t < end[i]:
            seg_end = min(year_starts[k + 1], end[i])
            age = (t - birth[i]) / 365.25
            g = np.searchsorted(age_starts, age, side="right") - 1
            year = min(first_year + k, cap_year)
            rate = rates[year - 1950, male[i], g] / 365.25
            step = rate * (seg_end - t)
            if hazard + step >= threshold[i]:
                out[i] = t + (threshold[i] - hazard) / rate
                break
            hazard += step
            t = seg_end
            k += 1
    return out


def background_death_days(table: LifeTable, entry: np.ndarray, end: float, birth: np.ndarray, male: np.ndarray,
                          threshold: np.ndarray) -> np.ndarray:
    """Day of background death for each person (``inf`` if after ``end``), given ``threshold ~ Exp(1)``.

    ``entry``, ``end`` and ``birth`` are days since 1970-01-01.
    """
    import datetime as dt

    first = dt.date.fromordinal(dt.date(1970, 1, 1).toordinal() + int(np.floor(entry.min()))).year
    last = dt.date.fromordinal(dt.date(1970, 1, 1).toordinal() + int(end)).year + 1
    year_starts = np.array([(dt.date(y, 1, 1) - dt.date(1970, 1, 1)).days for y in range(first, last + 2)], float)
    return _death_days(np.asarray(entry, float), np.full(entry.size, float(end)), np.asarray(birth, float),
                       np.asarray(male, np.int64), np.asarray(threshold, float), table.age_starts, table.rates,
                       year_starts, first, PRE_PANDEMIC_YEAR)
