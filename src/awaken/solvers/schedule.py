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

__all__ = ["Event", "IndividualEvents", "TREATMENT_CONTROLS", "DRUG_CONTROL_TOLERANCE", "infection_event",
           "drug_events", "drug_event_table", "schedule", "animal_setup"]

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


#: A drug control is updated when an individual's value has moved more than this since it was last set (or
#: has reached exactly 0): each update restarts the solver's step, and a blockade known to 0.01 is below
#: what the PD parameters are known to (an EC50 uncertain several-fold moves it by more) ...
DRUG_CONTROL_TOLERANCE = 0.01
#: ... or when what the control leaves, ``1 - value``, has changed by more than this factor: near full
#: blockade the residual signal is what matters (0.999 -> 0.99 is ten times the signal).
DRUG_RESIDUAL_FACTOR = 1.25


@dataclass(frozen=True)
class IndividualEvents:
    """Events of one's own for each individual of a batch: row ``i`` sets control ``names[code[i, k]]`` to
    ``value[i, k]`` on ``day[i, k]`` (``inf``: no event), rows sorted by day."""

    names: tuple[str, ...]
    day: np.ndarray
    code: np.ndarray
    value: np.ndarray


def drug_event_table(edges: np.ndarray, controls: dict[str, np.ndarray], days: float,
                     tolerance: float = DRUG_CONTROL_TOLERANCE) -> IndividualEvents:
    """Piecewise-constant drug controls (:func:`awaken.pharmacology.exposure.drug_controls`: bin edges and
    control -> ``(n, bins)``) as each individual's own events: at a bin edge where one of an individual's
    controls has moved more than ``tolerance`` since it was last set, or what it leaves (``1 - value``)
    by more than :data:`DRUG_RESIDUAL_FACTOR`, or it has become exactly 0 (washed out), that control is
    set to its bin value. Nothing before the first change, nothing for controls
    that stay 0; bins at or after ``days`` are dropped."""
    names = tuple(controls)
    n = next(iter(controls.values())).shape[0] if controls else 0
    previous = {name: np.zeros(n) for name in names}
    person, day, code, value = [], [], [], []
    for b in range(edges.size - 1):
        if edges[b] >= days:
            break
        for k, name in enumerate(names):
            column = controls[name][:, b]
            last = previous[name]
            residual = np.abs(np.log((1.0 - column + 1e-6) / (1.0 - last + 1e-6))) > np.log(DRUG_RESIDUAL_FACTOR)
            rows = np.flatnonzero((np.abs(column - last) > tolerance) | residual | ((column == 0.0) & (last != 0.0)))
            if rows.size:
                person.append(rows)
                day.append(np.full(rows.size, float(edges[b])))
                code.append(np.full(rows.size, k, dtype=np.int64))
                value.append(column[rows])
                last[rows] = column[rows]
    if not person:
        return IndividualEvents(names, np.full((n, 0), np.inf), np.zeros((n, 0), np.int64), np.zeros((n, 0)))
    person_a = np.concatenate(person)
    order = np.argsort(person_a, kind="stable")  # within a person, in the order made: by day
    person_a = person_a[order]
    counts = np.bincount(person_a, minlength=n)
    width = int(counts.max())
    slot = np.arange(person_a.size) - np.repeat(np.cumsum(counts) - counts, counts)
    out_day = np.full((n, width), np.inf)
    out_code = np.zeros((n, width), np.int64)
    out_value = np.zeros((n, width))
    out_day[person_a, slot] = np.concatenate(day)[order]
    out_code[person_a, slot] = np.concatenate(code)[order]
    out_value[person_a, slot] = np.concatenate(value)[order]
    return IndividualEvents(names, out_day, out_code, out_value)


def drug_events(edges: np.ndarray, controls: dict[str, np.ndarray], days: float,
                tolerance: float = DRUG_CONTROL_TOLERANCE) -> list[Event]:
    """One individual's drug controls (``(1, bins)`` arrays) as schedule events, by the rule of
    :func:`drug_event_table`."""
    table = drug_event_table(edges, controls, days, tolerance)
    if table.day.shape[0] != 1:
        raise ValueError("drug_events is for one individual; a batch takes drug_event_table")
    events: list[Event] = []
    for d, c, v in zip(table.day[0], table.code[0], table.value[0]):
        if events and events[-1].day == d:
            events[-1].controls[table.names[c]] = float(v)
        else:
            events.append(Event(day=float(d), controls={table.names[c]: float(v)}))
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
