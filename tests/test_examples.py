"""Every example in examples/ runs as a user would run it, so the examples never rot."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from awaken.cli import app

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run(script: str, *args: str) -> str:
    result = subprocess.run([sys.executable, str(EXAMPLES / script), *args], capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_every_example_is_run_by_a_test():
    tested = {"virtual_experiment.py", "cohort_and_ukb.py", "population_duckdb.py", "my_experiment.yaml"}
    assert {p.name for p in EXAMPLES.iterdir() if p.suffix in (".py", ".yaml")} == tested
    readme = (EXAMPLES / "README.md").read_text()
    assert all(f"`{name}`" in readme for name in tested)


def test_virtual_experiment_runs_two_engines_and_plots(tmp_path):
    out = run("virtual_experiment.py", str(tmp_path))
    assert (tmp_path / "anti_cd4.png").stat().st_size > 10_000
    ratio = float(out.split("anti-CD4 / IgG: ")[1].split()[0])
    assert ratio < 0.5  # target M8: CD4 depletion lowers the 28-dpi burden


def test_cohort_and_ukb_finds_the_excess_only_with_the_mechanism(tmp_path):
    out = run("cohort_and_ukb.py", str(tmp_path), "40000")
    lines = {line.split(":")[0].strip(): line for line in out.splitlines()}
    with_mechanism = float(lines["mechanism"].split("adjusted OR ")[1].split()[0])
    without = float(lines["no_mechanism"].split("adjusted OR ")[1].split()[0])
    assert with_mechanism > without
    assert (tmp_path / "cohort_mechanism" / "run.json").is_file()


@pytest.mark.parametrize("path", sorted((EXAMPLES / "cohort").glob("*.yaml")), ids=lambda p: p.name)
def test_every_cohort_scenario_example_is_valid_and_simulates(path):
    from awaken.cohort.parameters import CohortScenario
    from awaken.cohort.simulate import simulate_block
    from awaken.schemas import load_model

    scenario = load_model(path, CohortScenario)
    assert scenario.name == path.stem
    tables = simulate_block(scenario, 1, 0, 500)
    assert tables["patients"].num_rows == 500


def test_the_causal_world_is_the_all_mechanisms_posterior_median():
    """The example's values are the joint calibration's posterior medians for every mechanism together
    (docs/analyses.md), so the causal world it describes is one the human data still accept."""
    import yaml

    values = yaml.safe_load((EXAMPLES / "cohort" / "causal_world.yaml").read_text())["parameters"]
    assert set(values) == {"awakening_strength", "occult_acceleration", "metastatic_acceleration",
                           "care_testing_factor", "covid_death_certified_cancer"}
    text = (EXAMPLES.parent / "docs" / "analyses.md").read_text()
    row = next(line for line in text.splitlines() if line.startswith("| all |"))
    for value in values.values():
        assert f"{value:g}" in row


def test_population_duckdb_queries_the_parquet_in_place(tmp_path):
    out = run("population_duckdb.py", str(tmp_path))
    assert "2000 accepted" in out and "DCC fold change at 15 dpi" in out
    assert (tmp_path / "population" / "readouts.parquet").is_file()


@pytest.mark.parametrize("command", [["validate"], ["experiment", "run"]])
def test_my_experiment_file_validates_and_runs(tmp_path, command):
    args = [*command, str(EXAMPLES / "my_experiment.yaml")]
    if command[0] == "experiment":
        args += ["--days", "20", "--mice", "2", "--engine", "fast", "--out", str(tmp_path / "run")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
