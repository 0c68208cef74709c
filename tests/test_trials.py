"""In-silico trials: drugs that reproduce their labels, a protocol that refuses what cannot be given,
the mouse window of opportunity, and paired arms that differ only where an intervention acts."""

from __future__ import annotations

import glob
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from awaken.errors import InputError
from awaken.experiments.protocol import Experiment
from awaken.pharmacology.drugs import Course, load_drug_table
from awaken.pharmacology.exposure import concentrations, drug_controls, target_effect
from awaken.targets import target

ROOT = Path(__file__).resolve().parents[1]


def _inside(value: float, band) -> bool:
    return band[0] <= value <= band[1]


# ---------------------------------------------------------------- the drugs against their labels
def test_tocilizumab_half_life_matches_the_label():
    drug = load_drug_table().drug("tocilizumab")
    times, c = concentrations(drug, Course(dose=10, route="iv"), np.zeros(1), 20.0)
    c1, c14 = np.interp([1.0, 14.0], times, c[0])
    half_life = 13.0 * math.log(2) / math.log(c1 / c14)
    assert _inside(half_life, target("PK1_tocilizumab_half_life")["band"]), half_life


def test_tocilizumab_steady_state_matches_the_label():
    drug = load_drug_table().drug("tocilizumab")
    times, c = concentrations(drug, Course(dose=8, route="iv", doses=6, interval_days=28), np.zeros(1), 168.0)
    last = times >= 140.0
    cmax, cmin = c[0, last].max(), c[0, last][-1]
    band = target("PK2_tocilizumab_steady_state")["band"]
    assert _inside(cmax, band[0]) and _inside(cmin, band[1]), (cmax, cmin)


def test_nirmatrelvir_day_5_exposure_matches_the_label():
    drug = load_drug_table().drug("nirmatrelvir_ritonavir")
    times, c = concentrations(drug, Course(dose=300, route="oral", doses=10, interval_days=0.5), np.zeros(1), 5.0)
    ninth = (times >= 4.0) & (times < 4.5)
    cmax, trough = c[0, ninth].max(), np.interp(4.5 - 1e-9, times, c[0])
    band = target("P3_nirmatrelvir_day5_exposure")["band"]
    assert _inside(cmax, band[0]) and _inside(trough, band[1]), (cmax, trough)


@pytest.mark.parametrize("name, target_id, dose, late_hours", [
    ("baricitinib", "P4_baricitinib_pstat3_time_course", 4.0, 24.0),
    ("ruxolitinib", "P5_ruxolitinib_pstat3_time_course", 15.0, 10.0)])
def test_jak_inhibition_peaks_early_and_fades_as_the_label_says(name, target_id, dose, late_hours):
    drug = load_drug_table().drug(name)
    times, c = concentrations(drug, Course(dose=dose, route="oral"), np.zeros(1), 2.0)
    ec50 = drug.value("ec50")
    inhibition = c[0] / (c[0] + ec50)
    peak_hours = 24 * times[inhibition.argmax()]
    late = np.interp(late_hours / 24, times, inhibition) / inhibition.max()
    band = target(target_id)["band"]
    assert _inside(peak_hours, band[0]) and _inside(late, band[1]), (peak_hours, late)


def test_il6_rises_while_its_signalling_stays_blocked_under_tocilizumab():
    from awaken.lung.parameters import load_parameter_table
    from awaken.solvers.fast import FastSolver
    from awaken.solvers.schedule import animal_setup, drug_events

    experiment = Experiment(name="uninfected", species="human", days=30, host={"strain": "mmtv_her2"})
    params, controls, events = animal_setup(experiment, load_parameter_table("human").nominal("sars_cov_2"))
    edges, drugs = drug_controls([("tocilizumab", Course(dose=8, route="iv"), np.zeros(1))], 1, 30.0)
    result = FastSolver().simulate([params], [controls], [events + drug_events(edges, drugs, 30.0)], 30.0,
                                   np.array([0.0, 7.0]))
    il6 = result.readouts["il6_pg_per_ml"][0]
    stat3 = result.states[0, :, result.states.shape[2] and FastSolver().model.index("stat3_activity")]
    band = target("P6_il6_rises_under_il6r_blockade")["band"]
    assert _inside(il6[1] / il6[0], band[0]), il6
    assert _inside(stat3[1] / stat3[0], band[1]), stat3


def test_a_washed_out_drug_leaves_every_control_exactly_zero():
    edges, controls = drug_controls([("nirmatrelvir_ritonavir", Course(dose=300, route="oral", doses=10,
                                                                          interval_days=0.5), np.zeros(3))], 3, 120.0)
    late = edges[:-1] >= 30.0
    assert all(float(np.abs(v[:, late]).max()) == 0.0 for v in controls.values())
    none = target_effect(load_drug_table().drug("tocilizumab"), Course(dose=8, route="iv"), np.array([np.inf]), edges)
    assert float(none.max()) == 0.0


# ---------------------------------------------------------------- the protocol
def test_tocilizumab_is_refused_in_a_mouse_because_it_does_not_block_mouse_il6r():
    with pytest.raises(ValueError, match="mr16_1"):
        Experiment(name="x", virus={"kind": "influenza_a_pr8"},
                   treatments=[{"kind": "drug", "drug": "tocilizumab", "dose": 8, "start_day": 0}])


def test_an_unknown_drug_or_route_is_refused_by_name():
    with pytest.raises(ValueError, match="drug"):
        Experiment(name="x", treatments=[{"kind": "drug", "drug": "aspirin", "dose": 1, "start_day": 0}])
    with pytest.raises(ValueError, match="route"):
        Experiment(name="x", treatments=[{"kind": "drug", "drug": "mr16_1", "dose": 1, "route": "oral",
                                          "start_day": 0}])


def test_a_dose_outside_the_doses_a_drug_was_given_at_is_refused_naming_the_range():
    from awaken.api.trials import drug_table
    from awaken.trials.design import Trial

    table = load_drug_table()
    for name, drug in table.drugs.items():
        low, high = drug.dose_range
        assert 0 < low <= drug.default.dose <= high and drug.dose_range_source, name
        row = next(r for r in drug_table(name) if r["block"] == "administration")
        assert row["range"] == [low, high] and row["unit"] == drug.dose_unit and row["source"]
    low, high = table.drug("tocilizumab").dose_range
    arm = {"name": "toc", "interventions": [{"kind": "drug_at_infection", "drug": "tocilizumab", "dose": high * 10}]}
    with pytest.raises(ValueError, match=rf"dose = {high * 10:g}: must be >= {low:g} and <= {high:g} mg/kg"):
        Trial(name="t", arms=[{"name": "control"}, arm])
    low, high = table.drug("mr16_1").dose_range
    with pytest.raises(ValueError, match=rf"dose = {high * 2:g}: must be >= {low:g} and <= {high:g} mg for mr16_1"):
        Experiment(name="x", treatments=[{"kind": "drug", "drug": "mr16_1", "dose": high * 2, "start_day": 0}])


def test_the_dose_table_in_the_docs_is_the_drug_table():
    import re

    text = (ROOT / "docs" / "trials.md").read_text(encoding="utf-8")
    rows = dict((name, (float(low), float(high), unit)) for name, low, high, unit in
                re.findall(r"^\| `(\w+)` \| ([\d.]+)-([\d.]+) (mg/kg|mg) \|", text, flags=re.M))
    drugs = load_drug_table().drugs
    assert rows == {name: (*d.dose_range, d.dose_unit) for name, d in drugs.items()}


# ---------------------------------------------------------------- the mouse window of opportunity
@pytest.fixture(scope="module")
def window():
    from awaken.trials.mouse import window_of_opportunity
    return window_of_opportunity(start_days=(0, 3, 9), read_days=(15, 28, 60), mice=4, members=5)


def test_il6r_blockade_works_best_the_earlier_it_starts(window):
    mr = window[(window["drug"] == "mr16_1") & (window["read_day"] == 28)].sort_values("start_day")
    assert mr["effect"].is_monotonic_increasing, mr
    # from 0 dpi it abolishes the awakening; from 9 dpi it does not
    assert mr["effect"].iloc[0] < 0.1 < mr["effect"].iloc[-1]


def test_window_bands_are_ordered_and_the_ensemble_agrees_on_the_direction(window):
    assert (window["mouse_low"] <= window["mouse_high"]).all()
    assert (window["ensemble_low"] <= window["ensemble_high"]).all()
    early = window[(window["drug"] == "mr16_1") & (window["start_day"] == 0)]
    assert (early["ensemble_high"] < 1).all()  # every ensemble member: blockade from infection lowers the burden


# ---------------------------------------------------------------- human trials: paired arms
@pytest.fixture(scope="module")
def paired():
    from awaken.trials.design import Trial
    from awaken.trials.run import simulate_trial

    # The placebo goes the whole drug path (detection, PK, each person's own drug events) at a dose far below
    # any a trial file may ask for: the drug's dose range is widened for this fixture only.
    tocilizumab = load_drug_table().drug("tocilizumab")
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(tocilizumab.__dict__, "dose_range", (1e-9, tocilizumab.dose_range[1]))
        trial = Trial(name="paired", size=1500, explanations=["awakening_alone"], seed=3, arms=[
            {"name": "control"},
            {"name": "placebo", "interventions": [{"kind": "drug_at_infection", "drug": "tocilizumab", "dose": 1e-9,
                                                    "pathogens": ["sars_cov_2", "influenza"]},
                                                   {"kind": "vaccination", "uptake": 0.0}]},
            {"name": "tocilizumab", "interventions": [{"kind": "drug_at_infection", "drug": "tocilizumab", "dose": 8,
                                                        "pathogens": ["sars_cov_2", "influenza"]}]},
            {"name": "vaccination", "interventions": [{"kind": "vaccination"}]}])
        return trial, simulate_trial(trial)  # inline: the blocks validate the trial again in this process


ENDPOINT_COLUMNS = ["lung_metastasis_day", "cancer_death_day", "covid_death_day", "death_day", "end_day"]


def test_a_zero_effect_arm_reproduces_the_control_bit_for_bit(paired):
    _, table = paired
    control = table[table["arm"] == "control"].reset_index(drop=True)
    placebo = table[table["arm"] == "placebo"].reset_index(drop=True)
    assert placebo["treated"].any()  # the placebo was given...
    pd.testing.assert_frame_equal(control[["person_id", *ENDPOINT_COLUMNS, "infections"]],
                                  placebo[["person_id", *ENDPOINT_COLUMNS, "infections"]])  # ...and changed nothing


def test_nobody_the_intervention_did_not_act_on_lives_differently(paired):
    _, table = paired
    control = table[table["arm"] == "control"].set_index("person_id")
    arm = table[table["arm"] == "tocilizumab"].set_index("person_id")
    untouched = arm.index[~arm["treated"]]
    pd.testing.assert_frame_equal(control.loc[untouched, ENDPOINT_COLUMNS], arm.loc[untouched, ENDPOINT_COLUMNS])


def test_lives_are_identical_until_the_first_treated_infection():
    from awaken.trials.design import Trial
    from awaken.trials.run import policy_for, trial_values
    from awaken.cohort.simulate import prepare_block
    trial = Trial(name="t", size=400, seed=5, arms=[{"name": "control"}, {"name": "toc", "interventions": [
        {"kind": "drug_at_infection", "drug": "tocilizumab", "dose": 8, "pathogens": ["sars_cov_2", "influenza"]}]}])
    scenario = trial.scenario("awakening_alone")
    ids = np.arange(0, 3000, 3, dtype=np.int64)
    control = prepare_block(scenario, trial.seed, 0, 0, ids=ids)
    arm = prepare_block(scenario, trial.seed, 0, 0, ids=ids, policy=policy_for(trial, 1, trial_values(trial)))
    np.testing.assert_array_equal(control.candidates.day, arm.candidates.day)
    np.testing.assert_array_equal(control.exposures.accepted, arm.exposures.accepted)
    treated = arm.treatments.treated[0] & arm.exposures.accepted
    untreated = control.exposures.accepted & ~treated
    assert treated.sum() > 10
    np.testing.assert_array_equal(control.lung.fold_change[untreated], arm.lung.fold_change[untreated])
    # the arm's lungs are the same whether the control lends its untouched lungs or every lung is simulated
    lent = prepare_block(scenario, trial.seed, 0, 0, ids=ids, policy=policy_for(trial, 1, trial_values(trial)),
                         reference=control)
    for name in ("fold_change", "il6_peak", "clearance_day", "rebound"):
        np.testing.assert_array_equal(getattr(lent.lung, name), getattr(arm.lung, name))
    # and the intervention never makes the modelled mechanism worse: no treated lung wakes more DCCs
    assert np.all(arm.lung.fold_change[treated] <= control.lung.fold_change[treated] * (1 + 1e-9))
    assert np.mean(arm.lung.fold_change[treated] < control.lung.fold_change[treated]) > 0.9


def test_the_counterfactual_table_has_every_participant_under_every_arm(paired):
    trial, table = paired
    from awaken.trials.run import REFERENCE_ARM
    counts = table.groupby("arm")["person_id"].nunique()
    assert counts.nunique() == 1 and set(counts.index) == {a.name for a in trial.arms} | {REFERENCE_ARM}
    assert REFERENCE_ARM not in set(table["allocated_arm"])


def test_the_excess_an_arm_could_prevent_is_the_causal_part_only(paired):
    from awaken.trials.run import REFERENCE_ARM
    _, table = paired  # awakening_alone: infections awaken dormant foci
    control = table[table["arm"] == "control"].set_index("person_id")
    world = table[table["arm"] == REFERENCE_ARM].set_index("person_id")
    # without the causal mechanisms no lung metastasis comes earlier, and some do not come at all
    assert (world["lung_metastasis_day"] >= control["lung_metastasis_day"]).all()
    assert np.isfinite(world["lung_metastasis_day"]).sum() < np.isfinite(control["lung_metastasis_day"]).sum()
    assert table.groupby("person_id")["allocated_arm"].nunique().max() == 1


def test_vaccination_prevents_infections(paired):
    _, table = paired
    by_arm = table.groupby("arm")["infections"].sum()
    assert by_arm["vaccination"] < by_arm["control"]


# ---------------------------------------------------------------- files and the command line
@pytest.mark.parametrize("path", sorted(glob.glob(str(ROOT / "examples" / "trials" / "*.yaml"))))
def test_every_example_trial_is_valid(path):
    from awaken.api.trials import load_trial
    trial = load_trial(path)
    assert trial.arms[0].interventions == []


def test_a_bad_trial_file_names_the_field_and_writes_nothing(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nsize: 5\narms: [{name: control}, {name: a, interventions: [{kind: vaccination, "
                   "uptake: 2}]}]\nsurprise: 1\n")
    from awaken.api.trials import load_trial
    with pytest.raises(InputError) as err:
        load_trial(bad)
    text = str(err.value)
    assert "size" in text and "uptake" in text and "surprise" in text
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "awaken.cli", "trial", "run", str(bad), "--out", str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "size" in proc.stderr
    assert not out.exists()


@pytest.mark.slow
def test_awaken_trial_run_writes_the_report_section(tmp_path):
    import awaken
    out = tmp_path / "trial"
    result = awaken.run_trial(ROOT / "examples" / "trials" / "il6r_blockade.yaml", size=1500, inline=True, out=out)
    for stem in ("trial_forest_lung_metastasis", "trial_incidence_lung_metastasis", "trial_harms_benefit",
                 "trial_sample_size"):
        for suffix in (".png", ".svg", ".parquet"):
            assert (out / "figures" / f"{stem}{suffix}").is_file(), stem + suffix
    assert (out / "tables" / "survivors.parquet").is_file() and (out / "report.html").is_file()
    assert set(result.survivors["explanation"]) == set(result.trial.explanations)


@pytest.mark.slow
def test_a_trial_is_the_same_on_dask_workers_and_in_any_block_layout():
    from awaken.runs.execution import Execution
    from awaken.trials.design import Trial
    from awaken.trials.run import simulate_trial
    trial = Trial(name="layout", size=600, explanations=["awakening_alone"], seed=11, arms=[
        {"name": "control"},
        {"name": "toc", "interventions": [{"kind": "drug_at_infection", "drug": "tocilizumab", "dose": 8}]}])
    inline = simulate_trial(trial, block_size=600)
    dask = simulate_trial(trial, execution=Execution(workers=2), block_size=150)
    pd.testing.assert_frame_equal(inline, dask)


def test_every_drug_value_has_a_source_and_calibrated_values_name_a_published_exposure():
    from awaken.api.trials import drug_table
    from awaken.targets import target_ids
    rows = drug_table()
    assert rows and all(r["source"].strip() and r["unit"] for r in rows)
    known = set(target_ids("pharmacology"))
    for drug in load_drug_table().drugs.values():
        for p in drug.parameters():
            assert set(p.calibrated_to) <= known, (drug.name, p.name)


def test_the_drug_table_command_names_a_bad_drug():
    proc = subprocess.run([sys.executable, "-m", "awaken.cli", "trial", "drugs", "aspirin"], capture_output=True,
                          text=True)
    assert proc.returncode == 2 and "aspirin" in proc.stderr and "tocilizumab" in proc.stderr


def test_surveillance_finds_lung_metastases_earlier_and_by_itself_saves_nobody():
    from awaken.trials.design import Trial
    from awaken.trials.run import simulate_trial
    trial = Trial(name="ct", size=3000, explanations=["awakening_alone"], seed=2, follow_up_years=3,
                  arms=[{"name": "control"}, {"name": "ct", "interventions": [{"kind": "surveillance"}]}])
    table = simulate_trial(trial)
    control = table[table["arm"] == "control"].set_index("person_id")
    ct = table[table["arm"] == "ct"].set_index("person_id")
    assert (ct["lung_metastasis_earlier_days"] > 0).sum() > 0
    assert (ct["lung_metastasis_day"] <= control["lung_metastasis_day"]).all()
    # lead time is not a benefit by itself (ct_lead_time_benefit = 0): no death moves
    pd.testing.assert_series_equal(ct["death_day"], control["death_day"])
    assert ct["ct_scans"].sum() > 0 and ct["ct_false_positives"].sum() > 0


def test_the_tissue_engine_refuses_a_drug_course_by_name_before_any_work():
    from awaken.tissue.engine import run_group_tissue
    experiment = Experiment(name="x", virus={"kind": "influenza_a_pr8"}, days=5, mice=1, treatments=[
        {"kind": "drug", "drug": "mr16_1", "dose": 0.5, "route": "ip", "start_day": 0}])
    with pytest.raises(InputError, match="treatments.0.kind"):
        run_group_tissue(experiment)


def test_a_trial_nobody_is_eligible_for_is_refused_before_any_work(tmp_path):
    from awaken.api.trials import run_trial
    from awaken.trials.design import Trial
    trial = Trial(name="nobody", size=100, eligibility={"years_since_diagnosis": [29, 30]},  # cohort: from 2000
                  arms=[{"name": "control"}, {"name": "v", "interventions": [{"kind": "vaccination"}]}])
    with pytest.raises(InputError, match="eligibility"):
        run_trial(trial, inline=True, out=tmp_path / "run")
    assert not (tmp_path / "run").exists()
    with pytest.raises(ValueError, match="subtypes are breast cancer subtypes"):
        Trial(name="t", eligibility={"cancer_types": ["other"], "subtypes": ["triple_negative"]},
              arms=[{"name": "control"}, {"name": "v"}])


def test_the_window_refuses_unknown_drugs_and_days_by_name():
    from awaken.api.trials import trial_window
    with pytest.raises(InputError, match="drugs"):
        trial_window(drugs=("aspirin",))
    with pytest.raises(InputError, match="read_days"):
        trial_window(start_days=(0, 30), read_days=(28,))


def test_the_explanations_strengths_are_the_calibration_posteriors_the_cohort_table_states():
    """The strengths a trial runs under are stated twice: as data (trials/data/explanations.yaml) and in
    the source of each cohort parameter (the awaken explain posterior); they must not drift apart."""
    from awaken.cohort.parameters import load_cohort_table
    from awaken.trials.design import load_explanations
    sources = {p.name: p.source for p in load_cohort_table().parameters}
    for name, explanation in load_explanations().items():
        for parameter, value in explanation["parameters"].items():
            if value:
                assert f"{value:g}" in sources[parameter], (name, parameter, value)
