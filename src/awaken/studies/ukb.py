"""The UK Biobank design: do survivors who test positive for SARS-CoV-2 die of their cancer more often?

As in the study (Chia et al. 2025): cancer survivors diagnosed at least five years before the
pandemic, alive and free of distant metastasis when it starts, who had a SARS-CoV-2 test in the first
pandemic year (before vaccines); exposure = any positive test in that year, comparison = only negative
tests; outcome = death from cancer by the end of follow-up. The study reports an odds ratio (1.85,
95% CI 1.14-3.02; target H1); awaken fits the same logistic regression (crude, and adjusted for age
and sex) and adds what the study described in words (target H2): hazard ratios by time since the
positive test (0-12 and 12+ months) from a cause-specific Cox model with the positive test as a
time-varying exposure among the tested (other deaths censor; time since the pandemic start), and a
landmark analysis from the end of the testing year (exposure fixed then; survivors followed on).

Example
-------
>>> from awaken.studies.ukb import UKBSettings
>>> UKBSettings().survivor_years
5.0
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from awaken.schemas import Date, Integer, Real
from awaken.survival import CoxPH, LogisticRegression
from awaken.survival.design import exposure_intervals, landmark
from awaken.targets import published

__all__ = ["UKBSettings", "UKBResult", "ukb_analysis", "ukb_cohort", "human_targets"]


class UKBSettings(BaseModel):
    """Choices of the UK Biobank recipe (defaults: the study's design where it is published)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pandemic_start: Date = Field(dt.date(2020, 3, 1), description="start of the first pandemic year")
    first_year_end: Date = Field(dt.date(2021, 3, 1), description="end of the testing year (before vaccines)")
    survivor_years: Real = Field(5.0, ge=0, le=50, json_schema_extra={"unit": "y"},
                                  description="diagnosed at least this long before the pandemic start")
    follow_up_end: Date = Field(dt.date(2022, 12, 31), description="end of follow-up for cancer death "
                                   "(the study does not publish it: assumption, UK death records to late 2022)")
    windows_months: tuple[Integer, Integer] = Field((0, 12), description="time-since-infection windows of the hazard "
                                            "ratios (months): 0-12 and 12+")

    @model_validator(mode="after")
    def _ordered(self) -> UKBSettings:
        if not self.pandemic_start < self.first_year_end <= self.follow_up_end:
            raise ValueError("dates must satisfy pandemic_start < first_year_end <= follow_up_end")
        return self


@dataclass(frozen=True)
class UKBResult:
    settings: UKBSettings
    counts: dict[str, int]
    odds_ratios: pd.DataFrame  # rows: crude, adjusted; columns: OR, lower, upper, p
    hazard_ratios: pd.DataFrame  # rows: windows; columns: HR, lower, upper, p
    data: pd.DataFrame  # one row per tested survivor

    @property
    def odds_ratio(self) -> float:
        return float(self.odds_ratios.loc["adjusted", "OR"])

    @property
    def first_year_excess(self) -> bool:
        """H2: the hazard ratio in months 0-12 exceeds the one from month 12 on."""
        hr = self.hazard_ratios["HR"]
        return bool(hr.iloc[0] > hr.iloc[1])

    def to_dict(self) -> dict:
        return {"design": "uk_biobank", "settings": self.settings.model_dump(mode="json"), "counts": self.counts,
                "odds_ratios": self.odds_ratios.reset_index().to_dict(orient="records"),
                "hazard_ratios": self.hazard_ratios.reset_index().to_dict(orient="records"),
                "first_year_excess": self.first_year_excess}


def ukb_cohort(tables: dict[str, pd.DataFrame], settings: UKBSettings) -> pd.DataFrame:
    """The tested survivors: one row per person with exposure, outcome and covariates."""
    start = pd.Timestamp(settings.pandemic_start)
    year_end = pd.Timestamp(settings.first_year_end)
    end = pd.Timestamp(settings.follow_up_end)
    p, t, m, d = (tables[k] for k in ("patients", "tests", "metastases", "deaths"))
    diagnosed_by = start - pd.Timedelta(days=round(365.25 * settings.survivor_years))
    eligible = p[(p.diagnosis_date <= diagnosed_by) & (p.entry_date <= start) & (p.exit_date > start)]
    metastatic = m.loc[m.date <= start, "person_id"]
    eligible = eligible[~eligible.person_id.isin(metastatic)]
    covid = t[(t.pathogen == "sars_cov_2") & (t.date >= start) & (t.date < year_end)
              & t.person_id.isin(eligible.person_id)]
    first_positive = covid[covid.result == "positive"].groupby("person_id").date.min()
    tested = eligible[eligible.person_id.isin(covid.person_id)].copy()
    tested["positive"] = tested.person_id.isin(first_positive.index).astype(int)
    tested["positive_date"] = tested.person_id.map(first_positive)
    death = d.set_index("person_id")
    tested["death_date"] = tested.person_id.map(death.date)
    tested["death_cause"] = tested.person_id.map(death.cause)
    tested["cancer_death"] = ((tested.death_cause == "cancer") & (tested.death_date <= end)).astype(int)
    tested["age"] = (start - tested.birth_date).dt.days / 365.25
    tested["age_per_10y"] = tested["age"] / 10
    tested["male"] = (tested.sex == "male").astype(int)
    tested["follow_up_end"] = np.minimum(tested.exit_date, end)
    tested["origin"] = start
    return tested.reset_index(drop=True)


def _ratio_row(table: pd.DataFrame, term: str, ratio: str, short: str) -> dict:
    row = table.loc[term]
    lower = [c for c in table.columns if c.startswith(f"{short} lower")][0]
    upper = [c for c in table.columns if c.startswith(f"{short} upper")][0]
    return {short: float(row[ratio]), "lower": float(row[lower]), "upper": float(row[upper]), "p": float(row["p"])}


def ukb_analysis(tables: dict[str, pd.DataFrame], settings: UKBSettings | None = None) -> UKBResult:
    settings = settings or UKBSettings()
    data = ukb_cohort(tables, settings)
    counts = {
        "tested_survivors": len(data), "positive": int(data.positive.sum()),
        "negative": int((1 - data.positive).sum()),
        "cancer_deaths_positive": int(data.cancer_death[data.positive == 1].sum()),
        "cancer_deaths_negative": int(data.cancer_death[data.positive == 0].sum()),
    }
    odds = {}
    for label, covariates in (("crude", ["positive"]), ("adjusted", ["positive", "age_per_10y", "male"])):
        fit = LogisticRegression().fit(data, outcome="cancer_death", covariates=covariates)
        odds[label] = _ratio_row(fit.summary, "positive", "odds ratio", "OR")
    odds_ratios = pd.DataFrame.from_dict(odds, orient="index").rename_axis("model")

    # cause-specific Cox, positive test as a time-varying exposure, windows 0-12 and 12+ months
    windows = [round(m * 365.25 / 12) for m in settings.windows_months]
    persons = data[["person_id", "origin", "follow_up_end", "age_per_10y", "male"]]
    exposures = data.loc[data.positive == 1, ["person_id", "positive_date"]].rename(columns={"positive_date": "date"})
    outcomes = data.loc[data.cancer_death == 1, ["person_id", "death_date"]].rename(columns={"death_date": "date"})
    other = data[(data.death_date.notna()) & (data.cancer_death == 0) & (data.death_date <= data.follow_up_end)]
    competing = other[["person_id", "death_date"]].rename(columns={"death_date": "date"})
    rows = exposure_intervals(persons, exposures, outcomes, origin="origin", end="follow_up_end",
                              competing=competing, windows_days=windows, covariates=["age_per_10y", "male"])
    labels = [c for c in rows.columns if c.startswith("exposed_")]
    cox = CoxPH().fit(rows, start="start", stop="stop", event="event", covariates=[*labels, "age_per_10y", "male"],
                      cause=1, id="person_id")
    ratios = {label.removeprefix("exposed_"): _ratio_row(cox.summary, label, "exp(coef)", "exp(coef)")
              for label in labels}
    # landmark at the end of the testing year: exposure fixed then, survivors followed from there
    at = (pd.Timestamp(settings.first_year_end) - pd.Timestamp(settings.pandemic_start)).days
    fixed = landmark(persons, exposures, outcomes, origin="origin", end="follow_up_end", at_days=at,
                     competing=competing, covariates=["age_per_10y", "male"])
    late = CoxPH().fit(fixed, stop="stop", event="event", covariates=["exposed", "age_per_10y", "male"], cause=1)
    ratios[f"landmark {settings.first_year_end}"] = _ratio_row(late.summary, "exposed", "exp(coef)", "exp(coef)")
    hazard_ratios = pd.DataFrame.from_dict(ratios, orient="index").rename(columns={"exp(coef)": "HR"}) \
        .rename_axis("months since positive test")
    return UKBResult(settings=settings, counts=counts, odds_ratios=odds_ratios, hazard_ratios=hazard_ratios,
                     data=data)


def human_targets(result: UKBResult) -> dict[str, tuple[float, str]]:
    """H1 and H2 as the scorecard reads them, from a UK Biobank recipe result."""
    odds = result.odds_ratios.loc["adjusted"]
    hr = result.hazard_ratios
    ratio = float(hr["HR"].iloc[0] / hr["HR"].iloc[1]) if hr["HR"].iloc[1] > 0 else float(np.inf)
    counts = result.counts
    return {
        "H1_ukb_cancer_death": (float(odds["OR"]), (
            f"UK Biobank recipe on the simulated cohort: {counts['tested_survivors']:,} tested survivors, "
            f"{counts['positive']:,} positive; adjusted OR 95% CI {odds['lower']:.2f}-{odds['upper']:.2f}; "
            f"awakening_strength calibrated to the published {published('H1_ukb_cancer_death')['estimate']:g}")),
        "H2_first_year": (ratio, (
            f"HR 0-12 months {hr['HR'].iloc[0]:.2f} ({hr['lower'].iloc[0]:.2f}-{hr['upper'].iloc[0]:.2f}) vs "
            f"12+ months {hr['HR'].iloc[1]:.2f} ({hr['lower'].iloc[1]:.2f}-{hr['upper'].iloc[1]:.2f}); "
            f"a check, not fitted")),
    }
