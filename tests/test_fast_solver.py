"""The fast population solver: as accurate as required, independent of threads, screened like Jenner et al."""

from __future__ import annotations

import numba
import numpy as np
import pandas as pd
import pytest

from awaken.errors import InputError
from awaken.experiments.catalogue import load_experiment
from awaken.lung.compiled import compiled_model
from awaken.lung.parameters import draw_individuals, load_parameter_table
from awaken.solvers.fast import LANES, FastSolver, generated_source
from awaken.solvers.reference import simulate
from awaken.solvers.schedule import Event, animal_setup
from awaken.solvers.virtual_population import PhysiologicalEnvelope, simulate_population

#: The issue's requirement: dcc_count within a relative 1e-4 of the reference solver at every output day.
ACCURACY = 1e-4
OUTPUT_DAYS = np.array([0, 1, 3, 6, 9, 12, 15, 21, 28, 42, 60, 90, 120], dtype=float)


def _setups(name: str, n: int, seed: int):
    scenario = load_experiment(name)
    draws = draw_individuals(load_parameter_table(scenario.species), scenario.virus_kind, n, seed, scenario.parameters)
    return [animal_setup(scenario, p) for p in draws]


def _run(solver: FastSolver, setups, days=120.0, out=OUTPUT_DAYS):
    return solver.simulate([s[0] for s in setups], [s[1] for s in setups],
                           [[e for e in s[2] if e.day < days] for s in setups], days, out)


@pytest.mark.parametrize("name", ["influenza", "anti_cd4_influenza", "il6_ko_influenza",
                                  "neutrophil_depleted_influenza", "sars_cov_2", "pbs"])
def test_dcc_count_matches_the_reference_solver(name):
    setups = _setups(name, 6, seed=11)
    batch = _run(FastSolver(), setups)
    for i, (params, controls, events) in enumerate(setups):
        reference = simulate(params, controls, [e for e in events if e.day < 120], 120.0, OUTPUT_DAYS)
        a = reference.readouts["dcc_count"]
        rel = np.abs(batch.readouts["dcc_count"][i] - a) / a
        assert rel.max() <= ACCURACY, f"{name} individual {i}: {rel.max():.2e} at day {OUTPUT_DAYS[rel.argmax()]:g}"


def test_every_readout_of_the_typical_mouse_is_close():
    scenario = load_experiment("anti_cd4_influenza")
    params = load_parameter_table().nominal()
    setup = animal_setup(scenario, params)
    batch = _run(FastSolver(), [setup])
    reference = simulate(*setup, 120.0, OUTPUT_DAYS)
    for name, a in reference.readouts.items():
        b = batch.readouts[name][0]
        mask = a > 1e-6 * a.max()
        assert np.all(np.abs(b[mask] - a[mask]) <= 1e-3 * a[mask]), name


def test_results_do_not_depend_on_the_number_of_threads():
    setups = _setups("influenza", 5 * LANES, seed=5)  # enough individuals for a chunk per thread
    solver = FastSolver()
    previous = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = _run(solver, setups).states
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        many = _run(solver, setups).states
    finally:
        numba.set_num_threads(previous)
    assert np.array_equal(one, many)


def test_an_individual_does_not_depend_on_its_batch():
    """Lanes are independent integrations: alone, or in any lane of a mixed batch, the same numbers."""
    mixed = (_setups("influenza", 7, seed=3) + _setups("pbs", 5, seed=3) + _setups("anti_cd4_influenza", 6, seed=3)
             + _setups("sars_cov_2", 5, seed=3))
    order = np.random.default_rng(0).permutation(len(mixed))
    batch = _run(FastSolver(), [mixed[k] for k in order], days=60.0, out=OUTPUT_DAYS[OUTPUT_DAYS <= 60])
    solver = FastSolver()
    for position, k in enumerate(order):
        alone = _run(solver, [mixed[k]], days=60.0, out=OUTPUT_DAYS[OUTPUT_DAYS <= 60])
        assert np.array_equal(alone.states[0], batch.states[position]), f"individual {k} in lane {position % LANES}"
        assert alone.steps[0] == batch.steps[position]


def test_events_apply_in_the_reference_order():
    """Back-to-back courses: the one ending on day 20 ends before the one starting on day 20."""
    params = load_parameter_table().nominal()
    from awaken.lung.equations import CONTROLS

    controls = {**{c: 0.0 for c in CONTROLS},
                **{f"mechanism_{m}": 1.0 for m in ("il6_stat3", "neutrophil_niche", "cd8_killing", "cd4_suppression")}}
    events = [Event(0.0, {"virus_exposed": 1.0}, {"infected_eclipse": 30.0}),
              Event(10.0, {"anti_cd4_on": 1.0}), Event(20.0, {"anti_cd4_on": 0.0}), Event(20.0, {"anti_cd4_on": 1.0})]
    out = np.arange(0.0, 41.0)
    batch = FastSolver().simulate([params], [controls], [events], 40.0, out)
    reference = simulate(params, controls, events, 40.0, out)
    cd4 = batch.readouts["cd4_t_cells"][0]
    assert cd4[30] < 0.05 * reference.readouts["cd4_t_cells"][9]  # still depleted: the second course holds
    assert np.allclose(cd4, reference.readouts["cd4_t_cells"], rtol=1e-3, atol=1e-3)


def test_generated_code_is_derived_from_the_equations():
    source = generated_source(compiled_model())
    assert "def model_rhs" in source and "def model_lu_factor" in source and "def model_lu_solve" in source
    assert "Generated by awaken.solvers.fast" in source


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="rtol"):
        FastSolver(rtol=0.5)
    with pytest.raises(ValueError, match="amount_atol"):
        FastSolver(amount_atol=0.0)
    setups = _setups("influenza", 1, seed=0)
    with pytest.raises(ValueError, match="output_days"):
        FastSolver().simulate([setups[0][0]], [setups[0][1]], [setups[0][2]], 10.0, np.array([0.0, 20.0]))
    with pytest.raises(ValueError, match="outside the run"):
        FastSolver().simulate([setups[0][0]], [setups[0][1]], [[Event(12.0, {"anti_cd4_on": 1.0})]], 10.0,
                              np.array([0.0]))


def test_population_is_reproducible_and_screened():
    envelope = PhysiologicalEnvelope()
    first = simulate_population("influenza", n=30, seed=4, output_days=[0, 9, 28], envelope=envelope)
    again = simulate_population("influenza", n=30, seed=4, output_days=[0, 9, 28], envelope=envelope)
    pd.testing.assert_frame_equal(first.readouts, again.readouts)
    assert first.accepted == 30 and first.candidates >= 30
    assert 0 < first.acceptance_rate <= 1
    # A strict envelope rejects some candidates, and every accepted one satisfies it.
    strict = PhysiologicalEnvelope(il6_peak_range=(100.0, 400.0), virus_cleared_by_day=10.0)
    screened = simulate_population("influenza", n=20, seed=4, output_days=[0, 9, 28], envelope=strict)
    assert screened.acceptance_rate < 1
    full = simulate_population("influenza", n=screened.candidates, seed=4, output_days=[0, 9, 28])
    kept = full.parameters["individual"].isin(screened.parameters["individual"])
    assert kept.sum() == 20
    # The accepted individuals are the same people as in an unscreened run (same candidate index, same draw).
    merged = screened.parameters.merge(full.parameters, on="individual", suffixes=("", "_all"))
    assert np.allclose(merged["virus_infectivity"], merged["virus_infectivity_all"])


def test_population_refuses_bad_input():
    with pytest.raises(InputError, match="n = 0"):
        simulate_population("influenza", n=0)
    with pytest.raises(InputError, match="output_days"):
        simulate_population("influenza", n=2, output_days=[-1, 5])
    with pytest.raises(ValueError, match="il6_peak_range"):
        PhysiologicalEnvelope(il6_peak_range=(500.0, 100.0))
    with pytest.raises(InputError, match="acceptance"):
        simulate_population("influenza", n=5, output_days=[0, 28], max_candidates=10,
                            envelope=PhysiologicalEnvelope(il6_peak_range=(1e4, 2e4)))


def test_the_array_form_gives_the_same_individuals_bit_for_bit():
    """``simulate_columns`` (one shared schedule, per-individual amounts) is ``simulate`` without the dicts."""
    experiment = load_experiment("anti_cd4_influenza")
    draws = draw_individuals(load_parameter_table("mouse"), experiment.virus_kind, 24, seed=5)
    setups = [animal_setup(experiment, p) for p in draws]
    solver = FastSolver()
    days, out = 40.0, np.array([0.0, 9.0, 28.0, 40.0])
    by_dict = solver.simulate([s[0] for s in setups], [s[1] for s in setups], [s[2] for s in setups], days, out)
    columns = {k: np.array([s[0][k] for s in setups]) for k in setups[0][0]}
    columns.update({k: np.array([s[1][k] for s in setups]) for k in setups[0][1]})
    events = [Event(day=e.day, controls=e.controls,
                    state_increments={k: np.array([s[2][j].state_increments[k] for s in setups])
                                      for k in e.state_increments})
              for j, e in enumerate(setups[0][2])]
    by_columns = solver.simulate_columns(columns, len(setups), events, days, out)
    assert np.array_equal(by_dict.states, by_columns.states)
    assert np.array_equal(by_dict.readouts["dcc_count"], by_columns.readouts["dcc_count"])
    with pytest.raises(KeyError, match="missing parameter value"):
        solver.simulate_columns({k: v for k, v in columns.items() if k != "virus_clearance"}, len(setups), events,
                                days, out)
    with pytest.raises(ValueError, match="outside the run"):
        solver.simulate_columns(columns, len(setups), [Event(day=days)], days, out)


@pytest.mark.parametrize("seed, start", [(0, 0), (7, 1000), (2**32 - 1, 2**32 - 3), (2**40 + 5, 12)])
def test_compiled_streams_are_numpys_draw_for_draw(seed, start):
    """``seeded_normals`` replays ``default_rng(SeedSequence([seed, i])).standard_normal`` exactly,
    across the 32-bit word boundaries of the seed and of the index."""
    from awaken.lung.seeded_normals import seeded_normals

    z = seeded_normals(seed, start, 40, 300)
    for k in range(40):
        expected = np.random.default_rng(np.random.SeedSequence([seed, start + k])).standard_normal(300)
        assert np.array_equal(z[k], expected), f"individual {start + k}"


def test_a_batch_of_columns_is_the_same_individuals_as_draw_individuals():
    """The population's column-wise draws are the mouse experiments' draws, bit for bit: with
    overrides, without variability, and where the range rejects candidates (narrowed ranges)."""
    from awaken.lung.parameters import draw_columns

    table = load_parameter_table("mouse")
    narrowed = table.model_copy(update={"host": [p.model_copy(update={"range": (p.value * 0.9, p.value * 1.1)})
                                                 if p.cv > 0 else p for p in table.host]})
    cases = [(table, "influenza_a_pr8", 11, 0, {}, True), (table, "sars_cov_2_ma10", 3, 500, {"il6_clearance": 2.0}, True),
             (table, "influenza_a_pr8", 4, 0, {"il6_clearance": 2.0}, False), (narrowed, "influenza_a_pr8", 9, 20, {}, True)]
    for which, virus, seed, start, overrides, variability in cases:
        expected = draw_individuals(which, virus, 300, seed, overrides, variability=variability, start=start)
        columns = draw_columns(which, virus, 300, seed, overrides, variability=variability, start=start)
        assert list(columns) == list(expected[0])
        for name, values in columns.items():
            assert np.array_equal(values, [individual[name] for individual in expected]), name


def test_a_streamed_population_is_the_one_kept_in_memory(tmp_path):
    """Written batch by batch to Parquet, with any batch size and thread count: the same tables, bit for bit."""
    from awaken.api.population import simulate_population as simulate_to_disk

    kept = simulate_population("influenza", n=90, seed=6, output_days=[0, 9, 28], envelope=PhysiologicalEnvelope(),
                               batch_size=37)
    streamed = simulate_to_disk("influenza", n=90, seed=6, output_days=[0, 9, 28], threads=1, out=tmp_path / "pop")
    assert streamed.stored == tmp_path / "pop" and not streamed.tables  # nothing held until asked for
    for name in ("readouts", "parameters"):
        on_disk = pd.read_parquet(tmp_path / "pop" / f"{name}.parquet")
        pd.testing.assert_frame_equal(on_disk, getattr(kept, name), check_exact=True)
        pd.testing.assert_frame_equal(getattr(streamed, name), on_disk, check_exact=True)
    assert (streamed.candidates, streamed.steps_mean) == (kept.candidates, kept.steps_mean)
    assert kept.readouts["individual"].is_monotonic_increasing


def test_a_screen_stores_less_and_the_same_numbers():
    """``screen_columns``: every state on the full days, the picked read-outs on every day, bit for bit
    what ``simulate_columns`` gives on the whole grid."""
    from awaken.lung.parameters import draw_columns

    experiment = load_experiment("influenza")
    params, controls, events = animal_setup(experiment, draw_columns(load_parameter_table("mouse"),
                                                                     experiment.virus_kind, 40, seed=2))
    grid = np.arange(0.0, 30.25, 0.25)
    full_days = np.isin(grid, [0.0, 9.0, 28.0])
    solver = FastSolver()
    everything = solver.simulate_columns({**params, **controls}, 40, events, 30.0, grid)
    kept, picked = solver.screen_columns({**params, **controls}, 40, events, 30.0, grid, full_days,
                                         ["virus_titer", "il6_pg_per_ml"])
    assert np.array_equal(kept.states, everything.states[:, full_days]) and kept.days.tolist() == [0.0, 9.0, 28.0]
    for name in picked:
        assert np.array_equal(picked[name], everything.readouts[name])
    with pytest.raises(ValueError, match="states can be picked"):
        solver.screen_columns({**params, **controls}, 40, events, 30.0, grid, full_days, ["dcc_count"])
