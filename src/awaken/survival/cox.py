"""Cox proportional hazards on counting-process data, as R ``survival::coxph`` computes it.

Partial likelihood (Cox 1972) over ``(start, stop]`` intervals, so time-varying covariates, left
truncation and repeated exposures are handled by splitting follow-up into rows. Ties by Efron
(1977, R's default) or Breslow (1974); strata; case weights; cluster-robust sandwich variance
(Lin & Wei 1989, R's ``cluster()``); time-varying coefficients in the style of R's ``tt()``;
score, Schoenfeld, martingale and dfbeta residuals; and the proportional-hazards score test of
R's ``cox.zph`` (Grambsch & Therneau 1994, in its survival >= 3.0 form).

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

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from awaken.survival._riskset import RiskSets
from awaken.survival._summary import coefficient_table
from awaken.survival._validate import (
    SurvivalDataError,
    check_intervals,
    check_no_overlap,
    event_codes,
    numeric_column,
    require_columns,
)

__all__ = ["CoxPH", "cox_zph", "split_at_event_times"]

TIES = ("efron", "breslow")
MAX_ITERATIONS = 50
# Newton stops when the log-likelihood changes by less than this (relative), as R's
# coxph.control(eps) but tighter, so results are converged well past 6 significant digits
RELATIVE_TOLERANCE = 1e-12
MAX_HALVINGS = 30


class CoxPH:
    """Cox proportional-hazards regression (lifelines manners: ``fit`` returns ``self``).

    Parameters
    ----------
    ties : "efron" (R's default) or "breslow".
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
    ) -> CoxPH:
        """Fit the model.

        ``id`` names the subject of each row: its ``(start, stop]`` intervals are then checked not to
        overlap (as R's ``survcheck``); it changes no estimate (``cluster`` gives robust variance).
        ``event`` holds 0 (censored) and 1 (event); with ``cause=k`` it may hold competing causes
        1, 2, ... and the model is the cause-specific hazard of ``k`` (other causes censor).
        ``tt`` maps a new covariate name to ``f(rows, t)``, evaluated on the rows at risk at each
        event time ``t``, as R's ``tt()``. ``robust`` defaults to R's rule: on when ``cluster`` is
        given or weights are not whole numbers.
        """
        covariates = list(covariates)
        strata_columns = [strata] if isinstance(strata, str) else list(strata or [])
        require_columns(df, [stop, event, start, weights, cluster, id, *covariates, *strata_columns])
        if not covariates and not tt:
            raise SurvivalDataError("give at least one covariate")
        if len(set(covariates)) != len(covariates):
            raise SurvivalDataError(f"covariates repeat a name: {covariates}")

        stop_values = numeric_column(df, stop)
        start_values = numeric_column(df, start) if start is not None else None
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
        weight = numeric_column(df, weights, minimum=0.0, strictly=True) if weights else np.ones(len(df))
        x = np.column_stack([numeric_column(df, c) for c in covariates]) if covariates else np.empty((len(df), 0))
        stratum, self.strata_ = _group_codes(df, strata_columns)
        cluster_codes = _group_codes(df, [cluster])[0] if cluster else None

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
            weight, stratum = weight[rows], stratum[rows]
            if cluster_codes is None:
                cluster_codes = rows  # one subject per original row, as R does for tt()
            else:
                cluster_codes = cluster_codes[rows]
        if robust is None:
            robust = cluster is not None or not np.all(weight == np.round(weight))

        self.covariates_ = names
        self.n_ = len(df)
        self.n_events_ = int(status.sum())
        self._has_tt = bool(tt)
        self._means = np.average(x, axis=0, weights=weight) if x.size else np.zeros(0)
        centred = x - self._means
        self._risk_sets = RiskSets(centred, start_values, stop_values, status, weight, stratum,
                                   efron=self.ties == "efron")
        self._fit_newton()
        self._weight = weight
        self._status = status
        self._rows = rows
        self._centred = centred
        self._start, self._stop, self._stratum = start_values, stop_values, stratum
        self.naive_variance_matrix_ = self._variance
        if robust:
            groups = cluster_codes if cluster_codes is not None else np.arange(len(weight))
            dfbeta = self.residuals("dfbeta").to_numpy()
            collapsed = _sum_by(groups, dfbeta)
            variance = collapsed.T @ collapsed
        else:
            variance = self._variance
        self.robust_ = bool(robust)
        self.variance_matrix_ = pd.DataFrame(variance, index=names, columns=names)
        self.params_ = pd.Series(self._beta, index=names, name="coef")
        self.standard_errors_ = pd.Series(np.sqrt(np.diag(variance)), index=names, name="se(coef)")
        return self

    def _fit_newton(self) -> None:
        p = self._risk_sets.x.shape[1]
        beta = np.zeros(p)
        loglik, score, info, *_ = self._risk_sets.sweep(beta)
        _refuse_uninformative(info, self.covariates_)
        self.log_likelihood_null_ = loglik
        self.score_test_ = _quadratic(score, info)
        converged = False
        iterations = 0
        while iterations < MAX_ITERATIONS:
            iterations += 1
            step = _solve(info, score)
            for _ in range(MAX_HALVINGS):
                new_beta = beta + step
                new = self._risk_sets.sweep(new_beta)
                if np.isfinite(new[0]) and new[0] >= loglik - 1e-12 * abs(loglik):
                    break
                step = step / 2
            change = abs(new[0] - loglik)
            beta, (loglik, score, info) = new_beta, new[:3]
            if change <= RELATIVE_TOLERANCE * max(abs(loglik), 1.0) and np.max(np.abs(step), initial=0) < 1e-8:
                converged = True
                break
        self._beta = beta
        self._variance = np.linalg.inv(info) if p else np.zeros((0, 0))
        self.log_likelihood_ = loglik
        self.iterations_ = iterations
        self.converged_ = converged

    # ------------------------------------------------------------------ results
    @property
    def hazard_ratios_(self) -> pd.Series:
        return np.exp(self.params_).rename("exp(coef)")

    @property
    def wald_test_(self) -> float:
        beta = self.params_.to_numpy()
        return float(beta @ np.linalg.solve(self.variance_matrix_.to_numpy(), beta))

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
        keys = ("stratum", "time", "deaths", "haz", "haz_dead", "xhaz", "xhaz_dead", "mean", "info", "score")
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
        per_time = self._per_time()
        if kind == "schoenfeld":
            return self._schoenfeld(per_time)
        hazard, x_hazard, own = self._risk_integrals(per_time)
        risk = np.exp(self._centred @ self._beta)
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


def cox_zph(fit: CoxPH, transform: str | Callable[[np.ndarray], np.ndarray] = "km") -> pd.DataFrame:
    """Proportional-hazards test of R's ``cox.zph`` (survival >= 3.0): a score test per covariate
    for adding ``x * g(t)``, and a global test; ``g`` is ``"km"`` (1 - Kaplan-Meier, R's
    default), ``"identity"``, ``"rank"``, ``"log"`` or a function of time."""
    if fit._has_tt:
        raise ValueError("cox_zph is not defined for models with tt terms (as R's cox.zph)")
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
    rows = []
    for j in range(p):
        keep = list(range(p)) + [p + j]
        uj = u[keep]
        rows.append(float(uj @ np.linalg.solve(full[np.ix_(keep, keep)], uj)))
    rows.append(float(u @ np.linalg.solve(full, u)))
    df = [1] * p + [p]
    table = pd.DataFrame({"chisq": rows, "df": df}, index=[*fit.covariates_, "GLOBAL"])
    table["p"] = stats.chi2.sf(table["chisq"], table["df"])
    return table


def split_at_event_times(start, stop, status, stratum):
    """Split each ``(start, stop]`` row at the event times of its stratum that fall inside it.

    Returns ``(rows, start, stop, status)`` for the pieces, ``rows`` indexing the original rows;
    only the last piece of a row keeps its event. This is how R evaluates ``tt()`` terms.
    """
    pieces_rows, pieces_start, pieces_stop = [], [], []
    for s in np.unique(stratum):
        rows = np.flatnonzero(stratum == s)
        times = np.unique(stop[rows][status[rows]])
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


def _group_codes(df: pd.DataFrame, columns: Sequence[str | None]):
    columns = [c for c in columns if c is not None]
    if not columns:
        return np.zeros(len(df), dtype=np.int64), None
    missing = df[columns].isna().any(axis=1).to_numpy()
    if missing.any():
        raise SurvivalDataError(f"columns {columns} have missing values at rows {list(df.index[missing][:5])}")
    codes, uniques = pd.MultiIndex.from_frame(df[columns]).factorize(sort=True) if len(columns) > 1 else \
        pd.factorize(df[columns[0]], sort=True)
    return codes.astype(np.int64), uniques


def _sum_by(groups: np.ndarray, values: np.ndarray) -> np.ndarray:
    codes, _ = pd.factorize(groups)
    out = np.zeros((codes.max() + 1, values.shape[1]))
    np.add.at(out, codes, values)
    return out


def _refuse_uninformative(info: np.ndarray, names: Sequence[str]) -> None:
    """Refuse covariates the data carry no information on (constant within every stratum, or a
    linear combination of others): R drops them with an NA coefficient, awaken names them."""
    if info.size == 0:
        return
    from scipy.linalg import qr

    scale = np.sqrt(np.clip(np.diag(info), 0, None))
    if np.any(scale <= 0):
        bad = [names[j] for j in np.flatnonzero(scale <= 0)]
    else:
        _, r, pivot = qr(info / np.outer(scale, scale), pivoting=True)
        rank = int(np.sum(np.abs(np.diag(r)) > 1e-10 * abs(r[0, 0])))
        bad = [names[j] for j in pivot[rank:]]
    if bad:
        raise SurvivalDataError(
            f"covariate(s) {bad} carry no information in these data (constant among the rows at risk "
            "at every event time, e.g. within every stratum, or collinear with other covariates); drop them"
        )


def _solve(info: np.ndarray, score: np.ndarray) -> np.ndarray:
    if info.size == 0:
        return np.zeros(0)
    try:
        return np.linalg.solve(info, score)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(info, score, rcond=None)[0]


def _quadratic(score: np.ndarray, info: np.ndarray) -> float:
    return float(score @ _solve(info, score)) if score.size else 0.0
