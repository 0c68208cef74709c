"""Which candidate infections happen: protection, acceptance and COVID-19 death.

One compiled pass per block walks each person's candidate infections in time order
(:func:`awaken.cohort.exposures.draw_candidates`) and, for each candidate while the person would be
alive without any effect of infections on their cancer:

* **protection**, leaky and waning: influenza - the season's vaccine (``influenza_ve`` from 14 d
  after the dose) and no reinfection within ``influenza_reinfection_immunity``; SARS-CoV-2 - the
  latest dose (primary or booster, pre-Omicron or Omicron effectiveness) and the latest infection,
  both waning as ``exp(-elapsed / covid_protection_waning)``, combined as independent leaky
  protections ``1 - (1 - VE_vaccine)(1 - VE_infection)``;
* **acceptance** with probability ``thinning x (1 - protection)`` (see :mod:`awaken.cohort.exposures`);
* **COVID-19 death** with the age-specific infection fatality rate of Levin et al. 2020, lowered for
  Omicron and by vaccination.

What an accepted infection does in the person's lung (:mod:`awaken.cohort.lungs`), to their cancer
and to the record is decided afterwards (:mod:`awaken.cohort.cancer_course`). Splitting the walk is
exact: acceptance and COVID-19 death do not depend on the cancer, and an infection an earlier one
makes impossible (the person has died of the cancer it accelerated) is dropped by the second pass.

Every chance is a counter-based draw keyed by (person, wave/season, slot, candidate), so the same
candidate meets the same chances in every scenario.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from awaken.cohort import streams
from awaken.cohort.draws import uniform

__all__ = ["Exposures", "resolve_exposures", "PARAMETER_ORDER"]

#: order of the scalar parameters handed to the compiled pass
PARAMETER_ORDER = (
    "influenza_ve", "influenza_reinfection_immunity", "covid_ve_primary_pre_omicron", "covid_ve_booster_pre_omicron",
    "covid_ve_primary_omicron", "covid_ve_booster_omicron", "covid_reinfection_protection_pre_omicron",
    "covid_reinfection_protection_omicron", "covid_protection_waning", "covid_ifr_intercept", "covid_ifr_slope",
    "covid_ifr_omicron_factor", "covid_ve_death", "covid_death_delay",
)
_VACCINE_LAG = 14.0  # days from a dose to protection


@dataclass(frozen=True)
class Exposures:
    """Per candidate infection: did it happen (if the person was still alive), the vaccine's protection
    at that moment and the share of it left (``vaccine_strength``, 0 unvaccinated, 1 fresh), and the
    day of COVID-19 death it causes (inf: none)."""

    accepted: np.ndarray
    vaccine_protection: np.ndarray
    vaccine_strength: np.ndarray
    covid_death_day: np.ndarray


@numba.njit(cache=True)
def _exposures(seed, offsets, day, pathogen, season_col, slot_stream, draw, thinning, omicron, person_id, birth_day,
               alive_until, flu_vaccine, covid_dose, dose_is_booster, death_factor, p):
    n_cand = day.size
    accepted = np.zeros(n_cand, np.bool_)
    vaccine_protection = np.zeros(n_cand)
    vaccine_strength = np.zeros(n_cand)
    covid_death_day = np.full(n_cand, np.inf)
    (ve_flu, flu_immunity, ve_p, ve_b, ve_p_om, ve_b_om, r_pre, r_om, tau, b0, b1, f_om, ve_death, death_delay) = p
    for i in range(person_id.size):
        pid = person_id[i]
        last_flu = -np.inf
        last_covid = -np.inf
        death_covid = np.inf
        for c in range(offsets[i], offsets[i + 1]):
            t = day[c]
            if t >= min(alive_until[i], death_covid):
                break
            vaccinated = False
            strength = 0.0
            if pathogen[c] == 0:
                if t - last_flu < flu_immunity:
                    continue
                v = flu_vaccine[i, season_col[c]]
                ve_v = ve_flu if (not np.isnan(v)) and t >= v + _VACCINE_LAG else 0.0
                strength = 1.0 if ve_v > 0.0 else 0.0
                protection = ve_v
            else:
                ve_v = 0.0
                latest = -np.inf
                booster = False
                for d in range(covid_dose.shape[1]):
                    dd = covid_dose[i, d]
                    if (not np.isnan(dd)) and dd + _VACCINE_LAG <= t and dd > latest:
                        latest = dd
                        booster = dose_is_booster[d]
                if latest > -np.inf:
                    vaccinated = True
                    if omicron[c]:
                        ve0 = ve_b_om if booster else ve_p_om
                    else:
                        ve0 = ve_b if booster else ve_p
                    strength = np.exp(-(t - latest) / tau)
                    ve_v = ve0 * strength
                ve_i = 0.0
                if last_covid > -np.inf:
                    ve_i = (r_om if omicron[c] else r_pre) * np.exp(-(t - last_covid) / tau)
                protection = 1.0 - (1.0 - ve_v) * (1.0 - ve_i)
            vaccine_protection[c] = ve_v
            vaccine_strength[c] = strength
            base = slot_stream[c]
            k = draw[c]
            if uniform(seed, pid, base + streams.ACCEPT, k) >= thinning[c] * (1.0 - protection):
                continue
            accepted[c] = True
            if pathogen[c] == 0:
                last_flu = t
            else:
                last_covid = t
                age = (t - birth_day[i]) / 365.25
                ifr = 10.0 ** (b0 + b1 * age) / 100.0
                if omicron[c]:
                    ifr *= f_om
                if vaccinated:
                    ifr *= 1.0 - ve_death
                ifr *= death_factor[c]  # 1, or lowered by an early antiviral (a trial arm)
                if uniform(seed, pid, base + streams.DEATH, k) < min(ifr, 1.0):
                    covid_death_day[c] = t + death_delay * (0.5 + uniform(seed, pid, base + streams.DEATH_DELAY, k))
                    death_covid = min(death_covid, covid_death_day[c])
    return accepted, vaccine_protection, vaccine_strength, covid_death_day


def resolve_exposures(seed: int, candidates, season_col: np.ndarray, people, alive_until: np.ndarray,
                      flu_vaccine: np.ndarray, covid_doses, values: dict[str, float],
                      death_factor: np.ndarray | None = None) -> Exposures:
    """Walk the candidates of a block; ``alive_until`` is each person's death day without any effect of
    infections on their cancer (background death, or cancer death after background metastasis);
    ``death_factor`` (per candidate, default 1) scales the chance of dying of COVID-19."""
    if death_factor is None:
        death_factor = np.ones(candidates.day.size)
    params = np.array([values[name] for name in PARAMETER_ORDER], dtype=float)
    out = _exposures(np.uint64(seed), candidates.offsets, candidates.day, candidates.pathogen, season_col,
                     candidates.slot_stream, candidates.draw, candidates.thinning, candidates.omicron,
                     people.person_id, people.birth_day, alive_until, flu_vaccine, covid_doses.days,
                     covid_doses.booster, np.ascontiguousarray(death_factor, dtype=float), params)
    return Exposures(*out)
