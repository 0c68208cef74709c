"""Logistic regression with odds ratios, for the case-control style comparisons of the study
(UK Biobank: odds of cancer death in test-positive vs test-negative survivors).

A thin, checked front end on statsmodels' maximum-likelihood ``Logit`` (Newton, converged to
1e-12), reporting what an epidemiologist reads: odds ratios with Wald confidence intervals.

Example
-------
>>> import pandas as pd
>>> data = pd.DataFrame({"died": [0, 0, 1, 1, 0, 1, 0, 1], "exposed": [0, 0, 0, 1, 1, 1, 0, 1]})
>>> fit = LogisticRegression().fit(data, outcome="died", covariates=["exposed"])
>>> round(float(fit.odds_ratios_["exposed"]), 3)
9.0
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from awaken.survival._summary import coefficient_table
from awaken.survival._validate import SurvivalDataError, event_codes, numeric_column, require_columns

__all__ = ["LogisticRegression"]


class LogisticRegression:
    """Binary logistic regression with an intercept (``fit`` returns ``self``)."""

    def __init__(self, alpha: float = 0.05):
        self.alpha = alpha

    def fit(self, df: pd.DataFrame, outcome: str, covariates: Sequence[str]) -> LogisticRegression:
        import statsmodels.api as sm

        covariates = list(covariates)
        require_columns(df, [outcome, *covariates])
        y = event_codes(df, outcome, binary=True).astype(float)
        if y.min() == y.max():
            raise SurvivalDataError(f"column {outcome!r} has only one value; logistic regression needs both 0 and 1")
        x = np.column_stack([np.ones(len(df))] + [numeric_column(df, c) for c in covariates])
        names = ["Intercept", *covariates]
        result = sm.Logit(y, x).fit(method="newton", tol=1e-12, maxiter=100, disp=False)
        self.converged_ = bool(result.mle_retvals["converged"])
        self.params_ = pd.Series(result.params, index=names, name="coef")
        self.standard_errors_ = pd.Series(result.bse, index=names, name="se(coef)")
        self.log_likelihood_ = float(result.llf)
        self.n_ = len(df)
        return self

    @property
    def odds_ratios_(self) -> pd.Series:
        return np.exp(self.params_).rename("odds ratio")

    @property
    def summary(self) -> pd.DataFrame:
        return coefficient_table(self.params_, self.standard_errors_, self.alpha, ratio="odds ratio")
