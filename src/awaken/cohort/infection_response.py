"""The link to the mechanism: what one respiratory infection does to a person's dormant DCCs.

Each infection in the cohort is one run of the lung model (:mod:`awaken.lung`) with the human
parameter set (``awaken/lung/data/human_parameters.yaml``: human viral kinetics, IL-6 in the human
range, mouse DCC and T-cell biology). Running the stiff model for every one of millions of
infections is not needed: the response of a person is a draw from a distribution, so awaken
simulates a virtual population of infected people once per run with the fast population solver
(:func:`awaken.solvers.virtual_population.simulate_population`, candidates screened by a human physiological
envelope in the manner of Jenner et al. 2021) and keeps the empirical quantile function of the
read-out

    F = DCC count 120 d after infection / DCC count on the day of infection,

the fold change of the person's lung DCC burden. An infection in the cohort draws ``u ~ U(0, 1)``
and gets ``F = Q(u)``. The cohort then turns ``F`` into a chance that a dormant focus grows into a
clinically detected lung metastasis (:mod:`awaken.cohort.simulate`): ``1 - exp(-s_w K (F - 1))``
with ``K`` the person's dormant lung DCC foci and ``s_w`` the ``awakening_strength`` parameter,
which target H1 calibrates.

Example
-------
>>> from awaken.cohort.infection_response import infection_response
>>> response = infection_response(n=50)
>>> sorted(response.quantiles)
['influenza', 'sars_cov_2']
>>> bool(response.fold_change("sars_cov_2", [0.5])[0] > 1)
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from awaken.experiments.protocol import Experiment
from awaken.solvers.virtual_population import PhysiologicalEnvelope, simulate_population

__all__ = ["InfectionResponse", "infection_response", "RESPONSE_SEED", "HUMAN_ENVELOPE", "HORIZON_DAYS", "HUMAN_VIRUSES"]

#: Day after infection at which the fold change is read.
HORIZON_DAYS = 120.0
#: Cohort pathogen -> strain of the human lung parameter table.
HUMAN_VIRUSES = {"influenza": "influenza_seasonal", "sars_cov_2": "sars_cov_2"}
#: Human physiological envelope: virus cleared from the lower airway within three weeks and peak
#: IL-6 inside the 0-400 pg/mL range of Jenner et al. 2021 (PLOS Pathog 17:e1009753).
HUMAN_ENVELOPE = PhysiologicalEnvelope(virus_cleared_by_day=21.0, il6_peak_range=(1.0, 400.0))
_QUANTILE_POINTS = 1001
#: Seed of the virtual people behind the response distribution (fixed: every run uses the same response).
RESPONSE_SEED = 20250730


@dataclass(frozen=True)
class InfectionResponse:
    """Quantile functions of the DCC fold change per pathogen, with how they were made."""

    quantiles: dict[str, np.ndarray]
    acceptance: dict[str, float]
    individuals: int
    seed: int
    probabilities: np.ndarray = field(default_factory=lambda: np.linspace(0.0, 1.0, _QUANTILE_POINTS))

    def fold_change(self, pathogen: str, u: np.ndarray) -> np.ndarray:
        """``Q(u)``: the fold change of an infection that drew ``u``."""
        return np.interp(np.asarray(u, float), self.probabilities, self.quantiles[pathogen])

    def summary(self) -> dict[str, dict[str, float]]:
        out = {}
        for pathogen, q in self.quantiles.items():
            out[pathogen] = {"median": float(np.interp(0.5, self.probabilities, q)),
                             "p05": float(np.interp(0.05, self.probabilities, q)),
                             "p95": float(np.interp(0.95, self.probabilities, q)),
                             "mean_excess": float(np.trapezoid(q - 1.0, self.probabilities)),
                             "acceptance": self.acceptance[pathogen]}
        return out


@lru_cache(maxsize=8)
def infection_response(n: int = 2000, seed: int = RESPONSE_SEED) -> InfectionResponse:
    """Simulate ``n`` accepted virtual people per pathogen and return the response quantiles."""
    quantiles, acceptance = {}, {}
    for pathogen, strain in HUMAN_VIRUSES.items():
        scenario = Experiment(name=f"human_{pathogen}", species="human", virus={"kind": strain},
                                days=int(HORIZON_DAYS) + 1)
        population = simulate_population(scenario, n=n, seed=seed, output_days=[0.0, HORIZON_DAYS],
                                         envelope=HUMAN_ENVELOPE)
        wide = population.readouts.pivot(index="individual", columns="day", values="dcc_count")
        fold = (wide[HORIZON_DAYS] / wide[0.0]).to_numpy()
        quantiles[pathogen] = np.quantile(fold, np.linspace(0.0, 1.0, _QUANTILE_POINTS))
        acceptance[pathogen] = population.acceptance_rate
    return InfectionResponse(quantiles=quantiles, acceptance=acceptance, individuals=n, seed=seed)
