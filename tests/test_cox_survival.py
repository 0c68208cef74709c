"""Predicted survival from a Cox model, the baseline hazard and offsets agree with R's ``survfit.coxph``,
``basehaz`` and ``offset()`` to 6 significant digits, on R's own data sets (lung, veteran, heart).

Oracle values: ``tests/oracle/cox_features_oracle.R`` (committed output
``tests/data/survival/cox_features_oracle.json``), re-run live when Rscript is on the PATH.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from awaken.survival import CoxPH, SurvivalDataError, baseline_hazard, predict_survival

DATA = Path(__file__).parent / "data" / "survival"
SCRIPT = Path(__file__).parent / "oracle" / "cox_features_oracle.R"
ORACLE = json.loads((DATA / "cox_features_oracle.json").read_text())
CONF_TYPES = ("log", "log-log", "plain", "logit")
LUNG = ["age", "sex", "ph_ecog"]
LUNG_NEW = pd.DataFrame({"age": [50, 65, 80], "sex": [1, 2, 1], "ph_ecog": [0, 1, 3]})


def agrees(ours, theirs, digits: int = 6) -> None:
    ours = np.asarray(ours, dtype=float).ravel()
    theirs = np.asarray([np.nan if v is None else float(v) for v in np.ravel(theirs)], dtype=float)
    assert ours.shape == theirs.shape
    if not theirs.size:
        return
    np.testing.assert_allclose(ours, theirs, rtol=10.0**-digits, atol=10.0**-digits * np.nanmax(np.abs(theirs)))


def read(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA / f"{name}.csv")


def same_curves(curves: pd.DataFrame, r: dict, conf_types=CONF_TYPES) -> None:
    for column in ("time", "n_risk", "n_event", "n_censor", "survival", "cumulative_hazard", "std_err"):
        expected = r[column]
        if column in ("time", "n_risk", "n_event", "n_censor") and len(expected) < len(curves):
            expected = expected * curves["curve"].nunique()  # R shares one time axis among unstratified curves
        agrees(curves[column], expected)
    for conf_type in conf_types:
        lower, upper = r[f"lower_{conf_type}"], r[f"upper_{conf_type}"]
        if conf_type != "log":
            curves = curves.drop(columns=["lower", "upper"]).join(
                _band(curves, conf_type))
        agrees(curves["lower"], lower)
        agrees(curves["upper"], upper)


def _band(curves, conf_type):
    from awaken.survival._confidence import survival_band

    lower, upper = survival_band(curves["survival"].to_numpy(), curves["std_err"].to_numpy(), 0.05, conf_type)
    return pd.DataFrame({"lower": lower, "upper": upper}, index=curves.index)


def same_fit(fit: CoxPH, r: dict) -> None:
    agrees(fit.params_, r["coef"])
    agrees(fit.standard_errors_, r["se"])
    agrees([fit.log_likelihood_null_, fit.log_likelihood_], r["loglik"])
    agrees(fit.means_, r["means"])


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_predicted_survival_for_new_covariates_matches_survfit(ties):
    fit = CoxPH(ties=ties).fit(read("lung"), stop="time", event="status", covariates=LUNG)
    same_fit(fit, ORACLE[f"lung_{ties}"])
    same_curves(predict_survival(fit, LUNG_NEW), ORACLE[f"lung_{ties}"])
    for conf_type in CONF_TYPES[1:]:
        curves = predict_survival(fit, LUNG_NEW, conf_type=conf_type)
        agrees(curves["lower"], ORACLE[f"lung_{ties}"][f"lower_{conf_type}"])
        agrees(curves["upper"], ORACLE[f"lung_{ties}"][f"upper_{conf_type}"])
    same_curves(predict_survival(fit), ORACLE[f"lung_{ties}_default"], ("log",))
    r = ORACLE[f"lung_{ties}_basehaz"]
    agrees(baseline_hazard(fit)["hazard"], r["centered"])
    agrees(baseline_hazard(fit, centered=False)["hazard"], r["uncentered"])
    r = ORACLE[f"lung_{ties}_at_times"]
    at = predict_survival(fit, LUNG_NEW, times=r["time"])
    agrees(at["time"], r["time"] * len(LUNG_NEW))
    agrees(at["survival"], r["survival"])
    agrees(at["std_err"], r["std_err"])


def test_weighted_fit_curves_use_the_robust_variance_as_r():
    fit = CoxPH().fit(read("lung"), stop="time", event="status", covariates=LUNG, weights="w")
    assert fit.robust_
    same_fit(fit, ORACLE["lung_weighted"])
    same_curves(predict_survival(fit, LUNG_NEW), ORACLE["lung_weighted"], ("log",))


def test_offset_matches_r_in_the_fit_and_in_new_data():
    fit = CoxPH().fit(read("lung"), stop="time", event="status", covariates=["age", "sex"], offset="karno_offset")
    same_fit(fit, ORACLE["lung_offset"])
    new = pd.DataFrame({"age": [55, 70], "sex": [1, 2], "karno_offset": np.log([9, 6])})
    same_curves(predict_survival(fit, new), ORACLE["lung_offset"], ("log",))
    same_curves(predict_survival(fit), ORACLE["lung_offset_default"], ("log",))


def test_stratified_curves_each_row_in_its_own_stratum():
    fit = CoxPH(ties="breslow").fit(read("veteran"), stop="time", event="status", covariates=["karno", "age", "trt"],
                                    strata="celltype")
    same_fit(fit, ORACLE["veteran_strata"])
    new = pd.DataFrame({"karno": [60, 80], "age": [60, 50], "trt": [1, 2], "celltype": ["large", "squamous"]})
    curves = predict_survival(fit, new)
    same_curves(curves, ORACLE["veteran_strata"], ("log",))
    assert curves.groupby("curve", sort=False).size().tolist() == ORACLE["veteran_strata"]["strata"]
    default = predict_survival(fit)
    same_curves(default, ORACLE["veteran_strata_default"], ("log",))
    assert default["curve"].unique().tolist() == [f"celltype={c}" for c in ("adeno", "large", "smallcell", "squamous")]
    r = ORACLE["veteran_strata_basehaz"]
    agrees(baseline_hazard(fit)["hazard"], r["centered"])
    agrees(baseline_hazard(fit, centered=False)["hazard"], r["uncentered"])
    with pytest.raises(SurvivalDataError, match="celltype"):
        predict_survival(fit, new.assign(celltype=["giant", "large"]))


def test_counting_process_fit_with_cluster_gives_r_curves():
    fit = CoxPH().fit(read("heart"), start="start", stop="stop", event="event",
                      covariates=["age", "year", "surgery", "transplant"], cluster="id")
    same_fit(fit, ORACLE["heart_cluster"])
    new = pd.DataFrame({"age": [-10, 5], "year": [2, 4], "surgery": [0, 1], "transplant": [1, 0]})
    same_curves(predict_survival(fit, new), ORACLE["heart_cluster"], ("log",))


def test_curves_are_refused_where_r_has_none():
    data = read("lung")
    tt = CoxPH().fit(data, stop="time", event="status", covariates=["age"], tt={"sex_t": lambda d, t: d.sex * t})
    with pytest.raises(SurvivalDataError, match="tt"):
        predict_survival(tt)
    fit = CoxPH().fit(data, stop="time", event="status", covariates=LUNG)
    with pytest.raises(SurvivalDataError, match="ph_ecog"):
        predict_survival(fit, LUNG_NEW.drop(columns="ph_ecog"))
    with pytest.raises(ValueError, match="conf_type"):
        predict_survival(fit, LUNG_NEW, conf_type="arcsine")


def test_committed_oracle_is_what_r_computes_now(tmp_path, rscript):
    shutil.copy(DATA / "heart.csv", tmp_path / "heart.csv")
    output = tmp_path / "oracle.json"
    rscript(SCRIPT, str(output), str(tmp_path))
    for name in ("lung", "veteran"):
        assert (tmp_path / f"{name}.csv").read_text() == (DATA / f"{name}.csv").read_text(), name
    live = json.loads(output.read_text())
    for case, values in ORACLE.items():
        if case == "versions":
            continue
        for key, expected in values.items():
            agrees(live[case][key], expected, digits=12)
