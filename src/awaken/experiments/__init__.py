"""The experiment protocol, the study's experiments, and the result contract every engine keeps.

* :mod:`~awaken.experiments.protocol` - :class:`Experiment`: what is done to an animal or a person,
  and when (host, infection, treatments, mechanisms, overrides, group size, duration, seed);
* :mod:`~awaken.experiments.catalogue` - the study's experiments as shipped files;
* :mod:`~awaken.experiments.results` - :class:`ExperimentResult`: the read-outs (with units) an
  engine gives back, which the scorecard, the report and the calibration accept.

Nothing here solves an equation: engines (:mod:`awaken.solvers`, the exporters) consume it.
"""

from awaken.experiments.catalogue import list_experiments, load_experiment, resolve_experiment, with_overrides
from awaken.experiments.protocol import Experiment
from awaken.experiments.results import READOUTS, TIMECOURSE_COLUMNS, ExperimentResult, GroupResult

__all__ = ["Experiment", "ExperimentResult", "GroupResult", "READOUTS", "TIMECOURSE_COLUMNS", "list_experiments",
           "load_experiment", "resolve_experiment", "with_overrides"]
