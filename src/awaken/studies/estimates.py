"""Ratios as the recipes report them: a row per term (ratio, interval, p), or "not estimable".

A ratio the records carry no information on is NaN (null in JSON, "not estimable" on the console)
with a note saying why, never a traceback; shared by the UK Biobank and Flatiron recipes.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from awaken.survival import ConvergenceWarning, CoxPH, SurvivalDataError, UninformativeCovariates

__all__ = ["ratio_row", "not_estimable", "cox_ratios", "map_dates"]


def ratio_row(table: pd.DataFrame, term: str, ratio: str, short: str) -> dict:
    row = table.loc[term]
    lower = [c for c in table.columns if c.startswith(f"{short} lower")][0]
    upper = [c for c in table.columns if c.startswith(f"{short} upper")][0]
    return {short: float(row[ratio]), "lower": float(row[lower]), "upper": float(row[upper]), "p": float(row["p"])}


def not_estimable(short: str) -> dict:
    """A ratio the records cannot estimate: NaN (null in JSON, "not estimable" on the console)."""
    return {short: np.nan, "lower": np.nan, "upper": np.nan, "p": np.nan}


def cox_ratios(rows: pd.DataFrame, terms: list[str], adjust: list[str], notes: list[str], what: str,
               **fit) -> dict[str, dict]:
    """Hazard ratios of ``terms`` from a Cox model adjusted for ``adjust`` (``fit``: CoxPH.fit's
    columns). Covariates the records carry no information on (a window nobody is exposed in, a
    covariate the same for everyone or at every event time) are left out and reported NaN, as R's
    coxph reports NA; a model that cannot be fitted at all (nobody at risk, no event) gives NaN for
    every term; a ratio whose likelihood keeps rising (monotone likelihood, R's "coefficient may be
    infinite") keeps its estimate with the interval (0, inf). Each is said in ``notes``."""
    if rows.empty:
        notes.append(f"{what}: not estimable (nobody at risk)")
        return {term: not_estimable("exp(coef)") for term in terms}
    covariates = [*terms, *adjust]
    lacking = [c for c in covariates if rows[c].nunique() < 2]  # the same for everyone
    while True:
        if lacking:
            covariates = [c for c in covariates if c not in lacking]
            notes.append(f"{what}: the records carry no information on {', '.join(lacking)}, left out of the "
                         "model (R reports NA)")
        if not set(terms) & set(covariates):
            return {term: not_estimable("exp(coef)") for term in terms}
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ConvergenceWarning)
                summary = CoxPH().fit(rows, covariates=covariates, **fit).summary
            # a monotone likelihood (a ratio running off to 0 or infinity) is said in the notes
            notes.extend(f"{what}: {w.message}" for w in caught if issubclass(w.category, ConvergenceWarning))
            break
        except UninformativeCovariates as err:
            # covariates CoxPH finds without information (constant at every event time): leave them out
            lacking = [c for c in err.covariates if c in covariates]
            if not lacking:
                notes.append(f"{what}: not estimable ({err})")
                return {term: not_estimable("exp(coef)") for term in terms}
        except SurvivalDataError as err:  # no event, nobody at risk: nothing to estimate
            notes.append(f"{what}: not estimable ({err})")
            return {term: not_estimable("exp(coef)") for term in terms}
    return {term: ratio_row(summary, term, "exp(coef)", "exp(coef)") if term in covariates
            else not_estimable("exp(coef)") for term in terms}


def map_dates(persons: pd.Series, dates: pd.Series) -> pd.Series:
    """``dates`` (indexed by person) for each of ``persons``, NaT where a person has none - dates even
    when there are none at all (pandas cannot map through an empty table of dates)."""
    if dates.empty:
        kind = dates.dtype if pd.api.types.is_datetime64_any_dtype(dates) else "datetime64[s]"
        return pd.Series(pd.NaT, index=persons.index, dtype=kind)
    return persons.map(dates)
