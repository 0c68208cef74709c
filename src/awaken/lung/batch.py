"""Many parameter sets through many virtual experiments at once, with the fast solver.

Calibration and the parameter ensemble need the study's experiments for one *typical animal*
(no inter-individual variability) per parameter set, thousands of times. :func:`run_typical` puts
every (parameter set, experiment) pair into one :class:`~awaken.lung.fast_solver.FastSolver` batch
and hands back, per parameter set, one :class:`TypicalResult` per experiment. A
:class:`TypicalResult` answers ``at(day, read_out)`` and ``timecourse`` like an
:class:`~awaken.lung.experiments.ExperimentResult`, so the scorecard's measures
(:data:`awaken.targets.MEASURES`) and :func:`awaken.targets.score` apply to it unchanged.

Example
-------
>>> from awaken.lung.batch import run_typical
>>> [results] = run_typical(["pbs", "influenza"], [{}], days=15)
>>> results["influenza"].at(15, "dcc_count") > results["pbs"].at(15, "dcc_count")
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from awaken.lung.experiments import TIMECOURSE_COLUMNS, animal_setup, resolve_scenario, with_overrides
from awaken.lung.fast_solver import FastSolver
from awaken.lung.parameters import load_parameter_table
from awaken.lung.scenario import LungScenario

__all__ = ["TypicalResult", "run_typical"]


@dataclass(frozen=True)
class TypicalResult:
    """Read-outs of the typical animal of one experiment under one parameter set."""

    scenario: LungScenario
    days: np.ndarray
    readouts: Mapping[str, np.ndarray]  # read-out name -> values at ``days``

    @property
    def name(self) -> str:
        return self.scenario.name

    @cached_property
    def _day_index(self) -> dict[float, int]:
        return {float(d): i for i, d in enumerate(self.days)}

    def at(self, day: float, column: str) -> float:
        """Value of read-out ``column`` at ``day`` (which must be an output day)."""
        try:
            return float(self.readouts[column][self._day_index[float(day)]])
        except KeyError:
            raise KeyError(f"{self.name} has no output {column!r} at day {day:g}") from None

    @property
    def timecourse(self) -> pd.DataFrame:
        """The read-outs as a table, one row per output day (the columns of ``ExperimentResult``)."""
        return pd.DataFrame({"day": self.days, **{c: self.readouts[c] for c in TIMECOURSE_COLUMNS[1:]}})


def run_typical(experiments: Sequence[str | LungScenario], parameter_sets: Sequence[Mapping[str, float]],
                days: float, output_days: Sequence[float] | None = None,
                solver: FastSolver | None = None) -> list[dict[str, TypicalResult]]:
    """Simulate the typical animal of every experiment under every parameter set.

    Each parameter set overrides the nominal values (of the experiment's virus) and the scenario's
    own overrides; unnamed parameters keep their nominal values. Output is at ``output_days``
    (default every day from 0 to ``days``). Returns one ``{experiment name: TypicalResult}`` per
    parameter set, in order.
    """
    scenarios = [resolve_scenario(e) if isinstance(e, str) else e for e in experiments]
    scenarios = [with_overrides(s, days=int(np.ceil(days))) for s in scenarios]
    solver = solver or FastSolver()
    out_days = np.arange(0.0, np.floor(days) + 1.0) if output_days is None else np.asarray(output_days, float)
    params, controls, schedules = [], [], []
    for overrides in parameter_sets:
        for scenario in scenarios:
            nominal = load_parameter_table(scenario.species).nominal(scenario.virus_kind)
            unknown = set(overrides) - set(nominal)
            if unknown:
                raise KeyError(f"unknown parameter(s) {', '.join(sorted(unknown))}")
            p, c, events = animal_setup(scenario, {**nominal, **scenario.parameters, **overrides})
            params.append(p)
            controls.append(c)
            schedules.append(events)
    batch = solver.simulate(params, controls, schedules, float(days), out_days)
    results = []
    k = 0
    for _ in parameter_sets:
        member = {}
        for scenario in scenarios:
            member[scenario.name] = TypicalResult(scenario, out_days,
                                                  {name: values[k] for name, values in batch.readouts.items()})
            k += 1
        results.append(member)
    return results
