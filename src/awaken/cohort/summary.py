"""What a cohort looks like: the numbers and curves the report shows, per scenario arm.

Example
-------
>>> from awaken.cohort.summary import ARM_LABELS
>>> ARM_LABELS["no_pandemic"]
'without the pandemic'
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from awaken.survival import AalenJohansen, KaplanMeier

__all__ = ["lung_summary", "ever_infected", "ARM_LABELS", "arm_counts", "infections_per_season",
           "metastasis_incidence_since", "recurrence_curves",
           "metastases_by_site"]

ARM_LABELS = {"pandemic": "with the pandemic", "no_pandemic": "without the pandemic"}


def _days(series: pd.Series) -> np.ndarray:
    return pd.to_datetime(series).to_numpy().astype("datetime64[D]").astype(np.int64).astype(float)


def arm_counts(tables: Mapping[str, pd.DataFrame]) -> dict[str, float]:
    """Headline counts of one arm."""
    p, inf, tests, m, d = (tables[k] for k in ("patients", "infections", "tests", "metastases", "deaths"))
    years = (_days(p.exit_date) - _days(p.entry_date)).sum() / 365.25
    covid_tests = tests[tests.pathogen == "sars_cov_2"]
    return {
        "people": float(len(p)), "person_years": float(years),
        "influenza_infections": float((inf.pathogen == "influenza").sum()),
        "sars_cov_2_infections": float((inf.pathogen == "sars_cov_2").sum()),
        "sars_cov_2_positive_records": float((covid_tests.result == "positive").sum()),
        "sars_cov_2_negative_tests": float((covid_tests.result == "negative").sum()),
        "metastases": float(len(m)), "lung_metastases": float((m.site == "lung").sum()),
        "metastases_from_infection": float((m.latent_origin == "infection").sum()),
        "cancer_deaths": float((d.cause == "cancer").sum()), "covid_19_deaths": float((d.cause == "covid_19").sum()),
        "other_deaths": float((d.cause == "other").sum()),
    }


def lung_summary(infections: pd.DataFrame) -> dict[str, dict[str, float]]:
    """What the survivors' lungs made of their infections, per pathogen: the DCC fold change's median,
    5th and 95th percentiles and mean excess over 1, and the medians of the other lung read-outs."""
    out = {}
    for pathogen, group in infections.groupby("pathogen", sort=True):
        fold = group.latent_fold_change.to_numpy(float)
        out[str(pathogen)] = {
            "infections": float(len(group)), "median": float(np.median(fold)),
            "p05": float(np.percentile(fold, 5)), "p95": float(np.percentile(fold, 95)),
            "mean_excess": float(np.mean(fold - 1.0)),
            **{f"median_{name}": float(group[f"latent_{name}"].median())
               for name in ("il6_peak", "il6_raised_days", "clearance_day")},
        }
    return out


def infections_per_season(tables: Mapping[str, pd.DataFrame], margin_days: float = 21.0) -> pd.DataFrame:
    """Infections per 1,000 survivors under follow-up at each season's or wave's mid-point.

    Seasons and waves cut by the calendar window (infections within ``margin_days`` of either
    end) are left out: their counts would be partial."""
    p, inf = tables["patients"], tables["infections"]
    entry, exit_ = _days(p.entry_date), _days(p.exit_date)
    window = (entry.min(), _days(p.exit_date).max())
    rows = []
    for (pathogen, wave), group in inf.groupby(["pathogen", "wave"], sort=False):
        days = _days(group.date)
        if days.min() < window[0] + margin_days or days.max() > window[1] - margin_days:
            continue
        middle = np.median(days)
        at_risk = int(((entry <= middle) & (exit_ > middle)).sum())
        rows.append({"pathogen": pathogen, "wave": wave, "date": pd.Timestamp(int(middle), unit="D"),
                     "infections": len(group), "per_1000": 1000 * len(group) / max(at_risk, 1)})
    return pd.DataFrame(rows).sort_values("date", ignore_index=True)


def metastasis_incidence_since(tables: Mapping[str, pd.DataFrame], origin: str = "2020-01-01",
                               site: str = "lung") -> pd.Series:
    """Cumulative incidence (Aalen-Johansen) of a first metastasis at ``site`` after ``origin`` in
    survivors under follow-up and free of metastasis then; other-site metastasis and death compete."""
    p, m, d = tables["patients"], tables["metastases"], tables["deaths"]
    t0 = _days(pd.Series([origin]))[0]
    at_origin = p[(_days(p.entry_date) <= t0) & (_days(p.exit_date) > t0)][["person_id", "exit_date"]]
    frame = at_origin.merge(m, on="person_id", how="left").merge(d[["person_id", "date"]].rename(
        columns={"date": "death_date"}), on="person_id", how="left")
    frame = frame[~(frame.date.notna() & (_days(frame.date.fillna(pd.Timestamp(origin))) <= t0))]
    event_day = np.where(frame.date.notna(), _days(frame.date.fillna(pd.Timestamp(origin))), np.inf)
    death_day = np.where(frame.death_date.notna(), _days(frame.death_date.fillna(pd.Timestamp(origin))), np.inf)
    exit_day = _days(frame.exit_date)
    time = np.minimum.reduce([event_day, death_day, exit_day])
    code = np.where(event_day <= time, np.where(frame.site.to_numpy() == site, 1, 2), np.where(death_day <= time, 2, 0))
    data = pd.DataFrame({"time": np.maximum(time - t0, 0.5) / 365.25, "event": code})
    return AalenJohansen().fit(data, time="time", event="event", cause=1).cumulative_incidence_


def recurrence_curves(tables: Mapping[str, pd.DataFrame], years: float = 15.0) -> dict[str, pd.Series]:
    """1 - Kaplan-Meier of distant metastasis by years since diagnosis, breast cancer, per stage
    (left-truncated at entry: survivors who enter years after diagnosis count from then)."""
    p, m = tables["patients"], tables["metastases"]
    b = p[p.cancer_type == "breast"].merge(m[["person_id", "date"]], on="person_id", how="left")
    dx = _days(b.diagnosis_date)
    entry = (_days(b.entry_date) - dx) / 365.25
    event_day = np.where(b.date.notna(), _days(b.date.fillna(b.exit_date)), np.inf)
    stop = (np.minimum(event_day, _days(b.exit_date)) - dx) / 365.25
    event = (event_day <= _days(b.exit_date)).astype(int)
    keep = stop > entry
    frame = pd.DataFrame({"entry": entry, "stop": np.maximum(stop, entry + 1e-6), "event": event, "stage": b.stage})
    curves = {}
    for stage, group in frame[keep].groupby("stage"):
        km = KaplanMeier().fit(group, time="stop", event="event", start="entry")
        s = km.survival_function_
        curves[str(stage)] = 1.0 - s[s.index <= years]
    return curves


def metastases_by_site(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    m = tables["metastases"]
    return m.groupby(["site", "latent_origin"]).size().rename("metastases").reset_index()


def ever_infected(patients: pd.DataFrame, infections: pd.DataFrame, date: str, ages: tuple[float, float],
                  entered_by: str = "2020-03-01") -> tuple[float, int]:
    """Share of people under follow-up on ``date`` (entered by ``entered_by``, aged ``ages``) with an
    earlier SARS-CoV-2 infection, and how many people that share is of."""
    day = pd.Timestamp(date)
    p = patients[(pd.to_datetime(patients["entry_date"]) <= pd.Timestamp(entered_by))
                 & (pd.to_datetime(patients["exit_date"]) > day)]
    age = (day - pd.to_datetime(p["birth_date"])).dt.days / 365.25
    p = p[(age >= ages[0]) & (age < ages[1])]
    cov = infections[(infections["pathogen"] == "sars_cov_2") & (pd.to_datetime(infections["date"]) < day)]
    hit = np.isin(p["person_id"].to_numpy(), cov["person_id"].to_numpy())
    return float(hit.mean()) if len(p) else float("nan"), int(len(p))
