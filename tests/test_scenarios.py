"""Scenario files: valid ones load (YAML and TOML alike), invalid ones are explained."""

from __future__ import annotations

import pytest

from awaken.errors import InputError
from awaken.experiments.catalogue import list_experiments, load_experiment
from awaken.experiments.protocol import Experiment
from awaken.schemas import load_model, validate
from awaken.solvers.schedule import schedule

REQUIRED = ("pbs", "influenza", "sars_cov_2", "il6_ko_pbs", "il6_ko_influenza", "neutrophil_depleted_influenza",
            "igg_influenza", "anti_cd4_influenza", "anti_cd8_influenza")


def invalid(data: dict) -> str:
    with pytest.raises(InputError) as err:
        validate(data, Experiment, source="test.yaml")
    return str(err.value)


def test_the_study_experiments_are_shipped_and_run_a_year():
    assert set(REQUIRED) <= set(list_experiments())
    for name in list_experiments():
        scenario = load_experiment(name)
        assert scenario.days >= 365 and scenario.mice == 4, name


def test_anti_cd4_and_igg_start_at_day_9():
    for name, kind in (("anti_cd4_influenza", "anti_cd4"), ("igg_influenza", "isotype_igg")):
        (treatment,) = load_experiment(name).treatments
        assert (treatment.kind, treatment.start_day) == (kind, 9)


def test_schedule_switches_antibodies_on_and_off():
    scenario = load_experiment("anti_cd4_influenza")
    controls, events = schedule(scenario, {"inoculum_infectivity": 1.0})
    assert controls["anti_cd4_on"] == 0
    by_day = {e.day: e for e in events}
    assert by_day[0].state_increments == {"infected_eclipse": 75.0}
    assert by_day[9].controls == {"anti_cd4_on": 1.0}
    assert by_day[28].controls == {"anti_cd4_on": 0.0}


@pytest.mark.parametrize("order", [(0, 1), (1, 0)])
def test_back_to_back_courses_leave_the_antibody_on_whatever_their_order(order):
    courses = [{"kind": "anti_cd4", "start_day": 0, "end_day": 20}, {"kind": "anti_cd4", "start_day": 20}]
    scenario = validate({"name": "x", "days": 60, "treatments": [courses[i] for i in order]},
                                 Experiment, source="test.yaml")
    controls, events = schedule(scenario, {"inoculum_infectivity": 1.0})
    state = dict(controls)
    for event in sorted(events, key=lambda e: e.day):  # stable: same-day events keep their order
        state.update(event.controls)
    assert state["anti_cd4_on"] == 1.0


def test_yaml_and_toml_give_the_same_scenario(tmp_path):
    (tmp_path / "s.yaml").write_text(
        "name: demo\nvirus: {kind: influenza_a_pr8, dose: 100}\ntreatments:\n  - {kind: anti_cd4, start_day: 9}\n"
        "parameters: {il6_clearance: 20}\ndays: 60\n")
    (tmp_path / "s.toml").write_text(
        'name = "demo"\ndays = 60\n[virus]\nkind = "influenza_a_pr8"\ndose = 100\n[parameters]\nil6_clearance = 20\n'
        '[[treatments]]\nkind = "anti_cd4"\nstart_day = 9\n')
    yaml_scenario = load_model(tmp_path / "s.yaml", Experiment)
    toml_scenario = load_model(tmp_path / "s.toml", Experiment)
    assert yaml_scenario == toml_scenario
    assert yaml_scenario.sha256() == toml_scenario.sha256()


def test_unknown_key_is_refused_by_name():
    message = invalid({"name": "x", "virus": {"kind": "influenza_a_pr8", "doze": 10}})
    assert "virus.doze: unknown key" in message


def test_negative_dose_names_field_value_and_range():
    message = invalid({"name": "x", "virus": {"kind": "influenza_a_pr8", "dose": -5}})
    assert "virus.dose = -5" in message and "> 0" in message and "<= 1e+07" in message


def test_unknown_virus_lists_the_choices():
    message = invalid({"name": "x", "virus": {"kind": "ebola"}})
    assert "virus.kind = \"ebola\"" in message and "influenza_a_pr8" in message and "sars_cov_2_ma10" in message


@pytest.mark.parametrize("days", [0, -3, 4000])
def test_days_out_of_range(days):
    message = invalid({"name": "x", "days": days})
    assert f"days = {days}" in message and ">= 1" in message and "<= 3650 d" in message


def test_treatment_must_end_after_it_starts():
    message = invalid({"name": "x", "treatments": [{"kind": "anti_cd4", "start_day": 9, "end_day": 5}]})
    assert "treatments.0" in message and "end_day (5) must be after start_day (9)" in message


def test_overlapping_courses_of_one_antibody_are_refused():
    message = invalid({"name": "x", "days": 60, "treatments": [
        {"kind": "anti_cd4", "start_day": 0, "end_day": 20}, {"kind": "anti_cd4", "start_day": 10}]})
    assert "treatments.0 and treatments.1 are overlapping courses of anti_cd4" in message
    # Back-to-back courses, or different antibodies at once, are fine.
    validate({"name": "x", "days": 60, "treatments": [
        {"kind": "anti_cd4", "start_day": 0, "end_day": 20}, {"kind": "anti_cd4", "start_day": 20},
        {"kind": "anti_cd8", "start_day": 5, "end_day": 30}]}, Experiment, source="ok.yaml")


def test_parameter_override_must_exist_and_sit_in_its_range():
    message = invalid({"name": "x", "parameters": {"il6_clearance": 1000, "warp_speed": 1}})
    assert "il6_clearance = 1000: must be >= 5 and <= 80 1/d" in message
    assert "'warp_speed' is not a parameter" in message


@pytest.mark.parametrize("day", [30, 40])
def test_infection_at_or_after_the_end_of_the_run_is_refused(day):
    message = invalid({"name": "x", "days": 30, "virus": {"kind": "influenza_a_pr8", "day": day}})
    assert f"virus.day ({day}) must be before the end of the run (days = 30)" in message


def test_treatment_starting_at_the_end_of_the_run_is_refused():
    message = invalid({"name": "x", "days": 30, "treatments": [{"kind": "anti_cd4", "start_day": 30}]})
    assert "treatments.0.start_day (30) must be before the end of the run" in message


def test_every_problem_is_listed_at_once():
    message = invalid({"name": "X Y", "mice": 0, "colour": "red"})
    assert message.count("\n  - ") == 3


def test_unparseable_and_unknown_formats(tmp_path):
    (tmp_path / "bad.yaml").write_text("name: [unclosed\n")
    with pytest.raises(InputError, match="cannot parse"):
        load_model(tmp_path / "bad.yaml", Experiment)
    (tmp_path / "s.json").write_text("{}")
    with pytest.raises(InputError, match="unknown file format"):
        load_model(tmp_path / "s.json", Experiment)
    with pytest.raises(InputError, match="no such file"):
        load_model(tmp_path / "missing.yaml", Experiment)
