"""Aalen-Johansen cumulative incidence of one cause in the presence of competing causes.

The tie-exact estimator (Aalen & Johansen 1978; no jittering of tied times): at each time the
cumulative incidence of a cause rises by ``S(t-) d_cause(t) / n(t)``, as R's
``survfit(Surv(start, stop, factor(event)) ~ group, weights = w, id = id)`` (its ``pstate`` of the
cause's state) and, for unweighted right-censored data, ``cmprsk::cuminc``. Case weights (zero
allowed), left truncation (``(start, stop]`` rows: at risk when ``start < t <= stop``), one curve
per group, and several rows per subject (``id``).

Two variances (``variance_``; ``variance_method_`` says which one a fit reports):

- ``"gray"``: the delta-method estimator of Gray's ``cuminc`` (Gray 1988), carried between the
  cause's jumps as ``cuminc`` reports it. The default for unweighted right-censored data without
  ``id``, the only data ``cuminc`` takes.
- ``"ij"``: the infinitesimal jackknife, cluster-robust by subject (``id``; each row its own
  subject without it), R ``survfit``'s multi-state ``std.err`` squared:
  ``sum_s (sum_{i in s} w_i dF/dw_i)^2``. The default as soon as ``weights``, ``start`` or ``id`` is
  given. It comes from per-row coefficients on three functions of time, O(N log N), not from the
  N x times influence matrix.

Where R differs: its multi-state ``survfit`` joins a subject's middle rows to the row that follows
and keeps one weight per subject (the last entered row's), so with weights that vary between a
subject's rows its curve is not its own Kaplan-Meier's (0.002 apart on the test cohort); awaken
weighs each row by its own weight, as R's Kaplan-Meier and ``coxph`` do, and agrees with R when a
subject's weight is constant. R also refuses gaps between a subject's rows; awaken takes them (the
subject is not at risk in the gap). R's times leave out the stops of those joined rows, where
nothing happens; awaken reports every unique stop time.

Example
-------
>>> import pandas as pd
>>> data = pd.DataFrame({"t": [1, 2, 2, 3, 4], "e": [1, 2, 1, 0, 1]})
>>> AalenJohansen().fit(data, time="t", event="e", cause=1).cumulative_incidence_.tolist()
[0.2, 0.4, 0.4, 0.8]
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
from scipy import stats

from awaken.survival._validate import (
    SurvivalDataError,
    case_weights,
    check_intervals,
    check_names,
    check_no_overlap,
    event_codes,
    group_codes,
    numeric_column,
)
from awaken.survival.kaplan_meier import (
    as_times,
    fixed_times,
    jackknife_variance,
    not_fitted,
    risk_sets,
    step_values,
)

__all__ = ["AalenJohansen"]

_SHOWN_ROWS = 5


def _rows(frame: pd.DataFrame, mask: np.ndarray) -> str:
    labels = list(frame.index[mask][:_SHOWN_ROWS])
    more = int(mask.sum()) - len(labels)
    return "rows " + ", ".join(str(label) for label in labels) + (f" and {more} more" if more > 0 else "")


class AalenJohansen:
    """Cumulative incidence of one cause in the presence of competing causes.

    ``fit(df, time, event, cause=1, *, start=None, weights=None, group=None, id=None,
    variance="auto", timefix=True)`` -- event codes 0 censored, 1, 2, ... causes; ``variance``
    ``"auto"``, ``"gray"`` or ``"ij"`` (module docstring); ``timefix`` merges times that differ only
    by round-off first, as R's default (``aeqSurv``).

    Results (``fit`` returns ``self``):

    - ``cumulative_incidence_``: without ``group`` a Series indexed by the unique stop times;
      with ``group`` a DataFrame, one column per group (sorted), indexed by the union of the
      groups' times, each curve a right-continuous step function (0 before its first time, its
      last value carried after its last one).
    - ``variance_``: same shape, the variance named by ``variance_method_`` (``"gray"`` or ``"ij"``).
    - ``table_``: per curve and time (MultiIndex ``(group, time)`` with ``group``): ``n_risk``,
      ``n_event`` (the cause), ``n_competing``, ``n_censor`` (all weighted),
      ``cumulative_incidence``, ``variance``, ``std_err`` -- each group's own times, as R's strata.
    - ``groups_``: the groups (``None`` without ``group``); ``cause``.

    Example
    -------
    >>> import pandas as pd
    >>> data = pd.DataFrame({"t": [1, 2, 2, 3, 4], "e": [1, 2, 1, 0, 1]})
    >>> AalenJohansen().fit(data, time="t", event="e", cause=1).cumulative_incidence_.tolist()
    [0.2, 0.4, 0.4, 0.8]
    >>> data["arm"] = ["a", "a", "b", "b", "b"]
    >>> fit = AalenJohansen().fit(data, time="t", event="e", group="arm")
    >>> fit.cumulative_incidence_.round(3).to_dict("list")
    {'a': [0.5, 0.5, 0.5, 0.5], 'b': [0.0, 0.333, 0.333, 1.0]}
    >>> fit.variance_method_
    'gray'
    """

    def fit(self, df: pd.DataFrame, time: str, event: str, cause: int = 1, *, start: str | None = None,
            weights: str | None = None, group: str | None = None, id: str | None = None,
            variance: str = "auto", timefix: bool = True) -> AalenJohansen:
        check_names(df, time=time, event=event, start=start, weights=weights, group=group, id=id)
        if time is None or event is None:
            raise SurvivalDataError("time= and event= must name columns")
        if isinstance(cause, (bool, np.bool_)) or not isinstance(cause, numbers.Integral) or cause < 1:
            raise SurvivalDataError(f"cause must be a positive event code, got {cause!r}")
        cause = int(cause)
        if variance not in ("auto", "gray", "ij"):
            raise SurvivalDataError(f"variance must be 'auto', 'gray' or 'ij', got {variance!r}")
        plain = weights is None and start is None and id is None
        method = ("gray" if plain else "ij") if variance == "auto" else variance
        if method == "gray" and not plain:
            raise SurvivalDataError("Gray's variance (cmprsk::cuminc) is for unweighted right-censored data "
                                    "without id; use variance='ij' with weights=, start= or id=")

        stop = numeric_column(df, time, minimum=None if start is not None else 0.0)
        codes = event_codes(df, event, binary=False)
        if not np.any(codes == cause):
            raise SurvivalDataError(f"no row of {event!r} has the cause {cause}; codes present: "
                                    f"{sorted(set(codes.tolist()))}")
        entry = None
        if start is not None:
            entry = numeric_column(df, start)
            check_intervals(df, entry, stop, start, time)
        stop, entry = fixed_times(df, stop, entry, time, start, timefix)
        weight = case_weights(df, weights)
        subjects = self._subjects(df, id, entry, stop, codes, start, time) if id is not None else None
        if group is not None:
            try:
                labels, groups = group_codes(df, group)
                groups = pd.Index(groups, name=group)
            except TypeError as error:
                raise SurvivalDataError(f"column {group!r} holds values that cannot be grouped: {error}") from None
        else:
            labels, groups = None, None

        # the rows of each group, from one sort (not one pass over the data per group)
        if groups is not None:
            order = np.argsort(labels, kind="stable")
            bounds = np.concatenate([[0], np.cumsum(np.bincount(labels, minlength=len(groups)))])
        curves = []
        for g in range(1 if groups is None else len(groups)):
            rows = order[bounds[g]:bounds[g + 1]] if groups is not None else slice(None)
            curves.append(_curve(stop[rows], None if entry is None else entry[rows], weight[rows], codes[rows],
                                 cause, None if subjects is None else subjects[rows], method))
        self.cause = cause
        self.variance_method_ = method
        self.groups_ = groups
        self._assemble(curves, groups)
        return self

    @staticmethod
    def _subjects(df, id, entry, stop, codes, start, time) -> np.ndarray:
        subjects = group_codes(df, id)[0]
        if entry is None:
            repeated = pd.Series(subjects).duplicated(keep=False).to_numpy()
            if repeated.any():
                raise SurvivalDataError(f"column {id!r} repeats at {_rows(df, repeated)}: without start= each "
                                        "subject has one row (give start= for (start, stop] intervals)")
            return subjects
        check_no_overlap(df, id, entry, stop, start, time)
        # intervals do not overlap, so a subject's last row is the one with the latest stop
        latest = pd.Series(stop).groupby(subjects).max().to_numpy()
        early = (codes > 0) & (stop < latest[subjects])
        if early.any():
            raise SurvivalDataError(f"an event ends a subject's follow-up (the causes are absorbing), but rows of "
                                    f"the same {id!r} follow the event at {_rows(df, early)}")
        return subjects

    def _assemble(self, curves, groups) -> None:
        name = f"cause {self.cause}"
        if groups is None:
            (c,) = curves
            index = pd.Index(c["time"], name="time")
            self.table_ = pd.DataFrame({k: v for k, v in c.items() if k != "time"}, index=index)
            self.cumulative_incidence_ = pd.Series(c["cumulative_incidence"], index=index, name=name)
            self.variance_ = pd.Series(c["variance"], index=index, name="variance")
            return
        tables = [pd.DataFrame({k: v for k, v in c.items() if k != "time"}, index=pd.Index(c["time"], name="time"))
                  for c in curves]
        self.table_ = pd.concat(tables, keys=list(groups), names=[groups.name or "group", "time"])
        grid = np.unique(np.concatenate([c["time"] for c in curves]))
        columns = pd.Index(groups, name=groups.name)
        self.cumulative_incidence_ = pd.DataFrame(
            {g: step_values(c["time"], c["cumulative_incidence"], grid, 0.0) for g, c in zip(groups, curves)},
            index=pd.Index(grid, name="time"))
        self.cumulative_incidence_.columns = columns
        self.variance_ = pd.DataFrame(
            {g: step_values(c["time"], c["variance"], grid, 0.0) for g, c in zip(groups, curves)},
            index=pd.Index(grid, name="time"))
        self.variance_.columns = columns

    def predict(self, times) -> np.ndarray | pd.DataFrame:
        """Cumulative incidence at ``times`` (0 before the first time, the last value after the last);
        with ``group`` a DataFrame indexed by ``times``, one column per group."""
        if not hasattr(self, "cumulative_incidence_"):
            raise not_fitted(self)
        values = as_times(times)
        curve = self.cumulative_incidence_
        grid = curve.index.to_numpy()
        if self.groups_ is None:
            return step_values(grid, curve.to_numpy(), values, 0.0)
        flat = np.atleast_1d(values)
        return pd.DataFrame({g: step_values(grid, curve[g].to_numpy(), flat, 0.0) for g in curve.columns},
                            index=pd.Index(flat, name="time")).rename_axis(columns=curve.columns.name)

    def confidence_interval(self, alpha: float = 0.05) -> pd.DataFrame:
        """Pointwise interval on the log(-log) scale, as ``cmprsk::cuminc``'s plots, from ``variance_``.

        Columns ``lower`` and ``upper``; with ``group`` two column levels, ``(lower|upper, group)``.
        """
        if not hasattr(self, "cumulative_incidence_"):
            raise not_fitted(self)
        if not (isinstance(alpha, (int, float, np.floating)) and 0 < alpha < 1):
            raise SurvivalDataError(f"alpha must be a number between 0 and 1, got {alpha!r}")
        z = stats.norm.ppf(1 - alpha / 2)
        f = self.cumulative_incidence_.to_numpy()
        v = self.variance_.to_numpy()
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            inside = (f > 0) & (f < 1)
            spread = np.where(inside, z * np.sqrt(v) / (f * np.abs(np.log(np.where(inside, f, 0.5)))), 0.0)
            lower = np.where(inside, f ** np.exp(spread), f)
            upper = np.where(inside, f ** np.exp(-spread), f)
        if self.groups_ is None:
            return pd.DataFrame({"lower": lower, "upper": upper}, index=self.cumulative_incidence_.index)
        index, columns = self.cumulative_incidence_.index, self.cumulative_incidence_.columns
        return pd.concat({"lower": pd.DataFrame(lower, index=index, columns=columns),
                          "upper": pd.DataFrame(upper, index=index, columns=columns)}, axis=1)


def _curve(stop, entry, weight, codes, cause, subjects, method) -> dict[str, np.ndarray]:
    """One curve: the Aalen-Johansen estimate and its variance at the unique stop times."""
    died = codes > 0
    own_rows = codes == cause
    sets = risk_sets(stop, entry, weight, died)
    m = len(sets.times)
    own = np.where(sets.deaths > 0, np.bincount(sets.exit, weight * own_rows, minlength=m), 0.0)
    other = np.where(sets.deaths > 0, np.bincount(sets.exit, weight * (died & ~own_rows), minlength=m), 0.0)
    hazard_own = np.zeros(m)
    np.divide(own, sets.at_risk, out=hazard_own, where=(sets.deaths > 0) & ~sets.all_die)
    # when every subject at risk dies the causes share the whole step: d_k / d, not d_k / n
    np.divide(own, sets.deaths, out=hazard_own, where=sets.all_die)
    survival = sets.survival
    before = np.concatenate([[1.0], survival[:-1]])
    incidence = np.cumsum(before * hazard_own)
    if method == "gray":
        variance = _gray_variance(before, survival, incidence, own, other, sets.at_risk)
    else:
        variance = _jackknife(sets, survival, before, incidence, hazard_own, died, own_rows, weight, subjects)
    return {"time": sets.times, "n_risk": sets.at_risk, "n_event": own, "n_competing": other,
            "n_censor": sets.censored, "cumulative_incidence": incidence, "variance": variance,
            "std_err": np.sqrt(variance)}


def _jackknife(sets, survival, before, incidence, hazard_own, died, own_rows, weight, subjects) -> np.ndarray:
    """Infinitesimal-jackknife variance of the cumulative incidence F (R's multi-state ``survfit``).

    With lambda the all-cause and lambda_k the cause's hazard increments, the derivative of F_j in
    the weight of row i is ``sum_{r<=j} [-(F_j - F_r) alpha_r e_ir + beta_r e^k_ir]``, where
    ``e_ir = dN_i(r) - Y_i(r) lambda_r`` (``e^k`` with the cause's), ``alpha = 1 / (n (1 - lambda))``
    and ``beta = S(r-) / n`` (Aalen-Johansen's product rule; both 0 where no weight dies, as R
    skips those times, and alpha 0 once S = 0). Summing the at-risk terms with the cumulative
    ``A = sum alpha lambda``, ``B = sum alpha F lambda``, ``C = sum beta lambda_k``, the derivative is
    ``(1, -A0_i, B0_i + C0_i) . (g_j, F_j, 1)`` while the row is at risk (``g = F A - B - C``, ``X0_i``
    the sum up to before its entry) and ``(0, -P_i, Q_i + R_i) . (g_j, F_j, 1)`` after its stop.
    """
    m = len(sets.times)
    n = sets.at_risk
    alpha = np.zeros(m)
    np.divide(1.0, n * (1.0 - sets.hazard), out=alpha, where=(sets.deaths > 0) & (survival > 0))
    beta = np.zeros(m)
    np.divide(before, n, out=beta, where=sets.deaths > 0)
    a = np.cumsum(alpha * sets.hazard)
    b = np.cumsum(alpha * incidence * sets.hazard)
    c = np.cumsum(beta * hazard_own)
    g = incidence * a - b - c

    def lagged(x):
        return np.concatenate([[0.0], x])[sets.entry]

    a0, b0, c0 = lagged(a), lagged(b), lagged(c)
    j = sets.exit
    p = died * alpha[j] - (a[j] - a0)
    q = died * alpha[j] * incidence[j] - (b[j] - b0)
    r = own_rows * beta[j] - (c[j] - c0)
    rows = len(weight)
    return jackknife_variance([g, incidence, np.ones(m)], sets, [np.ones(rows), -a0, b0 + c0],
                              [np.zeros(rows), -p, q + r], weight, subjects)


def _gray_variance(before, after, incidence, d_own, d_other, at_risk):
    """Delta-method variance of the cumulative incidence (Gray's ``cuminc``), at every time."""
    n = at_risk
    with np.errstate(divide="ignore", invalid="ignore"):
        inv_after = np.where(after > 0, 1.0 / after, 0.0)
        t5_other = np.where(d_other > 1, 1.0 - (d_other - 1.0) / (n - 1.0), 1.0)
        t6_other = np.where((d_other > 0) & (after > 0), before**2 * t5_other * d_other / n**2, 0.0)
        t5_own = np.where(d_own > 1, 1.0 - (d_own - 1.0) / (n - 1.0), 1.0)
        t6_own = np.where(d_own > 0, before**2 * t5_own * d_own / n**2, 0.0)
    b_other = incidence * inv_after
    b_own = 1.0 + inv_after * incidence
    v1 = np.cumsum(b_other**2 * t6_other + b_own**2 * t6_own)
    v2 = np.cumsum(inv_after * b_other * t6_other + inv_after * b_own * t6_own)
    v3 = np.cumsum(inv_after**2 * (t6_other + t6_own))
    variance = v1 + incidence**2 * v3 - 2 * incidence * v2
    # cuminc reports the variance at the jumps of the cause; between them it carries the last value
    jumps = np.flatnonzero(d_own > 0)
    carried = np.zeros(len(variance))
    if jumps.size:
        index = np.searchsorted(jumps, np.arange(len(variance)), side="right") - 1
        carried = np.where(index >= 0, variance[jumps[np.maximum(index, 0)]], 0.0)
    return carried
