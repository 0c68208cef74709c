"""The flagship reproduction: run directory, report, determinism."""

from __future__ import annotations

import json
import re

import pytest

from awaken.api.experiments import run_experiment
from awaken.api.reproduce import reproduce
from awaken.experiments.catalogue import list_experiments, load_experiment, with_overrides
from awaken.scorecard import COHORT_GROUPS
from awaken.targets import STUDY_GROUPS, load_targets


@pytest.fixture(scope="module")
def small_run(small_reproduction):
    return small_reproduction


def test_reproduction_writes_every_part_of_the_run_directory(small_run):
    out = small_run.path
    for relative in ("run.json", "report.html", "scorecard.json", "tables/timecourse.parquet",
                     "tables/per_mouse.parquet", "tables/parameters.parquet"):
        assert (out / relative).is_file(), relative
    for stem in ("dcc_burden", "phenotypes", "inflammation", "t_cells", "population_infections",
                 "population_outcomes"):
        for ext in ("png", "svg"):
            assert (out / "figures" / f"{stem}.{ext}").stat().st_size > 1000, (stem, ext)
    provenance = json.loads((out / "run.json").read_text())
    assert provenance["command"] == ["awaken", "reproduce", "--test"]
    assert {s["name"] for s in provenance["scenarios"]} == set(list_experiments())
    assert all(len(s["sha256"]) == 64 for s in provenance["scenarios"])
    assert provenance["dependencies"]["numpy"]


def test_report_is_self_contained_and_shows_every_target(small_run):
    html = small_run.report.read_text()
    assert not re.search(r'(src|href)="(?!data:|#)', html), "report must not reference external files"
    assert "<script" not in html
    for group in STUDY_GROUPS:
        for target in load_targets()[group]:
            assert target["id"] in html
    assert html.count("data:image/svg+xml;base64,") == 7  # 4 lung figures, 3 population figures


def test_the_population_section_compares_the_same_survivors_with_and_without_the_pandemic(small_run):
    from awaken.records import read_cohort

    arms = {arm: read_cohort(small_run.path / "cohort" / arm) for arm in ("pandemic", "no_pandemic")}
    assert arms["pandemic"]["patients"].equals(arms["no_pandemic"]["patients"].assign(
        exit_date=arms["pandemic"]["patients"].exit_date, exit_reason=arms["pandemic"]["patients"].exit_reason))
    assert (arms["no_pandemic"]["infections"].pathogen == "influenza").all()
    html = small_run.report.read_text()
    assert "Cohort: virtual survivors with and without the pandemic" in html
    assert "with the pandemic" in html and "without the pandemic" in html
    covid = (arms["pandemic"]["infections"].pathogen == "sars_cov_2").sum()
    assert f"{covid:,}" in html  # the counts table shows the simulated numbers


def test_the_calibration_ensemble_adds_bands_and_pass_fractions(small_run):
    summary = json.loads((small_run.path / "ensemble_scores.json").read_text())
    mouse_ids = [t["id"] for t in load_targets()["mouse"]]
    assert sorted(summary["pass_fractions"]) == sorted(mouse_ids)
    assert all(0.0 <= f <= 1.0 for f in summary["pass_fractions"].values())
    from awaken.calibration.ensemble import load_ensemble

    assert summary["members"] >= 1
    assert summary["members"] + summary["rejected_by_envelope"] == len(load_ensemble())
    html = small_run.report.read_text()
    assert "ensemble passing" in html and "Dashed" in html


def test_without_an_ensemble_the_report_says_nothing_about_one(tmp_path):
    outcome = reproduce(tmp_path / "plain", mice=1, seed=2, days=30, ensemble=False, survivors=0)
    assert not (outcome.path / "ensemble_scores.json").exists()
    assert "ensemble passing" not in outcome.report.read_text()
    assert "Cohort:" not in outcome.report.read_text() and not (outcome.path / "cohort").exists()


def test_scorecard_json_matches_the_targets_file(small_run):
    rows = json.loads((small_run.path / "scorecard.json").read_text())
    ids = [t["id"] for group in STUDY_GROUPS for t in load_targets()[group]]
    # the study's targets in file order, then awaken's own human targets the cohort section scored (C5, P1)
    assert [r["id"] for r in rows][: len(ids)] == ids
    extra = [r["id"] for r in rows][len(ids):]
    assert set(extra) <= {t["id"] for g in COHORT_GROUPS for t in load_targets()[g]}
    assert all({"id", "measure", "band", "simulated", "passed"} <= set(r) for r in rows)


def test_same_seed_gives_identical_parquet_bytes(tmp_path):
    scenario = with_overrides(load_experiment("anti_cd4_influenza"), days=30, mice=2, seed=4)
    run_experiment(scenario, out=tmp_path / "a")
    run_experiment(scenario, out=tmp_path / "b")
    for table in ("timecourse", "per_mouse", "parameters"):
        a = (tmp_path / "a" / "tables" / f"{table}.parquet").read_bytes()
        b = (tmp_path / "b" / "tables" / f"{table}.parquet").read_bytes()
        assert a == b, table


def test_a_failed_run_leaves_nothing_behind(tmp_path, monkeypatch):
    import awaken.report.flagship as flagship

    def broken(*args, **kwargs):
        raise RuntimeError("simulated crash")

    monkeypatch.setattr(flagship, "save_figures", broken)
    scenario = with_overrides(load_experiment("pbs"), days=5, mice=1)
    with pytest.raises(RuntimeError):
        run_experiment(scenario, out=tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_the_flagship_default_run_passes_every_mouse_target(tmp_path):
    """What `make demo` runs: every experiment, 4 mice, 365 days, seed 0."""
    outcome = reproduce(tmp_path / "demo")
    assert outcome.scorecard.failed("mouse") == []
    human = {s.id: s for s in outcome.scorecard.human}
    assert human["H1_ukb_cancer_death"].passed  # the calibration target, re-measured on the demo's cohort
    assert human["H2_first_year"].passed is not None  # a check: scored, whichever way it comes out
    assert all(r.experiment.days == 365 for r in outcome.results.values())
