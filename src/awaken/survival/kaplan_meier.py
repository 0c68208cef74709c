"""Kaplan-Meier survival with Greenwood or infinitesimal-jackknife standard errors, as R's ``survfit``.

Right-censored or counting-process ``(start, stop]`` data (left truncation: a row is at risk at
``t`` when ``start < t <= stop``) and case weights (zero allowed, as R), as
``survival::survfit(Surv(start, stop, event) ~ 1, weights = w)`` (Kaplan & Meier 1958).

Standard errors (``std_err``, always that of the cumulative hazard ``-log S``, R's scale for Greenwood):

- Greenwood (1926), ``sqrt(sum d / (n (n - d)))`` -- ``survfit(..., robust = FALSE)``; infinite
  from the time the last subjects at risk die (``S = 0``), as R's ``Inf``;
- ``robust=True``: the infinitesimal jackknife (Efron 1982; Therneau's ``survfitkm``, the variance
  R uses by default for non-integer weights or with ``cluster``): ``sum_c (sum_{i in c} w_i dS/dw_i)^2``
  over clusters ``c``. R reports this one on the survival scale (``logse = FALSE``); awaken divides
  it by ``S`` so that ``std_err`` means one thing.

The same module holds the machinery :mod:`awaken.survival.aalen_johansen` shares: the risk sets at
the unique times, with exact detection of "every subject at risk dies", and the quadratic form
that turns per-row influence coefficients into the jackknife variance in O(N log N).

Example
-------
>>> import pandas as pd
>>> data = pd.DataFrame({"months": [2, 3, 3, 5, 8], "died": [1, 1, 0, 1, 0]})
>>> km = KaplanMeier().fit(data, time="months", event="died")
>>> km.survival_function_.round(3).tolist()
[0.8, 0.6, 0.3, 0.3]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from awaken.survival._confidence import survival_band
from awaken.survival._validate import (
    SurvivalDataError,
    case_weights,
    check_intervals,
    check_names,
    event_codes,
    group_codes,
    numeric_column,
)
from awaken.survival.timefix import timefix_or_refuse

__all__ = ["KaplanMeier", "risk_table"]


def risk_table(time, start, counts, weight):
    """Unique times with the (weighted) number at risk and the (weighted) counts at each.

    ``counts`` is a list of 0/1 arrays (one per kind of event); returns ``(times, at_risk, [d...])``.
    """
    times = np.unique(time)
    sorted_index = np.argsort(time, kind="stable")
    cum_weight = np.concatenate([[0.0], np.cumsum(weight[sorted_index])])
    total = cum_weight[-1]
    at_risk = total - cum_weight[np.searchsorted(time[sorted_index], times, side="left")]
    if start is not None:
        start_index = np.argsort(start, kind="stable")
        cum_start = np.concatenate([[0.0], np.cumsum(weight[start_index])])
        # rows whose start is at or after t have not entered yet
        at_risk -= total - cum_start[np.searchsorted(start[start_index], times, side="left")]
    position = np.searchsorted(times, time)
    events = [np.bincount(position, weights=weight * c, minlength=len(times)) for c in counts]
    return times, at_risk, events


# ---------------------------------------------------------------------------- risk sets
@dataclass(frozen=True)
class RiskSets:
    """Risk sets at the unique stop times ``times`` (R reports every one, events or not).

    ``entry[i]`` is the first time index at which row ``i`` is at risk and ``exit[i]`` the index of
    its stop time: row ``i`` is at risk at ``times[j]`` for ``entry[i] <= j <= exit[i]``.
    ``hazard`` is ``deaths / at_risk``, exactly 1 where every row of positive weight at risk has
    an event (``all_die``) and 0 where no weight dies.
    """

    times: np.ndarray
    entry: np.ndarray
    exit: np.ndarray
    at_risk: np.ndarray
    deaths: np.ndarray
    censored: np.ndarray
    all_die: np.ndarray
    hazard: np.ndarray

    @property
    def survival(self) -> np.ndarray:
        return np.cumprod(1.0 - self.hazard)


def risk_sets(stop: np.ndarray, start: np.ndarray | None, weight: np.ndarray, died: np.ndarray) -> RiskSets:
    times, exit_index = np.unique(stop, return_inverse=True)
    m = len(times)
    exit_index = exit_index.astype(np.int64, copy=False)
    entry_index = (np.searchsorted(times, start, side="right") if start is not None
                   else np.zeros(len(stop), dtype=np.int64))
    positive = weight > 0

    def at_risk_of(values):
        # rows still in follow-up at t (stop >= t), less those not yet entered (start >= t): both
        # sums run from the last time backwards so the end of the curve carries no rounding of
        # the rows that left long before
        leaving = np.cumsum(np.bincount(exit_index, values, minlength=m)[::-1])[::-1]
        if start is None:
            return leaving
        entering = np.cumsum(np.bincount(entry_index, values, minlength=m + 1)[::-1])[::-1]
        return leaving - entering[1:]

    at_risk = at_risk_of(weight)
    counted = np.rint(at_risk_of(positive.astype(float)))       # rows of positive weight, exact
    dying = np.bincount(exit_index, died & positive, minlength=m)
    deaths = np.where(dying > 0, np.bincount(exit_index, weight * died, minlength=m), 0.0)
    censored = np.bincount(exit_index, weight * ~died, minlength=m)
    at_risk = np.where(counted > 0, np.maximum(at_risk, 0.0), 0.0)
    # "all die" from exact counts: weighted sums of the same rows may differ in the last bit, and
    # 1 - d/n must then be 0, not -1e-16
    all_die = (dying > 0) & (dying == counted)
    hazard = np.zeros(m)
    some = (deaths > 0) & ~all_die
    np.divide(deaths, at_risk, out=hazard, where=some)
    hazard = np.minimum(hazard, 1.0)
    hazard[all_die] = 1.0
    return RiskSets(times, entry_index, exit_index, at_risk, deaths, censored, all_die, hazard)


# ---------------------------------------------------------------------------- the jackknife
def jackknife_variance(basis: list[np.ndarray], sets: RiskSets, middle: list[np.ndarray], after: list[np.ndarray],
                       weight: np.ndarray, cluster: np.ndarray | None = None) -> np.ndarray:
    """``sum_c (kappa_c(t_j) . basis_j)^2`` at every time ``t_j``: the infinitesimal-jackknife variance.

    The derivative of the estimate at ``t_j`` in the weight of row ``i`` is ``coef_i(j) . basis_j``
    (``basis``: p functions of time; ``middle``, ``after``: p per-row coefficients),
    with ``coef_i`` zero before the row enters, ``middle[i]`` while it is at risk before its own stop
    time and ``after[i]`` from its stop time on; a cluster's coefficient is ``kappa_c = sum_{i in c}
    w_i coef_i`` (R's ``survfitkm``). ``sum_c kappa_c kappa_c'`` changes only where a row enters or
    stops, so it is accumulated from its changes there: O(N p^2) after one sort, never the
    O(N x times) influence matrix R fills.
    """
    m, p = len(sets.times), len(basis)
    entry, exit_ = sets.entry, sets.exit
    if cluster is not None and np.bincount(cluster).max() <= 1:
        cluster = None                                   # every row its own cluster
    changes = {}
    if cluster is None:
        w2 = weight * weight
        for q in range(p):
            for r in range(q, p):
                mid = w2 * middle[q] * middle[r]
                changes[q, r] = (np.bincount(entry, mid, minlength=m)
                                 + np.bincount(exit_, w2 * after[q] * after[r] - mid, minlength=m))
    else:
        n = len(weight)
        index = np.concatenate([entry, exit_])
        owner = np.concatenate([cluster, cluster])
        # by cluster, then time: within a cluster the changes at one time telescope, in any order
        order = np.argsort(owner * np.int64(m) + index)
        index, owner = index[order], owner[order]
        first = np.ones(2 * n, dtype=bool)
        first[1:] = owner[1:] != owner[:-1]
        del owner
        block_start = np.flatnonzero(first)[np.cumsum(first) - 1]
        kappa_after, kappa_before = [], []
        for q in range(p):
            step = np.concatenate([weight * middle[q], weight * (after[q] - middle[q])])[order]
            # running sum within each cluster, in extended precision: the offset subtracted is the
            # sum over every cluster sorted before
            total = np.cumsum(step, dtype=np.longdouble)
            running = (total - (total[block_start] - step[block_start])).astype(float)
            del total, step
            kappa_after.append(running)
            kappa_before.append(np.where(first, 0.0, np.roll(running, 1)))
        for q in range(p):
            for r in range(q, p):
                delta = kappa_after[q] * kappa_after[r] - kappa_before[q] * kappa_before[r]
                changes[q, r] = np.bincount(index, delta, minlength=m)
    variance = np.zeros(m, dtype=np.longdouble)
    for (q, r), change in changes.items():
        accumulated = np.cumsum(change, dtype=np.longdouble)
        variance += (1 if q == r else 2) * basis[q] * basis[r] * accumulated
    # a sum of squares: a negative value is rounding
    return np.maximum(variance.astype(float), 0.0)


def greenwood_terms(sets: RiskSets) -> np.ndarray:
    """``d / (n (n - d))`` at each time, infinite where all at risk die (R: ``Inf``)."""
    term = np.zeros(len(sets.times))
    some = (sets.deaths > 0) & ~sets.all_die
    np.divide(sets.deaths, sets.at_risk * (sets.at_risk - sets.deaths), out=term, where=some)
    term[sets.all_die] = np.inf
    return term


def fixed_times(df, stop, entry, time, start, timefix) -> tuple[np.ndarray, np.ndarray | None]:
    """Times that differ only by round-off made one, as R's ``survfit(timefix = TRUE)`` (``aeqSurv``)."""
    if not timefix:
        return stop, entry
    with np.errstate(all="ignore"):
        if entry is None:
            return timefix_or_refuse(df, stop)[0], None
        entry, stop = timefix_or_refuse(df, entry, stop, names=(start, time))
    return stop, entry


def not_fitted(estimator) -> SurvivalDataError:
    return SurvivalDataError(f"{type(estimator).__name__} has not been fitted: call fit(df, ...) first")


def as_times(times) -> np.ndarray:
    """``times`` as a float array, refusing what is not numbers (NaN stays NaN)."""
    try:
        values = np.asarray(times, dtype=float)
    except (TypeError, ValueError) as error:
        raise SurvivalDataError(f"times must be numbers: {error}") from None
    return values


def step_values(grid: np.ndarray, values: np.ndarray, times: np.ndarray, before: float) -> np.ndarray:
    """Right-continuous step function through ``values`` at ``grid``: ``before`` ahead of the grid."""
    index = np.searchsorted(grid, times, side="right")
    out = np.concatenate([[before], values])[index]
    return np.where(np.isnan(times), np.nan, out)


# ---------------------------------------------------------------------------- Kaplan-Meier
class KaplanMeier:
    """Kaplan-Meier estimator (``fit`` returns ``self``; results end in ``_``).

    ``fit(df, time, event, start=None, weights=None, robust=None, cluster=None)``:

    - ``weights``: case weights ``>= 0``; a row of weight 0 keeps its time in ``table_`` and
      counts for nothing, as R.
    - ``robust``: ``True`` for the infinitesimal-jackknife standard error (R's ``robust = TRUE``),
      clustered by ``cluster`` (each row its own cluster without it), ``False`` for Greenwood's.
      ``None`` (default) is R's rule: the jackknife when ``cluster`` is given or the weights are not
      whole numbers, else Greenwood (``robust_`` says which).

    - ``timefix``: merge times that differ only by round-off first, as R's default (``aeqSurv``).

    ``table_`` has, at every unique stop time: ``n_risk``, ``n_event``, ``n_censor`` (weighted),
    ``survival`` and ``std_err`` (of ``-log S``; infinite once ``S = 0``).
    """

    def fit(self, df: pd.DataFrame, time: str, event: str, start: str | None = None,
            weights: str | None = None, robust: bool | None = None, cluster: str | None = None,
            timefix: bool = True) -> KaplanMeier:
        check_names(df, time=time, event=event, start=start, weights=weights, cluster=cluster)
        if time is None or event is None:
            raise SurvivalDataError("time= and event= must name columns")
        if robust is not None and not isinstance(robust, (bool, np.bool_)):
            raise SurvivalDataError(f"robust= must be True, False or None, got {robust!r}")
        if cluster is not None and robust is False:
            raise SurvivalDataError("cluster= only changes the robust variance: it needs robust=True")
        stop = numeric_column(df, time)
        entry = numeric_column(df, start) if start is not None else None
        if entry is not None:
            check_intervals(df, entry, stop, start, time)
        stop, entry = fixed_times(df, stop, entry, time, start, timefix)
        died = event_codes(df, event, binary=True).astype(bool)
        weight = case_weights(df, weights)
        groups = group_codes(df, cluster)[0] if cluster is not None else None
        if robust is None:  # R's rule
            robust = cluster is not None or not np.all(weight == np.round(weight))

        sets = risk_sets(stop, entry, weight, died)
        survival = sets.survival
        if robust:
            std_err = self._jackknife(sets, died, weight, groups, survival)
        else:
            std_err = np.sqrt(np.cumsum(greenwood_terms(sets)))
        self.robust_ = bool(robust)
        self.table_ = pd.DataFrame({
            "n_risk": sets.at_risk, "n_event": sets.deaths, "n_censor": sets.censored,
            "survival": survival, "std_err": std_err,
        }, index=pd.Index(sets.times, name="time"))
        self.survival_function_ = self.table_["survival"]
        return self

    @staticmethod
    def _jackknife(sets: RiskSets, died, weight, groups, survival) -> np.ndarray:
        # d(log S_j)/dw_i = -sum_{r<=j} alpha_r (dN_i(r) - Y_i(r) lambda_r), alpha = 1 / (n (1 - lambda)):
        # with A_j = sum_{r<=j} alpha_r lambda_r the coefficient on (A_j, 1) is (-1, A(entry-1))
        # while at risk and (0, P_i) after, P_i = dN_i alpha_exit - (A(exit) - A(entry-1))
        n = len(sets.times)
        alpha = np.zeros(n)
        usable = (sets.deaths > 0) & (survival > 0)
        np.divide(1.0, sets.at_risk * (1.0 - sets.hazard), out=alpha, where=usable)
        cumulative = np.cumsum(alpha * sets.hazard)
        lagged = np.concatenate([[0.0], cumulative])
        entered = lagged[sets.entry]
        after_exit = died * alpha[sets.exit] - (cumulative[sets.exit] - entered)
        rows = len(weight)
        variance = jackknife_variance([cumulative, np.ones(n)], sets, [np.full(rows, -1.0), entered],
                                      [np.zeros(rows), after_exit], weight, groups)
        # once S = 0 the log-scale error is infinite (R's survival-scale value is 0 there)
        return np.where(survival > 0, np.sqrt(variance), np.inf)

    def predict(self, times) -> np.ndarray:
        """Survival at ``times`` (right-continuous step function; 1 before the first time)."""
        if not hasattr(self, "table_"):
            raise not_fitted(self)
        return step_values(self.table_.index.to_numpy(), self.survival_function_.to_numpy(), as_times(times), 1.0)

    def confidence_interval(self, alpha: float = 0.05, conf_type: str = "log") -> pd.DataFrame:
        """Pointwise interval, R's ``conf.type`` (``"log"`` by default, or ``"log-log"``, ``"plain"``,
        ``"logit"``; :func:`awaken.survival._confidence.survival_band`); [0, 0] once ``S = 0``."""
        if not hasattr(self, "table_"):
            raise not_fitted(self)
        if not (isinstance(alpha, (int, float, np.floating)) and 0 < alpha < 1):
            raise SurvivalDataError(f"alpha must be a number between 0 and 1, got {alpha!r}")
        s = self.survival_function_.to_numpy()
        lower, upper = survival_band(s, self.table_["std_err"].to_numpy(), alpha, conf_type)
        return pd.DataFrame({"lower": np.where(s > 0, lower, 0.0), "upper": np.where(s > 0, upper, 0.0)},
                            index=self.table_.index)
