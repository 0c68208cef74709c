"""Aalen-Johansen cumulative incidence of one cause in the presence of competing causes.

The tie-exact estimator (no jittering of tied times): at each time the cumulative incidence of a
cause rises by ``S(t-) d_cause(t) / n(t)``, as R's ``survfit(Surv(time, factor(event)))`` and
``cmprsk::cuminc``; the variance is the delta-method estimator of Gray's ``cuminc``.

Example
-------
>>> import pandas as pd
>>> data = pd.DataFrame({"t": [1, 2, 2, 3, 4], "e": [1, 2, 1, 0, 1]})
>>> AalenJohansen().fit(data, time="t", event="e", cause=1).cumulative_incidence_.tolist()
[0.2, 0.4, 0.4, 0.8]
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from awaken.survival.competing_risks import competing_data
from awaken.survival.kaplan_meier import risk_table

__all__ = ["AalenJohansen"]


class AalenJohansen:
    """Cumulative incidence of one cause in the presence of competing causes.

    Example
    -------
    >>> import pandas as pd
    >>> data = pd.DataFrame({"t": [1, 2, 2, 3, 4], "e": [1, 2, 1, 0, 1]})
    >>> AalenJohansen().fit(data, time="t", event="e", cause=1).cumulative_incidence_.tolist()
    [0.2, 0.4, 0.4, 0.8]
    """

    def fit(self, df: pd.DataFrame, time: str, event: str, cause: int = 1) -> AalenJohansen:
        times, codes = competing_data(df, time, event, cause)
        own = (codes == cause).astype(float)
        other = ((codes > 0) & (codes != cause)).astype(float)
        grid, at_risk, (d_own, d_other) = risk_table(times, None, [own, other], np.ones(len(times)))
        deaths = d_own + d_other
        survival = np.cumprod(1.0 - deaths / at_risk)
        before = np.concatenate([[1.0], survival[:-1]])
        incidence = np.cumsum(before * d_own / at_risk)
        self.cause = cause
        self.cumulative_incidence_ = pd.Series(incidence, index=pd.Index(grid, name="time"),
                                               name=f"cause {cause}")
        self.variance_ = pd.Series(_gray_variance(before, survival, incidence, d_own, d_other, at_risk),
                                   index=self.cumulative_incidence_.index, name="variance")
        return self

    def predict(self, times) -> np.ndarray:
        index = np.searchsorted(self.cumulative_incidence_.index.to_numpy(), np.asarray(times, float), side="right")
        return np.concatenate([[0.0], self.cumulative_incidence_.to_numpy()])[index]

    def confidence_interval(self, alpha: float = 0.05) -> pd.DataFrame:
        """Pointwise interval on the log(-log) scale, as ``cmprsk::cuminc``'s plots."""
        z = stats.norm.ppf(1 - alpha / 2)
        f = self.cumulative_incidence_.to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            spread = z * np.sqrt(self.variance_.to_numpy()) / (f * np.abs(np.log(f)))
            lower, upper = f ** np.exp(spread), f ** np.exp(-spread)
        return pd.DataFrame({"lower": np.where(f > 0, lower, 0.0), "upper": np.where(f > 0, upper, 0.0)},
                            index=self.cumulative_incidence_.index)


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
