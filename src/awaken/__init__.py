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

from importlib import metadata

from awaken.lung.experiments import ExperimentResult, list_experiments, run_experiment

try:
    __version__ = metadata.version("awaken")
except metadata.PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0+unknown"

__all__ = ["ExperimentResult", "list_experiments", "run_experiment", "__version__"]
