"""Differential test: awaken's survival engine against R on generated edge cases.

The cases (``tests/differential_cases.py``: heavy ties, float near-ties, an age time scale with left
truncation, weights, strata, clusters, time-varying splits, separation, near-collinearity, covariates
flat within strata, tiny n, no events, all events at one time) are fitted by R in
``tests/oracle/differential.R``; its answers are committed in
``tests/data/survival/differential_oracle.json`` and re-computed live when Rscript is on the PATH
(CI sets ``AWAKEN_REQUIRE_R=1``, so a missing R fails there).

For every case awaken must give R's answer:

- R fits it: the same coefficients, standard errors (robust where R's are), log-likelihoods,
  proportional-hazards tests, default survival curve and Kaplan-Meier, to 6 significant digits;
- R reports a coefficient that "may be infinite": awaken flags the same covariates (``infinite_``)
  with a :class:`ConvergenceWarning`; R running out of iterations on a likelihood that keeps rising
  is the same answer reached more slowly (awaken iterates until its test triggers);
- R returns NA for a coefficient (no information, or no events) or stops with an error: awaken
  refuses with a :class:`SurvivalDataError` that names the covariate or the reason.

Where awaken deliberately answers differently, the case is listed in :data:`KNOWN` with the reason
(and in docs/survival.md); any other disagreement fails.
"""

from __future__ import annotations

import json
import re
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from awaken.survival import ConvergenceWarning, CoxPH, KaplanMeier, SurvivalDataError, cox_zph, predict_survival

sys.path.insert(0, str(Path(__file__).parent))
from differential_cases import Case, cases, write_cases  # noqa: E402

DATA = Path(__file__).parent / "data" / "survival"
SCRIPT = Path(__file__).parent / "oracle" / "differential.R"
ORACLE = json.loads((DATA / "differential_oracle.json").read_text())
CASES = {case.name: (case, data) for case, data in cases()}
DIGITS = 6

#: Cases where awaken's answer differs from R's on purpose: case name -> the reason.
KNOWN: dict[str, str] = {}


def close(ours, theirs, what: str, digits: int = DIGITS) -> None:
    ours = np.asarray(ours, dtype=float).ravel()
    theirs = np.asarray([np.nan if v is None else float(v) for v in np.ravel(theirs)], dtype=float)
    assert ours.shape == theirs.shape, f"{what}: {ours.shape} values, R has {theirs.shape}"
    if not theirs.size:
        return
    scale = np.nanmax(np.abs(theirs[np.isfinite(theirs)]), initial=0.0)
    np.testing.assert_allclose(ours, theirs, rtol=10.0**-digits, atol=10.0**-digits * max(scale, 1e-300),
                               err_msg=what)


def infinite_in(messages: list[str]) -> set[int] | None:
    """0-based indices R names in "Loglik converged before variable 1,2 ; ... may be infinite"."""
    found: set[int] = set()
    for message in messages:
        match = re.search(r"before variable\s+([\d,\s]+);", message)
        if match:
            found |= {int(v) - 1 for v in match.group(1).replace(" ", "").split(",") if v}
    return found or None


def fit(case: Case, data):
    return CoxPH(ties=case.ties).fit(
        data, stop="stop", event="event", covariates=case.covariate_list, start="start" if case.start else None,
        strata="stratum" if case.strata else None, weights="w" if case.weights else None,
        cluster="id" if case.cluster else None)


def r_answer(r: dict) -> str:
    """What R answered: "error", "na", "infinite", "diverged" (ran out of iterations) or "fit".

    NA coefficients R reports while its likelihood keeps rising (it warns that a coefficient may be
    infinite, or runs out of iterations) are "infinite": the NA is what is left once another
    coefficient is at infinity."""
    if "cox_error" in r:
        return "error"
    messages = r["cox_warnings"] + r["tight_warnings"]
    rising = infinite_in(messages) is not None or any("may be infinite" in m for m in messages)
    if "coef" in r and any(v is None for v in r["coef"]) and not rising:
        return "na"
    if rising:
        return "infinite"
    if any("Ran out of iterations" in m for m in messages):
        return "diverged"
    return "fit"


@pytest.mark.parametrize("name", sorted(CASES))
def test_awaken_gives_r_answer(name):
    if name in KNOWN:
        pytest.skip(KNOWN[name])
    case, data = CASES[name]
    r = ORACLE[name]
    answer = r_answer(r)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            ours = fit(case, data)
        except SurvivalDataError as refused:
            if answer == "diverged":
                # R runs out of iterations on data where a covariate carries no information, and
                # reports a coefficient with standard error 0 for it; awaken refuses that covariate
                silent = [c for c, se in zip(case.covariate_list, r["se"], strict=True) if se == 0]
                assert any(c in str(refused) for c in silent), (str(refused), r["se"])
                return
            if answer == "infinite" and any(v is None for v in r.get("coef", [])):
                # R: NA for a covariate collinear with others in the few informative risk sets, and the
                # others infinite; awaken refuses the collinear covariate by name before fitting
                missing = [c for c, v in zip(case.covariate_list, r["coef"], strict=True) if v is None]
                assert any(c in str(refused) for c in missing), (str(refused), missing)
                return
            assert answer in ("error", "na"), f"awaken refused ({refused}) where R answered {answer}"
            if answer == "na":
                missing = [c for c, v in zip(case.covariate_list, r["coef"], strict=True) if v is None]
                if len(missing) < len(case.covariate_list):  # NA for some: name them; all: no events
                    assert any(c in str(refused) for c in missing), (str(refused), missing)
            return
    numpy_warnings = [w for w in caught if not issubclass(w.category, ConvergenceWarning)]
    assert not numpy_warnings, [str(w.message) for w in numpy_warnings]
    assert answer not in ("error", "na"), f"R answered {answer} ({r.get('cox_error') or r['coef']}), awaken fitted"
    if answer in ("infinite", "diverged"):
        assert ours.infinite_.any() and not ours.converged_, "R: the likelihood keeps rising; awaken did not say so"
        assert any(issubclass(w.category, ConvergenceWarning) for w in caught)
        named = infinite_in(r["cox_warnings"] + r["tight_warnings"])
        if answer == "infinite" and named is not None:
            assert set(np.flatnonzero(ours.infinite_.to_numpy())) == named, (ours.infinite_, named)
        for j, value in enumerate(r.get("coef", [])):
            if value is None:  # R's NA next to an infinite coefficient: awaken's NaN, said so
                assert ours.not_estimable_.iloc[j] and np.isnan(ours.params_.iloc[j])
        finite = ~(ours.infinite_ | ours.not_estimable_)
        assert np.all(np.isfinite(ours.params_[finite])) and np.all(np.isfinite(ours.standard_errors_[finite]))
        return
    assert ours.converged_ and not ours.infinite_.any(), f"R fitted; awaken: {[str(w.message) for w in caught]}"
    close(ours.params_, r["coef"], "coef")
    close(ours.standard_errors_, r["se"], "se")
    close(np.sqrt(np.diag(ours.naive_variance_matrix_)), r["naive_se"], "naive se")
    close([ours.log_likelihood_null_, ours.log_likelihood_], r["loglik"], "loglik")
    assert ours.robust_ == r["robust"][0]
    if "zph_chisq" in r:
        close(cox_zph(ours)["chisq"], r["zph_chisq"], "cox.zph chisq")
    elif "zph_error" in r:
        with pytest.raises(SurvivalDataError):
            cox_zph(ours)
    if "curve_surv" in r:
        curve = predict_survival(ours)
        close(curve["survival"], r["curve_surv"], "survfit surv")
        close(curve["std_err"], r["curve_std_err"], "survfit std.err")


@pytest.mark.parametrize("name", sorted(n for n, (case, _) in CASES.items() if case.km))
def test_kaplan_meier_gives_r_answer(name):
    case, data = CASES[name]
    r = ORACLE[name]
    km = KaplanMeier().fit(data, time="stop", event="event", start="start" if case.start else None,
                           weights="w" if case.weights else None)
    table = km.table_
    close(table.index, r["km_time"], "time")
    close(table["survival"], r["km_surv"], "surv")
    close(table["n_risk"], r["km_n_risk"], "n.risk")
    # R's default variance: Greenwood, or the jackknife for non-integer weights (reported for S, not -log S)
    assert km.robust_ == (not r["km_logse"][0])
    if r["km_logse"][0]:
        close(table["std_err"], r["km_std_err"], "std.err")
    else:  # awaken keeps -log S's scale: R's se of S is S times it, and 0 once S = 0 (awaken: inf)
        alive = table["survival"].to_numpy() > 0
        close((table["std_err"] * table["survival"])[alive], np.asarray(r["km_std_err"])[alive], "std.err")
        assert np.all(np.asarray(r["km_std_err"])[~alive] == 0) and np.all(np.isinf(table["std_err"][~alive]))


def test_committed_oracle_is_what_r_computes_now(tmp_path, rscript):
    write_cases(tmp_path)
    output = tmp_path / "oracle.json"
    rscript(SCRIPT, str(tmp_path), str(output))
    live = json.loads(output.read_text())
    assert set(live) == set(ORACLE)
    for name, values in ORACLE.items():
        assert set(live[name]) == set(values), name
        for key, expected in values.items():
            if expected and isinstance(expected[0], str) or key in ("robust", "R", "survival"):
                assert live[name][key] == expected, (name, key)
            else:
                close(live[name][key], expected, f"{name} {key}", digits=10)
