"""Who the survivors are: cancer type, subtype, stage, nodes, age, sex, diagnosis date, latent traits.

Every attribute of person ``i`` is a function of ``(seed, i)`` only (:mod:`awaken.cohort.draws`),
so a person is the same in every block layout and in every scenario of the same seed.

Example
-------
>>> import numpy as np
>>> from awaken.cohort.parameters import CohortScenario
>>> from awaken.cohort.people import draw_people
>>> people = draw_people(CohortScenario(), seed=1, persons=np.arange(1000))
>>> set(people.cancer_type.tolist()) == {0, 1}
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr, ndtri
from scipy.stats import poisson

from awaken.cohort import streams
from awaken.cohort.draws import uniforms
from awaken.cohort.parameters import SUBTYPES, CohortScenario, day_number

__all__ = ["People", "draw_people", "STAGES", "NODES", "AGE_RANGE"]

STAGES = ("I", "II", "III")
NODES = ("N0", "N1-3", "N4-9")
AGE_RANGE = (25.0, 90.0)
BREAST, OTHER = 0, 1


@dataclass(frozen=True)
class People:
    """Arrays over persons; dates are days since 1970-01-01; codes index the module's tuples."""

    person_id: np.ndarray
    cancer_type: np.ndarray  # 0 breast, 1 other
    male: np.ndarray  # 0/1
    diagnosis_day: np.ndarray
    birth_day: np.ndarray
    subtype: np.ndarray  # index into SUBTYPES, -1 for other cancers
    stage: np.ndarray  # index into STAGES
    nodes: np.ndarray  # index into NODES
    dcc_foci: np.ndarray  # latent dormant lung DCC foci
    entry_day: np.ndarray  # start of follow-up: the later of diagnosis and the window start

    @property
    def size(self) -> int:
        return int(self.person_id.size)

    def age_at(self, day: np.ndarray | float) -> np.ndarray:
        return (np.asarray(day, float) - self.birth_day) / 365.25


def _categorical(u: np.ndarray, probabilities: list[float]) -> np.ndarray:
    return np.searchsorted(np.cumsum(probabilities)[:-1], u, side="right").astype(np.int8)


def draw_people(scenario: CohortScenario, seed: int, persons: np.ndarray) -> People:
    v = scenario.values()
    persons = np.asarray(persons, dtype=np.int64)

    def u(stream: int) -> np.ndarray:
        return uniforms(seed, persons, stream)

    breast_share = scenario.cancer_mix.get("breast", 0.0)
    cancer = np.where(u(streams.CANCER_TYPE) < breast_share, BREAST, OTHER).astype(np.int8)
    is_breast = cancer == BREAST
    female_p = np.where(is_breast, 1.0 - v["breast_male_fraction"], v["other_female_fraction"])
    male = (u(streams.SEX) >= female_p).astype(np.int8)
    first, end = day_number(scenario.diagnosis_from), day_number(scenario.end)
    diagnosis = first + np.floor(u(streams.DIAGNOSIS_DATE) * (end - first))
    mean_age = np.where(is_breast, v["breast_age_mean"], v["other_age_mean"])
    # truncated normal by inversion: the uniform is mapped into the CDF interval of [25, 90] y
    lo = ndtr((AGE_RANGE[0] - mean_age) / v["age_sd"])
    hi = ndtr((AGE_RANGE[1] - mean_age) / v["age_sd"])
    age = mean_age + v["age_sd"] * ndtri(lo + u(streams.AGE) * (hi - lo))
    birth = diagnosis - np.round(age * 365.25)

    subtype_p = [v["subtype_hr_pos_her2_neg"], v["subtype_hr_pos_her2_pos"], v["subtype_hr_neg_her2_pos"]]
    subtype_p.append(1.0 - sum(subtype_p))
    subtype = np.where(is_breast, _categorical(u(streams.SUBTYPE), subtype_p), -1).astype(np.int8)
    stage_p = [v["stage_i_fraction"], v["stage_ii_fraction"], 1.0 - v["stage_i_fraction"] - v["stage_ii_fraction"]]
    stage = _categorical(u(streams.STAGE), stage_p)
    # nodes given stage (assumption): I -> N0; II -> N0 or N1-3 equally; III -> N1-3 (30%) or N4-9
    un = u(streams.NODES)
    nodes = np.select([stage == 0, stage == 1], [0, np.where(un < 0.5, 0, 1)], np.where(un < 0.3, 1, 2))
    stage_factor = np.array([0.5, 1.0, 2.0])[stage]
    lung_share = np.array([v["lung_share_" + s] for s in SUBTYPES] + [v["lung_share_other"]])
    tropism = lung_share[np.where(subtype >= 0, subtype, len(SUBTYPES))] / 0.3
    mean_foci = v["dcc_reservoir_mean"] * stage_factor * tropism
    foci = poisson.ppf(u(streams.DCC_FOCI), mean_foci).astype(np.int32)
    entry = np.maximum(diagnosis, day_number(scenario.start))
    return People(person_id=persons, cancer_type=cancer, male=male, diagnosis_day=diagnosis, birth_day=birth,
                  subtype=subtype, stage=stage.astype(np.int8), nodes=nodes.astype(np.int8), dcc_foci=foci,
                  entry_day=entry)

