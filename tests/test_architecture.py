"""The house rules: layers that data flows through one way, and engines that keep one result contract."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from awaken.experiments.catalogue import load_experiment, with_overrides
from awaken.experiments.results import READOUTS, TIMECOURSE_COLUMNS, ExperimentResult, check_result

ROOT = Path(__file__).resolve().parents[1]


def test_the_import_contracts_hold():
    """pyproject.toml's import-linter contracts: no layer imports one above it, the CLI reaches the
    science only through awaken.api, the protocol knows no engine, the runs layer knows no science."""
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_an_upward_import_breaks_the_layers_contract(tmp_path):
    """The contract is not vacuous: a lower layer importing a higher one is reported."""
    config = (ROOT / "pyproject.toml").read_text()
    start = config.index("[tool.importlinter]")
    layers = config[start:config.index("[[tool.importlinter.contracts]]", config.index('id = "layers"'))]
    contract = layers + '\n[[tool.importlinter.contracts]]\nid = "probe"\nname = "probe"\ntype = "layers"\n' \
                        'layers = ["awaken.report", "awaken.lung"]\n'
    (tmp_path / "probe.toml").write_text(contract)
    lint = Path(sys.executable).with_name("lint-imports")
    kept = subprocess.run([str(lint), "--no-cache", str(tmp_path / "probe.toml")], cwd=ROOT, capture_output=True,
                          text=True)
    assert kept.returncode == 0, kept.stdout  # report above lung: kept
    reversed_contract = contract.replace('["awaken.report", "awaken.lung"]', '["awaken.lung", "awaken.report"]')
    (tmp_path / "probe.toml").write_text(reversed_contract)
    broken = subprocess.run([str(lint), "--no-cache", str(tmp_path / "probe.toml")], cwd=ROOT, capture_output=True,
                            text=True)
    assert broken.returncode != 0 and "awaken.report" in broken.stdout


@pytest.fixture(scope="module")
def engine_results():
    from awaken.solvers.batch import run_group_fast, run_typical
    from awaken.solvers.reference import run_group

    experiment = with_overrides(load_experiment("influenza"), days=20, mice=3, seed=4)
    from awaken.tissue.engine import run_group_tissue

    [typical] = run_typical([experiment], [{}], days=20)
    return {"reference": run_group(experiment), "fast": run_group_fast(experiment), "typical": typical["influenza"],
            "tissue": run_group_tissue(experiment, inline=True, movie=False)}


@pytest.mark.parametrize("engine", ["reference", "fast", "typical", "tissue"])
def test_every_engine_keeps_the_result_contract(engine_results, engine):
    result = check_result(engine_results[engine])
    assert isinstance(result, ExperimentResult)
    assert list(result.timecourse.columns) == list(TIMECOURSE_COLUMNS)
    assert set(READOUTS) <= set(result.per_mouse.columns)
    np.testing.assert_array_equal(result.days, np.arange(21.0))
    assert result.values_at(9, "dcc_count").size == result.per_mouse["mouse"].nunique()
    assert result.at(9, "dcc_count") == pytest.approx(result.values_at(9, "dcc_count").mean())


def test_the_fast_engine_runs_the_reference_engines_animals(engine_results):
    """Same draws for the same seed; the read-outs agree to the fast solver's tolerance."""
    reference, fast = engine_results["reference"], engine_results["fast"]
    assert reference.parameters.equals(fast.parameters)
    a, b = reference.per_mouse["dcc_count"].to_numpy(), fast.per_mouse["dcc_count"].to_numpy()
    assert np.max(np.abs(b / a - 1)) < 1e-4


def test_a_result_that_breaks_the_contract_is_refused(engine_results):
    from awaken.experiments.results import GroupResult

    good = engine_results["reference"]
    broken = GroupResult(experiment=good.experiment, per_mouse=good.per_mouse.drop(columns=["il6_pg_per_ml"]),
                         parameters=good.parameters)
    with pytest.raises(TypeError, match="il6_pg_per_ml"):
        check_result(broken)
    with pytest.raises(TypeError, match="not an ExperimentResult"):
        check_result(object())


def test_the_readouts_are_the_lung_models_with_units():
    from awaken.lung.equations import READOUTS as MODEL

    assert set(TIMECOURSE_COLUMNS[1:]) == set(READOUTS) == set(MODEL)
    assert all(READOUTS[name].unit == unit for name, (unit, _) in MODEL.items())


def test_the_engines_named_in_the_settings_are_the_engines_that_exist():
    from typing import get_args

    from awaken.api.experiments import ENGINES
    from awaken.api.settings import ReproduceSettings

    assert set(get_args(ReproduceSettings.model_fields["engine"].annotation)) == set(ENGINES)
