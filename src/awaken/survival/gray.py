"""Gray's (1988) K-sample test of equal cumulative incidence, as the ``Tests`` of ``cmprsk::cuminc``.

The score of each group compares its cumulative incidence of the cause with the pooled one, weighted
by ``(1 - F(t-))^rho``; the variance is Gray's, summed over strata. The pass over the unique times is
Gray's ``crstm`` routine, compiled by numba (cached next to this module) with NumPy's arithmetic
rules, so a zero denominator in a term that cuminc never uses stays harmless, as in the Fortran.

Where cuminc answers ``stat = -1, p = 1`` (its variance is singular: a group is never at risk
together with another group when a failure of the cause occurs, so it carries nothing to compare),
awaken refuses the data naming the group. A group without any failure of the cause is fine (its
curve is 0 and is compared like any other), as in cuminc.

Example
-------
>>> import pandas as pd
>>> data = pd.DataFrame({"t": [1, 2, 3, 4, 5, 6, 2, 3, 4, 5, 7, 8], "e": [1, 1, 2, 1, 0, 1, 2, 1, 0, 2, 1, 0],
...                      "arm": ["a"] * 6 + ["b"] * 6})
>>> result = gray_test(data, time="t", event="e", group="arm", cause=1)
>>> int(result["df"]), round(float(result["statistic"]), 3)
(1, 2.987)
"""

from __future__ import annotations

import numba
import numpy as np
import pandas as pd
from scipy import stats

from awaken.survival._competing import cause_status, competing_data
from awaken.survival._validate import SurvivalDataError, group_codes, require_columns

__all__ = ["gray_test"]

#: cuminc decides that the variance is singular with R's ``qr`` (LINPACK dqrdc2) at this tolerance.
QR_TOLERANCE = 1e-7


def gray_test(df: pd.DataFrame, time: str, event: str, group: str, cause: int = 1,
              strata: str | None = None, rho: float = 0.0) -> pd.Series:
    """Gray's (1988) K-sample test of equal cumulative incidence of ``cause`` across ``group``.

    Returns ``statistic``, ``df`` (groups - 1) and ``p`` (chi-square), as ``cuminc(...)$Tests``.
    Raises :class:`SurvivalDataError` where cuminc reports ``stat = -1`` (a group never at risk
    together with another one at a failure of the cause), naming the group.
    """
    require_columns(df, [time, event, group, strata])
    times, codes = competing_data(df, time, event, cause)
    if isinstance(rho, bool) or not isinstance(rho, (int, float, np.integer, np.floating)) or not np.isfinite(rho):
        raise SurvivalDataError(f"rho must be a finite number, got {rho!r}")
    rho = float(rho)
    status = cause_status(codes, cause)
    codes_of_group, groups = group_codes(df, group)
    if len(groups) < 2:
        raise SurvivalDataError(f"column {group!r} needs at least two groups, it has {len(groups)}")
    strata_codes = group_codes(df, strata)[0] if strata else np.zeros(len(df), dtype=np.int64)
    k = len(groups)
    score = np.zeros(k - 1)
    variance = np.zeros((k - 1, k - 1))
    together = np.zeros(k, dtype=bool)  # at risk alongside another group at some failure of the cause
    with np.errstate(all="ignore"):
        for s in np.unique(strata_codes):
            rows = np.flatnonzero(strata_codes == s)
            order = rows[np.argsort(times[rows], kind="stable")]
            sc, va, tg = _gray_stratum(times[order], status[order], codes_of_group[order], k, rho)
            score += sc
            variance += va
            together |= tg
    labels = [str(g) for g in groups]
    if not together.all():
        alone = [labels[j] for j in np.flatnonzero(~together)]
        who = (f"no two of the groups {alone} of {group!r} are" if len(alone) == k else
               f"group(s) {alone} of {group!r} are never")
        raise SurvivalDataError(
            f"Gray's test is not defined here: {who} at risk together with another group when a failure of cause "
            f"{cause} occurs (one's follow-up ends before the other's failures), so there is nothing to compare "
            f"and the variance is singular (cmprsk::cuminc reports stat = -1 there); drop or merge such groups")
    if not (np.all(np.isfinite(score)) and np.all(np.isfinite(variance))):
        raise SurvivalDataError(f"Gray's test is not defined here: its variance is not finite (rho = {rho} with a "
                                f"pooled cumulative incidence of cause {cause} reaching 1)")
    if _rank(variance) < k - 1:
        raise SurvivalDataError(
            f"Gray's test is not defined here: the variance of the group scores is singular (the groups "
            f"{labels} of {group!r} do not give {k - 1} independent comparisons of cause {cause}; cmprsk::cuminc "
            f"reports stat = -1 there)")
    with np.errstate(all="ignore"):
        statistic = float(score @ np.linalg.solve(variance, score))
    return pd.Series({"statistic": statistic, "df": k - 1, "p": float(stats.chi2.sf(statistic, k - 1))})


def _rank(matrix: np.ndarray) -> int:
    """Rank as R's ``qr`` (LINPACK dqrdc2) decides it: a column whose part orthogonal to the columns
    accepted before it is below ``QR_TOLERANCE`` times its own norm (1 for a zero column) is dropped."""
    basis: list[np.ndarray] = []
    for column in matrix.T:
        norm = float(np.linalg.norm(column))
        residual = column.astype(float).copy()
        for q in basis:
            residual -= (q @ residual) * q
        left = float(np.linalg.norm(residual))
        if left >= QR_TOLERANCE * (norm if norm > 0 else 1.0) and left > 0:
            basis.append(residual / left)
    return len(basis)


@numba.njit(cache=True, error_model="numpy")
def _gray_stratum(y, m, g, k, rho):
    """Score and variance of one stratum (Gray's ``crst``), and which groups were at risk together
    with another one at a failure of the cause."""
    n = len(y)
    at_risk = np.zeros(k)
    for i in range(n):
        at_risk[g[i]] += 1
    together = np.zeros(k, dtype=np.bool_)
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
        if nd1 > 0:
            present = 0
            for j in range(k):
                if at_risk[j] > 0:
                    present += 1
            if present > 1:
                for j in range(k):
                    if at_risk[j] > 0:
                        together[j] = True
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
    return score, v, together
