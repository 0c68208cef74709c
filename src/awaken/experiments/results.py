"""The result contract: what every engine gives back for a virtual experiment, in which units.

The scorecard (:mod:`awaken.scorecard`), the report's figures and the calibration read results
only through :class:`ExperimentResult`, so the results of any engine - the reference solver, the
fast solver, a spatial tissue model - are scored and drawn by the same code. An engine's result
guarantees:

* ``experiment`` (the :class:`~awaken.experiments.protocol.Experiment` it ran) and ``name``;
* ``days``: the output days, sorted (day 0 is the day the protocol starts);
* ``per_mouse``: one row per animal and output day, columns ``mouse`` (0, 1, ...), ``day`` and
  every read-out of :data:`READOUTS` in its unit; an engine may add columns of its own (the lung
  solvers add ``state_<name>`` for each state of the model);
* ``timecourse``: the group means (the study reports group means), one row per output day,
  columns :data:`TIMECOURSE_COLUMNS` in that order;
* ``at(day, readout)``: a group mean; ``values_at(day, readout)``: the animals' values;
  ``series(readout)``: the group mean at every output day (aligned with ``days``).

The read-outs are what the study measured, defined once with the lung model
(:data:`awaken.lung.equations.READOUTS`); an engine that models something else (a lung section)
reports them on the same scale (HER2+ DCCs per three lung sections, pg/mL of lavage IL-6, ...).
:func:`check_result` verifies an engine's result against the contract; the test suite runs it on
every engine.

Example
-------
>>> TIMECOURSE_COLUMNS[:3]
('day', 'dcc_count', 'proliferating_fraction')
>>> READOUTS["il6_pg_per_ml"].unit
'pg/mL'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd

from awaken.experiments.protocol import Experiment
from awaken.lung.equations import READOUTS as _MODEL_READOUTS

__all__ = ["Readout", "READOUTS", "TIMECOURSE_COLUMNS", "VIRUS_DETECTION_LIMIT", "ExperimentResult", "GroupResult",
           "check_result"]


@dataclass(frozen=True)
class Readout:
    """A measured quantity: its unit and what it is."""

    name: str
    unit: str
    description: str


#: Every read-out an engine reports, with its unit.
READOUTS: dict[str, Readout] = {name: Readout(name, unit, meaning) for name, (unit, meaning) in _MODEL_READOUTS.items()}
#: Columns of :attr:`ExperimentResult.timecourse`, in order (``day`` first).
TIMECOURSE_COLUMNS: tuple[str, ...] = (
    "day", "dcc_count", "proliferating_fraction", "mesenchymal_fraction", "hybrid_fraction", "epithelial_fraction",
    "il6_pg_per_ml", "virus_titer", "neutrophils", "cd4_t_cells", "cd4_aggregate_t_cells", "cd8_t_cells_active",
    "cd8_t_cells_resting", "dcc_total",
)
#: Infectious units/mL below which a titre is "not detected": TCID50 and plaque assays of lung
#: homogenate detect about 10^1 per mL. The scorecard (M11) and the physiological envelope of
#: virtual populations compare viral loads only where they are detectable.
VIRUS_DETECTION_LIMIT = 10.0


@runtime_checkable
class ExperimentResult(Protocol):
    """What an engine returns for one experiment (see the module docstring)."""

    @property
    def experiment(self) -> Experiment: ...

    @property
    def name(self) -> str: ...

    @property
    def days(self) -> np.ndarray: ...

    @property
    def per_mouse(self) -> pd.DataFrame: ...

    @property
    def timecourse(self) -> pd.DataFrame: ...

    def at(self, day: float, readout: str) -> float: ...

    def values_at(self, day: float, readout: str) -> np.ndarray: ...

    def series(self, readout: str) -> np.ndarray: ...


@dataclass(frozen=True)
class GroupResult:
    """A group of animals simulated one by one: every animal, every output day, every read-out.

    ``parameters`` has one row per animal (its parameter values); ``engine`` names what ran it.
    """

    experiment: Experiment
    per_mouse: pd.DataFrame
    parameters: pd.DataFrame
    engine: str = "reference"

    @property
    def name(self) -> str:
        return self.experiment.name

    @property
    def days(self) -> np.ndarray:
        return np.unique(self.per_mouse["day"].to_numpy())

    @property
    def timecourse(self) -> pd.DataFrame:
        """Group-mean read-outs, one row per day."""
        columns = list(TIMECOURSE_COLUMNS[1:])
        return self.per_mouse.groupby("day", sort=True)[columns].mean().reset_index()[list(TIMECOURSE_COLUMNS)]

    def at(self, day: float, readout: str) -> float:
        """Group mean of ``readout`` at ``day``."""
        values = self.per_mouse.loc[self.per_mouse["day"] == day, readout]
        if values.empty:
            raise KeyError(f"{self.name} has no output at day {day:g} (run length {self.experiment.days} d)")
        return float(values.mean())

    def values_at(self, day: float, readout: str) -> np.ndarray:
        """Per-animal values of ``readout`` at ``day``."""
        return self.per_mouse.loc[self.per_mouse["day"] == day, readout].to_numpy()

    def series(self, readout: str) -> np.ndarray:
        """Group mean of ``readout`` at every output day."""
        return self.per_mouse.groupby("day", sort=True)[readout].mean().to_numpy()


def check_result(result: object) -> ExperimentResult:
    """``result`` if it keeps the contract; otherwise ``TypeError`` naming what is missing."""
    members = ("experiment", "name", "days", "per_mouse", "timecourse", "at", "values_at", "series")
    lacking = [m for m in members if not (hasattr(type(result), m) or m in getattr(result, "__dict__", {}))]
    if lacking:
        raise TypeError(f"{type(result).__name__} is not an ExperimentResult (see awaken.experiments.results): "
                        f"it lacks {', '.join(lacking)}")
    missing = [c for c in ("mouse", "day", *READOUTS) if c not in result.per_mouse.columns]
    if missing:
        raise TypeError(f"{result.name}: per_mouse lacks {', '.join(missing)}")
    if tuple(result.timecourse.columns) != TIMECOURSE_COLUMNS:
        raise TypeError(f"{result.name}: timecourse columns {list(result.timecourse.columns)} are not "
                        f"{list(TIMECOURSE_COLUMNS)}")
    days = np.asarray(result.days)
    if days.size == 0 or np.any(np.diff(days) <= 0):
        raise TypeError(f"{result.name}: days must be sorted, distinct and not empty")
    return result  # type: ignore[return-value]
