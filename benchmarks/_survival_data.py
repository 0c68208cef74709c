"""Synthetic cohort with a time-varying exposure, shared by the survival benchmarks.

Each subject has a fixed covariate (age, standardised) and may be infected during follow-up;
follow-up is split at infection, so a subject contributes one or two ``(start, stop]`` rows
(~1.5-2 on average). The true log hazard ratio of infection is 0.5 and of age 0.3.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

TRUE_LOG_HR = {"exposed": 0.5, "age": 0.3}


def cohort(n_subjects: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.normal(size=n_subjects)
    infection = rng.exponential(4.0, n_subjects)       # years
    censor = rng.uniform(2.0, 10.0, n_subjects)
    base = 0.1 * np.exp(TRUE_LOG_HR["age"] * age)
    # event time under a hazard that rises by exp(0.5) after infection (inverse transform)
    e = rng.exponential(1.0, n_subjects)
    before = e / base
    after = infection + (e - base * infection) / (base * np.exp(TRUE_LOG_HR["exposed"]))
    event_time = np.where(before <= infection, before, after)
    # whole days, so tied event times occur as in registry data
    end = np.ceil(np.minimum(event_time, censor) * 365.25)
    died = event_time <= censor
    split = np.ceil(infection * 365.25)
    two = split < end
    ids = np.arange(n_subjects)
    first = pd.DataFrame({"id": ids, "start": 0.0, "stop": np.where(two, split, end),
                          "event": np.where(two, 0, died).astype(int), "exposed": 0, "age": age})
    second = pd.DataFrame({"id": ids[two], "start": split[two], "stop": end[two],
                           "event": died[two].astype(int), "exposed": 1, "age": age[two]})
    return pd.concat([first, second], ignore_index=True).sort_values(["id", "start"], ignore_index=True)
