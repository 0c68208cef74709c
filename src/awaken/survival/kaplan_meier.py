"""Kaplan-Meier survival with Greenwood standard errors, as R ``survival::survfit`` computes it.

Right-censored or counting-process ``(start, stop]`` data (left truncation: a row is at risk at
``t`` when ``start < t <= stop``), optional case weights. The standard error is R's
``std.err``: that of the cumulative hazard, ``sqrt(sum d / (n (n - d)))`` (Greenwood 1926).

Example
-------
>>> import pandas as pd
>>> data = pd.DataFrame({"months": [2, 3, 3, 5, 8], "died": [1, 1, 0, 1, 0]})
>>> km = KaplanMeier().fit(data, time="months", event="died")
>>> km.survival_function_.round(3).tolist()
[0.8, 0.6, 0.3, 0.3]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from awaken.survival._validate import check_intervals, event_codes, numeric_column, require_columns

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


class KaplanMeier:
    """Kaplan-Meier estimator (``fit`` returns ``self``; results end in ``_``)."""

    def fit(self, df: pd.DataFrame, time: str, event: str, start: str | None = None,
            weights: str | None = None) -> KaplanMeier:
        require_columns(df, [time, event, start, weights])
        stop = numeric_column(df, time)
        entry = numeric_column(df, start) if start else None
        if entry is not None:
            check_intervals(df, entry, stop, start, time)
        died = event_codes(df, event, binary=True).astype(float)
        weight = numeric_column(df, weights, minimum=0.0, strictly=True) if weights else np.ones(len(df))
        times, at_risk, (deaths, censored) = risk_table(stop, entry, [died, 1.0 - died], weight)
        with np.errstate(divide="ignore", invalid="ignore"):
            survival = np.cumprod(1.0 - deaths / at_risk)
            greenwood = np.cumsum(np.where(deaths > 0, deaths / (at_risk * (at_risk - deaths)), 0.0))
        self.table_ = pd.DataFrame({
            "n_risk": at_risk, "n_event": deaths, "n_censor": censored,
            "survival": survival, "std_err": np.sqrt(greenwood),
        }, index=pd.Index(times, name="time"))
        self.survival_function_ = self.table_["survival"]
        return self

    def predict(self, times) -> np.ndarray:
        """Survival at ``times`` (right-continuous step function; 1 before the first time)."""
        index = np.searchsorted(self.table_.index.to_numpy(), np.asarray(times, dtype=float), side="right")
        return np.concatenate([[1.0], self.survival_function_.to_numpy()])[index]

    def confidence_interval(self, alpha: float = 0.05) -> pd.DataFrame:
        """Pointwise interval on the log scale (R's default ``conf.type = "log"``)."""
        from scipy import stats

        z = stats.norm.ppf(1 - alpha / 2)
        s = self.survival_function_
        se = self.table_["std_err"]
        return pd.DataFrame({"lower": np.clip(s * np.exp(-z * se), 0, 1), "upper": np.clip(s * np.exp(z * se), 0, 1)})
