"""No public call of awaken.survival raises a bare exception or leaks a NumPy warning, on any input.

A seeded generator makes small data sets with the shapes that break engines (1-100 rows, heavy ties,
round-off near-ties, all censored, everything at one time, a covariate that separates the events,
near-collinear or constant-within-strata covariates, fractional weights, left truncation, one
group) and calls every public estimator on each. Each call must either answer - with finite numbers,
or non-finite ones it flags (``infinite_``, ``not_estimable_``) - or refuse with a
:class:`SurvivalDataError` that says why. Anything else (``ZeroDivisionError``, ``LinAlgError``,
``KeyError``, a ``RuntimeWarning`` from NumPy) fails the test and names the call and the data set.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from awaken.survival import (
    AalenJohansen,
    ConvergenceWarning,
    CoxPH,
    FineGray,
    KaplanMeier,
    SurvivalDataError,
    baseline_hazard,
    cox_zph,
    gray_test,
    predict_survival,
)

SEEDS = range(400)


def dataset(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = int(rng.choice([1, 2, 3, 5, 10, 30, 100]))
    kind = int(rng.integers(0, 9))
    t = rng.exponential(10, n)
    if kind == 0:
        t = np.ceil(t)  # heavy ties
    elif kind == 1:
        t = np.round(t) / 365.25 * 365.25  # round-off near-ties
    elif kind == 2:
        t = np.round(t * 2) / 2 + rng.choice([0, 1e-12], n)
    elif kind == 8:
        t = np.full(n, 5.0)  # everything at one time
    e = (rng.random(n) < rng.choice([0, 0.3, 0.8, 1.0])).astype(int)
    cause = np.where(e == 1, rng.integers(1, 3, n), 0)
    x1 = rng.normal(size=n)
    x2 = (rng.random(n) < 0.5).astype(float)
    if kind == 3:
        x2 = e.astype(float)  # separation
    elif kind == 4:
        x2 = x1 * 2 + 1e-10 * rng.normal(size=n)  # near-collinear
    group = rng.integers(0, int(rng.integers(1, 4)), n)
    if kind == 5:
        x2 = group.astype(float)  # constant within strata
    w = rng.uniform(0.2, 3, n) if rng.random() < 0.4 else np.ones(n)
    start = np.where(rng.random(n) < 0.3, t * rng.random(n) * 0.9, 0.0)
    return pd.DataFrame({"t": t, "e": e, "c": cause, "x1": x1, "x2": x2, "g": group, "w": w, "start": start,
                         "id": np.arange(n) % max(1, n // 2)})


def _cox(d, **options):
    return CoxPH(ties=options.pop("ties", "efron")).fit(d, stop="t", event="e", covariates=["x1", "x2"], **options)


CALLS = {
    "CoxPH": lambda d: _cox(d),
    "CoxPH strata weights": lambda d: _cox(d, strata="g", weights="w"),
    "CoxPH start cluster breslow": lambda d: _cox(d, ties="breslow", start="start", cluster="id"),
    "CoxPH exact strata": lambda d: _cox(d, ties="exact", strata="g"),
    "CoxPH tt": lambda d: _cox(d, tt={"x1_t": lambda rows, time: rows.x1.to_numpy() * np.log(time + 1)}),
    "cox_zph": lambda d: cox_zph(_cox(d)),
    "residuals": lambda d: [_cox(d).residuals(k) for k in ("martingale", "score", "dfbeta", "schoenfeld")],
    "predict_survival": lambda d: predict_survival(_cox(d, strata="g"), d.head(2)),
    "baseline_hazard": lambda d: baseline_hazard(_cox(d, weights="w")),
    "KaplanMeier": lambda d: KaplanMeier().fit(d, time="t", event="e", weights="w").table_,
    "KaplanMeier start": lambda d: KaplanMeier().fit(d, time="t", event="e", start="start").confidence_interval(),
    "AalenJohansen": lambda d: AalenJohansen().fit(d, time="t", event="c", cause=1).confidence_interval(),
    "FineGray": lambda d: FineGray().fit(d, time="t", event="c", covariates=["x1", "x2"], cause=1),
    "gray_test": lambda d: gray_test(d, time="t", event="c", group="g", cause=1),
}


def _finite_or_flagged(result) -> None:
    if not hasattr(result, "params_"):
        return
    flagged = np.zeros(len(result.params_), dtype=bool)
    for name in ("infinite_", "not_estimable_"):
        if hasattr(result, name):
            flagged |= getattr(result, name).to_numpy()
    assert np.all(np.isfinite(result.params_.to_numpy()[~flagged])), result.params_
    assert np.all(np.isfinite(result.standard_errors_.to_numpy()[~flagged])), result.standard_errors_


@pytest.mark.parametrize("call", sorted(CALLS))
def test_every_public_call_answers_or_refuses_clearly(call):
    failures = []
    for seed in SEEDS:
        d = dataset(seed)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a RuntimeWarning (or any other) leaking out fails
            warnings.simplefilter("ignore", ConvergenceWarning)  # the documented, named warning
            try:
                _finite_or_flagged(CALLS[call](d))
            except SurvivalDataError:
                pass
            except Exception as error:  # noqa: BLE001 - the point of the test
                failures.append(f"seed {seed}: {type(error).__name__}: {error}")
    assert not failures, f"{call}: {len(failures)} of {len(SEEDS)} data sets:\n" + "\n".join(failures[:10])
