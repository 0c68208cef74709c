"""Fine-Gray regression and Gray's test agree with cmprsk and survival, and answer any data sensibly.

Oracle values come from ``tests/oracle/fine_gray_oracle.R`` (committed output in
``tests/data/survival/fine_gray_oracle.json``, which also holds the data cmprsk's own examples
generate). When Rscript is on the PATH the script is re-run once per session and must reproduce the
committed fixture; ``AWAKEN_REQUIRE_R=1`` turns a missing R into a failure, as in
test_survival_oracle.py.
"""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from awaken.survival import ConvergenceWarning, FineGray, SurvivalDataError, finegray, gray_test
from awaken.survival import _crr as crr_module

DATA = Path(__file__).parent / "data" / "survival"
SCRIPT = Path(__file__).parent / "oracle" / "fine_gray_oracle.R"
ORACLE = json.loads((DATA / "fine_gray_oracle.json").read_text())
DIGITS = 6


def agrees(ours, theirs, digits: int = DIGITS) -> None:
    """Each value within 10^-digits relative of R's (curves: the largest value scales those near 0)."""
    ours = np.asarray(ours, dtype=float).ravel()
    theirs = np.asarray([np.nan if v is None else v for v in np.ravel(theirs)], dtype=float)
    assert ours.shape == theirs.shape
    scale = np.nanmax(np.abs(theirs)) if theirs.size > 1 else 0.0
    np.testing.assert_allclose(ours, theirs, rtol=10.0**-digits, atol=10.0**-digits * scale)


def quadratic(times):
    return np.column_stack([times, times**2])


def frame(name: str) -> pd.DataFrame:
    if name == "example":   # ?crr's simulated data; crr's cov2 there is cbind(cov[, 1], cov[, 1])
        data = pd.DataFrame(ORACLE["crr_example_data"])
        return data.assign(x1b=data["x1"], cengroup=ORACLE["crr_example_cengroup"]["cengroup"])
    if name == "test":      # cmprsk's tests/test.R, complete cases
        data = pd.DataFrame(ORACLE["crr_test_data"])
        return data.assign(cv1b=data["cv1"])
    data = pd.read_csv(DATA / f"{name}.csv")
    if name == "ties":
        data["status"] = np.where(data.event == 1, np.where(data.x2 == 1, 2, 1), 0)
        data["x1b"] = data["x1"]
        data["w"] = data["weight"]
    if name == "mgus2":
        data["w"] = 1 + (data["id"] % 3) / 2
    return data


EXAMPLE = dict(frame="example", time="ftime", event="fstatus", covariates=["x1", "x2", "x3"])
TEST = dict(frame="test", time="ss", event="cc", covariates=["cv1", "cv2", "cv3"])
MGUS2 = dict(frame="mgus2", time="etime", event="event", covariates=["age", "male"])
CRR_CASES = {
    # case: (fit arguments, the rows predict.crr was asked about)
    "crr_example": (EXAMPLE, dict(x1=[.1, .1], x2=[.5, .5], x3=[.8, .2])),
    "crr_example_cause2": (EXAMPLE | dict(cause=2), None),
    "crr_example_tf": (EXAMPLE | dict(time_varying=["x1", "x1b"], tf=quadratic),
                       dict(x1=[.1, .9], x2=[.5, .5], x3=[.8, .2], x1b=[.1, .9])),
    "crr_test_tf_cause2": (TEST | dict(time_varying=["cv1", "cv1b"], tf=quadratic, cause=2), None),
    "crr_test_cov2_only": (TEST | dict(covariates=[], time_varying=["cv1"], tf=lambda t: t), dict(cv1=[1.0])),
    "mgus2_crr": (MGUS2, dict(age=[60, 80], male=[0, 1])),
    "mgus2_tf_cause1": (MGUS2 | dict(time_varying=["age"], tf=np.log), dict(age=[60, 80], male=[0, 1])),
    "mgus2_tf_cause2": (MGUS2 | dict(time_varying=["age"], tf=np.log, cause=2), dict(age=[60, 80], male=[0, 1])),
    "ties_tf": (dict(frame="ties", time="stop", event="status", covariates=["x1"], time_varying=["x1b"],
                     tf=lambda t: t / 30), dict(x1=[-1, 1], x1b=[-1, 1])),
}


def fit(arguments: dict, **init) -> FineGray:
    arguments = dict(arguments)
    return FineGray(**init).fit(frame(arguments.pop("frame")), **arguments)


# ---------------------------------------------------------------------------- cmprsk::crr
@pytest.mark.parametrize("case", list(CRR_CASES))
def test_fine_gray_matches_crr(case):
    """Coefficients, crr's sandwich SEs, pseudo-log-likelihoods, the baseline jumps (bfitj) and
    predict.crr's cumulative incidence, with and without time-varying covariates (cov2/tf)."""
    arguments, new_rows = CRR_CASES[case]
    model, r = fit(arguments), ORACLE[case]
    assert model.converged_ and r["converged"] == [1]
    assert len(model.covariates_) == len(r["names"])
    agrees(model.params_, r["coef"])
    agrees(model.standard_errors_, r["se"])
    agrees([model.log_likelihood_, model.log_likelihood_null_], r["loglik"] + r["loglik_null"])
    hazard = model.baseline_cumulative_hazard_
    agrees(hazard.index, r["uftime"])
    agrees(np.diff(hazard.to_numpy(), prepend=0.0), r["bfitj"])
    if new_rows is not None:
        incidence = model.predict_cumulative_incidence(pd.DataFrame(new_rows))
        agrees(incidence.index, r["predict"]["time"])
        agrees(incidence.to_numpy().T, r["predict"]["cif"])   # R: one column per row, column-major


@pytest.mark.parametrize("case,arguments", [
    ("crr_example_cengroup", EXAMPLE | dict(censoring_group="cengroup")),
    ("crr_example_tf_cengroup", EXAMPLE | dict(censoring_group="cengroup", time_varying=["x1", "x1b"], tf=quadratic)),
    ("crr_test_tf_cengroup", TEST | dict(censoring_group="cv3", time_varying=["cv1", "cv1b"], tf=quadratic)),
])
def test_censoring_groups_match_crr_and_its_variance_on_request(case, arguments):
    """cengroup: the estimate is crr's; crr's standard errors with censoring_group_variance="crr"
    (its censoring term for a group counts that group's failures only); the default counts every
    failure (Fine & Gray's derivation) and differs by well under 1 % here (docs/survival.md)."""
    r = ORACLE[case]
    as_crr = fit(arguments, censoring_group_variance="crr")
    agrees(as_crr.params_, r["coef"])
    agrees(as_crr.standard_errors_, r["se"])
    agrees([as_crr.log_likelihood_, as_crr.log_likelihood_null_], r["loglik"] + r["loglik_null"])
    default = fit(arguments)
    agrees(default.params_, r["coef"])
    difference = np.abs(default.standard_errors_.to_numpy() / np.asarray(r["se"]) - 1)
    assert 1e-6 < difference.max() < 1e-2


def test_the_censoring_group_difference_in_the_main_oracle_is_crr_s_rule():
    """tests/data/survival/oracle.json's tied data with cengroup: crr's SE 0.0756600 is its rule, the
    default 0.0756161 counts every failure in each group's censoring term."""
    r = json.loads((DATA / "oracle.json").read_text())["ties_finegray_cengroup"]
    arguments = dict(frame="ties", time="stop", event="status", covariates=["x1"], censoring_group="group")
    agrees(fit(arguments, censoring_group_variance="crr").standard_errors_, r["se"])
    assert fit(arguments).standard_errors_["x1"] == pytest.approx(0.0756161, abs=5e-8)


def test_time_functions_equal_to_one_give_the_fixed_covariate_fit():
    """The compiled time-varying path and the vectorised one are the same estimator."""
    data = frame("mgus2").assign(age_copy=lambda d: d["age"])
    fixed = FineGray().fit(data, "etime", "event", ["age", "male"], censoring_group="male")
    varying = FineGray().fit(data, "etime", "event", ["male"], time_varying=["age_copy"],
                             tf=lambda t: np.ones_like(t), censoring_group="male")
    np.testing.assert_allclose(varying.params_.to_numpy()[[1, 0]], fixed.params_, rtol=1e-10)
    np.testing.assert_allclose(varying.standard_errors_.to_numpy()[[1, 0]], fixed.standard_errors_, rtol=1e-10)
    np.testing.assert_allclose(varying.baseline_cumulative_hazard_, fixed.baseline_cumulative_hazard_, rtol=1e-10)


def test_the_sandwich_computed_time_by_time_equals_the_cumulative_sums(monkeypatch):
    """A linear predictor too spread for one shared shift switches the sandwich to the per-time pass."""
    data = frame("example")
    usual = FineGray().fit(data, "ftime", "fstatus", ["x1", "x2", "x3"], censoring_group="cengroup")
    monkeypatch.setattr(crr_module, "MAX_SHARED_SHIFT", -1.0)
    exact = FineGray().fit(data, "ftime", "fstatus", ["x1", "x2", "x3"], censoring_group="cengroup")
    np.testing.assert_allclose(exact.standard_errors_, usual.standard_errors_, rtol=1e-10)


def test_predicted_incidence_at_chosen_times_is_a_step():
    model = fit(CRR_CASES["mgus2_crr"][0])
    rows = pd.DataFrame({"age": [60, 80], "male": [0, 1]}, index=["young woman", "old man"])
    curve = model.predict_cumulative_incidence(rows)
    read = model.predict_cumulative_incidence(rows, times=[0.5, 2.0, 3.0, 1000.0])
    assert list(read.columns) == ["young woman", "old man"]
    np.testing.assert_array_equal(read.iloc[0], 0.0)
    np.testing.assert_array_equal(read.loc[3.0], curve.loc[2.0])
    np.testing.assert_array_equal(read.loc[1000.0], curve.iloc[-1])


# ---------------------------------------------------------------------------- survival::finegray + coxph
def test_finegray_data_match_r():
    """The expanded rows, row by row, with strata (per-stratum censoring) and for another cause.
    awaken's fgwt carries the case weights (R's finegray misplaces them with strata; the oracle gives
    them to coxph instead, fgwt * w)."""
    ties = frame("ties")
    rows = finegray(ties, "stop", "status", cause=1, weights="w", strata="group")
    r = ORACLE["ties_finegray_data"]
    assert rows["id"].tolist() == [int(v) for v in r["id"]]
    for column in ("fgstart", "fgstop", "fgstatus"):
        agrees(rows[column], r[column])
    agrees(rows["fgwt"] / rows["w"], r["fgwt"])
    rows = finegray(ties, "stop", "status", cause=2, count="added")
    r = ORACLE["ties_finegray_data_cause2"]
    assert rows["id"].tolist() == [int(v) for v in r["id"]]
    for column in ("fgstart", "fgstop", "fgstatus", "fgwt"):
        agrees(rows[column], r[column])
    assert (rows.groupby("id")["added"].max() == rows.groupby("id").size() - 1).all()
    mgus2 = frame("mgus2")
    for cause in (1, 2):
        rows = finegray(mgus2, "etime", "event", cause=cause, strata="male")
        r = ORACLE[f"mgus2_finegray_data_cause{cause}"]
        assert len(rows) == r["rows"][0]
        agrees([rows.fgwt.sum(), rows.fgstart.sum(), rows.fgstop.sum(), rows.fgstatus.sum(),
                (rows["id"] * rows.fgwt * rows.fgstop).sum()],
               [r[k][0] for k in ("sum_fgwt", "sum_fgstart", "sum_fgstop", "sum_fgstatus", "sum_id_fgwt_fgstop")])


@pytest.mark.parametrize("case,init,arguments", [
    ("ties_finegray_coxph_efron", dict(ties="efron"),
     dict(frame="ties", time="stop", event="status", covariates=["x1"], weights="w", strata="group")),
    ("ties_finegray_coxph_breslow", dict(),
     dict(frame="ties", time="stop", event="status", covariates=["x1"], weights="w", strata="group")),
    ("mgus2_finegray_coxph_cause1", dict(ties="efron"), MGUS2 | dict(covariates=["age"], weights="w", strata="male")),
    ("mgus2_finegray_coxph_cause2", dict(ties="efron"),
     MGUS2 | dict(covariates=["age"], weights="w", strata="male", cause=2)),
    ("mgus2_finegray_coxph_weighted", dict(ties="efron"), MGUS2 | dict(weights="w")),
])
def test_weights_and_strata_match_finegray_and_coxph(case, init, arguments):
    """coxph(Surv(fgstart, fgstop, fgstatus) ~ x + strata(s), weights = fgwt * w, cluster = id):
    coefficients, robust and model-based SEs, log-likelihoods."""
    model, r = fit(arguments, **init), ORACLE[case]
    assert model.method_ == "finegray" and model.converged_
    agrees(model.params_, r["coef"])
    agrees(model.standard_errors_, r["se"])
    agrees(np.sqrt(np.diag(model.naive_variance_matrix_)), r["naive_se"])
    agrees([model.log_likelihood_null_, model.log_likelihood_], r["loglik"])
    assert list(model.summary.columns[:4]) == ["coef", "exp(coef)", "se(coef)", "robust se"]


def test_finegray_route_predicts_as_survfit():
    model = fit(MGUS2 | dict(weights="w"), ties="efron")
    incidence = model.predict_cumulative_incidence(pd.DataFrame({"age": [60, 80], "male": [0, 1]}))
    r = ORACLE["mgus2_finegray_coxph_weighted"]
    agrees(incidence.index, r["time"])
    agrees(incidence.to_numpy().T, r["cif"])


def test_crr_model_through_the_expanded_data():
    """Without weights or strata, finegray + coxph(Breslow) is crr's estimator, up to how the two
    Kaplan-Meiers of censoring treat a censoring tied with a failure (crr counts the failure at risk of
    censoring, finegray removes it first): equal on untied times, 2e-3 apart on mgus2's months."""
    data = frame("example").assign(one=1.0)
    crr = FineGray().fit(data, "ftime", "fstatus", ["x1", "x2", "x3"])
    expanded = FineGray().fit(data, "ftime", "fstatus", ["x1", "x2", "x3"], weights="one")
    np.testing.assert_allclose(expanded.params_, crr.params_, rtol=1e-10)
    assert expanded.log_likelihood_ == pytest.approx(crr.log_likelihood_, rel=1e-12)
    r = ORACLE["mgus2_finegray_coxph_breslow"]
    model = FineGray().fit(frame("mgus2").assign(one=1.0), "etime", "event", ["age", "male"], weights="one")
    agrees(model.params_, r["coef"])
    agrees(model.standard_errors_, r["se"])
    assert np.max(np.abs(model.params_.to_numpy() / np.asarray(ORACLE["mgus2_crr"]["coef"]) - 1)) < 3e-3


# ---------------------------------------------------------------------------- Gray's test on the edges
@pytest.mark.parametrize("case", ["gray_no_failure_in_a_group", "gray_never_together", "gray_pooled_reaches_one"])
def test_gray_test_on_the_edges_answers_as_cuminc_or_names_the_group(case):
    """A group without failures of the cause is compared (cuminc too); a zero denominator in a term
    cuminc never uses is harmless; where cuminc reports stat = -1 (a group never at risk together with
    another at a failure of the cause) the data are refused naming the groups."""
    r = ORACLE[case]
    data = pd.DataFrame({"t": r["time"], "e": r["status"], "arm": r["group"]})
    for cause in (1, 2):
        if r["stat"][cause - 1] == -1:
            with pytest.raises(SurvivalDataError, match=r"no two of the groups \['0', '1'\] of 'arm' are at risk"):
                gray_test(data, "t", "e", "arm", cause=cause)
        else:
            result = gray_test(data, "t", "e", "arm", cause=cause)
            agrees([result["statistic"], result["p"]], [r["stat"][cause - 1], r["p"][cause - 1]])


def test_gray_test_with_strata_and_rho_matches_cuminc():
    ties = frame("ties").assign(half=lambda d: d["id"] % 2)
    r = ORACLE["ties_gray_strata_rho"]
    for cause in (1, 2):
        result = gray_test(ties, "stop", "status", "half", cause=cause, strata="group", rho=1)
        agrees([result["statistic"], result["p"]], [r["stat"][cause - 1], r["p"][cause - 1]])


# ---------------------------------------------------------------------------- refusals and flags
def test_separation_is_flagged_by_name_not_reported_as_converged():
    """A covariate equal to the failure indicator: crr reports convergence FALSE and a finite SE; awaken
    stops, warns naming it, flags it infinite with an infinite SE (R coxph's rule)."""
    data = frame("example").assign(separating=lambda d: (d["fstatus"] == 1).astype(float))
    with pytest.warns(ConvergenceWarning, match="coefficient of separating grows"):
        model = FineGray().fit(data, "ftime", "fstatus", ["x1", "separating"])
    assert not model.converged_
    assert model.infinite_.to_dict() == {"x1": False, "separating": True}
    assert np.isinf(model.standard_errors_["separating"]) and np.isfinite(model.standard_errors_["x1"])
    assert np.all(np.isfinite(model.params_))


@pytest.mark.parametrize("change,message", [
    (lambda d: d.assign(flat=3.0), r"\['flat'\] carry no information"),
    (lambda d: d.assign(flat=d["x1"] + d["x2"]), r"\['flat'\] carry no information .*collinear"),
])
def test_covariates_without_information_are_refused_by_name(change, message):
    """crr stops with 'system is exactly singular' (constant) or 'computationally singular' (collinear)."""
    data = change(frame("example"))
    with pytest.raises(SurvivalDataError, match=message):
        FineGray().fit(data, "ftime", "fstatus", ["x1", "x2", "flat"])


@pytest.mark.parametrize("tf,message", [
    (lambda t: np.ones((len(t), 3)), r"shape \(\d+, 1\)"),
    (np.log, "missing or infinite values at failure times"),
    (lambda t: ["a"] * len(t), "tf must return numbers"),
])
def test_bad_time_functions_are_refused(tf, message):
    data = frame("example").assign(ftime=lambda d: np.where(d.index == 5, 0.0, d["ftime"]),
                                   fstatus=lambda d: np.where(d.index == 5, 1, d["fstatus"]))
    with pytest.raises(SurvivalDataError, match=message):
        FineGray().fit(data, "ftime", "fstatus", ["x2"], time_varying=["x1"], tf=tf)


def test_inputs_are_refused_by_rule():
    data = frame("example")
    with pytest.raises(SurvivalDataError, match="no row of 'fstatus' has the cause 3"):
        FineGray().fit(data, "ftime", "fstatus", ["x1"], cause=3)
    with pytest.raises(SurvivalDataError, match="need tf"):
        FineGray().fit(data, "ftime", "fstatus", ["x1"], time_varying=["x2"])
    with pytest.raises(SurvivalDataError, match="time_varying/tf is crr's"):
        FineGray().fit(data.assign(w=1.0), "ftime", "fstatus", ["x1"], time_varying=["x2"], tf=np.sqrt, weights="w")
    with pytest.raises(SurvivalDataError, match="censoring group"):
        FineGray().fit(data.assign(w=1.0, cg=np.where(data["fstatus"] == 1, 0, 1)), "ftime", "fstatus", ["x1"],
                       weights="w", censoring_group="cg")
    with pytest.raises(SurvivalDataError, match="already has column"):
        finegray(data.assign(fgwt=1.0), "ftime", "fstatus")
    with pytest.raises(SurvivalDataError, match="at least two groups"):
        gray_test(data.assign(one=1), "ftime", "fstatus", "one")


# ---------------------------------------------------------------------------- fuzz
def _generated(rng):
    """A small data set with what breaks naive code: ties, zero times, no failures of a cause, constant,
    collinear or separating covariates, covariates equal to time, huge and tiny scales."""
    n = int(rng.integers(1, 101))
    times = [rng.integers(0, 4, n).astype(float), rng.integers(1, 8, n).astype(float), rng.exponential(1, n),
             np.round(rng.exponential(1, n), 1)][int(rng.integers(0, 4))]
    censored = rng.random(n) < rng.choice([0.0, 0.3, 0.5, 1.0])
    event = np.where(censored, 0, rng.integers(1, int(rng.integers(1, 4)) + 1, n))
    data = pd.DataFrame({"t": times, "e": event, "g": rng.integers(0, int(rng.integers(1, 4)), n),
                         "s": rng.integers(0, 2, n), "w": rng.uniform(0.2, 3, n)})
    columns = []
    for j in range(int(rng.integers(1, 4))):
        kind = int(rng.integers(0, 9))
        values = [rng.normal(size=n), rng.integers(0, 2, n).astype(float), np.full(n, 3.0),
                  (event == 1).astype(float), rng.normal(size=n) * 1e6, times * rng.choice([1, -1]),
                  rng.normal(size=n) * 1e-6, rng.normal(size=n),
                  data[columns[0]] + 1e-9 * rng.normal(size=n) if columns else rng.normal(size=n)][kind]
        data[f"x{j}"] = values
        columns.append(f"x{j}")
    return data, columns


def test_fuzz_every_answer_is_finite_flagged_or_a_refusal():
    """Hundreds of small awkward data sets: every fit returns finite estimates (or flags them with a
    ConvergenceWarning), every prediction and Gray's test is finite, or the data are refused with
    SurvivalDataError; nothing else escapes, no NumPy RuntimeWarning."""
    rng = np.random.default_rng(20251201)
    outcomes = {"fitted": 0, "flagged": 0, "refused": 0, "gray": 0}
    for _ in range(400):
        data, columns = _generated(rng)
        options = [{}, {"censoring_group": "g"}, {"time_varying": columns[:1], "tf": np.log1p}, {"weights": "w"},
                   {"strata": "s"}][int(rng.choice(5, p=[0.5, 0.15, 0.15, 0.1, 0.1]))]
        ties = "efron" if rng.random() < 0.1 else "breslow"
        cause = int(rng.integers(1, 3))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            warnings.simplefilter("error", RuntimeWarning)
            try:
                model = FineGray(ties=ties).fit(data, "t", "e", columns, cause=cause, **options)
            except SurvivalDataError:
                outcomes["refused"] += 1
            else:
                flagged = any(issubclass(w.category, ConvergenceWarning) for w in caught) and not model.converged_
                assert np.isfinite(model.log_likelihood_)
                assert np.all(np.isfinite(model.params_)) or flagged, model.params_
                assert np.all(np.isfinite(model.standard_errors_)) or any(
                    issubclass(w.category, ConvergenceWarning) for w in caught), model.standard_errors_
                if model.method_ == "crr" and model.converged_:   # a maximum, not a likelihood still rising
                    beta = model.params_.to_numpy()
                    further = model._problem.evaluate(1.5 * beta)[0]
                    assert not further > model.log_likelihood_ + 1e-9 * abs(model.log_likelihood_)
                try:
                    incidence = model.predict_cumulative_incidence(data.head(3)).to_numpy()
                    assert np.all(np.isfinite(incidence))
                except SurvivalDataError:
                    # no curve for an infinite coefficient, nor for a stratum the model has no failure in
                    assert model.infinite_.any() or model.method_ == "finegray"
                outcomes["flagged" if flagged else "fitted"] += 1
            try:
                result = gray_test(data, "t", "e", "g", cause=cause, strata="s" if rng.random() < 0.3 else None,
                                   rho=float(rng.choice([0.0, 0.5, 1.0])))
                assert np.isfinite(result["statistic"]) and np.isfinite(result["p"])
                outcomes["gray"] += 1
            except SurvivalDataError:
                pass
        assert all(issubclass(w.category, ConvergenceWarning) for w in caught), [str(w.message) for w in caught]
    assert outcomes["fitted"] > 100 and outcomes["flagged"] > 20 and outcomes["gray"] > 100, outcomes


# ---------------------------------------------------------------------------- the oracle itself
@pytest.fixture(scope="session")
def live_oracle(tmp_path_factory, rscript):
    """The R script re-run once per session on a copy of the data."""
    directory = tmp_path_factory.mktemp("fine_gray_oracle")
    for name in ("mgus2", "ties"):
        shutil.copy(DATA / f"{name}.csv", directory / f"{name}.csv")
    output = directory / "oracle.json"
    rscript(SCRIPT, str(output), str(directory))
    return json.loads(output.read_text())


def test_committed_oracle_is_what_r_computes_now(live_oracle):
    def same(live, committed, where):
        if isinstance(committed, dict):
            assert live.keys() == committed.keys(), where
            for key in committed:
                same(live[key], committed[key], f"{where}/{key}")
        elif where.endswith("/names"):
            assert live == committed, where
        else:
            agrees(live, committed, digits=12)

    same({k: v for k, v in live_oracle.items() if k != "versions"},
         {k: v for k, v in ORACLE.items() if k != "versions"}, "oracle")
