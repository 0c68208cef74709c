"""Which candidate infections happen, what they leave in the record, and what they do to the person.

One compiled pass per block walks each person's candidate infections in time order
(:func:`awaken.cohort.exposures.draw_candidates`) and, for each candidate still alive:

* **protection**, leaky and waning: influenza - the season's vaccine (``influenza_ve`` from 14 d
  after the dose) and no reinfection within ``influenza_reinfection_immunity``; SARS-CoV-2 - the
  latest dose (primary or booster, pre-Omicron or Omicron effectiveness) and the latest infection,
  both waning as ``exp(-elapsed / covid_protection_waning)``, combined as independent leaky
  protections ``1 - (1 - VE_vaccine)(1 - VE_infection)``;
* **acceptance** with probability ``thinning x (1 - protection)`` (see :mod:`awaken.cohort.exposures`);
* **the record**: a positive test (UK) or recorded diagnosis (US) with the probability of the
  testing period, ``test_delay`` days after infection; influenza with ``influenza_recorded_fraction``;
* **COVID-19 death** with the age-specific infection fatality rate of Levin et al. 2020, lowered for
  Omicron and by vaccination;
* **awakening** (the lung model's response, :mod:`awaken.cohort.infection_response`): the fold
  change ``F`` of the person's DCC burden, and with probability ``1 - exp(-s_w K (F - 1))`` a lesion
  that becomes a clinically detected lung metastasis after a log-normal delay.

Every chance is a counter-based draw keyed by (person, wave/season, slot, candidate), so the same
candidate meets the same chances in every scenario.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from awaken.cohort import streams
from awaken.cohort.draws import uniform

__all__ = ["InfectionOutcomes", "resolve_infections", "PARAMETER_ORDER"]

#: order of the scalar parameters handed to the compiled pass
PARAMETER_ORDER = (
    "influenza_ve", "influenza_reinfection_immunity", "covid_ve_primary_pre_omicron", "covid_ve_booster_pre_omicron",
    "covid_ve_primary_omicron", "covid_ve_booster_omicron", "covid_reinfection_protection_pre_omicron",
    "covid_reinfection_protection_omicron", "covid_protection_waning", "covid_ifr_intercept", "covid_ifr_slope",
    "covid_ifr_omicron_factor", "covid_ve_death", "covid_death_delay", "influenza_recorded_fraction", "test_delay",
    "awakening_strength", "detection_delay_median", "detection_delay_sigma",
)
_VACCINE_LAG = 14.0  # days from a dose to protection


@dataclass(frozen=True)
class InfectionOutcomes:
    accepted: np.ndarray
    recorded: np.ndarray
    record_day: np.ndarray
    fold_change: np.ndarray
    awakened: np.ndarray
    detection_day: np.ndarray
    covid_death: np.ndarray
    vaccine_protection: np.ndarray  # protection from vaccination at the moment of infection
    induced_metastasis_day: np.ndarray  # per person
    covid_death_day: np.ndarray  # per person


@numba.njit(cache=True)
def _resolve(seed, offsets, day, pathogen, season_col, slot_stream, draw, thinning, omicron,
             person_id, birth_day, foci, background_death, background_metastasis, metastatic_survival,
             flu_vaccine, covid_dose, dose_is_booster, p, period_start, period_positive, probabilities, quantiles):
    n_cand = day.size
    accepted = np.zeros(n_cand, np.bool_)
    recorded = np.zeros(n_cand, np.bool_)
    record_day = np.full(n_cand, np.nan)
    fold = np.full(n_cand, np.nan)
    awakened = np.zeros(n_cand, np.bool_)
    detection = np.full(n_cand, np.inf)
    covid_death = np.zeros(n_cand, np.bool_)
    vaccine_protection = np.zeros(n_cand)
    induced = np.full(person_id.size, np.inf)
    death_covid = np.full(person_id.size, np.inf)
    (ve_flu, flu_immunity, ve_p, ve_b, ve_p_om, ve_b_om, r_pre, r_om, tau, b0, b1, f_om, ve_death, death_delay,
     q_flu, test_delay, strength, det_median, det_sigma) = p
    for i in range(person_id.size):
        pid = person_id[i]
        last_flu = -np.inf
        last_covid = -np.inf
        for c in range(offsets[i], offsets[i + 1]):
            t = day[c]
            metastasis = min(background_metastasis[i], induced[i])
            alive_until = min(background_death[i], death_covid[i], metastasis + metastatic_survival[i])
            if t >= alive_until:
                break
            vaccinated = False
            if pathogen[c] == 0:
                if t - last_flu < flu_immunity:
                    continue
                v = flu_vaccine[i, season_col[c]]
                ve_v = ve_flu if (not np.isnan(v)) and t >= v + _VACCINE_LAG else 0.0
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
                    ve_v = ve0 * np.exp(-(t - latest) / tau)
                ve_i = 0.0
                if last_covid > -np.inf:
                    ve_i = (r_om if omicron[c] else r_pre) * np.exp(-(t - last_covid) / tau)
                protection = 1.0 - (1.0 - ve_v) * (1.0 - ve_i)
            vaccine_protection[c] = ve_v
            base = slot_stream[c]
            k = draw[c]
            if uniform(seed, pid, base + streams.ACCEPT, k) >= thinning[c] * (1.0 - protection):
                continue
            accepted[c] = True
            if pathogen[c] == 0:
                last_flu = t
                record_p = q_flu
            else:
                last_covid = t
                record_p = 0.0
                for j in range(period_start.size):
                    if t >= period_start[j]:
                        record_p = period_positive[j]
            if uniform(seed, pid, base + streams.RECORD, k) < record_p:
                recorded[c] = True
                record_day[c] = t + test_delay
            f = np.interp(uniform(seed, pid, base + streams.RESPONSE, k), probabilities, quantiles[pathogen[c]])
            fold[c] = f
            chance = 1.0 - np.exp(-strength * foci[i] * max(f - 1.0, 0.0))
            if uniform(seed, pid, base + streams.AWAKEN, k) < chance:
                u1 = uniform(seed, pid, base + streams.DELAY_1, k)
                u2 = uniform(seed, pid, base + streams.DELAY_2, k)
                z = np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)  # Box-Muller
                awakened[c] = True
                detection[c] = t + det_median * np.exp(det_sigma * z)
                induced[i] = min(induced[i], detection[c])
            if pathogen[c] == 1:
                age = (t - birth_day[i]) / 365.25
                ifr = 10.0 ** (b0 + b1 * age) / 100.0
                if omicron[c]:
                    ifr *= f_om
                if vaccinated:
                    ifr *= 1.0 - ve_death
                if uniform(seed, pid, base + streams.DEATH, k) < min(ifr, 1.0):
                    covid_death[c] = True
                    death_covid[i] = t + death_delay * (0.5 + uniform(seed, pid, base + streams.DEATH_DELAY, k))
    return (accepted, recorded, record_day, fold, awakened, detection, covid_death, vaccine_protection, induced,
            death_covid)


def resolve_infections(seed: int, candidates, season_col: np.ndarray, people, background_death: np.ndarray,
                       background_metastasis: np.ndarray, metastatic_survival: np.ndarray, flu_vaccine: np.ndarray,
                       covid_doses, values: dict[str, float], period_start: np.ndarray, period_positive: np.ndarray,
                       response) -> InfectionOutcomes:
    params = np.array([values[name] for name in PARAMETER_ORDER], dtype=float)
    quantiles = np.vstack([response.quantiles["influenza"], response.quantiles["sars_cov_2"]])
    out = _resolve(np.uint64(seed), candidates.offsets, candidates.day, candidates.pathogen, season_col,
                   candidates.slot_stream, candidates.draw, candidates.thinning, candidates.omicron,
                   people.person_id, people.birth_day, people.dcc_foci.astype(float), background_death,
                   background_metastasis, metastatic_survival, flu_vaccine, covid_doses.days, covid_doses.booster,
                   params, period_start, period_positive, response.probabilities, quantiles)
    return InfectionOutcomes(*out)
