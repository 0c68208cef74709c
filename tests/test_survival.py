"""The survival engine's own invariants and its refusals of malformed data.

Agreement with R is in test_survival_oracle.py; these are properties any correct implementation
has, checked on data where they could fail.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from awaken.survival import (
    AalenJohansen,
    CoxPH,
    FineGray,
    KaplanMeier,
    SurvivalDataError,
    gray_test,
    split_at_event_times,
)

HEART = ["age", "year", "surgery", "transplant"]


DATA = Path(__file__).parent / "data" / "survival"


@pytest.fixture(scope="module")
def heart():
    return pd.read_csv(DATA / "heart.csv")


@pytest.fixture(scope="module")
def mgus():
    return pd.read_csv(DATA / "mgus2.csv")


def _fit(frame, **kwargs):
    arguments = dict(start="start", stop="stop", event="event", covariates=HEART) | kwargs
    ties = arguments.pop("ties", "efron")
    return CoxPH(ties=ties).fit(frame, **arguments)


def test_splitting_follow_up_into_more_rows_changes_nothing(heart):
    """Cutting every interval at other subjects' event times is the same data (R's survSplit)."""
    whole = _fit(heart)
    rows, start, stop, status = split_at_event_times(
        heart["start"].to_numpy(float), heart["stop"].to_numpy(float), heart["event"].to_numpy(bool),
        np.zeros(len(heart), dtype=np.int64))
    split = heart.iloc[rows].assign(start=start, stop=stop, event=status.astype(int)).reset_index(drop=True)
    assert len(split) > 5 * len(heart)
    pieces = _fit(split)
    np.testing.assert_allclose(pieces.params_, whole.params_, rtol=1e-10)
    np.testing.assert_allclose(pieces.standard_errors_, whole.standard_errors_, rtol=1e-10)
    assert pieces.log_likelihood_ == pytest.approx(whole.log_likelihood_, rel=1e-12)


def test_row_order_does_not_matter(heart):
    shuffled = heart.sample(frac=1.0, random_state=3)
    np.testing.assert_allclose(_fit(shuffled).params_, _fit(heart).params_, rtol=1e-12)


def test_integer_case_weights_equal_replicated_rows_under_breslow(heart):
    weights = np.random.default_rng(0).integers(1, 4, len(heart))
    weighted = _fit(heart.assign(w=weights), weights="w", ties="breslow", robust=False)
    replicated = _fit(heart.loc[heart.index.repeat(weights)], ties="breslow")
    np.testing.assert_allclose(weighted.params_, replicated.params_, rtol=1e-10)
    np.testing.assert_allclose(weighted.standard_errors_, replicated.standard_errors_, rtol=1e-10)


def test_right_censored_data_is_counting_process_data_starting_before_time_zero(mgus):
    right = CoxPH().fit(mgus, stop="etime", event="event", covariates=["age", "male"], cause=1)
    counting = CoxPH().fit(mgus.assign(start=-1.0), start="start", stop="etime", event="event",
                           covariates=["age", "male"], cause=1)
    np.testing.assert_allclose(right.params_, counting.params_, rtol=1e-12)


def test_cause_specific_hazard_censors_the_other_causes(mgus):
    by_cause = CoxPH().fit(mgus, stop="etime", event="event", covariates=["age", "male"], cause=2)
    recoded = CoxPH().fit(mgus.assign(death=(mgus["event"] == 2).astype(int)), stop="etime", event="death",
                          covariates=["age", "male"])
    np.testing.assert_allclose(by_cause.params_, recoded.params_, rtol=1e-12)


def test_stratification_gives_each_stratum_its_own_baseline(heart):
    """A covariate constant within strata has no information once stratified on it."""
    fit = _fit(heart, covariates=["age", "year", "transplant"], strata="surgery")
    unstratified = _fit(heart, covariates=["age", "year", "transplant"])
    assert not np.allclose(fit.params_, unstratified.params_, rtol=1e-3)
    with pytest.raises(SurvivalDataError, match=r"\['surgery'\] carry no information"):
        _fit(heart, covariates=["age", "surgery"], strata="surgery")
    with pytest.raises(SurvivalDataError, match="carry no information"):
        _fit(heart.assign(age2=2 * heart["age"]), covariates=["age", "age2"])


def test_without_competing_events_fine_gray_is_cox_with_breslow_ties(mgus):
    only_progression = mgus.assign(event=np.where(mgus["event"] == 1, 1, 0))
    fine_gray = FineGray().fit(only_progression, time="etime", event="event", covariates=["age", "male"])
    cox = CoxPH(ties="breslow").fit(only_progression, stop="etime", event="event", covariates=["age", "male"])
    np.testing.assert_allclose(fine_gray.params_, cox.params_, rtol=1e-9)


def test_with_one_cause_cumulative_incidence_is_one_minus_kaplan_meier(mgus):
    died = mgus.assign(status=mgus["death"])
    incidence = AalenJohansen().fit(died, time="futime", event="status", cause=1).cumulative_incidence_
    survival = KaplanMeier().fit(died, time="futime", event="status").survival_function_
    np.testing.assert_allclose(incidence, 1.0 - survival, atol=1e-14)


def test_cumulative_incidences_and_survival_add_to_one(mgus):
    first = AalenJohansen().fit(mgus, time="etime", event="event", cause=1).cumulative_incidence_
    second = AalenJohansen().fit(mgus, time="etime", event="event", cause=2).cumulative_incidence_
    overall = KaplanMeier().fit(mgus.assign(any=(mgus["event"] > 0).astype(int)), time="etime",
                                event="any").survival_function_
    np.testing.assert_allclose(first + second + overall, 1.0, atol=1e-12)


def test_gray_test_does_not_reject_a_random_split(mgus):
    split = mgus.assign(half=np.random.default_rng(1).integers(0, 2, len(mgus)))
    assert gray_test(split, time="etime", event="event", group="half")["p"] > 0.01
    assert gray_test(mgus, time="etime", event="event", group="male", cause=2)["p"] < 0.01


# ------------------------------------------------------------------ malformed data
@pytest.mark.parametrize("change,message", [
    (lambda d: d.drop(columns=["stop"]), "missing column"),
    (lambda d: d.assign(stop=np.where(d.index == 3, d["start"], d["stop"])), "stop > start"),
    (lambda d: d.assign(event=np.where(d.index == 5, 2, d["event"])), "0 (censored) or 1 (event)"),
    (lambda d: d.assign(age=np.where(d.index == 7, np.nan, d["age"])), "missing or infinite"),
    (lambda d: d.assign(w=np.where(d.index == 2, -1.0, 1.0)), "'w' must be > 0"),
    (lambda d: d.assign(year=d["year"].astype(str)), "must be numeric"),
])
def test_malformed_data_is_refused_naming_the_rule(heart, change, message):
    frame = change(heart.copy())
    weights = "w" if "w" in frame else None
    with pytest.raises(SurvivalDataError, match=message.replace("(", r"\(").replace(")", r"\)")) as error:
        _fit(frame, weights=weights)
    if "rows" in str(error.value):
        assert any(str(row) in str(error.value) for row in (2, 3, 5, 7))


def test_errors_name_the_offending_rows(heart):
    frame = heart.copy()
    frame.loc[[10, 11], "stop"] = frame.loc[[10, 11], "start"] - 1
    with pytest.raises(SurvivalDataError, match=r"rows 10, 11"):
        _fit(frame)


def test_competing_risks_refuse_an_absent_cause(mgus):
    with pytest.raises(SurvivalDataError, match="no row of 'event' has the cause 3"):
        AalenJohansen().fit(mgus, time="etime", event="event", cause=3)
    with pytest.raises(SurvivalDataError, match=r"'etime' must be >= 0"):
        FineGray().fit(mgus.assign(etime=-mgus["etime"]), time="etime", event="event", covariates=["age"])


def test_missing_group_labels_are_refused(mgus):
    frame = mgus.assign(male=mgus["male"].astype(float))
    frame.loc[4, "male"] = np.nan
    with pytest.raises(SurvivalDataError, match=r"'male' has missing values at rows 4"):
        gray_test(frame, time="etime", event="event", group="male")
    with pytest.raises(SurvivalDataError, match=r"'male' has missing values at rows 4"):
        FineGray().fit(frame, time="etime", event="event", covariates=["age"], censoring_group="male")


def test_overlapping_intervals_of_one_subject_are_refused_by_row():
    from awaken.survival import CoxPH, SurvivalDataError

    rows = pd.DataFrame({"id": [1, 1, 2, 2], "start": [0.0, 5.0, 0.0, 4.0], "stop": [6.0, 9.0, 4.0, 8.0],
                         "event": [0, 1, 0, 1], "x": [0.0, 1.0, 1.0, 0.0]})
    with pytest.raises(SurvivalDataError, match=r"intervals of the same id overlap.*broken at rows 1$"):
        CoxPH().fit(rows, start="start", stop="stop", event="event", covariates=["x"], id="id")
    rng = np.random.default_rng(4)
    n = 60
    stop = rng.uniform(2, 10, n)
    cut = stop * rng.uniform(0.2, 0.8, n)
    fine = pd.DataFrame({"id": np.repeat(np.arange(n), 2), "start": np.column_stack([np.zeros(n), cut]).ravel(),
                         "stop": np.column_stack([cut, stop]).ravel(),
                         "event": np.column_stack([np.zeros(n), rng.integers(0, 2, n)]).ravel(),
                         "x": rng.normal(size=2 * n)})
    a = CoxPH().fit(fine, start="start", stop="stop", event="event", covariates=["x"], id="id")
    b = CoxPH().fit(fine, start="start", stop="stop", event="event", covariates=["x"])
    assert a.params_.equals(b.params_)  # id checks, never changes an estimate
