"""The command line: every command, its help, and bad input (exit 2, nothing written)."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from awaken.cli import app

runner = CliRunner()

COMMANDS = (["reproduce"], ["experiment", "list"], ["experiment", "run"], ["targets"], ["validate"], ["parameters"],
            ["export", "sbml"], ["export", "petab"], ["export", "omex"], ["population"], ["fit"])


def invoke(*args: str):
    return runner.invoke(app, list(args))


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c))
def test_every_command_has_help(command):
    result = invoke(*command, "--help")
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


@pytest.mark.parametrize("command", [["reproduce"], ["experiment", "run"], ["targets"]], ids=lambda c: " ".join(c))
def test_help_gives_units(command):
    output = invoke(*command, "--help").output
    assert "[d]" in output and "[mice]" in output


def test_experiment_list_names_every_experiment():
    result = invoke("experiment", "list", "--format", "json")
    assert result.exit_code == 0
    names = {e["name"] for e in json.loads(result.stdout)}
    assert {"pbs", "influenza", "sars_cov_2", "anti_cd4_influenza"} <= names


def test_experiment_run_writes_a_run_directory(tmp_path):
    out = tmp_path / "run"
    result = invoke("experiment", "run", "influenza", "--days", "30", "--mice", "2", "--seed", "3", "--out", str(out))
    assert result.exit_code == 0, result.output
    for relative in ("run.json", "report.html", "tables/timecourse.parquet", "tables/per_mouse.parquet",
                     "tables/parameters.parquet", "figures/overview.png", "figures/overview.svg"):
        assert (out / relative).is_file(), relative
    timecourse = pq.read_table(out / "tables/timecourse.parquet").to_pandas()
    assert list(timecourse["day"]) == list(range(31))
    provenance = json.loads((out / "run.json").read_text())
    assert provenance["seed"] == 3 and provenance["scenarios"][0]["scenario"]["days"] == 30
    assert {"awaken_version", "git", "command", "started", "finished", "dependencies"} <= set(provenance)
    assert not list(tmp_path.glob(".*partial*"))


def test_scenario_file_runs_and_validates(tmp_path):
    scenario = tmp_path / "mine.toml"
    scenario.write_text('name = "mine"\ndays = 20\nmice = 1\n[virus]\nkind = "sars_cov_2_ma10"\n')
    assert invoke("validate", str(scenario)).exit_code == 0
    result = invoke("experiment", "run", str(scenario), "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "report.html").is_file()


@pytest.mark.parametrize(
    "content, expected",
    [
        ("name: x\ncolour: red\n", "colour: unknown key"),
        ("name: x\nvirus: {kind: influenza_a_pr8, dose: -1}\n", "virus.dose = -1"),
        ("name: x\nvirus: {kind: measles}\n", "virus.kind = \"measles\""),
        ("name: x\ndays: 99999\n", "days = 99999"),
    ],
)
def test_bad_scenario_exits_2_with_a_clear_message_and_writes_nothing(tmp_path, content, expected):
    scenario = tmp_path / "bad.yaml"
    scenario.write_text(content)
    out = tmp_path / "out"
    for args in (["validate", str(scenario)], ["experiment", "run", str(scenario), "--out", str(out)]):
        result = invoke(*args)
        assert result.exit_code == 2, result.output
        assert expected in result.output
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml"]


@pytest.mark.parametrize("args, expected", [(["--days", "0"], "--days = 0: must be >= 1 and <= 3650 d"),
                                            (["--days", "5000"], "--days = 5000: must be >= 1 and <= 3650 d"),
                                            (["--mice", "0"], "--mice = 0: must be >= 1 and <= 1000 mice"),
                                            (["--seed", "-1"], "--seed = -1: must be >= 0 and <= 4294967295")])
def test_bad_options_exit_2_name_the_flag_and_write_nothing(tmp_path, args, expected):
    out = tmp_path / "out"
    result = invoke("experiment", "run", "pbs", *args, "--out", str(out))
    assert result.exit_code == 2
    assert result.output.startswith(f"error: {expected}")
    assert not out.exists()


def test_unknown_experiment_exits_2(tmp_path):
    result = invoke("experiment", "run", "flu", "--out", str(tmp_path / "o"))
    assert result.exit_code == 2 and '"flu": unknown experiment' in result.output
    assert not (tmp_path / "o").exists()


def test_existing_output_directory_is_refused_before_work(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    for overwrite in ([], ["--overwrite"]):
        result = invoke("experiment", "run", "pbs", "--days", "10", "--out", str(out), *overwrite)
        assert result.exit_code == 2 and "not an awaken run" in " ".join(result.output.split())
        assert (out / "keep.txt").read_text() == "mine"


def test_parameters_table_lists_units_and_sources():
    result = invoke("parameters", "--format", "json")
    rows = json.loads(result.stdout)
    assert all(r["unit"] and r["source"] and len(r["range"]) == 2 for r in rows)
    assert invoke("parameters", "--virus", "zika").exit_code == 2


def test_targets_reads_a_stored_scorecard(tmp_path):
    (tmp_path / "scorecard.json").write_text(json.dumps([{
        "id": "M1_mock_dormant", "observation": "o", "measure": "m", "band": [0.7, 1.5], "band_from": "ours",
        "source": "P", "simulated": 1.0, "passed": True, "note": "", "parts": {}}]))
    result = invoke("targets", "--run", str(tmp_path), "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)[0]["passed"] is True
    assert invoke("targets", "--run", str(tmp_path / "nope")).exit_code == 2


@pytest.mark.slow
def test_targets_json_shows_every_mouse_target_passed():
    result = invoke("targets", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    mouse = [r for r in rows if r["id"].startswith("M")]
    assert len(mouse) == 11
    assert all(set(r) >= {"id", "measure", "band", "simulated", "passed"} for r in rows)
    assert [r["id"] for r in mouse if r["passed"] is not True] == []


def test_export_sbml_writes_a_valid_document(tmp_path):
    import libsbml

    target = tmp_path / "lung.xml"
    result = invoke("export", "sbml", str(target), "--experiment", "anti_cd4_influenza")
    assert result.exit_code == 0, result.output
    document = libsbml.readSBMLFromFile(str(target))
    assert document.getNumErrors(libsbml.LIBSBML_SEV_ERROR) == 0
    assert document.getModel().getNumEvents() == 3  # infection, anti-CD4 on, anti-CD4 off
    again = invoke("export", "sbml", str(target))
    assert again.exit_code == 2 and "already exists" in " ".join(again.output.split())
    assert not list(tmp_path.glob(".*tmp"))


def test_population_writes_parquet_and_acceptance(tmp_path):
    out = tmp_path / "pop"
    result = invoke("population", "--experiment", "influenza", "--n", "12", "--seed", "3", "--output-days", "0,9,28",
                    "--out", str(out))
    assert result.exit_code == 0, result.output
    readouts = pq.read_table(out / "readouts.parquet").to_pandas()
    assert readouts["individual"].nunique() == 12 and sorted(readouts["day"].unique()) == [0.0, 9.0, 28.0]
    summary = json.loads((out / "population.json").read_text())
    assert summary["n"] == 12 and 0 < summary["acceptance_rate"] <= 1


@pytest.mark.parametrize("args, expected", [
    (["--output-days", "0,abc"], "--output-days"),
    (["--output-days", "0,99999"], "--output-days"),
    (["--experiment", "measles"], "unknown experiment"),
])
def test_population_bad_input_exits_2_and_writes_nothing(tmp_path, args, expected):
    out = tmp_path / "pop"
    result = invoke("population", "--n", "3", "--out", str(out), *args)
    assert result.exit_code == 2, result.output
    assert expected in " ".join(result.output.split())
    assert not out.exists() and not list(tmp_path.glob(".*partial*"))


def test_export_petab_and_omex_write_what_they_say(tmp_path):
    result = invoke("export", "petab", str(tmp_path / "petab"))
    assert result.exit_code == 0, result.output
    assert {p.name for p in (tmp_path / "petab").iterdir()} == {
        "problem.yaml", "model.xml", "conditions.tsv", "observables.tsv", "measurements.tsv", "parameters.tsv",
        "run.json"}
    again = invoke("export", "petab", str(tmp_path / "petab"))
    assert again.exit_code == 2 and "already holds an awaken run" in " ".join(again.output.split())
    result = invoke("export", "omex", str(tmp_path / "omex"), "--experiment", "pbs", "--experiment", "influenza",
                    "--days", "30")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "omex").iterdir()) == ["influenza.omex", "pbs.omex"]


@pytest.mark.parametrize("args, expected", [
    (["--walkers", "7"], "walkers"),
    (["--walkers", "20"], "walkers"),
    (["--profile", "not_a_parameter"], "profiles"),
    (["--starts", "0"], "--starts"),
])
def test_fit_bad_input_exits_2_and_writes_nothing(tmp_path, args, expected):
    out = tmp_path / "fit"
    result = invoke("fit", "--out", str(out), *args)
    assert result.exit_code == 2, result.output
    assert expected in " ".join(result.output.split())
    assert not out.exists() and not list(tmp_path.glob(".*partial*"))
