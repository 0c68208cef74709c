"""The study's recipes on EHR-shaped records: UK Biobank, Flatiron, calibration to H1, power."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from awaken.cohort.parameters import MECHANISM_SWITCHES, CohortScenario
from awaken.cohort.run import run_cohort, simulate_records
from awaken.errors import InputError
from awaken.records import load_records
from awaken.studies.flatiron import flatiron_analysis
from awaken.studies.ukb import UKBSettings, human_targets, ukb_analysis, ukb_cohort
from awaken.targets import load_targets

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def records():
    """200,000 default survivors: the mechanisms at their calibrated defaults (posterior medians)."""
    return simulate_records(CohortScenario(), n=200_000, seed=7)


@pytest.fixture(scope="module")
def no_effect_records():
    """The same survivors with every explanation of the human excess switched off."""
    return simulate_records(CohortScenario(mechanisms=dict.fromkeys(MECHANISM_SWITCHES, False)), n=200_000, seed=7)


@pytest.fixture(scope="module")
def awakening_records():
    """The same survivors with awakening alone, strong enough to move the lung-metastasis outcome."""
    only = {name: name == "awakening" for name in MECHANISM_SWITCHES}
    return simulate_records(CohortScenario(parameters={"awakening_strength": 0.008}, mechanisms=only), n=200_000,
                            seed=7)


def _h1_band() -> list[float]:
    return next(t for t in load_targets()["human"] if t["id"] == "H1_ukb_cancer_death")["band"]


# ---------------------------------------------------------------- UK Biobank design
def test_ukb_cohort_follows_the_published_design(records):
    settings = UKBSettings()
    data = ukb_cohort(records, settings)
    start = pd.Timestamp(settings.pandemic_start)
    assert (data.diagnosis_date <= start - pd.Timedelta(days=round(5 * 365.25))).all()
    assert (data.exit_date > start).all()
    metastatic = records["metastases"].loc[records["metastases"].date <= start, "person_id"]
    assert not data.person_id.isin(metastatic).any()
    # everyone was tested in the first year; positive = any positive test then
    tests = records["tests"]
    first_year = tests[(tests.date >= start) & (tests.date < pd.Timestamp(settings.first_year_end))]
    assert data.person_id.isin(first_year.person_id).all()
    assert 0.08 < data.positive.mean() < 0.14  # about 500 of 4,837 in the study


def test_ukb_recipe_reproduces_target_h1_with_the_calibrated_strength(records):
    result = ukb_analysis(records)
    lo, hi = _h1_band()
    assert lo <= result.odds_ratio <= hi, result.odds_ratios
    assert result.odds_ratios.loc["adjusted", "lower"] > 1.0


def test_without_the_mechanisms_the_ukb_odds_ratio_is_null(no_effect_records):
    """Every explanation off: infections neither cause nor hasten cancer death and the record is true, so
    the test-positive excess disappears (COVID-19 deaths compete with cancer deaths, so the OR may fall a
    little below 1, never above)."""
    result = ukb_analysis(no_effect_records)
    row = result.odds_ratios.loc["adjusted"]
    assert row["lower"] < 1.0 and row["OR"] < 1.2, result.odds_ratios


def test_ukb_odds_ratio_agrees_with_r_style_hand_computation(records):
    """Crude OR = (a d) / (b c) from the 2x2 table, exactly."""
    result = ukb_analysis(records)
    c = result.counts
    a, b = c["cancer_deaths_positive"], c["positive"] - c["cancer_deaths_positive"]
    cc, d = c["cancer_deaths_negative"], c["negative"] - c["cancer_deaths_negative"]
    assert result.odds_ratios.loc["crude", "OR"] == pytest.approx(a * d / (b * cc), rel=1e-8)


def test_h1_and_h2_are_scored_from_the_recipe(records):
    values = human_targets(ukb_analysis(records))
    assert set(values) == {"H1_ukb_cancer_death", "H2_first_year"}
    result = ukb_analysis(records)
    hr = result.hazard_ratios["HR"]
    h2, note = values["H2_first_year"]
    assert h2 == pytest.approx(hr.iloc[0] / hr.iloc[1]) and "12+ months" in note


# ---------------------------------------------------------------- Flatiron design
def test_flatiron_recipe_finds_the_lung_metastasis_excess_only_with_the_mechanism(awakening_records,
                                                                                 no_effect_records):
    on = flatiron_analysis(awakening_records)
    off = flatiron_analysis(no_effect_records)
    assert on.hazard_ratios.loc["after diagnosis", "lower"] > 1.0
    assert off.hazard_ratios.loc["after diagnosis", "lower"] < 1.0 < off.hazard_ratios.loc["after diagnosis", "upper"]
    assert on.incidence_at_horizon["exposed"] > on.incidence_at_horizon["matched unexposed"]
    assert on.counts["matched_pairs"] <= on.counts["recorded_covid_19"]
    for curve in on.incidence.values():
        assert curve.iloc[0] < 0.01 and (np.diff(curve.to_numpy()) >= 0).all()


def test_left_truncation_by_calendar_entry_keeps_late_diagnoses_out_of_early_risk_sets():
    from awaken.survival.design import exposure_intervals

    persons = pd.DataFrame({"person_id": [1, 2], "origin": pd.to_datetime(["2020-03-01"] * 2),
                            "entry": pd.to_datetime(["2020-03-01", "2020-09-01"]),
                            "end": pd.to_datetime(["2021-03-01"] * 2)})
    exposures = pd.DataFrame({"person_id": [2], "date": pd.to_datetime(["2020-06-01"])})
    outcomes = pd.DataFrame({"person_id": [2], "date": pd.to_datetime(["2020-12-01"])})
    rows = exposure_intervals(persons, exposures, outcomes, origin="origin", end="end", entry="entry",
                              windows_days=(0,))
    late = rows[rows.person_id == 2]
    assert late.start.min() == 184  # enters on 1 September, not at the origin
    assert (late.filter(like="exposed_").sum(axis=1) == 1).all()  # exposed before entry: exposed from entry
    assert rows[rows.person_id == 1].start.min() == 0
    bad = outcomes.assign(date=pd.to_datetime(["2020-08-01"]))
    from awaken.survival import SurvivalDataError

    with pytest.raises(SurvivalDataError, match="prevalent"):
        exposure_intervals(persons, exposures, bad, origin="origin", end="end", entry="entry")


# ---------------------------------------------------------------- records from disk, the CLI
def test_recipes_run_on_a_cohort_directory_and_on_user_csv_files(tmp_path):
    from typer.testing import CliRunner

    from awaken.cli import app

    run = run_cohort(CohortScenario(), n=30_000, seed=3, out=tmp_path / "cohort", executor="inline")
    runner = CliRunner()
    ukb = runner.invoke(app, ["analyze", "ukb", "--cohort", str(run.out), "--format", "json"])
    assert ukb.exit_code == 0, ukb.output
    parsed = json.loads(ukb.output)
    assert parsed["design"] == "uk_biobank" and parsed["counts"]["tested_survivors"] > 1000
    # a user's own extract: CSV files without the latent (truth) columns
    own = tmp_path / "own"
    own.mkdir()
    tables = load_records(run.out)
    for name, frame in tables.items():
        frame.drop(columns=[c for c in frame.columns if c.startswith("latent_")]).to_csv(own / f"{name}.csv",
                                                                                        index=False)
    flat = runner.invoke(app, ["analyze", "flatiron", "--cohort", str(own)])
    assert flat.exit_code == 0, flat.output
    assert "hazard ratio of lung metastasis" in " ".join(flat.output.split())
    from_csv = ukb_analysis(load_records(own))
    assert from_csv.counts == parsed["counts"]


def test_malformed_records_are_refused_by_name(tmp_path):
    (tmp_path / "patients.csv").write_text("person_id,sex\n1,female\n")
    with pytest.raises(InputError, match="patients: missing column 'birth_date'"):
        load_records(tmp_path)
    with pytest.raises(InputError, match="no such directory"):
        load_records(tmp_path / "missing")


# ---------------------------------------------------------------- power
def test_power_rises_with_the_effect_and_holds_the_type_one_error():
    from awaken.studies.power import PowerSettings, power_curve

    settings = PowerSettings(n=20_000, strengths=(0.0, 0.008), replicates=12, seed=1)
    result = power_curve(settings)
    curve = result.curve.set_index("strength")
    assert len(result.replicates) == 24
    assert curve.loc[0.0, "power"] <= 0.25  # 12 replicates: alpha 0.05 would exceed this with p < 0.02
    assert curve.loc[0.008, "power"] > curve.loc[0.0, "power"]
    assert curve.loc[0.008, "mean_ratio"] > curve.loc[0.0, "mean_ratio"]


def test_a_replicate_at_every_strength_is_each_replicate_alone():
    """Power simulates a replicate's lungs once and finishes it at each effect: the same numbers as
    simulating the replicate afresh at each effect."""
    from awaken.studies.power import PowerSettings, replicate, replicate_at_every_strength

    settings = PowerSettings(n=4_000, strengths=(0.0, 0.004, 0.02), replicates=2, seed=3)
    together = replicate_at_every_strength(settings, 1, block=1_500)
    alone = [replicate(settings, strength, 1) for strength in settings.strengths]
    assert together == alone


@pytest.mark.slow
def test_power_is_the_same_on_dask_and_inline():
    from awaken.runs.execution import Execution
    from awaken.studies.power import PowerSettings, power_curve

    settings = PowerSettings(n=3_000, strengths=(0.0, 0.004), replicates=4, seed=2)
    inline = power_curve(settings)
    dask = power_curve(settings, execution=Execution(workers=2))
    pd.testing.assert_frame_equal(inline.replicates, dask.replicates)


def test_bad_power_options_exit_2_and_write_nothing(tmp_path):
    from typer.testing import CliRunner

    from awaken.cli import app

    for args, expected in ((["--strengths", "-0.1,0.2"], "awakening_strength values must be >= 0"),
                           (["--design", "nhs"], "design"), (["--replicates", "1"], "replicates"),
                           (["--n", "10"], "n = 10")):
        out = tmp_path / "out"
        result = CliRunner().invoke(app, ["power", "--out", str(out), *args])
        assert result.exit_code == 2, result.output
        assert expected in " ".join(result.output.split()), result.output
        assert not out.exists()
