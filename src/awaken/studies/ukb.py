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

Records without anyone the design selects are refused (:class:`~awaken.errors.InputError` naming
what is missing); a ratio the selected records cannot estimate (no positive test, no cancer death,
a window without exposed time) is NaN with a line in ``notes`` saying why - never a traceback.

Example
-------
>>> from awaken.studies.ukb import UKBSettings
>>> UKBSettings().survivor_years
5.0
"""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from awaken.errors import InputError
from awaken.records import dropped_counts
from awaken.schemas import Date, Integer, Real
from awaken.studies.estimates import cox_ratios, map_dates, not_estimable, ratio_row
from awaken.survival import ConvergenceWarning, LogisticRegression, SurvivalDataError
from awaken.survival.design import exposure_intervals, landmark, window_labels
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
    notes: tuple[str, ...] = ()  # why a ratio is not estimable (NaN) or a covariate was left out

    @property
    def odds_ratio(self) -> float:
        return float(self.odds_ratios.loc["adjusted", "OR"])

    @property
    def first_year_excess(self) -> bool | None:
        """H2: the hazard ratio in months 0-12 exceeds the one from month 12 on (None: not estimable)."""
        hr = self.hazard_ratios["HR"]
        if hr.iloc[:2].isna().any():
            return None
        return bool(hr.iloc[0] > hr.iloc[1])

    def to_dict(self) -> dict:
        out = {"design": "uk_biobank", "settings": self.settings.model_dump(mode="json"), "counts": self.counts,
               "odds_ratios": self.odds_ratios.reset_index().to_dict(orient="records"),
               "hazard_ratios": self.hazard_ratios.reset_index().to_dict(orient="records"),
               "first_year_excess": self.first_year_excess}
        return {**out, "notes": list(self.notes)} if self.notes else out


def _diagnosed_by(settings: UKBSettings) -> pd.Timestamp:
    return pd.Timestamp(settings.pandemic_start) - pd.Timedelta(days=round(365.25 * settings.survivor_years))


def _survivors(tables: dict[str, pd.DataFrame], settings: UKBSettings) -> pd.DataFrame:
    """Survivors diagnosed long enough before the pandemic, followed and metastasis-free at its start."""
    start = pd.Timestamp(settings.pandemic_start)
    p, m = tables["patients"], tables["metastases"]
    eligible = p[(p.diagnosis_date <= _diagnosed_by(settings)) & (p.entry_date <= start) & (p.exit_date > start)]
    metastatic = m.loc[m.date <= start, "person_id"]
    return eligible[~eligible.person_id.isin(metastatic)]


def ukb_cohort(tables: dict[str, pd.DataFrame], settings: UKBSettings) -> pd.DataFrame:
    """The tested survivors: one row per person with exposure, outcome and covariates."""
    start = pd.Timestamp(settings.pandemic_start)
    year_end = pd.Timestamp(settings.first_year_end)
    end = pd.Timestamp(settings.follow_up_end)
    t, d = tables["tests"], tables["deaths"]
    eligible = _survivors(tables, settings)
    covid = t[(t.pathogen == "sars_cov_2") & (t.date >= start) & (t.date < year_end)
              & t.person_id.isin(eligible.person_id)]
    first_positive = covid[covid.result == "positive"].groupby("person_id").date.min()
    tested = eligible[eligible.person_id.isin(covid.person_id)].copy()
    tested["positive"] = tested.person_id.isin(first_positive.index).astype(int)
    tested["positive_date"] = map_dates(tested.person_id, first_positive)
    death = d.set_index("person_id")
    tested["death_date"] = map_dates(tested.person_id, death.date)
    tested["death_cause"] = tested.person_id.map(death.cause)
    tested["cancer_death"] = ((tested.death_cause == "cancer") & (tested.death_date <= end)).astype(int)
    tested["age"] = (start - tested.birth_date).dt.days / 365.25
    tested["age_per_10y"] = tested["age"] / 10
    tested["male"] = (tested.sex == "male").astype(int)
    tested["follow_up_end"] = np.minimum(tested.exit_date, end)
    tested["origin"] = start
    return tested.reset_index(drop=True)


def _odds_ratio(data: pd.DataFrame, covariates: list[str], notes: list[str], what: str) -> dict:
    """The odds ratio of a positive test; an adjustment covariate the same for every tested survivor
    carries no information and is left out (with it the model cannot be fitted), with a note."""
    constant = [c for c in covariates[1:] if data[c].nunique() < 2]
    if constant:
        notes.append(f"{what}: {', '.join(constant)} is the same for every tested survivor, left out of the model")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            fit = LogisticRegression().fit(data, outcome="cancer_death",
                                           covariates=[c for c in covariates if c not in constant])
    except SurvivalDataError as err:
        notes.append(f"{what}: not estimable ({err})")
        return not_estimable("OR")
    notes.extend(f"{what}: {w.message}" for w in caught if issubclass(w.category, ConvergenceWarning))
    return ratio_row(fit.summary, "positive", "odds ratio", "OR")


def _nobody(tables: dict[str, pd.DataFrame], settings: UKBSettings) -> InputError:
    """What the records lack when no survivor meets the design."""
    start, year_end = settings.pandemic_start, settings.first_year_end
    survivors = len(_survivors(tables, settings))
    if survivors == 0:
        return InputError.field("cohort", f"no survivor meets the UK Biobank design: nobody among the "
                                f"{len(tables['patients']):,} persons was diagnosed by "
                                f"{_diagnosed_by(settings):%Y-%m-%d}, followed on {start} (entry_date on or before "
                                "it, exit_date after it) and free of distant metastasis then")
    return InputError.field("cohort", f"no survivor meets the UK Biobank design: no SARS-CoV-2 test (tests.pathogen "
                            f"sars_cov_2) from {start} to {year_end} among the survivors diagnosed by "
                            f"{_diagnosed_by(settings):%Y-%m-%d} and followed free of distant metastasis on {start} "
                            f"({survivors:,})")


def ukb_analysis(tables: dict[str, pd.DataFrame], settings: UKBSettings | None = None) -> UKBResult:
    """The UK Biobank recipe. Refuses records in which no survivor meets the design (InputError);
    a ratio the tested survivors cannot estimate is NaN, with the reason in ``notes``."""
    settings = settings or UKBSettings()
    data = ukb_cohort(tables, settings)
    if data.empty:
        raise _nobody(tables, settings)
    counts = {
        "tested_survivors": len(data), "positive": int(data.positive.sum()),
        "negative": int((1 - data.positive).sum()),
        "cancer_deaths_positive": int(data.cancer_death[data.positive == 1].sum()),
        "cancer_deaths_negative": int(data.cancer_death[data.positive == 0].sum()),
        **dropped_counts(tables),
    }
    start, year_end, end = settings.pandemic_start, settings.first_year_end, settings.follow_up_end
    deaths = int(data.cancer_death.sum())
    no_positive = f"no tested survivor tested positive for SARS-CoV-2 from {start} to {year_end}"
    no_death = f"no tested survivor died of cancer by {end}"
    # what leaves a ratio without information: the odds ratios compare test-positive with test-negative
    # survivors; the hazard ratios need a positive test and a cancer death (exposure varies in time, so the
    # time before a positive test is the comparison)
    unestimable_or = (no_positive if counts["positive"] == 0 else
                      f"every tested survivor tested positive from {start} to {year_end} (no test-negative "
                      "comparison group)" if counts["negative"] == 0 else
                      no_death if deaths == 0 else
                      f"every tested survivor died of cancer by {end}" if deaths == len(data) else None)
    unestimable_hr = no_positive if counts["positive"] == 0 else no_death if deaths == 0 else None
    notes: list[str] = []
    if unestimable_or and unestimable_or == unestimable_hr:
        notes.append(f"{unestimable_or}: the odds ratios and hazard ratios are not estimable")
    else:
        notes += [f"{reason}: the {ratios} are not estimable" for reason, ratios in
                  ((unestimable_or, "odds ratios"), (unestimable_hr, "hazard ratios")) if reason]
    odds = {}
    for label, covariates in (("crude", ["positive"]), ("adjusted", ["positive", "age_per_10y", "male"])):
        odds[label] = not_estimable("OR") if unestimable_or else \
            _odds_ratio(data, covariates, notes, f"{label} odds ratio")
    odds_ratios = pd.DataFrame.from_dict(odds, orient="index").rename_axis("model")

    # cause-specific Cox, positive test as a time-varying exposure, windows 0-12 and 12+ months
    windows = [round(m * 365.25 / 12) for m in settings.windows_months]
    labels = [f"exposed_{label}" for label in window_labels(windows)]
    at_landmark = f"landmark {settings.first_year_end}"
    if unestimable_hr:
        ratios = {label.removeprefix("exposed_"): not_estimable("exp(coef)") for label in [*labels, at_landmark]}
    else:
        persons = data[["person_id", "origin", "follow_up_end", "age_per_10y", "male"]]
        exposures = data.loc[data.positive == 1, ["person_id", "positive_date"]].rename(
            columns={"positive_date": "date"})
        outcomes = data.loc[data.cancer_death == 1, ["person_id", "death_date"]].rename(columns={"death_date": "date"})
        other = data[(data.death_date.notna()) & (data.cancer_death == 0) & (data.death_date <= data.follow_up_end)]
        competing = other[["person_id", "death_date"]].rename(columns={"death_date": "date"})
        rows = exposure_intervals(persons, exposures, outcomes, origin="origin", end="follow_up_end",
                                  competing=competing, windows_days=windows, covariates=["age_per_10y", "male"])
        labels = [c for c in rows.columns if c.startswith("exposed_")]
        by_window = cox_ratios(rows, labels, ["age_per_10y", "male"], notes, "hazard ratios by time since the "
                               "positive test", start="start", stop="stop", event="event", cause=1, id="person_id")
        ratios = {label.removeprefix("exposed_"): by_window[label] for label in labels}
        # landmark at the end of the testing year: exposure fixed then, survivors followed from there
        at = (pd.Timestamp(settings.first_year_end) - pd.Timestamp(settings.pandemic_start)).days
        fixed = landmark(persons, exposures, outcomes, origin="origin", end="follow_up_end", at_days=at,
                         competing=competing, covariates=["age_per_10y", "male"])
        ratios[at_landmark] = cox_ratios(fixed, ["exposed"], ["age_per_10y", "male"], notes, "landmark hazard "
                                         "ratio", stop="stop", event="event", cause=1)["exposed"]
    hazard_ratios = pd.DataFrame.from_dict(ratios, orient="index").rename(columns={"exp(coef)": "HR"}) \
        .rename_axis("months since positive test")
    return UKBResult(settings=settings, counts=counts, odds_ratios=odds_ratios, hazard_ratios=hazard_ratios,
                     data=data, notes=tuple(notes))


def human_targets(result: UKBResult) -> dict[str, tuple[float, str]]:
    """H1 and H2 as the scorecard reads them, from a UK Biobank recipe result."""
    odds = result.odds_ratios.loc["adjusted"]
    hr = result.hazard_ratios
    ratio = float(hr["HR"].iloc[0] / hr["HR"].iloc[1]) if hr["HR"].iloc[1] != 0 else float(np.inf)
    counts = result.counts
    return {
        "H1_ukb_cancer_death": (float(odds["OR"]), (
            f"UK Biobank recipe on the simulated cohort: {counts['tested_survivors']:,} tested survivors, "
            f"{counts['positive']:,} positive; adjusted OR 95% CI {odds['lower']:.2f}-{odds['upper']:.2f}; "
            f"the human mechanisms calibrated jointly to the published "
            f"{published('H1_ukb_cancer_death')['estimate']:g} and H2, C5, P1 (awaken explain)")),
        "H2_first_year": (ratio, (
            f"HR 0-12 months {hr['HR'].iloc[0]:.2f} ({hr['lower'].iloc[0]:.2f}-{hr['upper'].iloc[0]:.2f}) vs "
            f"12+ months {hr['HR'].iloc[1]:.2f} ({hr['lower'].iloc[1]:.2f}-{hr['upper'].iloc[1]:.2f}); "
            f"calibrated jointly with H1 (awaken explain)")),
    }
