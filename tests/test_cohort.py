"""The virtual survivor cohort: draws, people, natural history, infections, records, scale-out."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from awaken.cohort.draws import uniforms
from awaken.cohort.mortality import PRE_PANDEMIC_YEAR, life_table
from awaken.cohort.natural_history import recurrence_hazards
from awaken.cohort.parameters import CohortScenario, load_cohort_table
from awaken.cohort.people import draw_people
from awaken.cohort.run import run_cohort
from awaken.cohort.simulate import simulate_block
from awaken.cohort.summary import ever_infected
from awaken.errors import InputError
from awaken.records import SCHEMAS, SchemaError, read_cohort, validate_table
from awaken.scorecard import in_band
from awaken.targets import load_targets

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cohort():
    """100,000 survivors of the default scenario, as DataFrames."""
    tables = simulate_block(CohortScenario(), seed=11, first=0, last=100_000)
    return {k: t.to_pandas() for k, t in tables.items()}


def _binomial_band(p: float, n: int, z: float = 4.0) -> tuple[float, float]:
    se = np.sqrt(p * (1 - p) / n)
    return p - z * se, p + z * se


# ---------------------------------------------------------------- draws
def test_counter_based_draws_are_uniform_and_independent_across_keys():
    ids = np.arange(200_000)
    u = uniforms(1, ids, 3)
    assert 0 < u.min() and u.max() < 1
    assert abs(u.mean() - 0.5) < 4 * np.sqrt(1 / 12 / ids.size)
    assert abs(u.var() - 1 / 12) < 0.002
    for other in (uniforms(1, ids, 4), uniforms(2, ids, 3), uniforms(1, ids, 3, index=1), u[1:]):
        assert abs(np.corrcoef(u[: other.size], other)[0, 1]) < 4 / np.sqrt(ids.size)
    # a person's draw does not depend on who else is drawn
    assert uniforms(1, ids[5000:5010], 3).tolist() == u[5000:5010].tolist()


# ---------------------------------------------------------------- people and natural history
def test_people_follow_the_parameter_table():
    scenario = CohortScenario()
    v = scenario.values()
    people = draw_people(scenario, seed=2, persons=np.arange(200_000))
    breast = people.cancer_type == 0
    lo, hi = _binomial_band(0.6, people.size)
    assert lo < breast.mean() < hi
    for code, name in enumerate(["subtype_hr_pos_her2_neg", "subtype_hr_pos_her2_pos", "subtype_hr_neg_her2_pos"]):
        lo, hi = _binomial_band(v[name], int(breast.sum()))
        assert lo < (people.subtype[breast] == code).mean() < hi, name
    age = people.age_at(people.diagnosis_day)
    assert abs(age[breast].mean() - v["breast_age_mean"]) < 0.5  # truncation at 25-90 moves it by < 0.2 y
    assert age.min() >= 25 and age.max() <= 90.01
    assert (people.entry_day >= people.diagnosis_day).all()


def test_recurrence_matches_its_cumulative_hazard():
    """Five-year recurrence of people followed from diagnosis equals 1 - exp(-H(5 y))."""
    scenario = CohortScenario(start="2000-01-01", end="2024-01-01", diagnosis_from="2000-01-01",
                              parameters={"awakening_strength": 0.0})
    people = draw_people(scenario, seed=5, persons=np.arange(100_000))
    from awaken.cohort import streams
    from awaken.cohort.draws import exponentials
    from awaken.cohort.natural_history import recurrence_days

    days = recurrence_days(people, scenario.values(), exponentials(5, people.person_id, streams.RECURRENCE))
    five = (days - people.diagnosis_day) / 365.25 < 5
    hazards = recurrence_hazards(people, scenario.values())
    expected = 1 - np.exp(-(hazards[:, :4] * np.array([1, 1, 1, 2])).sum(axis=1))
    for stage in range(3):
        sel = (people.stage == stage) & (people.cancer_type == 0)
        p = expected[sel].mean()
        lo, hi = _binomial_band(p, int(sel.sum()))
        assert lo < five[sel].mean() < hi


def test_life_table_is_the_wpp_store_with_pre_pandemic_rates():
    uk = life_table("united_kingdom")
    # WPP 2024 decade points (as quoted in the inputs): female, age 60, 2010 and 2020
    assert uk.rates[2010 - 1950, 0, 13] == pytest.approx(0.00652538, rel=1e-5)
    assert uk.rates[2020 - 1950, 0, 13] == pytest.approx(0.00666478, rel=1e-5)
    assert life_table("united_states").rates[2020 - 1950, 0, 13] == pytest.approx(0.00924845, rel=1e-5)
    assert uk.rate(60, True, 2023) == uk.rate(60, True, PRE_PANDEMIC_YEAR)


# ---------------------------------------------------------------- calendar and infections
@pytest.mark.parametrize("target", [t for t in load_targets()["cohort"] if "seroprevalence" in t["id"]],
                         ids=lambda t: t["id"])
def test_sars_cov_2_waves_reproduce_published_seroprevalence(cohort, target):
    """65+ was calibrated (band: sampling noise); 50-64 follows from the published age factor."""
    share, n = ever_infected(cohort["patients"], cohort["infections"], str(target["date"]), tuple(target["ages"]))
    assert in_band(share, target["band"]), (target["id"], share, n)


def test_influenza_attack_rate_and_vaccine_effectiveness_emerge(cohort):
    v = CohortScenario().values()
    p, inf, vac = cohort["patients"], cohort["infections"], cohort["vaccinations"]
    season_start, season_end = pd.Timestamp("2018-09-01"), pd.Timestamp("2019-09-01")
    alive = p[(pd.to_datetime(p.entry_date) <= season_start) & (pd.to_datetime(p.exit_date) >= season_end)]
    vaccinated = set(vac[(vac.vaccine == "influenza") & (pd.to_datetime(vac.date) >= season_start)
                         & (pd.to_datetime(vac.date) < season_end)].person_id)
    flu = inf[(inf.pathogen == "influenza") & (inf.wave == "2018-19")]
    infected = alive.person_id.isin(flu.person_id)
    is_vac = alive.person_id.isin(vaccinated)
    attack = float(infected[~is_vac].mean())
    lo, hi = _binomial_band(v["influenza_attack_rate"], int((~is_vac).sum()))
    # the season's tails outside the window and the 14-day lag are negligible at this size
    assert lo - 0.005 < attack < hi
    ratio = infected[is_vac].mean() / attack
    assert abs(ratio - (1 - v["influenza_ve"])) < 0.08


def test_influenza_vanishes_in_2020_21_only_when_the_pandemic_is_on():
    counts = {}
    for pandemic in (True, False):
        tables = simulate_block(CohortScenario(pandemic=pandemic), 3, 0, 20_000)
        inf = tables["infections"].to_pandas()
        counts[pandemic] = ((inf.wave == "2020-21").sum(), (inf.wave == "2018-19").sum(),
                            (inf.pathogen == "sars_cov_2").sum())
    assert counts[True][0] < 0.1 * counts[False][0]
    assert counts[True][1] == counts[False][1]  # common random numbers: pre-pandemic seasons identical
    assert counts[False][2] == 0 and counts[True][2] > 0


def test_records_are_a_fraction_of_infections_with_the_first_year_test_mix(cohort):
    t, inf = cohort["tests"], cohort["infections"]
    covid = inf[inf.pathogen == "sars_cov_2"]
    positive = t[(t.pathogen == "sars_cov_2") & (t.result == "positive")]
    assert 0.1 < len(positive) / len(covid) < 0.6
    first_year = t[(pd.to_datetime(t.date) >= "2020-03-01") & (pd.to_datetime(t.date) < "2021-03-01")
                   & (t.pathogen == "sars_cov_2")]
    tested = first_year.groupby("person_id").result.apply(lambda r: (r == "positive").any())
    # UK Biobank design: about 500 positive among 4,837 tested survivors (about 11%)
    assert 0.095 < tested.mean() < 0.125  # calibrated to about 11 % (negative_per_year of 2020-06 on)


def test_covid_deaths_follow_the_age_specific_fatality(cohort):
    d, p, inf = cohort["deaths"], cohort["patients"], cohort["infections"]
    covid_deaths = d[d.cause == "covid_19"]
    assert covid_deaths.person_id.isin(inf[inf.pathogen == "sars_cov_2"].person_id).all()
    first = inf[(inf.pathogen == "sars_cov_2") & (pd.to_datetime(inf.date) < "2020-12-01")]
    first = first.merge(p[["person_id", "birth_date"]], on="person_id")
    age = (pd.to_datetime(first.date) - pd.to_datetime(first.birth_date)).dt.days / 365.25
    v = CohortScenario().values()
    expected = float(np.minimum(10 ** (v["covid_ifr_intercept"] + v["covid_ifr_slope"] * age) / 100, 1).sum())
    observed = covid_deaths.person_id.isin(first.person_id).sum()
    assert abs(observed - expected) < 4 * np.sqrt(expected) + 2


def test_awakening_strength_zero_switches_the_mechanism_off():
    on = simulate_block(CohortScenario(parameters={"awakening_strength": 0.008}), 4, 0, 20_000)["metastases"]
    assert "infection" in set(on.column("latent_origin").to_pylist())
    off = CohortScenario(parameters={"awakening_strength": 0.0})
    arms = {p: simulate_block(off.model_copy(update={"pandemic": p}), 4, 0, 20_000)["metastases"]
            for p in (True, False)}
    assert "infection" not in set(arms[True].column("latent_origin").to_pylist())
    # without the mechanism the pandemic changes metastases only through deaths (COVID-19) and
    # never creates one: every metastasis of the pandemic arm also occurs without it
    with_pandemic = set(zip(arms[True].column("person_id").to_pylist(), arms[True].column("date").to_pylist()))
    without = set(zip(arms[False].column("person_id").to_pylist(), arms[False].column("date").to_pylist()))
    assert with_pandemic <= without


def test_the_human_lung_table_changes_only_what_human_data_exist_for():
    from awaken.lung.parameters import load_parameter_table

    mouse, human = load_parameter_table("mouse"), load_parameter_table("human")
    changed = {p.name for p in human.host} - {p.name for p in mouse.host if p in human.host}
    assert changed == {"il6_baseline", "il6_per_infected_cell", "il6_per_damaged_cell"}
    assert human.get("virus_clearance", "influenza_seasonal").value == 5.2  # Baccam et al. 2006


# ---------------------------------------------------------------- common random numbers
def test_common_random_numbers_shrink_the_variance_of_a_difference_tenfold():
    """Deaths with vs without the pandemic: same people (paired seeds) vs independent seeds.

    The paired difference keeps only the noise of what the pandemic changes (COVID-19 deaths,
    cancer deaths from awakened lesions); independent arms add the noise of every background death.
    (For an outcome that the pandemic itself mostly creates, such as extra lung metastases at the
    calibrated strength, the gain is smaller - about 7.6x measured - because the effect's own Poisson
    noise cannot be paired away; docs/population.md.)
    """
    def deaths(seed: int, pandemic: bool) -> int:
        return simulate_block(CohortScenario(pandemic=pandemic), seed, 0, 10_000)["deaths"].num_rows

    seeds = range(100, 130)
    pandemic = np.array([deaths(s, True) for s in seeds])
    paired = np.array([deaths(s, False) for s in seeds])
    independent = np.array([deaths(s + 1000, False) for s in seeds])
    assert (pandemic - paired).mean() > 0  # the pandemic adds deaths
    var_paired = np.var(pandemic - paired, ddof=1)
    var_independent = np.var(pandemic - independent, ddof=1)
    assert var_independent >= 10 * var_paired, (var_independent, var_paired)


# ---------------------------------------------------------------- records and schema
def test_tables_follow_the_documented_schema(cohort):
    for name, frame in cohort.items():
        validate_table(name, pa.Table.from_pandas(frame, schema=SCHEMAS[name], preserve_index=False))
    p = cohort["patients"]
    assert p.person_id.is_unique
    assert (pd.to_datetime(p.exit_date) >= pd.to_datetime(p.entry_date)).all()
    for name in ("infections", "tests", "vaccinations", "metastases", "deaths"):
        frame = cohort[name].merge(p[["person_id", "entry_date", "exit_date"]], on="person_id")
        date = pd.to_datetime(frame.date)
        assert (date >= pd.to_datetime(frame.entry_date)).all(), name
        assert (date <= pd.to_datetime(frame.exit_date)).all(), name
    assert cohort["deaths"].person_id.is_unique and cohort["metastases"].person_id.is_unique
    dead = p[p.exit_reason == "death"]
    assert set(dead.person_id) == set(cohort["deaths"].person_id)
    deaths = cohort["deaths"]
    cancer = deaths[deaths.latent_cause == "cancer"]
    assert cancer.person_id.isin(cohort["metastases"].person_id).all()
    # a certified cancer death without a metastasis is a COVID-19 death certified as one (mechanism d)
    certified = deaths[(deaths.cause == "cancer") & ~deaths.person_id.isin(cohort["metastases"].person_id)]
    assert (certified.latent_cause == "covid_19").all()
    assert ((deaths.cause == deaths.latent_cause) | ((deaths.cause == "cancer") & (deaths.latent_cause == "covid_19"))).all()


def test_schema_violations_are_named():
    table = pa.table({"person_id": pa.array([1], pa.int64()), "date": pa.array([0], pa.date32())})
    with pytest.raises(SchemaError, match="deaths: missing column 'cause'"):
        validate_table("deaths", table)
    wrong_type = pa.table({"person_id": pa.array([1], pa.int64()), "date": pa.array([0], pa.int32()),
                           "cause": pa.array(["cancer"])})
    with pytest.raises(SchemaError, match=r"deaths.date: type int32, expected date32"):
        validate_table("deaths", wrong_type)
    good = pa.table({"person_id": pa.array([1], pa.int64()), "date": pa.array([0], pa.date32()),
                     "cause": pa.array(["old age"])})
    with pytest.raises(SchemaError, match=r"deaths.cause: values \['old age'\]"):
        validate_table("deaths", good)
    twice = pa.table({"person_id": pa.array([1, 1], pa.int64()), "date": pa.array([0, 3], pa.date32()),
                      "cause": pa.array(["cancer", "other"])})
    with pytest.raises(SchemaError, match=r"deaths.person_id: repeated values \[1\]"):
        validate_table("deaths", twice, required_only=True)


def test_docs_data_md_documents_every_column():
    text = (ROOT / "docs" / "data.md").read_text()
    for name, schema in SCHEMAS.items():
        assert f"### `{name}`" in text, name
        for field in schema:
            assert f"| `{field.name}` | {field.type} |" in text, (name, field.name)


def test_block_layout_does_not_change_the_cohort():
    scenario = CohortScenario()
    whole = simulate_block(scenario, 9, 0, 3000)
    parts = [simulate_block(scenario, 9, a, b) for a, b in ((0, 1234), (1234, 3000))]
    for name in whole:
        assert whole[name].equals(pa.concat_tables([p[name] for p in parts])), name


# ---------------------------------------------------------------- input errors
@pytest.mark.parametrize("content, expected", [
    ("start: 2025-01-01\nend: 2015-01-01\n", "calendar window is backwards"),
    ("cancer_mix: {breast: 0.5, lung: 0.5}\n", "unknown cancer type 'lung'"),
    ("parameters: {influenza_attack_rate: -0.1}\n", "influenza_attack_rate = -0.1: must be >= 0 and <= 0.5"),
    ("pandemic: true\nwaves: 3\n", "waves"),
])
def test_bad_cohort_scenarios_exit_2_and_write_nothing(tmp_path, content, expected):
    from typer.testing import CliRunner

    from awaken.cli import app

    scenario = tmp_path / "bad.yaml"
    scenario.write_text(content)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["cohort", "--scenario", str(scenario), "--out", str(out), "--n", "10"])
    assert result.exit_code == 2, result.output
    assert expected in " ".join(result.output.split())
    assert not out.exists()


@pytest.mark.parametrize("args, expected", [(["--n", "0"], "--n = 0"), (["--n", "-5"], "--n = -5"),
                                            (["--workers", "0"], "--workers = 0"),
                                            (["--block-size", "0"], "--block-size = 0")])
def test_bad_cohort_options_exit_2_and_write_nothing(tmp_path, args, expected):
    from typer.testing import CliRunner

    from awaken.cli import app

    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["cohort", "--out", str(out), *args])
    assert result.exit_code == 2, result.output
    assert expected in result.output
    assert not out.exists()


def test_a_cohort_directory_refuses_other_settings(tmp_path):
    out = tmp_path / "c"
    run_cohort(CohortScenario(), n=200, seed=1, out=out, block_size=100, executor="inline")
    with pytest.raises(InputError, match=r"other settings \(seed"):
        run_cohort(CohortScenario(), n=200, seed=2, out=out, block_size=100, executor="inline")
    again = run_cohort(CohortScenario(), n=200, seed=1, out=out, block_size=100, executor="inline")
    assert again.skipped_blocks == 2


# ---------------------------------------------------------------- scale-out (Dask), determinism, resume
def _frames(path: Path) -> dict[str, pd.DataFrame]:
    return read_cohort(path)


@pytest.mark.slow
def test_one_and_two_dask_workers_give_identical_tables(tmp_path):
    runs = {w: run_cohort(CohortScenario(), n=20_000, seed=5, out=tmp_path / f"w{w}", workers=w, block_size=3000)
            for w in (1, 2)}
    reference = run_cohort(CohortScenario(), n=20_000, seed=5, out=tmp_path / "inline", block_size=20_000,
                           executor="inline")
    one, two, ref = _frames(runs[1].out), _frames(runs[2].out), _frames(reference.out)
    for name in one:
        pd.testing.assert_frame_equal(one[name], two[name])
        pd.testing.assert_frame_equal(one[name], ref[name])
    import pyarrow.parquet as pq

    for name in SCHEMAS:  # every file written validates against the documented schema
        for file in sorted((runs[2].out / name).glob("block-*.parquet")):
            validate_table(name, pq.read_table(file))


@pytest.mark.slow
def test_an_existing_dask_cluster_is_used_when_given_its_address(tmp_path):
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        run = run_cohort(CohortScenario(), n=4000, seed=6, out=tmp_path / "remote", scheduler=cluster.scheduler_address,
                         block_size=1000)
    reference = run_cohort(CohortScenario(), n=4000, seed=6, out=tmp_path / "inline", block_size=4000,
                           executor="inline")
    assert run.blocks == 4
    for name, frame in _frames(reference.out).items():
        pd.testing.assert_frame_equal(_frames(run.out)[name], frame)


def _cohort_command(out: Path, workers: int, n: int = 150_000, block: int = 1000) -> list[str]:
    return [sys.executable, "-m", "awaken.cli", "cohort", "--n", str(n), "--seed", "8", "--workers", str(workers),
            "--block-size", str(block), "--out", str(out)]


def _wait_for_markers(out: Path, at_least: int, process: subprocess.Popen, timeout: float = 180) -> int:
    deadline = time.time() + timeout
    while time.time() < deadline:
        done = len(list((out / "_blocks").glob("block-*.json"))) if (out / "_blocks").is_dir() else 0
        if done >= at_least:
            return done
        assert process.poll() is None, "the run ended before it could be interrupted"
        time.sleep(0.05)
    raise AssertionError("no progress")


@pytest.mark.slow
def test_a_killed_run_resumes_without_losing_or_duplicating_anyone(tmp_path):
    out = tmp_path / "killed"
    process = subprocess.Popen(_cohort_command(out, workers=2), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    done = _wait_for_markers(out, 5, process)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert done < 150
    assert not json.loads((out / "run.json").read_text())["complete"]
    with pytest.raises(InputError, match="has not finished"):
        read_cohort(out)
    finished = subprocess.run(_cohort_command(out, workers=1), capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr
    assert "blocks already done" in finished.stdout
    assert not list(out.glob("*/.block-*"))  # no temporary files left
    reference = run_cohort(CohortScenario(), n=150_000, seed=8, out=tmp_path / "reference", block_size=50_000,
                           executor="inline")
    resumed, ref = _frames(out), _frames(reference.out)
    assert resumed["patients"].person_id.tolist() == list(range(150_000))
    for name in ref:
        pd.testing.assert_frame_equal(resumed[name], ref[name])


@pytest.mark.slow
def test_killing_a_dask_worker_mid_run_changes_nothing(tmp_path):
    import psutil

    out = tmp_path / "worker_killed"
    process = subprocess.Popen(_cohort_command(out, workers=2), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    _wait_for_markers(out, 5, process)
    # the LocalCluster's nannies live in the client process and start each worker as a spawned child
    workers = [p for p in psutil.Process(process.pid).children() if "spawn_main" in " ".join(p.cmdline())]
    assert workers, "no Dask worker process found"
    workers[0].kill()
    assert process.wait(timeout=300) == 0
    reference = run_cohort(CohortScenario(), n=150_000, seed=8, out=tmp_path / "reference", block_size=50_000,
                           executor="inline")
    resumed, ref = _frames(out), _frames(reference.out)
    for name in ref:
        pd.testing.assert_frame_equal(resumed[name], ref[name])


def test_cohort_table_parameters_have_units_ranges_and_sources():
    table = load_cohort_table()
    for p in table.parameters:
        assert p.unit and p.source and p.range[0] <= p.value <= p.range[1], p.name
    for wave in table.covid_waves:
        assert wave.source


def test_docs_population_md_lists_every_parameter_with_its_value():
    text = (ROOT / "docs" / "population.md").read_text()
    table = load_cohort_table()
    for p in table.parameters:
        assert f"| `{p.name}` | {p.value:g} | {p.unit} |" in text, p.name
    for w in table.covid_waves:
        assert f"| `{w.name}` | {w.peak} |" in text and f"| {w.cumulative_hazard:g} |" in text, w.name


@pytest.mark.parametrize("path", sorted((ROOT / "examples" / "cohort").glob("*.yaml")), ids=lambda p: p.stem)
def test_example_cohort_scenarios_are_valid(path):
    from awaken.schemas import load_model

    scenario = load_model(path, CohortScenario)
    assert scenario.name == path.stem
