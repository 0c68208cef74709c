"""awaken: an in-silico laboratory for respiratory-virus awakening of dormant breast cancer cells.

Implements the system of Chia et al., "Respiratory viral infections awaken metastatic breast
cancer cells in lungs", Nature 645:496-506 (2025), across scales. This release holds the lung:
a within-host model of infection, IL-6, neutrophils, T cells and dormant -> hybrid ->
proliferating cancer cells, with the study's mouse experiments as virtual experiments.

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
    "run_experiment": "awaken.api.experiments",
    "list_experiments": "awaken.api.experiments",
    "Experiment": "awaken.experiments.protocol",
    "ExperimentResult": "awaken.experiments.results",
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
