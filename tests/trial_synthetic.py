"""A synthetic trial table with known effects, in the shape the trial runner writes (``awaken.trials.outcomes``).

Each survivor has fixed uniform draws (common random numbers): the times of lung metastasis, of death
from other causes, of COVID-19 death and of cancer death after a metastasis are exponential, and an
arm changes a survivor's times only if it treats them (``treated``): a treated survivor's lung
metastasis hazard is multiplied by the arm's hazard ratio (same uniform, so the time is the control
time divided by the ratio). With everyone treated, the cause-specific hazard ratio of the arm is the
ratio given, and the cumulative incidence of lung metastasis by day t is known in closed form
(:func:`lung_metastasis_risk`). The no-infection reference has the lower hazard ``reference_rate``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

YEAR = 365.25


def lung_metastasis_risk(rate_per_year: float, competing_per_year: float, day: float) -> float:
    """Cumulative incidence by ``day`` of an exponential cause with an exponential competing cause."""
    total = rate_per_year + competing_per_year
    return rate_per_year / total * (1 - math.exp(-total * day / YEAR))


def synthetic_trial(n: int = 4000, *, seed: int = 0, control: str = "control",
                    arms: Mapping[str, Mapping[str, float]] | None = None,
                    explanations: Sequence[str] = ("awakening",), follow_up_days: float = 5 * YEAR,
                    rate_per_year: float = 0.08, other_death_per_year: float = 0.03,
                    covid_death_per_year: float = 0.005, cancer_death_per_year: float = 0.5,
                    treated_share: Mapping[str, float] | None = None, reference_rate_per_year: float | None = None,
                    non_causal: Sequence[str] = ("non_causal",)) -> pd.DataFrame:
    """One row per (explanation, arm, person_id); ``arms`` maps an arm to its lung-metastasis hazard
    ratio by explanation (``{"tocilizumab": {"awakening": 0.6}}``; an explanation not listed: 1).
    Explanations in ``non_causal`` get ratio 1 in every arm. With ``reference_rate_per_year`` an arm
    ``no_infection`` is added (nobody allocated to it) with that lung-metastasis hazard under the causal
    explanations and the control's under the non-causal ones."""
    arms = dict(arms if arms is not None else {"tocilizumab": {"awakening": 0.6}})
    treated_share = dict(treated_share or {})
    rng = np.random.default_rng(seed)
    person = np.arange(n, dtype=np.int64) + 1000
    u_met, u_other, u_covid, u_cancer = rng.random((4, n))
    u_alloc, u_neutropenia, u_rebound, u_delay, u_ct = rng.random((5, n))
    u_treat = rng.random(n)
    names = [control, *arms]
    allocated = np.asarray(names, dtype=object)[np.minimum((u_alloc * len(names)).astype(int), len(names) - 1)]
    other = -np.log(u_other) / other_death_per_year * YEAR
    covid = -np.log(u_covid) / covid_death_per_year * YEAR
    after_met = -np.log(u_cancer) / cancer_death_per_year * YEAR
    base_met = -np.log(u_met) / rate_per_year * YEAR
    age = 45 + 30 * rng.random(n)
    subtype = np.where(rng.random(n) < 0.7, "HR+", "HER2+")
    since = 1 + 9 * rng.random(n)

    frames = []
    for explanation in explanations:
        all_arms = list(names)
        if reference_rate_per_year is not None:
            all_arms.append("no_infection")
        for arm in all_arms:
            if arm == "no_infection":
                ratio = 1.0 if explanation in non_causal else reference_rate_per_year / rate_per_year
                treated = np.zeros(n, dtype=bool)
                met = base_met / ratio
            else:
                ratio = 1.0 if (arm == control or explanation in non_causal) else arms[arm].get(explanation, 1.0)
                treated = np.zeros(n, dtype=bool) if arm == control else u_treat < treated_share.get(arm, 1.0)
                met = np.where(treated, base_met / ratio, base_met)
            cancer = met + after_met
            death = np.minimum.reduce([other, covid, cancer])
            lung = np.where(met <= death, met, np.inf)
            cancer_death = np.where(cancer <= np.minimum(other, covid), cancer, np.inf)
            covid_death = np.where(covid <= np.minimum(other, cancer), covid, np.inf)

            def within(days):
                return np.where(days <= follow_up_days, days, np.inf)

            death_day = within(death)
            frames.append(pd.DataFrame({
                "explanation": explanation, "arm": arm, "person_id": person, "allocated_arm": allocated,
                "age": age, "subtype": subtype, "years_since_diagnosis": since,
                "lung_metastasis_day": within(lung), "cancer_death_day": within(cancer_death),
                "covid_death_day": within(covid_death), "death_day": death_day,
                "end_day": np.minimum(death_day, follow_up_days),
                "treated": treated, "doses": np.where(treated, 1, 0).astype(np.int64),
                "neutropenia": treated & (u_neutropenia < 0.02), "viral_rebound": treated & (u_rebound < 0.05),
                "clearance_delay_days": np.where(treated, 3 * u_delay, 0.0),
                "ct_scans": np.zeros(n, dtype=np.int64), "ct_false_positives": np.zeros(n, dtype=np.int64),
            }))
    return pd.concat(frames, ignore_index=True)
