"""The trial file: who is eligible, what each arm does, what is measured, for how long, how many.

A trial is a YAML or TOML file validated like a scenario (unknown keys refused, every number inside
its range, errors naming the field). Its first arm is the control. Each arm is a list of
interventions, layered: a drug at a detected infection (:class:`DrugAtInfection`), vaccination
(:class:`Vaccination`), surveillance CT after a detected infection (:class:`Surveillance`).

Example (YAML)::

    name: il6r_blockade_hr_positive
    randomisation: 2021-01-01
    follow_up_years: 3
    size: 20000
    eligibility: {subtypes: [hr_pos_her2_neg, hr_pos_her2_pos]}
    arms:
      - {name: control}
      - name: tocilizumab
        interventions:
          - {kind: drug_at_infection, drug: tocilizumab, dose: 8, route: iv, pathogens: [sars_cov_2]}

>>> from awaken.trials.design import Trial
>>> Trial(name="t", arms=[{"name": "control"}, {"name": "vaccine", "interventions": [{"kind": "vaccination"}]}]).size
10000
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from importlib import resources
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from awaken.cohort.parameters import SUBTYPES, CohortScenario
from awaken.lung.parameters import Parameter, check_overrides
from awaken.pharmacology.drugs import ROUTES, load_drug_table
from awaken.schemas import Date, Flag, Integer, Real
from awaken.trials.counterfactuals import ENDPOINTS as COUNTERFACTUAL_ENDPOINTS

__all__ = ["Trial", "Arm", "DrugAtInfection", "Vaccination", "Surveillance", "ENDPOINTS", "load_trial_parameters",
           "load_explanations", "trial_parameter"]

#: The endpoints a trial may measure (their columns: :data:`awaken.trials.counterfactuals.ENDPOINTS`).
ENDPOINTS = tuple(COUNTERFACTUAL_ENDPOINTS)
PATHOGEN_NAMES = ("influenza", "sars_cov_2")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DrugAtInfection(_Strict):
    """A drug course when the trial detects an infection (a positive test at symptoms)."""

    kind: Literal["drug_at_infection"]
    drug: str = Field(description="a human drug of awaken/pharmacology/data/drugs.yaml")
    dose: Real = Field(gt=0, le=10_000, json_schema_extra={"unit": "mg or mg/kg (the drug's dose unit)"},
                       description="dose per administration")
    route: Literal[ROUTES] | None = Field(None, description="iv, sc or oral (default: the drug's usual route)")  # type: ignore[valid-type]
    doses: Integer = Field(1, ge=1, le=400, description="number of doses")
    interval_days: Real = Field(1.0, gt=0, le=365, json_schema_extra={"unit": "d"}, description="time between doses")
    pathogens: list[Literal[PATHOGEN_NAMES]] = Field(["sars_cov_2"], min_length=1,  # type: ignore[valid-type]
                                                     description="infections that trigger the course")
    start_after_symptoms_days: tuple[Real, Real] = Field(
        (0.0, 2.0), json_schema_extra={"unit": "d"},
        description="the first dose falls uniformly in this window after symptom onset")

    @model_validator(mode="after")
    def _drug(self) -> DrugAtInfection:
        table = load_drug_table()
        if self.drug not in table.names("human"):
            raise ValueError(f'drug = "{self.drug}": choose one of {", ".join(table.names("human"))}')
        table.drug(self.drug).check_administration(self.dose, self.route)
        lo, hi = self.start_after_symptoms_days
        if not 0 <= lo <= hi <= 30:
            raise ValueError(f"start_after_symptoms_days = [{lo:g}, {hi:g}]: need 0 <= first <= second <= 30")
        return self


class Vaccination(_Strict):
    """Every participant is offered the seasonal influenza vaccine and/or the COVID-19 boosters."""

    kind: Literal["vaccination"]
    influenza: Flag = Field(True, description="offer the seasonal influenza vaccine every autumn")
    covid_booster: Flag = Field(True, description="offer each COVID-19 booster campaign")
    uptake: Real = Field(0.9, ge=0, le=1, json_schema_extra={"unit": "probability"},
                         description="chance a participant who would not have been vaccinated takes the offer")


class Surveillance(_Strict):
    """Chest CT at chosen times after each infection the trial detects."""

    kind: Literal["surveillance"]
    scan_days_after_symptoms: list[Real] = Field([90.0, 180.0], min_length=1, max_length=12,
                                                 json_schema_extra={"unit": "d"},
                                                 description="days after symptom onset of each scan")

    @field_validator("scan_days_after_symptoms")
    @classmethod
    def _positive(cls, days: list[float]) -> list[float]:
        if any(not 0 < d <= 3650 for d in days):
            raise ValueError("every scan day must be > 0 and <= 3650")
        return sorted(days)


Intervention = Annotated[DrugAtInfection | Vaccination | Surveillance, Field(discriminator="kind")]


class Arm(_Strict):
    name: str = Field(pattern=r"^[a-z0-9_]+$", max_length=64, description="arm identifier")
    description: str = ""
    interventions: list[Intervention] = Field(default_factory=list)


class Eligibility(_Strict):
    cancer_types: list[Literal["breast", "other"]] = Field(["breast"], min_length=1, description="cancers enrolled")
    subtypes: list[Literal[SUBTYPES]] | None = Field(None, description="breast cancer subtypes (default: all)")  # type: ignore[valid-type]
    age: tuple[Real, Real] = Field((18.0, 100.0), json_schema_extra={"unit": "years"},
                                   description="age at randomisation")
    years_since_diagnosis: tuple[Real, Real] = Field((0.0, 30.0), json_schema_extra={"unit": "years"},
                                                     description="time from diagnosis to randomisation")

    @model_validator(mode="after")
    def _subtypes_of_breast_cancer(self) -> Eligibility:
        if self.subtypes is not None and "breast" not in self.cancer_types:
            raise ValueError("subtypes are breast cancer subtypes: add breast to cancer_types or drop subtypes")
        return self

    @model_validator(mode="after")
    def _ordered(self) -> Eligibility:
        for name in ("age", "years_since_diagnosis"):
            lo, hi = getattr(self, name)
            if not 0 <= lo < hi <= 120:
                raise ValueError(f"{name} = [{lo:g}, {hi:g}]: need 0 <= lower < upper <= 120")
        return self


class Trial(_Strict):
    """An in-silico trial on the survivor cohort (see the module docstring)."""

    name: str = Field(pattern=r"^[a-z0-9_]+$", max_length=64, description="identifier")
    description: str = ""
    cohort: dict = Field(default_factory=dict, description="cohort scenario keys (awaken/cohort: country, "
                                                            "cancer_mix, diagnosis_from, parameters, ...)")
    randomisation: Date = Field(dt.date(2021, 1, 1), description="day every participant is randomised")
    follow_up_years: Real = Field(3.0, gt=0, le=10, json_schema_extra={"unit": "years"},
                                  description="follow-up after randomisation")
    eligibility: Eligibility = Eligibility()
    arms: list[Arm] = Field(min_length=2, max_length=12, description="the first is the control")
    endpoints: list[Literal[ENDPOINTS]] = Field(list(ENDPOINTS), min_length=1)  # type: ignore[valid-type]
    explanations: list[str] = Field(["non_causal", "awakening"], min_length=1,
                                    description="explanations of the human excess to run the trial under")
    size: Integer = Field(10_000, ge=100, le=10_000_000, json_schema_extra={"unit": "participants"},
                          description="participants screened in per explanation (each lives every arm)")
    seed: Integer = Field(0, ge=0, le=2**32 - 1, description="random seed")
    parameters: dict[str, Real] = Field(default_factory=dict, description="overrides of trial parameters")
    design_hazard_ratios: list[Real] = Field(default_factory=list, max_length=8,
                                             description="assumed lung-metastasis hazard ratios to size a real trial "
                                                         "for, beside the simulated ones (each > 0 and < 1)")

    @field_validator("design_hazard_ratios")
    @classmethod
    def _below_one(cls, ratios: list[float]) -> list[float]:
        if any(not 0 < r < 1 for r in ratios):
            raise ValueError("every design hazard ratio must be > 0 and < 1 (a prevention effect)")
        return ratios

    @model_validator(mode="after")
    def _consistent(self) -> Trial:
        names = [a.name for a in self.arms]
        if len(set(names)) != len(names):
            raise ValueError(f"arms: names must be unique ({', '.join(names)})")
        if "no_causal_effect" in names:
            raise ValueError("arms: no_causal_effect is reserved (the world where infections do nothing to the "
                             "cancer, simulated beside every trial)")
        known = load_explanations()
        unknown = [e for e in self.explanations if e not in known]
        if unknown:
            raise ValueError(f"explanations: {', '.join(unknown)} unknown; choose from {', '.join(known)}")
        check_overrides(self.parameters, trial_parameter, "a trial parameter")
        end = self.randomisation + dt.timedelta(days=round(365.25 * self.follow_up_years))
        scenario = self.scenario()
        if not scenario.start < self.randomisation < scenario.end or end > scenario.end:
            raise ValueError(f"randomisation {self.randomisation} + follow_up_years must lie inside the cohort's "
                             f"window {scenario.start} to {scenario.end} (cohort: start/end)")
        return self

    def scenario(self, explanation: str | None = None) -> CohortScenario:
        """The cohort the trial enrols from (under ``explanation``'s mechanism strengths)."""
        keys = dict(self.cohort)
        keys.setdefault("name", self.name)
        if explanation is not None:
            keys["parameters"] = {**keys.get("parameters", {}), **load_explanations()[explanation]["parameters"]}
        return CohortScenario(**keys)


@lru_cache(maxsize=1)
def load_trial_parameters() -> dict[str, Parameter]:
    text = (resources.files("awaken.trials") / "data" / "trial_parameters.yaml").read_text(encoding="utf-8")
    return {p["name"]: Parameter(**p) for p in yaml.safe_load(text)["parameters"]}


def trial_parameter(name: str) -> Parameter:
    return load_trial_parameters()[name]


@lru_cache(maxsize=1)
def load_explanations() -> dict[str, dict]:
    text = (resources.files("awaken.trials") / "data" / "explanations.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)["explanations"]
