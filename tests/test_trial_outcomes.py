"""The analysis of an in-silico trial, read as claims: the estimators recover effects put into a synthetic
trial table (``trial_synthetic.py``: exponential times, a known hazard ratio per arm, common random
numbers), a zero-effect arm changes nothing, Schoenfeld's formula reproduces a published worked example
and the bootstrap trials agree with it, and the figures are written with their data."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from trial_synthetic import YEAR, lung_metastasis_risk, synthetic_trial

from awaken.errors import InputError
from awaken.report.trial_figures import trial_figures
from awaken.runs.directory import RunDirectory
from awaken.trials.effect_measures import number_needed_to_treat
from awaken.trials.outcomes import trial_outcomes
from awaken.trials.sample_size import (
    participants_for_events,
    sample_size,
    schoenfeld_events,
    schoenfeld_power,
)

FOLLOW_UP = 5 * YEAR
RATE, REFERENCE_RATE, HR = 0.08, 0.04, 0.6
COMPETING = 0.03 + 0.005  # other deaths and COVID-19 deaths per year, before any metastasis


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return synthetic_trial(20_000, seed=3, arms={"tocilizumab": {"awakening": HR}, "placebo": {}},
                           explanations=("awakening", "non_causal"), rate_per_year=RATE,
                           reference_rate_per_year=REFERENCE_RATE, follow_up_days=FOLLOW_UP)


@pytest.fixture(scope="module")
def outcomes(table):
    return trial_outcomes(table, "control", FOLLOW_UP, horizons_days=[YEAR, FOLLOW_UP], reference="no_infection")


def _effect(outcomes, arm, explanation="awakening", endpoint="lung_metastasis", horizon=FOLLOW_UP) -> pd.Series:
    e = outcomes.effects
    rows = e[(e.arm == arm) & (e.explanation == explanation) & (e.endpoint == endpoint) & (e.horizon_day == horizon)]
    assert len(rows) == 1
    return rows.iloc[0]


def test_the_paired_risk_difference_recovers_a_known_effect(outcomes):
    row = _effect(outcomes, "tocilizumab")
    truth = lung_metastasis_risk(RATE * HR, COMPETING, FOLLOW_UP) - lung_metastasis_risk(RATE, COMPETING, FOLLOW_UP)
    assert abs(row.rd_paired - truth) < 3 * row.rd_paired_se
    assert row.rd_paired_lower < row.rd_paired < row.rd_paired_upper
    assert abs(row.control_risk_paired - lung_metastasis_risk(RATE, COMPETING, FOLLOW_UP)) < 0.01
    assert row.nnt_paired_to == "benefit" and row.nnt_paired == pytest.approx(-1 / row.rd_paired)


def test_the_trial_view_recovers_the_hazard_ratio_and_the_risk_difference(outcomes):
    row = _effect(outcomes, "tocilizumab")
    truth = lung_metastasis_risk(RATE * HR, COMPETING, FOLLOW_UP) - lung_metastasis_risk(RATE, COMPETING, FOLLOW_UP)
    assert abs(math.log(row.hr) - math.log(HR)) < 3 * row.log_hr_se
    assert row.hr_lower < HR < row.hr_upper and row.hr_p < 1e-10
    assert abs(row.rd_trial - truth) < 3 * row.rd_trial_se
    # the trial sees a fraction of the survivors (1 in 3 per arm), so its interval is wider than the paired one
    assert row.rd_trial_se > row.rd_paired_se
    assert row.n_trial + row.n_trial_control < row.n_paired


def test_a_zero_effect_arm_gives_rd_exactly_0_and_hr_1_within_ci(outcomes):
    for explanation in ("awakening", "non_causal"):
        for endpoint in outcomes.endpoints:
            row = _effect(outcomes, "placebo", explanation, endpoint)
            assert row.rd_paired == 0.0 and row.rd_paired_se == 0.0
            assert row.rd_paired_lower == 0.0 == row.rd_paired_upper
            assert row.nnt_paired == math.inf and row.nnt_paired_text == "∞ (no difference)"
            assert row.hr_lower < 1 < row.hr_upper
    # under the non-causal explanation the drug acts on nothing that causes metastasis: no effect either
    assert _effect(outcomes, "tocilizumab", "non_causal").rd_paired == 0.0


def test_the_incidence_curves_end_at_the_risks_compared(outcomes):
    inc = outcomes.incidence
    last = inc[(inc.explanation == "awakening") & (inc.endpoint == "lung_metastasis") & (inc.day == FOLLOW_UP)]
    row = _effect(outcomes, "tocilizumab")
    paired = last[last.view == "paired"].set_index("arm")
    trial = last[last.view == "trial"].set_index("arm")
    assert paired.loc["tocilizumab", "risk"] == pytest.approx(row.risk_paired, abs=1e-12)
    assert trial.loc["control", "risk"] == pytest.approx(row.control_risk_trial, abs=1e-12)
    assert (inc.lower <= inc.risk + 1e-12).all() and (inc.risk <= inc.upper + 1e-12).all()
    death = inc[inc.endpoint == "death"]
    assert set(death.estimator) == {"kaplan_meier"} and set(inc[inc.endpoint != "death"].estimator) == {"aalen_johansen"}
    assert sorted(inc.day.unique())[0] == 0.0 and inc[inc.day == 0].risk.eq(0).all()


def test_the_prevented_share_is_only_the_causal_part(outcomes, table):
    row = _effect(outcomes, "tocilizumab")
    control = lung_metastasis_risk(RATE, COMPETING, FOLLOW_UP)
    truth = (control - lung_metastasis_risk(RATE * HR, COMPETING, FOLLOW_UP)) / (
        control - lung_metastasis_risk(REFERENCE_RATE, COMPETING, FOLLOW_UP))
    assert row.prevented_share_lower < truth < row.prevented_share_upper
    # no excess caused by infection under the non-causal explanation: nothing to prevent, said so
    assert math.isnan(_effect(outcomes, "tocilizumab", "non_causal").prevented_share)
    assert any("non_causal, lung_metastasis" in n and "no excess" in n for n in outcomes.notes)
    # the reference given as a table of the same survivors without infection gives the same share
    trial_rows, reference = table[table.arm != "no_infection"], table[table.arm == "no_infection"]
    as_table = trial_outcomes(trial_rows, "control", FOLLOW_UP, endpoints=["lung_metastasis"], reference=reference)
    e = as_table.effects
    same = e[(e.arm == "tocilizumab") & (e.explanation == "awakening")].iloc[0]
    assert same.prevented_share == pytest.approx(row.prevented_share, rel=1e-12)
    # without a reference the share is omitted, not invented
    plain = trial_outcomes(table[table.arm != "no_infection"], "control", FOLLOW_UP, endpoints=["lung_metastasis"])
    assert not any(c.startswith("prevented") for c in plain.effects.columns)
    assert any("prevented share" in n for n in plain.notes)


def test_harms_are_counted_per_1000_treated_and_per_1000_survivors(outcomes, table):
    h = outcomes.harms.set_index(["explanation", "arm", "measure", "denominator"])
    rows = table[(table.explanation == "awakening") & (table.arm == "tocilizumab")]
    expected = 1000 * rows.neutropenia.sum() / rows.treated.sum()
    assert h.loc[("awakening", "tocilizumab", "neutropenia", "treated"), "value"] == pytest.approx(expected)
    assert h.loc[("awakening", "control", "any_harm", "survivors"), "value"] == 0.0
    low, high = h.loc[("awakening", "tocilizumab", "viral_rebound", "survivors"), ["lower", "upper"]]
    assert low < 50 < high  # 5 % of the treated, everyone treated


def test_the_result_is_json_safe(outcomes):
    text = json.dumps(outcomes.to_dict(), allow_nan=False)
    assert '"rd_paired"' in text and set(outcomes.tables()) == {"incidence", "effects", "harms"}


def test_the_number_needed_to_treat_follows_altman():
    benefit = number_needed_to_treat(-0.1, -0.15, -0.05)
    assert benefit["to"] == "benefit" and benefit["nnt"] == pytest.approx(10)
    assert (benefit["nntb_lower"], benefit["nntb_upper"]) == pytest.approx((1 / 0.15, 20))
    assert math.isnan(benefit["nnth_lower"])
    harm = number_needed_to_treat(0.05, 0.01, 0.09)
    assert harm["to"] == "harm" and (harm["nnth_lower"], harm["nnth_upper"]) == pytest.approx((1 / 0.09, 100))
    crossing = number_needed_to_treat(-0.05, -0.12, 0.02)
    assert (crossing["nntb_lower"], crossing["nntb_upper"]) == pytest.approx((1 / 0.12, math.inf))
    assert (crossing["nnth_lower"], crossing["nnth_upper"]) == pytest.approx((50, math.inf))
    assert crossing["text"] == "NNTB 20 (NNTH 50 to ∞ to NNTB 8.3)"


def test_schoenfelds_formula_matches_a_published_worked_example():
    """MRC Cognition and Brain Sciences Unit statistics wiki, "Example comparing software for evaluating
    sample sizes for log rank test" (FAQ/powsurv; Schoenfeld 1983 with Collett's participants): survival
    0.75 vs 0.37, two-sided 5 %, 80 % power, equal groups: 4 (1.96 + 0.84)^2 / log(log 0.75 / log 0.37)^2
    = 20.39 events; 20.39 / (1 - (0.75 + 0.37) / 2) -> 47 participants. (The page rounds z_0.8 to 0.84;
    with the exact 0.8416 the events are 20.41.)"""
    hr = math.log(0.75) / math.log(0.37)
    events = schoenfeld_events(hr, alpha=0.05, power=0.8)
    assert events == pytest.approx(20.39, rel=2e-3)
    assert math.ceil(participants_for_events(events, 1 - (0.75 + 0.37) / 2)) == 47
    # the formula's algebra: symmetric in HR and 1/HR; 2:1 allocation needs 9/8 as many events; power inverts it
    assert schoenfeld_events(2.0) == pytest.approx(schoenfeld_events(0.5))
    assert schoenfeld_events(0.7, allocation_ratio=2) == pytest.approx(9 / 8 * schoenfeld_events(0.7))
    assert schoenfeld_power(schoenfeld_events(0.7, power=0.9), 0.7) == pytest.approx(0.9, abs=1e-6)
    assert schoenfeld_power(100, 1.0) == pytest.approx(0.05)
    assert schoenfeld_events(1.0) == math.inf


@pytest.fixture(scope="module")
def small_table() -> pd.DataFrame:
    return synthetic_trial(4_000, seed=11, arms={"tocilizumab": {"awakening": HR}, "placebo": {}},
                           explanations=("awakening", "non_causal"), follow_up_days=FOLLOW_UP)


def test_the_simulation_power_agrees_with_the_formula_within_monte_carlo_error(small_table):
    result = sample_size(small_table, "control", FOLLOW_UP, arms=["tocilizumab"], replicates=200, seed=5,
                         simulate_n_per_arm=[60, 150])
    curve = result.curve
    checked = curve[(curve.explanation == "awakening") & (curve.replicates > 0)]
    assert len(checked) == 2
    for _, row in checked.iterrows():
        assert 0.2 < row.power_formula < 0.95
        assert abs(row.power_simulation - row.power_formula) < 3 * math.sqrt(
            row.power_formula * (1 - row.power_formula) / row.replicates)
    required = result.required.set_index(["explanation", "source"])
    assert required.loc[("awakening", "simulated"), "hazard_ratio"] == pytest.approx(HR, rel=0.15)
    # no effect under the non-causal explanation: the paired hazard ratio is exactly 1, no trial size detects it
    assert required.loc[("non_causal", "simulated"), "hazard_ratio"] == pytest.approx(1.0, abs=1e-9)
    assert required.loc[("non_causal", "simulated"), "n_per_arm"] == math.inf
    json.dumps(result.to_dict(), allow_nan=False)


def test_the_same_seed_gives_the_same_sample_size(small_table):
    def run(seed):
        return sample_size(small_table, "control", FOLLOW_UP, arms=["tocilizumab"], replicates=30, seed=seed,
                           simulate_n_per_arm=[80], hazard_ratios=[0.8]).curve
    first, again = run(2), run(2)
    pd.testing.assert_frame_equal(first, again)
    assert set(first.source) == {"simulated", "assumed (arm risk 1 - (1 - control risk)^HR)"}


def _window() -> pd.DataFrame:
    rows = []
    for drug, base in (("MR16-1", 0.3), ("oseltamivir", 0.6)):
        for read_day in (15, 28, 60):
            for start_day in (0, 3, 9):
                effect = base + (1 - base) * start_day / 12
                rows.append({"drug": drug, "start_day": start_day, "read_day": read_day, "effect": effect,
                             "mouse_low": 0.7 * effect, "mouse_high": 1.3 * effect, "ensemble_low": 0.9 * effect,
                             "ensemble_high": 1.1 * effect})
    return pd.DataFrame(rows)


def test_figures_are_written_in_both_formats_with_their_data(small_table, tmp_path):
    outcomes = trial_outcomes(small_table, "control", FOLLOW_UP, endpoints=["lung_metastasis", "death"])
    sizes = sample_size(small_table, "control", FOLLOW_UP, replicates=20, seed=1)
    with RunDirectory(tmp_path / "trial", kind="trial") as run:
        figures = trial_figures(run, outcomes, sizes, _window())
    stems = {f.stem for f in figures}
    assert stems == {"trial_forest_lung_metastasis", "trial_forest_death", "trial_incidence_lung_metastasis",
                     "trial_incidence_death",
                     "trial_harms_benefit", "trial_sample_size", "trial_window"}
    for stem in stems:
        for ext in ("png", "svg", "parquet"):
            assert (tmp_path / "trial" / "figures" / f"{stem}.{ext}").stat().st_size > 0
    forest = pd.read_parquet(tmp_path / "trial" / "figures" / "trial_forest_lung_metastasis.parquet")
    assert set(forest.arm) == {"tocilizumab", "placebo"} and {"hr", "rd_paired", "rd_trial"} <= set(forest.columns)
    window = pd.read_parquet(tmp_path / "trial" / "figures" / "trial_window.parquet")
    assert len(window) == len(_window())
    assert all(f.svg.startswith(b"<?xml") for f in figures)


def test_bad_input_is_refused_naming_the_field(small_table):
    with pytest.raises(InputError, match=r"survivors\.end_day: missing column"):
        trial_outcomes(small_table.drop(columns="end_day"), "control", FOLLOW_UP)
    with pytest.raises(InputError, match=r'control = "standard_care": is not an arm'):
        trial_outcomes(small_table, "standard_care", FOLLOW_UP)
    for bad in (0, -30.0, math.inf):
        with pytest.raises(InputError, match=r"follow_up_days = .*must be a positive"):
            trial_outcomes(small_table, "control", bad)
    with pytest.raises(InputError, match=r"survivors\.person_id: person .* is not under every arm"):
        trial_outcomes(small_table.iloc[1:], "control", FOLLOW_UP)
    wrong = small_table.assign(allocated_arm=small_table.allocated_arm.replace("placebo", "sham"))
    with pytest.raises(InputError, match=r"survivors\.allocated_arm: names arms the trial does not have"):
        trial_outcomes(wrong, "control", FOLLOW_UP)
    with pytest.raises(InputError, match=r"survivors\.end_day: must be finite and at most follow_up_days"):
        trial_outcomes(small_table, "control", 365.0)
    with pytest.raises(InputError, match=r"horizons_days"):
        trial_outcomes(small_table, "control", FOLLOW_UP, horizons_days=[2 * FOLLOW_UP])
    with pytest.raises(InputError, match=r"arms = .*must name arms other than the control"):
        sample_size(small_table, "control", FOLLOW_UP, arms=["control"])
    from awaken.report.trial_figures import window_figure
    with pytest.raises(InputError, match=r"window\.ensemble_high: missing column"):
        window_figure(_window().drop(columns="ensemble_high"))
