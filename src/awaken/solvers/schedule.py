"""An experiment as the lung model reads it: controls at day 0 and the events that change them.

The protocol (:class:`~awaken.experiments.protocol.Experiment`) says what is done and when; this
module says what that means for the lung model's equations - which control each treatment
switches, how an intranasal dose becomes eclipse-phase cells, how a genotype or a mechanism
ablation sets a control. Every consumer of the lung model (the reference solver, the fast solver,
the SBML export) builds its animals through :func:`animal_setup`, so they cannot disagree.

Example
-------
>>> from awaken.experiments import load_experiment
>>> from awaken.lung.parameters import load_parameter_table
>>> params = load_parameter_table("mouse").nominal("influenza_a_pr8")
>>> _, controls, events = animal_setup(load_experiment("anti_cd4_influenza"), params)
>>> [(e.day, sorted(e.controls)) for e in events]
[(0.0, ['virus_exposed']), (28.0, ['anti_cd4_on']), (9.0, ['anti_cd4_on'])]
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from awaken.experiments.protocol import TREATMENTS, DrugTreatment, Experiment
from awaken.lung import equations
from awaken.lung.parameters import load_parameter_table
from awaken.pharmacology.exposure import drug_controls

__all__ = ["Event", "TREATMENT_CONTROLS", "infection_event", "drug_events", "schedule", "animal_setup"]

#: Which model control each treatment switches on (isotype IgG is a control and switches nothing).
TREATMENT_CONTROLS: dict[str, str | None] = {
    "anti_cd4": "anti_cd4_on",  # GK1.5
    "anti_cd8": "anti_cd8_on",  # 2.43
    "anti_ly6g": "anti_ly6g_on",  # 1A8, neutrophil depletion
    "isotype_igg": None,
}
assert set(TREATMENT_CONTROLS) == set(TREATMENTS), "every treatment of the protocol needs its control"


@dataclass(frozen=True)
class Event:
    """At ``day``: set ``controls`` (name -> value) and add ``state_increments`` (name -> amount)."""

    day: float
    controls: dict[str, float] = field(default_factory=dict)
    state_increments: dict[str, float] = field(default_factory=dict)


def infection_event(day: float, dose: float, params: dict[str, float]) -> Event:
    """Intranasal infection on ``day``: the lung is exposed and ``dose`` infectious units create
    ``inoculum_infectivity * dose`` eclipse-phase cells (Smith et al. 2018)."""
    return Event(day=day, controls={"virus_exposed": 1.0},
                 state_increments={"infected_eclipse": dose * params["inoculum_infectivity"]})


def drug_events(edges: np.ndarray, controls: dict[str, np.ndarray], days: float) -> list[Event]:
    """Piecewise-constant drug controls (:func:`awaken.pharmacology.exposure.drug_controls`: bin edges and
    control -> ``(n, bins)``) as events: one at each bin edge where some control of some individual
    changes, carrying every control that changes there (values per individual when ``n > 1``, a number
    when ``n == 1``). Nothing before the first change; bins at or after ``days`` are dropped."""
    events: list[Event] = []
    previous = {name: np.zeros(values.shape[0]) for name, values in controls.items()}
    for b in range(edges.size - 1):
        if edges[b] >= days:
            break
        changed = {}
        for name, values in controls.items():
            column = values[:, b]
            if np.any(column != previous[name]):
                changed[name] = float(column[0]) if column.size == 1 else column.copy()
                previous[name] = column
        if changed:
            events.append(Event(day=float(edges[b]), controls=changed))
    return events


def schedule(experiment: Experiment, params: dict[str, float]) -> tuple[dict[str, float], list[Event]]:
    """Controls at day 0 and the events (infection, treatments on/off) of ``experiment``."""
    controls = {name: 0.0 for name in equations.CONTROLS}
    controls["il6_knockout"] = 1.0 if experiment.host.il6 == "knockout" else 0.0
    controls.update({f"mechanism_{name}": float(on) for name, on in experiment.mechanisms.model_dump().items()})
    events: list[Event] = []
    if experiment.virus is not None:
        strain = load_parameter_table(experiment.species).viruses[experiment.virus.kind]
        dose = experiment.virus.dose if experiment.virus.dose is not None else strain.default_dose
        events.append(infection_event(experiment.virus.day, dose, params))
    starts, ends = [], []
    courses = [(t.drug, t.course(), np.array([t.start_day])) for t in experiment.treatments
               if isinstance(t, DrugTreatment)]
    if courses:  # the nominal individual's PK (an experiment's animals share it)
        edges, drugs = drug_controls(courses, 1, float(experiment.days))
        starts += drug_events(edges, drugs, float(experiment.days))
    for treatment in experiment.treatments:
        if isinstance(treatment, DrugTreatment):
            continue
        control = TREATMENT_CONTROLS[treatment.kind]
        if control is None:
            continue
        starts.append(Event(day=treatment.start_day, controls={control: 1.0}))
        if treatment.end_day is not None and treatment.end_day < experiment.days:
            ends.append(Event(day=treatment.end_day, controls={control: 0.0}))
    # Events on one day apply in list order: a course that ends on the day another begins must end first.
    return controls, events + ends + starts


def animal_setup(experiment: Experiment, params: dict[str, float]
                 ) -> tuple[dict[str, float], dict[str, float], list[Event]]:
    """Everything one animal of ``experiment`` needs to be simulated: its parameters (a wild-type
    host carries no DCCs), its controls at day 0 and its events."""
    if experiment.host.strain == "wild_type":
        params = {**params, "dcc_initial": 0.0}
    controls, events = schedule(experiment, params)
    return params, controls, events
