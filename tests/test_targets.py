"""The study's mouse observations, each checked against its band in targets.yaml.

Every band is read from the targets file; nothing here restates a number. Each test names the
claim of Chia et al. 2025 it checks.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml

from awaken.scorecard import REQUIRED_EXPERIMENTS, in_band
from awaken.targets import load_targets

#: The project's reference copy, present in the development workspace (not in every checkout).
REFERENCE_TARGETS = Path(__file__).resolve().parents[2] / "shared" / "reference" / "targets.yaml"


def check(scores, targets, target_id: str) -> None:
    result = scores[target_id]
    band = targets[target_id]["band"]
    assert result.passed is True, (
        f"{target_id}: {targets[target_id]['observation']}\n  measure: {targets[target_id]['measure']}\n"
        f"  band {band}, simulated {result.simulated}, parts {result.parts}")


def test_pbs_controls_keep_a_stable_dormant_population(scores, targets):
    check(scores, targets, "M1_mock_dormant")


def test_proliferation_has_started_by_day_3(scores, targets):
    check(scores, targets, "M2_onset_day3")


def test_proliferation_peaks_around_day_9(scores, targets):
    check(scores, targets, "M3_peak_proliferation_day9")


def test_influenza_expands_dccs_100_to_1000_fold_by_day_15(scores, targets):
    check(scores, targets, "M4_expansion_day15")


def test_burden_is_still_raised_at_day_28(scores, targets):
    check(scores, targets, "M5_raised_day28")


def test_il6_knockout_abolishes_the_expansion(scores, targets):
    check(scores, targets, "M6_il6_knockout")


def test_neutrophil_depletion_reverses_the_expansion(scores, targets):
    check(scores, targets, "M7_neutrophil_depletion")


def test_cd4_cells_sustain_but_do_not_start_the_outgrowth(scores, targets):
    check(scores, targets, "M8_cd4_maintains")


def test_cd4_depletion_raises_activated_cd8_cells(scores, targets):
    check(scores, targets, "M9_cd4_suppresses_cd8")


def test_awakening_dccs_switch_phenotype_but_not_without_il6(scores, targets):
    check(scores, targets, "M10_phenotype_switch")


def test_awakening_is_local_and_leaves_viral_clearance_unchanged(scores, targets):
    check(scores, targets, "M11_local_awakening")


def test_cd4_depletion_from_infection_does_not_change_the_early_burden(study, targets):
    """Stricter than M8's 9-dpi ratio (anti-CD4 from 9 dpi cannot act by 9 dpi): depleting CD4 cells
    from the day of infection must leave the 9-dpi burden inside M8's 'early' band."""
    ratio = (study["anti_cd4_from_infection_influenza"].at(9, "dcc_count")
             / study["igg_influenza"].at(9, "dcc_count"))
    assert in_band(ratio, targets["M8_cd4_maintains"]["band"]["early"]), ratio


def test_sars_cov_2_also_awakens_dccs(study, targets):
    """The study's second virus also wakes DCCs. Its magnitude is not published, so the check is that
    the 15- and 28-dpi burdens are 'raised' in the sense of M5 (the targets file's definition)."""
    raised = targets["M5_raised_day28"]["band"]
    for day in (15, 28):
        ratio = study["sars_cov_2"].at(day, "dcc_count") / study["pbs"].at(day, "dcc_count")
        assert in_band(ratio, raised), (day, ratio)


def test_every_mouse_target_is_scored(scores):
    mouse_ids = [t["id"] for t in load_targets()["mouse"]]
    assert [i for i in mouse_ids if scores[i].passed is None] == []


def test_human_targets_are_reported_as_pending(scores):
    human = [t["id"] for t in load_targets().get("human", [])]
    assert human and all(scores[i].passed is None for i in human)


def test_scoring_needs_only_shipped_experiments():
    from awaken.experiments.catalogue import list_experiments

    assert set(REQUIRED_EXPERIMENTS) <= set(list_experiments())


@pytest.mark.skipif(not REFERENCE_TARGETS.is_file(), reason="project reference targets.yaml not present")
def test_shipped_targets_match_the_project_reference():
    """awaken ships its own copy of the study's targets; it must not drift from the reference. Its only
    additions are the cohort group (published epidemiological observations, not the study's), the
    plausibility group (bounds awaken states itself) and the pharmacology group (the drugs' published
    exposure, read by tests/test_trials.py)."""
    from importlib import resources

    shipped = yaml.safe_load((resources.files("awaken") / "data" / "targets.yaml").read_text())
    reference = yaml.safe_load(REFERENCE_TARGETS.read_text())
    assert {k: v for k, v in shipped.items() if k not in ("cohort", "plausibility", "pharmacology")} == reference
    assert all(t["source"] and t["band"] and t["band_from"] for t in shipped["pharmacology"])
    assert all(t["source"] and t["band"] and t["published"] for t in shipped["cohort"])
    assert all(t["source"] and t["band"] and t["band_from"] == "ours" for t in shipped["plausibility"])


def test_bands_open_upwards_are_infinite():
    bands = {t["id"]: t["band"] for t in load_targets()["mouse"]}
    assert math.isinf(bands["M5_raised_day28"][1])


@pytest.mark.slow
def test_the_typical_mouse_passes_every_mouse_target():
    """The calibration is centred: one nominal mouse per group (no variability) passes every band."""
    from awaken.experiments.catalogue import load_experiment, with_overrides
    from awaken.scorecard import score
    from awaken.solvers.reference import run_group

    results = {name: run_group(with_overrides(load_experiment(name), days=60, mice=1, variability=False))
               for name in REQUIRED_EXPERIMENTS}
    failed = [(s.id, s.simulated) for s in score(results) if s.passed is False]
    assert failed == []


def test_a_second_engine_is_scored_by_the_same_code_and_passes_the_same_targets(scores, study_settings):
    """The fast engine (the same mice, the compiled solver) through the same scorecard: same verdicts."""
    from awaken.api.experiments import score_targets

    fast = {s.id: s for s in score_targets(**study_settings, engine="fast")}
    assert {k: s.passed for k, s in fast.items()} == {k: s.passed for k, s in scores.items()}
    assert fast["M4_expansion_day15"].simulated == pytest.approx(scores["M4_expansion_day15"].simulated, rel=1e-4)
