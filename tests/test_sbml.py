"""The SBML export: generated from the single source, valid for libsbml, and simulating the same as awaken."""

from __future__ import annotations

import numpy as np
import pytest

libsbml = pytest.importorskip("libsbml")
roadrunner = pytest.importorskip("roadrunner")

from awaken.experiments.catalogue import list_experiments, load_experiment  # noqa: E402
from awaken.export.sbml import REACTION_PREFIX, READOUT_PREFIX, consistency_report, sbml_document, sbml_string  # noqa: E402
from awaken.export.units import UnitError, parse_unit  # noqa: E402
from awaken.lung.compiled import compiled_model  # noqa: E402
from awaken.lung.parameters import load_parameter_table  # noqa: E402
from awaken.solvers.reference import PREEQUILIBRATION_DAYS, simulate  # noqa: E402
from awaken.solvers.schedule import animal_setup  # noqa: E402

#: The agreement the issue asks for: relative difference where a value exceeds 1e-6 of its maximum.
TOLERANCE = 1e-3
DAYS = 365


def _typical(name: str):
    scenario = load_experiment(name)
    table = load_parameter_table(scenario.species)
    params = {**table.nominal(scenario.virus_kind), **scenario.parameters}
    return scenario, animal_setup(scenario, params)


def _worst_difference(reference: dict[str, np.ndarray], other: dict[str, np.ndarray]) -> tuple[float, str]:
    worst, where = 0.0, ""
    for name, a in reference.items():
        b = other[name]
        mask = np.abs(a) > 1e-6 * np.abs(a).max() if np.abs(a).max() > 0 else np.zeros_like(a, dtype=bool)
        if mask.any():
            rel = float(np.max(np.abs(a[mask] - b[mask]) / np.abs(a[mask])))
            if rel > worst:
                worst, where = rel, name
    return worst, where


@pytest.mark.parametrize("preequilibration", [False, True])
def test_libsbml_finds_no_errors(preequilibration):
    document = sbml_document("anti_cd4_influenza", preequilibration=preequilibration)
    n_errors, _, messages = consistency_report(document)
    assert n_errors == 0, messages
    model = document.getModel()
    compiled = compiled_model()
    assert model.getNumSpecies() == len(compiled.state_names)
    assert model.getNumReactions() == len(compiled.reaction_names)
    assert model.getNumRules() == len(compiled.readout_expressions)
    # Every parameter carries a declared unit and a note with its source.
    table = load_parameter_table()
    for p in table.parameters():
        sbml_parameter = model.getParameter(p.name)
        assert sbml_parameter is not None, p.name
        assert sbml_parameter.isSetUnits(), p.name
        assert p.source.split(";")[0][:20] in sbml_parameter.getNotesString().replace("&amp;", "&"), p.name


def test_kinetic_laws_are_the_equations():
    """Each reaction's kinetic law, parsed back from the SBML, equals awaken's rate at random points."""
    model = sbml_document("influenza").getModel()
    compiled = compiled_model()
    rng = np.random.default_rng(3)
    y = rng.uniform(0.1, 10.0, len(compiled.state_names))
    theta = rng.uniform(0.1, 2.0, len(compiled.parameter_names))
    values = dict(zip(compiled.state_names, y)) | dict(zip(compiled.parameter_names, theta))
    rates = compiled.rates(y, theta)
    import sympy

    for j, name in enumerate(compiled.reaction_names):
        formula = libsbml.formulaToL3String(model.getReaction(REACTION_PREFIX + name).getKineticLaw().getMath())
        expr = sympy.sympify(formula.replace("^", "**"), locals={k: sympy.Symbol(k) for k in values})
        value = float(expr.subs({sympy.Symbol(k): v for k, v in values.items()}))
        assert value == pytest.approx(rates[j], rel=1e-12, abs=1e-300), name


@pytest.mark.parametrize("name", list_experiments())
def test_roadrunner_agrees_with_the_reference_solver(name):
    """libRoadRunner on the exported SBML reproduces every read-out of every experiment (typical animal)."""
    scenario, (params, controls, events) = _typical(name)
    reference = simulate(params, controls, events, DAYS)
    names = list(reference.readouts)
    runner = roadrunner.RoadRunner(sbml_string(scenario))
    runner.integrator.relative_tolerance = 1e-10
    runner.integrator.absolute_tolerance = 1e-12
    runner.timeCourseSelections = ["time"] + [READOUT_PREFIX + n for n in names]
    result = runner.simulate(0, DAYS, DAYS + 1)
    other = {n: result[:, j + 1] for j, n in enumerate(names)}
    worst, where = _worst_difference(reference.readouts, other)
    assert worst <= TOLERANCE, f"{name}: {where} differs by {worst:.2e}"


def test_preequilibration_in_the_model_matches_awaken():
    """With --preequilibration the SBML runs the 365 uninfected days and the DCC rescaling itself."""
    scenario, (params, controls, events) = _typical("anti_cd4_influenza")
    days = np.arange(0.0, 61.0)
    reference = simulate(params, controls, events, 60, days)
    runner = roadrunner.RoadRunner(sbml_string(scenario, preequilibration=True))
    runner.integrator.relative_tolerance = 1e-10
    runner.integrator.absolute_tolerance = 1e-12
    runner.timeCourseSelections = ["time", READOUT_PREFIX + "dcc_count", READOUT_PREFIX + "cd8_t_cells_active"]
    result = runner.simulate(times=[0.0, *(PREEQUILIBRATION_DAYS + days)])[1:]
    worst, where = _worst_difference({k: reference.readouts[k] for k in ("dcc_count", "cd8_t_cells_active")},
                                     {"dcc_count": result[:, 1], "cd8_t_cells_active": result[:, 2]})
    assert worst <= TOLERANCE, f"{where} differs by {worst:.2e}"


def test_same_day_events_fire_in_awakens_order():
    """An antibody course ending the day another starts ends first (SBML priorities)."""
    from awaken.experiments.protocol import Experiment
    from awaken.schemas import validate

    scenario = validate({"name": "back_to_back", "virus": {"kind": "influenza_a_pr8"}, "days": 40,
                                  "treatments": [{"kind": "anti_cd4", "start_day": 10, "end_day": 20},
                                                 {"kind": "anti_cd4", "start_day": 20, "end_day": 30}]},
                                 Experiment, source="test")
    runner = roadrunner.RoadRunner(sbml_string(scenario))
    runner.timeCourseSelections = ["time", "anti_cd4_on"]
    result = runner.simulate(0, 40, 81)
    on = dict(zip(result[:, 0], result[:, 1]))
    assert on[15.0] == 1.0 and on[25.0] == 1.0 and on[35.0] == 0.0


def test_units_parse_and_unknown_units_are_refused():
    assert parse_unit("mL/(infectious unit d)") == {"litre": (1, -3, 1.0), "item": (-1, 0, 1.0), "second": (-1, 0, 86400.0)}
    assert parse_unit("cell per infectious unit") == {}
    with pytest.raises(UnitError, match="furlong"):
        parse_unit("furlong/d")
