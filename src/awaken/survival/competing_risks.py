"""Competing risks: Aalen-Johansen cumulative incidence, Gray's test, Fine-Gray regression.

- the cumulative incidence itself (Aalen-Johansen) is in :mod:`awaken.survival.aalen_johansen`;
- :func:`gray_test` compares cumulative incidence curves between groups (Gray 1988, the ``Tests`` of
  ``cmprsk::cuminc``), optionally within strata.
- :class:`FineGray` fits the proportional subdistribution hazards model (Fine & Gray 1999) with
  inverse-probability-of-censoring weights from the Kaplan-Meier of censoring (optionally by
  censoring group) and the sandwich variance that accounts for estimating those weights, as
  ``cmprsk::crr``. Ties are handled Breslow-wise, as ``crr`` does.

Event codes: 0 censored, 1, 2, ... causes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numba
import numpy as np
import pandas as pd
from scipy import stats

from awaken.survival._summary import coefficient_table
from awaken.survival._validate import SurvivalDataError, event_codes, group_codes, numeric_column, require_columns
from awaken.survival.kaplan_meier import risk_table

__all__ = ["FineGray", "gray_test", "competing_data"]

MAX_ITERATIONS = 50
GRADIENT_TOLERANCE = 1e-12


def competing_data(df, time, event, cause, covariates=()):
    require_columns(df, [time, event, *covariates])
    times = numeric_column(df, time, minimum=0.0)
    codes = event_codes(df, event, binary=False)
    if cause < 1:
        raise SurvivalDataError(f"cause must be a positive event code, got {cause}")
    if not np.any(codes == cause):
        raise SurvivalDataError(f"no row of {event!r} has the cause {cause}; codes present: {sorted(set(codes))}")
    return times, codes


# ---------------------------------------------------------------------------- Gray's test
def gray_test(df: pd.DataFrame, time: str, event: str, group: str, cause: int = 1,
              strata: str | None = None, rho: float = 0.0) -> pd.Series:
    """Gray's (1988) K-sample test of equal cumulative incidence of ``cause`` across ``group``.

    Returns statistic, degrees of freedom and p-value (chi-square with groups - 1 df).
    """
    require_columns(df, [group, strata])
    times, codes = competing_data(df, time, event, cause)
    status = np.where(codes == cause, 1, np.where(codes > 0, 2, 0)).astype(np.int64)
    codes_of_group, groups = group_codes(df, group)
    if len(groups) < 2:
        raise SurvivalDataError(f"column {group!r} needs at least two groups, it has {len(groups)}")
    strata_codes = group_codes(df, strata)[0] if strata else np.zeros(len(df), dtype=np.int64)
    k = len(groups)
    score = np.zeros(k - 1)
    variance = np.zeros((k - 1, k - 1))
    for s in np.unique(strata_codes):
        rows = np.flatnonzero(strata_codes == s)
        order = rows[np.argsort(times[rows], kind="stable")]
        sc, va = _gray_stratum(times[order], status[order], codes_of_group[order], k, rho)
        score += sc
        variance += va
    statistic = float(score @ np.linalg.solve(variance, score))
    return pd.Series({"statistic": statistic, "df": k - 1, "p": float(stats.chi2.sf(statistic, k - 1))})


@numba.njit(cache=True)
def _gray_stratum(y, m, g, k, rho):
    n = len(y)
    at_risk = np.zeros(k)
    for i in range(n):
        at_risk[g[i]] += 1
    surv_before = np.ones(k)     # all-cause KM in each group, left limit
    surv_after = np.ones(k)
    inc_before = np.zeros(k)     # cumulative incidence of the cause in each group, left limit
    inc_after = np.zeros(k)
    c = np.zeros((k, k))
    a = np.zeros((k, k))
    v3 = np.zeros(k)
    v2 = np.zeros((k - 1, k))
    v = np.zeros((k - 1, k - 1))
    score = np.zeros(k - 1)
    pooled_before = 0.0
    lo = 0
    while lo < n:
        hi = lo
        while hi < n and y[hi] == y[lo]:
            hi += 1
        d = np.zeros((3, k))
        for i in range(lo, hi):
            d[m[i], g[i]] += 1
        nd1 = d[1].sum()
        nd2 = d[2].sum()
        if nd1 > 0 or nd2 > 0:
            tr = 0.0
            tq = 0.0
            for j in range(k):
                if at_risk[j] <= 0:
                    continue
                surv_after[j] = surv_before[j] * (at_risk[j] - d[1, j] - d[2, j]) / at_risk[j]
                inc_after[j] = inc_before[j] + surv_before[j] * d[1, j] / at_risk[j]
                tr += at_risk[j] / surv_before[j]
                tq += at_risk[j] * (1 - inc_before[j]) / surv_before[j]
            pooled = pooled_before + nd1 / tr
            fb = (1 - pooled_before) ** rho
            a[:, :] = 0.0
            for i in range(k):
                if at_risk[i] <= 0:
                    continue
                t1 = at_risk[i] / surv_before[i]
                a[i, i] = fb * t1 * (1 - t1 / tr)
                c[i, i] += a[i, i] * nd1 / (tr * (1 - pooled_before))
                for j in range(i + 1, k):
                    if at_risk[j] <= 0:
                        continue
                    a[i, j] = -fb * t1 * at_risk[j] / (surv_before[j] * tr)
                    c[i, j] += a[i, j] * nd1 / (tr * (1 - pooled_before))
            for i in range(1, k):
                for j in range(i):
                    a[i, j] = a[j, i]
                    c[i, j] = c[j, i]
            for i in range(k - 1):
                if at_risk[i] > 0:
                    score[i] += fb * (d[1, i] - nd1 * at_risk[i] * (1 - inc_before[i]) / (surv_before[i] * tq))
            if nd1 > 0:
                for j in range(k):
                    if at_risk[j] <= 0:
                        continue
                    t4 = 1.0 - (1 - pooled) / surv_after[j] if surv_after[j] > 0 else 1.0
                    t5 = 1.0 - (nd1 - 1) / (tr * surv_before[j] - 1) if nd1 > 1 else 1.0
                    t3 = t5 * surv_before[j] * nd1 / (tr * at_risk[j])
                    v3[j] += t4 * t4 * t3
                    for i in range(k - 1):
                        t1 = a[i, j] - t4 * c[i, j]
                        v2[i, j] += t1 * t4 * t3
                        for l in range(i + 1):
                            v[i, l] += t1 * (a[l, j] - t4 * c[l, j]) * t3
            if nd2 > 0:
                for j in range(k):
                    if surv_after[j] <= 0 or d[2, j] <= 0:
                        continue
                    t4 = (1 - pooled) / surv_after[j]
                    t5 = 1.0 - (d[2, j] - 1) / (at_risk[j] - 1) if d[2, j] > 1 else 1.0
                    t3 = t5 * surv_before[j] ** 2 * d[2, j] / at_risk[j] ** 2
                    v3[j] += t4 * t4 * t3
                    for i in range(k - 1):
                        t1 = t4 * c[i, j]
                        v2[i, j] -= t1 * t4 * t3
                        for l in range(i + 1):
                            v[i, l] += t1 * t4 * c[l, j] * t3
            pooled_before = pooled
            for j in range(k):
                inc_before[j] = inc_after[j]
                surv_before[j] = surv_after[j]
        for i in range(lo, hi):
            at_risk[g[i]] -= 1
        lo = hi
    for i in range(k - 1):
        for l in range(i + 1):
            for j in range(k):
                v[i, l] += c[i, j] * c[l, j] * v3[j] + c[i, j] * v2[l, j] + c[l, j] * v2[i, j]
            v[l, i] = v[i, l]
    return score, v


# ---------------------------------------------------------------------------- Fine-Gray
class FineGray:
    """Proportional subdistribution hazards regression (Fine & Gray 1999), as ``cmprsk::crr``.

    Example
    -------
    >>> import pandas as pd
    >>> data = pd.DataFrame({"t": [1, 2, 3, 4, 5, 6, 7, 8], "e": [1, 2, 1, 0, 1, 2, 0, 1],
    ...                      "x": [1, 0, 1, 1, 0, 1, 0, 0]})
    >>> fit = FineGray().fit(data, time="t", event="e", cause=1, covariates=["x"])
    >>> fit.params_.round(4).tolist()
    [0.6629]
    """

    def __init__(self, alpha: float = 0.05):
        self.alpha = alpha

    def fit(self, df: pd.DataFrame, time: str, event: str, covariates: Sequence[str], cause: int = 1,
            censoring_group: str | None = None) -> FineGray:
        covariates = list(covariates)
        if not covariates:
            raise SurvivalDataError("give at least one covariate")
        require_columns(df, [censoring_group])
        times, codes = competing_data(df, time, event, cause, covariates)
        x = np.column_stack([numeric_column(df, c) for c in covariates])
        status = np.where(codes == cause, 1, np.where(codes > 0, 2, 0))
        group = group_codes(df, censoring_group)[0] if censoring_group else np.zeros(len(df), dtype=np.int64)
        order = np.argsort(times, kind="stable")
        self._data = _FineGrayData(times[order], status[order], x[order], group[order])
        beta = np.zeros(x.shape[1])
        loglik, score, hessian = self._data.evaluate(beta)
        self.log_likelihood_null_ = loglik
        converged = False
        iteration = 0
        while iteration < MAX_ITERATIONS:
            iteration += 1
            step = np.linalg.solve(hessian, score)
            for _ in range(30):
                new = self._data.evaluate(beta + step)
                if np.isfinite(new[0]) and new[0] >= loglik - 1e-12 * abs(loglik):
                    break
                step = step / 2
            beta = beta + step
            loglik, score, hessian = new
            if np.max(np.abs(score) * np.maximum(np.abs(beta), 1)) < max(abs(loglik), 1) * GRADIENT_TOLERANCE:
                converged = True
                break
        self.iterations_ = iteration
        self.converged_ = converged
        self.log_likelihood_ = loglik
        inverse = np.linalg.inv(hessian)
        variance = inverse @ self._data.score_variance(beta) @ inverse
        self.covariates_ = covariates
        self.params_ = pd.Series(beta, index=covariates, name="coef")
        self.variance_matrix_ = pd.DataFrame(variance, index=covariates, columns=covariates)
        self.standard_errors_ = pd.Series(np.sqrt(np.diag(variance)), index=covariates, name="se(coef)")
        return self

    @property
    def summary(self) -> pd.DataFrame:
        return coefficient_table(self.params_, self.standard_errors_, self.alpha)


class _FineGrayData:
    """Sorted data of a Fine-Gray fit with the censoring weights, evaluated vectorised.

    A subject who failed from another cause at ``t_i`` stays in the risk set at ``s > t_i`` with
    weight ``G(s-) / G(t_i-)`` (G the Kaplan-Meier of censoring in the subject's censoring group).
    """

    def __init__(self, time, status, x, group):
        self.time, self.status, self.x, self.group = time, status, x, group
        self.n, self.p = x.shape
        self.groups = np.unique(group)
        self.fail = np.flatnonzero(status == 1)
        self.fail_time = time[self.fail]
        # G_g(t-) for every group at every row's time, and at every failure time
        self.censoring = {}
        for g in self.groups:
            rows = group == g
            grid, at_risk, (censored,) = risk_table(time[rows], None, [(status[rows] == 0).astype(float)],
                                                    np.ones(int(rows.sum())))
            surv = np.cumprod(1.0 - censored / at_risk)
            self.censoring[g] = (grid, surv)
        self.g_row = self._left_limit_each(time, group)
        self.other = np.flatnonzero(status == 2)
        # rows with time >= each failure time (suffix sums start there)
        self.first_at_or_after = np.searchsorted(time, self.fail_time, side="left")

    def left_limit(self, g, t):
        grid, surv = self.censoring[g]
        return np.concatenate([[1.0], surv])[np.searchsorted(grid, t, side="left")]

    def _left_limit_each(self, t, group):
        out = np.empty(len(t))
        for g in self.groups:
            rows = group == g
            out[rows] = self.left_limit(g, t[rows])
        return out

    def _risk_sums(self, values):
        """Sum over the weighted risk set at each failure time of ``values`` (rows x k)."""
        suffix = np.vstack([np.cumsum(values[::-1], axis=0)[::-1], np.zeros((1, values.shape[1]))])
        total = suffix[self.first_at_or_after]
        for g in self.groups:
            rows = self.other[self.group[self.other] == g]
            if rows.size == 0:
                continue
            scaled = values[rows] / self.g_row[rows, None]
            cum = np.vstack([np.zeros((1, values.shape[1])), np.cumsum(scaled, axis=0)])
            before = np.searchsorted(self.time[rows], self.fail_time, side="left")
            total += self.left_limit(g, self.fail_time)[:, None] * cum[before]
        return total

    def evaluate(self, beta):
        """Log pseudo-likelihood, its gradient and the negative Hessian at ``beta``."""
        eta = self.x @ beta
        risk = np.exp(eta)
        outer = (self.x[:, :, None] * self.x[:, None, :]).reshape(self.n, -1)
        sums = self._risk_sums(np.column_stack([risk, risk[:, None] * self.x, risk[:, None] * outer]))
        s0 = sums[:, 0]
        s1 = sums[:, 1:1 + self.p]
        s2 = sums[:, 1 + self.p:].reshape(-1, self.p, self.p)
        mean = s1 / s0[:, None]
        loglik = float(np.sum(eta[self.fail]) - np.sum(np.log(s0)))
        score = (self.x[self.fail] - mean).sum(axis=0)
        hessian = (s2 / s0[:, None, None] - mean[:, :, None] * mean[:, None, :]).sum(axis=0)
        return loglik, score, hessian

    def score_variance(self, beta):
        """Variance of the score: sum over subjects of (eta_i + psi_i)(eta_i + psi_i)^T, where psi_i
        carries the uncertainty of the estimated censoring distribution (Fine & Gray 1999, sec. 3)."""
        time, status, x, group = self.time, self.status, self.x, self.group
        risk = np.exp(x @ beta)
        sums = self._risk_sums(np.column_stack([risk, risk[:, None] * x]))
        s0 = sums[:, 0]
        mean = sums[:, 1:] / s0[:, None]
        a = 1.0 / s0
        b = mean * a[:, None]
        ft = self.fail_time
        # d N part and the at-risk-by-time part of eta
        cum_a = np.concatenate([[0.0], np.cumsum(a)])
        cum_b = np.vstack([np.zeros((1, self.p)), np.cumsum(b, axis=0)])
        upto = np.searchsorted(ft, time, side="right")
        eta = -risk[:, None] * (x * cum_a[upto, None] - cum_b[upto])
        eta[self.fail] += x[self.fail] - mean
        # rows failed from another cause stay at risk, reweighted, after their time
        q_a, q_b = {}, {}
        for g in self.groups:
            weight_at_failures = self.left_limit(g, ft)
            ga = weight_at_failures * a
            gb = weight_at_failures[:, None] * b
            tail_a = np.concatenate([np.cumsum(ga[::-1])[::-1], [0.0]])
            tail_b = np.vstack([np.cumsum(gb[::-1], axis=0)[::-1], np.zeros((1, self.p))])
            q_a[g], q_b[g] = tail_a, tail_b
            rows = self.other[group[self.other] == g]
            after = np.searchsorted(ft, time[rows], side="right")
            eta[rows] -= (risk[rows] / self.g_row[rows])[:, None] * (x[rows] * tail_a[after, None] - tail_b[after])
        # psi: the censoring martingale part
        psi = np.zeros((self.n, self.p))
        for g in self.groups:
            # q_g(u): how the risk-set sums at failures after u move with the censoring weights of
            # group g, i.e. through the other-cause rows of g that failed before u (crr >= 2.2-x)
            rows_other = self.other[group[self.other] == g]
            rows = np.flatnonzero(group == g)
            censored_rows = rows[status[rows] == 0]
            if censored_rows.size == 0:
                continue
            grid, at_risk, (censored,) = risk_table(time[rows], None, [(status[rows] == 0).astype(float)],
                                                    np.ones(rows.size))
            has_censoring = censored > 0
            u, y, dc = grid[has_censoring], at_risk[has_censoring], censored[has_censoring]
            scaled = risk[rows_other] / self.g_row[rows_other]
            cum0 = np.concatenate([[0.0], np.cumsum(scaled)])
            cum1 = np.vstack([np.zeros((1, self.p)), np.cumsum(scaled[:, None] * x[rows_other], axis=0)])
            before = np.searchsorted(time[rows_other], u, side="left")
            from_failure = np.searchsorted(ft, u, side="left")
            q = q_a[g][from_failure, None] * cum1[before] - q_b[g][from_failure] * cum0[before, None]
            drift = np.vstack([np.zeros((1, self.p)), np.cumsum(-q * (dc / y**2)[:, None], axis=0)])
            psi[rows] = drift[np.searchsorted(u, time[rows], side="right")]
            own = np.searchsorted(u, time[censored_rows])
            psi[censored_rows] += q[own] / y[own, None]
        total = eta + psi
        return total.T @ total
