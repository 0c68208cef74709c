"""Survival curves from a fitted Cox model, as R's ``survfit.coxph`` and ``basehaz`` compute them.

For covariate values ``z`` (and an offset ``o``) the cumulative hazard is
``Lambda(t | z) = exp((z - means) beta + o) * Lambda_0(t)``, where ``Lambda_0`` is the Breslow
(1972) estimate, or its Efron (1977) form when the model was fitted with Efron ties (R's ``ctype``
follows ``ties``), and the survival is ``exp(-Lambda)`` (R's ``stype = 2``). The standard error of
``Lambda(t | z)`` is Tsiatis' (1981):
``r^2 [ sum_{s <= t} dN(s) / S0(s)^2 + d(t)' V d(t) ]`` with ``d(t) = sum_{s <= t} (z - xbar(s)) dLambda_0(s)``,
``r = exp((z - means) beta + o)`` and ``V`` the coefficients' variance (the robust one when the fit
is robust, as R). Confidence intervals are R's ``conf.type`` (``"log"`` by default).

A stratified model has a baseline per stratum; a row of ``new_data`` gets the curve of the stratum it
names (as R when ``newdata`` holds the strata variables), and without ``new_data`` there is one
curve per stratum at the covariate means. Models with ``tt`` terms have no such curve (R refuses
them too); a model with a coefficient that may be infinite is refused rather than given a
degenerate curve.

Example
-------
>>> import pandas as pd
>>> from awaken.survival import CoxPH
>>> data = pd.DataFrame({"time": [1, 2, 3, 4, 5, 6], "event": [1, 1, 0, 1, 1, 0],
...                      "exposed": [1, 0, 1, 1, 0, 0]})
>>> fit = CoxPH().fit(data, stop="time", event="event", covariates=["exposed"])
>>> curve = predict_survival(fit, pd.DataFrame({"exposed": [1]}))
>>> curve[["time", "survival"]].round(4).values.tolist()[:2]  # R: survfit(fit, newdata)$surv
[[1.0, 0.7801], [2.0, 0.5605]]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from awaken.survival._confidence import check_conf_type, survival_band
from awaken.survival._validate import SurvivalDataError, numeric_column, require_columns
from awaken.survival.cox import CoxPH

__all__ = ["predict_survival", "baseline_hazard"]


def baseline_hazard(fit: CoxPH, centered: bool = True) -> pd.DataFrame:
    """Cumulative baseline hazard at every distinct time, as R's ``basehaz(fit, centered)``.

    ``centered=True`` gives it at R's covariate means (:attr:`CoxPH.means_`: 0 for a covariate coded
    -1/0/1), ``False`` at covariates zero; both at the mean offset, as R.
    Columns: ``time``, ``hazard`` (cumulative) and, for a stratified model, ``strata``.
    """
    _check_fit(fit)
    at = fit.means_.to_numpy() if centered else np.zeros(len(fit.covariates_))
    curves = _curves(fit, np.atleast_2d(at), np.full(1, _offset_mean(fit)), stratum=None, with_se=False)
    frame = curves[["time", "cumulative_hazard"]].rename(columns={"cumulative_hazard": "hazard"})
    if fit._strata_columns:
        frame["strata"] = curves["stratum"].map(dict(enumerate(_stratum_labels(fit)))).to_numpy()
    return frame.reset_index(drop=True)


def predict_survival(fit: CoxPH, new_data: pd.DataFrame | None = None, times: Sequence[float] | None = None,
                     alpha: float | None = None, conf_type: str = "log") -> pd.DataFrame:
    """Predicted survival curves with pointwise confidence intervals, as R's ``survfit(fit, newdata)``.

    Parameters
    ----------
    fit : a fitted :class:`CoxPH` (without ``tt`` terms).
    new_data : one row per curve, with the model's covariates (and its strata and offset columns when
        it has them). ``None``: R's default curve, at :attr:`CoxPH.means_` and the mean offset, one per
        stratum.
    times : if given, the curves read at these times (a step function, as R's
        ``summary(survfit, times)``); otherwise every distinct time of the fitted data (R's
        ``censor = TRUE``).
    alpha : 1 - confidence level; the fit's ``alpha`` by default.
    conf_type : "log" (R's default), "log-log", "plain" or "logit".

    Returns a long frame: ``curve`` (the row label of ``new_data``, or the stratum), ``time``,
    ``n_risk``, ``n_event``, ``n_censor`` (weighted, at that time in the curve's stratum),
    ``survival``, ``cumulative_hazard``, ``std_err`` (of the cumulative hazard, R's ``std.err``),
    ``lower``, ``upper``.
    """
    _check_fit(fit)
    check_conf_type(conf_type)
    alpha = fit.alpha if alpha is None else alpha
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    if new_data is None:
        strata = range(len(_stratum_labels(fit))) if fit._strata_columns else [0]
        labels = list(_stratum_labels(fit)) if fit._strata_columns else ["means"]
        parts = [_curves(fit, np.atleast_2d(fit.means_.to_numpy()), np.full(1, _offset_mean(fit)), stratum=np.array([s]), with_se=True)
                 .assign(curve=label) for s, label in zip(strata, labels, strict=True)]
    else:
        x, offset, stratum = _new_rows(fit, new_data)
        parts = [_curves(fit, x[i:i + 1], offset[i:i + 1], stratum=stratum[i:i + 1], with_se=True)
                 .assign(curve=label) for i, label in enumerate(new_data.index)]
    curves = pd.concat(parts, ignore_index=True)
    if times is not None:
        curves = _read_at(curves, np.asarray(times, dtype=float))
    lower, upper = survival_band(curves["survival"].to_numpy(), curves["std_err"].to_numpy(), alpha, conf_type)
    curves["lower"], curves["upper"] = lower, upper
    columns = ["curve", "time", "n_risk", "n_event", "n_censor", "survival", "cumulative_hazard", "std_err",
               "lower", "upper"]
    return curves[[c for c in columns if c in curves.columns]]


# ---------------------------------------------------------------------------- the arithmetic
def _curves(fit: CoxPH, x: np.ndarray, offset: np.ndarray, stratum: np.ndarray | None, with_se: bool):
    """Curves for rows ``x`` (raw covariates, one row) in ``stratum`` (None: every stratum); a risk
    that overflows gives a cumulative hazard of inf and survival 0, not a NumPy warning."""
    with np.errstate(all="ignore"):
        return _curves_unchecked(fit, x, offset, stratum, with_se)


def _curves_unchecked(fit, x, offset, stratum, with_se):
    per_time = fit._per_time()
    variance = fit.variance_matrix_.to_numpy()
    beta = fit._beta
    z = x[0] - fit._means
    risk = float(np.exp(z @ beta + offset[0]))
    out = []
    for s in (np.unique(fit._stratum) if stratum is None else stratum):
        rows = fit._stratum == s
        table = _risk_table(fit._start[rows], fit._stop[rows], fit._status[rows], fit._weight[rows])
        grid = table["time"].to_numpy()
        mine = per_time["stratum"] == s
        where = np.searchsorted(grid, per_time["time"][mine])
        hazard = np.zeros(len(grid))
        hazard[where] = per_time["haz"][mine]
        cumulative = np.cumsum(hazard)
        table["cumulative_hazard"] = cumulative * risk
        table["survival"] = np.exp(-table["cumulative_hazard"].to_numpy())
        if with_se:
            var_hazard = np.zeros(len(grid))
            var_hazard[where] = per_time["haz2"][mine]
            x_hazard = np.zeros((len(grid), len(beta)))
            x_hazard[where] = per_time["xhaz"][mine]
            d = np.outer(cumulative, z) - np.cumsum(x_hazard, axis=0)
            table["std_err"] = np.sqrt((np.cumsum(var_hazard) + np.einsum("tj,jk,tk->t", d, variance, d))) * risk
        table["stratum"] = s
        out.append(table)
    return pd.concat(out, ignore_index=True)


def _risk_table(start, stop, status, weight) -> pd.DataFrame:
    """Weighted numbers at risk, of events and of censorings at each distinct stop time."""
    grid, index = np.unique(stop, return_inverse=True)
    n_event = np.bincount(index, weights=weight * status, minlength=len(grid))
    n_censor = np.bincount(index, weights=weight * ~status, minlength=len(grid))
    entered = np.cumsum(np.bincount(index, weights=weight, minlength=len(grid))[::-1])[::-1]
    order = np.argsort(start)
    cum_start = np.concatenate([[0.0], np.cumsum(weight[order])])
    left = cum_start[-1] - cum_start[np.searchsorted(start[order], grid, side="left")]  # start >= t
    return pd.DataFrame({"time": grid, "n_risk": entered - left, "n_event": n_event, "n_censor": n_censor})


def _read_at(curves: pd.DataFrame, times: np.ndarray) -> pd.DataFrame:
    if times.ndim != 1 or not np.all(np.isfinite(times)):
        raise SurvivalDataError("times must be a 1-D sequence of finite numbers")
    parts = []
    for label, curve in curves.groupby("curve", sort=False):
        grid = curve["time"].to_numpy()
        at = np.searchsorted(grid, times, side="right") - 1
        before = at < 0
        picked = curve.iloc[np.maximum(at, 0)]
        frame = pd.DataFrame({
            "curve": label, "time": times,
            "survival": np.where(before, 1.0, picked["survival"].to_numpy()),
            "cumulative_hazard": np.where(before, 0.0, picked["cumulative_hazard"].to_numpy()),
            "std_err": np.where(before, 0.0, picked["std_err"].to_numpy()),
        })
        parts.append(frame)
    return pd.concat(parts, ignore_index=True)


# ---------------------------------------------------------------------------- checks
def _check_fit(fit: CoxPH) -> None:
    if not isinstance(fit, CoxPH) or not hasattr(fit, "params_"):
        raise TypeError("expected a fitted CoxPH")
    if fit._has_tt:
        raise SurvivalDataError("a model with tt terms has no survival curve for fixed covariates (R's survfit "
                                "refuses it too)")
    if fit.infinite_.any():
        raise SurvivalDataError(f"the coefficient(s) of {list(fit.infinite_.index[fit.infinite_])} may be "
                                "infinite: the predicted curves would be degenerate")


def _stratum_labels(fit: CoxPH) -> list[str]:
    labels = fit.strata_
    if isinstance(labels, pd.MultiIndex):
        return [", ".join(f"{c}={v}" for c, v in zip(fit._strata_columns, values, strict=True)) for values in labels]
    return [f"{fit._strata_columns[0]}={v}" for v in labels]


def _offset_mean(fit: CoxPH) -> float:
    """The (weighted) mean offset: R's default curve and ``basehaz`` are at it."""
    return float(np.average(fit._offset, weights=fit._weight)) if fit._offset_column else 0.0


def _new_rows(fit: CoxPH, new_data: pd.DataFrame):
    """Covariates, offsets (0 when ``new_data`` has no offset column, as R) and stratum codes."""
    require_columns(new_data, [*fit.covariates_, *fit._strata_columns])
    x = np.column_stack([numeric_column(new_data, c) for c in fit.covariates_])
    if fit._offset_column and fit._offset_column in new_data.columns:
        offset = numeric_column(new_data, fit._offset_column)
    else:
        offset = np.zeros(len(new_data))
    if not fit._strata_columns:
        return x, offset, np.zeros(len(new_data), dtype=np.int64)
    columns = fit._strata_columns
    keys = pd.MultiIndex.from_frame(new_data[columns]) if len(columns) > 1 else pd.Index(new_data[columns[0]])
    stratum = fit.strata_.get_indexer(keys)
    if (stratum < 0).any():
        rows = list(new_data.index[stratum < 0][:5])
        raise SurvivalDataError(f"rows {rows} of new_data name a stratum ({columns}) the model was not fitted on; "
                                f"the strata are {_stratum_labels(fit)}")
    return x, offset, stratum.astype(np.int64)
