"""The exact partial likelihood (awaken.survival._exact) is what R's ``coxph(ties = "exact")`` maximises.

The oracle values come from ``tests/oracle/cox_exact_oracle.R`` (committed output in
``tests/data/survival/cox_exact_oracle.json``). When Rscript is on the PATH the script is re-run live and its
output must equal the committed fixture; with ``AWAKEN_REQUIRE_R=1`` a missing R fails instead of skipping.
The fits are Newton iterations on :func:`exact_sweep`, written out here, so what is compared is the kernel.
"""

from __future__ import annotations

import itertools
import json
import math
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from awaken.survival import CoxPH, SurvivalDataError, baseline_hazard
from awaken.survival._exact import ExactRiskSets, exact_sweep
from awaken.survival._riskset import RiskSets

DATA = Path(__file__).parent / "data" / "survival"
SCRIPT = Path(__file__).parent / "oracle" / "cox_exact_oracle.R"
ORACLE = json.loads((DATA / "cox_exact_oracle.json").read_text())
# measured: coefficients, standard errors and score tests within 3e-14 of R, log likelihoods within 2e-15 (R's
# Newton iteration, stopped at a 1e-12 relative change in the log likelihood, has converged quadratically by then)
RTOL = 1e-11

TIES = dict(frame="ties", stop="stop", event="event", covariates=["x1", "x2"])
CASES = {
    "ties_right": TIES,
    "ties_right_strata": dict(TIES, strata="group"),
    "ties_counting_subset": dict(TIES, start="start", strata="group", subset=150),
    "ties_counting_subset_sets": dict(TIES, start="start", strata="group", subset=150),
    "ties_counting": dict(TIES, start="start"),
    "ties_counting_strata": dict(TIES, start="start", strata="group"),
    "lung": dict(frame="lung", stop="time", event="status", covariates=["age", "sex", "ph_ecog"]),
    "lung_offset": dict(frame="lung", stop="time", event="status", covariates=["age", "sex"], offset="karno_offset"),
    "aml": dict(frame="aml", stop="time", event="status", covariates=["x"]),
    "mgus2": dict(frame="mgus2", stop="futime", event="death", covariates=["age", "male"]),
}


def arrays(case: str):
    """Design of one case as the kernel takes it: x centred by the caller, start below every time when the
    data are right-censored, strata as codes 0..k-1."""
    spec = CASES[case]
    frame = pd.read_csv(DATA / f"{spec['frame']}.csv")
    if "subset" in spec:
        frame = frame[frame.id <= spec["subset"]].reset_index(drop=True)
    x = frame[spec["covariates"]].to_numpy(float)
    x = x - x.mean(axis=0)
    stop = frame[spec["stop"]].to_numpy(float)
    start = frame[spec["start"]].to_numpy(float) if "start" in spec else np.full(len(frame), -np.inf)
    event = frame[spec["event"]].to_numpy() == 1
    offset = frame[spec["offset"]].to_numpy(float) if "offset" in spec else np.zeros(len(frame))
    stratum = (np.unique(frame[spec["strata"]], return_inverse=True)[1] if "strata" in spec
               else np.zeros(len(frame), dtype=np.int64))
    return frame, x, offset, start, stop, event, stratum.astype(np.int64)


def newton(risk_sets: ExactRiskSets, p: int):
    """beta += I^-1 U until the step is below 1e-13, halving a step that lowers the log likelihood."""
    beta = np.zeros(p)
    loglik0, score, info = risk_sets.sweep(beta)
    loglik = loglik0
    for _ in range(50):
        step = np.linalg.solve(info, score)
        candidate = beta + step
        new = risk_sets.sweep(candidate)
        while not new[0] >= loglik - 1e-9 * abs(loglik):
            step /= 2
            candidate = beta + step
            new = risk_sets.sweep(candidate)
        beta = candidate
        loglik, score, info = new
        if np.max(np.abs(step)) < 1e-13 * max(1.0, np.max(np.abs(beta))):
            break
    return beta, loglik0, loglik, info


def relative_error(ours, theirs) -> float:
    ours = np.asarray(ours, dtype=float).ravel()
    theirs = np.asarray(theirs, dtype=float).ravel()
    return float(np.max(np.abs(ours - theirs) / np.abs(theirs)))


@pytest.mark.parametrize("case", list(CASES))
def test_fit_matches_r_coxph_exact(case):
    _, x, offset, start, stop, event, stratum = arrays(case)
    r = ORACLE[case]
    beta, loglik0, loglik, info = newton(ExactRiskSets(x, start, stop, event, stratum, offset), x.shape[1])
    covariance = np.linalg.inv(info)
    assert event.sum() == r["n_event"][0]
    assert relative_error(beta, r["coef"]) < RTOL
    assert relative_error(np.sqrt(np.diag(covariance)), r["se"]) < RTOL
    assert relative_error([loglik0, loglik], r["loglik"]) < 1e-13
    # the score test at beta = 0
    _, score0, info0 = exact_sweep(np.zeros(x.shape[1]), x, offset, start, stop, event, stratum)
    assert relative_error([score0 @ np.linalg.solve(info0, score0)], r["score"]) < RTOL


@pytest.mark.parametrize("case", ["ties_right", "ties_counting_subset"])
def test_r_martingale_residuals_of_an_exact_fit_are_breslow_at_the_exact_estimate(case):
    """What R reports around an exact fit (to mirror, not part of the kernel): martingale residuals and the
    baseline hazard use Breslow's hazard increments d / sum exp(eta) at the exact coefficients."""
    frame, _, offset, start, stop, event, stratum = arrays(case)
    r = ORACLE[case]
    eta = frame[CASES[case]["covariates"]].to_numpy(float) @ np.asarray(r["coef"]) + offset
    expected = np.zeros(len(frame))
    for s in np.unique(stratum):
        times = np.unique(stop[event & (stratum == s)])
        deaths = np.array([np.sum(event & (stratum == s) & (stop == t)) for t in times])
        at_risk = [(stratum == s) & (start < t) & (stop >= t) for t in times]
        increment = deaths / np.array([np.exp(eta[rows]).sum() for rows in at_risk])
        if case == "ties_right":
            np.testing.assert_allclose(increment.cumsum(), _at(r, times), rtol=1e-9)
        for t, h, rows in zip(times, increment, at_risk):
            expected[rows] += h * np.exp(eta[rows])
    np.testing.assert_allclose(event - expected, r["martingale"], rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("case", [c for c in CASES if "subset" not in CASES[c]])
def test_coxph_with_exact_ties_gives_r_answers(case):
    """CoxPH(ties="exact") end to end: estimates, martingale residuals and the baseline hazard as R's."""
    spec = dict(CASES[case])
    frame = pd.read_csv(DATA / f"{spec.pop('frame')}.csv")
    fit = CoxPH(ties="exact").fit(frame, **spec)
    r = ORACLE[case]
    assert relative_error(fit.params_, r["coef"]) < RTOL
    assert relative_error(fit.standard_errors_, r["se"]) < RTOL
    assert relative_error([fit.log_likelihood_null_, fit.log_likelihood_], r["loglik"]) < 1e-13
    assert relative_error([fit.score_test_], r["score"]) < RTOL
    if "martingale" in r:
        np.testing.assert_allclose(fit.residuals("martingale"), r["martingale"], rtol=1e-8, atol=1e-10)
    if "basehaz" in r and "strata" not in spec and "offset" not in spec:
        hazard = baseline_hazard(fit, centered=False)
        np.testing.assert_allclose(hazard["hazard"], r["basehaz"], rtol=1e-9)


def test_exact_ties_refuse_what_r_refuses():
    frame = pd.read_csv(DATA / "ties.csv")
    exact = CoxPH(ties="exact")
    with pytest.raises(SurvivalDataError, match="case weights"):
        exact.fit(frame, stop="stop", event="event", covariates=["x1"], weights="weight")
    with pytest.raises(SurvivalDataError, match="robust"):
        exact.fit(frame, stop="stop", event="event", covariates=["x1"], cluster="group")
    fit = exact.fit(frame, stop="stop", event="event", covariates=["x1"])
    for kind in ("score", "dfbeta", "schoenfeld"):
        with pytest.raises(SurvivalDataError, match="not available for ties='exact'"):
            fit.residuals(kind)


def _at(r, times):
    """R's basehaz at the event times (it lists censoring times too)."""
    return np.asarray(r["basehaz"])[np.searchsorted(r["basehaz_time"], times)]


def brute_force(beta, x, offset, start, stop, event, stratum):
    """The definition: every d-subset of every risk set enumerated."""
    eta = x @ beta + offset
    p = x.shape[1]
    loglik, score, info = 0.0, np.zeros(p), np.zeros((p, p))
    for s in np.unique(stratum):
        for t in np.unique(stop[(stratum == s) & event]):
            at_risk = np.flatnonzero((stratum == s) & (start < t) & (stop >= t))
            dead = np.flatnonzero((stratum == s) & (stop == t) & event)
            subsets = [list(c) for c in itertools.combinations(at_risk, len(dead))]
            sums = np.array([eta[c].sum() for c in subsets])
            xs = np.array([x[c].sum(axis=0) for c in subsets])
            weight = np.exp(sums - sums.max())
            total = weight.sum()
            mean = weight @ xs / total
            loglik += eta[dead].sum() - sums.max() - np.log(total)
            score += x[dead].sum(axis=0) - mean
            info += np.einsum("s,sj,sk->jk", weight, xs, xs) / total - np.outer(mean, mean)
    return loglik, score, info


@pytest.mark.parametrize("seed", range(12))
def test_matches_enumeration_of_every_subset(seed):
    rng = np.random.default_rng(seed)
    n, p = int(rng.integers(4, 22)), int(rng.integers(1, 4))
    x = rng.normal(size=(n, p))
    offset = 0.3 * rng.normal(size=n)
    stop = rng.integers(1, 6, n).astype(float)
    start = np.where(rng.random(n) < 0.5, -1.0, np.floor(rng.random(n) * stop))
    event = rng.random(n) < 0.7
    stratum = np.unique(rng.integers(0, 3, n), return_inverse=True)[1].astype(np.int64)
    beta = rng.normal(size=p)
    ours = exact_sweep(beta, x, offset, start, stop, event, stratum)
    theirs = brute_force(beta, x, offset, start, stop, event, stratum)
    assert ours[0] == pytest.approx(theirs[0], rel=1e-13, abs=1e-13)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-12, atol=1e-12)


def test_score_and_information_are_the_derivatives_of_the_log_likelihood():
    _, x, offset, start, stop, event, stratum = arrays("ties_counting_strata")
    risk_sets = ExactRiskSets(x, start, stop, event, stratum, offset)
    beta = np.array([0.4, -0.9])
    _, score, info = risk_sets.sweep(beta)
    h = 1e-5
    for j in range(2):
        e = np.zeros(2)
        e[j] = h
        up, down = risk_sets.sweep(beta + e), risk_sets.sweep(beta - e)
        assert (up[0] - down[0]) / (2 * h) == pytest.approx(score[j], rel=1e-8)
        np.testing.assert_allclose(-(up[1] - down[1]) / (2 * h), info[:, j], rtol=1e-7)


def one_time(m: int, d: int, p: int, seed: int = 0):
    """m rows at risk, the first d dying together, the others censored later."""
    x = np.random.default_rng(seed).normal(size=(m, p))
    stop = np.where(np.arange(m) < d, 1.0, 2.0)
    return x, np.zeros(m), np.full(m, -np.inf), stop, np.arange(m) < d, np.zeros(m, np.int64)


@pytest.mark.parametrize("m,d", [(1000, 300), (2000, 200), (2000, 1000), (1500, 1499)])
def test_many_tied_deaths_at_beta_zero(m, d):
    """At beta = 0 every d-subset weighs the same: l = -log C(m, d), U = sum of the dead's x - d mean(x),
    I = d (m - d) / (m - 1) times the covariance of x (a sum drawn without replacement)."""
    x, offset, start, stop, event, stratum = one_time(m, d, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loglik, score, info = exact_sweep(np.zeros(2), x, offset, start, stop, event, stratum)
    log_choose = math.lgamma(m + 1) - math.lgamma(d + 1) - math.lgamma(m - d + 1)  # C(2000, 1000) ~ 1e600
    assert loglik == pytest.approx(-log_choose, rel=1e-12)
    centred = x - x.mean(axis=0)
    np.testing.assert_allclose(score, centred[:d].sum(axis=0), rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(info, d * (m - d) / (m - 1) * (centred.T @ centred) / m, rtol=1e-10)


def test_huge_coefficients_stay_finite_and_exact():
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 40
    m, d = 150, 50
    x, offset, start, stop, event, stratum = one_time(m, d, 2, seed=3)
    x = x - x.mean(axis=0)
    for beta in (np.array([50.0, -20.0]), np.array([500.0, 150.0]), np.array([-5000.0, 0.0])):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            loglik, score, info = exact_sweep(beta, x, offset, start, stop, event, stratum)
        assert np.isfinite(loglik) and np.all(np.isfinite(score)) and np.all(np.isfinite(info))
        # the recursion in 40 digits, from the same eta
        eta = [mpmath.mpf(float(v)) for v in x @ beta]
        subsets = [mpmath.mpf(1)] + [mpmath.mpf(0)] * d
        for value in eta:
            r = mpmath.exp(value)
            for k in range(d, 0, -1):
                subsets[k] += r * subsets[k - 1]
        exact = float(mpmath.fsum(eta[:d]) - mpmath.log(subsets[d]))
        assert loglik == pytest.approx(exact, rel=1e-13)


def test_large_ties_and_a_large_coefficient_give_finite_values_without_warnings():
    x, offset, start, stop, event, stratum = one_time(1000, 300, 3, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for beta in (np.full(3, 50.0), np.array([50.0, -50.0, 1e4])):
            loglik, score, info = exact_sweep(beta, x, offset, start, stop, event, stratum)
            assert np.isfinite(loglik) and np.all(np.isfinite(score)) and np.all(np.isfinite(info))
            assert loglik < 0
        # 200 deaths among 2000 at several times, in strata, with left truncation
        rng = np.random.default_rng(7)
        n = 4000
        x = rng.normal(size=(n, 2))
        stop = rng.integers(1, 6, n).astype(float)
        start = np.where(rng.random(n) < 0.8, -np.inf, stop - 1.5)
        event = rng.random(n) < 0.3
        stratum = (rng.random(n) < 0.5).astype(np.int64)
        loglik, score, info = exact_sweep(np.array([50.0, 3.0]), x, np.zeros(n), start, stop, event, stratum)
        assert np.isfinite(loglik) and np.all(np.isfinite(score)) and np.all(np.isfinite(info))


def test_without_ties_exact_is_breslow():
    rng = np.random.default_rng(11)
    n = 300
    x = rng.normal(size=(n, 3))
    x = x - x.mean(axis=0)
    stop = rng.permutation(n) + rng.random(n)  # distinct times
    start = np.where(rng.random(n) < 0.5, -1.0, stop * rng.random(n))
    event = rng.random(n) < 0.6
    stratum = rng.integers(0, 3, n).astype(np.int64)
    offset = 0.2 * rng.normal(size=n)
    beta = np.array([0.3, -0.5, 0.8])
    exact = exact_sweep(beta, x, offset, start, stop, event, stratum)
    breslow = RiskSets(x, start, stop, event, np.ones(n), stratum, efron=False, offset=offset).sweep(beta)[:3]
    assert exact[0] == pytest.approx(breslow[0], rel=1e-12)
    np.testing.assert_allclose(exact[1], breslow[1], rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(exact[2], breslow[2], rtol=1e-10, atol=1e-10)


def test_no_events_and_strata_without_events():
    x = np.arange(6.0)[:, None]
    start = np.full(6, -1.0)
    stop = np.arange(1.0, 7.0)
    loglik, score, info = exact_sweep(np.ones(1), x, np.zeros(6), start, stop, np.zeros(6, bool), np.zeros(6, np.int64))
    assert loglik == 0.0 and score.tolist() == [0.0] and info.tolist() == [[0.0]]
    event = np.array([1, 1, 0, 0, 0, 0], bool)
    stratum = np.array([0, 0, 0, 1, 1, 1])
    both = exact_sweep(np.ones(1), x, np.zeros(6), start, stop, event, stratum)
    alone = exact_sweep(np.ones(1), x[:3], np.zeros(3), start[:3], stop[:3], event[:3], stratum[:3])
    assert both[0] == pytest.approx(alone[0], rel=1e-14)


def test_committed_oracle_is_what_r_computes_now(tmp_path, rscript):
    """Re-run the R script on a fresh data directory: the same aml.csv, the same oracle values."""
    for name in ("ties", "lung", "mgus2"):
        shutil.copy(DATA / f"{name}.csv", tmp_path / f"{name}.csv")
    output = tmp_path / "oracle.json"
    rscript(SCRIPT, str(output), str(tmp_path))
    assert (tmp_path / "aml.csv").read_text() == (DATA / "aml.csv").read_text()
    live = json.loads(output.read_text())
    assert live.keys() == ORACLE.keys()
    for case, values in ORACLE.items():
        if case in ("versions", "refusals"):
            continue
        assert live[case].keys() == values.keys()
        for key, expected in values.items():
            if key == "names":
                assert live[case][key] == expected
            else:
                np.testing.assert_allclose(live[case][key], expected, rtol=1e-12, atol=1e-13)
    assert live["refusals"] == ORACLE["refusals"]
