"""Parameters and scenarios of the virtual survivor cohorts.

Two layers, as for the lung model:

* the **parameter table** (``awaken/cohort/data/survivors.yaml``): every scalar with value, unit,
  plausible range and source, plus the tables that do not reduce to scalars (influenza seasons,
  SARS-CoV-2 waves, testing policy by period, vaccination campaigns), each row with its source;
* the **scenario** (:class:`CohortScenario`): what a user chooses for one run - calendar window,
  country, pandemic or not, vaccination on or off, cancer mix, parameter overrides. Unknown keys
  are refused and every bad value is named with its allowed range before any work starts.

Example
-------
>>> from awaken.cohort.parameters import CohortScenario, load_cohort_table
>>> load_cohort_table().get("influenza_attack_rate").unit
'1/season'
>>> CohortScenario().years
10.0
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from functools import lru_cache
from importlib import resources
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from awaken.lung.parameters import Parameter, check_overrides
from awaken.schemas import Date, Flag, Integer, Real

__all__ = ["CohortTable", "CohortScenario", "CohortMechanisms", "MECHANISM_SWITCHES", "CohortSettings", "MAX_PEOPLE",
           "DEFAULT_BLOCK_SIZE", "load_cohort_table", "CANCER_TYPES", "SUBTYPES", "COUNTRIES",
           "EPOCH"]

CANCER_TYPES = ("breast", "other")
SUBTYPES = ("hr_pos_her2_neg", "hr_pos_her2_pos", "hr_neg_her2_pos", "triple_negative")
COUNTRIES = ("united_kingdom", "united_states")
#: Dates are simulated as days since this day (the Unix epoch, as Arrow's date32).
EPOCH = dt.date(1970, 1, 1)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InfluenzaSeasons(_Strict):
    source: str
    peak_month_day: str = Field(pattern=r"^\d\d-\d\d$", description="calendar day of the epidemic peak (MM-DD)")
    spread_days: Real = Field(gt=0, le=120, json_schema_extra={"unit": "d"}, description="SD of the epidemic curve")
    pandemic_scaling: dict[str, float] = Field(description="attack-rate factor for seasons starting in these "
                                                           "winters (year of the January peak - 1) when the "
                                                           "pandemic is on")


class CovidWave(_Strict):
    name: str
    peak: dt.date
    spread_days: Real = Field(gt=0, le=180, json_schema_extra={"unit": "d"})
    cumulative_hazard: Real = Field(ge=0, le=5, description="hazard accumulated over the wave by a fully "
                                                             "susceptible person aged 65+")
    omicron: bool
    source: str


class TestingPeriod(_Strict):
    from_: Date = Field(alias="from")
    positive: Real = Field(ge=0, le=1, description="share of SARS-CoV-2 infections that leave a positive record")
    negative_per_year: Real = Field(ge=0, le=52, json_schema_extra={"unit": "1/y"},
                                     description="negative tests per person-year")
    care_driven: bool = Field(False, description="testing follows health-care contact (people with active "
                                                  "cancer are tested more: care_testing_factor)")
    source: str


class Booster(_Strict):
    date: dt.date
    min_age: Real = Field(ge=0, le=120)
    uptake: Real = Field(ge=0, le=1)
    source: str


class CovidVaccination(_Strict):
    primary_start: dict[Literal["united_kingdom", "united_states"], dict[int, dt.date]]
    source: str
    boosters: list[Booster]


class CohortTable(_Strict):
    """The shipped parameter table of the cohort model."""

    parameters: list[Parameter]
    influenza_seasons: InfluenzaSeasons
    covid_waves: list[CovidWave]
    testing: dict[Literal["united_kingdom", "united_states"], list[TestingPeriod]]
    covid_vaccination: CovidVaccination

    @model_validator(mode="after")
    def _unique(self) -> CohortTable:
        names = [p.name for p in self.parameters]
        if len(set(names)) != len(names):
            raise ValueError("duplicate cohort parameter names")
        return self

    def get(self, name: str) -> Parameter:
        for p in self.parameters:
            if p.name == name:
                return p
        raise KeyError(name)

    def nominal(self) -> dict[str, float]:
        return {p.name: p.value for p in self.parameters}


@lru_cache(maxsize=None)
def load_cohort_table() -> CohortTable:
    path = resources.files("awaken.cohort") / "data" / "survivors.yaml"
    return CohortTable.model_validate(yaml.safe_load(path.read_text()))


#: Each explanation of the human excess (:mod:`awaken.cohort.cancer_course`) -> its parameter and the
#: value that switches it off.
MECHANISM_SWITCHES: dict[str, tuple[str, float]] = {
    "awakening": ("awakening_strength", 0.0),
    "occult_acceleration": ("occult_acceleration", 0.0),
    "metastatic_acceleration": ("metastatic_acceleration", 0.0),
    "care_testing": ("care_testing_factor", 1.0),
    "certification": ("covid_death_certified_cancer", 0.0),
}


class CohortMechanisms(_Strict):
    """Which explanations of the human excess act (off: the mechanism's parameter takes its null value)."""

    awakening: Flag = Field(True, description="(a) infections awaken dormant lung foci into new lesions")
    occult_acceleration: Flag = Field(True, description="(b) infections bring occult lung recurrences forward")
    metastatic_acceleration: Flag = Field(True, description="(c) infections shorten survival with lung metastases")
    care_testing: Flag = Field(True, description="(d) people with active cancer are tested more (first pandemic "
                                                  "months)")
    certification: Flag = Field(True, description="(d) COVID-19 deaths of people with cancer certified as cancer "
                                                   "deaths")


class CohortScenario(_Strict):
    """What one cohort run simulates (the people, the calendar and the world they live in)."""

    name: str = Field("default", pattern=r"^[a-z0-9_]+$", max_length=64,
                      description="identifier (lower case, digits, _)")
    start: Date = Field(dt.date(2015, 1, 1), description="first day of follow-up (calendar window start)")
    end: Date = Field(dt.date(2025, 1, 1), description="day after the last day of follow-up (window end)")
    country: Literal["united_kingdom", "united_states"] = Field(
        "united_kingdom", description="life table (UN WPP 2024) and testing policy")
    pandemic: Flag = Field(True, description="SARS-CoV-2 circulates from 2020 (false: the no-pandemic world)")
    influenza_vaccination: Flag = Field(True, description="survivors take seasonal influenza vaccines")
    covid_vaccination: Flag = Field(True, description="survivors take COVID-19 vaccines")
    cancer_mix: dict[str, Real] = Field(default_factory=lambda: {"breast": 0.6, "other": 0.4},
                                         description="share of each cancer type (breast, other); sums to 1")
    diagnosis_from: Date = Field(dt.date(2000, 1, 1),
                                    description="diagnosis dates are uniform from this day to the window end")
    parameters: dict[str, Real] = Field(default_factory=dict,
                                         description="overrides of the cohort parameter table (inside its ranges)")
    mechanisms: CohortMechanisms = Field(default_factory=CohortMechanisms,
                                         description="which explanations of the human excess act")

    @field_validator("cancer_mix")
    @classmethod
    def _known_cancers(cls, mix: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(mix) - set(CANCER_TYPES))
        if unknown:
            raise ValueError(f"unknown cancer type {', '.join(map(repr, unknown))}: choose from "
                             f"{', '.join(CANCER_TYPES)}")
        bad = {k: v for k, v in mix.items() if not 0 <= v <= 1}
        if bad:
            raise ValueError("shares must be >= 0 and <= 1: " + ", ".join(f"{k} = {v:g}" for k, v in bad.items()))
        if abs(sum(mix.values()) - 1) > 1e-9:
            raise ValueError(f"shares must sum to 1 (they sum to {sum(mix.values()):g})")
        return mix

    @model_validator(mode="after")
    def _consistent(self) -> CohortScenario:
        if self.end <= self.start:
            raise ValueError(f"calendar window is backwards or empty: end ({self.end}) must be after start "
                             f"({self.start})")
        if not dt.date(1990, 1, 1) <= self.start or self.end > dt.date(2040, 1, 1):
            raise ValueError("calendar window must lie between 1990-01-01 and 2040-01-01 (the life tables used)")
        if self.diagnosis_from >= self.end:
            raise ValueError(f"diagnosis_from ({self.diagnosis_from}) must be before the window end ({self.end})")
        if self.diagnosis_from < dt.date(1950, 1, 1):
            raise ValueError(f"diagnosis_from ({self.diagnosis_from}) must be 1950-01-01 or later")
        check_overrides(self.parameters, load_cohort_table().get, "a cohort parameter")
        return self

    @property
    def years(self) -> float:
        return round((self.end - self.start).days / 365.25, 2)

    def values(self) -> dict[str, float]:
        """Nominal parameter values with this scenario's overrides; a mechanism switched off takes the
        null value of its parameter (:data:`MECHANISM_SWITCHES`)."""
        values = {**load_cohort_table().nominal(), **self.parameters}
        for mechanism, on in self.mechanisms.model_dump().items():
            if not on:
                name, null = MECHANISM_SWITCHES[mechanism]
                values[name] = null
        return values

    def canonical_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))

    def sha256(self) -> str:
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()


def day_number(date: dt.date) -> int:
    """Days since :data:`EPOCH`."""
    return (date - EPOCH).days


#: Most people in one cohort run.
MAX_PEOPLE = 100_000_000
#: People per block by default (one Dask task each).
DEFAULT_BLOCK_SIZE = 50_000


class CohortSettings(_Strict):
    """How large a cohort run is and how it is cut into blocks (checked before any work)."""

    n: Integer = Field(100_000, ge=1, le=MAX_PEOPLE, json_schema_extra={"unit": "people"},
                       description="survivors to simulate")
    seed: Integer = Field(0, ge=0, le=2**63 - 1, description="random seed (counter-based draws keyed by person)")
    block_size: Integer = Field(DEFAULT_BLOCK_SIZE, ge=1, le=1_000_000, json_schema_extra={"unit": "people"},
                                description="people per block")
