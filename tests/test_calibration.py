"""The calibration layer: likelihood from the target bands, PEtab export, fitting, ensemble."""

from __future__ import annotations

import math
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from awaken.calibration.likelihood import (
    OPEN_EDGE_SIGMA,
    Z95,
    calibration_data,
    calibration_days,
    calibration_experiments,
    negative_log_likelihood,
    noise_model,
)
from awaken.calibration.petab_problem import CONTROL_SIGMA, observable_id, write_petab
from awaken.errors import InputError
from awaken.lung.parameters import fitted_parameters
from awaken.scorecard import MEASURES, Level, Ratio, in_band, score
from awaken.solvers.batch import run_typical
from awaken.solvers.reference import PREEQUILIBRATION_DAYS
from awaken.targets import load_targets


def _targets() -> dict[str, dict]:
    return {t["id"]: t for t in load_targets()["mouse"]}


@pytest.fixture(scope="module")
def nominal_runs():
    [runs] = run_typical(calibration_experiments(), [{}], days=max(calibration_days()), output_days=calibration_days())
    return runs


def test_every_band_of_a_time_point_measure_is_in_the_likelihood():
    data = {d.id for d in calibration_data()}
    for target_id in _targets():
        measure = MEASURES[target_id]
        if measure.kind in ("ratio", "level"):
            assert target_id in data
        elif measure.kind == "parts":
            assert {f"{target_id}__{p}" for p in measure.parts} <= data
        else:  # peak day, curve maximum: scorecard only
            assert not any(d.startswith(target_id) for d in data)


def test_closed_bands_are_95_percent_intervals_and_open_bands_are_censored():
    for datum in calibration_data():
        lo, hi = datum.noise.edges()
        band_lo, band_hi = datum.band
        if datum.noise.kind == "normal":
            assert lo == pytest.approx(band_lo) and hi == pytest.approx(band_hi)
            # the cost at an edge is z^2/2 with z = 1.96
            assert datum.noise.cost(band_lo) == pytest.approx(Z95 ** 2 / 2)
        else:
            edge = lo if datum.noise.kind == "at_least" else hi
            assert edge in (band_lo, band_hi)
            assert datum.noise.cost(edge) == pytest.approx(math.log(2))
            deep_inside = edge * (10 if datum.noise.kind == "at_least" else 0.1) if datum.noise.scale == "log10" \
                else edge + (0.3 if datum.noise.kind == "at_least" else -0.3)
            assert datum.noise.cost(deep_inside) < 1e-3


def test_a_band_over_the_whole_natural_range_constrains_nothing():
    assert noise_model(Ratio("dcc_count", "a", "b", 1), [0, math.inf]) is None
    assert noise_model(Level("hybrid_fraction", "a", 1), [0, 1]) is None
    assert noise_model(Level("hybrid_fraction", "a", 1), [0.2, 1]).kind == "at_least"
    assert noise_model(Ratio("dcc_count", "a", "b", 1), [0, 3]).sigma == OPEN_EDGE_SIGMA["log10"]


def test_the_physiological_prior_bounds_growth_that_open_bands_allow():
    from types import SimpleNamespace

    from awaken.calibration.likelihood import (
        WHOLE_LUNG_DCC_CEILING,
        physiological_prior_cost,
    )

    def runs(largest):  # stand-ins for results: the prior reads the contract's series("dcc_total") only
        return {"a": SimpleNamespace(series={"dcc_total": np.array([2000.0, largest])}.get),
                "b": SimpleNamespace(series={"dcc_total": np.array([2000.0, 2000.0])}.get)}

    assert physiological_prior_cost(runs(WHOLE_LUNG_DCC_CEILING / 100)) < 1e-6
    assert physiological_prior_cost(runs(WHOLE_LUNG_DCC_CEILING)) == pytest.approx(math.log(2))
    assert physiological_prior_cost(runs(WHOLE_LUNG_DCC_CEILING * 10)) > 8  # 4 sigma outside


def test_the_shipped_values_sit_inside_every_band_and_cost_little(nominal_runs):
    costs = negative_log_likelihood(nominal_runs, per_datum=True)
    for datum in calibration_data():
        value = datum.measure(nominal_runs)
        assert in_band(value, list(datum.band)), datum.id
        assert costs[datum.id] < Z95 ** 2 / 2, datum.id


def test_the_fast_typical_mouse_scores_like_the_reference_solver():
    """TypicalResult answers the scorecard's measures; the flagship's measures on the typical mouse agree."""
    from awaken.experiments.catalogue import load_experiment, with_overrides
    from awaken.scorecard import REQUIRED_EXPERIMENTS
    from awaken.solvers.reference import run_group

    [fast] = run_typical(REQUIRED_EXPERIMENTS, [{}], days=28)
    reference = {n: run_group(with_overrides(load_experiment(n), days=28, mice=1, variability=False))
                 for n in REQUIRED_EXPERIMENTS}
    for a, b in zip(score(fast), score(reference)):
        assert a.passed == b.passed, a.id
        if isinstance(a.simulated, float) and a.id != "M11_local_awakening":
            assert a.simulated == pytest.approx(b.simulated, rel=1e-3), a.id


@pytest.fixture(scope="module")
def petab_dir(tmp_path_factory) -> Path:
    return write_petab(tmp_path_factory.mktemp("petab") / "problem").parent


def test_petablint_passes(petab_dir):
    petablint = Path(sys.executable).with_name("petablint")
    done = subprocess.run([str(petablint), str(petab_dir / "problem.yaml")], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_measurements_are_sorted_by_condition_and_parameters_are_the_tuned_ones(petab_dir):
    measurements = pd.read_csv(petab_dir / "measurements.tsv", sep="\t")
    conditions = measurements["simulationConditionId"].tolist()
    assert conditions == sorted(conditions)
    parameters = pd.read_csv(petab_dir / "parameters.tsv", sep="\t")
    estimated = parameters[~parameters["parameterId"].str.startswith("scale_")]
    assert estimated["parameterId"].tolist() == [p.name for p in fitted_parameters()]
    assert (estimated["lowerBound"] < estimated["nominalValue"]).all()
    assert (estimated["nominalValue"] < estimated["upperBound"]).all()
    censored = measurements[measurements["measurementType"].isin(["left-censored", "right-censored"])]
    assert len(censored) == sum(d.noise.kind != "normal" for d in calibration_data())


def test_pypesto_and_roadrunner_simulate_the_petab_problem_like_awaken(petab_dir, nominal_runs):
    """The PEtab problem, simulated by pyPESTO's libRoadRunner importer, gives every fold change and
    fraction that awaken's fast solver gives (scaling factors cancel in treated / control)."""
    import petab.v1 as petab
    from pypesto.objective.roadrunner import PetabImporterRR

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        importer = PetabImporterRR(petab.Problem.from_yaml(str(petab_dir / "problem.yaml")))
    objective = importer.create_objective()
    x = importer.petab_problem.x_nominal_free_scaled
    simulations = objective(np.asarray(x), return_dict=True)["simulation_results"]

    def simulated(observable: str, condition: str, day: float) -> float:
        table = simulations[condition]
        row = int(np.flatnonzero(np.isclose(table["time"], PREEQUILIBRATION_DAYS + day))[0])
        return float(table[observable][row])

    for datum in calibration_data():
        m = datum.measure
        ours = m(nominal_runs)
        if isinstance(m, Ratio):
            theirs = (simulated(observable_id(datum), m.treated, m.day)
                      / simulated(observable_id(datum, control=True), m.control, m.reference_day))
        else:
            theirs = simulated(observable_id(datum), m.experiment, m.day)
        assert theirs == pytest.approx(ours, rel=1e-3, abs=1e-9), datum.id


def test_control_rows_leave_closed_bands_their_width(petab_dir):
    observables = pd.read_csv(petab_dir / "observables.tsv", sep="\t").set_index("observableId")
    for datum in calibration_data():
        if isinstance(datum.measure, Ratio) and datum.noise.kind == "normal":
            treated = float(observables.loc[observable_id(datum), "noiseFormula"])
            control = float(observables.loc[observable_id(datum, control=True), "noiseFormula"])
            assert control == CONTROL_SIGMA
            assert math.hypot(treated, control) == pytest.approx(datum.noise.sigma)


def test_a_petab_export_never_replaces_what_it_did_not_write(tmp_path):
    from awaken.api.export import export_petab

    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "notes.txt").write_text("mine")
    for overwrite in (False, True):
        with pytest.raises(InputError, match="not an awaken run"):
            export_petab(tmp_path / "p", overwrite=overwrite)
    assert (tmp_path / "p" / "notes.txt").read_text() == "mine"
    export_petab(tmp_path / "q")
    with pytest.raises(InputError, match="already holds an awaken run"):
        export_petab(tmp_path / "q")
    assert export_petab(tmp_path / "q", overwrite=True).problem == tmp_path / "q" / "problem.yaml"
