"""Summaries of a simulated cohort that are compared with published numbers.

Example
-------
>>> from awaken.cohort.checks import SEROPREVALENCE_TARGETS
>>> SEROPREVALENCE_TARGETS[("2022-02-15", "65+")]
0.33
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["SEROPREVALENCE_TARGETS", "ever_infected", "age_bounds", "SEROPREVALENCE_SOURCE"]

SEROPREVALENCE_SOURCE = ("Clarke et al. 2022, MMWR 71:606: US anti-N seroprevalence, ages 50-64 29% -> 50% and "
                         ">=65 19% -> 33% from Sep-Dec 2021 to Feb 2022")
#: (date, age group) -> share ever infected with SARS-CoV-2
SEROPREVALENCE_TARGETS = {("2021-11-15", "50-64"): 0.29, ("2021-11-15", "65+"): 0.19,
                          ("2022-02-15", "50-64"): 0.50, ("2022-02-15", "65+"): 0.33}


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


def age_bounds(group: str) -> tuple[float, float]:
    return {"50-64": (50.0, 65.0), "65+": (65.0, 200.0)}[group]
