"""Invariants of the lung model that must hold for any parameter set."""

from __future__ import annotations

import numpy as np
import pytest

from awaken.experiments.protocol import Experiment
from awaken.lung import equations
from awaken.lung.compiled import compiled_model
from awaken.lung.parameters import draw_individuals, load_parameter_table
from awaken.solvers.reference import initial_state, simulate
from awaken.solvers.schedule import infection_event, schedule

DCC_CHANGING = {"division", "death", "killing", "seeding"}


@pytest.fixture(scope="module")
def model():
    return compiled_model()


@pytest.fixture(scope="module")
def nominal():
    return load_parameter_table("mouse").nominal("influenza_a_pr8")


def baseline_controls() -> dict[str, float]:
    controls, _ = schedule(Experiment(name="untreated"), {})
    return controls


def test_every_state_stays_non_negative(study):
    """Clipped output is exactly non-negative and the raw solution never dips below round-off."""
    for name, result in study.items():
        states = result.per_mouse[[c for c in result.per_mouse.columns if c.startswith("state_")]].to_numpy()
        assert (states >= 0).all(), name


def test_raw_solver_undershoot_is_round_off(nominal, model):
    """Before clipping, no state goes below the solver's absolute tolerance (1e-6 cells, pg/mL or
    infectious units/mL): negatives are round-off, never a state driven below zero."""
    controls = baseline_controls()
    for kind in ("influenza_a_pr8", "sars_cov_2_ma10"):
        params = load_parameter_table("mouse").nominal(kind)
        for extra in ({}, {"anti_cd8_on": 1.0}, {"anti_ly6g_on": 1.0}, {"il6_knockout": 1.0}):
            trajectory = simulate(params, {**controls, **extra}, [infection_event(0, 75.0, params)], 120, model=model)
            assert trajectory.most_negative > -1e-6, (kind, extra, trajectory.most_negative)


def test_untreated_lung_is_a_stable_dormant_equilibrium(nominal, model):
    """The pre-equilibrated, uninfected lung is at rest and every host perturbation decays.

    The infection block is excluded from the stability check on purpose: an uninfected lung is
    (correctly) unstable to the introduction of virus, whose within-host R0 exceeds one.
    """
    controls = baseline_controls()
    values = {**nominal, **controls}
    theta = model.theta(values)
    y = initial_state(nominal, controls, model)
    rates = model.rhs(y, theta)
    relative = np.abs(rates) / np.maximum(np.abs(y), 1.0)
    # Host states change by less than 0.1% a day (lesion-aggregate CD4 cells, about two cells,
    # are the slowest to settle after the DCC reservoir is scaled to its size).
    assert relative.max() < 1e-3, dict(zip(model.state_names, relative))
    dcc = [model.index(s) for s in equations.DCC_STATES]
    # Dormant DCCs persist for months to years: the reservoir's half-life must exceed five years.
    half_life_floor_days = 5 * 365
    assert abs(rates[dcc].sum()) / y[dcc].sum() < np.log(2) / half_life_floor_days
    host = [i for i, s in enumerate(equations.STATES) if s.block != "virus"]
    eigenvalues = np.linalg.eigvals(model.jacobian(y, theta)[np.ix_(host, host)])
    assert eigenvalues.real.max() < 0, sorted(eigenvalues.real)[-3:]
    readouts = model.readouts(y[:, None], theta[:, None])
    assert readouts["mesenchymal_fraction"][0] > 0.95  # almost every DCC is dormant ...
    assert readouts["proliferating_fraction"][0] < 0.01  # ... and almost none is in cycle


def test_awakened_cells_return_to_dormancy_without_inflammation(nominal, model):
    """Push a fifth of the DCCs into the hybrid state in an uninflamed lung: they go back to sleep."""
    controls = baseline_controls()
    y0 = initial_state(nominal, controls, model)
    dormant, hybrid = model.index("dcc_dormant"), model.index("dcc_hybrid")
    moved = 0.2 * y0[dormant]
    y0[dormant] -= moved
    y0[hybrid] += moved
    total0 = y0[[model.index(s) for s in equations.DCC_STATES]].sum()
    trajectory = simulate(nominal, controls, [], 90, y0=y0, model=model)
    assert trajectory.readouts["mesenchymal_fraction"][-1] > 0.95
    assert trajectory.readouts["dcc_total"][-1] == pytest.approx(total0, rel=0.1)


def test_dcc_transitions_conserve_cells(model):
    """Only division, death, killing and seeding change the number of DCCs; transitions move cells."""
    dcc_rows = [model.index(s) for s in equations.DCC_STATES]
    for j, (name, process) in enumerate(zip(model.reaction_names, model.reaction_processes)):
        net = model.stoichiometry[dcc_rows, j].sum()
        touches = np.any(model.stoichiometry[dcc_rows, j] != 0)
        if process == "transition":
            assert net == 0, name
        if touches and net != 0:
            assert process in DCC_CHANGING, (name, process)


def test_dcc_total_changes_only_by_division_death_killing_and_seeding(model, nominal):
    """Numerically, at random states: d(total)/dt equals the sum of the DCC-changing fluxes."""
    rng = np.random.default_rng(1)
    params = {**nominal, **baseline_controls(), "mechanism_seeding": 1.0}
    theta = model.theta(params)
    dcc_rows = [model.index(s) for s in equations.DCC_STATES]
    for _ in range(20):
        y = rng.uniform(0, 1e6, size=len(model.state_names))
        y[model.index("laminin_remodelling")] = rng.uniform()
        y[model.index("stat3_activity")] = rng.uniform()
        total_rate = model.rhs(y, theta)[dcc_rows].sum()
        fluxes = model.rates(y, theta)
        expected = sum(model.stoichiometry[dcc_rows, j].sum() * fluxes[j]
                       for j, p in enumerate(model.reaction_processes) if p in DCC_CHANGING)
        assert total_rate == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_il6_knockout_has_no_il6_and_no_stat3_signal(study):
    tc = study["il6_ko_influenza"].timecourse
    assert tc["il6_pg_per_ml"].max() == 0
    assert study["il6_ko_influenza"].per_mouse["state_stat3_activity"].max() == 0


def test_every_model_parameter_has_a_table_entry_and_vice_versa(model):
    table = load_parameter_table("mouse")
    for kind in table.viruses:
        names = {p.name for p in table.parameters(kind)}
        used = set(model.parameter_names) - set(equations.CONTROLS)
        assert used - names == set(), f"used by the equations but not in the table ({kind})"
        # Three table entries are not symbols of the rate equations: dcc_initial and target_cells_initial set
        # the initial state, inoculum_infectivity turns a dose into eclipse-phase cells (the infection event).
        assert names - used - {"dcc_initial", "target_cells_initial", "inoculum_infectivity"} == set()


def test_parameters_carry_unit_range_and_source():
    table = load_parameter_table("mouse")
    for kind in table.viruses:
        for p in table.parameters(kind):
            assert p.unit and p.source and p.description, p.name
            assert p.range[0] <= p.value <= p.range[1], p.name


def test_animals_differ_but_each_depends_only_on_seed_and_index():
    table = load_parameter_table("mouse")
    four = draw_individuals(table, "influenza_a_pr8", 4, seed=7)
    two = draw_individuals(table, "influenza_a_pr8", 2, seed=7)
    assert four[:2] == two
    assert four[0] != four[1]
    assert draw_individuals(table, "influenza_a_pr8", 1, seed=8)[0] != four[0]
    for animal in four:
        for p in table.parameters("influenza_a_pr8"):
            assert p.range[0] <= animal[p.name] <= p.range[1]


def test_an_unexposed_lung_never_infects_itself(nominal, model):
    """A year without exposure, even with neutrophils depleted throughout (a stiff start), keeps every
    target cell: round-off cannot seed an infection because infection requires exposure."""
    controls = {**baseline_controls(), "anti_ly6g_on": 1.0}
    trajectory = simulate(nominal, controls, [], 365, model=model)
    assert trajectory.state("target_cells").min() == pytest.approx(nominal["target_cells_initial"], rel=1e-9)
    assert trajectory.readouts["virus_titer"].max() < 1e-9
