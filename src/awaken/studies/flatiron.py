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

from awaken.schemas import Date, Integer, Real
from awaken.studies.ukb import _ratio_row
from awaken.survival import AalenJohansen, CoxPH
from awaken.survival.design import exposure_intervals

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

    @property
    def hazard_ratio(self) -> float:
        return float(self.hazard_ratios.loc["after diagnosis", "HR"])

    def to_dict(self) -> dict:
        return {"design": "flatiron", "settings": self.settings.model_dump(mode="json"), "counts": self.counts,
                "hazard_ratios": self.hazard_ratios.reset_index().to_dict(orient="records"),
                "cumulative_incidence_at_horizon": self.incidence_at_horizon}


def _patients(tables: dict[str, pd.DataFrame], s: FlatironSettings) -> pd.DataFrame:
    start, end = pd.Timestamp(s.pandemic_start), pd.Timestamp(s.follow_up_end)
    p, m = tables["patients"], tables["metastases"]
    b = p[p.cancer_type == "breast"].copy()
    b["origin"] = start
    b["entry"] = np.maximum(b.entry_date, start)
    b["end"] = np.minimum(b.exit_date, end)
    b = b[b.entry < b.end]
    first_met = m.set_index("person_id")
    b["met_date"] = b.person_id.map(first_met.date)
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
    exposed_day = info.index.map(first_exposure).to_numpy(dtype="datetime64[ns]")
    lung_day = info.index.map(lung.groupby("person_id").date.min()).to_numpy(dtype="datetime64[ns]")
    comp_day = info.index.map(competing.groupby("person_id").date.min()).to_numpy(dtype="datetime64[ns]")
    entry = info.entry.to_numpy(dtype="datetime64[ns]")
    end = info.end.to_numpy(dtype="datetime64[ns]")
    subtype = info.subtype.to_numpy()
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
        curves[group] = AalenJohansen().fit(frame, time="months", event="event", cause=1).cumulative_incidence_
    return curves, len(pairs)


def flatiron_analysis(tables: dict[str, pd.DataFrame], settings: FlatironSettings | None = None,
                      curves: bool = True, by_window: bool = True) -> FlatironResult:
    """The Flatiron recipe; ``curves=False`` skips the matched cumulative incidence and
    ``by_window=False`` the 0-12/12+ month split (what a power run does not need)."""
    s = settings or FlatironSettings()
    b = _patients(tables, s)
    exposures, lung, competing = _events(b, tables, s)
    persons = b[["person_id", "origin", "entry", "end", *_COVARIATES]]
    results = {}
    designs = (("after diagnosis", (0,)), ("months 0-12", (0, 365)))
    for label, windows in designs if by_window else designs[:1]:
        rows = exposure_intervals(persons, exposures, lung, origin="origin", end="end", entry="entry",
                                  competing=competing, windows_days=windows, covariates=_COVARIATES)
        exposed = [c for c in rows.columns if c.startswith("exposed_")]
        cox = CoxPH().fit(rows, start="start", stop="stop", event="event", covariates=[*exposed, *_COVARIATES],
                          cause=1, id="person_id")
        if label == "after diagnosis":
            results[label] = _ratio_row(cox.summary, exposed[0], "exp(coef)", "exp(coef)")
        else:
            results["months 0-12"] = _ratio_row(cox.summary, exposed[0], "exp(coef)", "exp(coef)")
            results["months 12+"] = _ratio_row(cox.summary, exposed[1], "exp(coef)", "exp(coef)")
    hazard_ratios = pd.DataFrame.from_dict(results, orient="index").rename(columns={"exp(coef)": "HR"}) \
        .rename_axis("exposure")
    curves, matched = _matched_incidence(b, exposures, lung, competing, s) if curves else ({}, 0)
    horizon = {g: float(c[c.index <= s.curve_months].iloc[-1]) if (c.index <= s.curve_months).any() else 0.0
               for g, c in curves.items()}
    counts = {"patients": len(b), "recorded_covid_19": int(exposures.person_id.nunique()),
              "lung_metastases": len(lung), "competing_events": int(competing.person_id.nunique()),
              "matched_pairs": matched}
    return FlatironResult(settings=s, counts=counts, hazard_ratios=hazard_ratios, incidence=curves,
                          incidence_at_horizon=horizon)
