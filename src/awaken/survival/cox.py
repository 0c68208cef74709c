"""Cox proportional hazards on counting-process data, as R ``survival::coxph`` computes it.

Partial likelihood (Cox 1972) over ``(start, stop]`` intervals, so time-varying covariates, left
truncation and repeated exposures are handled by splitting follow-up into rows. Ties by Efron
(1977, R's default), Breslow (1974) or exactly (the discrete logistic likelihood,
:mod:`awaken.survival._exact`); strata; case weights; offsets; cluster-robust sandwich variance
(Lin & Wei 1989, R's ``cluster()``); time-varying coefficients in the style of R's ``tt()``; score,
Schoenfeld, martingale and dfbeta residuals. Built on a fit: the proportional-hazards test
(:mod:`awaken.survival.proportional_hazards`) and the baseline hazard and predicted survival of
R's ``survfit.coxph`` (:mod:`awaken.survival.cox_survival`).

On the edges it answers as R does: times that differ only by round-off are merged first (R's
``timefix``/``aeqSurv``, on by default); a coefficient whose partial likelihood keeps rising as it
grows (separation, monotone likelihood) is reported with a :class:`ConvergenceWarning` naming it,
``converged_`` false and ``infinite_`` true for it (R: "beta may be infinite"), and one left without
information next to it as ``not_estimable_`` (NaN; R: NA); a covariate the data carry no
information on (constant within every stratum, or collinear) or data without an event are refused
by name (R returns NA). No arithmetic exception or NumPy warning reaches the caller.

Example
-------
>>> import pandas as pd
>>> data = pd.DataFrame({"time": [1, 2, 3, 4, 5, 6], "event": [1, 1, 0, 1, 1, 0],
...                      "exposed": [1, 0, 1, 1, 0, 0]})
>>> fit = CoxPH().fit(data, stop="time", event="event", covariates=["exposed"])
>>> round(float(fit.params_["exposed"]), 4)
1.0731
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from awaken.survival._exact import ExactRiskSets
from awaken.survival._newton import and_list, inverse, maximise, quadratic, refuse_uninformative
from awaken.survival._riskset import RiskSets
from awaken.survival._summary import coefficient_table
from awaken.survival._validate import (
    ConvergenceWarning,
    SurvivalDataError,
    case_weights,
    check_intervals,
    check_no_overlap,
    combination_codes,
    event_codes,
    numeric_column,
    require_columns,
)
from awaken.survival.timefix import timefix_or_refuse

__all__ = ["CoxPH", "split_at_event_times", "ConvergenceWarning"]

TIES = ("efron", "breslow", "exact")


class CoxPH:
    """Cox proportional-hazards regression (lifelines manners: ``fit`` returns ``self``).

    Parameters
    ----------
    ties : "efron" (R's default), "breslow" or "exact" (the exact partial likelihood of tied deaths,
        :mod:`awaken.survival._exact`; as R, without case weights, robust variance, or score, dfbeta
        and Schoenfeld residuals; curves, martingale residuals and ``cox_zph`` use Breslow's hazard
        at the exact estimate, as R).
    alpha : 1 - confidence level of the intervals in :attr:`summary`.
    """

    def __init__(self, ties: str = "efron", alpha: float = 0.05):
        if ties not in TIES:
            raise ValueError(f"ties must be one of {TIES}, got {ties!r}")
        if not 0 < alpha < 1:
            raise ValueError(f"alpha must be in (0, 1), got {alpha}")
        self.ties = ties
        self.alpha = alpha

    # ------------------------------------------------------------------ fitting
    def fit(
        self,
        df: pd.DataFrame,
        stop: str,
        event: str,
        covariates: Sequence[str],
        start: str | None = None,
        strata: str | Sequence[str] | None = None,
        weights: str | None = None,
        cluster: str | None = None,
        robust: bool | None = None,
        tt: Mapping[str, Callable[[pd.DataFrame, np.ndarray], np.ndarray]] | None = None,
        cause: int | None = None,
        id: str | None = None,  # noqa: A002 - R's name for the subject identifier
        offset: str | None = None,
        timefix: bool = True,
    ) -> CoxPH:
        """Fit the model.

        ``id`` names the subject of each row: its ``(start, stop]`` intervals are then checked not to
        overlap (as R's ``survcheck``); it changes no estimate (``cluster`` gives robust variance).
        ``event`` holds 0 (censored) and 1 (event); with ``cause=k`` it may hold competing causes
        1, 2, ... and the model is the cause-specific hazard of ``k`` (other causes censor).
        ``tt`` maps a new covariate name to ``f(rows, t)``, evaluated on the rows at risk at each
        event time ``t``, as R's ``tt()``. ``robust`` defaults to R's rule: on when ``cluster`` is
        given or weights are not whole numbers. ``offset`` names a column added to the linear
        predictor with coefficient 1 (R's ``offset()``). ``timefix`` merges times that differ only by
        round-off first, as R's default (:func:`awaken.survival.timefix.timefix`).
        """
        covariates = list(covariates)
        strata_columns = [strata] if isinstance(strata, str) else list(strata or [])
        require_columns(df, [stop, event, start, weights, cluster, id, offset, *covariates, *strata_columns])
        if not covariates and not tt:
            raise SurvivalDataError("give at least one covariate")
        if len(set(covariates)) != len(covariates):
            raise SurvivalDataError(f"covariates repeat a name: {covariates}")

        stop_values = numeric_column(df, stop)
        start_values = numeric_column(df, start) if start is not None else None
        if timefix:
            if start_values is None:
                (stop_values,) = timefix_or_refuse(df, stop_values)
            else:
                start_values, stop_values = timefix_or_refuse(df, start_values, stop_values, names=(start, stop))
        if start_values is None:
            # right-censored data: everyone at risk from the earliest possible time
            low = min(0.0, float(stop_values.min())) - 1.0
            start_values = np.full(len(df), low)
        else:
            check_intervals(df, start_values, stop_values, start, stop)
            if id is not None:
                check_no_overlap(df, id, start_values, stop_values, start, stop)
        codes = event_codes(df, event, binary=cause is None)
        status = codes == (cause if cause is not None else 1)
        weight = case_weights(df, weights, strictly=True)
        offset_values = numeric_column(df, offset) if offset else np.zeros(len(df))
        x = np.column_stack([numeric_column(df, c) for c in covariates]) if covariates else np.empty((len(df), 0))
        stratum, self.strata_ = combination_codes(df, strata_columns)
        cluster_codes = combination_codes(df, [cluster])[0] if cluster else None

        names = covariates
        rows = np.arange(len(df))
        if tt:
            rows, start_values, stop_values, status = split_at_event_times(
                start_values, stop_values, status, stratum
            )
            frame = df.iloc[rows]
            extra = [np.asarray(f(frame, stop_values), dtype=float) for f in tt.values()]
            x = np.column_stack([x[rows], *extra])
            names = covariates + list(tt)
            weight, stratum, offset_values = weight[rows], stratum[rows], offset_values[rows]
            if cluster_codes is not None:
                cluster_codes = cluster_codes[rows]
            # without a cluster, R's robust variance treats every split piece as its own subject
        if robust is None:
            robust = cluster is not None or (weights is not None and not np.all(weight == np.round(weight)))
        if self.ties == "exact":
            if not np.all(weight == 1):
                raise SurvivalDataError(f"ties='exact' takes no case weights (column {weights!r} is not all 1), as R's "
                                        "coxph; use ties='efron'")
            if robust:
                raise SurvivalDataError("ties='exact' has no robust variance (cluster= or robust=True): it needs "
                                        "score residuals, which the exact likelihood does not have (as R)")

        self.covariates_ = names
        self.n_ = len(df)
        self.n_events_ = int(status.sum())
        if self.n_events_ == 0:
            raise SurvivalDataError(f"no events in column {event!r}" + (f" (cause {cause})" if cause else "")
                                    + ": the partial likelihood is flat, nothing can be estimated (R returns NA)")
        self._has_tt = bool(tt)
        self._strata_columns, self._offset_column = strata_columns, offset
        self._means = (weight @ x) / weight.sum() if x.size else np.zeros(x.shape[1])
        # R's fit$means: 0 for a covariate whose values are all -1, 0 or 1 (coxph's nocenter), else
        # the weighted mean for right-censored data (coxph.fit) and the plain mean for (start, stop]
        # data (agreg.fit); they only place the default curve of survfit and basehaz(centered=TRUE)
        plain = self._means if start is None else x.mean(axis=0)
        self.means_ = pd.Series(np.where(np.all((x == 0) | (np.abs(x) == 1), axis=0), 0.0, plain), index=names,
                                name="means")
        centred = x - self._means
        self._risk_sets = RiskSets(centred, start_values, stop_values, status, weight, stratum,
                                   efron=self.ties == "efron", offset=offset_values)
        # the likelihood Newton maximises; with exact ties the Breslow sweep above still gives the hazard
        self._likelihood = self._risk_sets if self.ties != "exact" else ExactRiskSets(
            centred, start_values, stop_values, status, stratum, offset=offset_values)
        self._offset = offset_values
        with np.errstate(all="ignore"):
            self._fit_newton()
        self._weight = weight
        self._status = status
        self._rows = rows
        self._centred = centred
        self._start, self._stop, self._stratum = start_values, stop_values, stratum
        infinite = self.infinite_.to_numpy()
        self.naive_variance_matrix_ = _infinite_where(infinite, self._variance)
        if robust:
            groups = cluster_codes if cluster_codes is not None else np.arange(len(weight))
            with np.errstate(all="ignore"):
                dfbeta = self.residuals("dfbeta").to_numpy()
            collapsed = _sum_by(groups, dfbeta)
            variance = collapsed.T @ collapsed
        else:
            variance = self._variance
        self.robust_ = bool(robust)
        variance = _infinite_where(infinite, variance)
        self.variance_matrix_ = pd.DataFrame(variance, index=names, columns=names)
        lost = self.not_estimable_.to_numpy()
        self.params_ = pd.Series(np.where(lost, np.nan, self._beta), index=names, name="coef")
        with np.errstate(invalid="ignore"):
            self.standard_errors_ = pd.Series(np.where(lost, np.nan, np.sqrt(np.diag(variance))), index=names,
                                              name="se(coef)")
        return self

    def _fit_newton(self) -> None:
        """Newton-Raphson (:func:`awaken.survival._newton.maximise`): converged, or a coefficient that
        may be infinite (R's test), or one left without information next to it - each said."""
        risk_sets = self._risk_sets

        def refuse(info):
            weight = risk_sets.weight
            spread = (weight @ risk_sets.x**2) / weight.sum()  # x is centred at its weighted mean
            refuse_uninformative(info, self.covariates_, spread, float(weight @ risk_sets.event),
                                 "the rows at risk at every event time", "R reports NA for them")

        fit = maximise(lambda beta: self._likelihood.sweep(beta)[:3], risk_sets.p, refuse)
        self.log_likelihood_null_ = fit.log_likelihood_null
        self.score_test_ = quadratic(fit.score_null, fit.information_null)
        self._beta = fit.beta
        self._variance = inverse(fit.information)
        self.log_likelihood_ = fit.log_likelihood
        self.iterations_ = fit.iterations
        self.converged_ = fit.converged
        self.infinite_ = pd.Series(fit.infinite, index=self.covariates_, name="may be infinite")
        self.not_estimable_ = pd.Series(fit.not_estimable, index=self.covariates_, name="not estimable")
        names = np.asarray(self.covariates_)
        if fit.infinite.any():
            named = and_list(names[fit.infinite])
            one = fit.infinite.sum() == 1
            warnings.warn(f"the partial likelihood keeps rising as the coefficient{'' if one else 's'} of {named} "
                          f"grow{'s' if one else ''} (the events are separated: monotone likelihood); "
                          f"{'it' if one else 'each'} may be infinite, its standard error is reported as inf "
                          "(R: 'beta may be infinite')", ConvergenceWarning, stacklevel=3)
            if fit.not_estimable.any():
                lost = names[fit.not_estimable]
                warnings.warn(f"with {named} at infinity, {and_list(lost)} carr{'ies' if len(lost) == 1 else 'y'} "
                              "no information: not estimable, reported as NaN (R: NA)", ConvergenceWarning,
                              stacklevel=3)
        elif not fit.converged:
            warnings.warn(f"the fit did not converge in {fit.iterations} iterations; the estimates are where it "
                          "stopped", ConvergenceWarning, stacklevel=3)

    # ------------------------------------------------------------------ results
    @property
    def hazard_ratios_(self) -> pd.Series:
        return np.exp(self.params_).rename("exp(coef)")

    @property
    def wald_test_(self) -> float:
        beta = self.params_.to_numpy()
        if self.infinite_.any():
            return float("inf")
        return quadratic(beta, self.variance_matrix_.to_numpy())

    @property
    def likelihood_ratio_test_(self) -> float:
        return 2.0 * (self.log_likelihood_ - self.log_likelihood_null_)

    @property
    def summary(self) -> pd.DataFrame:
        """Coefficient table as R's ``summary(coxph)``: coef, exp(coef), se, z, p and CI."""
        naive = pd.Series(np.sqrt(np.diag(self.naive_variance_matrix_)), index=self.params_.index)
        return coefficient_table(self.params_, self.standard_errors_, self.alpha,
                                 naive_se=naive if self.robust_ else None)

    # ------------------------------------------------------------------ residuals
    def _per_time(self):
        out = self._risk_sets.sweep(self._beta, per_time=True)
        keys = ("stratum", "time", "deaths", "haz", "haz_dead", "haz2", "xhaz", "xhaz_dead", "mean", "info", "score")
        return dict(zip(keys, out[3:], strict=True))

    def _risk_integrals(self, per_time):
        """For every row, the hazard and x-weighted hazard summed over its event times in (start, stop].

        Returns (H, XH, own) where ``own`` indexes the row's own event time (or -1) so that the
        Efron correction for a dying row can be applied.
        """
        n = len(self._stop)
        p = self._centred.shape[1]
        hazard = np.zeros(n)
        x_hazard = np.zeros((n, p))
        own = np.full(n, -1)
        order = np.lexsort((per_time["time"], per_time["stratum"]))
        t_stratum = per_time["stratum"][order]
        t_time = per_time["time"][order]
        cum_h = np.concatenate([[0.0], np.cumsum(per_time["haz"][order])])
        cum_xh = np.vstack([np.zeros((1, p)), np.cumsum(per_time["xhaz"][order], axis=0)])
        for s in np.unique(self._stratum):
            rows = np.flatnonzero(self._stratum == s)
            first, last = np.searchsorted(t_stratum, [s, s + 1])
            times = t_time[first:last]
            lo = first + np.searchsorted(times, self._start[rows], side="right")
            hi = first + np.searchsorted(times, self._stop[rows], side="right")
            hazard[rows] = cum_h[hi] - cum_h[lo]
            x_hazard[rows] = cum_xh[hi] - cum_xh[lo]
            dying = self._status[rows]
            own[rows[dying]] = order[hi[dying] - 1]
        return hazard, x_hazard, own

    def residuals(self, kind: str = "martingale") -> pd.DataFrame | pd.Series:
        """Residuals as R's ``residuals.coxph``: martingale, score, dfbeta or schoenfeld (unweighted)."""
        if self.ties == "exact" and kind != "martingale":
            raise SurvivalDataError(f"{kind} residuals are not available for ties='exact' (as R); martingale are")
        per_time = self._per_time()
        if kind == "schoenfeld":
            return self._schoenfeld(per_time)
        hazard, x_hazard, own = self._risk_integrals(per_time)
        risk = np.exp(self._centred @ self._beta + self._offset)
        dying = np.flatnonzero(own >= 0)
        t = own[dying]
        if kind == "martingale":
            hazard[dying] += per_time["haz_dead"][t] - per_time["haz"][t]
            values = self._status.astype(float) - risk * hazard
            return pd.Series(values, index=self._index(), name="martingale")
        if kind in ("score", "dfbeta"):
            values = self._score_residuals(per_time, hazard, x_hazard, own, risk)
            if kind == "dfbeta":
                # R weights dfbeta residuals by the case weights (residuals.coxph, weighted=TRUE)
                values = (values @ self._variance) * self._weight[:, None]
            return pd.DataFrame(values, index=self._index(), columns=self.covariates_)
        raise ValueError(f"kind must be martingale, score, dfbeta or schoenfeld, got {kind!r}")

    def _score_residuals(self, per_time, hazard, x_hazard, own, risk):
        x = self._centred
        dying = np.flatnonzero(own >= 0)
        t = own[dying]
        hazard = hazard.copy()
        x_hazard = x_hazard.copy()
        hazard[dying] += per_time["haz_dead"][t] - per_time["haz"][t]
        x_hazard[dying] += per_time["xhaz_dead"][t] - per_time["xhaz"][t]
        values = -risk[:, None] * (x * hazard[:, None] - x_hazard)
        values[dying] += x[dying] - per_time["mean"][t]
        return values

    def _schoenfeld(self, per_time):
        dying = np.flatnonzero(self._status)
        hazard, x_hazard, own = self._risk_integrals(per_time)
        t = own[dying]
        values = self._centred[dying] - per_time["mean"][t]
        order = np.lexsort((self._stop[dying], self._stratum[dying]))
        frame = pd.DataFrame(values[order], columns=self.covariates_)
        frame.insert(0, "time", self._stop[dying][order])
        return frame

    def _index(self):
        return pd.Index(self._rows, name="row")


def split_at_event_times(start, stop, status, stratum):
    """Split each ``(start, stop]`` row at the event times of its stratum that fall inside it.

    Returns ``(rows, start, stop, status)`` for the pieces, ``rows`` indexing the original rows;
    only the last piece of a row keeps its event. This is how R evaluates ``tt()`` terms.
    """
    pieces_rows, pieces_start, pieces_stop = [], [], []
    for s in np.unique(stratum):
        rows = np.flatnonzero(stratum == s)
        times = np.unique(stop[rows][status[rows]])
        if times.size == 0:  # no event in this stratum: nothing to split at
            pieces_rows.append(rows)
            pieces_start.append(start[rows])
            pieces_stop.append(stop[rows])
            continue
        lo = np.searchsorted(times, start[rows], side="right")
        hi = np.searchsorted(times, stop[rows], side="left")
        count = hi - lo + 1
        row_of = np.repeat(rows, count)
        offset = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
        cut = np.repeat(lo, count) + offset  # index of the event time that ends the piece
        is_last = offset == np.repeat(count - 1, count)
        piece_stop = np.where(is_last, stop[row_of], times[np.minimum(cut, len(times) - 1)])
        piece_start = np.where(offset == 0, start[row_of], times[np.maximum(cut - 1, 0)])
        pieces_rows.append(row_of)
        pieces_start.append(piece_start)
        pieces_stop.append(piece_stop)
    rows = np.concatenate(pieces_rows)
    new_start = np.concatenate(pieces_start)
    new_stop = np.concatenate(pieces_stop)
    new_status = status[rows] & (new_stop == stop[rows])
    order = np.argsort(rows, kind="stable")
    return rows[order], new_start[order], new_stop[order], new_status[order]


def _infinite_where(infinite: np.ndarray, variance: np.ndarray) -> np.ndarray:
    """The variance with the rows and columns of coefficients that may be infinite set to inf."""
    return np.where(infinite[:, None] | infinite[None, :], np.inf, variance) if infinite.any() else variance


def _sum_by(groups: np.ndarray, values: np.ndarray) -> np.ndarray:
    codes, _ = pd.factorize(groups)
    out = np.zeros((codes.max() + 1, values.shape[1]))
    np.add.at(out, codes, values)
    return out
