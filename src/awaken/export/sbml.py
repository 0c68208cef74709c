"""SBML Level 3 Version 2 export of the lung model, generated from the single source of its equations.

Nothing here restates an equation: species, reactions, kinetic laws and read-outs come from
:func:`awaken.lung.compiled.compiled_model` (itself derived from :mod:`awaken.lung.equations`),
parameter values, units and sources from the parameter table, and the schedule of one virtual
experiment (infection, knockouts, antibody courses) from :func:`awaken.solvers.schedule.animal_setup`.

What the document holds:

* one compartment ``lung`` (size 1, dimensionless); every state is a species with
  ``hasOnlySubstanceUnits`` (amounts: cells, pg/mL, infectious units/mL, fractions) and its declared
  unit; its initial amount is the experiment's typical animal after awaken's pre-equilibration
  (365 uninfected days, DCC reservoir rescaled to ``dcc_initial``), which SBML cannot express as an
  operation and therefore carries as numbers;
* the 52 reactions (ids ``r_<name>``) with their kinetic laws and stoichiometries; species that
  only modulate a rate are declared as modifiers;
* every parameter with value, unit and, in its notes, the source and plausible range; controls
  (antibodies, knockout, exposure, mechanism switches) are non-constant parameters;
* read-outs as assignment rules on parameters ``readout_<name>``;
* events for infection and each antibody course, with priorities so that events on one day fire in
  awaken's order (a course ending the day another starts ends first).

Every libsbml call that returns a status is checked; a failure raises :class:`SBMLExportError`
naming the call.

Example
-------
>>> document = sbml_document("influenza")
>>> document.getModel().getNumReactions()
52
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import libsbml
import numpy as np
import sympy
from sympy.printing.str import StrPrinter

from awaken.experiments.catalogue import resolve_experiment
from awaken.experiments.protocol import Experiment
from awaken.export.units import parse_unit, sbml_unit_id
from awaken.lung import equations
from awaken.lung.compiled import CompiledModel, compiled_model
from awaken.lung.parameters import Parameter, load_parameter_table
from awaken.runs.files import atomic_write_text
from awaken.solvers.reference import PREEQUILIBRATION_DAYS, initial_state
from awaken.solvers.schedule import Event, animal_setup, infection_event, schedule

__all__ = ["SBMLExportError", "sbml_document", "parametric_document", "schedule_parameters", "sbml_string",
           "write_sbml", "consistency_report", "READOUT_PREFIX", "REACTION_PREFIX", "SWITCHED_CONTROLS", "NEVER"]

#: SBML ids of read-outs and reactions carry a prefix: several reactions share a name with the
#: parameter that sets their rate (``neutrophil_death``), and ids must be unique model-wide.
READOUT_PREFIX = "readout_"
REACTION_PREFIX = "r_"
_UNIT_KIND = {"second": libsbml.UNIT_KIND_SECOND, "item": libsbml.UNIT_KIND_ITEM,
              "gram": libsbml.UNIT_KIND_GRAM, "litre": libsbml.UNIT_KIND_LITRE}


class SBMLExportError(RuntimeError):
    """A libsbml call failed while building the document."""


def _check(status: int, what: str) -> None:
    if status != libsbml.LIBSBML_OPERATION_SUCCESS:
        raise SBMLExportError(f"libsbml failed to {what}: {libsbml.OperationReturnValue_toString(status)}")


def _created(obj: object, what: str) -> object:
    if obj is None:
        raise SBMLExportError(f"libsbml failed to create {what}")
    return obj


class _FormulaPrinter(StrPrinter):
    """SymPy -> SBML L3 infix formulas (``pow`` for powers, full float precision)."""

    def _print_Pow(self, expr: sympy.Pow, rational: bool = False) -> str:  # noqa: ARG002
        base, exponent = expr.as_base_exp()
        if exponent == -1:
            return f"1 / ({self._print(base)})"
        return f"pow({self._print(base)}, {self._print(exponent)})"

    def _print_Float(self, expr: sympy.Float) -> str:
        return repr(float(expr))

    def _print_Rational(self, expr: sympy.Rational) -> str:
        return f"({expr.p} / {expr.q})"


def _math(expr: sympy.Expr, what: str) -> libsbml.ASTNode:
    formula = _FormulaPrinter().doprint(expr)
    ast = libsbml.parseL3Formula(formula)
    if ast is None:
        raise SBMLExportError(f"cannot parse the formula of {what}: {formula} ({libsbml.getLastParseL3Error()})")
    return ast


def _add_unit_definition(model: libsbml.Model, text: str, defined: set[str]) -> str:
    unit_id = sbml_unit_id(text)
    if unit_id == "dimensionless" or unit_id in defined:
        return unit_id
    definition = _created(model.createUnitDefinition(), f"unit definition {text}")
    _check(definition.setId(unit_id), f"set the id of unit {text}")
    _check(definition.setName(text), f"name unit {text}")
    parts = parse_unit(text)
    if not parts:
        parts = {"dimensionless": (1, 0, 1.0)}
    for kind, (exponent, scale, multiplier) in parts.items():
        unit = _created(definition.createUnit(), f"a unit of {text}")
        _check(unit.setKind(_UNIT_KIND.get(kind, libsbml.UNIT_KIND_DIMENSIONLESS)), f"set a kind of {text}")
        _check(unit.setExponent(exponent), f"set an exponent of {text}")
        _check(unit.setScale(scale), f"set a scale of {text}")
        _check(unit.setMultiplier(multiplier), f"set a multiplier of {text}")
    defined.add(unit_id)
    return unit_id


def _notes(element: libsbml.SBase, text: str) -> None:
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    _check(element.setNotes(f'<body xmlns="http://www.w3.org/1999/xhtml"><p>{escaped}</p></body>'),
           f"set the notes of {element.getId()}")


def _parameter_note(p: Parameter) -> str:
    lo, hi = p.range
    note = f"{p.description}. Plausible range [{lo:g}, {hi:g}] {p.unit}. Source: {p.source}."
    if p.calibrated_to:
        note += f" Calibrated to: {', '.join(p.calibrated_to)}."
    return note


def _timed_event(model: libsbml.Model, event_id: str, name: str, day: float | str, priority: int) -> libsbml.Event:
    """An event that fires once, when model time reaches ``day`` (a number or a formula); a higher
    ``priority`` fires first among events of the same time. Values are taken at trigger time."""
    event = _created(model.createEvent(), f"event {event_id}")
    _check(event.setId(event_id), f"set the id of event {event_id}")
    _check(event.setName(name), f"name event {event_id}")
    _check(event.setUseValuesFromTriggerTime(True), "set useValuesFromTriggerTime")
    trigger = _created(event.createTrigger(), f"the trigger of {event_id}")
    # initialValue false: an event at the start time fires at the start of the simulation.
    _check(trigger.setInitialValue(False), "set a trigger's initial value")
    _check(trigger.setPersistent(True), "make a trigger persistent")
    _check(trigger.setMath(libsbml.parseL3Formula(f"time >= {day if isinstance(day, str) else repr(day)}")), f"set the trigger of {event_id}")
    priority_element = _created(event.createPriority(), f"the priority of {event_id}")
    _check(priority_element.setMath(libsbml.parseL3Formula(str(priority))), f"set the priority of {event_id}")
    return event


def _add_preequilibration_event(model: libsbml.Model, offset: float, priority: int) -> None:
    """At ``time = offset``: rescale the DCC states so that their total is ``dcc_initial`` (as
    :func:`awaken.solvers.reference.initial_state` does after pre-equilibration)."""
    event = _timed_event(model, "end_of_preequilibration",
                         f"day 0 (after {offset:g} d of pre-equilibration): DCC reservoir rescaled to dcc_initial",
                         offset, priority)
    total = " + ".join(equations.DCC_STATES)
    for state in equations.DCC_STATES:
        assignment = _created(event.createEventAssignment(), "an event assignment")
        _check(assignment.setVariable(state), f"assign {state}")
        formula = f"piecewise({state} * dcc_initial / ({total}), {total} > 0, {state})"
        _check(assignment.setMath(libsbml.parseL3Formula(formula)), f"rescale {state}")


def _add_events(model: libsbml.Model, events: Iterable[Event], increments: dict[str, str],
                offset: float = 0.0) -> None:
    events = list(events)
    if offset > 0:
        _add_preequilibration_event(model, offset, len(events) + 1)
    for order, event in enumerate(events):
        what = ", ".join([*(f"{k}={v:g}" for k, v in event.controls.items()),
                          *(f"{k}+={v:g}" for k, v in event.state_increments.items())])
        # Earlier in awaken's list = higher priority: same-day events fire in awaken's order.
        sbml_event = _timed_event(model, f"event_{order}_day_{event.day:g}".replace(".", "_"),
                                  f"day {event.day:g}: {what}", event.day + offset, len(events) - order)
        for control, value in event.controls.items():
            assignment = _created(sbml_event.createEventAssignment(), "an event assignment")
            _check(assignment.setVariable(control), f"assign {control}")
            _check(assignment.setMath(libsbml.parseL3Formula(repr(float(value)))), f"set {control}")
        for state in event.state_increments:
            assignment = _created(sbml_event.createEventAssignment(), "an event assignment")
            _check(assignment.setVariable(state), f"assign {state}")
            # The dose is a parameter of the document so that a user can change it in one place.
            _check(assignment.setMath(libsbml.parseL3Formula(f"{state} + {increments[state]}")), f"increment {state}")


#: Controls that schedules switch during a run get a start and an end day in the parametric model.
SWITCHED_CONTROLS: tuple[str, ...] = ("virus_exposed", "anti_cd4_on", "anti_cd8_on", "anti_ly6g_on")
#: Day value meaning "never" for a schedule parameter of the parametric model.
NEVER = 1e9


def schedule_parameters(events: Iterable[Event]) -> dict[str, float]:
    """An experiment's events as the values of the parametric model's schedule parameters
    (``<control>_start_day``, ``<control>_end_day``, ``dose_<state>``, ``dose_<state>_day``);
    schedule parameters not named stay at their default (never, no dose). Raises
    :class:`SBMLExportError` for a schedule the parametric model cannot express."""
    values: dict[str, float] = {}
    for event in events:
        for control, value in event.controls.items():
            if control not in SWITCHED_CONTROLS or value not in (0.0, 1.0):
                raise SBMLExportError(f"the parametric model cannot switch {control} to {value:g}")
            key = f"{control}_{'start' if value == 1.0 else 'end'}_day"
            if key in values:
                raise SBMLExportError(f"the parametric model switches {control} {'on' if value else 'off'} only once")
            values[key] = float(event.day)
        for state, amount in event.state_increments.items():
            if f"dose_{state}" in values:
                raise SBMLExportError(f"the parametric model gives one dose of {state}")
            values[f"dose_{state}"] = float(amount)
            values[f"dose_{state}_day"] = float(event.day)
    return values


def _initial_amount_expressions(model: CompiledModel) -> dict[str, sympy.Expr]:
    """Species' starting amounts before pre-equilibration as formulas of the parameters."""
    symbols = {name: sympy.Symbol(name) for name in set(model.parameter_names) | set(equations.CONTROLS)}
    guess = equations.initial_guess(_SymbolLookup(symbols))
    return {name: sympy.sympify(guess[name]) for name in model.state_names}


class _SymbolLookup(dict):
    """A parameter dict whose missing entries are SymPy symbols of the same name."""

    def __missing__(self, key: str) -> sympy.Symbol:
        return sympy.Symbol(key)


def _skeleton(document: libsbml.SBMLDocument, model: CompiledModel, model_id: str, name: str, notes: str,
              params: dict[str, float], controls: dict[str, float], described: dict[str, Parameter],
              y0: np.ndarray | None) -> tuple[libsbml.Model, set[str]]:
    """Compartment, species, parameters, reactions and read-outs. Species start at ``y0``, or -
    with ``y0=None`` - at their pre-equilibration starting point as initial assignments."""
    sbml = _created(document.createModel(), "the model")
    _check(sbml.setId(model_id), "set the model id")
    _check(sbml.setName(name), "set the model name")
    _notes(sbml, notes)
    defined: set[str] = set()
    _check(sbml.setTimeUnits(_add_unit_definition(sbml, "d", defined)), "set time units")

    compartment = _created(sbml.createCompartment(), "the lung compartment")
    _check(compartment.setId("lung"), "set the compartment id")
    _check(compartment.setConstant(True), "make the compartment constant")
    _check(compartment.setSize(1.0), "set the compartment size")
    _check(compartment.setSpatialDimensions(3), "set compartment dimensions")
    _check(compartment.setUnits("dimensionless"), "set compartment units")

    units = {s.name: s.unit for s in equations.STATES}
    starts = _initial_amount_expressions(model) if y0 is None else None
    for index, name in enumerate(model.state_names):
        species = _created(sbml.createSpecies(), f"species {name}")
        state = next(s for s in equations.STATES if s.name == name)
        _check(species.setId(name), f"set the id of {name}")
        _check(species.setName(state.description), f"name {name}")
        _check(species.setCompartment("lung"), f"place {name}")
        _check(species.setHasOnlySubstanceUnits(True), f"set hasOnlySubstanceUnits of {name}")
        _check(species.setBoundaryCondition(False), f"set boundaryCondition of {name}")
        _check(species.setConstant(False), f"set constant of {name}")
        _check(species.setSubstanceUnits(_add_unit_definition(sbml, units[name], defined)), f"set units of {name}")
        if starts is None:
            _check(species.setInitialAmount(float(y0[index])), f"set the initial amount of {name}")
        else:
            start = starts[name]
            if start.free_symbols:
                # Follows the parameters (a fitted baseline moves the starting point with it).
                assignment = _created(sbml.createInitialAssignment(), f"the initial assignment of {name}")
                _check(assignment.setSymbol(name), f"set the symbol of {name}'s initial assignment")
                _check(assignment.setMath(_math(start, f"the start of {name}")), f"set the start of {name}")
            else:
                _check(species.setInitialAmount(float(start)), f"set the initial amount of {name}")

    # Every parameter of the table, including those used only by initial states and doses.
    for pname in sorted(set(model.parameter_names) | set(described)):
        parameter = _created(sbml.createParameter(), f"parameter {pname}")
        _check(parameter.setId(pname), f"set the id of {pname}")
        is_control = pname in equations.CONTROLS
        _check(parameter.setConstant(not is_control), f"set constant of {pname}")
        _check(parameter.setValue(float(controls[pname] if is_control else params[pname])), f"set {pname}")
        if is_control:
            _check(parameter.setUnits("dimensionless"), f"set units of {pname}")
            _notes(parameter, "control (0 or 1) switched by the experiment's events")
        else:
            p = described[pname]
            _check(parameter.setName(p.description), f"name {pname}")
            _check(parameter.setUnits(_add_unit_definition(sbml, p.unit, defined)), f"set units of {pname}")
            _notes(parameter, _parameter_note(p))

    for rname, process, rate, column in zip(model.reaction_names, model.reaction_processes,
                                            model.rate_expressions, model.stoichiometry.T):
        reaction = _created(sbml.createReaction(), f"reaction {rname}")
        _check(reaction.setId(REACTION_PREFIX + rname), f"set the id of reaction {rname}")
        _check(reaction.setName(f"{rname} ({process})"), f"name reaction {rname}")
        _check(reaction.setReversible(False), f"set reversible of {rname}")
        for index in np.flatnonzero(column):
            coefficient = float(column[index])
            ref = _created(reaction.createReactant() if coefficient < 0 else reaction.createProduct(),
                           f"a species reference of {rname}")
            _check(ref.setSpecies(model.state_names[index]), f"reference a species in {rname}")
            _check(ref.setStoichiometry(abs(coefficient)), f"set a stoichiometry in {rname}")
            _check(ref.setConstant(True), f"set a stoichiometry constant in {rname}")
        # Species that only modulate the rate are declared as modifiers.
        participants = {model.state_names[i] for i in np.flatnonzero(column)}
        for symbol in sorted(rate.free_symbols, key=str):
            if str(symbol) in model.state_names and str(symbol) not in participants:
                modifier = _created(reaction.createModifier(), f"a modifier of {rname}")
                _check(modifier.setSpecies(str(symbol)), f"reference a modifier in {rname}")
        law = _created(reaction.createKineticLaw(), f"the kinetic law of {rname}")
        _check(law.setMath(_math(rate, f"reaction {rname}")), f"set the kinetic law of {rname}")

    readout_units = {rname: unit for rname, (unit, _) in equations.READOUTS.items()}
    for rname, expr in model.readout_expressions.items():
        readout_id = READOUT_PREFIX + rname
        parameter = _created(sbml.createParameter(), readout_id)
        _check(parameter.setId(readout_id), f"set the id of {readout_id}")
        _check(parameter.setName(equations.READOUTS[rname][1]), f"name {readout_id}")
        _check(parameter.setConstant(False), f"set constant of {readout_id}")
        _check(parameter.setUnits(_add_unit_definition(sbml, readout_units[rname], defined)),
               f"set units of {readout_id}")
        rule = _created(sbml.createAssignmentRule(), f"the rule of {readout_id}")
        _check(rule.setVariable(readout_id), f"set the variable of {readout_id}")
        _check(rule.setMath(_math(expr, f"read-out {rname}")), f"set the formula of {readout_id}")
    return sbml, defined


def _add_constant(sbml: libsbml.Model, defined: set[str], pid: str, value: float, unit: str, note: str) -> None:
    parameter = _created(sbml.createParameter(), pid)
    _check(parameter.setId(pid), f"set the id of {pid}")
    _check(parameter.setConstant(True), f"set constant of {pid}")
    _check(parameter.setValue(float(value)), f"set {pid}")
    _check(parameter.setUnits(_add_unit_definition(sbml, unit, defined)), f"set units of {pid}")
    _notes(parameter, note)


def sbml_document(experiment: str | Experiment = "influenza", params: dict[str, float] | None = None,
                  model: CompiledModel | None = None, preequilibration: bool = False) -> libsbml.SBMLDocument:
    """The lung model and one experiment's schedule as an SBML L3V2 document.

    ``params`` (default: the experiment's typical animal, nominal values plus scenario overrides)
    sets the parameter values and the pre-equilibrated initial state.

    With ``preequilibration=True`` the document carries the pre-equilibration itself instead of its
    result: species start at :func:`equations.initial_guess` (as initial assignments, so they follow
    the parameters), the model time runs through :data:`PREEQUILIBRATION_DAYS` uninfected days
    first, an event then rescales the DCC reservoir to ``dcc_initial``, and every experiment event
    is shifted by that offset (experiment day ``d`` is model time ``365 + d``). Initial states then
    follow any change of parameters, which fitting and population runs need.
    """
    scenario = resolve_experiment(experiment) if isinstance(experiment, str) else experiment
    model = model or compiled_model()
    table = load_parameter_table(scenario.species)
    virus = scenario.virus_kind
    described = {p.name: p for p in table.parameters(virus)}
    nominal = {**table.nominal(virus), **scenario.parameters, **(params or {})}
    params, controls, events = animal_setup(scenario, nominal)
    y0 = None if preequilibration else initial_state(params, controls, model)
    offset = PREEQUILIBRATION_DAYS if preequilibration else 0.0
    document = libsbml.SBMLDocument(3, 2)
    notes = (f"Generated by awaken from its single source of equations (awaken.lung.equations). "
             f"Experiment {scenario.name}: {scenario.description.strip()} "
             + (f"Time in days; the first {PREEQUILIBRATION_DAYS:g} d are uninfected pre-equilibration, "
                f"experiment day d is model time {PREEQUILIBRATION_DAYS:g} + d." if preequilibration else
                f"Initial amounts are the typical animal after {PREEQUILIBRATION_DAYS:g} uninfected days of "
                f"pre-equilibration with the DCC reservoir rescaled to dcc_initial. Time in days."))
    sbml, defined = _skeleton(document, model, f"awaken_lung_{scenario.name}", f"awaken lung model: {scenario.name}",
                              notes, params, controls, described, y0)
    units = {s.name: s.unit for s in equations.STATES}
    increments: dict[str, str] = {}
    for event in events:
        for state in event.state_increments:
            increments[state] = f"dose_{state}"
    for state, dose_id in increments.items():
        amount = sum(e.state_increments.get(state, 0.0) for e in events)
        _add_constant(sbml, defined, dose_id, amount, units[state], f"{state} added at infection: dose x inoculum_infectivity")
    _add_events(sbml, events, increments, offset)
    return document


def parametric_document(virus: str = "influenza_a_pr8", species: str = "mouse",
                        model: CompiledModel | None = None) -> libsbml.SBMLDocument:
    """One SBML model for every experiment: the schedule is parameters, not numbers.

    The model carries its own pre-equilibration (experiment day ``d`` is model time ``365 + d``).
    Each control of :data:`SWITCHED_CONTROLS` is switched on at ``<control>_start_day`` and off at
    ``<control>_end_day`` (experiment days; default :data:`NEVER`); the infection adds
    ``dose_<state>`` (default 0) at ``dose_<state>_day``. Constant controls (IL-6 knockout,
    mechanisms) are set directly. :func:`schedule_parameters` turns an experiment into these values;
    the PEtab condition table is built from it. A course that ends on the day another begins ends
    first, as in awaken.
    """
    model = model or compiled_model()
    table = load_parameter_table(species)
    described = {p.name: p for p in table.parameters(virus)}
    params = table.nominal(virus)
    # Day-0 controls of a plain experiment (every mechanism on, no knockout, nothing switched on yet).
    controls = schedule(Experiment(name="default"), params)[0]
    document = libsbml.SBMLDocument(3, 2)
    notes = (f"Generated by awaken from its single source of equations (awaken.lung.equations), {species}, "
             f"{table.viruses[virus].label}. Time in days; the first {PREEQUILIBRATION_DAYS:g} d are uninfected "
             f"pre-equilibration, experiment day d is model time {PREEQUILIBRATION_DAYS:g} + d. The experiment "
             f"(infection, antibody courses, knockout) is set by parameters, one value per condition: "
             f"<control>_start_day / <control>_end_day in experiment days ({NEVER:g} = never), dose_<state> and "
             f"dose_<state>_day for the inoculum.")
    sbml, defined = _skeleton(document, model, f"awaken_lung_{species}_{virus}", f"awaken lung model ({species})",
                              notes, params, controls, described, None)
    _add_preequilibration_event(sbml, PREEQUILIBRATION_DAYS, 4)
    units = {s.name: s.unit for s in equations.STATES}
    for control in SWITCHED_CONTROLS:
        for edge, value, priority in (("end", 0.0, 3), ("start", 1.0, 2)):
            day_id = f"{control}_{edge}_day"
            _add_constant(sbml, defined, day_id, NEVER, "d",
                          f"experiment day on which {control} is switched {'on' if value else 'off'} ({NEVER:g} = never)")
            event = _timed_event(sbml, f"{control}_{edge}", f"{control} = {value:g}",
                                 f"{PREEQUILIBRATION_DAYS!r} + {day_id}", priority)
            assignment = _created(event.createEventAssignment(), "an event assignment")
            _check(assignment.setVariable(control), f"assign {control}")
            _check(assignment.setMath(libsbml.parseL3Formula(repr(value))), f"set {control}")
    for state in _dosed_states():
        dose_id = f"dose_{state}"
        _add_constant(sbml, defined, dose_id, 0.0, units[state],
                      f"{state} added at infection: dose x inoculum_infectivity (0 = no infection)")
        _add_constant(sbml, defined, f"{dose_id}_day", NEVER, "d", f"experiment day of the infection ({NEVER:g} = never)")
        event = _timed_event(sbml, f"infection_{state}", f"infection: {state} += {dose_id}",
                             f"{PREEQUILIBRATION_DAYS!r} + {dose_id}_day", 1)
        assignment = _created(event.createEventAssignment(), "an event assignment")
        _check(assignment.setVariable(state), f"assign {state}")
        _check(assignment.setMath(libsbml.parseL3Formula(f"{state} + {dose_id}")), f"increment {state}")
    return document


def _dosed_states() -> tuple[str, ...]:
    """States an infection adds to (from the infection event itself, not restated)."""
    probe = infection_event(0.0, 1.0, {"inoculum_infectivity": 1.0})
    return tuple(probe.state_increments)


def consistency_report(document: libsbml.SBMLDocument) -> tuple[int, int, list[str]]:
    """libsbml's full consistency check: (errors, warnings, messages)."""
    document.setConsistencyChecks(libsbml.LIBSBML_CAT_UNITS_CONSISTENCY, True)
    document.checkConsistency()
    errors = warnings = 0
    messages = []
    for i in range(document.getNumErrors()):
        error = document.getError(i)
        if error.getSeverity() >= libsbml.LIBSBML_SEV_ERROR:
            errors += 1
        else:
            warnings += 1
        messages.append(f"{error.getSeverityAsString()} {error.getErrorId()} line {error.getLine()}: "
                        f"{error.getMessage().strip()}")
    return errors, warnings, messages


def sbml_string(experiment: str | Experiment = "influenza", params: dict[str, float] | None = None,
                preequilibration: bool = False) -> str:
    """The SBML document of :func:`sbml_document` as XML text."""
    return libsbml.writeSBMLToString(sbml_document(experiment, params, preequilibration=preequilibration))


def write_sbml(path: str | Path, experiment: str | Experiment = "influenza",
               params: dict[str, float] | None = None, preequilibration: bool = False) -> libsbml.SBMLDocument:
    """Write the SBML document atomically (temporary name, then rename) after libsbml's consistency
    check finds no error; returns the document."""
    document = sbml_document(experiment, params, preequilibration=preequilibration)
    n_errors, _, messages = consistency_report(document)
    if n_errors:
        raise SBMLExportError(f"libsbml found {n_errors} errors in the generated document: " + "; ".join(messages[:3]))
    atomic_write_text(path, libsbml.writeSBMLToString(document))
    return document
