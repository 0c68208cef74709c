"""Experiments through the fast solver in one batch: groups of animals, and typical animals en masse.

* :func:`run_group_fast` is the fast engine of a virtual experiment: the same animals as the
  reference engine (:func:`awaken.solvers.reference.run_group`, same draws for the same seed),
  integrated side by side by the compiled :class:`~awaken.solvers.fast.FastSolver`, returned as
  a :class:`~awaken.experiments.results.GroupResult`. It agrees with the reference engine to the
  fast solver's tolerance (tested), so the scorecard and the figures read either.
* :func:`run_typical` serves calibration and the parameter ensemble, which need the study's
  experiments for one *typical animal* (no inter-individual variability) per parameter set,
  thousands of times: every (parameter set, experiment) pair goes into one batch, and each comes
  back as a :class:`TypicalResult`, which keeps the result contract too.

Example
-------
>>> from awaken.solvers.batch import run_typical
>>> [results] = run_typical(["pbs", "influenza"], [{}], days=15)
>>> results["influenza"].at(15, "dcc_count") > results["pbs"].at(15, "dcc_count")
True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from awaken.experiments.catalogue import resolve_experiment, with_overrides
from awaken.experiments.protocol import Experiment
from awaken.experiments.results import TIMECOURSE_COLUMNS, GroupResult
from awaken.lung import equations
from awaken.lung.parameters import draw_individuals, load_parameter_table
from awaken.solvers.fast import FastSolver
from awaken.solvers.schedule import animal_setup

__all__ = ["TypicalResult", "run_typical", "run_group_fast"]


@dataclass(frozen=True)
class TypicalResult:
    """Read-outs of the typical animal of one experiment under one parameter set (a group of one)."""

    experiment: Experiment
    days: np.ndarray
    readouts: Mapping[str, np.ndarray]  # read-out name -> values at ``days``

    @property
    def name(self) -> str:
        return self.experiment.name

    @cached_property
    def _day_index(self) -> dict[float, int]:
        return {float(d): i for i, d in enumerate(self.days)}

    def at(self, day: float, column: str) -> float:
        """Value of read-out ``column`` at ``day`` (which must be an output day)."""
        try:
            return float(self.readouts[column][self._day_index[float(day)]])
        except KeyError:
            raise KeyError(f"{self.name} has no output {column!r} at day {day:g}") from None

    def values_at(self, day: float, column: str) -> np.ndarray:
        return np.array([self.at(day, column)])

    def series(self, column: str) -> np.ndarray:
        return np.asarray(self.readouts[column])

    @property
    def timecourse(self) -> pd.DataFrame:
        """The read-outs as a table, one row per output day (the columns of the result contract)."""
        return pd.DataFrame({"day": self.days, **{c: self.readouts[c] for c in TIMECOURSE_COLUMNS[1:]}})

    @property
    def per_mouse(self) -> pd.DataFrame:
        """The typical animal as animal 0."""
        return self.timecourse.assign(mouse=0)[["mouse", *TIMECOURSE_COLUMNS]]


def run_typical(experiments: Sequence[str | Experiment], parameter_sets: Sequence[Mapping[str, float]],
                days: float, output_days: Sequence[float] | None = None,
                solver: FastSolver | None = None) -> list[dict[str, TypicalResult]]:
    """Simulate the typical animal of every experiment under every parameter set.

    Each parameter set overrides the nominal values (of the experiment's virus) and the scenario's
    own overrides; unnamed parameters keep their nominal values. Output is at ``output_days``
    (default every day from 0 to ``days``). Returns one ``{experiment name: TypicalResult}`` per
    parameter set, in order.
    """
    scenarios = [resolve_experiment(e) for e in experiments]
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


def run_group_fast(experiment: Experiment, progress: Callable[[int], None] | None = None,
                   solver: FastSolver | None = None) -> GroupResult:
    """Every animal of ``experiment`` in one batch of the fast solver (the reference engine's animals)."""
    table = load_parameter_table(experiment.species)
    animals = draw_individuals(table, experiment.virus_kind, experiment.mice, experiment.seed, experiment.parameters,
                               variability=experiment.variability)
    setups = [animal_setup(experiment, params) for params in animals]
    days = np.arange(0.0, float(experiment.days) + 1.0)
    batch = (solver or FastSolver()).simulate([s[0] for s in setups], [s[1] for s in setups], [s[2] for s in setups],
                                              float(experiment.days), days)
    n = len(setups)
    frame = {"mouse": np.repeat(np.arange(n, dtype=np.int32), days.size), "day": np.tile(days, n)}
    for name in equations.READOUTS:
        frame[name] = batch.readouts[name].ravel()
    for i, state in enumerate(equations.STATE_NAMES):
        frame[f"state_{state}"] = batch.states[:, :, i].ravel()
    if progress is not None:
        progress(n)
    parameters = pd.DataFrame([{"mouse": mouse, **s[0]} for mouse, s in enumerate(setups)])
    return GroupResult(experiment=experiment, per_mouse=pd.DataFrame(frame), parameters=parameters, engine="fast")
