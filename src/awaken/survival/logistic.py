"""Logistic regression with odds ratios, for the case-control style comparisons of the study
(UK Biobank: odds of cancer death in test-positive vs test-negative survivors).

Maximum likelihood by Newton-Raphson (:func:`awaken.survival._newton.maximise`, the maximiser of the
Cox and Fine-Gray fits, converged to 1e-12), reporting what an epidemiologist reads: odds ratios with
Wald confidence intervals, as R's ``glm(family = binomial)``. On the edges: a covariate the same for
everyone or collinear with others is refused by name (R: NA); a covariate that separates the
outcomes (fitted probabilities 0 or 1, R's "fitted probabilities numerically 0 or 1 occurred") is
flagged in ``infinite_`` with a :class:`ConvergenceWarning` and an infinite standard error.

Example
-------
>>> import pandas as pd
>>> data = pd.DataFrame({"died": [0, 0, 1, 1, 0, 1, 0, 1], "exposed": [0, 0, 0, 1, 1, 1, 0, 1]})
>>> fit = LogisticRegression().fit(data, outcome="died", covariates=["exposed"])
>>> round(float(fit.odds_ratios_["exposed"]), 3)
9.0
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.special import expit

from awaken.survival._newton import and_list, inverse, maximise, refuse_uninformative
from awaken.survival._summary import coefficient_table
from awaken.survival._validate import (
    ConvergenceWarning,
    SurvivalDataError,
    event_codes,
    numeric_column,
    require_columns,
)

__all__ = ["LogisticRegression"]


class LogisticRegression:
    """Binary logistic regression with an intercept (``fit`` returns ``self``)."""

    def __init__(self, alpha: float = 0.05):
        if not 0 < alpha < 1:
            raise ValueError(f"alpha must be in (0, 1), got {alpha}")
        self.alpha = alpha

    def fit(self, df: pd.DataFrame, outcome: str, covariates: Sequence[str]) -> LogisticRegression:
        covariates = list(covariates)
        require_columns(df, [outcome, *covariates])
        y = event_codes(df, outcome, binary=True).astype(float)
        if y.min() == y.max():
            raise SurvivalDataError(f"column {outcome!r} has only one value; logistic regression needs both 0 and 1")
        x = np.column_stack([np.ones(len(df))] + [numeric_column(df, c) for c in covariates])
        names = ["Intercept", *covariates]

        def evaluate(beta):
            eta = x @ beta
            p = expit(eta)
            loglik = float(y @ eta - np.logaddexp(0.0, eta).sum())
            return loglik, x.T @ (y - p), (x * (p * (1 - p))[:, None]).T @ x

        def refuse(info):
            spread = np.concatenate([[1.0], x[:, 1:].var(axis=0)])  # the intercept is not a covariate
            refuse_uninformative(info, names, spread, len(y) / 4, "the rows", "R reports NA for them")

        with np.errstate(all="ignore"):
            fit = maximise(evaluate, x.shape[1], refuse)
            variance = inverse(fit.information)
        infinite = fit.infinite | fit.not_estimable
        variance = np.where(infinite[:, None] | infinite[None, :], np.inf, variance)
        self.converged_ = fit.converged
        self.infinite_ = pd.Series(infinite, index=names, name="may be infinite")
        self.iterations_ = fit.iterations
        self.params_ = pd.Series(fit.beta, index=names, name="coef")
        with np.errstate(invalid="ignore"):
            self.standard_errors_ = pd.Series(np.sqrt(np.diag(variance)), index=names, name="se(coef)")
        self.log_likelihood_ = fit.log_likelihood
        self.n_ = len(df)
        if infinite.any():
            warnings.warn(f"the likelihood keeps rising along {and_list(np.asarray(names)[infinite])}: the outcomes "
                          "are separated (fitted probabilities 0 or 1, as R's glm warns); the coefficient may be "
                          "infinite, its standard error is reported as inf", ConvergenceWarning, stacklevel=2)
        elif not fit.converged:
            warnings.warn(f"the fit did not converge in {fit.iterations} iterations", ConvergenceWarning, stacklevel=2)
        return self

    @property
    def odds_ratios_(self) -> pd.Series:
        with np.errstate(over="ignore"):
            return np.exp(self.params_).rename("odds ratio")

    @property
    def summary(self) -> pd.DataFrame:
        return coefficient_table(self.params_, self.standard_errors_, self.alpha, ratio="odds ratio")
