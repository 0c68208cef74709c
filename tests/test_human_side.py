"""The human side: a virtual lung for every survivor, the competing explanations, their joint calibration."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from awaken.calibration import explanations as ex
from awaken.cohort.lungs import LUNG_READOUTS, person_parameters, simulate_lungs
from awaken.cohort.parameters import (
    MECHANISM_SWITCHES,
    CohortMechanisms,
    CohortScenario,
)
from awaken.cohort.simulate import (
    COURSE_PARAMETERS,
    finish_block,
    prepare_block,
    simulate_block,
)
from awaken.errors import InputError
from awaken.lung.parameters import load_parameter_table
from awaken.solvers.reference import simulate
from awaken.targets import load_targets

N = 20_000


@pytest.fixture(scope="module")
def block():
    return prepare_block(CohortScenario(), seed=5, first=0, last=N)


@pytest.fixture(scope="module")
def tables(block):
    return {k: t.to_pandas() for k, t in finish_block(block).items()}


# ---------------------------------------------------------------- a lung for every survivor
def test_a_persons_lung_is_drawn_once_keyed_by_person_and_inside_the_table():
    ids = np.arange(5000)
    flu = person_parameters(3, ids, "influenza_seasonal")
    cov = person_parameters(3, ids, "sars_cov_2")
    table = load_parameter_table("human")
    for p in table.parameters("sars_cov_2"):
        lo, hi = p.range
        assert (cov[p.name] >= lo).all() and (cov[p.name] <= hi).all(), p.name
        sigma = np.sqrt(np.log1p(p.cv ** 2))
        if p.cv > 0 and lo <= p.value * np.exp(-3 * sigma) and hi >= p.value * np.exp(3 * sigma):
            # log-normal around the table value with its cv where the range does not truncate it
            z = np.log(cov[p.name] / p.value) / sigma
            assert abs(np.median(z)) < 0.1 and 0.8 < z.std() < 1.1, p.name
    # host parameters are the same person whatever the pathogen; other seeds give other people
    assert np.array_equal(flu["il6_per_infected_cell"], cov["il6_per_infected_cell"])
    other = person_parameters(4, ids, "sars_cov_2")
    assert not np.array_equal(other["il6_per_infected_cell"], cov["il6_per_infected_cell"])
    shuffled = np.random.default_rng(0).permutation(ids)
    assert np.array_equal(person_parameters(3, shuffled, "sars_cov_2")["virus_infectivity"],
                          cov["virus_infectivity"][shuffled])


def test_every_infection_in_the_cohort_is_its_persons_own_lung(tables):
    """The cohort's recorded lung read-outs are what the person's lung gives when simulated alone, and the
    same person meets a second unvaccinated infection with the same lung."""
    inf = tables["infections"]
    pathogen = (inf.pathogen == "sars_cov_2").to_numpy().astype(np.int8)
    strength = np.zeros(len(inf))
    unvaccinated = (inf.vaccine_protection == 0).to_numpy()
    sample = np.flatnonzero(unvaccinated)[:64]
    alone = simulate_lungs(5, inf.person_id.to_numpy()[sample], pathogen[sample], strength[sample],
                           CohortScenario().values())
    for name in LUNG_READOUTS:
        assert np.array_equal(getattr(alone, name), inf[f"latent_{name}"].to_numpy()[sample]), name
    again = inf[unvaccinated].groupby(["person_id", "pathogen"]).latent_fold_change.agg(["nunique", "size"])
    assert (again["size"] > 1).any() and (again.loc[again["size"] > 1, "nunique"] == 1).all()


def test_the_cohorts_lung_agrees_with_the_reference_solver():
    """One survivor's infection through the fast path equals the reference (Radau) solver's run of the same
    lung to the fast solver's accuracy (docs/performance.md: 1e-4 relative on the DCC count)."""
    from awaken.experiments.protocol import Experiment
    from awaken.solvers.schedule import animal_setup

    params = {k: float(v[0]) for k, v in person_parameters(9, np.array([42]), "sars_cov_2").items()}
    fast = simulate_lungs(9, np.array([42]), np.array([1], np.int8), np.zeros(1), CohortScenario().values())
    experiment = Experiment(name="one_survivor", species="human", virus={"kind": "sars_cov_2"}, days=121)
    params, controls, events = animal_setup(experiment, params)
    reference = simulate(params, controls, events, 121.0, output_days=np.array([0.0, 120.0]))
    dcc = reference.readouts["dcc_count"]
    assert fast.fold_change[0] == pytest.approx(dcc[1] / dcc[0], rel=1e-3)


def test_vaccination_acts_inside_the_lung():
    ids = np.arange(400)
    values = CohortScenario().values()
    none = simulate_lungs(1, ids, np.ones(ids.size, np.int8), np.zeros(ids.size), values)
    full = simulate_lungs(1, ids, np.ones(ids.size, np.int8), np.ones(ids.size), values)
    assert (full.virus_peak < none.virus_peak).mean() > 0.95
    assert np.median(full.fold_change) < np.median(none.fold_change)
    off = {**values, "vaccine_lung_infectivity_reduction": 0.0, "vaccine_lung_clearance_gain": 0.0}
    same = simulate_lungs(1, ids, np.ones(ids.size, np.int8), np.ones(ids.size), off)
    assert np.array_equal(same.fold_change, none.fold_change)


# ---------------------------------------------------------------- the competing explanations
def test_switching_a_mechanism_off_equals_its_null_value(block):
    for mechanism, (name, null) in MECHANISM_SWITCHES.items():
        off = CohortScenario(mechanisms=CohortMechanisms(**{mechanism: False}))
        assert off.values()[name] == null
    every = {name: null for name, null in MECHANISM_SWITCHES.values()}
    by_values = finish_block(block, {**block.values, **every})
    off = CohortScenario(mechanisms=CohortMechanisms(**dict.fromkeys(MECHANISM_SWITCHES, False)))
    by_switch = simulate_block(off, 5, 0, N)
    for name in by_values:
        assert by_values[name].equals(by_switch[name]), name


def test_each_mechanism_leaves_its_own_trace_and_never_delays_anything(block):
    every_off = {name: null for name, null in MECHANISM_SWITCHES.values()}
    base = {k: t.to_pandas() for k, t in finish_block(block, {**block.values, **every_off}).items()}
    assert (base["metastases"].latent_origin == "background").all()
    assert (base["metastases"].latent_advanced_days == 0).all() and (base["deaths"].latent_advanced_days == 0).all()
    assert (base["deaths"].cause == base["deaths"].latent_cause).all()

    def arm(**on):
        values = {**block.values, **every_off, **on}
        return {k: t.to_pandas() for k, t in finish_block(block, values).items()}

    occult = arm(occult_acceleration=3.0)
    merged = occult["metastases"].merge(base["metastases"], on="person_id", suffixes=("", "_base"))
    assert (merged.latent_advanced_days > 0).sum() > 5
    assert (merged.date <= merged.date_base).all()
    shift = (pd.to_datetime(merged.date_base) - pd.to_datetime(merged.date)).dt.days
    assert (shift - merged.latent_advanced_days).abs().max() <= 1
    metastatic = arm(metastatic_acceleration=3.0)
    deaths = metastatic["deaths"].merge(base["deaths"], on="person_id", suffixes=("", "_base"))
    assert (deaths.latent_advanced_days > 0).sum() > 5 and (deaths.date <= deaths.date_base).all()
    certified = arm(covid_death_certified_cancer=0.5)["deaths"]
    swapped = certified[(certified.latent_cause == "covid_19") & (certified.cause == "cancer")]
    assert len(swapped) > 0 and (certified.latent_cause == base["deaths"].set_index("person_id").loc[
        certified.person_id, "latent_cause"].to_numpy()).all()
    tested = arm(care_testing_factor=10.0)["tests"]
    assert len(tested) > len(base["tests"])


def test_course_parameters_vary_on_a_prepared_block_and_nothing_else_does(block):
    scenario = CohortScenario(parameters={"awakening_strength": 0.02, "covid_death_certified_cancer": 0.2})
    again = simulate_block(scenario, 5, 0, N)
    reused = finish_block(block, scenario.values())
    for name in again:
        assert again[name].equals(reused[name]), name
    assert "awakening_strength" in COURSE_PARAMETERS
    with pytest.raises(ValueError, match="influenza_attack_rate act before the lungs"):
        finish_block(block, {**block.values, "influenza_attack_rate": 0.2})


def test_the_new_targets_are_data_with_sources():
    targets = load_targets()
    c5 = next(t for t in targets["cohort"] if t["id"] == "C5_lung_share_first_metastasis")
    p1 = next(t for t in targets["plausibility"] if t["id"] == "P1_infection_lung_share")
    assert c5["band"][0] < c5["published"]["estimate"] < c5["band"][1] and "SEER" in c5["source"]
    assert p1["band"][0] == 0 and p1["source"]
    assert set(ex.MEASURES) <= {t["id"] for group in targets.values() for t in group}


def test_human_measures_on_a_cohort(tables):
    records = {k: tables[k].assign(**{c: pd.to_datetime(tables[k][c]) for c in tables[k] if c.endswith("date")})
               for k in ("patients", "tests", "metastases", "deaths")}
    measures = ex.human_measures(records)
    assert set(measures) == set(ex.MEASURES)
    assert 0.1 < measures["C5_lung_share_first_metastasis"] < 0.6
    assert 0 <= measures["P1_infection_lung_share"] <= 1


# ---------------------------------------------------------------- the joint calibration
def test_prior_draws_are_reproducible_and_inside_the_prior():
    a = ex.draw_particles("all", 50, seed=3)
    assert a == ex.draw_particles("all", 50, seed=3) and a != ex.draw_particles("all", 50, seed=4)
    assert a[:10] == ex.draw_particles("all", 10, seed=3)  # particle k depends only on (seed, k)
    for name, prior in ex.PRIORS.items():
        values = np.array([p[name] for p in a])
        assert (values >= prior.low).all() and (values <= prior.high).all(), name
    from awaken.calibration.settings import COMBINATION_NAMES

    assert tuple(ex.COMBINATIONS) == COMBINATION_NAMES


def test_explain_refuses_bad_settings_before_any_work(tmp_path):
    import awaken

    with pytest.raises(InputError, match="particles"):
        awaken.explain(n=20_000, particles=0, out=tmp_path / "x")
    with pytest.raises(InputError, match="unknown combination 'magic'"):
        awaken.explain(n=20_000, combinations=["magic"], out=tmp_path / "x")
    with pytest.raises(InputError, match="n"):
        awaken.explain(n=10, out=tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_explain_writes_a_run_that_says_what_it_accepted(tmp_path):
    import awaken

    result = awaken.explain(n=20_000, seeds=[1], particles=2, combinations=["non_causal"], replicates=0,
                            out=tmp_path / "run")
    table = pd.read_parquet(tmp_path / "run" / "particles.parquet")
    assert len(table) == 2 and set(ex.MEASURES) <= set(table.columns)
    assert result.summary.loc["non_causal", "particles"] == 2
    assert (tmp_path / "run" / "figures" / "explanations.png").stat().st_size > 0
    # common random numbers: the same particle on the same survivors gives the same numbers
    again = awaken.explain(n=20_000, seeds=[1], particles=2, combinations=["non_causal"], replicates=0)
    pd.testing.assert_frame_equal(again.particles, result.particles)


def test_real_size_studies_draw_the_real_number_of_tested_survivors(tables):
    records = {k: tables[k].assign(**{c: pd.to_datetime(tables[k][c]) for c in tables[k] if c.endswith("date")})
               for k in ("patients", "tests", "metastases", "deaths")}
    with pytest.raises(ValueError, match="fewer than the 4,837"):
        ex.real_size_odds_ratios(records, replicates=2)
    ors = ex.real_size_odds_ratios(records, replicates=3, size=1500, seed=1)
    assert ors.shape == (3,) and np.isfinite(ors).all()
    assert np.array_equal(ors, ex.real_size_odds_ratios(records, replicates=3, size=1500, seed=1))


def test_cohort_tables_are_valid_records(tables):
    from awaken.records import SCHEMAS, validate_table

    for name, frame in tables.items():
        validate_table(name, pa.Table.from_pandas(frame, schema=SCHEMAS[name], preserve_index=False))


def test_every_excess_event_has_exactly_one_path(block):
    from awaken.cohort.attribution import PATHS, attribute, paths

    values = {**block.values, "awakening_strength": 0.01, "occult_acceleration": 2.0,
              "metastatic_acceleration": 2.0, "covid_death_certified_cancer": 0.3}
    arm = {k: t.to_pandas() for k, t in finish_block(block, values).items()}
    every_off = {name: null for name, null in MECHANISM_SWITCHES.values()}
    null = {k: t.to_pandas() for k, t in finish_block(block, {**block.values, **every_off}).items()}
    found = paths(arm)
    m, d = arm["metastases"], arm["deaths"]
    assert len(found["lung_metastases"]) == (m.site == "lung").sum()
    assert len(found["cancer_deaths"]) == (d.cause == "cancer").sum()
    assert set(found["cancer_deaths"]) <= set(PATHS) and {"awakened", "certified"} <= set(found["cancer_deaths"])
    assert set(paths(null)["cancer_deaths"]) == {"natural_history"}
    table = attribute({"mechanisms": arm, "none": null})
    # with every mechanism off nothing is attributed, and natural history is the same people either way
    assert table.loc[("cancer_deaths", "certified"), "none"] == 0
    assert table["difference"].sum() == table["mechanisms"].sum() - table["none"].sum()


# ---------------------------------------------------------------- the shipped calibration
def test_the_cohort_defaults_are_the_shipped_posterior_medians():
    from awaken.calibration.predictions import load_posterior

    posterior = load_posterior()
    combination = posterior.combination.iloc[0]
    values = CohortScenario().values()
    for mechanism, (name, null) in MECHANISM_SWITCHES.items():
        if mechanism in ex.COMBINATIONS[combination]:
            assert values[name] == pytest.approx(posterior[name].median(), rel=5e-3), name
        else:
            assert values[name] == null, name
    # every shipped particle met every target on every calibration seed
    bands = ex._bands()
    for measure, (lo, hi) in bands.items():
        for column in [c for c in posterior.columns if c.startswith(measure + "_seed")]:
            assert ((posterior[column] >= lo) & (posterior[column] <= hi)).all(), column


@pytest.mark.slow
def test_a_shipped_particle_is_reproduced_by_its_command():
    """The posterior is what `awaken explain` computes: a shipped particle, re-drawn from the prior and
    re-evaluated on the recorded settings, gives the recorded measures exactly."""
    import json
    from importlib import resources

    from awaken.calibration.predictions import load_posterior

    posterior = load_posterior()
    header = (resources.files("awaken.calibration") / "data" / "human_posterior.csv").read_text().splitlines()[0]
    settings = json.loads(header.split("settings ", 1)[1])
    row = posterior.iloc[0]
    drawn = ex.draw_particles(row.combination, int(row.particle) + 1, settings["prior_seed"])[int(row.particle)]
    for name, value in drawn.items():
        assert value == pytest.approx(row[name], rel=1e-12)
    cohorts = [ex.prepared_cohort(settings["n"], seed) for seed in settings["seeds"]]
    evaluation = ex.evaluate(row.combination, drawn, cohorts)
    assert evaluation.accepted
    for seed, measures in zip(settings["seeds"], evaluation.measures):
        for measure, value in measures.items():
            assert value == pytest.approx(row[f"{measure}_seed{seed}"], rel=1e-9), (measure, seed)


def test_the_evidence_prefers_fewer_mechanisms_unless_the_bayes_factor_is_substantial():
    summary = pd.DataFrame({"acceptance": [0.9, 0.95, 0.2], "particles": [32, 32, 32]},
                           index=["non_causal", "all", "awakening"])
    assert ex.choose(summary) == "non_causal"
    summary.loc["non_causal", "acceptance"] = 0.3
    assert ex.choose(summary) == "all"
    assert ex.choose(summary.assign(acceptance=0.0)) is None


def test_real_size_studies_need_a_cohort_large_enough_and_say_so_before_any_work(tmp_path):
    import awaken

    with pytest.raises(InputError, match="replicates = 5 needs n >= 40,000"):
        awaken.explain(n=20_000, particles=1, replicates=5, out=tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_mechanisms_together_never_act_later_than_one_of_them_alone(block):
    """Awakening and occult acceleration together: every metastasis no later than with (b) alone."""
    every_off = {name: null for name, null in MECHANISM_SWITCHES.values()}
    b_only = {**block.values, **every_off, "occult_acceleration": 3.0}
    both = {**b_only, "awakening_strength": 0.03}
    alone = finish_block(block, b_only, ("metastases",))["metastases"].to_pandas()
    together = finish_block(block, both, ("metastases",))["metastases"].to_pandas()
    merged = alone.merge(together, on="person_id", how="left", suffixes=("_b", "_ab"))
    assert merged.date_ab.notna().all()  # nobody loses a metastasis by adding a mechanism
    assert (pd.to_datetime(merged.date_ab) <= pd.to_datetime(merged.date_b)).all()


@pytest.mark.parametrize("args, expected", [
    (["--particles", "0"], "--particles = 0: must be >= 1"),
    (["--seeds", "1.5"], "seeds"),
    (["--combinations", "magic"], "unknown combination 'magic'"),
    (["--n", "20000"], "needs n >= 40,000"),
])
def test_explain_on_the_command_line_refuses_bad_input_with_exit_2(tmp_path, args, expected):
    from typer.testing import CliRunner

    from awaken.cli import app

    result = CliRunner().invoke(app, ["explain", *args, "--out", str(tmp_path / "run")])
    assert result.exit_code == 2, result.output
    assert expected in " ".join(result.output.split())
    assert not (tmp_path / "run").exists()
