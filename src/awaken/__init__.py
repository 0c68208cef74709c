"""awaken: an in-silico laboratory for respiratory-virus awakening of dormant breast cancer cells.

Implements the system of Chia et al., "Respiratory viral infections awaken metastatic breast
cancer cells in lungs", Nature 645:496-506 (2025), across scales: the lung (a within-host model
and the study's mouse experiments as virtual experiments, SBML/PEtab/OMEX, calibration, virtual
populations), the cohort (virtual cancer survivors as EHR-shaped tables) and the analyses (a
survival engine that agrees with R, the study's designs, power). Every ``awaken`` command has its
twin here (``awaken.reproduce``, ``awaken.run_experiment``, ``awaken.simulate_population``,
``awaken.simulate_cohort``, ``awaken.analyze_ukb``, ``awaken.power``, ``awaken.fit``, ``awaken.export_sbml``,
...); ``docs/api.md`` shows each, and ``docs/architecture.md`` where everything lives.

Example
-------
>>> import awaken
>>> "influenza" in awaken.list_experiments()
True
>>> result = awaken.run_experiment("influenza", days=30, seed=1, mice=2)
>>> fold = result.timecourse.loc[15, "dcc_count"] / result.timecourse.loc[0, "dcc_count"]
>>> bool(fold > 10)
True
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from awaken.runs.provenance import version as _version

__version__ = _version()

#: Public name -> module that defines it. Imported on first use, so that ``import awaken`` (and the
#: command line's start-up) stays light.
_API = {
    # virtual experiments (the lung)
    "list_experiments": "awaken.api.experiments",
    "load_experiment": "awaken.api.experiments",
    "run_experiment": "awaken.api.experiments",
    "score_targets": "awaken.api.experiments",
    "read_scorecard": "awaken.api.experiments",
    "validate_experiment": "awaken.api.experiments",
    "parameter_table": "awaken.api.experiments",
    "reproduce": "awaken.api.reproduce",
    "simulate_population": "awaken.api.population",
    "fit": "awaken.api.fit",
    # the standards
    "export_sbml": "awaken.api.export",
    "export_petab": "awaken.api.export",
    "export_omex": "awaken.api.export",
    # the cohort and the analyses
    "simulate_cohort": "awaken.api.cohort",
    "read_cohort": "awaken.api.cohort",
    "cohort_connection": "awaken.api.cohort",
    "load_records": "awaken.api.analyses",
    "analyze_ukb": "awaken.api.analyses",
    "analyze_flatiron": "awaken.api.analyses",
    "power": "awaken.api.power",
    "explain": "awaken.api.explanations",
    # in-silico trials
    "load_trial": "awaken.api.trials",
    "run_trial": "awaken.api.trials",
    "trial_window": "awaken.api.trials",
    "drug_table": "awaken.api.trials",
    # the types they take and return
    "Experiment": "awaken.experiments.protocol",
    "ExperimentResult": "awaken.experiments.results",
    "CohortScenario": "awaken.cohort.parameters",
    "PhysiologicalEnvelope": "awaken.solvers.virtual_population",
    "InputError": "awaken.errors",
}

__all__ = [*_API, "__version__"]


def __getattr__(name: str) -> Any:
    if name in _API:
        value = getattr(import_module(_API[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'awaken' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
