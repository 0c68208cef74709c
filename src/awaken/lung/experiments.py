"""The study's mouse experiments as runnable virtual experiments.

An experiment is a :class:`~awaken.lung.scenario.LungScenario` (the shipped ones live in
``awaken/lung/scenarios/``). Running it draws ``mice`` animals around the nominal parameters, turns
the scenario into a schedule (infection dose, antibodies switched on and off, genotype and
mechanism controls) and integrates each animal with the reference solver.

Example
-------
>>> import awaken
>>> result = awaken.run_experiment("influenza", days=30, mice=2)
>>> list(result.timecourse.columns[:3])
['day', 'dcc_count', 'proliferating_fraction']
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from awaken.schemas import InputError, load_model, validate
from awaken.lung import equations
from awaken.lung.compiled import compiled_model
from awaken.lung.parameters import draw_individuals, load_parameter_table
from awaken.lung.scenario import TREATMENT_CONTROLS, LungScenario
from awaken.lung.solver import Event, Trajectory, simulate

__all__ = [
    "ExperimentResult",
    "list_experiments",
    "load_experiment",
    "resolve_scenario",
    "schedule",
    "animal_setup",
    "infection_event",
    "run_scenario",
    "run_experiment",
    "TIMECOURSE_COLUMNS",
]

#: Columns of :attr:`ExperimentResult.timecourse`, in order (``day`` first).
TIMECOURSE_COLUMNS: tuple[str, ...] = (
    "day",
    "dcc_count",
    "proliferating_fraction",
    "mesenchymal_fraction",
    "hybrid_fraction",
    "epithelial_fraction",
    "il6_pg_per_ml",
    "virus_titer",
    "neutrophils",
    "cd4_t_cells",
    "cd4_aggregate_t_cells",
    "cd8_t_cells_active",
    "cd8_t_cells_resting",
    "dcc_total",
)


@dataclass(frozen=True)
class ExperimentResult:
    """What a virtual experiment produced.

    ``per_mouse`` has one row per mouse and day (read-outs and raw states); ``timecourse`` is the
    group mean per day (the study reports group means); ``parameters`` has one row per mouse.
    """

    scenario: LungScenario
    per_mouse: pd.DataFrame
    parameters: pd.DataFrame

    @property
    def name(self) -> str:
        return self.scenario.name

    @property
    def timecourse(self) -> pd.DataFrame:
        """Group-mean read-outs, one row per day."""
        columns = [c for c in TIMECOURSE_COLUMNS if c != "day"]
        return self.per_mouse.groupby("day", sort=True)[columns].mean().reset_index()[list(TIMECOURSE_COLUMNS)]

    def at(self, day: float, column: str) -> float:
        """Group mean of ``column`` at ``day``."""
        values = self.per_mouse.loc[self.per_mouse["day"] == day, column]
        if values.empty:
            raise KeyError(f"{self.name} has no output at day {day:g} (run length {self.scenario.days} d)")
        return float(values.mean())

    def values_at(self, day: float, column: str) -> np.ndarray:
        """Per-mouse values of ``column`` at ``day``."""
        return self.per_mouse.loc[self.per_mouse["day"] == day, column].to_numpy()


def _scenario_dir() -> Path:
    return Path(str(resources.files("awaken.lung") / "scenarios"))


@lru_cache(maxsize=None)
def list_experiments() -> tuple[str, ...]:
    """Names of the shipped virtual experiments."""
    return tuple(sorted(p.stem for p in _scenario_dir().glob("*.yaml")))


def load_experiment(name: str) -> LungScenario:
    """The shipped scenario called ``name``."""
    if name not in list_experiments():
        raise InputError(f"unknown experiment {name!r}; choose one of: {', '.join(list_experiments())}")
    scenario = load_model(_scenario_dir() / f"{name}.yaml", LungScenario)
    if scenario.name != name:
        raise InputError(f"scenario file {name}.yaml declares name {scenario.name!r}")
    return scenario


def resolve_scenario(name_or_path: str) -> LungScenario:
    """A shipped experiment by name, or a scenario file by path (.yaml/.yml/.toml)."""
    if name_or_path in list_experiments():
        return load_experiment(name_or_path)
    path = Path(name_or_path)
    if path.suffix.lower() in (".yaml", ".yml", ".toml") or path.exists():
        return load_model(path, LungScenario)
    raise InputError(f"unknown experiment {name_or_path!r}; choose one of: {', '.join(list_experiments())}, "
                      f"or give a scenario file (.yaml or .toml)")


def with_overrides(scenario: LungScenario, *, days: int | None = None, seed: int | None = None,
                   mice: int | None = None, variability: bool | None = None) -> LungScenario:
    """The scenario with run settings replaced, re-validated (so ranges are checked)."""
    data = scenario.model_dump(mode="json")
    for key, value in (("days", days), ("seed", seed), ("mice", mice), ("variability", variability)):
        if value is not None:
            data[key] = value
    return validate(data, LungScenario, source=f"experiment {scenario.name}")


def infection_event(day: float, dose: float, params: dict[str, float]) -> Event:
    """Intranasal infection on ``day``: the lung is exposed and ``dose`` infectious units create
    ``inoculum_infectivity * dose`` eclipse-phase cells (Smith et al. 2018)."""
    return Event(day=day, controls={"virus_exposed": 1.0},
                 state_increments={"infected_eclipse": dose * params["inoculum_infectivity"]})


def schedule(scenario: LungScenario, params: dict[str, float]) -> tuple[dict[str, float], list[Event]]:
    """Controls at day 0 and the events (infection, antibodies on/off) of ``scenario``."""
    controls = {name: 0.0 for name in equations.CONTROLS}
    controls["il6_knockout"] = 1.0 if scenario.host.il6 == "knockout" else 0.0
    controls.update(scenario.mechanisms.controls())
    events: list[Event] = []
    if scenario.virus is not None:
        strain = load_parameter_table(scenario.species).viruses[scenario.virus.kind]
        dose = scenario.virus.dose if scenario.virus.dose is not None else strain.default_dose
        events.append(infection_event(scenario.virus.day, dose, params))
    starts, ends = [], []
    for treatment in scenario.treatments:
        control = TREATMENT_CONTROLS[treatment.kind]
        if control is None:
            continue
        starts.append(Event(day=treatment.start_day, controls={control: 1.0}))
        if treatment.end_day is not None and treatment.end_day < scenario.days:
            ends.append(Event(day=treatment.end_day, controls={control: 0.0}))
    # Events on one day apply in list order: a course that ends on the day another begins must end first.
    return controls, events + ends + starts


def animal_setup(scenario: LungScenario, params: dict[str, float]
                 ) -> tuple[dict[str, float], dict[str, float], list[Event]]:
    """Everything one animal of ``scenario`` needs to be simulated: its parameters (a wild-type host
    carries no DCCs), its controls at day 0 and its events. Every consumer (the reference runs, the
    SBML export, the population solver) builds animals through this one function."""
    if scenario.host.strain == "wild_type":
        params = {**params, "dcc_initial": 0.0}
    controls, events = schedule(scenario, params)
    return params, controls, events


def _mouse_frame(trajectory: Trajectory, mouse: int) -> pd.DataFrame:
    frame = {"mouse": np.full(trajectory.days.shape, mouse, dtype=np.int32), "day": trajectory.days}
    frame.update(trajectory.readouts)
    for name in equations.STATE_NAMES:
        frame[f"state_{name}"] = trajectory.state(name)
    return pd.DataFrame(frame)


def run_scenario(scenario: LungScenario, progress: Callable[[int], None] | None = None) -> ExperimentResult:
    """Simulate every mouse of ``scenario``; ``progress(1)`` is called after each mouse."""
    table = load_parameter_table(scenario.species)
    model = compiled_model()
    animals = draw_individuals(table, scenario.virus_kind, scenario.mice, scenario.seed, scenario.parameters,
                               variability=scenario.variability)
    frames, rows = [], []
    for mouse, params in enumerate(animals):
        params, controls, events = animal_setup(scenario, params)
        trajectory = simulate(params, controls, events, scenario.days, model=model)
        frames.append(_mouse_frame(trajectory, mouse))
        rows.append({"mouse": mouse, **params})
        if progress is not None:
            progress(1)
    return ExperimentResult(scenario=scenario, per_mouse=pd.concat(frames, ignore_index=True),
                            parameters=pd.DataFrame(rows))


def run_experiment(name: str | LungScenario, days: int | None = None, seed: int | None = None,
                   mice: int | None = None) -> ExperimentResult:
    """Run a shipped experiment (by name), a scenario file (by path) or a scenario object.

    ``days`` (1-3650), ``seed`` and ``mice`` (1-1000) override the scenario's settings.
    """
    scenario = name if isinstance(name, LungScenario) else resolve_scenario(name)
    return run_scenario(with_overrides(scenario, days=days, seed=seed, mice=mice))
