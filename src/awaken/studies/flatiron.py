"""The Flatiron design: after a recorded COVID-19 diagnosis, do breast cancer patients progress to
lung metastasis faster?

Breast cancer patients of a US EHR, followed on the calendar time scale from the pandemic start
(left truncation: a patient diagnosed later enters at diagnosis), free of distant metastasis at
entry. Exposure: a recorded COVID-19 diagnosis (a positive record; most infections leave none, so the
exposure is under-ascertained, as the study notes) as a time-varying exposure from its date, in the
pre-vaccine period. Outcome: a first distant metastasis in the lung; death and a first metastasis
elsewhere compete. Reported: the cause-specific hazard ratio (Cox, adjusted for age, stage, ER and
HER2), the same split by 0-12 and 12+ months since the diagnosis, and cumulative incidence curves
(Aalen-Johansen) of lung metastasis from the diagnosis date in the exposed and from the same calendar
date in matched unexposed patients (same subtype, alive, metastasis-free and not yet exposed then;
a comparator who is exposed later is censored at that date).

Records without a breast cancer patient to follow are refused (:class:`~awaken.errors.InputError`
naming what is missing); a ratio or curve the records cannot estimate (no recorded COVID-19, no lung
metastasis, a window without exposed time, nobody to match) is NaN with a line in ``notes`` saying
why - never a traceback.

Example
-------
>>> from awaken.studies.flatiron import FlatironSettings
>>> str(FlatironSettings().exposure_end)
'2021-03-01'
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from awaken.errors import InputError
from awaken.records import dropped_counts
from awaken.schemas import Date, Integer, Real
from awaken.studies.estimates import cox_ratios, map_dates, not_estimable
from awaken.survival import AalenJohansen
from awaken.survival.design import exposure_intervals, window_labels

__all__ = ["FlatironSettings", "FlatironResult", "flatiron_analysis"]

_COVARIATES = ["age_per_10y", "stage_number", "er_negative", "her2_positive"]


class FlatironSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    pandemic_start: Date = Field(dt.date(2020, 3, 1), description="origin of the calendar time scale")
    exposure_end: Date = Field(dt.date(2021, 3, 1), description="recorded diagnoses up to this day count "
                                  "(the study's data pre-date vaccination)")
    follow_up_end: Date = Field(dt.date(2022, 3, 1), description="end of follow-up for lung metastasis "
                                   "(assumption: one year after the last exposure)")
    curve_months: Real = Field(12.0, gt=0, le=60, json_schema_extra={"unit": "month"},
                                description="horizon of the cumulative incidence read-out")
    seed: Integer = Field(0, ge=0, description="random order of matching")

    @model_validator(mode="after")
    def _ordered(self) -> FlatironSettings:
        if not self.pandemic_start < self.exposure_end <= self.follow_up_end:
            raise ValueError("dates must satisfy pandemic_start < exposure_end <= follow_up_end")
        return self


@dataclass(frozen=True)
class FlatironResult:
    settings: FlatironSettings
    counts: dict[str, int]
    hazard_ratios: pd.DataFrame  # rows: any time since diagnosis, 0-12m, 12m+
    incidence: dict[str, pd.Series]  # exposed / matched unexposed: cumulative incidence by months
    incidence_at_horizon: dict[str, float]
    notes: tuple[str, ...] = ()  # why a ratio or curve is not estimable (NaN) or a covariate was left out

    @property
    def hazard_ratio(self) -> float:
        return float(self.hazard_ratios.loc["after diagnosis", "HR"])

    def to_dict(self) -> dict:
        out = {"design": "flatiron", "settings": self.settings.model_dump(mode="json"), "counts": self.counts,
               "hazard_ratios": self.hazard_ratios.reset_index().to_dict(orient="records"),
               "cumulative_incidence_at_horizon": self.incidence_at_horizon}
        return {**out, "notes": list(self.notes)} if self.notes else out


def _patients(tables: dict[str, pd.DataFrame], s: FlatironSettings) -> pd.DataFrame:
    start, end = pd.Timestamp(s.pandemic_start), pd.Timestamp(s.follow_up_end)
    p, m = tables["patients"], tables["metastases"]
    b = p[p.cancer_type == "breast"].copy()
    b["origin"] = start
    b["entry"] = np.maximum(b.entry_date, start)
    b["end"] = np.minimum(b.exit_date, end)
    b = b[b.entry < b.end]
    first_met = m.set_index("person_id")
    b["met_date"] = map_dates(b.person_id, first_met.date)
    b["met_site"] = b.person_id.map(first_met.site)
    b = b[~(b.met_date <= b.entry)]  # prevalent metastatic disease is excluded
    b["age_per_10y"] = (start - b.birth_date).dt.days / 3652.5
    b["stage_number"] = b.stage.map({"I": 1, "II": 2, "III": 3}).astype(float)
    b["er_negative"] = (b.er_status == "negative").astype(int)
    b["her2_positive"] = (b.her2_status == "positive").astype(int)
    return b.reset_index(drop=True)


def _events(b: pd.DataFrame, tables: dict[str, pd.DataFrame], s: FlatironSettings):
    t, d = tables["tests"], tables["deaths"]
    start, stop = pd.Timestamp(s.pandemic_start), pd.Timestamp(s.exposure_end)
    records = t[(t.pathogen == "sars_cov_2") & (t.result == "positive") & (t.date >= start) & (t.date < stop)]
    records = records[records.person_id.isin(b.person_id)]
    end_of = b.set_index("person_id").end
    records = records[records.date < records.person_id.map(end_of)]
    lung = b[(b.met_site == "lung") & (b.met_date <= b.end)][["person_id", "met_date"]]
    other_met = b[(b.met_site == "other") & (b.met_date <= b.end)][["person_id", "met_date"]]
    deaths = d[d.person_id.isin(b.person_id)]
    deaths = deaths[deaths.date <= deaths.person_id.map(end_of)]
    competing = pd.concat([other_met.rename(columns={"met_date": "date"}), deaths[["person_id", "date"]]])
    return (records[["person_id", "date"]], lung.rename(columns={"met_date": "date"}), competing)


def _matched_incidence(b, exposures, lung, competing, s: FlatironSettings) -> dict[str, pd.Series]:
    """Cumulative incidence of lung metastasis from the index date, exposed vs matched unexposed."""
    rng = np.random.default_rng(s.seed)
    first_exposure = exposures.groupby("person_id").date.min()
    info = b.set_index("person_id")

    def days(dates: pd.Series) -> np.ndarray:
        return map_dates(info.index.to_series(), dates).to_numpy(dtype="datetime64[ns]")

    exposed_day = days(first_exposure)
    lung_day = days(lung.groupby("person_id").date.min())
    comp_day = days(competing.groupby("person_id").date.min())
    entry = info.entry.to_numpy(dtype="datetime64[ns]")
    end = info.end.to_numpy(dtype="datetime64[ns]")
    subtype = info.subtype.fillna("missing").to_numpy()  # a patient without a subtype matches one without
    used = np.zeros(len(info), bool)
    pools = {value: np.flatnonzero(subtype == value) for value in np.unique(subtype)}

    def eligible(j: int, day) -> bool:
        return bool(not used[j] and entry[j] <= day < end[j]
                    and (np.isnat(lung_day[j]) or lung_day[j] > day) and (np.isnat(comp_day[j]) or comp_day[j] > day)
                    and (np.isnat(exposed_day[j]) or exposed_day[j] > day))

    pairs = []
    order = rng.permutation(np.flatnonzero(~np.isnat(exposed_day)))
    for i in order:
        day = exposed_day[i]
        if not ((np.isnat(lung_day[i]) or lung_day[i] > day) and (np.isnat(comp_day[i]) or comp_day[i] > day)):
            continue  # metastatic (or dead) before the record: not at risk from the index date
        pool = pools[subtype[i]]
        # a random eligible comparator: rejection sampling (most of the pool is eligible), then a full scan
        j = -1
        for candidate in pool[rng.integers(0, pool.size, size=64)]:
            if candidate != i and eligible(int(candidate), day):
                j = int(candidate)
                break
        if j < 0:
            rest = [int(c) for c in pool if c != i and eligible(int(c), day)]
            if not rest:
                continue
            j = rest[int(rng.integers(0, len(rest)))]
        used[j] = True
        pairs.append((i, j, day))
    curves = {}
    if not pairs:
        return curves, 0
    for group, pick in (("exposed", 0), ("matched unexposed", 1)):
        rows = []
        for pair in pairs:
            k, day = pair[pick], pair[2]
            stop = end[k]
            censor_on_exposure = pick == 1 and not np.isnat(exposed_day[k])
            if censor_on_exposure:
                stop = min(stop, exposed_day[k])
            event_day, code = stop, 0
            if not np.isnat(lung_day[k]) and lung_day[k] <= stop:
                event_day, code = lung_day[k], 1
            if not np.isnat(comp_day[k]) and comp_day[k] <= stop and comp_day[k] < event_day:
                event_day, code = comp_day[k], 2
            months = max((event_day - day) / np.timedelta64(1, "D"), 0.5) / (365.25 / 12)
            rows.append((months, code))
        frame = pd.DataFrame(rows, columns=["months", "event"])
        if (frame.event == 1).any():
            curves[group] = AalenJohansen().fit(frame, time="months", event="event", cause=1).cumulative_incidence_
        else:  # no lung metastasis in the group: the cumulative incidence is 0 throughout (estimated, not missing)
            curves[group] = pd.Series(0.0, index=pd.Index(np.unique(frame.months), name="time"), name="cause 1")
    return curves, len(pairs)


def _nobody(tables: dict[str, pd.DataFrame], s: FlatironSettings) -> InputError:
    """What the records lack when no breast cancer patient can be followed."""
    p = tables["patients"]
    breast = int((p.cancer_type == "breast").sum())
    if breast == 0:
        return InputError.field("cohort", f"no breast cancer patient (patients.cancer_type breast) among the "
                                f"{len(p):,} persons: the Flatiron design follows breast cancer patients")
    return InputError.field("cohort", f"no breast cancer patient (of {breast:,}) is followed after {s.pandemic_start} "
                            f"(exit_date after it and after entry_date) free of distant metastasis at entry")


def flatiron_analysis(tables: dict[str, pd.DataFrame], settings: FlatironSettings | None = None,
                      curves: bool = True, by_window: bool = True) -> FlatironResult:
    """The Flatiron recipe; ``curves=False`` skips the matched cumulative incidence and
    ``by_window=False`` the 0-12/12+ month split (what a power run does not need). Refuses records
    without a breast cancer patient to follow (InputError); what they cannot estimate is NaN, with
    the reason in ``notes``."""
    s = settings or FlatironSettings()
    b = _patients(tables, s)
    if b.empty:
        raise _nobody(tables, s)
    exposures, lung, competing = _events(b, tables, s)
    persons = b[["person_id", "origin", "entry", "end", *_COVARIATES]]
    notes: list[str] = []
    unestimable = (f"no breast cancer patient has a recorded COVID-19 diagnosis (a positive SARS-CoV-2 test) from "
                   f"{s.pandemic_start} to {s.exposure_end}" if exposures.empty else
                   f"no breast cancer patient had a first distant metastasis in the lung by {s.follow_up_end}"
                   if lung.empty else None)
    if unestimable:
        also = " and the cumulative incidence" if curves and exposures.empty else ""
        notes.append(f"{unestimable}: the hazard ratios{also} are not estimable")
    results = {}
    designs = (("after diagnosis", (0,)), ("months 0-12", (0, 365)))
    for label, windows in designs if by_window else designs[:1]:
        exposed = [f"exposed_{w}" for w in window_labels(windows)]
        if unestimable:
            ratios = {term: not_estimable("exp(coef)") for term in exposed}
        else:
            rows = exposure_intervals(persons, exposures, lung, origin="origin", end="end", entry="entry",
                                      competing=competing, windows_days=windows, covariates=_COVARIATES)
            exposed = [c for c in rows.columns if c.startswith("exposed_")]
            ratios = cox_ratios(rows, exposed, _COVARIATES, notes, f"hazard ratio, {label}", start="start",
                                stop="stop", event="event", cause=1, id="person_id")
        if label == "after diagnosis":
            results[label] = ratios[exposed[0]]
        else:
            results["months 0-12"] = ratios[exposed[0]]
            results["months 12+"] = ratios[exposed[1]]
    hazard_ratios = pd.DataFrame.from_dict(results, orient="index").rename(columns={"exp(coef)": "HR"}) \
        .rename_axis("exposure")
    incidence, matched = _matched_incidence(b, exposures, lung, competing, s) if curves else ({}, 0)
    horizon = {g: float(c[c.index <= s.curve_months].iloc[-1]) if (c.index <= s.curve_months).any() else 0.0
               for g, c in incidence.items()}
    if curves and not matched:
        if not exposures.empty:  # without any exposure the first note says so
            notes.append("no patient with a recorded COVID-19 diagnosis could be matched to an unexposed one (same "
                         "subtype, at risk on the date of the diagnosis): the cumulative incidence is not estimable")
        horizon = {"exposed": np.nan, "matched unexposed": np.nan}
    counts = {"patients": len(b), "recorded_covid_19": int(exposures.person_id.nunique()),
              "lung_metastases": len(lung), "competing_events": int(competing.person_id.nunique()),
              "matched_pairs": matched, **dropped_counts(tables)}
    return FlatironResult(settings=s, counts=counts, hazard_ratios=hazard_ratios, incidence=incidence,
                          incidence_at_horizon=horizon, notes=tuple(notes))
