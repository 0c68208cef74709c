"""The design layer: intervals from event tables, and why they matter (immortal time bias).

The demonstration cohort has a known truth: death hazard 0.1 per year, infection hazard 0.3 per
year, and an infection multiplies the death hazard by ``hr_first_3_months`` during the 91 days
after it (and not afterwards). Follow-up: three years from 2020-01-01.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from awaken.survival import CoxPH, SurvivalDataError
from awaken.survival.design import ever_exposed, exposure_intervals, window_labels

START = pd.Timestamp("2020-01-01")
DEATH_RATE = 0.1 / 365.25       # per day
INFECTION_RATE = 0.3 / 365.25   # per day
WINDOW = 91                     # days of raised hazard after an infection
FOLLOW_UP = 3 * 365             # days


def cohort(n: int, hr_first_3_months: float, seed: int):
    """persons, exposures (one infection at most) and deaths, with the effect known."""
    rng = np.random.default_rng(seed)
    infection = np.floor(rng.exponential(1 / INFECTION_RATE, n))
    target = rng.exponential(1.0, n)  # death when the cumulative hazard reaches this
    # cumulative hazard H(t) = rate * (t + (hr - 1) * |[e, e + WINDOW] ∩ [0, t]|), inverted piecewise
    t_before = target / DEATH_RATE
    extra = (hr_first_3_months - 1) * WINDOW
    inside = infection + (target / DEATH_RATE - infection) / hr_first_3_months
    after = target / DEATH_RATE - extra
    death = np.where(t_before <= infection, t_before, np.where(inside <= infection + WINDOW, inside, after))
    death = np.ceil(death)  # whole days, as records
    ids = np.arange(n)
    end = np.minimum(death, FOLLOW_UP)
    persons = pd.DataFrame({"person_id": ids, "entry": START, "exit": START + pd.to_timedelta(end, "D"),
                            "age": rng.normal(70, 8, n).round()})
    infected = infection < end
    exposures = pd.DataFrame({"person_id": ids[infected], "date": START + pd.to_timedelta(infection[infected], "D")})
    died = death <= FOLLOW_UP
    deaths = pd.DataFrame({"person_id": ids[died], "date": START + pd.to_timedelta(death[died], "D")})
    return persons, exposures, deaths


@pytest.fixture(scope="module")
def null_cohort():
    return cohort(20_000, hr_first_3_months=1.0, seed=11)


def test_naive_ever_infected_comparison_shows_immortal_time_bias(null_cohort):
    """No true effect: the naive comparison makes infection look protective; the correct
    time-varying design does not."""
    persons, exposures, deaths = null_cohort
    naive_rows = ever_exposed(persons, exposures, deaths, origin="entry", end="exit")
    naive = CoxPH().fit(naive_rows, start="start", stop="stop", event="event", covariates=["ever_exposed"])
    rows = exposure_intervals(persons, exposures, deaths, origin="entry", end="exit", windows_days=(0,))
    correct = CoxPH().fit(rows, start="start", stop="stop", event="event", covariates=["exposed_0m+"])
    naive_hr = float(np.exp(naive.params_.iloc[0]))
    assert naive_hr < 0.6, naive_hr
    z = correct.params_.iloc[0] / correct.standard_errors_.iloc[0]
    assert abs(z) < 3, (float(np.exp(correct.params_.iloc[0])), float(z))


def test_windows_since_infection_recover_an_effect_confined_to_the_first_months():
    persons, exposures, deaths = cohort(40_000, hr_first_3_months=3.0, seed=12)
    rows = exposure_intervals(persons, exposures, deaths, origin="entry", end="exit", windows_days=(0, 91, 365))
    labels = [f"exposed_{x}" for x in window_labels((0, 91, 365))]
    fit = CoxPH().fit(rows, start="start", stop="stop", event="event", covariates=labels)
    truth = {labels[0]: np.log(3.0), labels[1]: 0.0, labels[2]: 0.0}
    for name, value in truth.items():
        z = (fit.params_[name] - value) / fit.standard_errors_[name]
        assert abs(z) < 3, (name, float(fit.params_[name]), float(z))
    assert fit.params_[labels[0]] - 2 * fit.standard_errors_[labels[0]] > np.log(2)


def test_intervals_tile_each_persons_follow_up(null_cohort):
    persons, exposures, deaths = null_cohort
    rows = exposure_intervals(persons, exposures, deaths, origin="entry", end="exit", covariates=["age"])
    assert (rows["stop"] > rows["start"]).all()
    by_person = rows.groupby("person_id")
    assert (by_person["start"].min() == 0).all()
    # contiguous: each row starts where the previous one stopped
    assert (rows["start"].to_numpy()[1:][rows["person_id"].to_numpy()[1:] == rows["person_id"].to_numpy()[:-1]]
            == rows["stop"].to_numpy()[:-1][rows["person_id"].to_numpy()[1:] == rows["person_id"].to_numpy()[:-1]]).all()
    follow_up = (persons.set_index("person_id")["exit"] - START).dt.days
    assert np.array_equal(by_person["stop"].max().to_numpy(), follow_up.loc[by_person["stop"].max().index].to_numpy())
    assert by_person["event"].sum().sum() == len(deaths)
    assert rows["age"].notna().all()


def test_a_repeat_exposure_restarts_the_windows():
    persons = pd.DataFrame({"person_id": [1], "entry": START, "exit": START + pd.Timedelta(days=700)})
    exposures = pd.DataFrame({"person_id": [1, 1], "date": [START + pd.Timedelta(days=100),
                                                             START + pd.Timedelta(days=300)]})
    rows = exposure_intervals(persons, exposures, exposures.iloc[:0], origin="entry", end="exit")
    assert rows[["start", "stop"]].to_numpy().tolist() == [
        [0, 100], [100, 191], [191, 283], [283, 300], [300, 391], [391, 483], [483, 665], [665, 700]]
    assert rows["window"].tolist() == ["none", "0-3m", "3-6m", "6-12m", "0-3m", "3-6m", "6-12m", "12m+"]


def test_competing_death_ends_follow_up_with_code_2():
    persons = pd.DataFrame({"person_id": [1, 2], "entry": START, "exit": START + pd.Timedelta(days=400)})
    none = pd.DataFrame({"person_id": [], "date": pd.to_datetime([])})
    outcome = pd.DataFrame({"person_id": [1], "date": [START + pd.Timedelta(days=200)]})
    competing = pd.DataFrame({"person_id": [1, 2], "date": [START + pd.Timedelta(days=300),
                                                             START + pd.Timedelta(days=50)]})
    rows = exposure_intervals(persons, none, outcome, origin="entry", end="exit", competing=competing)
    assert rows[["person_id", "stop", "event"]].to_numpy().tolist() == [[1, 200, 1], [2, 50, 2]]


@pytest.mark.parametrize("change,message", [
    (lambda p, e, o: (p.drop(columns=["exit"]), e, o), "missing column"),
    (lambda p, e, o: (p.assign(exit=p["entry"] - pd.Timedelta(days=1)), e, o), "dates out of order"),
    (lambda p, e, o: (p, e, o.assign(date=o["date"] + pd.Timedelta(days=5000))), "after the end of follow-up"),
    (lambda p, e, o: (p, e.assign(person_id=e["person_id"] + 10**9), o), "not in persons"),
    (lambda p, e, o: (p, e.assign(date=e["date"].astype(str)), o), "must be dates"),
    (lambda p, e, o: (pd.concat([p, p.iloc[:1]]), e, o), "repeats"),
])
def test_malformed_event_tables_are_refused(null_cohort, change, message):
    persons, exposures, deaths = change(*[t.head(200).copy() for t in null_cohort])
    with pytest.raises(SurvivalDataError, match=message):
        exposure_intervals(persons, exposures[exposures.person_id.isin(persons.person_id) | (exposures.person_id > 10**8)],
                           deaths[deaths.person_id.isin(persons.person_id)], origin="entry", end="exit")


def test_landmark_fixes_exposure_at_the_landmark_and_follows_survivors_from_there():
    from awaken.survival.design import landmark

    persons = pd.DataFrame({"person_id": [1, 2, 3, 4], "entry": pd.to_datetime(["2020-01-01"] * 4),
                            "exit": pd.to_datetime(["2021-01-01"] * 4)})
    exposures = pd.DataFrame({"person_id": [1, 2], "date": pd.to_datetime(["2020-02-01", "2020-09-01"])})
    outcomes = pd.DataFrame({"person_id": [3, 4], "date": pd.to_datetime(["2020-03-01", "2020-10-01"])})
    rows = landmark(persons, exposures, outcomes, origin="entry", end="exit", at_days=182)
    by_id = rows.set_index("person_id")
    assert sorted(by_id.index) == [1, 2, 4]  # person 3 had the outcome before the landmark
    assert by_id.loc[1, "exposed"] == 1 and by_id.loc[2, "exposed"] == 0  # exposed after: unexposed
    assert by_id.loc[4, "event"] == 1 and by_id.loc[4, "stop"] == 274 - 182
    assert (rows["start"] == 0).all()
