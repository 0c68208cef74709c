"""Fine-Gray regression: proportional subdistribution hazards (Fine & Gray 1999), the two ways R fits it.

**As ``cmprsk::crr``** (the default). The log pseudo-likelihood in which a subject who failed from
another cause at ``T`` stays at risk at ``t > T`` with weight ``G(t-) / G(T-)``, ``G`` the
Kaplan-Meier of censoring (by censoring group, crr's ``cengroup``); Breslow ties; the sandwich
variance whose meat carries the uncertainty of ``G`` (Fine & Gray 1999, sec. 3); covariates that act
through a function of time, ``x * tf(t)`` (crr's ``cov2``/``tf``); the cumulative incidence for new
covariate values, ``1 - exp(-exp(z' beta) Lambda_0(t))`` (``predict.crr``). Without ``tf`` every
quantity is a cumulative sum over rows sorted once, so a fit costs O(N log N + N p^2) per Newton step
(crr's loops are O(N^2) for the fit and O(N^3) for its variance: ``benchmarks/fine_gray.py``). With
``tf`` the linear predictor of every subject changes at every failure time, so there is no such
shortcut: a compiled pass (numba, cached next to this module) over the risk set at each failure time,
O(N x failure times), as crr.

**As ``survival::finegray`` + ``coxph``** (with case ``weights``, ``strata`` or ``ties="efron"``;
crr has none of them). :func:`finegray` expands the data as R's ``finegray`` does (the other-cause
subjects' follow-up extended over the censoring intervals that hold a failure, with a decreasing
weight); :class:`CoxPH` fits ``Surv(fgstart, fgstop, fgstatus) ~ covariates + strata(s)`` with
``weights = fgwt`` and ``cluster`` one per subject: coxph's robust (sandwich) variance, not crr's.

Numerics, as :mod:`awaken.survival.cox`: the linear predictor is shifted by its maximum before ``exp``
(by its maximum in the risk set, with ``tf``) and covariates are centred, so nothing overflows;
Newton steps are halved until the pseudo-likelihood rises; a coefficient whose next step stays large
once the pseudo-likelihood has converged (R coxph's rule, crr has none) is reported as possibly
infinite with a :class:`ConvergenceWarning`, ``converged_`` false and an infinite standard error;
covariates without information (constant among the subjects at risk, or collinear) are refused by
name (crr stops with "system is exactly singular" there). No NumPy warning reaches the caller.

Example
-------
>>> import pandas as pd
>>> data = pd.DataFrame({"t": [1, 2, 3, 4, 5, 6, 7, 8], "e": [1, 2, 1, 0, 1, 2, 0, 1],
...                      "x": [1, 0, 1, 1, 0, 1, 0, 0]})
>>> fit = FineGray().fit(data, time="t", event="e", cause=1, covariates=["x"])
>>> fit.params_.round(4).tolist()
[0.6629]
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from awaken.survival._competing import cause_status, competing_data
from awaken.survival._crr import CrrProblem
from awaken.survival._newton import and_list, inverse, maximise
from awaken.survival._summary import coefficient_table
from awaken.survival._validate import (
    ConvergenceWarning,
    SurvivalDataError,
    case_weights,
    combination_codes,
    numeric_column,
    require_columns,
)
from awaken.survival.cox import CoxPH
from awaken.survival.cox_survival import predict_survival
from awaken.survival.finegray_expansion import expand
from awaken.survival.timefix import timefix as merge_round_off

__all__ = ["FineGray"]

TIES = ("breslow", "efron")
CENSORING_GROUP_VARIANCES = ("all_failures", "crr")


class FineGray:
    """Proportional subdistribution hazards regression (Fine & Gray 1999).

    Parameters
    ----------
    alpha : 1 - confidence level of the intervals in :attr:`summary`.
    ties : ``"breslow"`` (crr's); ``"efron"`` fits by the finegray + coxph route with Efron ties
        (R's coxph default).
    censoring_group_variance : with ``censoring_group``, how the sandwich variance carries the
        uncertainty of each group's censoring distribution. ``"all_failures"`` (default): through the
        risk sets at every failure, the influence of group g's Kaplan-Meier derived as in Fine & Gray
        (1999, sec. 3); ``"crr"``: as cmprsk 2.2-11, whose term for group g sums over the failures in
        group g only (reproduces crr's standard errors; docs/survival.md). Same value without groups.

    Example
    -------
    >>> import pandas as pd
    >>> data = pd.DataFrame({"t": [1, 2, 3, 4, 5, 6, 7, 8], "e": [1, 2, 1, 0, 1, 2, 0, 1],
    ...                      "x": [1, 0, 1, 1, 0, 1, 0, 0]})
    >>> fit = FineGray().fit(data, time="t", event="e", cause=1, covariates=["x"])
    >>> fit.params_.round(4).tolist()
    [0.6629]
    """

    def __init__(self, alpha: float = 0.05, ties: str = "breslow", censoring_group_variance: str = "all_failures"):
        if not 0 < alpha < 1:
            raise ValueError(f"alpha must be in (0, 1), got {alpha}")
        if ties not in TIES:
            raise ValueError(f"ties must be one of {TIES}, got {ties!r}")
        if censoring_group_variance not in CENSORING_GROUP_VARIANCES:
            raise ValueError(f"censoring_group_variance must be one of {CENSORING_GROUP_VARIANCES}, "
                             f"got {censoring_group_variance!r}")
        self.alpha = alpha
        self.ties = ties
        self.censoring_group_variance = censoring_group_variance

    # ------------------------------------------------------------------ fitting
    def fit(
        self,
        df: pd.DataFrame,
        time: str,
        event: str,
        covariates: Sequence[str] = (),
        cause: int = 1,
        censoring_group: str | None = None,
        time_varying: Sequence[str] = (),
        tf: Callable[[np.ndarray], np.ndarray] | None = None,
        weights: str | None = None,
        strata: str | Sequence[str] | None = None,
    ) -> FineGray:
        """Fit the model of the subdistribution hazard of ``cause`` (event codes: 0 censored, 1, 2, ...).

        ``covariates`` act as ``exp(x' beta)`` (crr's ``cov1``). ``time_varying`` columns act
        through ``tf``: ``tf(times)`` gets the sorted unique failure times of the cause and returns
        one column per ``time_varying`` column (a matrix, or a vector for one); the column ``z`` enters
        the linear predictor at failure time ``t`` as ``z * tf(t)[j] * beta`` (crr's ``cov2``/``tf``;
        its coefficient is named ``"z*tf1"``, or ``"z*<column>"`` when ``tf`` returns a DataFrame).
        ``censoring_group`` estimates the censoring distribution within groups (crr's ``cengroup``).

        ``weights`` (case weights), ``strata`` (a column or columns: censoring distribution and
        baseline hazard both by stratum) or ``ties="efron"`` fit by R's route instead:
        :func:`finegray` then :class:`CoxPH` with ``weights = fgwt`` and one cluster per subject, so
        the standard errors are coxph's robust sandwich (``cox_`` holds that fit); with
        ``censoring_group`` too, the censoring distribution is by stratum and group.
        """
        covariates = [covariates] if isinstance(covariates, str) else list(covariates)
        time_varying = [time_varying] if isinstance(time_varying, str) else list(time_varying)
        strata_columns = [strata] if isinstance(strata, str) else list(strata or [])
        require_columns(df, [time, event, censoring_group, weights, *covariates, *time_varying, *strata_columns])
        if not covariates and not time_varying:
            raise SurvivalDataError("give at least one covariate (covariates= or time_varying=)")
        for label, names in (("covariates", covariates), ("time_varying", time_varying)):
            if len(set(names)) != len(names):
                raise SurvivalDataError(f"{label} repeat a name: {names}")
        if time_varying and not callable(tf):
            raise SurvivalDataError("time_varying columns need tf, a function of the failure times (crr's tf)")
        if tf is not None and not time_varying:
            raise SurvivalDataError("tf is given but no time_varying columns (crr's cov2) to multiply")
        times, codes = competing_data(df, time, event, cause)
        self.cause = cause
        self.n_ = len(df)
        self.n_events_ = int(np.sum(codes == cause))
        if weights is not None or strata_columns or self.ties == "efron":
            if time_varying:
                raise SurvivalDataError("time_varying/tf is crr's (fitted without weights, strata or Efron ties); "
                                        "with weights or strata use CoxPH(tt=...) on the finegray() data")
            return self._fit_by_finegray(df, times, codes, covariates, censoring_group, weights, strata_columns)
        return self._fit_by_crr(df, times, codes, covariates, censoring_group, time_varying, tf)

    def _fit_by_crr(self, df, times, codes, covariates, censoring_group, time_varying, tf) -> FineGray:
        x_fixed = _matrix(df, covariates)
        x_varying = _matrix(df, time_varying)
        group = combination_codes(df, [censoring_group])[0]
        order = np.argsort(times, kind="stable")
        problem = CrrProblem(times[order], cause_status(codes, self.cause)[order], x_fixed[order],
                              x_varying[order], group[order], tf, self.censoring_group_variance)
        names = covariates + [f"{name}*{label}" for name, label in zip(time_varying, problem.tf_labels, strict=True)]
        self.covariates_ = names
        self.method_ = "crr"
        self.robust_ = False
        self._problem = problem
        self._fixed_names, self._varying_names = covariates, time_varying
        with np.errstate(all="ignore"):
            self._newton(problem, names)
            bread = inverse(self._info)
            variance = bread @ problem.score_variance(self._beta) @ bread
        infinite = self.infinite_.to_numpy()
        if infinite.any():
            variance = np.where(infinite[:, None] | infinite[None, :], np.inf, variance)
        bad = ~np.isfinite(np.diag(variance)) & ~infinite
        if bad.any():
            warnings.warn(f"the variance of {list(np.asarray(names)[bad])} is not finite at the estimate (the "
                          f"information is numerically singular there); their standard errors are reported as inf",
                          ConvergenceWarning, stacklevel=3)
            variance = np.where(bad[:, None] | bad[None, :], np.inf, variance)
        lost = self.not_estimable_.to_numpy()
        self.params_ = pd.Series(np.where(lost, np.nan, self._beta), index=names, name="coef")
        self.variance_matrix_ = pd.DataFrame(variance, index=names, columns=names)
        with np.errstate(invalid="ignore"):
            self.standard_errors_ = pd.Series(np.where(lost, np.nan, np.sqrt(np.abs(np.diag(variance)))), index=names,
                                              name="se(coef)")
        return self

    def _newton(self, problem: CrrProblem, names: list[str]) -> None:
        """Newton-Raphson with step halving from beta = 0 (:func:`awaken.survival._newton.maximise`, as
        :class:`CoxPH`): converged, or a coefficient that may be infinite, each said."""
        fit = maximise(problem.evaluate, len(names), lambda info: problem.refuse_uninformative(info, names))
        self.log_likelihood_null_ = fit.log_likelihood_null
        self._beta = fit.beta
        self._info = fit.information
        self.log_likelihood_ = fit.log_likelihood
        self.iterations_ = fit.iterations
        self.converged_ = fit.converged
        self.infinite_ = pd.Series(fit.infinite, index=names, name="may be infinite")
        self.not_estimable_ = pd.Series(fit.not_estimable, index=names, name="not estimable")
        if fit.infinite.any():
            named = and_list(np.asarray(names)[fit.infinite])
            one = fit.infinite.sum() == 1
            warnings.warn(f"the pseudo-likelihood keeps rising as the coefficient{'' if one else 's'} of {named} "
                          f"grow{'s' if one else ''} (the failures of cause {self.cause} are separated: monotone "
                          f"likelihood); {'it' if one else 'each'} may be infinite, its standard error is reported "
                          "as inf (cmprsk::crr reports a finite value there)", ConvergenceWarning, stacklevel=4)
            if fit.not_estimable.any():
                lost = np.asarray(names)[fit.not_estimable]
                warnings.warn(f"with {named} at infinity, {and_list(lost)} carr{'ies' if len(lost) == 1 else 'y'} "
                              "no information: not estimable, reported as NaN", ConvergenceWarning, stacklevel=4)
        elif not fit.converged:
            warnings.warn(f"the fit did not converge in {fit.iterations} iterations; the estimates are where it "
                          "stopped", ConvergenceWarning, stacklevel=4)

    def _fit_by_finegray(self, df, times, codes, covariates, censoring_group, weights, strata_columns) -> FineGray:
        weight = case_weights(df, weights, strictly=True)
        censoring_columns = strata_columns + ([censoring_group] if censoring_group else [])
        stratum = combination_codes(df, censoring_columns)[0]
        times = merge_round_off(times)[0]
        if censoring_group:
            # R's finegray drops a stratum without a failure of the cause; with the censoring group that
            # would take that group out of the risk sets of the others, which is not what is meant
            has_failure = np.bincount(stratum, weights=(codes == self.cause).astype(float),
                                      minlength=int(stratum.max()) + 1)
            empty = np.flatnonzero(has_failure == 0)
            if empty.size:
                labels = df[censoring_columns].iloc[[int(np.flatnonzero(stratum == s)[0]) for s in empty]]
                raise SurvivalDataError(
                    f"censoring group(s) {labels.drop_duplicates().to_dict('records')} have no failure of cause "
                    f"{self.cause}: R's finegray would drop their subjects from every risk set; merge the group")
        rows, start, stop, status, fg_weight = expand(times, codes, self.cause, stratum)
        frame = df.iloc[rows][covariates + [c for c in strata_columns if c not in covariates]].reset_index(drop=True)
        internal = {"start": "__fg_start", "stop": "__fg_stop", "status": "__fg_status", "weight": "__fg_weight",
                    "subject": "__fg_subject"}
        clash = [name for name in internal.values() if name in frame.columns]
        if clash:
            raise SurvivalDataError(f"column names {clash} are reserved by FineGray; rename them")
        frame[internal["start"]] = start
        frame[internal["stop"]] = stop
        frame[internal["status"]] = status
        frame[internal["weight"]] = fg_weight * weight[rows]
        frame[internal["subject"]] = rows
        cox = CoxPH(ties=self.ties, alpha=self.alpha).fit(
            frame, start=internal["start"], stop=internal["stop"], event=internal["status"], covariates=covariates,
            strata=strata_columns or None, weights=internal["weight"], cluster=internal["subject"], robust=True)
        self.cox_ = cox
        self.method_ = "finegray"
        self.robust_ = True
        self.covariates_ = list(cox.covariates_)
        self.params_ = cox.params_
        self.standard_errors_ = cox.standard_errors_
        self.variance_matrix_ = cox.variance_matrix_
        self.naive_variance_matrix_ = pd.DataFrame(cox.naive_variance_matrix_, index=covariates, columns=covariates)
        self.log_likelihood_ = cox.log_likelihood_
        self.log_likelihood_null_ = cox.log_likelihood_null_
        self.converged_ = cox.converged_
        self.infinite_ = cox.infinite_
        self.not_estimable_ = cox.not_estimable_
        self.iterations_ = cox.iterations_
        self._strata_columns = strata_columns
        return self

    # ------------------------------------------------------------------ results
    @property
    def summary(self) -> pd.DataFrame:
        """coef, exp(coef) (the subdistribution hazard ratio), se, z, p and the Wald interval; in the
        finegray route the robust se next to the model-based one, as ``summary(coxph)``."""
        naive = None
        if self.robust_:
            with np.errstate(invalid="ignore"):
                naive = pd.Series(np.sqrt(np.diag(self.naive_variance_matrix_)), index=self.params_.index)
        return coefficient_table(self.params_, self.standard_errors_, self.alpha, naive_se=naive)

    @property
    def baseline_cumulative_hazard_(self) -> pd.Series:
        """crr's ``cumsum(bfitj)``: the cumulative subdistribution hazard at covariates 0 (and time-varying
        covariates 0), at each failure time of the cause."""
        self._require_crr("the baseline cumulative hazard")
        problem = self._problem
        with np.errstate(all="ignore"):
            hazard = np.cumsum(np.exp(problem.log_jumps(self._beta)))
        return pd.Series(hazard, index=pd.Index(problem.uft, name="time"), name="cumulative hazard")

    def predict_cumulative_incidence(self, df: pd.DataFrame, times: Sequence[float] | None = None) -> pd.DataFrame:
        """Cumulative incidence of the cause for each row of ``df``, ``1 - exp(-exp(z' beta) Lambda_0(t))``.

        As ``predict.crr`` (crr fits: ``df`` holds the covariates and the ``time_varying`` columns,
        which act through ``tf`` at each failure time) or ``1 - survfit(coxph, newdata)$surv`` (finegray
        fits: ``df`` also holds the strata columns). Returns a frame indexed by time -- the failure times
        of the cause, or ``times`` (a right-continuous step, 0 before the first failure) -- with one
        column per row of ``df`` (its index label).
        """
        if self.method_ == "finegray":
            return self._predict_by_coxph(df, times)
        require_columns(df, [*self._fixed_names, *self._varying_names])
        if self.infinite_.any():
            raise SurvivalDataError(f"the coefficient(s) of {list(self.infinite_.index[self.infinite_])} may be "
                                    f"infinite (see the fit's ConvergenceWarning): the predicted curves would be "
                                    f"degenerate")
        problem = self._problem
        z_fixed = _matrix(df, self._fixed_names)
        z_varying = _matrix(df, self._varying_names)
        p1 = z_fixed.shape[1]
        with np.errstate(all="ignore"):
            linear = (z_fixed @ self._beta[:p1])[None, :] + problem.tfs @ (self._beta[p1:, None] * z_varying.T)
            hazard = np.cumsum(np.exp(linear + problem.log_jumps(self._beta)[:, None]), axis=0)
            incidence = -np.expm1(-hazard)
        grid = problem.uft
        frame = pd.DataFrame(incidence, index=pd.Index(grid, name="time"), columns=df.index)
        return frame if times is None else _step_at(frame, times)

    def _predict_by_coxph(self, df, times):
        curves = predict_survival(self.cox_, df, times=None if times is None else list(times))
        if not np.all(np.isfinite(curves["survival"])):
            raise SurvivalDataError("the predicted cumulative incidence is not finite for these rows (the "
                                    "fit's baseline hazard overflows at their covariates)")
        wide = curves.pivot_table(index="time", columns="curve", values="survival", sort=True)
        # curves of different strata have their own times: each is a step, 1 before its first time
        wide = wide.ffill().fillna(1.0).reindex(columns=list(df.index)).rename_axis(columns=None)
        return 1.0 - wide

    def _require_crr(self, what: str) -> None:
        if getattr(self, "method_", None) != "crr":
            raise SurvivalDataError(f"{what} is crr's (a fit without weights, strata or Efron ties); for a "
                                    f"finegray fit use awaken.survival.baseline_hazard(fit.cox_)")


def _matrix(df: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    if not columns:
        return np.zeros((len(df), 0))
    return np.column_stack([numeric_column(df, c) for c in columns])


def _step_at(frame: pd.DataFrame, times: Sequence[float]) -> pd.DataFrame:
    """A right-continuous step function (0 before the first time) read at ``times``."""
    times = np.asarray(times, dtype=float)
    index = np.searchsorted(frame.index.to_numpy(), times, side="right")
    values = np.vstack([np.zeros((1, frame.shape[1])), frame.to_numpy()])[index]
    return pd.DataFrame(values, index=pd.Index(times, name="time"), columns=frame.columns)
