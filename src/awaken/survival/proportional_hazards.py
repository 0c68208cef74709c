"""The proportional-hazards test of R's ``cox.zph`` (Grambsch & Therneau 1994, survival >= 3.0 form).

For each covariate, the score test for adding ``x * g(t)`` to a fitted Cox model, and a global
test for all of them: ``g`` is ``1 - Kaplan-Meier`` (R's default), the identity, the rank, the log,
or any function of time, centred over the event times. Computed from the fit's per-event-time
score and information, in O(N log N).

Refused with a :class:`SurvivalDataError` saying why where R stops in ``solve()``: every event at
one time (``g`` does not vary), a singular information matrix, a fit with a coefficient that may
be infinite, and ``tt`` terms (as R).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy import stats

from awaken.survival._validate import SurvivalDataError
from awaken.survival.cox import CoxPH

__all__ = ["cox_zph"]


def cox_zph(fit: CoxPH, transform: str | Callable[[np.ndarray], np.ndarray] = "km") -> pd.DataFrame:
    """Proportional-hazards test of R's ``cox.zph`` (survival >= 3.0): a score test per covariate
    for adding ``x * g(t)``, and a global test; ``g`` is ``"km"`` (1 - Kaplan-Meier, R's
    default), ``"identity"``, ``"rank"``, ``"log"`` or a function of time."""
    if fit._has_tt:
        raise ValueError("cox_zph is not defined for models with tt terms (as R's cox.zph)")
    if fit.infinite_.any():
        raise SurvivalDataError(f"the coefficient(s) of {list(fit.infinite_.index[fit.infinite_])} may be infinite "
                                "(see the fit's ConvergenceWarning): the proportional-hazards test is not defined")
    per_time = fit._per_time()
    dying = fit._status
    times = fit._stop
    if callable(transform):
        g_rows = np.asarray(transform(times), dtype=float)
    elif transform == "identity":
        g_rows = times.astype(float)
    elif transform == "log":
        g_rows = np.log(times)
    elif transform == "rank":
        g_rows = stats.rankdata(times)
    elif transform == "km":
        g_rows = 1.0 - _km_left_limit(fit._start, fit._stop, dying, times)
    else:
        raise ValueError(f"unknown transform {transform!r}")
    if not np.all(np.isfinite(g_rows[dying])):
        raise SurvivalDataError(f"transform {transform!r} gives non-finite values at event times "
                                f"(e.g. log of a time <= 0)")
    g_rows = g_rows - g_rows[dying].mean()
    # g is a function of time only, so every death at a time shares it
    _, _, own = fit._risk_integrals(per_time)
    g_time = np.zeros(len(per_time["time"]))
    g_time[own[dying]] = g_rows[dying]
    p = len(fit.covariates_)
    info = per_time["info"]
    i11 = info.sum(axis=0)
    i12 = np.einsum("t,tjk->jk", g_time, info)
    i22 = np.einsum("t,tjk->jk", g_time**2, info)
    full = np.block([[i11, i12], [i12, i22]])
    u = np.concatenate([np.zeros(p), g_time @ per_time["score"]])
    if np.allclose(g_time[own[dying]], 0.0):
        raise SurvivalDataError("every event is at the same time (within its stratum's transform), so the "
                                "proportional-hazards test has nothing to compare")
    rows = []
    for j in range(p):
        keep = list(range(p)) + [p + j]
        rows.append(_chi_square(u[keep], full[np.ix_(keep, keep)], fit.covariates_[j]))
    rows.append(_chi_square(u, full, "GLOBAL"))
    df = [1] * p + [p]
    table = pd.DataFrame({"chisq": rows, "df": df}, index=[*fit.covariates_, "GLOBAL"])
    table["p"] = stats.chi2.sf(table["chisq"], table["df"])
    return table


def _chi_square(u: np.ndarray, information: np.ndarray, term: str) -> float:
    """``u' I^-1 u``, refusing a numerically singular ``I`` by name (R's ``solve`` stops there)."""
    scale = np.sqrt(np.abs(np.diag(information)))
    with np.errstate(all="ignore"):
        scaled = information / np.outer(scale, scale)
        if not (np.all(scale > 0) and np.all(np.isfinite(scaled)) and np.linalg.cond(scaled) < 1e12):
            raise SurvivalDataError(f"the proportional-hazards test for {term} is not defined: its information "
                                    "matrix is singular (the covariate times g(t) is collinear with the covariates)")
        return float(u @ np.linalg.solve(information, u))


def _km_left_limit(start, stop, event, times):
    """Kaplan-Meier survival just before ``times`` for (start, stop] data, unweighted."""
    event_times = np.unique(stop[event])
    deaths = np.bincount(np.searchsorted(event_times, stop[event]), minlength=len(event_times))
    sorted_stop = np.sort(stop)
    sorted_start = np.sort(start)
    at_risk = (len(stop) - np.searchsorted(sorted_stop, event_times, side="left")) - (
        len(start) - np.searchsorted(sorted_start, event_times, side="left")
    )
    survival = np.cumprod(1.0 - deaths / at_risk)
    index = np.searchsorted(event_times, times, side="left")  # event times strictly before
    return np.concatenate([[1.0], survival])[index]
